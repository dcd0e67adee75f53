"""Notebook 06 (a broker night) runs top to bottom in a real kernel at FAST sizes: the night is
scored on 2 Dask workers into a dataset with one row per alert and no duplicate candid, the top
anomalies open in the browser, and the 98 real ZTF alerts (when present) each get a row."""

from __future__ import annotations

import re

from astroad_nb._config import real_data_path

DRIVE = """\
print("DATASET", len(pd.read_parquet(OUT)), pd.read_parquet(OUT)["candid"].is_unique)
top50 = set(scores.head(50)["candid"].astype(str))
print("BROWSER", browser is not None and str(browser.state.current) in top50,
      browser is not None and browser.state.triplet() is not None)
"""


def test_broker_night_notebook_scores_the_night_and_the_real_alerts(run_notebook):
    done = run_notebook("06_broker_night.ipynb", extra_cells=[DRIVE], timeout=600)
    assert not done.errors, done.errors
    assert "notebook checks passed" in done.stdout(-2)
    rows, scored, unique, real = re.search(
        r"ROWS (\d+) SCORED (\d+) UNIQUE (\w+) REAL (\w+)", done.stdout(-2)).groups()
    assert int(rows) == 300 and unique == "True"
    assert 0 < int(scored) <= int(rows)
    assert real == ("98" if real_data_path("ztf_alerts") is not None else "absent")
    assert "DATASET 300 True" in done.stdout(-1)
    assert "BROWSER True True" in done.stdout(-1)  # on a top-50 alert, with its cutouts
