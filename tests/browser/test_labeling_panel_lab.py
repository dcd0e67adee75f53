"""The real/bogus labelling panel renders and labels in real JupyterLab (headless Chromium).

Proves what Python-side tests cannot: the three triplet PNGs reach the page, a button click and
a key press (through the panel's anywidget key handler) reach the kernel, JupyterLab's own
single-key shortcuts (``b`` = insert cell below) stay quiet while the panel has the focus, and
every label lands in SQLite at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from panel_helpers import label_rows, panel_button
from playwright.sync_api import expect

# pytest-base-url (pulled in by pytest-playwright) trips a pytest deprecation that is not ours
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")

NOTEBOOK = Path(__file__).resolve().parent / "labeling_panel_scratch.ipynb"


def _rows(db):
    return label_rows(db, "realbogus", "item_id, label, who, round, active")


def _item_ids(panel):
    return re.findall(r"sim-\d{6}", panel.locator(".astroad-info").inner_text())


@pytest.mark.browser
def test_click_key_and_undo_write_sqlite(lab, lab_server):
    page = lab.open_notebook(NOTEBOOK)
    lab.run_all_cells()
    panel = lab.wait_for(".astroad-labeling", timeout_s=120)
    lab.wait_idle(timeout_s=120)
    progress = panel.locator(".astroad-progress")
    expect(progress).to_contain_text("item 1 of 20")

    images = panel.locator(".astroad-triplet img")
    expect(images).to_have_count(3)
    for k in range(3):  # 63 px stamps drawn at 3x, decoded by the browser
        expect(images.nth(k)).to_have_js_property("naturalWidth", 189)
        expect(images.nth(k)).to_have_js_property("naturalHeight", 189)
    first = _item_ids(panel)[0]

    panel_button(panel, "bogus").click()
    expect(progress).to_contain_text("item 2 of 20")
    assert _rows(lab_server.labels_db) == [(first, "bogus", "tester", 1, 1)]
    expect(panel.locator(".astroad-info")).not_to_contain_text(first)
    second = _item_ids(panel)[0]

    n_cells = page.locator(".jp-Notebook .jp-Cell").count()
    panel.locator(".astroad-info").click()  # focus the panel, as a user would
    page.keyboard.press("r")
    expect(progress).to_contain_text("item 3 of 20")
    expect(panel.locator(".astroad-info")).not_to_contain_text(second)
    third = _item_ids(panel)[0]
    page.keyboard.press("b")  # the panel's key, not JupyterLab's "insert cell below"
    expect(progress).to_contain_text("item 4 of 20")
    assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells
    assert _rows(lab_server.labels_db) == [(first, "bogus", "tester", 1, 1),
                                           (second, "real", "tester", 1, 1),
                                           (third, "bogus", "tester", 1, 1)]

    panel_button(panel, "undo").click()
    expect(progress).to_contain_text("item 3 of 20")
    expect(panel.locator(".astroad-info")).to_contain_text(third)
    assert _rows(lab_server.labels_db) == [(first, "bogus", "tester", 1, 1),
                                           (second, "real", "tester", 1, 1),
                                           (third, "bogus", "tester", 1, 0)]  # kept, undone
    lab.screenshot(panel, "labeling_panel_lab")

    panel.locator(".widget-toggle-buttons button", has_text="grid").click()
    thumbs = panel.locator(".astroad-grid img:visible")
    expect(thumbs).to_have_count(16)
    expect(thumbs.nth(15)).to_have_js_property("naturalWidth", 126)  # difference at 2x
    first_choice = panel.locator(".astroad-grid button.jupyter-button").first
    expect(first_choice).to_contain_text("? · p=")  # undecided, with the model's p(real)
    first_choice.click()
    expect(first_choice).to_contain_text("real · p=")
    lab.assert_widgets_healthy()
    lab.screenshot(panel, "labeling_panel_lab_grid")
    assert len(_rows(lab_server.labels_db)) == 3  # a grid choice is written only on submit
