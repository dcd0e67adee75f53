"""Notebook 04 (galaxy GANomaly) runs top to bottom in a real kernel at FAST sizes, passes its
own checks, its score table is the committed ``astroad reproduce galaxies --preset fast`` run,
and its reconstruction viewer commits a flag to the label store."""

from __future__ import annotations

import re
import sqlite3

from protocol_runs import HEADLINE_CELL, assert_same_table, committed_run, headline_of

# Flags the top-ranked image as a person would (the panel's public API), then walks on.
DRIVE = """\
first = viewer.state.current
viewer.flag("interesting")
viewer.next()
print("FLAGGED", first, viewer.state.rank)
print("TOP", first == scores.loc[scores["A"].idxmax(), "id"])
"""


def test_galaxies_notebook_runs_matches_the_cli_and_viewer_flags(run_notebook):
    done = run_notebook("04_galaxy_ganomaly.ipynb", extra_cells=[HEADLINE_CELL, DRIVE],
                        timeout=600)
    assert not done.errors, done.errors
    assert "notebook checks passed" in done.stdout(-3)
    # the notebook's table is the protocol's run("fast") table (committed from the CLI)
    assert_same_table(headline_of(done.stdout(-2)), committed_run("galaxies").table())
    out = done.stdout(-1)
    flagged, rank = re.search(r"FLAGGED (\S+) (\d+)", out).groups()
    assert rank == "3"  # the flag advanced to rank 2, next() to rank 3
    assert "TOP True" in out
    with sqlite3.connect(done.labels_db) as con:
        rows = con.execute("SELECT item_id, label, context FROM labels WHERE active = 1").fetchall()
    assert rows == [(flagged, "interesting", "galaxies")]
