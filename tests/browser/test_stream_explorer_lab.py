"""The stream explorer renders and responds in real JupyterLab (headless Debian Chromium).

A real mouse box-drag on the sky view reaches the kernel (through the box's shape in the
figure's ``layout.selections``) and selects exactly the points plotly highlighted; "add
selection to support" grows the support set; a lasso on the inverted colour-magnitude view and
a double-click work too: the whole path from the page to
:class:`~astroad_nb.widgets.stream_state.StreamExplorerState` and SQLite.
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


def _drag(page, plot, path):
    """Press the mouse in a plot, move it through ``path`` and release it.

    ``path`` is a list of (x, y) fractions of the plot area. Before the drag, a listener keeps
    the number of points in plotly's own next ``plotly_selected`` event (see
    :func:`_plotly_selected`).
    """
    plot.evaluate("gd => { gd.astroadSelected = null; gd.on('plotly_selected', "
                  "e => { gd.astroadSelected = e ? e.points.length : 0; }); }")
    plot.scroll_into_view_if_needed()  # mouse coordinates are the viewport's
    box = plot.locator(".nsewdrag").first.bounding_box()
    (x0, y0), *rest = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in path]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x, y, steps=5)
    page.mouse.up()


def _plotly_selected(plot):
    """Points (both traces) that plotly selected at the end of the last :func:`_drag`."""
    gd = plot.element_handle()
    plot.page.wait_for_function("gd => gd.astroadSelected !== null", arg=gd, timeout=10_000)
    return gd.evaluate("gd => gd.astroadSelected")


def _open_explorer(lab):
    """Run the scratch notebook; wait until the three titled views and the count line show."""
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
    return panel, plots, count


@pytest.mark.browser
def test_stream_explorer_renders_three_views_and_slider_counts(lab, lab_server):
    panel, plots, count = _open_explorer(lab)
    n_before = int(re.search(r"(\d+) selected", count.inner_text()).group(1))
    handle = panel.locator(".widget-hslider .noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    expect(count).to_contain_text("p ≥ 0.55", timeout=15_000)  # the kernel answered
    assert int(re.search(r"(\d+) selected", count.inner_text()).group(1)) <= n_before
    lab.assert_widgets_healthy()


@pytest.mark.browser
def test_stream_explorer_slider_box_select_and_add_support(lab, lab_server):
    panel, plots, count = _open_explorer(lab)
    support_before = _count(panel, "support")

    page = lab.page
    sky = plots.nth(0)
    _drag(page, sky, [(0.3, 0.3), (0.5, 0.5), (0.7, 0.7)])  # a box, as a person drags it
    # the kernel's selection (from the box's shape) is exactly the points plotly highlighted
    expect(count).to_contain_text(re.compile(rf"plot selection {_plotly_selected(sky)}$"),
                                  timeout=15_000)
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

    # a concave lasso on the colour-magnitude view (inverted magnitude axis), then a
    # double-click that clears it
    cmd = plots.nth(2)
    cmd.hover()  # shows the mode bar
    cmd.locator(".modebar-btn[data-val='lasso']").click()
    _drag(page, cmd, [(0.15, 0.15), (0.9, 0.2), (0.85, 0.9), (0.5, 0.5), (0.2, 0.85), (0.12, 0.2)])
    lassoed = _plotly_selected(cmd)
    assert lassoed > 0
    expect(count).to_contain_text(re.compile(rf"plot selection {lassoed}$"), timeout=15_000)
    box = cmd.locator(".nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + 0.05 * box["width"], box["y"] + 0.05 * box["height"])
    expect(count).to_contain_text(re.compile(r"plot selection 0$"), timeout=15_000)

    handle = panel.locator(".widget-hslider .noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    expect(count).to_contain_text("p ≥ 0.55", timeout=15_000)  # the kernel answered

    lab.assert_widgets_healthy()
    lab.screenshot(panel, "stream_explorer_lab")
