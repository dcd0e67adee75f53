"""Shared fixtures: the real-data path helper (skips when ../shared/data is absent)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ASTROAD_FAST", "1")

from astroad_nb._config import real_data_path  # noqa: E402


@pytest.fixture
def real_data():
    """Return a function ``real_data(*parts) -> Path`` that skips the test when absent."""

    def _get(*parts):
        path = real_data_path(*parts)
        if path is None:
            pytest.skip(
                f"real data {'/'.join(parts)!r} not found (set ASTROAD_REAL_DATA or put "
                "../shared/data beside the project)"
            )
        return path

    return _get
