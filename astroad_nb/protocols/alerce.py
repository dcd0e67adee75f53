"""System 1, the ALeRCE anomaly detector: Table 1 on simulated ZTF light curves.

Steps (each a public function that notebook 01 calls cell by cell):
:func:`simulate` the 14 subclasses -> :func:`features` (light-curve features) ->
:func:`methods` (the seven detectors of a preset) -> :func:`table1` (ALeRCE preprocessing
inside each fold, leave-one-subclass-out AUROC); :func:`run` chains them.

Differences from the seed
-------------------------
- ``"fast"`` and ``"full"`` train the deep models with our defaults (Adam 1e-3, batch 64/128,
  10/200 epochs, patience 3/20); ``"seed"`` uses the seed's (Adam 1e-4, batch 1024, up to 10,000
  epochs with patience 100, IForest max_samples 256, OCSVM nu 0.01).
- The seed's banned brightness features and its class-balanced sampler are the fidelity
  issue's (#9) and not yet applied by any preset.
"""

from __future__ import annotations

import dataclasses
import time

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["AlercePreset", "PRESETS", "METHOD_ORDER", "preset", "simulate", "features",
           "methods", "table1", "run"]

NAME = "alerce"
TITLE = "ALeRCE anomaly detector: leave-one-subclass-out AUROC (Table 1)"

#: The seven detectors in the seed's order.
METHOD_ORDER = ("IForest", "OCSVM", "AE", "VAE", "Deep SVDD", "MCDSVDD", "VaDE")


@dataclasses.dataclass(frozen=True)
class AlercePreset(Preset):
    """Sizes and hyper-parameters of the Table 1 protocol.

    Attributes
    ----------
    n_per_class : int
        Simulated objects per subclass (14 subclasses).
    n_splits : int
        Cross-validation folds.
    epochs, patience, batch_size, lr, latent_dim : deep models' training.
    iforest_trees : int
    iforest_max_samples : int or "auto"
    ocsvm_nu : float
    methods : tuple of str
        Which of :data:`METHOD_ORDER` to run.
    n_real_curves : int or None
        Real light curves per survey set that notebook 01's real-data section reads
        (None: all).
    """

    n_per_class: int = 40
    n_splits: int = 3
    epochs: int = 10
    patience: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    latent_dim: int = 32
    iforest_trees: int = 100
    iforest_max_samples: object = "auto"
    ocsvm_nu: float = 0.1
    methods: tuple = METHOD_ORDER
    n_real_curves: object = 150


PRESETS = {
    "fast": AlercePreset(name="fast"),
    "full": AlercePreset(name="full", n_per_class=600, n_splits=5, epochs=200, patience=20,
                         batch_size=128, iforest_trees=500, n_real_curves=None),
    "seed": AlercePreset(name="seed", n_per_class=600, n_splits=5, epochs=10_000, patience=100,
                         batch_size=1024, lr=1e-4, iforest_trees=100, iforest_max_samples=256,
                         ocsvm_nu=0.01, n_real_curves=None),
}


#: The fields that set sizes (not the science): ``--preset seed --fast`` takes these from "fast".
SIZE_FIELDS = ("n_per_class", "n_splits", "epochs", "patience", "n_real_curves")


def preset(name=None, **overrides) -> AlercePreset:
    """A named preset (default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``), with overrides."""
    return resolve_preset(PRESETS, name, **overrides)


def simulate(p: AlercePreset, *, random_state=0):
    """Step 1: the 14 ALeRCE subclasses, ``p.n_per_class`` light curves each (g, r).

    Returns
    -------
    LightCurves
        ``.meta`` has ``subclass`` and ``top_class`` per object.
    """
    from astroad_nb.data.lightcurves import simulate_lightcurves

    return simulate_lightcurves(p.n_per_class, random_state=random_state)


def features(lightcurves):
    """Step 2: ALeRCE-named light-curve features (a DataFrame indexed by object id)."""
    from astroad_nb.features.lightcurves import extract_features

    return extract_features(lightcurves)


