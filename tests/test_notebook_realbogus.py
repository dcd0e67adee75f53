"""Notebook 02 (real/bogus with ~1000 labels: ITS -> ALS -> SSLS) runs top to bottom in a real
kernel at FAST sizes, passes its own checks, and its labelling panel commits labels to SQLite."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = (Path(__file__).resolve().parents[1] / "notebooks"
            / "02_realbogus_active_learning.ipynb")

# Labels the first two of the K hardest as a person would (the panel's public API), and
# prints what the store then holds.
DRIVE = """\
first_two = list(panel.session.ids[:2])
panel.label("bogus")
panel.label("real")
print("ITEMS", " ".join(first_two))
print("K", len(panel.session))
print("ANSWERS", sorted(panel.answers().items()))
print("ROWS", len(store.to_frame(context="realbogus")))
"""


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_realbogus_notebook_runs_and_panel_records_labels(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(DRIVE))
    old = dict(os.environ)
    db = tmp_path / "labels.sqlite"
    os.environ.update(ASTROAD_FAST="1", ASTROAD_LABELS_DB=str(db), MPLBACKEND="Agg")
    try:
        NotebookClient(nb, timeout=1200, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}},
                       store_widget_state=False).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert "notebook checks passed" in _stdout(nb.cells[-2])
    out = _stdout(nb.cells[-1])
    items = re.search(r"ITEMS (.*)", out).group(1).split()
    assert len(items) == 2
    assert int(re.search(r"K (\d+)", out).group(1)) == 50  # FAST K
    assert f"('{items[0]}', 0)" in out and f"('{items[1]}', 1)" in out
    assert "ROWS 2" in out  # the oracle's answers are not written as a person's labels
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT item_id, label, context, round FROM labels WHERE active = 1 "
                           "ORDER BY id").fetchall()
    assert rows == [(items[0], "bogus", "realbogus", 1), (items[1], "real", "realbogus", 1)]
