"""scikit-learn's estimator checks over every estimator the package promises them for.

The seven detectors, the hierarchical detector, the feature preprocessor, the real/bogus CNN and
the contextual models (FiLM auto-encoder, per-context detector, context predictor; fitted
without ``context`` they are one-context models), with small settings (tiny networks, one or two epochs, few trees). Every expected failure is
listed below with its reason and is *strict*: a check listed here that passes fails the run, so
the list cannot silently go stale. The networks are pinned to the CPU so that the float32
outcomes measured below do not change with the machine's accelerator.
"""

from functools import partial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import DataConversionWarning, SkipTestWarning
from sklearn.utils.estimator_checks import estimator_checks_generator

from astroad_nb.data.alerts import simulate_triplets
from astroad_nb.features.lightcurves import ALeRCEPreprocessor
from astroad_nb.models import (
    OCSVM,
    VAE,
    AutoEncoder,
    DeepSVDD,
    GANomaly,
    HierarchicalDetector,
    IForest,
    MultiClassDeepSVDD,
    RealBogusCNN,
    VaDE,
)
from astroad_nb.models.context import (
    ContextPredictor,
    FiLMAutoEncoder,
    PerContextDetector,
    frame_autoencoder,
)

TINY = dict(hidden_dims=(16,), latent_dim=2, epochs=2, batch_size=32, random_state=0,
            device="cpu")
TINY_CNN = dict(widths=(4,), epochs=1, batch_size=16, random_state=0, device="cpu")
TINY_CTX = {**TINY, "epochs": 1}  # one epoch keeps the three contextual models under 8 s
TINY_GAN = dict(isize=16, nz=4, ngf=4, ndf=4, epochs=1, batch_size=8, random_state=0,
                device="cpu")


