"""Metrics and the leave-one-subclass-out protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from astroad_nb import evaluation as ev


def test_metrics_known_values():
    y = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.7, 0.8, 0.3])
    assert ev.auroc(y, scores) == pytest.approx(5 / 6)  # pairs: 0.8 beats 3, 0.3 beats 2
    pred = np.array([0, 0, 1, 1, 0])
    assert ev.precision(y, pred) == 0.5
    assert ev.recall(y, pred) == 0.5
    assert ev.f1(y, pred) == 0.5
    assert ev.f2(y, pred) == pytest.approx(0.5)
    assert ev.accuracy(y, pred) == 0.6
    assert ev.balanced_accuracy(y, pred) == pytest.approx((2 / 3 + 0.5) / 2)


def test_sklearn_sign_convention_predictions():
    y = np.array([0, 1, 1, 0])
    assert ev.recall(y, np.array([1, -1, -1, 1])) == 1.0  # -1 = outlier = anomaly
    assert ev.precision(y, np.array([1, -1, 1, 1])) == 1.0


def test_summary_scores_prevalence_threshold():
    y = np.array([0, 0, 0, 1, 1, 0])
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.95, 0.0])
    table = ev.summary(y, scores)
    assert list(table.index) == ["auroc", "average_precision", "precision", "recall", "f1",
                                 "f2", "mcc", "balanced_accuracy", "accuracy"]
    # top-2 flagged: 0.95 (anomaly), 0.9 (normal)
    assert table.loc["precision", "value"] == 0.5 and table.loc["recall", "value"] == 0.5
    assert table.attrs["threshold"] == 0.9
    assert table.loc["auroc", "value"] == pytest.approx(7 / 8)


def test_summary_predictions_has_nan_auroc():
    table = ev.summary([0, 1, 1], [1, -1, 1])
    assert np.isnan(table.loc["auroc", "value"])
    assert table.loc["recall", "value"] == 0.5


@pytest.mark.parametrize("y, s, match", [
    ([0, 2, 1], [0.1, 0.2, 0.3], "y_true must hold 0"),
    ([0, 1], [0.1, 0.2, 0.3], "2 entries"),
    ([0, 1], [0.1, np.nan], "non-finite"),
])
def test_metric_errors(y, s, match):
    with pytest.raises(ValueError, match=match):
        ev.auroc(y, s)


def test_auroc_one_class_is_nan():
    assert np.isnan(ev.auroc([0, 0], [0.1, 0.2]))


def _toy(random_state=0):
    rng = np.random.default_rng(random_state)
    centres = {"A1": [0, 0], "A2": [0.5, 0], "A3": [8, 8], "B1": [20, 0], "B2": [20, 0.1]}
    X, sub = [], []
    for name, c in centres.items():
        X.append(rng.normal(c, 1.0, size=(60, 2)))
        sub += [name] * 60
    return np.vstack(X), np.array(sub)


def test_leave_one_subclass_out_table():
    X, sub = _toy()
    mapping = {"A1": "A", "A2": "A", "A3": "A", "B1": "B", "B2": "B"}
    res = ev.leave_one_subclass_out(
        pd.DataFrame(X, columns=["x", "y"]), sub,
        {"IForest": IsolationForest(n_estimators=50), "IF2": IsolationForest(n_estimators=20)},
        top_class=mapping, preprocessor=StandardScaler(), n_splits=3, random_state=1)
    assert list(res.mean.index) == ["IForest", "IF2"]
    assert list(res.mean.columns) == ["A1", "A2", "A3", "B1", "B2"]
    assert res.folds.shape[0] == 2 * 5 * 3
    # A3 lies far from A1/A2: easy anomaly. B1 vs B2 are the same blob: AUROC near 0.5.
    assert res.mean.loc["IForest", "A3"] > 0.95
    assert 0.3 < res.mean.loc["IForest", "B2"] < 0.7
    assert res.table().loc["IForest", "A3"].count("±") == 1
    assert set(res.by_top_class().columns) == {"A", "B"}
    again = ev.leave_one_subclass_out(
        X, sub, {"IForest": IsolationForest(n_estimators=50)}, top_class=mapping,
        preprocessor=StandardScaler(), n_splits=3, random_state=1)
    np.testing.assert_allclose(again.mean.loc["IForest"], res.mean.loc["IForest"])
    assert res.to_json_dict()["top_class"]["B1"] == "B"


def test_leave_one_subclass_out_skips_tiny_subclass():
    X, sub = _toy()
    sub[:59] = "A2"  # A1 keeps a single object
    res = ev.leave_one_subclass_out(X, sub, {"IF": IsolationForest(n_estimators=10)},
                                    top_class={"A1": "A", "A2": "A", "A3": "A", "B1": "B",
                                               "B2": "B"}, n_splits=3, random_state=0)
    assert np.isnan(res.mean.loc["IF", "A1"])
    assert np.isfinite(res.mean.loc["IF", "A3"])


def test_leave_one_subclass_out_errors():
    X, sub = _toy()
    with pytest.raises(ValueError, match="rows"):
        ev.leave_one_subclass_out(X[:10], sub, {"IF": IsolationForest()}, top_class={})
    with pytest.raises(ValueError, match="lacks subclasses"):
        ev.leave_one_subclass_out(X, sub, {"IF": IsolationForest()}, top_class={"A1": "A"})
    with pytest.raises(ValueError, match="methods is empty"):
        ev.leave_one_subclass_out(X, sub, {}, top_class={})


def test_leave_one_subclass_out_parallel_equals_serial():
    X, sub = _toy()
    mapping = {"A1": "A", "A2": "A", "A3": "A", "B1": "B", "B2": "B"}
    kw = dict(top_class=mapping, preprocessor=StandardScaler(), n_splits=2, random_state=3)
    serial = ev.leave_one_subclass_out(X, sub, {"IF": IsolationForest(n_estimators=20)}, **kw)
    parallel = ev.leave_one_subclass_out(X, sub, {"IF": IsolationForest(n_estimators=20)},
                                         n_jobs=2, **kw)
    pd.testing.assert_frame_equal(serial.mean, parallel.mean)
