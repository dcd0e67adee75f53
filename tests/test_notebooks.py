"""The demo notebooks run top to bottom in a real kernel (FAST sizes) and pass their checks;
notebook 01's Table 1 is the ALeRCE protocol's ``run("fast")`` table, value for value."""

from __future__ import annotations

import sqlite3

from protocol_runs import HEADLINE_CELL, assert_same_table, committed_run, headline_of


def test_quickstart_runs(run_notebook):
    done = run_notebook("00_quickstart.ipynb")
    with sqlite3.connect(done.labels_db) as con:
        rows = con.execute("SELECT label, context FROM labels").fetchall()
    assert rows == [("interesting", "quickstart")]
    assert not done.errors


def test_alerce_notebook_runs_and_panel_flags(run_notebook):
    drive = (
        "first = browser.state.ranked().index[0]\n"
        "browser.select(first)\n"
        "browser.flag('interesting')\n"
        "print('FLAGGED', first)\n"
        "print('TABLE', result.mean.shape)"
    )
    done = run_notebook("01_alerce_anomaly_detection.ipynb", extra_cells=[HEADLINE_CELL, drive],
                        timeout=1800)
    assert not done.errors
    assert_same_table(headline_of(done.stdout(-2)), committed_run("alerce").table(), atol=0)
    out = done.stdout(-1)
    flagged = out.split("FLAGGED ")[1].split()[0]
    assert "TABLE (7, 14)" in out
    assert "notebook checks passed" in done.stdout(-3)
    with sqlite3.connect(done.labels_db) as con:
        rows = con.execute("SELECT item_id, label, context FROM labels WHERE active = 1 "
                           "AND context = 'alerce'").fetchall()
        feedback = con.execute("SELECT label FROM labels WHERE active = 1 "
                               "AND context = 'discovery'").fetchall()
    assert rows == [(flagged, "interesting", "alerce")]
    # section 7: the oracle's five flags in the re-ranking browser, each in SQLite
    assert len(feedback) == 5 and {r[0] for r in feedback} <= {"interesting", "not interesting"}
