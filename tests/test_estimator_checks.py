"""scikit-learn's estimator checks over every detector (small networks, few epochs)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from astroad_nb.models import OCSVM, VAE, AutoEncoder, DeepSVDD, IForest, MultiClassDeepSVDD, VaDE

TINY = dict(hidden_dims=(16,), latent_dim=2, epochs=2, batch_size=32, random_state=0)

ESTIMATORS = [
    IForest(n_estimators=20, random_state=0),
    OCSVM(),
    AutoEncoder(**TINY),
    VAE(**TINY),
    DeepSVDD(**TINY),
    MultiClassDeepSVDD(**TINY),
    VaDE(n_components=2, **TINY),
]

_FLOAT32 = ("Scores are computed in float32 (fast matrix products); scoring a subset of rows "
            "changes the kernels' blocking and so the last bits (|diff| ~ 5e-7), above the "
            "check's atol=1e-7.")
_NEEDS_Y = ("fit(X) without the sub-class labels y raises a ValueError on purpose: one centre "
            "per sub-class cannot be placed without them.")
EXPECTED_FAILURES = {
    "AutoEncoder": {"check_methods_subset_invariance": _FLOAT32},
    "VAE": {"check_methods_subset_invariance": _FLOAT32},
    "VaDE": {"check_methods_subset_invariance": _FLOAT32},
    # The SVDDs pass it on this CPU by luck of rounding; other BLAS/GPUs may not (xfail is
    # not strict, so a pass is fine).
    "DeepSVDD": {"check_methods_subset_invariance": _FLOAT32},
    "MultiClassDeepSVDD": {
        "check_methods_subset_invariance": _FLOAT32,
        "check_fit_score_takes_y": _NEEDS_Y,
        "check_outliers_fit_predict": _NEEDS_Y,
        "check_outliers_train": _NEEDS_Y,
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