class GANomalyOnTables(GANomaly):
    """GANomaly with scikit-learn's default input tags (2-D arrays).

    GANomaly's own tags say it takes image stacks, not 2-D arrays, so scikit-learn runs only
    ``check_estimator_cloneable`` on it and skips the rest (see
    ``test_ganomaly_tags_make_scikit_learn_skip_tabular_checks``). Declaring 2-D input here
    makes every check run: those that need no data must pass, and those that fit on 2-D X
    are the documented expected failures below.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = False
        return tags


ESTIMATORS = [
    IForest(n_estimators=20, random_state=0),
    OCSVM(),
    AutoEncoder(**TINY),
    VAE(**TINY),
    DeepSVDD(**TINY),
    MultiClassDeepSVDD(**TINY),
    VaDE(n_components=2, **TINY),
    HierarchicalDetector(classifier=RandomForestClassifier(n_estimators=10, random_state=0),
                         detector=IForest(n_estimators=10, random_state=0), random_state=0),
    ALeRCEPreprocessor(),
    RealBogusCNN(**TINY_CNN),
    FiLMAutoEncoder(**TINY_CTX),
    PerContextDetector(frame_autoencoder(**TINY_CTX)),
    ContextPredictor((16,), epochs=1, batch_size=32, lr=1e-2, random_state=0, device="cpu"),
    GANomalyOnTables(**TINY_GAN),
]

# check_methods_subset_invariance compares scores of the full X with scores of one row at a
# time. Measured on this CPU (1 and 2 threads, repeated runs give the same bits): AutoEncoder,
# VAE and VaDE differ by 4.8e-7 to 9.5e-7 on scores of magnitude 4 to 8, above the check's
# 1e-7 + 1e-7 * |score|, so they always fail; DeepSVDD and MultiClassDeepSVDD differ by at most
# 6e-8 on scores below 0.3, under the tolerance, so they pass and are not listed. Fixing it for
# real would mean scoring every row alone, which changes the published full-batch scores.
_FLOAT32 = ("Scores are computed in float32: one row is scored with a matrix-vector kernel and "
            "the full X with a matrix-matrix one, whose sums round differently (|diff| 5e-7 to "
            "1e-6 here), above the check's tolerance of 1e-7 + 1e-7 * |score|.")
_NEEDS_Y = ("fit(X) without the sub-class labels y raises a ValueError on purpose: one centre "
            "per sub-class cannot be placed without them.")
_NEEDS_Y_TOP = ("fit(X) and fit_predict(X) without the top-class labels y_top raise a TypeError "
                "on purpose: the classifier that routes rows cannot be trained without them.")
_Y_TOP_NAME = ("fit's label argument is named y_top (the top classes; y_sub, the sub-classes, "
               "follows) rather than y, so that the two label arrays cannot be swapped.")
_NEEDS_4D = ("RealBogusCNN only takes cutout stacks of shape (N, C, H, W) (CutoutSet or array; "
             "_as_images has no 2-D form), and refuses the check's 2-D X with a ValueError "
             "saying so.")
_LABELS_01 = ("RealBogusCNN's labels are 0 (bogus) and 1 (real) (classes_ is always [0, 1]); "
              "it refuses the check's labels (1 and 2, or class names) with a ValueError saying "
              "so, before reaching the check's 2-D X, which it refuses too.")
_IMAGES = ("GANomaly only takes image stacks of shape (N, C, H, W) (array or ImageSet), and "
           "refuses the check's 2-D X with a ValueError that names the shape it expected.")
_IMAGES_FIRST = ("The check wants an error message about the property it probes (one sample, one "
                 "feature, no feature, NaN/inf, complex or negative values); GANomaly's first "
                 "check on X is its (N, C, H, W) shape, so its ValueError names the shape "
                 "instead.")
_SPARSE = ("Sparse matrices are not images: np.asarray of one is a 0-d object array, refused "
           "with 'expected real-valued pixels, got dtype object' - not a message that says "
           "sparse input is unsupported, as the check wants.")
_OBJECT = ("Object-dtype X is refused ('expected real-valued pixels'), not cast to float as the "
           "check expects; and its X is 2-D, which GANomaly refuses as well.")

EXPECTED_FAILURES = {
    "AutoEncoder": {"check_methods_subset_invariance": _FLOAT32},
    "VAE": {"check_methods_subset_invariance": _FLOAT32},
    "VaDE": {"check_methods_subset_invariance": _FLOAT32},
    "MultiClassDeepSVDD": {
        "check_fit_score_takes_y": _NEEDS_Y,
        "check_outliers_fit_predict": _NEEDS_Y,
        "check_outliers_train": _NEEDS_Y,
    },
    "HierarchicalDetector": {
        "check_fit_score_takes_y": _Y_TOP_NAME,
        "check_outliers_fit_predict": _NEEDS_Y_TOP,
        "check_outliers_train": _NEEDS_Y_TOP,
    },
    "RealBogusCNN": {
        **dict.fromkeys([
            "check_class_weight_classifiers",
            "check_classifiers_train",
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_dtype_object",
            "check_estimators_empty_data_messages",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
            "check_supervised_y_2d",
        ], _NEEDS_4D),
        **dict.fromkeys([
            "check_classifier_data_not_an_array",
            "check_classifiers_classes",
            "check_estimators_dtypes",
        ], _LABELS_01),
    },
    "GANomalyOnTables": {
        **dict.fromkeys([
            "check_classifier_data_not_an_array",
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_estimators_dtypes",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_outliers_fit_predict",
            "check_outliers_train",
            "check_pipeline_consistency",
            "check_readonly_memmap_input",
        ], _IMAGES),
        **dict.fromkeys([
            "check_complex_data",
            "check_estimators_empty_data_messages",
            "check_estimators_nan_inf",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_positive_only_tag_during_fit",
        ], _IMAGES_FIRST),
        **dict.fromkeys([
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_estimator_sparse_tag",
        ], _SPARSE),
        "check_dtype_object": _OBJECT,
    },
}
# ALeRCEPreprocessor passes every check (it declares allow_nan and string input: missing values
# are filled and non-numeric columns dropped by design).


def _check_name(check):
    return check.func.__name__ if isinstance(check, partial) else check.__name__


def _check_id(check):
    kwargs = getattr(check, "keywords", None) or {}
    args = ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    return _check_name(check) + (f"({args})" if args else "")


def _cases():
    for est in ESTIMATORS:
        expected = EXPECTED_FAILURES.get(type(est).__name__, {})
        for estimator, check in estimator_checks_generator(est):
            reason = expected.get(_check_name(check))
            marks = () if reason is None else pytest.mark.xfail(reason=reason, strict=True)
            yield pytest.param(estimator, check, marks=marks,
                               id=f"{type(est).__name__}-{_check_id(check)}")


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_expected_failures_name_checks_that_run():
    """A misspelt or retired check name would never be exercised: each must be generated."""
    by_class = {type(est).__name__: est for est in ESTIMATORS}
    assert set(EXPECTED_FAILURES) <= set(by_class)
    for cls, expected in EXPECTED_FAILURES.items():
        generated = {_check_name(c) for _, c in estimator_checks_generator(by_class[cls])}
        assert set(expected) <= generated, sorted(set(expected) - generated)


# ---------------------------------------------------------------- RealBogusCNN on cutouts
# The checks above cannot reach RealBogusCNN's fit (their X is 2-D); the same contract on
# cutout triplets (N, 3, H, W).


@pytest.fixture(scope="module")
def triplets():
    cutouts = simulate_triplets(8, 8, random_state=0)
    return np.where(cutouts.mask, cutouts.images, np.float32(np.nan)), cutouts.labels


def test_realbogus_contract_on_triplets(triplets):
    X, y = triplets
    est = RealBogusCNN(**TINY_CNN)
    assert est.fit(X, y) is est
    assert clone(est).get_params() == est.get_params()
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(est.predict(X), (proba[:, 1] >= 0.5).astype(np.int64))
    # refitting with the same seed gives the same bits; row order does not matter
    np.testing.assert_array_equal(clone(est).fit(X, y).predict_proba(X), proba)
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(est.predict_proba(X[perm]), proba[perm])
    # one cutout at a time: float32 kernels round differently (measured |diff| 1.2e-7)
    rows = np.vstack([est.predict_proba(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(rows, proba, rtol=0, atol=1e-6)


def test_realbogus_label_validation(triplets):
    X, y = triplets
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        RealBogusCNN(**TINY_CNN).fit(X, y[:, None])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        RealBogusCNN(**TINY_CNN).fit(X, y + 0.5)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        RealBogusCNN(**TINY_CNN).fit(X, np.where(y == 1, "real", "bogus"))
    with pytest.raises(ValueError, match="requires y to be passed"):
        RealBogusCNN(**TINY_CNN).fit(X)


# ---------------------------------------------------------------- GANomaly on images
# The checks above reach GANomaly's fit only with 2-D X, which it refuses; the same contract on
# image stacks (N, C, H, W).


def test_ganomaly_tags_make_scikit_learn_skip_tabular_checks():
    with pytest.warns(SkipTestWarning, match="three_d_array=True"):
        names = [_check_name(c) for _, c in estimator_checks_generator(GANomaly(**TINY_GAN))]
    assert names == ["check_estimator_cloneable"]


def test_ganomaly_contract_on_images():
    X = np.random.default_rng(0).uniform(-1, 1, (24, 3, 16, 16)).astype(np.float32)
    est = GANomaly(**TINY_GAN)
    assert est.fit(X) is est
    assert clone(est).get_params() == est.get_params()
    scores = est.score_samples(X)
    assert scores.shape == (len(X),) and scores.dtype == np.float64
    np.testing.assert_array_equal(est.decision_function(X), scores - est.offset_)
    np.testing.assert_array_equal(est.predict(X), np.where(scores - est.offset_ < 0, -1, 1))
    # refitting with the same seed gives the same bits; order and subsets do not matter
    np.testing.assert_array_equal(clone(est).fit(X).score_samples(X), scores)
    perm = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(est.score_samples(X[perm]), scores[perm])
    rows = np.concatenate([est.score_samples(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(rows, scores, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.score_samples(np.where(X == X.max(), np.nan, X))
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        est.fit(X.reshape(len(X), -1))
