"""astroad_nb.io: every fitted object saves to a folder and loads back identical, without pickle."""

import json
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

import astroad_nb
from astroad_nb import io
from astroad_nb.data.streams import simulate_stream_problem
from astroad_nb.features.lightcurves import ALeRCEPreprocessor
from astroad_nb.features.streams import StreamFeatureScaler, raw_stream_features
from astroad_nb.models import (
    OCSVM,
    VAE,
    AutoEncoder,
    DeepSetsOneClass,
    DeepSVDD,
    HierarchicalDetector,
    IForest,
    MultiClassDeepSVDD,
    RealBogusCNN,
    RecursiveForest,
    VaDE,
)
from astroad_nb.training import History

TORCH = dict(hidden_dims=(8,), latent_dim=2, epochs=2, batch_size=32, random_state=0)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 6))
X_TEST = RNG.normal(size=(40, 6)) * 1.5
Y_SUB = np.array(["RRL", "EB", "CEP"], dtype=object)[RNG.integers(0, 3, len(X))]
Y_TOP = np.array(["periodic", "transient"])[RNG.integers(0, 2, len(X))]

DETECTORS = {
    "IForest": lambda: IForest(n_estimators=10, random_state=0).fit(X),
    "OCSVM": lambda: OCSVM(nu=0.2).fit(X),
    "AutoEncoder": lambda: AutoEncoder(**TORCH).fit(X),
    "VAE": lambda: VAE(**TORCH).fit(X),
    "DeepSVDD": lambda: DeepSVDD(**TORCH, pretrain_epochs=1).fit(X),
    "MultiClassDeepSVDD": lambda: MultiClassDeepSVDD(**TORCH).fit(X, Y_SUB),
    "VaDE": lambda: VaDE(**TORCH, n_components=2).fit(X),
    "HierarchicalDetector": lambda: HierarchicalDetector(
        classifier=RandomForestClassifier(n_estimators=10), detector=IForest(n_estimators=5),
        detectors={"transient": OCSVM()}, random_state=0).fit(X, Y_TOP),
}
NUMPY_SCORED = {"IForest", "OCSVM", "HierarchicalDetector"}


def params_of(obj):
    """get_params(deep=True) with nested estimators compared by class (deep=True expands their
    params), also inside lists (Pipeline steps) and dicts (HierarchicalDetector.detectors)."""
    def plain(v):
        if hasattr(v, "get_params"):
            return type(v)
        if isinstance(v, (list, tuple)):
            return type(v)(plain(x) for x in v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in obj.get_params().items()}


def assert_same_object(loaded, original):
    assert type(loaded) is type(original)
    if hasattr(original, "get_params"):
        assert params_of(loaded) == params_of(original)
    for name in ("history_", "fine_tune_history_"):
        if hasattr(original, name) and not isinstance(getattr(original, name), pd.DataFrame):
            history = getattr(original, name)
            restored = getattr(loaded, name)
            assert isinstance(restored, History) and restored == history
            assert restored.stages.keys() == history.stages.keys()


