"""What the README promises: detectors work in a Pipeline, in GridSearchCV and with clone."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline

import astroad_nb.models
from astroad_nb.data.lightcurves import simulate_lightcurves
from astroad_nb.features.lightcurves import ALeRCEPreprocessor, extract_features
from astroad_nb.models import AutoEncoder, DeepSVDD, HierarchicalDetector, IForest

TINY = dict(hidden_dims=(16,), latent_dim=2, epochs=3, batch_size=32, random_state=0,
            device="cpu")


@pytest.fixture(scope="module")
def features():
    """ALeRCE-style features of 5 simulated objects per subclass (70 rows, NaNs included)."""
    return extract_features(simulate_lightcurves(5, random_state=0), n_jobs=1)


def labelled_anomalies(seed=0, n_normal=200, n_anomalous=20, n_features=6):
    """Normal rows near a 2-D plane in 6-D, anomalies scattered off it; y = 1 for anomalies."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(2, n_features))
    normal = rng.normal(size=(n_normal, 2)) @ basis + 0.1 * rng.normal(size=(n_normal,
                                                                            n_features))
    anomalous = 3.0 * rng.normal(size=(n_anomalous, n_features))
    X = np.vstack([normal, anomalous])
    y = np.r_[np.zeros(n_normal, int), np.ones(n_anomalous, int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


def auroc(estimator, X, y):
    """Scorer: AUROC of the anomaly labels y (1 = anomaly) against -score_samples."""
    return roc_auc_score(y, -estimator.score_samples(X))


def test_pipeline_preprocessor_then_deepsvdd(features):
    pipe = Pipeline([("prep", ALeRCEPreprocessor()), ("det", DeepSVDD(**TINY))])
    assert pipe.fit(features) is pipe
    Z = pipe[:-1].transform(features)
    det = pipe[-1]
    np.testing.assert_array_equal(det.feature_names_in_, pipe[0].get_feature_names_out())
    scores = pipe.score_samples(features)
    assert scores.shape == (len(features),) and np.isfinite(scores).all()
    np.testing.assert_array_equal(scores, det.score_samples(Z))
    np.testing.assert_array_equal(det.anomaly_score(Z), -scores)
    np.testing.assert_array_equal(pipe.decision_function(features), scores - det.offset_)
    pred = pipe.predict(features)
    np.testing.assert_array_equal(pred, np.where(scores < det.offset_, -1, 1))
    assert abs(np.mean(pred == -1) - det.contamination) <= 0.03


@pytest.mark.parametrize("estimator, grid", [
    (IForest(random_state=0), {"n_estimators": [10, 40]}),
    (AutoEncoder(**{**TINY, "epochs": 5}), {"latent_dim": [1, 3]}),
    (Pipeline([("prep", ALeRCEPreprocessor()), ("det", IForest(random_state=0))]),
     {"prep__quantile_range": [(0.05, 0.95), (0.1, 0.9)], "det__n_estimators": [10, 40]}),
], ids=["IForest", "AutoEncoder", "Pipeline"])
def test_grid_search_on_auroc(estimator, grid):
    X, y = labelled_anomalies(0)
    X_test, y_test = labelled_anomalies(1)
    search = GridSearchCV(estimator, grid, scoring=auroc,
                          cv=StratifiedKFold(3, shuffle=True, random_state=0))
    search.fit(X, y)
    assert search.best_params_ in list(ParameterGrid(grid))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ == max(search.cv_results_["mean_test_score"])
    assert auroc(search.best_estimator_, X_test, y_test) >= 0.9
    assert search.score(X_test, y_test) == auroc(search.best_estimator_, X_test, y_test)


def _estimator_classes():
    classes = [getattr(astroad_nb.models, name) for name in astroad_nb.models.__all__]
    classes = [c for c in classes if isinstance(c, type) and issubclass(c, BaseEstimator)
               and c is not astroad_nb.models.BaseDetector]
    return [*classes, ALeRCEPreprocessor]


def _changed(value):
    """A valid-looking non-default value of the same kind (clone must carry it over)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
        return tuple(v + 1 if isinstance(v, int) else v / 2 for v in value)
    return value


@pytest.mark.parametrize("cls", _estimator_classes(), ids=lambda c: c.__name__)
def test_clone_keeps_params(cls):
    params = {k: _changed(v) for k, v in cls().get_params(deep=False).items()}
    if "random_state" in params:
        params["random_state"] = 7
    if "detector" in params:  # a nested estimator is cloned too, its params kept
        params["detector"] = IForest(n_estimators=7)
    est = cls(**params)
    copy = clone(est)
    assert copy is not est and type(copy) is cls
    got = copy.get_params(deep=False)
    for name, value in params.items():
        if isinstance(value, BaseEstimator):
            assert got[name] is not value
            assert got[name].get_params() == value.get_params()
        else:
            assert got[name] == value, name


def test_clone_of_fitted_detector_is_unfitted():
    X, _ = labelled_anomalies(0)
    fitted = IForest(n_estimators=10, random_state=0).fit(X)
    with pytest.raises(NotFittedError):
        clone(fitted).score_samples(X)


def test_hierarchical_fit_predict_passes_the_labels_on():
    """OutlierMixin.fit_predict calls fit(X) and would drop y_top: it is overridden."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 4)), 8.0 + rng.normal(size=(60, 4))])
    y_top = np.repeat(["a", "b"], 60)
    model = HierarchicalDetector(classifier=RandomForestClassifier(10, random_state=0),
                                 detector=IForest(n_estimators=10), random_state=0)
    pred = model.fit_predict(X, y_top)
    np.testing.assert_array_equal(pred, clone(model).fit(X, y_top).predict(X))
    assert set(np.unique(pred)) == {-1, 1}
