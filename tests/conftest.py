"""Shared fixtures: the real-data path helper (skips when ../shared/data is absent) and the
notebook runner (a real kernel through nbclient, FAST sizes, a temporary label store)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass
class ExecutedNotebook:
    """A notebook after :func:`run_notebook` ran it, with its label store's path."""

    nb: object
    labels_db: Path

    def stdout(self, index):
        """Printed text of cell ``index`` (negative indices count from the end)."""
        cell = self.nb.cells[index]
        return "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")

    @property
    def errors(self):
        """Error outputs of every cell (empty when the notebook ran cleanly)."""
        return [o for c in self.nb.cells for o in c.get("outputs", [])
                if o.get("output_type") == "error"]


@pytest.fixture
def run_notebook(tmp_path):
    """Return ``run(name, extra_cells=(), timeout=900) -> ExecutedNotebook``.

    Executes ``notebooks/<name>`` top to bottom in a python3 kernel with ``ASTROAD_FAST=1``,
    ``MPLBACKEND=Agg`` and ``ASTROAD_LABELS_DB`` in ``tmp_path``; ``extra_cells`` (code) are
    appended first, to drive the panels as a person would. The kernel's working directory is
    ``tmp_path``, so files a notebook writes stay out of the repository.
    """
    import nbformat
    from nbclient import NotebookClient

    def run(name, extra_cells=(), timeout=900):
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for src in extra_cells:
            nb.cells.append(nbformat.v4.new_code_cell(src))
        db = tmp_path / "labels.sqlite"
        old = dict(os.environ)
        os.environ.update(ASTROAD_FAST="1", ASTROAD_LABELS_DB=str(db), MPLBACKEND="Agg")
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(tmp_path)}},
                           store_widget_state=False).execute()
        finally:
            os.environ.clear()
            os.environ.update(old)
        return ExecutedNotebook(nb, db)

    return run
