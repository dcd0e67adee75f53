"""Tests of the classifier-routed per-class detector."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

from astroad_nb.models import AutoEncoder, HierarchicalDetector, IForest, MultiClassDeepSVDD

N_FEATURES = 8


def simulate(seed=0, n_per_sub=150):
    """Three top classes far apart, each with two sub-classes; anomalies between/off them."""
    rng = np.random.default_rng(seed)
    tops = 10.0 * rng.normal(size=(3, N_FEATURES))
    subs = tops[:, None, :] + 2.0 * rng.normal(size=(3, 2, N_FEATURES))
    X, y_top, y_sub = [], [], []
    for t in range(3):
        for s in range(2):
            X.append(subs[t, s] + 0.3 * rng.normal(size=(n_per_sub, N_FEATURES)))
            y_top += [f"top{t}"] * n_per_sub
            y_sub += [f"top{t}_sub{s}"] * n_per_sub
    X = np.vstack(X)
    idx = rng.integers(0, len(X), 90)
    X_in = X[idx] + 0.3 * rng.normal(size=(90, N_FEATURES))
    X_out = X[rng.integers(0, len(X), 30)] + 3.0 * rng.normal(size=(30, N_FEATURES))
    X_test = np.vstack([X_in, X_out])
    y_test = np.r_[np.zeros(90), np.ones(30)]
    return X, np.array(y_top), np.array(y_sub), X_test, y_test


DATA = simulate()


@pytest.fixture(scope="module")
def fitted():
    X, y_top, _, _, _ = DATA
    return HierarchicalDetector(detector=IForest(n_estimators=50), random_state=0).fit(X, y_top)


def test_classes_and_probabilities(fitted):
    X, y_top, _, _, _ = DATA
    np.testing.assert_array_equal(fitted.classes_, ["top0", "top1", "top2"])
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(fitted.classes_[proba.argmax(1)] == y_top) > 0.95
    assert set(fitted.detectors_) == set(fitted.classes_)


def test_sign_convention_threshold_and_auroc(fitted):
    X, _, _, X_test, y_test = DATA
    s = fitted.score_samples(X_test)
    np.testing.assert_array_equal(fitted.anomaly_score(X_test), -s)
    assert abs(np.mean(fitted.predict(X) == -1) - fitted.contamination) <= 0.02
    assert roc_auc_score(y_test, fitted.anomaly_score(X_test)) >= 0.9


def test_routes_each_object_to_its_most_probable_class(fitted):
    _, _, _, X_test, _ = DATA
    z = fitted.class_scores(X_test)
    best = fitted.predict_proba(X_test).argmax(1)
    np.testing.assert_allclose(fitted.anomaly_score(X_test), z[np.arange(len(z)), best])


def test_class_scores_are_standardised_on_training_data(fitted):
    X, y_top, _, _, _ = DATA
    z = fitted.class_scores(X)
    for j, cls in enumerate(fitted.classes_):
        own = z[y_top == cls, j]
        assert abs(np.median(own)) < 1e-9
        assert abs(np.median(np.abs(own)) * 1.4826 - 1.0) < 1e-9


def test_weighted_mode_is_probability_weighted_mean():
    X, y_top, _, X_test, y_test = DATA
    model = HierarchicalDetector(detector=IForest(n_estimators=50), mode="weighted",
                                 random_state=0).fit(X, y_top)
    expected = (model.predict_proba(X_test) * model.class_scores(X_test)).sum(1)
    np.testing.assert_allclose(model.anomaly_score(X_test), expected)
    assert roc_auc_score(y_test, model.anomaly_score(X_test)) >= 0.9


def test_per_class_detectors_and_multiclass_svdd_gets_subclasses():
    X, y_top, y_sub, X_test, y_test = DATA
    mc = MultiClassDeepSVDD(hidden_dims=(32,), latent_dim=4, epochs=10, batch_size=64)
    model = HierarchicalDetector(
        classifier=RandomForestClassifier(n_estimators=50, random_state=0),
        detector=IForest(n_estimators=50), detectors={"top1": mc}, random_state=0,
    ).fit(X, y_top, y_sub)
    assert isinstance(model.detectors_["top0"], IForest)
    svdd = model.detectors_["top1"]
    assert isinstance(svdd, MultiClassDeepSVDD) and svdd is not mc
    np.testing.assert_array_equal(svdd.classes_, ["top1_sub0", "top1_sub1"])
    assert svdd.random_state is not None  # seeded from the router's random_state
    assert np.isfinite(model.anomaly_score(X_test)).all()


def test_multiclass_svdd_without_y_sub_raises():
    X, y_top, _, _, _ = DATA
    model = HierarchicalDetector(detector=MultiClassDeepSVDD(hidden_dims=(8,), latent_dim=2,
                                                             epochs=1))
    with pytest.raises(ValueError, match="y_sub"):
        model.fit(X, y_top)


def test_unknown_class_in_detectors_raises():
    X, y_top, _, _, _ = DATA
    with pytest.raises(ValueError, match="absent from y_top"):
        HierarchicalDetector(detectors={"nope": AutoEncoder()}).fit(X, y_top)


def test_bad_mode_raises():
    X, y_top, _, _, _ = DATA
    with pytest.raises(ValueError, match="mode"):
        HierarchicalDetector(mode="mean").fit(X, y_top)


def test_deterministic_and_clonable():
    X, y_top, _, X_test, _ = DATA
    model = HierarchicalDetector(detector=IForest(n_estimators=20), random_state=3)
    a = clone(model).fit(X, y_top).anomaly_score(X_test)
    b = clone(model).fit(X, y_top).anomaly_score(X_test)
    np.testing.assert_array_equal(a, b)


def test_dataframe_names_checked():
    X, y_top, _, X_test, _ = DATA
    cols = [f"f{i}" for i in range(N_FEATURES)]
    model = HierarchicalDetector(detector=IForest(n_estimators=20), random_state=0).fit(
        pd.DataFrame(X, columns=cols), y_top)
    np.testing.assert_array_equal(model.feature_names_in_, cols)
    assert model.anomaly_score(pd.DataFrame(X_test, columns=cols)).shape == (len(X_test),)
    with pytest.raises(ValueError, match="feature names"):
        model.anomaly_score(pd.DataFrame(X_test, columns=cols[::-1]))


def test_default_classifier_is_balanced_random_forest(fitted):
    from imblearn.ensemble import BalancedRandomForestClassifier

    assert isinstance(fitted.classifier_, BalancedRandomForestClassifier)


def test_save_load_round_trip_without_pickle(fitted, tmp_path):
    X, _, _, X_test, _ = DATA
    fitted.save(tmp_path / "h")
    assert sorted(p.name for p in (tmp_path / "h" / "detectors").iterdir()) == ["0", "1", "2"]
    loaded = HierarchicalDetector.load(tmp_path / "h")
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    # the numpy tree ensemble reproduces imbalanced-learn's predict_proba exactly
    np.testing.assert_allclose(loaded.predict_proba(X_test), fitted.predict_proba(X_test),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(loaded.score_samples(X_test), fitted.score_samples(X_test))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_save_with_deep_class_detectors(tmp_path):
    X, y_top, y_sub, X_test, _ = DATA
    model = HierarchicalDetector(
        detector=MultiClassDeepSVDD(hidden_dims=(8,), latent_dim=2, epochs=3, batch_size=64),
        random_state=1).fit(X, y_top, y_sub)
    model.save(tmp_path / "h")
    loaded = HierarchicalDetector.load(tmp_path / "h")
    assert isinstance(loaded.detectors_[loaded.classes_[0]], MultiClassDeepSVDD)
    np.testing.assert_allclose(loaded.anomaly_score(X_test), model.anomaly_score(X_test),
                               rtol=1e-6, atol=1e-6)


def test_save_refuses_a_classifier_that_needs_pickle(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y_top, _, _, _ = DATA
    model = HierarchicalDetector(classifier=LogisticRegression(max_iter=200),
                                 detector=IForest(n_estimators=10), random_state=0).fit(X, y_top)
    with pytest.raises(TypeError, match="tree-ensemble"):
        model.save(tmp_path / "h")
