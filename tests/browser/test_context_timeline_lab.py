"""The context timeline renders and responds in real JupyterLab (headless Chromium).

Proves what Python-side tests cannot: the plotly timeline is drawn (one score trace per
predicted context, the context and confidence rows), a mouse click on a file's point reaches
the kernel through plotly's widget and opens that file, whose log-mel PNG is decoded at its
own size and whose WAV bytes play in the page's ``<audio>`` element (Chromium reports the
clip's 1 s duration), the flag buttons and the panel's keys land in SQLite at once, and
JupyterLab's single-key shortcuts (``a`` = insert cell above) stay quiet while the panel has
the focus.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from panel_helpers import label_rows, panel_button, shown_id
from playwright.sync_api import expect

# pytest-base-url (pulled in by pytest-playwright) trips a pytest deprecation that is not ours
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")

NOTEBOOK = Path(__file__).resolve().parent / "context_timeline_scratch.ipynb"
_ID = re.compile(r"6dB/(?:fan|valve)/id_00/(?:normal|abnormal)/\d{8}")


@pytest.mark.browser
def test_click_a_file_shows_logmel_audio_and_flags_it(lab, lab_server):
    page = lab.open_notebook(NOTEBOOK)
    lab.run_all_cells()
    panel = lab.wait_for(".astroad-context", timeout_s=120)
    lab.wait_idle(timeout_s=120)
    info = panel.locator(".astroad-info")
    expect(info).to_contain_text("#0")
    assert shown_id(panel, _ID) == "6dB/fan/id_00/normal/00000000"

    plot = panel.locator(".js-plotly-plot").first
    expect(plot.locator(".gtitle")).to_have_text("context timeline", timeout=30_000)
    legend = plot.locator(".legend")
    expect(legend).to_contain_text("fan_00")
    expect(legend).to_contain_text("valve_00")
    score_traces = plot.locator(".subplot.xy .scatterlayer .trace")
    assert score_traces.nth(0).locator("path.point").count() > 0

    # click the last point of the last context trace: a valve file late in the stream
    points = score_traces.nth(1).locator("path.point")
    target = points.nth(points.count() - 1)
    plot.scroll_into_view_if_needed()  # a mouse click does not scroll: bring the plot in view
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(info).to_contain_text("valve", timeout=15_000)
    clicked = shown_id(panel, _ID)
    assert clicked.startswith("6dB/valve/")

    logmel = panel.locator("img.astroad-logmel, .astroad-logmel img").first
    expect(logmel).to_have_js_property("naturalWidth", 32)  # 1 s: 1 + 16000 // 512 frames
    expect(logmel).to_have_js_property("naturalHeight", 64)
    audio = panel.locator("audio").first
    expect(audio).to_be_visible()
    page.wait_for_function("a => a.duration > 0.99 && a.duration < 1.01",
                           arg=audio.element_handle(), timeout=15_000)
    errors = panel.locator(".js-plotly-plot").nth(1)
    expect(errors.locator(".gtitle")).to_contain_text("frame errors (mean")

    panel_button(panel, "anomalous").click()
    expect(panel.locator(".astroad-message")).to_contain_text("anomalous")
    assert label_rows(lab_server.labels_db, "sounds") == [(clicked, "anomalous", "tester", 1)]

    n_cells = page.locator(".jp-Notebook .jp-Cell").count()
    info.click()  # focus the panel, as a user would
    page.keyboard.press("Home")
    expect(info).to_contain_text("#0")
    page.keyboard.press("n")  # flag normal, then the next file
    expect(info).to_contain_text("#1")
    page.keyboard.press("a")  # the panel's "anomalous", not JupyterLab's "insert cell above"
    expect(info).to_contain_text("#2")
    assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells
    assert label_rows(lab_server.labels_db, "sounds")[1:] == [
        ("6dB/fan/id_00/normal/00000000", "normal", "tester", 1),
        ("6dB/fan/id_00/normal/00000001", "anomalous", "tester", 1)]
    page.keyboard.press("u")
    expect(panel.locator(".astroad-message")).to_contain_text("undid anomalous")
    assert label_rows(lab_server.labels_db, "sounds")[-1][3] == 0  # kept, undone
    lab.screenshot(panel, "context_timeline_lab")
    lab.assert_widgets_healthy()
