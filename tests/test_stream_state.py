"""StreamExplorerState: threshold, metrics, plot selection, support edits, display, export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from stream_field import FIELD, IDS

from astroad_nb.store import LabelStore
from astroad_nb.widgets.stream_state import StreamExplorerState

PROBA = np.array([0.9, 0.8, 0.6, 0.55, 0.1, 0.3, 0.45, np.nan])
TRUTH = np.array([True, True, True, False, False, False, True, False])


def make(**kwargs):
    kwargs = {"support": [101], "truth": TRUTH, **kwargs}
    return StreamExplorerState(FIELD, PROBA, **kwargs)


def test_threshold_selects_proba_at_or_above_and_never_nan():
    state = make()
    assert state.n_selected == 4  # 0.9, 0.8, 0.6, 0.55
    state.set_threshold(0.6)
    assert state.selected.tolist() == [True, True, True, False, False, False, False, False]
    state.set_threshold(0.0)
    assert state.n_selected == 7  # the NaN star is never selected
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        state.set_threshold(1.5)


def test_metrics_on_non_support_rows_exactly():
    state = make()  # query rows 102..108: truth T T F F F T F; selected T T T F F F F
    m = state.metrics()
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["mcc"] == pytest.approx((2 * 3 - 1 * 1) / np.sqrt(3 * 3 * 4 * 4))
    state.set_threshold(0.95)
    assert state.metrics()["precision"] == 0.0 and state.metrics()["recall"] == 0.0
    assert make(truth=None).metrics() is None


def test_truth_and_proba_as_series_align_by_label():
    proba = pd.Series(PROBA[::-1], index=IDS[::-1])
    truth = pd.Series(TRUTH, index=IDS)
    state = StreamExplorerState(FIELD, proba, support=[101], truth=truth)
    np.testing.assert_array_equal(state.proba, PROBA)
    assert state.metrics()["tp"] == 2


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="proba has 3 values, the field has 8"):
        StreamExplorerState(FIELD, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        StreamExplorerState(FIELD, PROBA * 10)
    with pytest.raises(KeyError, match="999"):
        make(support=[101, 999])
    with pytest.raises(ValueError, match="coords"):
        make(coords="galactic")


def test_support_as_bool_mask():
    mask = np.zeros(8, bool)
    mask[[0, 2]] = True
    assert make(support=mask).support.tolist() == [101, 103]


def test_select_points_maps_trace_indices_to_field_labels():
    state = make(max_points=3)  # must show 102, 103, 104 (selected, not support)
    assert state.display_rows.tolist() == [1, 2, 3]
    assert state.select_points([0, 2]).tolist() == [102, 104]
    assert state.select_points([0], layer="support").tolist() == [102, 104, 101]
    state.select_points([], layer="support")
    assert state.selection.tolist() == [102, 104]
    with pytest.raises(IndexError, match="out of range"):
        state.select_points([3])
    state.clear_selection()
    assert state.selection.tolist() == []


def test_add_support_records_members_and_rescores():
    store = LabelStore(":memory:", who="ana")
    calls = []

    def rescore(field, support):
        calls.append(list(support))
        return np.where(field.index.isin(support), 1.0, 0.2)

    state = make(rescore=rescore, store=store)
    state.select_ids([102, 107])
    added = state.add_support()
    assert added.tolist() == [102, 107]
    assert state.support.tolist() == [101, 102, 107]
    assert calls == [[101, 102, 107]]
    assert state.proba.tolist() == [1.0, 1.0, 0.2, 0.2, 0.2, 0.2, 1.0, 0.2]
    assert state.selection.tolist() == []
    rows = store.to_frame(context="streams")[["item_id", "label", "who"]].values.tolist()
    assert rows == [["102", "member", "ana"], ["107", "member", "ana"]]
    assert state.add_support([101]).tolist() == []  # already known: nothing recorded, no call
    assert len(calls) == 1 and len(store) == 2


def test_remove_support_records_not_member_and_keeps_one():
    store = LabelStore(":memory:")
    state = make(support=[101, 102], store=store, context="gd1")
    assert state.remove_support([102], rescore=False).tolist() == [102]
    assert state.support.tolist() == [101]
    assert store.latest(context="gd1") == {"102": "not_member"}
    with pytest.raises(ValueError, match="empty the support set"):
        state.remove_support([101])
    assert state.support.tolist() == [101]


def test_display_keeps_support_selected_and_samples_the_rest():
    state = make(max_points=5)
    shown = set(FIELD.index[state.display_rows])
    assert {102, 103, 104} <= shown and 101 not in shown
    assert len(state.display_rows) == 4  # 5 minus the support star
    before = state.display_rows.copy()
    state.set_threshold(0.4)  # 107 (p = 0.45) must now be shown
    changed = state.update_display()
    assert 107 in set(FIELD.index[state.display_rows])
    assert changed == (107 not in set(FIELD.index[before]))
    assert state.update_display() is False  # nothing new to show: unchanged


def test_view_columns_units_and_photometry():
    state = make()
    x, y, xt, yt = state.view_columns("cmd")
    np.testing.assert_allclose(x, FIELD["phot_bp_mean_mag"] - FIELD["phot_rp_mean_mag"])
    assert (xt, yt) == ("BP − RP (mag)", "G (mag)")
    assert state.view_columns("pm")[2:] == ("pmra (mas/yr)", "pmdec (mas/yr)")
    ps1 = FIELD[["ra", "dec", "pmra", "pmdec"]].assign(g_mean_psf_mag=19.0, i_mean_psf_mag=18.5)
    assert StreamExplorerState(ps1, PROBA).view_columns("cmd")[2:] == ("g − i (mag)", "g (mag)")
    with pytest.raises(ValueError, match="photometry"):
        StreamExplorerState(FIELD[["ra", "dec", "pmra", "pmdec"]], PROBA).view_columns("cmd")


def test_phi_coordinates_from_columns_or_gd1_frame():
    with_phi = FIELD.assign(phi1=np.arange(8.0), phi2=-np.arange(8.0))
    x, y, xt, _ = StreamExplorerState(with_phi, PROBA, coords="phi").view_columns("sky")
    assert x.tolist() == list(range(8)) and xt == "φ1 (deg)"
    x, y, _, _ = make(coords="phi").view_columns("sky")
    assert np.all(np.isfinite(x)) and np.all(np.abs(y) <= 90)


@pytest.mark.parametrize("suffix", [".csv", ".ecsv", ".fits"])
def test_export_selected_members(tmp_path, suffix):
    state = make(threshold=0.6)
    table = state.export()
    assert isinstance(table, Table)
    assert table["source_id"].tolist() == [101, 102, 103]
    assert table["in_support"].tolist() == [True, False, False]
    assert table["p_member"].tolist() == [0.9, 0.8, 0.6]
    path = tmp_path / f"members{suffix}"
    state.export(path)
    back = Table.read(path)
    assert back["source_id"].tolist() == [101, 102, 103]
    with pytest.raises(ValueError, match="unknown export format"):
        state.export(tmp_path / "members.xlsx")
