"""Notebook 03 (stellar streams, Meta-DeepSets) runs top to bottom in a real kernel at FAST
sizes, passes its own checks, and its panel records support-set edits in the label store."""

from __future__ import annotations

import re
import sqlite3

from protocol_runs import HEADLINE_CELL, assert_same_table, committed_run, headline_of

# Drives the simulated-GD-1 panel as a person would: raise the threshold, box-select three
# field stars (the indices plotly's on_selection passes), add them to the support set.
DRIVE = """\
explorer.threshold_slider.value = 0.7
print("SELECTED", explorer.state.n_selected, int((explorer.state.proba >= 0.7).sum()))
before = len(explorer.state.support)
explorer.select_points([0, 1, 2])
picked = [str(i) for i in explorer.state.selection]
explorer.add_button.click()
print("SUPPORT", before, len(explorer.state.support))
print("PICKED", " ".join(picked))
print("FINITE", bool(np.isfinite(explorer.state.proba).all()))
"""


def test_streams_notebook_runs_and_panel_records_support(run_notebook):
    done = run_notebook("03_stellar_streams_deepsets.ipynb", extra_cells=[HEADLINE_CELL, DRIVE],
                        timeout=900)
    db = done.labels_db
    assert not done.errors
    assert "notebook checks passed" in done.stdout(-3)
    # the notebook's table is the protocol's run("fast") table, value for value
    assert_same_table(headline_of(done.stdout(-2)), committed_run("streams").table(), atol=0)
    out = done.stdout(-1)
    selected, expected = map(int, re.search(r"SELECTED (\d+) (\d+)", out).groups())
    assert selected == expected
    before, after = map(int, re.search(r"SUPPORT (\d+) (\d+)", out).groups())
    assert after == before + 3
    assert "FINITE True" in out
    picked = re.search(r"PICKED (.*)", out).group(1).split()
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT item_id, label, context FROM labels WHERE active = 1").fetchall()
    assert rows == [(item, "member", "streams-gd1-simulated") for item in picked]
