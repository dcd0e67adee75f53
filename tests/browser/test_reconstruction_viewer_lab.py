"""The GANomaly reconstruction viewer renders and responds in real JupyterLab (headless Chromium).

Proves what Python-side tests cannot: the original / reconstruction / residual PNGs reach the
page and are drawn at the panel's size, the plotly histogram marks the current image, the
*next* button, the rank slider (one rank per arrow key: the panel's own key handler leaves the
slider's keys alone) and the panel's keys reach the kernel, JupyterLab's single-key shortcuts
(``a`` = insert cell above) stay quiet while the panel has the focus, every flag lands in
SQLite at once, and grid mode draws its thumbnails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from panel_helpers import label_rows, panel_button, shown_id
from playwright.sync_api import expect

# pytest-base-url (pulled in by pytest-playwright) trips a pytest deprecation that is not ours
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")

NOTEBOOK = Path(__file__).resolve().parent / "reconstruction_viewer_scratch.ipynb"
_ID = re.compile(r"(?:observed|clumps)-\d\.\d\d-\d{6}")


@pytest.mark.browser
def test_images_slider_keys_flags_and_grid(lab, lab_server):
    page = lab.open_notebook(NOTEBOOK)
    lab.run_all_cells()
    panel = lab.wait_for(".astroad-recon", timeout_s=120)
    lab.wait_idle(timeout_s=120)
    info = panel.locator(".astroad-info")
    expect(info).to_contain_text("rank 1 of 16")

    images = panel.locator(".astroad-recon-images img")
    expect(images).to_have_count(3)
    for k in range(3):  # 32 px PNGs, decoded by the browser and drawn at 160 px
        expect(images.nth(k)).to_have_js_property("naturalWidth", 32)
        expect(images.nth(k)).to_have_js_property("clientWidth", 160)
    plot = panel.locator(".js-plotly-plot")
    expect(plot.locator(".annotation-text")).to_have_text("#1", timeout=30_000)
    expect(plot.locator(".gtitle")).to_have_text("score histogram")
    assert plot.locator(".bars path").count() > 0  # histogram bars drawn
    first = shown_id(panel, _ID)

    panel_button(panel, "next").click()
    expect(info).to_contain_text("rank 2 of 16")
    expect(plot.locator(".annotation-text")).to_have_text("#2")  # the marker followed
    second = shown_id(panel, _ID)
    assert second != first

    handle = panel.locator(".widget-hslider .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")  # moves the slider once, not the slider and the ranking
    expect(info).to_contain_text("rank 3 of 16", timeout=15_000)
    expect(panel.locator(".widget-hslider .widget-readout")).to_have_text("3")

    n_cells = page.locator(".jp-Notebook .jp-Cell").count()
    info.click()  # focus the panel, as a user would
    page.keyboard.press("j")
    expect(info).to_contain_text("rank 4 of 16")
    page.keyboard.press("ArrowLeft")
    expect(info).to_contain_text("rank 3 of 16")
    third = shown_id(panel, _ID)
    page.keyboard.press("i")  # flag interesting, then the next image
    expect(info).to_contain_text("rank 4 of 16")
    fourth = shown_id(panel, _ID)
    page.keyboard.press("a")  # the panel's "artefact", not JupyterLab's "insert cell above"
    expect(info).to_contain_text("rank 5 of 16")
    assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells
    assert label_rows(lab_server.labels_db, "galaxies") == [(third, "interesting", "tester", 1),
                                           (fourth, "artefact", "tester", 1)]

    panel_button(panel, "normal").click()
    expect(info).to_contain_text("rank 6 of 16")
    panel_button(panel, "undo").click()
    expect(info).to_contain_text("rank 5 of 16")
    expect(panel).to_contain_text("undid normal")
    assert label_rows(lab_server.labels_db, "galaxies")[-1][1:] == ("normal", "tester", 0)  # kept, undone
    lab.screenshot(panel, "reconstruction_viewer_lab")

    panel.locator(".widget-toggle-buttons button", has_text="grid").click()
    thumbs = panel.locator(".astroad-recon-grid img:visible")
    expect(thumbs).to_have_count(32)  # ranks 1-16: original + residual each
    expect(thumbs.nth(31)).to_have_js_property("naturalWidth", 32)
    cell = panel.locator(".astroad-recon-grid button.jupyter-button").nth(2)
    expect(cell).to_contain_text("#3 · ")
    expect(cell).to_contain_text("interesting")  # the flag given above
    cell.click()  # opens that image one by one
    expect(info).to_contain_text("rank 3 of 16")
    expect(images.first).to_be_visible()
    lab.assert_widgets_healthy()