def methods(p: AlercePreset, *, device="auto", random_state=0) -> dict:
    """Step 3: the preset's detectors, unfitted, ordered as :data:`METHOD_ORDER`.

    Returns
    -------
    dict[str, estimator]
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

    unknown = [m for m in p.methods if m not in METHOD_ORDER]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHOD_ORDER)}.")
    deep = dict(epochs=p.epochs, patience=p.patience, batch_size=p.batch_size, lr=p.lr,
                latent_dim=p.latent_dim, device=device, random_state=random_state)
    build = {
        "IForest": lambda: IForest(n_estimators=p.iforest_trees,
                                   max_samples=p.iforest_max_samples, random_state=random_state),
        "OCSVM": lambda: OCSVM(nu=p.ocsvm_nu, gamma="scale"),
        "AE": lambda: AutoEncoder(**deep),
        "VAE": lambda: VAE(**deep),
        "Deep SVDD": lambda: DeepSVDD(**deep),
        "MCDSVDD": lambda: MultiClassDeepSVDD(**deep),
        "VaDE": lambda: VaDE(**deep),
    }
    return {m: build[m]() for m in METHOD_ORDER if m in p.methods}


def table1(features, subclass, detectors, p: AlercePreset, *, random_state=0, n_jobs=-1,
           verbose=0):
    """Step 4: leave-one-subclass-out AUROC with ALeRCE preprocessing fitted inside each fold.

    Parameters
    ----------
    features : DataFrame of shape (n_objects, n_features)
    subclass : array-like of shape (n_objects,)
    detectors : dict[str, estimator]
        From :func:`methods`.
    p : AlercePreset
    random_state : int
    n_jobs : int or None, default=-1
        Worker processes for the folds (identical results for any value).
    verbose : int

    Returns
    -------
    evaluation.LOSOResult
        ``.mean`` / ``.std`` (methods x subclasses), ``.by_top_class()``, ``.table()``.
    """
    from astroad_nb.evaluation import leave_one_subclass_out
    from astroad_nb.features.lightcurves import ALeRCEPreprocessor

    return leave_one_subclass_out(features, subclass, detectors,
                                  preprocessor=ALeRCEPreprocessor(), n_splits=p.n_splits,
                                  random_state=random_state, verbose=verbose, n_jobs=n_jobs)


def run(preset=None, *, random_state=0, device="auto", n_jobs=-1, verbose=0,
        **overrides) -> Run:
    """Table 1 end to end: simulate -> features -> seven detectors -> LOSO AUROC.

    Parameters
    ----------
    preset : {"fast", "full", "seed"} or AlercePreset, optional
        Default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``.
    random_state : int, default=0
        Seeds the simulation, the folds and every detector.
    device : str, default="auto"
        Torch device of the deep models; on a GPU the folds run in-process.
    n_jobs : int or None, default=-1
        Worker processes for the folds.
    verbose : int, default=0
    **overrides
        Preset fields to change (``n_per_class=20``, ``methods=("IForest",)``, ...).

    Returns
    -------
    Run
        Tables ``mean`` (headline: methods x subclasses), ``std``, ``top_class`` (mean AUROC
        per method and top class), ``folds``; objects ``lightcurves``, ``features``,
        ``result`` (the LOSOResult).
    """
    p = resolve_preset(PRESETS, preset, **overrides)
    seconds = {}
    t0 = time.perf_counter()
    lcs = simulate(p, random_state=random_state)
    seconds["simulate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = features(lcs)
    seconds["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    subclass = lcs.meta.loc[feats.index, "subclass"].to_numpy()
    result = table1(feats, subclass, methods(p, device=device, random_state=random_state), p,
                    random_state=random_state, verbose=verbose,
                    n_jobs=None if device not in ("auto", "cpu") else n_jobs)
    seconds["protocol"] = time.perf_counter() - t0
    config = dict(random_state=random_state, n_objects=len(lcs), n_features=feats.shape[1],
                  top_class=dict(result.top_class))
    title = (f"{TITLE}: mean ± std over {p.n_splits} folds, {len(lcs)} simulated objects, "
             f"{feats.shape[1]} features, preset {p.name!r}")
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="mean",
               tables={"mean": result.mean, "std": result.std,
                       "top_class": result.by_top_class(), "folds": result.folds},
               config=config, seconds=seconds,
               objects={"lightcurves": lcs, "features": feats, "result": result})
