"""StreamExplorer through its public widget API (no browser): slider, selection, buttons, export."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from stream_field import FIELD

from astroad_nb.store import LabelStore
from astroad_nb.widgets import StreamExplorer, StreamExplorerState

PROBA = np.array([0.9, 0.8, 0.6, 0.55, 0.1, 0.3, 0.45, 0.05])
TRUTH = np.array([True, True, True, False, False, False, True, False])


def near_support(field, support):
    """A cheap stand-in for a model: p = exp(-distance to the nearest support star in pm)."""
    pm = field[["pmra", "pmdec"]].to_numpy()
    d = np.linalg.norm(pm[:, None, :] - field.loc[support, ["pmra", "pmdec"]].to_numpy()[None], axis=2)
    return np.exp(-d.min(axis=1))


@pytest.fixture
def store():
    return LabelStore(":memory:", who="ana")


@pytest.fixture
def panel(store):
    return StreamExplorer(FIELD, PROBA, support=[101], truth=TRUTH, rescore=near_support,
                          store=store, context="gd1")


def test_panel_shows_three_views_coloured_by_proba(panel):
    assert list(panel.figures) == ["sky", "pm", "cmd"]
    assert isinstance(panel.state, StreamExplorerState)
    for fig in panel.figures.values():
        field, support = fig.data
        assert field.type == "scattergl" and len(field.x) == 7  # the support star is apart
        assert list(field.marker.color) == [0.8, 0.6, 0.55, 0.1, 0.3, 0.45, 0.05]
        assert support.marker.symbol == "star" and support.marker.line.color == "black"
        assert list(support.marker.color) == [0.9]
    assert panel.figures["cmd"].layout.yaxis.autorange == "reversed"
    assert panel.figures["sky"].layout.xaxis.title.text == "ra (deg)"
    assert panel.figures["cmd"].layout.xaxis.title.text == "BP − RP (mag)"
    assert "<b>4</b> selected" in panel.count.value and "support <b>1</b>" in panel.count.value
    assert "precision 0.667" in panel.metrics_view.value
    assert panel.add_button.disabled  # nothing selected yet


def test_slider_updates_count_metrics_and_opacity(panel):
    panel.threshold_slider.value = 0.7
    assert panel.state.threshold == 0.7
    assert "<b>2</b> selected (p ≥ 0.70)" in panel.count.value
    assert "precision 1.000 · recall 0.333" in panel.metrics_view.value
    assert list(panel.figures["pm"].data[0].marker.opacity) == [0.95] + [0.35] * 6


def test_selection_then_add_records_rescores_and_redraws(panel, store):
    panel.select_points([2, 5])  # what on_selection passes: indices into the field trace
    assert panel.state.selection.tolist() == [104, 107]
    assert "plot selection <b>2</b>" in panel.count.value
    assert list(panel.figures["cmd"].data[0].selectedpoints) == [2, 5]  # linked views
    assert not panel.add_button.disabled
    panel.add_button.click()
    assert panel.state.support.tolist() == [101, 104, 107]
    assert store.latest(context="gd1") == {"104": "member", "107": "member"}
    expected = near_support(FIELD, [101, 104, 107])
    np.testing.assert_allclose(panel.state.proba, expected)
    sky_field, sky_support = panel.figures["sky"].data
    assert len(sky_field.x) == 5 and list(sky_support.x) == [10.0, 13.0, 16.0]
    assert "2 stars added to the support set and re-scored" in panel.message.value
    assert "plot selection <b>0</b>" in panel.count.value and panel.add_button.disabled


def test_remove_selected_support_star(panel, store):
    panel.add_button.click()  # nothing selected: a hint, no change
    assert "Select stars first" in panel.message.value
    panel.select_points([1])  # 103
    panel.add_button.click()
    panel.select_points([0], layer="support")  # star 101 in the support trace
    panel.remove_button.click()
    assert panel.state.support.tolist() == [103]
    assert store.latest(context="gd1") == {"103": "member", "101": "not_member"}
    panel.select_points([0], layer="support")
    panel.remove_button.click()  # the last support star stays
    assert "empty the support set" in panel.message.value
    assert panel.state.support.tolist() == [103]


def test_clear_button_forgets_selection(panel):
    panel.select_points([0, 1])
    panel.clear_button.click()
    assert panel.state.selection.tolist() == []
    assert panel.figures["sky"].data[0].selectedpoints is None


def test_export_button_writes_csv(panel, tmp_path):
    panel.threshold_slider.value = 0.6
    panel.export_path.value = str(tmp_path / "members.csv")
    panel.export_button.click()
    assert Table.read(tmp_path / "members.csv")["source_id"].tolist() == [101, 102, 103]
    assert "Wrote 3 members" in panel.message.value
    assert len(panel.export()) == 3


def test_phi_coords_and_no_truth():
    panel = StreamExplorer(FIELD, PROBA, support=[101], coords="phi")
    assert panel.figures["sky"].layout.xaxis.title.text == "φ1 (deg)"
    assert "no truth" in panel.metrics_view.value


def test_max_points_decimates_but_keeps_selected():
    panel = StreamExplorer(FIELD, PROBA, support=[101], max_points=4)
    shown = FIELD.index[panel.state.display_rows].tolist()
    assert shown == [102, 103, 104]  # the 3 selected non-support stars fill the budget
    panel.threshold_slider.value = 0.3
    assert len(panel.figures["sky"].data[0].x) == 5  # 102-104, 106, 107 must all be shown


def test_mimebundle_is_the_widget(panel):
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
