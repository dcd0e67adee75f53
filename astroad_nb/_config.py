"""Package-wide switches: the FAST flag and where the real survey data lives."""

from __future__ import annotations

import os
from pathlib import Path

#: ``ASTROAD_FAST=1`` shrinks sample sizes and epochs (tests, CI, Binder).
FAST = os.environ.get("ASTROAD_FAST", "0").strip().lower() in {"1", "true", "yes", "on"}


def is_fast() -> bool:
    """Read ``ASTROAD_FAST`` now (the module constant is read at import time)."""
    return os.environ.get("ASTROAD_FAST", "0").strip().lower() in {"1", "true", "yes", "on"}


def real_data_path(*parts: str) -> Path | None:
    """Path to the real survey data folder (``ASTROAD_REAL_DATA``, default ``../shared/data``).

    Parameters
    ----------
    *parts : str
        Sub-path inside the data folder, e.g. ``("lightcurves", "sdss_rr_lyrae")``.

    Returns
    -------
    pathlib.Path or None
        The path when it exists, else ``None`` (a user's fresh clone has no ``../shared``).
    """
    env = os.environ.get("ASTROAD_REAL_DATA")
    if env:
        root = Path(env)
    else:
        # ../shared/data relative to the project root (the folder holding astroad_nb/),
        # falling back to the current directory's parent for installed copies.
        candidates = [
            Path(__file__).resolve().parents[1].parent / "shared" / "data",
            Path.cwd().parent / "shared" / "data",
            Path.cwd().parent.parent / "shared" / "data",
        ]
        root = next((c for c in candidates if c.is_dir()), candidates[0])
    path = root.joinpath(*parts)
    return path if path.exists() else None
