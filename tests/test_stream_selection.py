"""Box / lasso selection from the shapes plotly writes into ``layout.selections``.

The stream explorer learns a selection from the shapes a drag leaves in the figure's layout (a
relayout message), not from plotly's point events, which the browser can overwrite with an
unhover before they reach the kernel (the lost-selection bug of the browser test). These tests
drive that path without a browser: ``fig.plotly_relayout`` is what the kernel runs when the
browser reports a drag.
"""

from __future__ import annotations

import numpy as np
import pytest
from stream_field import FIELD

from astroad_nb.widgets import StreamExplorer
from astroad_nb.widgets.stream_state import StreamExplorerState, selection_mask

# star 101 is the support star (trace 1)
PROBA = np.array([0.9, 0.8, 0.6, 0.55, 0.1, 0.3, 0.45, 0.05])

U_SHAPE = "M0,0L3,0L3,3L2,3L2,1L1,1L1,3L0,3Z"  # concave: the notch 1 < x < 2, y > 1 is outside


def rect(x0, x1, y0, y1):
    """A box as plotly writes it after a drag (corners in drag order)."""
    return {"xref": "x", "yref": "y", "type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1}


def lasso(path):
    return {"xref": "x", "yref": "y", "type": "path", "path": path}


def test_box_keeps_edges_and_ignores_corner_order():
    x, y = [0.0, 1.0, 2.0, 1.0, np.nan], [0.0, 1.0, 1.0, 2.5, 1.0]
    for box in (rect(0, 2, 0, 2), rect(2, 0, 2, 0), rect(0, 2, 2, 0)):
        assert selection_mask(x, y, [box]).tolist() == [True, True, True, False, False]


def test_lasso_concave_polygon_and_nan():
    x = [0.5, 1.5, 2.5, 1.5, 4.0, np.nan]
    y = [2.0, 2.0, 2.0, 0.5, 1.0, 2.0]
    assert selection_mask(x, y, [lasso(U_SHAPE)]).tolist() == [True, False, True, True, False,
                                                                False]


def test_lasso_path_in_plotly_number_format_and_several_subpaths():
    path = "M-1e-1,0L0.9,0L.9,1.5E0ZM5,5L6,5L6,6Z"
    assert selection_mask([0.5, 5.9, 5.1, 3.0], [0.2, 5.5, 5.5, 3.0],
                          [lasso(path)]).tolist() == [True, True, False, False]


def test_several_shapes_are_a_union_and_none_selects_nothing():
    x, y = [0.5, 5.5, 9.0], [0.5, 5.5, 9.0]
    shapes = [rect(0, 1, 0, 1), lasso("M5,5L6,5L6,6L5,6Z")]
    assert selection_mask(x, y, shapes).tolist() == [True, True, False]
    assert selection_mask(x, y, []).tolist() == [False, False, False]


@pytest.mark.parametrize("shape, match", [
    ({"type": "circle", "x0": 0, "x1": 1, "y0": 0, "y1": 1}, "unsupported selection type"),
    (lasso("M0,0C1,1 2,2 3,3Z"), "unsupported lasso path"),
])
def test_unsupported_shapes_raise(shape, match):
    with pytest.raises(ValueError, match=match):
        selection_mask([0.0], [0.0], [shape])


def test_state_selects_both_traces_in_a_view():
    state = StreamExplorerState(FIELD, PROBA, support=[101])
    # sky: ra 10..17, dec 1..8
    assert state.select_in_view("sky", [rect(9.5, 12.5, 3.5, 0.5)]).tolist() == [102, 103, 101]
    # proper motions: a lasso around the cluster at (-5, -3)
    pm_box = lasso("M-6,-4L-4.5,-4L-4.5,-2.5L-6,-2.5Z")
    assert state.select_in_view("pm", [pm_box]).tolist() == [102, 103, 107, 101]
    assert state.select_in_view("pm", []).tolist() == []


def test_state_reversed_magnitude_axis():
    state = StreamExplorerState(FIELD, PROBA, support=[101])
    # cmd: x = BP-RP, y = G on an inverted axis; plotly gives y in magnitudes, top first
    for y0, y1 in ((15.5, 18.7), (18.7, 15.5)):
        assert state.select_in_view("cmd", [rect(0.85, 1.45, y0, y1)]).tolist() == [102, 105, 106]


def test_state_selects_displayed_stars_only():
    state = StreamExplorerState(FIELD, PROBA, support=[101], max_points=4)  # shows 102..104
    assert state.select_in_view("sky", [rect(0, 20, 0, 20)]).tolist() == [102, 103, 104, 101]


@pytest.fixture
def panel():
    return StreamExplorer(FIELD, PROBA, support=[101])


def test_drag_in_browser_reaches_the_panel(panel):
    cmd = panel.figures["cmd"]
    cmd.plotly_relayout({"selections": [rect(0.85, 1.45, 15.5, 18.7)]}, source_view_id="a")
    assert panel.state.selection.tolist() == [102, 105, 106]
    assert "plot selection <b>3</b>" in panel.count.value and not panel.add_button.disabled
    for fig in panel.figures.values():  # linked brushing: trace 0 is 102..108
        assert list(fig.data[0].selectedpoints) == [0, 3, 4]
        assert list(fig.data[1].selectedpoints) == []


def test_lasso_replaces_box_and_double_click_clears(panel):
    sky, pm = panel.figures["sky"], panel.figures["pm"]
    sky.plotly_relayout({"selections": [rect(9.5, 12.5, 3.5, 0.5)]}, source_view_id="a")
    pm.plotly_relayout({"selections": [lasso("M-6,-4L-4.5,-4L-4.5,-2.5L-6,-2.5Z")]},
                       source_view_id="b")
    assert panel.state.selection.tolist() == [102, 103, 107, 101]
    pm.plotly_relayout({"selections": []}, source_view_id="b")  # double-click
    assert panel.state.selection.tolist() == []
    assert panel.figures["cmd"].data[0].selectedpoints is None and panel.add_button.disabled


def test_add_erases_boxes_and_keeps_the_edit(panel):
    sky = panel.figures["sky"]
    sky.plotly_relayout({"selections": [rect(9.5, 12.5, 3.5, 0.5)]}, source_view_id="a")
    panel.add_button.click()  # our own erasing of the box reaches the handler: no second edit
    assert panel.state.support.tolist() == [101, 102, 103]
    assert sky.layout.to_plotly_json()["selections"] == []
    assert "2 stars added to the support set" in panel.message.value
    assert "plot selection <b>0</b>" in panel.count.value

