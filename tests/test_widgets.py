"""AnomalyBrowser through its public widget API (no browser): clicks write SQLite rows."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from astroad_nb.store import LabelStore
from astroad_nb.widgets import AnomalyBrowser

IDS = ["t1", "t2", "s1", "p1", "p2"]
SCORES = pd.Series([0.2, 0.9, 0.7, 0.3, 0.8], index=IDS)
TOP = pd.Series(["transient", "transient", "stochastic", "periodic", "periodic"], index=IDS)


class TinyLightCurves:
    """The part of LightCurves the panel reads: ``get`` and ``meta['period']``."""

    meta = pd.DataFrame({"period": [np.nan, np.nan, np.nan, 0.5, 2.0]}, index=IDS)

    def get(self, object_id):
        t = 58000.0 + np.arange(6.0)
        return pd.DataFrame({"time": t, "mag": 18.0 + 0.1 * t % 1, "magerr": 0.05,
                             "band": ["g", "r"] * 3})


def _rows(path):
    with sqlite3.connect(path) as con:
        return con.execute("SELECT item_id, label, who, context, active FROM labels ORDER BY id").fetchall()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "labels.sqlite"


@pytest.fixture
def panel(db):
    store = LabelStore(db)
    features = pd.DataFrame({"Amplitude_1": [0.1, 0.2, 0.3, 0.4, 5.0],
                             "Multiband_period": [1.0] * 5}, index=IDS)
    yield AnomalyBrowser(SCORES, TinyLightCurves(), features, top_class=TOP, store=store,
                         who="ana", context="alerce")
    store.close()


def _texts(panel):
    return [text for text, _ in panel.ranked_list.options]


def _button(panel, text):
    return next(b for b in [*panel.flag_buttons, panel.undo_button] if b.description == text)


def test_list_shows_ranked_objects_of_the_first_class(panel):
    assert panel.class_buttons.options == ("transient", "stochastic", "periodic")
    assert _texts(panel) == ["1. t2  0.900", "2. t1  0.200"]
    assert panel.ranked_list.value == "t2"


def test_click_interesting_writes_a_row_and_labels_the_list(panel, db):
    panel.ranked_list.value = "t1"
    _button(panel, "interesting").click()
    assert _rows(db) == [("t1", "interesting", "ana", "alerce", 1)]
    assert _texts(panel) == ["1. t2  0.900", "2. t1  0.200  [interesting]"]
    assert panel.ranked_list.label == "2. t1  0.200  [interesting]"
    assert panel.ranked_list.value == "t1"  # relabelling the list keeps the selection


def test_undo_marks_the_row_inactive(panel, db):
    _button(panel, "bogus").click()
    _button(panel, "undo").click()
    assert _rows(db) == [("t2", "bogus", "ana", "alerce", 0)]
    assert _texts(panel)[0] == "1. t2  0.900"
    assert "Undid bogus" in panel.message.value


def test_class_selector_changes_list_and_folds_periodic_curve(panel):
    panel.class_buttons.value = "periodic"
    assert _texts(panel) == ["1. p2  0.800", "2. p1  0.300"]
    assert panel.state.current == "p2"
    assert list(panel.figure.layout.xaxis.range) == [0, 2]
    assert panel.figure.layout.xaxis.title.text == "phase (P = 2 d)"
    assert max(panel.figure.data[0].x) < 2.0


def test_fold_toggle_disabled_without_period(panel):
    assert panel.fold_toggle.disabled  # t2 is a transient
    panel.select("p1")
    assert not panel.fold_toggle.disabled


def test_fold_toggle_shows_time(panel):
    panel.select("p1")
    panel.fold_toggle.value = False
    assert panel.figure.layout.xaxis.title.text == "time (MJD)"
    assert min(panel.figure.data[0].x) == 58000.0


def test_selecting_updates_the_same_figure_in_place(panel):
    figure, traces = panel.figure, panel.figure.data
    panel.ranked_list.value = "t1"
    assert panel.figure is figure and panel.figure.data == traces
    assert [t.name for t in figure.data] == ["g", "r"]
    assert list(figure.data[0].x) == [58000.0, 58002.0, 58004.0]
    assert figure.layout.title.text == "t1"
    assert list(figure.data[0].error_y.array) == [0.05, 0.05, 0.05]


def test_selecting_an_object_of_another_class_switches_the_class(panel):
    panel.select("s1")
    assert panel.class_buttons.value == "stochastic"
    assert panel.ranked_list.value == "s1"
    assert "<b>s1</b>" in panel.status.value


def test_features_table_and_all_features_toggle(panel):
    panel.select("p2")
    assert "Amplitude_1" in panel.features_view.value
    assert "Top 2 features" in panel.features_view.value
    panel.all_features.value = True
    assert "All features" in panel.features_view.value


def test_features_only_without_store_keeps_labels_in_memory():
    panel = AnomalyBrowser(SCORES, features=pd.DataFrame({"a": range(5)}, index=IDS))
    assert panel.figure is None
    panel.flag_buttons[2].click()
    assert panel.state.labels == {"t2": "known"}
    assert panel.state.store.path == ":memory:"
    assert "kept in memory only" in panel.widget.children[0].value


def test_flag_buttons_disabled_without_selection(panel):
    assert not panel.flag_buttons[0].disabled
    panel.select(None)
    assert [b.disabled for b in panel.flag_buttons] == [True, True, True]
    assert panel.ranked_list.value is None


def test_displays_as_a_widget(panel):
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
