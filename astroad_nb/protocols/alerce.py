"""System 1, the ALeRCE anomaly detector: Table 1 on simulated ZTF light curves.

Steps (each a public function that notebook 01 calls cell by cell):
:func:`simulate` the 14 subclasses -> :func:`features` (light-curve features) ->
:func:`feature_columns` (the seed's brightness features banned) -> :func:`methods` (the seven
detectors of a preset) -> :func:`table1` (ALeRCE preprocessing inside each fold,
leave-one-subclass-out AUROC); :func:`run` chains them and sets the seed's Table 1 beside ours
(:data:`SEED_TABLE1`, tables ``seed_reference`` and ``per_subclass``).

Banned features
---------------
As the seed, every preset drops the brightness-like features before training
(:data:`BANNED_FEATURES`: the seed's name -> ours, per band ``_1`` = g, ``_2`` = r):
``mean_mag`` / ``Mean`` -> ``Mean``, ``min_mag`` -> ``min_mag``, ``n_det`` -> ``n_det``,
``delta_mjd_fid`` -> ``Duration``; ours also has ``Median`` and ``WeightedMean`` (brightness
under other names): banned too. The seed's ``n_pos``, ``n_neg``, ``first_mag``,
``MHPS_non_zero``, ``MHPS_PN_flag``, ``W1..W4``, ``last_mjd_before_fid``, ``g-r_ml`` and
``MHAOV_Period`` have no counterpart here; its ``iqr`` duplicates ``Q31``, which it keeps,
and so do we. Colours (``g-r_mean``, ``g-r_max``) are kept, as in the seed.

AUROC below 0.5
---------------
Not a bug: then the held-out subclass lies closer to the centre of the inliers' preprocessed
features than the inliers themselves (a plain RMS-z distance from the training mean gives,
at 100 per subclass, SLSN 0.36, QSO 0.37, CEP 0.39, Blazar 0.39, RRL 0.43, DSCT 0.44), so
every detector that scores atypicality ranks it as normal: SLSNe are long, well-sampled,
smooth curves between the other SNe (MCDSVDD puts 83 % of them nearest the SNII centre),
QSO sit between AGN and blazars, faint low-amplitude DSCT are noise-dominated.

Differences from the seed
-------------------------
- Data: simulated ZTF-like light curves, ``n_per_class`` per subclass (balanced), instead of
  the ALeRCE labelled set of real ZTF objects (imbalanced: ~10^4 periodic, ~10^3 stochastic,
  ~10^3 transient). Apparent magnitudes come from an absolute magnitude per subclass and a
  distance distribution (see :mod:`astroad_nb.data.lightcurves.models`).
- Features: ours are the ``light-curve`` package's (ALeRCE-named where they match), ~100
  after the ban against the seed's ~152: no MHPS, IAR, harmonics, Pan-STARRS or WISE
  features; SPM is ``light-curve``'s ``VillarFit`` on relative flux (the seed's SPM on
  absolute flux); DRW sigma/tau come from a structure-function fit, not a Gaussian process.
- Preprocessing: ranges learnt per fold (:class:`~astroad_nb.features.lightcurves.ALeRCEPreprocessor`)
  instead of the seed's hand-set table and quantile transform; NaN -> -0.999, not -1.
- ``"fast"`` and ``"full"`` keep our hyper-parameters: Adam 1e-3, batch 64/128, 10/200 epochs,
  patience 3/20, IForest 100/500 trees (max_samples "auto"), OCSVM nu 0.1, no balanced
  sampler, bias-free Deep SVDDs with centre clamp 0.1 (Ruff et al.'s trivial-solution guard),
  VAE scored by -ELBO (deterministic). ``"seed"`` takes the seed's: Adam 1e-4, batch 1024, up
  to 10,000 epochs with patience 100, IForest 100 trees max_samples 256, OCSVM nu 0.01, the
  subclass-balanced weighted sampler, SVDD biases in hidden layers with clamp 0.01, VAE
  scored by the reconstruction error over 10 latent samples.
- The seed's VaDE is broken in its code; ours trains (listed for completeness).
- The seed's hierarchical routing by the light-curve classifier is not part of Table 1 here.
"""

from __future__ import annotations

import dataclasses
import time

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["AlercePreset", "PRESETS", "METHOD_ORDER", "BANNED_FEATURES", "SEED_TABLE1",
           "preset", "simulate", "features", "feature_columns", "methods", "table1",
           "seed_reference", "run"]

NAME = "alerce"
TITLE = "ALeRCE anomaly detector: leave-one-subclass-out AUROC (Table 1)"

