"""The demo notebooks run top to bottom in a real kernel (FAST sizes) and pass their checks."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name, tmp_path, extra_cells=(), timeout=900):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for src in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(src))
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    old = dict(os.environ)
    os.environ.update(ASTROAD_FAST="1", ASTROAD_LABELS_DB=str(tmp_path / "labels.sqlite"),
                      MPLBACKEND="Agg")
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}},
                       store_widget_state=False).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_quickstart_runs(tmp_path):
    nb = _run("00_quickstart.ipynb", tmp_path)
    with sqlite3.connect(tmp_path / "labels.sqlite") as con:
        rows = con.execute("SELECT label, context FROM labels").fetchall()
    assert rows == [("interesting", "quickstart")]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_alerce_notebook_runs_and_panel_flags(tmp_path):
    drive = (
        "first = browser.state.ranked().index[0]\n"
        "browser.select(first)\n"
        "browser.flag('interesting')\n"
        "print('FLAGGED', first)\n"
        "print('TABLE', result.mean.shape)"
    )
    nb = _run("01_alerce_anomaly_detection.ipynb", tmp_path, extra_cells=[drive], timeout=1800)
    out = _stdout(nb.cells[-1])
    flagged = out.split("FLAGGED ")[1].split()[0]
    assert "TABLE (7, 14)" in out
    assert "notebook checks passed" in _stdout(nb.cells[-2])
    with sqlite3.connect(tmp_path / "labels.sqlite") as con:
        rows = con.execute("SELECT item_id, label, context FROM labels WHERE active = 1").fetchall()
    assert rows == [(flagged, "interesting", "alerce")]
