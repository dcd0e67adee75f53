"""Notebook 05 (contextual novelty) runs top to bottom in a real kernel at FAST sizes, passes its
own checks, and its comparison table is the committed ``astroad reproduce context --preset fast``
run."""

from __future__ import annotations

from protocol_runs import HEADLINE_CELL, assert_same_table, committed_run, headline_of


def test_context_notebook_runs_and_matches_the_committed_run(run_notebook):
    done = run_notebook("05_contextual_novelty.ipynb", extra_cells=[HEADLINE_CELL],
                        timeout=600)
    assert not done.errors, done.errors
    assert "notebook checks passed" in done.stdout(-2)
    # the notebook's table is the protocol's run("fast") table (committed from the CLI)
    assert_same_table(headline_of(done.stdout(-1)), committed_run("context").table())
