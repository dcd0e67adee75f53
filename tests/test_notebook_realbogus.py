"""Notebook 02 (real/bogus with ~1000 labels: ITS -> ALS -> SSLS) runs top to bottom in a real
kernel at FAST sizes, passes its own checks, and its labelling panel commits labels to SQLite."""

from __future__ import annotations

import re
import sqlite3

from protocol_runs import HEADLINE_CELL, assert_same_table, committed_run, headline_of

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


def test_realbogus_notebook_runs_and_panel_records_labels(run_notebook):
    done = run_notebook("02_realbogus_active_learning.ipynb", extra_cells=[HEADLINE_CELL, DRIVE],
                        timeout=1200)
    db = done.labels_db
    assert not done.errors
    assert "notebook checks passed" in done.stdout(-3)
    # the notebook's stage table is the protocol's run("fast") table, value for value
    want = committed_run("realbogus").table().drop(columns="seconds")
    assert_same_table(headline_of(done.stdout(-2)).drop(columns="seconds"), want, atol=0)
    out = done.stdout(-1)
    items = re.search(r"ITEMS (.*)", out).group(1).split()
    assert len(items) == 2
    assert int(re.search(r"K (\d+)", out).group(1)) == 50  # FAST K
    assert f"('{items[0]}', 0)" in out and f"('{items[1]}', 1)" in out
    assert "ROWS 2" in out  # the oracle's answers are not written as a person's labels
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT item_id, label, context, round FROM labels WHERE active = 1 "
                           "ORDER BY id").fetchall()
    assert rows == [(items[0], "bogus", "realbogus", 1), (items[1], "real", "realbogus", 1)]