#: The seven detectors in the seed's order.
METHOD_ORDER = ("IForest", "OCSVM", "AE", "VAE", "Deep SVDD", "MCDSVDD", "VaDE")


#: The seed's banned brightness-like features (per band) -> our feature name (None: we have
#: no such feature). See the module docstring.
BANNED_FEATURES: dict = {
    "mean_mag": "Mean", "Mean": "Mean", "min_mag": "min_mag", "n_det": "n_det",
    "n_pos": None, "n_neg": None, "first_mag": None, "MHPS_non_zero": None,
    "MHPS_PN_flag": None, "W1..W4": None, "iqr": None, "delta_mjd_fid": "Duration",
    "last_mjd_before_fid": None, "g-r_ml": None, "MHAOV_Period": None,
    # ours, brightness under other names
    "(ours) median magnitude": "Median", "(ours) weighted mean magnitude": "WeightedMean",
}
_BANNED_BASES = frozenset(v for v in BANNED_FEATURES.values() if v is not None)

#: The seed's Table 1 (AUROC): best method per subclass where it publishes it, and the mean
#: per top class of each method (``../shared/SEEDS.md`` section 1).
SEED_TABLE1 = {
    "best": {"SNII": ("MCDSVDD", 0.828), "SNIa": ("MCDSVDD", 0.624),
             "CEP": ("MCDSVDD", 0.858), "DSCT": ("MCDSVDD", 0.819), "E": ("MCDSVDD", 0.945),
             "RRL": ("MCDSVDD", 0.953), "AGN": ("AE", 0.701), "Blazar": ("AE", 0.762),
             "YSO": ("AE", 0.990), "LPV": ("AE", 0.996)},
    "top_class": {  # transient, stochastic, periodic
        "IForest": (0.57, 0.73, 0.53), "OCSVM": (0.52, 0.64, 0.61), "AE": (0.63, 0.78, 0.74),
        "VAE": (0.57, 0.67, 0.56), "Deep SVDD": (0.58, 0.67, 0.68),
        "MCDSVDD": (0.68, 0.67, 0.91)},
}
_DIFFERS = ("ours: simulated ZTF-like curves, {n} per subclass (balanced), ~100 features; "
            "seed: real ZTF (ALeRCE labelled set, imbalanced), ~152 features")


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
    balanced : bool
        Deep models draw batches with the subclass-balanced weighted sampler (the seed's).
    svdd_bias : bool
        Deep SVDDs keep biases in their hidden layers (the seed's); False: bias-free (ours).
    svdd_eps : float
        Minimum |c| of each SVDD centre coordinate (ours 0.1, the seed's 0.01).
    vae_score : {"elbo", "reconstruction"}
        VAE anomaly score: -ELBO at the posterior mean (ours) or the reconstruction error
        averaged over 10 latent samples (the seed's).
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
    balanced: bool = False
    svdd_bias: bool = False
    svdd_eps: float = 0.1
    vae_score: str = "elbo"


PRESETS = {
    "fast": AlercePreset(name="fast"),
    "full": AlercePreset(name="full", n_per_class=600, n_splits=5, epochs=200, patience=20,
                         batch_size=128, iforest_trees=500, n_real_curves=None),
    "seed": AlercePreset(name="seed", n_per_class=600, n_splits=5, epochs=10_000, patience=100,
                         batch_size=1024, lr=1e-4, iforest_trees=100, iforest_max_samples=256,
                         ocsvm_nu=0.01, n_real_curves=None, balanced=True, svdd_bias=True,
                         svdd_eps=0.01, vae_score="reconstruction"),
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


def feature_columns(features) -> list:
    """Step 2b: the columns the protocol uses: all but the seed's banned brightness features.

    Parameters
    ----------
    features : DataFrame of shape (n_objects, n_features)
        From :func:`features` (names ``{Feature}_{fid}``; see :data:`BANNED_FEATURES`).

    Returns
    -------
    list of str
        The kept columns, in the frame's order.
    """
    return [c for c in features.columns if str(c).rsplit("_", 1)[0] not in _BANNED_BASES]


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
    # only the non-default options are passed: "fast"/"full" detectors stay as before
    extra = dict(balanced=True) if p.balanced else {}
    svdd = dict(extra, **(dict(bias=True) if p.svdd_bias else {}),
                **({} if p.svdd_eps == 0.1 else dict(eps=p.svdd_eps)))
    vae = dict(extra, **({} if p.vae_score == "elbo" else dict(score_type=p.vae_score)))
    build = {
        "IForest": lambda: IForest(n_estimators=p.iforest_trees,
                                   max_samples=p.iforest_max_samples, random_state=random_state),
        "OCSVM": lambda: OCSVM(nu=p.ocsvm_nu, gamma="scale"),
        "AE": lambda: AutoEncoder(**deep, **extra),
        "VAE": lambda: VAE(**deep, **vae),
        "Deep SVDD": lambda: DeepSVDD(**deep, **svdd),
        "MCDSVDD": lambda: MultiClassDeepSVDD(**deep, **svdd),
        "VaDE": lambda: VaDE(**deep),
    }
    return {m: build[m]() for m in METHOD_ORDER if m in p.methods}


def table1(features, subclass, detectors, p: AlercePreset, *, random_state=0, n_jobs=-1,
           verbose=0):
    """Step 4: leave-one-subclass-out AUROC with ALeRCE preprocessing fitted inside each fold.

    Parameters
    ----------
    features : DataFrame of shape (n_objects, n_features)
        Only :func:`feature_columns` of it are used (the banned features are dropped here).
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

    features = features[feature_columns(features)]
    return leave_one_subclass_out(features, subclass, detectors,
                                  preprocessor=ALeRCEPreprocessor(), n_splits=p.n_splits,
                                  random_state=random_state, verbose=verbose, n_jobs=n_jobs)


def seed_reference(result, n_per_class):
    """Step 5: the seed's Table 1 beside ours.

    Parameters
    ----------
    result : evaluation.LOSOResult
        From :func:`table1`.
    n_per_class : int
        Simulated objects per subclass (for the "what differs" column).

    Returns
    -------
    top_class : DataFrame
        Index method; columns ``{top}_seed``, ``{top}_ours`` for transient / stochastic /
        periodic (the seed's mean AUROC per top class beside ours; NaN where the seed has
        none, e.g. VaDE).
    per_subclass : DataFrame
        Index subclass; columns ``seed_method``, ``seed_auroc`` (where the seed publishes
        it), ``ours_same_method``, ``ours_best``, ``ours_best_method``, ``what_differs``.
    """
    import numpy as np
    import pandas as pd

    tops = ("transient", "stochastic", "periodic")
    ours = result.by_top_class()
    rows = {}
    for method in ours.index:
        seed = SEED_TABLE1["top_class"].get(method, (np.nan,) * 3)
        row = {}
        for k, top in enumerate(tops):
            row[f"{top}_seed"] = seed[k]
            row[f"{top}_ours"] = float(ours.loc[method, top]) if top in ours.columns else np.nan
        rows[method] = row
    top_table = pd.DataFrame.from_dict(rows, orient="index")
    top_table.index.name = "method"
    mean = result.mean
    differs = _DIFFERS.format(n=n_per_class)
    sub_rows = {}
    for sub in mean.columns:
        method, auroc = SEED_TABLE1["best"].get(sub, (None, np.nan))
        col = mean[sub]
        best = col.idxmax() if col.notna().any() else None
        sub_rows[sub] = {
            "seed_method": method or "",
            "seed_auroc": auroc,
            "ours_same_method": float(col[method]) if method in col.index else np.nan,
            "ours_best": float(col.max()) if best is not None else np.nan,
            "ours_best_method": best or "",
            "what_differs": differs,
        }
    sub_table = pd.DataFrame.from_dict(sub_rows, orient="index")
    sub_table.index.name = "subclass"
    return top_table, sub_table


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
        per method and top class), ``folds``, ``seed_reference`` and ``per_subclass`` (the
        seed's Table 1 beside ours, :func:`seed_reference`); objects ``lightcurves``, ``features``,
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
    used = feature_columns(feats)
    config = dict(random_state=random_state, n_objects=len(lcs), n_features=len(used),
                  n_features_extracted=feats.shape[1],
                  banned_features=[c for c in feats.columns if c not in used],
                  top_class=dict(result.top_class))
    title = (f"{TITLE}: mean ± std over {p.n_splits} folds, {len(lcs)} simulated objects, "
             f"{len(used)} features (brightness banned), preset {p.name!r}")
    ref_top, ref_sub = seed_reference(result, p.n_per_class)
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="mean",
               tables={"mean": result.mean, "std": result.std,
                       "top_class": result.by_top_class(), "folds": result.folds,
                       "seed_reference": ref_top, "per_subclass": ref_sub},
               config=config, seconds=seconds,
               objects={"lightcurves": lcs, "features": feats, "result": result})