def assert_no_pickle(folder):
    """Every file reads with a loader that refuses pickles."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for file in files:
        if file.suffix == ".json":
            json.loads(file.read_text())
        elif file.suffix == ".npy":
            np.load(file, allow_pickle=False)
        elif file.suffix == ".pt":
            torch.load(file, weights_only=True)
        else:
            raise AssertionError(f"unexpected file {file}")


@pytest.fixture(scope="module")
def detectors():
    return {name: make() for name, make in DETECTORS.items()}


@pytest.fixture(scope="module")
def problem():
    return simulate_stream_problem(n_members=30, n_support=8, foreground_factor=8,
                                   random_state=2)


@pytest.fixture(scope="module")
def deepsets(problem):
    model = DeepSetsOneClass(width=8, n_layers=2, epochs=2, steps_per_epoch=3,
                             episodes_per_batch=2, queries_per_episode=8, fine_tune_epochs=1,
                             fine_tune_steps=2, random_state=0)
    return model.meta_fit([problem]).fine_tune(problem)


@pytest.fixture(scope="module")
def features():
    frame = pd.DataFrame(RNG.lognormal(size=(80, 4)), columns=["Period", "Amp", "Eta", "Std"])
    frame["objectId"] = [f"ZTF{i}" for i in range(len(frame))]
    frame["constant"] = 1.0
    frame.loc[3, "Amp"] = np.nan
    return frame


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", DETECTORS)
def test_detector_round_trip(detectors, name, tmp_path):
    model = detectors[name]
    loaded = astroad_nb.load(model.save(tmp_path / name))
    assert_same_object(loaded, model)
    if name in NUMPY_SCORED:
        assert np.array_equal(loaded.score_samples(X_TEST), model.score_samples(X_TEST))
    else:
        np.testing.assert_allclose(loaded.score_samples(X_TEST), model.score_samples(X_TEST),
                                   rtol=0, atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X_TEST), model.predict(X_TEST))
    assert_no_pickle(tmp_path / name)


def test_hierarchical_keeps_templates_and_children(detectors, tmp_path):
    model = detectors["HierarchicalDetector"]
    loaded = type(model).load(model.save(tmp_path / "h"))
    assert isinstance(loaded.classifier, RandomForestClassifier)
    assert loaded.classifier.n_estimators == 10 and loaded.detector.n_estimators == 5
    assert isinstance(loaded.detectors["transient"], OCSVM)
    assert {type(d) for d in loaded.detectors_.values()} == {IForest, OCSVM}
    assert np.array_equal(loaded.predict_proba(X_TEST), model.predict_proba(X_TEST))


def test_real_bogus_cnn_round_trip(tmp_path):
    from astroad_nb.data.alerts import simulate_triplets

    data = simulate_triplets(10, 10, random_state=0)
    model = RealBogusCNN(widths=(4, 8), epochs=2, batch_size=8, random_state=0).fit(data)
    loaded = astroad_nb.load(model.save(tmp_path / "rb"), device="cpu")
    assert loaded.device == "cpu"
    loaded.set_params(device=model.device)
    assert_same_object(loaded, model)
    np.testing.assert_allclose(loaded.predict_proba(data), model.predict_proba(data), atol=1e-6)
    assert loaded.image_shape_ == model.image_shape_
    assert loaded.history_.eval_scores == model.history_.eval_scores
    assert_no_pickle(tmp_path / "rb")


def test_deepsets_round_trip(deepsets, problem, tmp_path):
    loaded = DeepSetsOneClass.load(deepsets.save(tmp_path / "ds"))
    assert_same_object(loaded, deepsets)
    assert loaded.feature_names_in_ == deepsets.feature_names_in_
    np.testing.assert_allclose(loaded.score_problem(problem).to_numpy(),
                               deepsets.score_problem(problem).to_numpy(), atol=1e-6)
    assert_no_pickle(tmp_path / "ds")


@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
def test_recursive_forest_round_trip(problem, tmp_path):
    forest = RecursiveForest(n_estimators=5, max_rounds=2, negatives_per_positive=5,
                             random_state=0).fit(problem)
    loaded = astroad_nb.load(forest.save(tmp_path / "rf"))
    assert_same_object(loaded, forest)
    Xf = np.random.default_rng(1).normal(size=(30, 10))
    assert np.array_equal(loaded.predict_proba(Xf), forest.predict_proba(Xf))
    pd.testing.assert_series_equal(loaded.proba_, forest.proba_, check_index_type=False)
    pd.testing.assert_frame_equal(loaded.history_, forest.history_)
    assert loaded.members_.equals(forest.members_) and loaded.n_rounds_ == forest.n_rounds_
    assert loaded.feature_names_in_ == forest.feature_names_in_
    assert_no_pickle(tmp_path / "rf")


def test_stream_feature_scaler_round_trip(problem, tmp_path):
    raw = raw_stream_features(problem.field)
    scaler = StreamFeatureScaler().fit(raw)
    loaded = astroad_nb.load(astroad_nb.save(scaler, tmp_path / "scaler"))
    assert type(loaded) is StreamFeatureScaler
    pd.testing.assert_frame_equal(loaded.transform(raw), scaler.transform(raw), check_exact=True)


def test_alerce_preprocessor_round_trip(features, tmp_path):
    pre = ALeRCEPreprocessor(quantile_range=(0.1, 0.9)).fit(features)
    loaded = io.load(io.save(pre, tmp_path / "pre"), expected=ALeRCEPreprocessor)
    assert_same_object(loaded, pre)
    assert loaded.quantile_range == (0.1, 0.9)  # the tuple stays a tuple
    assert loaded.dropped_features_ == pre.dropped_features_
    pd.testing.assert_frame_equal(loaded.transform(features), pre.transform(features),
                                  check_exact=True)
    assert_no_pickle(tmp_path / "pre")


def test_pipeline_round_trip(features, tmp_path):
    pipe = Pipeline([("pre", ALeRCEPreprocessor()), ("svdd", DeepSVDD(**TORCH))]).fit(features)
    loaded = astroad_nb.load(astroad_nb.save(pipe, tmp_path / "pipe"))
    assert type(loaded) is Pipeline and list(loaded.named_steps) == ["pre", "svdd"]
    assert [type(s) for _, s in loaded.steps] == [ALeRCEPreprocessor, DeepSVDD]
    assert params_of(loaded) == params_of(pipe)
    np.testing.assert_allclose(loaded.score_samples(features), pipe.score_samples(features),
                               rtol=0, atol=1e-6)
    assert (tmp_path / "pipe" / "steps" / "1" / "network.pt").is_file()
    assert_no_pickle(tmp_path / "pipe")


def test_pipeline_of_foreign_steps_is_refused(tmp_path):
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler()), ("iforest", IForest(n_estimators=5))]).fit(X)
    with pytest.raises(io.UnsavableError, match="StandardScaler"):
        astroad_nb.save(pipe, tmp_path / "pipe")


def test_random_state_object_is_refused(tmp_path):
    model = IForest(n_estimators=5, random_state=np.random.RandomState(0)).fit(X)
    with pytest.raises(TypeError, match="int random_state"):
        model.save(tmp_path / "m")


# ------------------------------------------------------------------ errors
@pytest.fixture
def saved_ae(detectors, tmp_path):
    return detectors["AutoEncoder"].save(tmp_path / "ae")


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_other_major_version_is_refused(saved_ae):
    _edit_config(saved_ae, astroad_nb_version="1.0.0")
    with pytest.raises(io.VersionMismatchError, match=r"ae was saved by astroad_nb 1\.0\.0"):
        astroad_nb.load(saved_ae)


@pytest.mark.parametrize("file", ["network.pt", "x_mean_.npy"])
def test_truncated_file_is_detected(saved_ae, file):
    data = (saved_ae / file).read_bytes()
    (saved_ae / file).write_bytes(data[: len(data) // 2])
    with pytest.raises(io.CorruptFileError, match=rf"{file} does not match the sha256"):
        astroad_nb.load(saved_ae)


def test_missing_file_is_detected(saved_ae):
    (saved_ae / "x_scale_.npy").unlink()
    with pytest.raises(io.CorruptFileError, match=r"x_scale_\.npy is missing"):
        astroad_nb.load(saved_ae)


def test_tampered_config_is_detected(saved_ae):
    config = json.loads((saved_ae / "config.json").read_text())
    _edit_config(saved_ae, params={**config["params"], "latent_dim": 3})
    with pytest.raises(io.CorruptFileError, match="config.json was modified"):
        astroad_nb.load(saved_ae)


def test_unknown_kind_is_refused_without_importing_it(saved_ae):
    _edit_config(saved_ae, kind="astroad_evil_module.Payload")
    with pytest.raises(io.UnknownKindError, match="astroad_evil_module.Payload"):
        astroad_nb.load(saved_ae)
    assert "astroad_evil_module" not in sys.modules


def test_expected_kind_mismatch(detectors, tmp_path):
    path = detectors["IForest"].save(tmp_path / "m")
    with pytest.raises(io.KindMismatchError, match="holds a 'IForest', not a AutoEncoder"):
        astroad_nb.load(path, expected=AutoEncoder)
    with pytest.raises(io.KindMismatchError):
        AutoEncoder.load(path)
    assert type(astroad_nb.load(path, expected=IForest)) is IForest


def test_missing_config_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        astroad_nb.load(tmp_path / "nothing")
    with pytest.raises(io.MissingConfigError):
        astroad_nb.load(tmp_path)


def test_earlier_layout_still_loads(detectors, tmp_path):
    """Folders written before astroad_nb.io (arrays.npz + weights.pt, no checksums) load."""
    model = detectors["OCSVM"]
    folder = tmp_path / "legacy"
    folder.mkdir()
    np.savez(folder / "arrays.npz", **{k: getattr(model, k) for k in (
        "support_vectors_", "dual_coef_", "x_mean_", "x_scale_")})
    (folder / "config.json").write_text(json.dumps({
        "astroad_nb_version": astroad_nb.__version__, "class": "OCSVM",
        "params": model.get_params(), "feature_names_in": None, "n_features_in": 6,
        "offset": model.offset_, "attrs": {"gamma_": model.gamma_, "n_iter_": model.n_iter_}}))
    with pytest.warns(io.LegacyFormatWarning, match="save it again"):
        loaded = OCSVM.load(folder)
    assert np.array_equal(loaded.score_samples(X_TEST), model.score_samples(X_TEST))
    loaded.save(folder)  # upgrade in place
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(astroad_nb.load(folder).decision_function(X_TEST),
                              model.decision_function(X_TEST))
