"""End-to-end reproductions of the published systems, shared by the CLI and the notebooks.

:func:`reproduce_alerce` runs the ALeRCE anomaly detector's protocol on simulated light
curves: simulate the 14 subclasses -> light-curve features -> ALeRCE preprocessing -> seven
detectors -> leave-one-subclass-out AUROC (Table 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from astroad_nb._config import is_fast

__all__ = ["alerce_methods", "AlerceRun", "reproduce_alerce", "ALERCE_METHOD_ORDER"]

ALERCE_METHOD_ORDER = ["IForest", "OCSVM", "AE", "VAE", "Deep SVDD", "MCDSVDD", "VaDE"]


def alerce_methods(*, fast: bool | None = None, device: str = "auto", latent_dim: int = 32,
                   random_state=None) -> dict:
    """The seven detectors of the ALeRCE anomaly paper with the seed's defaults.

    Parameters
    ----------
    fast : bool, optional
        Fewer epochs / trees (tests, CI, Binder). Default: the ``ASTROAD_FAST`` switch.
    device : str
        Torch device for the deep models ("auto" = CUDA when present).
    latent_dim : int
        Latent size of the deep models (the seed uses 32 or 64).
    random_state : int or None

    Returns
    -------
    dict[str, estimator]
        Ordered as :data:`ALERCE_METHOD_ORDER`.
    """
    from astroad_nb.models import (
        OCSVM,
        VAE,
        AutoEncoder,
        DeepSVDD,
        IForest,
        MultiClassDeepSVDD,
        VaDE,
    )

    fast = is_fast() if fast is None else fast
    deep = dict(
        epochs=10 if fast else 200,
        patience=3 if fast else 20,
        batch_size=64 if fast else 128,
        latent_dim=latent_dim,
        device=device,
        random_state=random_state,
    )
    return {
        "IForest": IForest(n_estimators=100 if fast else 500, random_state=random_state),
        "OCSVM": OCSVM(nu=0.1, gamma="scale"),
        "AE": AutoEncoder(**deep),
        "VAE": VAE(**deep),
        "Deep SVDD": DeepSVDD(**deep),
        "MCDSVDD": MultiClassDeepSVDD(**deep),
        "VaDE": VaDE(**deep),
    }


@dataclass
class AlerceRun:
    """Everything :func:`reproduce_alerce` produced (for notebooks that continue from it)."""

    lightcurves: object
    features: pd.DataFrame
    result: object  # evaluation.LOSOResult
    seconds: dict
    config: dict


def reproduce_alerce(*, fast: bool | None = None, n_per_class: int | None = None,
                     n_splits: int | None = None, methods=None, random_state: int = 0,
                     device: str = "auto", verbose: int = 0, n_jobs: int | None = -1) -> AlerceRun:
    """Table 1 of the ALeRCE anomaly detector on simulated ZTF light curves.

    Parameters
    ----------
    fast : bool, optional
        Small sizes that finish in a few minutes on 2 cores (default: ``ASTROAD_FAST``).
    n_per_class : int, optional
        Objects simulated per subclass (default 40 fast, 600 full).
    n_splits : int, optional
        Cross-validation folds (default 3 fast, 5 full as in the paper).
    methods : dict, optional
        Name -> detector; default :func:`alerce_methods`.
    random_state : int
        Seeds the simulation, the folds and every detector.
    device : str
        Torch device for the deep models.
    verbose : int
        1 prints progress bars.
    n_jobs : int or None, default=-1
        Worker processes for the folds (one thread each; -1 = all cores, None = in-process).

    Returns
    -------
    AlerceRun
        ``.result.table()`` is Table 1 (methods x 14 subclasses, mean ± std AUROC).
    """
    from astroad_nb.data.lightcurves import simulate_lightcurves
    from astroad_nb.evaluation import leave_one_subclass_out
    from astroad_nb.features.lightcurves import ALeRCEPreprocessor, extract_features

    fast = is_fast() if fast is None else fast
    n_per_class = n_per_class or (40 if fast else 600)
    n_splits = n_splits or (3 if fast else 5)
    methods = methods or alerce_methods(fast=fast, device=device, random_state=random_state)
    seconds = {}
    t0 = time.perf_counter()
    lcs = simulate_lightcurves(n_per_class, random_state=random_state)
    seconds["simulate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    features = extract_features(lcs)
    seconds["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = leave_one_subclass_out(
        features,
        lcs.meta.loc[features.index, "subclass"].to_numpy(),
        methods,
        preprocessor=ALeRCEPreprocessor(),
        n_splits=n_splits,
        random_state=random_state,
        verbose=verbose,
        n_jobs=None if device not in ("auto", "cpu") else n_jobs,
    )
    seconds["protocol"] = time.perf_counter() - t0
    config = dict(fast=fast, n_per_class=n_per_class, n_splits=n_splits,
                  random_state=random_state, n_objects=len(lcs), n_features=features.shape[1],
                  methods=list(methods))
    return AlerceRun(lightcurves=lcs, features=features, result=result, seconds=seconds,
                     config=config)
