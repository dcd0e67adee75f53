"""Contract tests of every detector in astroad_nb.models."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.svm import OneClassSVM

import astroad_nb
from astroad_nb.models import (
    OCSVM,
    VAE,
    AutoEncoder,
    BaseDetector,
    DeepSVDD,
    IForest,
    MultiClassDeepSVDD,
    VaDE,
    load_detector,
)
from astroad_nb.training import History

N_FEATURES = 10
SMALL = dict(hidden_dims=(64, 32), latent_dim=4, epochs=30, batch_size=64, lr=3e-3,
             random_state=0)


def simulate(n_inliers=900, n_anomalies=60, seed=0):
    """Inliers on three 2-d planes (one per subclass) + small noise; anomalies off the planes.

    Returns X_train (inliers), sub-class labels, X_test, y_test (1 = anomaly).
    """
    rng = np.random.default_rng(seed)
    bases = rng.normal(size=(3, 2, N_FEATURES))
    centres = 4.0 * rng.normal(size=(3, N_FEATURES))

    def inliers(n):
        k = rng.integers(0, 3, n)
        t = rng.normal(size=(n, 2))
        return np.einsum("nk,nkd->nd", t, bases[k]) + centres[k] \
            + 0.1 * rng.normal(size=(n, N_FEATURES)), k

    X, k = inliers(n_inliers)
    X_in, _ = inliers(300)
    off_plane = inliers(n_anomalies // 2)[0] + 2.5 * rng.normal(size=(n_anomalies // 2, N_FEATURES))
    lo, hi = X.min(0), X.max(0)
    uniform = rng.uniform(lo, hi, size=(n_anomalies - n_anomalies // 2, N_FEATURES))
    X_test = np.vstack([X_in, off_plane, uniform])
    y_test = np.r_[np.zeros(len(X_in)), np.ones(n_anomalies)]
    return X, k, X_test, y_test


DATA = simulate()


def make(cls, **kw):
    if cls in (IForest,):
        return IForest(random_state=0, **kw)
    if cls is OCSVM:
        return OCSVM(**kw)
    if cls is VaDE:
        return VaDE(n_components=3, **{**SMALL, **kw})
    return cls(**{**SMALL, **kw})


def fit(model, X=None):
    X = DATA[0] if X is None else X
    if isinstance(model, MultiClassDeepSVDD):
        return model.fit(X, DATA[1][: len(X)])
    return model.fit(X)


ALL = [IForest, OCSVM, AutoEncoder, VAE, DeepSVDD, MultiClassDeepSVDD, VaDE]
DEEP = [AutoEncoder, VAE, DeepSVDD, MultiClassDeepSVDD, VaDE]


@pytest.fixture(scope="module")
def fitted():
    return {cls: fit(make(cls)) for cls in ALL}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_shapes_signs_and_threshold(fitted, cls):
    model = fitted[cls]
    X, _, X_test, _ = DATA
    s = model.score_samples(X_test)
    assert s.shape == (len(X_test),) and s.dtype == np.float64 and np.isfinite(s).all()
    np.testing.assert_array_equal(model.anomaly_score(X_test), -s)
    np.testing.assert_allclose(model.decision_function(X_test), s - model.offset_)
    pred = model.predict(X_test)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_array_equal(pred, np.where(model.decision_function(X_test) < 0, -1, 1))
    flagged = np.mean(model.predict(X) == -1)
    assert abs(flagged - model.contamination) <= 0.02


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_auroc_floor_on_simulated_anomalies(fitted, cls):
    _, _, X_test, y_test = DATA
    assert roc_auc_score(y_test, fitted[cls].anomaly_score(X_test)) >= 0.9


@pytest.mark.parametrize("cls", DEEP, ids=lambda c: c.__name__)
def test_history_recorded(fitted, cls):
    history = fitted[cls].history_
    assert isinstance(history, History)
    for stage in [history, *history.stages.values()]:
        assert stage.epochs_run >= 1 and len(stage.train_loss) == stage.epochs_run
        assert stage.to_frame().shape[0] == stage.epochs_run


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_same_random_state_same_scores(fitted, cls):
    X, _, X_test, _ = DATA
    kw = {"epochs": 3} if cls in DEEP else {}
    a = fit(make(cls, **kw), X[:300]).score_samples(X_test)
    b = fit(make(cls, **kw), X[:300]).score_samples(X_test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", DEEP, ids=lambda c: c.__name__)
def test_bf16_mixed_precision_training_matches_fp32_quality(fitted, cls):
    _, _, X_test, y_test = DATA
    model = fit(make(cls, precision="bf16"))
    scores = model.anomaly_score(X_test)
    assert scores.dtype == np.float64 and np.isfinite(scores).all()
    auc_bf16 = roc_auc_score(y_test, scores)
    auc_fp32 = roc_auc_score(y_test, fitted[cls].anomaly_score(X_test))
    assert auc_bf16 >= auc_fp32 - 0.02, (auc_bf16, auc_fp32)
    assert not np.array_equal(scores, fitted[cls].anomaly_score(X_test))  # bf16 really ran


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="precision must be one of"):
        fit(make(AutoEncoder, precision="fp16"))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_save_load_round_trip(fitted, cls, tmp_path, monkeypatch):
    model = fitted[cls]
    _, _, X_test, _ = DATA
    model.save(tmp_path / "m")
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    loaded = load_detector(tmp_path / "m")
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.score_samples(X_test), model.score_samples(X_test))
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert loaded.get_params() == {k: tuple(v) if isinstance(v, list) else v
                                   for k, v in model.get_params().items()}
    assert calls == ([True] if cls in DEEP else [])
    assert cls.load(tmp_path / "m").offset_ == model.offset_
    if cls in DEEP:  # the training history travels with the weights
        histories = model.history_ if isinstance(model.history_, dict) else {"": model.history_}
        restored = (loaded.history_ if isinstance(loaded.history_, dict)
                    else {"": loaded.history_})
        assert restored.keys() == histories.keys()
        for name, history in histories.items():
            assert restored[name] == history


def test_load_with_wrong_class_raises(fitted, tmp_path):
    fitted[IForest].save(tmp_path / "m")
    with pytest.raises(ValueError, match="holds a 'IForest', not a AutoEncoder"):
        AutoEncoder.load(tmp_path / "m")


def test_tampered_version_raises(fitted, tmp_path):
    path = fitted[AutoEncoder].save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["astroad_nb_version"] = "99.0.0"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="incompatible with the installed"):
        load_detector(path)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_detector(tmp_path / "nothing")


def test_config_records_version_and_feature_names(tmp_path):
    X = pd.DataFrame(DATA[0][:200], columns=[f"f{i}" for i in range(N_FEATURES)])
    path = IForest(n_estimators=10, random_state=0).fit(X).save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    assert config["astroad_nb_version"] == astroad_nb.__version__
    assert config["kind"] == "astroad_nb.models.classic.IForest"
    assert config["attrs"]["n_features_in"] == N_FEATURES
    assert config["feature_names_in"] == list(X.columns)
    assert config["params"]["n_estimators"] == 10


@pytest.mark.parametrize("cls", [IForest, AutoEncoder], ids=lambda c: c.__name__)
def test_dataframe_feature_names_kept_and_checked(cls, tmp_path):
    cols = [f"feat_{i}" for i in range(N_FEATURES)]
    X = pd.DataFrame(DATA[0][:300], columns=cols)
    model = fit(make(cls, **({"epochs": 2} if cls in DEEP else {})), X)
    np.testing.assert_array_equal(model.feature_names_in_, cols)
    # columns are matched by name, so a reordered frame is an error, not a silent mix-up
    with pytest.raises(ValueError, match="feature names"):
        model.score_samples(X[cols[::-1]])
    renamed = X.rename(columns={"feat_0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        model.score_samples(renamed)
    model.save(tmp_path / "m")
    loaded = load_detector(tmp_path / "m", feature_names=cols)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    with pytest.raises(ValueError, match="Feature names differ"):
        load_detector(tmp_path / "m", feature_names=["other", *cols[1:]])
    with pytest.raises(ValueError, match="order differs"):
        load_detector(tmp_path / "m", feature_names=cols[::-1])
    with pytest.raises(ValueError, match="feature names"):
        loaded.score_samples(renamed)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_nan_input_gives_clear_error(fitted, cls):
    X = DATA[0][:50].copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="row 3, column 2 is NaN.*preprocessor"):
        fit(make(cls, epochs=1) if cls in DEEP else make(cls), X)
    with pytest.raises(ValueError, match="NaN"):
        fitted[cls].score_samples(X)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_clone_gives_unfitted_copy_with_same_params(fitted, cls):
    copy = clone(fitted[cls])
    assert copy.get_params() == fitted[cls].get_params()
    assert not hasattr(copy, "offset_")


@pytest.mark.parametrize("contamination", [0.0, 0.7, "auto"])
def test_bad_contamination_raises(contamination):
    with pytest.raises(ValueError, match="contamination"):
        IForest(contamination=contamination).fit(DATA[0][:50])


def test_iforest_matches_scikit_learn():
    X, _, X_test, _ = DATA
    ours = IForest(n_estimators=50, random_state=3).fit(X)
    ref = IsolationForest(n_estimators=50, random_state=3).fit(X)
    np.testing.assert_allclose(ours.score_samples(X_test), ref.score_samples(X_test), rtol=1e-12)


def test_ocsvm_matches_scikit_learn():
    X, _, X_test, _ = DATA
    ours = OCSVM(nu=0.2, standardize=False).fit(X)
    ref = OneClassSVM(nu=0.2).fit(X)
    np.testing.assert_allclose(ours.score_samples(X_test), ref.score_samples(X_test),
                               rtol=1e-9, atol=1e-9)


def test_multiclass_svdd_needs_labels():
    with pytest.raises(ValueError, match=r"fit\(X, y\)"):
        MultiClassDeepSVDD(**SMALL).fit(DATA[0])


def test_multiclass_svdd_centres_per_subclass(fitted):
    model = fitted[MultiClassDeepSVDD]
    X, k, _, _ = DATA
    assert model.centers_.shape == (3, SMALL["latent_dim"])
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert np.mean(model.nearest_class(X) == k) > 0.9


def test_multiclass_svdd_string_labels_save(tmp_path):
    X, k, X_test, _ = DATA
    labels = np.array(["RRL", "CEP", "EB"], dtype=object)[k]
    model = MultiClassDeepSVDD(**{**SMALL, "epochs": 2}).fit(X, labels)
    loaded = load_detector(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.classes_, ["CEP", "EB", "RRL"])
    np.testing.assert_array_equal(loaded.nearest_class(X_test), model.nearest_class(X_test))


def test_deep_svdd_centre_away_from_zero(fitted):
    assert np.all(np.abs(fitted[DeepSVDD].centers_) >= 0.1 - 1e-7)


def test_deep_svdd_encoder_has_no_bias_and_no_affine_batchnorm(fitted):
    for layer in fitted[DeepSVDD].network_.encoder:
        assert getattr(layer, "bias", None) is None


def test_vade_clusters_follow_subclasses(fitted):
    from sklearn.metrics import adjusted_rand_score

    X, k, _, _ = DATA
    assert adjusted_rand_score(k, fitted[VaDE].predict_cluster(X)) > 0.8


def test_deep_models_do_not_touch_global_rng():
    before = torch.get_rng_state().clone()
    np_before = np.random.get_state()[1].copy()
    VAE(**{**SMALL, "epochs": 1}).fit(DATA[0][:200])
    assert torch.equal(before, torch.get_rng_state())
    np.testing.assert_array_equal(np_before, np.random.get_state()[1])


def test_base_detector_is_sklearn_outlier_detector():
    from sklearn.base import is_outlier_detector

    assert all(is_outlier_detector(cls()) for cls in ALL)
    assert issubclass(AutoEncoder, BaseDetector)


# ---------------------------------------------------------------- the seed's options (issue 9)
def test_vae_reconstruction_score_is_deterministic_and_detects_anomalies():
    X, _, X_test, y_test = DATA
    vae = make(VAE, score_type="reconstruction").fit(X)
    s1, s2 = vae.anomaly_score(X_test), vae.anomaly_score(X_test)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(vae.anomaly_score(X_test[:7]), s1[:7], rtol=1e-5)  # row-wise
    assert roc_auc_score(y_test, s1) > 0.8
    assert (s1 >= 0).all()  # a mean squared error
    with pytest.raises(ValueError, match="score_type"):
        make(VAE, score_type="elbow").fit(X)


def test_deep_svdd_seed_variant_keeps_hidden_biases_and_a_bias_free_latent_layer():
    X, k, _, _ = DATA
    model = make(MultiClassDeepSVDD, bias=True, eps=0.01, epochs=3).fit(X, k)
    layers = list(model.network_.encoder)
    assert layers[-1].bias is None
    assert any(getattr(layer, "affine", False) for layer in layers)  # BatchNorm shift kept
    assert np.all(np.abs(model.centers_) >= 0.01 - 1e-7)


def test_balanced_sampler_needs_labels_and_changes_training():
    from astroad_nb.models.base import balanced_sample_weight

    X, k, _, _ = DATA
    np.testing.assert_allclose(balanced_sample_weight([0, 0, 0, 1]), [1 / 3, 1 / 3, 1 / 3, 1])
    assert balanced_sample_weight(None) is None
    plain = make(AutoEncoder, epochs=2).fit(X, k)
    same = make(AutoEncoder, epochs=2, balanced=True).fit(X)  # no y: nothing to balance
    balanced = make(AutoEncoder, epochs=2, balanced=True).fit(X, k)
    np.testing.assert_array_equal(plain.anomaly_score(X), same.anomaly_score(X))
    assert not np.array_equal(plain.anomaly_score(X), balanced.anomaly_score(X))


def test_a_detector_without_hooks_is_refused_where_it_is_defined():
    from astroad_nb.models.base import BaseDetector

    with pytest.raises(TypeError, match=r"Bare must implement _fit\(X, y\) \(or an override "
                                        r"of fit\) and _score\(X\)"):
        class Bare(BaseDetector):
            pass

    class OwnFit(BaseDetector):  # a detector with its own fit still needs the scores
        def fit(self, X, y=None):
            return self

        def _score(self, X):
            return -np.abs(X).sum(axis=1)

    assert isinstance(OwnFit().fit(np.zeros((4, 2))), OwnFit)  # defined and usable
