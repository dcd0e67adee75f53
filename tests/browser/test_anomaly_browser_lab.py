"""The anomaly browser renders and labels in real JupyterLab (headless Debian Chromium).

Everything below the Python API is proven here: the widget front-ends load (ipywidgets,
plotly's anywidget), a click in the page reaches the kernel, and the label lands in SQLite.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

# pytest-base-url (pulled in by pytest-playwright) trips a pytest deprecation that is not ours
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")

HERE = Path(__file__).resolve().parent
# The notebook under test; its browser cell stores labels at $ASTROAD_LABELS_DB, context "alerce".
# Switch to the demo notebook with:  NOTEBOOK = HERE.parents[1] / "notebooks" / "01_alerce_anomaly_detection.ipynb"
NOTEBOOK = HERE / "anomaly_browser_scratch.ipynb"


@pytest.mark.browser
@pytest.mark.parametrize("notebook", [NOTEBOOK], ids=lambda p: p.stem)
def test_select_and_flag_interesting_writes_sqlite(lab, lab_server, notebook):
    lab.open_notebook(notebook)
    lab.run_all_cells()
    panel = lab.wait_for(".astroad-browser", timeout_s=240)
    lab.wait_idle(timeout_s=240)

    options = panel.locator(".widget-select select option")
    expect(options.first).to_be_visible()
    panel.locator(".widget-select select").select_option(index=2)
    object_id = options.nth(2).inner_text().split()[1]  # "3. <id>  <score>"

    plot = panel.locator(".js-plotly-plot")
    expect(plot).to_be_visible()
    expect(plot.locator(".gtitle")).to_have_text(object_id)  # the figure followed the click

    panel.locator("button.jupyter-button", has_text="interesting").click()
    expect(options.nth(2)).to_contain_text("[interesting]")  # label round-tripped via kernel

    with sqlite3.connect(lab_server.labels_db) as con:
        rows = con.execute("SELECT item_id, label, context, active FROM labels").fetchall()
    assert rows == [(object_id, "interesting", "alerce", 1)]
    expect(panel).to_contain_text("Flagged")
    assert plot.locator(".scatterlayer .point").count() > 0  # light-curve points drawn
    lab.screenshot(panel, "anomaly_browser_lab")

    panel.locator(".widget-toggle-buttons button", has_text="periodic").click()
    expect(plot.locator(".xtitle")).to_contain_text("phase")  # periodic: folded at its period
    lab.assert_widgets_healthy()
    lab.screenshot(panel, "anomaly_browser_lab_periodic")
