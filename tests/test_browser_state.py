"""AnomalyBrowserState: ranking, selection, folding, features and labels, without widgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.store import LabelStore
from astroad_nb.widgets.browser_state import AnomalyBrowserState

IDS = ["t1", "t2", "t3", "s1", "s2", "p1", "p2"]
SCORES = pd.Series([0.2, 0.9, 0.5, 0.7, 0.1, 0.3, 0.8], index=IDS)
TOP = pd.Series(["transient"] * 3 + ["stochastic"] * 2 + ["periodic"] * 2, index=IDS)


class TinyLightCurves:
    """Just the part of LightCurves the browser reads: ``get`` and ``meta``."""

    def __init__(self, periods):
        self.meta = pd.DataFrame({"period": periods}, index=IDS)

    def get(self, object_id):
        return pd.DataFrame({"time": [58000.0, 58001.0], "mag": [18.0, 18.5],
                             "magerr": [0.1, 0.1], "band": ["g", "r"]})


@pytest.fixture
def state():
    return AnomalyBrowserState(SCORES, top_class=TOP, n_top=2, who="ana")


def test_classes_follow_top_class_order(state):
    assert state.classes == ["transient", "stochastic", "periodic"]
    assert state.selected_class == "transient"
    assert state.current == "t2"  # the most anomalous transient is selected first


def test_ranked_is_top_n_per_class_highest_first(state):
    assert state.ranked("transient").to_dict() == {"t2": 0.9, "t3": 0.5}
    assert list(state.ranked("periodic").index) == ["p2", "p1"]
    assert list(state.ranked().index) == ["t2", "t3"]  # the selected class by default


def test_without_top_class_everything_is_one_class():
    state = AnomalyBrowserState(SCORES, n_top=3)
    assert state.classes == ["all"]
    assert list(state.ranked().index) == ["t2", "p2", "s1"]


def test_ties_keep_input_order():
    state = AnomalyBrowserState(pd.Series([1.0, 1.0, 2.0], index=["b", "a", "c"]))
    assert list(state.ranked().index) == ["c", "b", "a"]


def test_select_class_selects_its_top_object(state):
    state.select_class("stochastic")
    assert (state.selected_class, state.current) == ("stochastic", "s1")


def test_select_switches_to_the_objects_class(state):
    state.select("p1")
    assert (state.selected_class, state.current) == ("periodic", "p1")


def test_select_unknown_object_or_class_raises(state):
    with pytest.raises(KeyError, match="nope"):
        state.select("nope")
    with pytest.raises(ValueError, match="unknown class 'rrlyr'"):
        state.select_class("rrlyr")


def test_options_show_rank_id_score_and_label(state):
    state.flag("bogus")
    assert state.options("transient") == [("1. t2  0.900  [bogus]", "t2"), ("2. t3  0.500", "t3")]


def test_options_right_align_ranks():
    state = AnomalyBrowserState(pd.Series(np.arange(10.0), index=[f"o{i}" for i in range(10)]))
    assert state.options()[0] == (" 1. o9  9.000", "o9")
    assert state.options()[9] == ("10. o0  0.000", "o0")


def test_flag_writes_store_with_context_and_who(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    state = AnomalyBrowserState(SCORES, top_class=TOP, store=store, who="ana", context="alerce")
    state.select("s1")
    state.flag("interesting")
    rows = store.to_frame()[["item_id", "label", "who", "context"]].to_dict("records")
    assert rows == [{"item_id": "s1", "label": "interesting", "who": "ana", "context": "alerce"}]
    assert state.labels == {"s1": "interesting"}


def test_flag_rejects_unknown_label_and_missing_selection(state):
    with pytest.raises(ValueError, match="label must be one of"):
        state.flag("cool")
    state.select(None)
    with pytest.raises(RuntimeError, match="No object is selected"):
        state.flag("bogus")


def test_undo_restores_previous_label_and_selects_the_object(state):
    state.select("t3")
    state.flag("bogus")
    state.flag("interesting")
    state.select("p1")
    row = state.undo()
    assert (row["item_id"], row["label"], row["active"]) == ("t3", "interesting", 0)
    assert state.labels == {"t3": "bogus"}
    assert state.current == "t3"
    state.undo()
    assert state.labels == {}
    assert state.undo() is None


def test_undo_leaves_other_contexts_alone(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite", who="ana")
    store.add("t1", "real", context="rb")
    state = AnomalyBrowserState(SCORES, store=store, context="alerce")
    assert state.labels == {}
    assert state.undo() is None
    assert store.latest("rb") == {"t1": "real"}


def test_labels_resume_from_an_existing_store(tmp_path):
    path = tmp_path / "labels.sqlite"
    with LabelStore(path) as store:
        store.add("p2", "known", context="alerce")
    with LabelStore(path) as store:
        assert AnomalyBrowserState(SCORES, store=store).labels == {"p2": "known"}


def test_integer_ids_map_back_from_the_store():
    state = AnomalyBrowserState(pd.Series([0.1, 0.9], index=[101, 202]))
    state.flag("interesting")
    assert state.labels == {202: "interesting"}


def test_period_only_for_periodic_objects_meta_first():
    lcs = TinyLightCurves([np.nan] * 5 + [0.5, np.nan])
    features = pd.DataFrame({"Multiband_period": [9.0] * 7}, index=IDS)
    state = AnomalyBrowserState(SCORES, lcs, features, top_class=TOP)
    assert state.period("p1") == 0.5  # from meta
    assert state.period("p2") == 9.0  # meta is NaN: from the features
    assert state.period("t1") is None  # not periodic
    state.select("p1")
    state.folded = False
    assert state.display_period() is None


def test_lightcurve_none_without_lightcurves(state):
    assert state.lightcurve() is None
    assert state.period("p1") is None


def test_feature_table_most_unusual_first():
    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0],
                             "b": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}, index=IDS)
    state = AnomalyBrowserState(SCORES, features=features)
    table = state.feature_table("p2", top=1)
    assert list(table.index) == ["a"]
    assert table.loc["a", "value"] == 100.0
    assert table.loc["a", "z"] == pytest.approx((100.0 - 3.0) / (1.4826 * 2.0))
    assert list(state.feature_table("p2", top=None).index) == ["a", "b"]


def test_feature_table_empty_without_features(state):
    assert state.feature_table().empty


def test_dataframe_scores_one_column_per_top_class():
    frame = pd.DataFrame({"transient": [0.1, 0.2], "periodic": [0.9, 0.8]}, index=["x", "y"])
    top = pd.Series(["transient", "periodic"], index=["x", "y"])
    state = AnomalyBrowserState(frame, top_class=top)
    assert state.scores.to_dict() == {"x": 0.1, "y": 0.8}


def test_top_class_probabilities_take_the_most_probable():
    proba = pd.DataFrame({"periodic": [0.9, 0.2], "transient": [0.1, 0.8]}, index=["x", "y"])
    state = AnomalyBrowserState(pd.Series([1.0, 2.0], index=["x", "y"]), top_class=proba)
    assert state.top_class.to_dict() == {"x": "periodic", "y": "transient"}


def test_bad_scores_give_clear_errors():
    with pytest.raises(TypeError, match="pd.Series"):
        AnomalyBrowserState(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="duplicated object ids"):
        AnomalyBrowserState(pd.Series([1.0, 2.0], index=["a", "a"]))
    with pytest.raises(ValueError, match="n_top"):
        AnomalyBrowserState(SCORES, n_top=0)
