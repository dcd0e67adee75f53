"""The stream explorer renders and responds in real JupyterLab (headless Debian Chromium).

A real mouse box-drag on the sky view reaches the kernel through plotly's FigureWidget
``on_selection``, and "add selection to support" grows the support set: the whole path from the
page to :class:`~astroad_nb.widgets.stream_state.StreamExplorerState` and SQLite.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")

NOTEBOOK = Path(__file__).resolve().parent / "stream_explorer_scratch.ipynb"


def _count(panel, name):
    """An integer from the count line, e.g. ``support 8``."""
    text = panel.locator(".astroad-count").inner_text()
    return int(re.search(rf"{name}\s+(\d+)", text).group(1))


@pytest.mark.browser
def test_stream_explorer_slider_box_select_and_add_support(lab, lab_server):
    lab.open_notebook(NOTEBOOK)
    lab.run_all_cells()
    panel = lab.wait_for(".astroad-streams", timeout_s=180)
    lab.wait_idle(timeout_s=180)

    plots = panel.locator(".js-plotly-plot")
    expect(plots).to_have_count(3, timeout=30_000)
    for i, title in enumerate(("sky", "proper motions", "colour-magnitude")):
        expect(plots.nth(i).locator(".gtitle")).to_have_text(title, timeout=30_000)
    count = panel.locator(".astroad-count")
    expect(count).to_contain_text("p ≥ 0.50")
    support_before = _count(panel, "support")

    sky = plots.nth(0)
    sky.scroll_into_view_if_needed()  # mouse coordinates are the viewport's
    page = lab.page
    # The box is dragged before the slider moves: a box dragged while the views still apply the
    # slider's restyles was sometimes not reported to the kernel (seen 1 run in 3 on a loaded
    # machine; known issue, see the closing note). Drag again, at most twice more.
    for attempt in range(3):
        box = sky.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"], steps=5)
        page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.7 * box["height"], steps=5)
        page.mouse.up()
        try:
            expect(count).not_to_contain_text("plot selection 0", timeout=10_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    selected = _count(panel, "plot selection")
    assert 0 < selected < 840 // 2
    lab.screenshot(panel, "stream_explorer_lab-selection")  # linked brushing in all views

    panel.locator("button.jupyter-button", has_text="add selection to support").click()
    expect(panel).to_contain_text("added to the support set and re-scored", timeout=30_000)
    support_after = _count(panel, "support")
    assert support_before < support_after <= support_before + selected
    with sqlite3.connect(lab_server.labels_db) as con:
        rows = con.execute("SELECT label, context FROM labels WHERE active = 1").fetchall()
    assert rows == [("member", "streams")] * (support_after - support_before)
    assert "plot selection 0" in count.inner_text()

    handle = panel.locator(".widget-hslider .noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    expect(count).to_contain_text("p ≥ 0.55", timeout=15_000)  # the kernel answered

    lab.assert_widgets_healthy()
    lab.screenshot(panel, "stream_explorer_lab")
