"""Active anomaly discovery: true anomalies found vs labels given, ours against coniferest.

An oracle answers from ground truth: the ranker shows its top candidate, the oracle says
interesting or not, the ranker re-ranks; ``budget`` times. The curve of "true anomalies found
vs labels given" is measured for the static detector (the Isolation Forest ranking, deaf to
answers), our two feedback rankers (:class:`~astroad_nb.active.AADIForest`,
:class:`~astroad_nb.active.RelevanceBlending`) and coniferest's ``AADForest`` and
``PineForest`` (Ishida et al. 2021, Korolev et al.), side by side: same data, same budget,
``n_seeds`` seeds (a seed sets every forest, and for the RR Lyrae which type-c stars are
drawn).

Data sets
---------
``simulated``
    Simulated ZTF-like light curves (:func:`~astroad_nb.data.lightcurves.simulate_lightcurves`)
    of eight periodic and stochastic subclasses, plus a dull-but-common outlier class the
    person does not want (SNe Ia, ``sim_dull_fraction`` of all: to a variable-star survey the
    most unusual objects, and boring) and the rare interesting class (SLSNe,
    ``sim_rare_fraction`` <= 1 %), which an Isolation Forest ranks below the SNe Ia.
``ztf_sne``
    The 2,289 real ZTF SNe Ia of the Bright Transient Survey with the 30 real ALeRCE SNe
    hidden among them (``../shared/data/lightcurves``); the SNe of other types (SNIbc, SNII,
    SLSN) are the interesting ones, the ALeRCE SNe Ia not (those already among the 2,289 are
    dropped, so no object is there twice).
``rr_lyrae``
    The 483 SDSS Stripe 82 RR Lyrae: all type ab, and ``rrl_c_fraction`` of type c drawn per
    seed; the rare type c are the interesting ones.

Features: :func:`~astroad_nb.features.lightcurves.extract_features` without the ALeRCE seed's
banned brightness features (:func:`astroad_nb.protocols.alerce.feature_columns`), through
:class:`~astroad_nb.features.lightcurves.ALeRCEPreprocessor`. coniferest is a dev dependency,
imported only here.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["DiscoveryPreset", "DiscoveryData", "ConiferestRanker", "PRESETS", "METHOD_ORDER",
           "OURS", "PEERS", "DATASETS", "preset", "simulated_data", "ztf_sne_data",
           "rr_lyrae_data", "load_datasets", "rankers", "discovery_curves", "ratio_table",
           "run"]

NAME = "discovery"
TITLE = "Active anomaly discovery: true anomalies found vs labels given, ours vs coniferest"

#: Methods in the order of the tables.
METHOD_ORDER = ("static", "AAD", "relevance", "coniferest AADForest", "coniferest PineForest")
#: Our feedback rankers and the peer's.
OURS = ("AAD", "relevance")
PEERS = ("coniferest AADForest", "coniferest PineForest")
#: Data sets this protocol knows.
DATASETS = ("simulated", "ztf_sne", "rr_lyrae")

_SIM_NOMINAL = ("QSO", "AGN", "DSCT", "RRL", "CEP", "E", "Blazar", "YSO")
_SIM_DULL, _SIM_RARE = "SNIa", "SLSN"


@dataclasses.dataclass(frozen=True)
class DiscoveryPreset(Preset):
    """Sizes and hyper-parameters of the discovery protocol.

    Attributes
    ----------
    datasets : tuple of str
        Which of :data:`DATASETS`.
    budget : int
        Labels the oracle gives per run.
    n_seeds : int
        Seeds 0 .. n_seeds - 1 per method and data set.
    sim_n_per_class : int
        Simulated objects per nominal subclass (8 subclasses).
    sim_dull_fraction, sim_rare_fraction : float
        Fractions of all simulated objects that are SNe Ia (dull) and SLSNe (interesting).
    rrl_c_fraction : float
        Type-c RR Lyrae drawn per seed, as a fraction of all drawn stars.
    n_real : int or None
        At most this many light curves of the 2,289 ZTF SNe Ia (None: all).
    n_estimators, max_samples : int
        Trees and sub-sample size of every forest (ours and coniferest's).
    tau : float
        AAD's quantile (Das et al.'s 0.03).
    relevance_kernel : {"isolation", "gaussian"}
        Similarity the relevance regression uses (see :class:`RelevanceBlending`).
    relevance_regressor : {"kernel", "random_forest"}
        ``"random_forest"``: Astronomaly's random-forest regressor of the relevance.
    methods : tuple of str
        Which of :data:`METHOD_ORDER`.
    """

    datasets: tuple = ("simulated",)
    budget: int = 30
    n_seeds: int = 3
    sim_n_per_class: int = 60
    sim_dull_fraction: float = 0.05
    sim_rare_fraction: float = 0.009
    rrl_c_fraction: float = 0.02
    n_real: object = None
    n_estimators: int = 100
    max_samples: int = 256
    tau: float = 0.03
    relevance_kernel: str = "isolation"
    relevance_regressor: str = "kernel"
    methods: tuple = METHOD_ORDER


PRESETS = {
    "fast": DiscoveryPreset(name="fast"),
    "full": DiscoveryPreset(name="full", datasets=DATASETS, budget=50, n_seeds=10,
                            sim_n_per_class=250),
    "seed": DiscoveryPreset(name="seed", datasets=DATASETS, budget=50, n_seeds=10,
                            sim_n_per_class=250, relevance_kernel="gaussian",
                            relevance_regressor="random_forest"),
}

#: The fields that set sizes (not the science): ``--preset seed --fast`` takes these from "fast".
SIZE_FIELDS = ("datasets", "budget", "n_seeds", "sim_n_per_class", "n_real")


def preset(name=None, **overrides) -> DiscoveryPreset:
    """A named preset (default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``), with overrides."""
    return resolve_preset(PRESETS, name, **overrides)


# --------------------------------------------------------------------------- data
@dataclasses.dataclass
class DiscoveryData:
    """One data set of the protocol: features, ground truth, and how a seed draws from it.

    Attributes
    ----------
    name : str
    features : pandas.DataFrame
        Raw light-curve features, indexed by object id.
    interesting : pandas.Series of bool
        Ground truth per object id.
    group : pandas.Series of str
        The class of each object (for tables; the rankers never see it).
    n_interesting_drawn : int or None
        When set, each seed keeps all other objects and draws this many interesting ones.
    note : str
        Where the data come from.
    """

    name: str
    features: pd.DataFrame
    interesting: pd.Series
    group: pd.Series
    n_interesting_drawn: int | None = None
    note: str = ""

    def draw(self, seed):
        """The objects of one seed and their preprocessed features.

        Parameters
        ----------
        seed : int

        Returns
        -------
        X : pandas.DataFrame of shape (n_objects, n_features)
            :class:`~astroad_nb.features.lightcurves.ALeRCEPreprocessor` output, finite.
        interesting : ndarray of bool, shape (n_objects,)
        """
        from astroad_nb.features.lightcurves import ALeRCEPreprocessor
        from astroad_nb.protocols.alerce import feature_columns

        ids = self.features.index
        if self.n_interesting_drawn is not None:
            rare = ids[self.interesting.reindex(ids).to_numpy()]
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 13]))
            keep = set(rng.choice(rare, size=min(self.n_interesting_drawn, rare.size),
                                  replace=False).tolist())
            ids = pd.Index([i for i in ids if not self.interesting[i] or i in keep],
                           name=ids.name)
        feats = self.features.loc[ids]
        X = ALeRCEPreprocessor().fit_transform(feats[feature_columns(feats)])
        return X, self.interesting.reindex(ids).to_numpy(dtype=bool)

    def summary(self) -> dict:
        """Sizes: objects, interesting ones (per seed when drawn), their fraction."""
        n_int = int(self.interesting.sum()) if self.n_interesting_drawn is None else min(
            self.n_interesting_drawn, int(self.interesting.sum()))
        n = int((~self.interesting).sum()) + n_int
        return {"n_objects": n, "n_interesting": n_int, "fraction": n_int / n,
                "note": self.note}


def simulated_data(p: DiscoveryPreset, *, random_state=0) -> DiscoveryData:
    """Step 1a: simulated light curves with a rare interesting class and a dull outlier class.

    Parameters
    ----------
    p : DiscoveryPreset
        ``sim_n_per_class`` per nominal subclass; SNe Ia (dull) and SLSNe (interesting) as
        ``sim_dull_fraction`` and ``sim_rare_fraction`` of the total (at least 2 SLSNe).
    random_state : int
        Seeds the simulation (the data are the same for every ranker seed).

    Returns
    -------
    DiscoveryData
    """
    from astroad_nb.data.lightcurves import simulate_lightcurves
    from astroad_nb.features.lightcurves import extract_features

    n_nominal = len(_SIM_NOMINAL) * int(p.sim_n_per_class)
    rest = 1.0 - p.sim_dull_fraction - p.sim_rare_fraction
    if not (0 < p.sim_rare_fraction <= 0.01 and 0 <= p.sim_dull_fraction and rest > 0):
        raise ValueError(f"sim_rare_fraction must be in (0, 0.01] and the fractions sum below "
                         f"1; got {p.sim_rare_fraction!r}, {p.sim_dull_fraction!r}.")
    total = n_nominal / rest
    counts = {c: int(p.sim_n_per_class) for c in _SIM_NOMINAL}
    counts[_SIM_DULL] = int(round(total * p.sim_dull_fraction))
    counts[_SIM_RARE] = max(2, int(np.floor(total * p.sim_rare_fraction)))
    lcs = simulate_lightcurves(counts, random_state=random_state, subclasses=list(counts))
    feats = extract_features(lcs, n_jobs=1)
    sub = lcs.meta.loc[feats.index, "subclass"].astype(str)
    return DiscoveryData("simulated", feats, sub == _SIM_RARE, sub,
                         note=f"simulated ZTF-like: {n_nominal} periodic/stochastic, "
                              f"{counts[_SIM_DULL]} SNe Ia (dull outliers), "
                              f"{counts[_SIM_RARE]} SLSNe (interesting)")


def _real(*parts):
    from astroad_nb._config import real_data_path

    path = real_data_path(*parts)
    if path is None:
        raise FileNotFoundError(
            f"real data {'/'.join(parts)} not found: set ASTROAD_REAL_DATA to the folder "
            "holding lightcurves/ (default ../shared/data), or leave this data set out of "
            "the preset's datasets.")
    return path


def ztf_sne_data(p: DiscoveryPreset) -> DiscoveryData:
    """Step 1b: the 2,289 ZTF SNe Ia with the 30 ALeRCE SNe hidden; other types interesting.

    Parameters
    ----------
    p : DiscoveryPreset
        ``n_real`` caps the SNe Ia read (the first in id order).

    Returns
    -------
    DiscoveryData

    Raises
    ------
    FileNotFoundError
        Without ``../shared/data`` (names the variable to set).
    """
    from astroad_nb.data.lightcurves import read_detections, read_lightcurve_folder
    from astroad_nb.features.lightcurves import extract_features

    bts = read_lightcurve_folder(_real("lightcurves", "ztf_sn_ia", "light-curves"))
    if p.n_real is not None:
        bts = bts.subset(bts.ids[:int(p.n_real)])
    folder = _real("lightcurves", "alerce_examples")
    alerce = read_detections(folder / "30_sne_detections_corr.csv", use_corrected=True)
    labels = pd.read_csv(folder / "30_sne_labels.csv", index_col="objectId")["classALeRCE"]
    hidden = [i for i in alerce.ids if i not in set(bts.ids)]  # the 7 also in the BTS: once
    feats = pd.concat([extract_features(bts, n_jobs=1),
                       extract_features(alerce.subset(hidden), n_jobs=1)])
    group = pd.Series("SNIa (BTS)", index=feats.index, dtype=object)
    group[hidden] = labels.reindex(hidden).astype(str).to_numpy()
    interesting = group.isin(["SNIbc", "SNII", "SLSN"])
    return DiscoveryData("ztf_sne", feats, interesting, group,
                         note=f"{len(bts)} BTS SNe Ia + {len(hidden)} ALeRCE SNe "
                              f"({int(interesting.sum())} SNIbc/SNII/SLSN interesting)")


def rr_lyrae_data(p: DiscoveryPreset) -> DiscoveryData:
    """Step 1c: SDSS Stripe 82 RR Lyrae; the rare type c (drawn per seed) are interesting.

    Parameters
    ----------
    p : DiscoveryPreset
        ``rrl_c_fraction`` of the drawn stars are type c (at least 2).

    Returns
    -------
    DiscoveryData

    Raises
    ------
    FileNotFoundError
        Without ``../shared/data``.
    """
    from astroad_nb.data.lightcurves import read_lightcurve_folder
    from astroad_nb.features.lightcurves import extract_features

    folder = _real("lightcurves", "sdss_rr_lyrae")
    lcs = read_lightcurve_folder(folder / "light-curves")
    types = pd.read_csv(folder / "periods.csv", index_col="Num")["Type"]
    types.index = types.index.astype(str)
    # sparse long-baseline SDSS: the periodogram needs 4 grid points per peak (features docs)
    feats = extract_features(lcs, bands=("g", "r", "i"), oversampling=4, n_jobs=1)
    group = types.reindex(feats.index).astype(str)
    interesting = group == "c"
    n_ab = int((~interesting).sum())
    n_c = max(2, int(round(p.rrl_c_fraction * n_ab / (1 - p.rrl_c_fraction))))
    return DiscoveryData("rr_lyrae", feats, interesting, "RRL" + group, n_interesting_drawn=n_c,
                         note=f"SDSS Stripe 82: {n_ab} type ab + {n_c} of "
                              f"{int(interesting.sum())} type c drawn per seed")


def load_datasets(p: DiscoveryPreset, *, random_state=0) -> dict:
    """Step 1: every data set of the preset.

    Returns
    -------
    dict[str, DiscoveryData]
    """
    unknown = [d for d in p.datasets if d not in DATASETS]
    if unknown:
        raise ValueError(f"unknown data set(s) {unknown}; choose from {list(DATASETS)}.")
    build = {"simulated": lambda: simulated_data(p, random_state=random_state),
             "ztf_sne": lambda: ztf_sne_data(p), "rr_lyrae": lambda: rr_lyrae_data(p)}
    return {name: build[name]() for name in p.datasets}


# --------------------------------------------------------------------------- rankers
class ConiferestRanker:
    """coniferest's ``AADForest`` / ``PineForest`` behind our ranker interface.

    ``fit(X)``, ``rank(k)``, ``tell(index, label)``, ``scores_``; each answer refits with all
    answers so far (``fit_known``), as coniferest's own oracle session does.

    Parameters
    ----------
    kind : {"aad", "pine"}
    n_trees, n_subsamples : int
    random_state : int
    """

    def __init__(self, kind="aad", *, n_trees=100, n_subsamples=256, random_state=0):
        self.kind, self.n_trees, self.n_subsamples = kind, n_trees, n_subsamples
        self.random_state = random_state

    def fit(self, X):
        """Build the forest on ``X`` (array of shape (n_samples, n_features)); returns self."""
        try:
            from coniferest.aadforest import AADForest
            from coniferest.pineforest import PineForest
        except ImportError as exc:  # a dev dependency
            raise ImportError("the discovery protocol compares with coniferest: "
                              "pip install coniferest (or pip install -e '.[dev]').") from exc
        cls = {"aad": AADForest, "pine": PineForest}[self.kind]
        self.X_ = np.ascontiguousarray(X, dtype=np.float64)
        self.model_ = cls(n_trees=self.n_trees, n_subsamples=min(self.n_subsamples, len(X)),
                          random_seed=self.random_state, n_jobs=1)
        self.model_.fit(self.X_)
        self.known_ = {}
        self.seen_ = np.zeros(len(X), dtype=bool)
        self.scores_ = -self.model_.score_samples(self.X_)  # coniferest: lower = anomalous
        return self

    def rank(self, k=None):
        """Unseen row indices, highest score first (ties: lower index)."""
        from astroad_nb.active.discovery import _top

        return _top(self.scores_, k, self.seen_)

    def tell(self, index, label):
        """Refit with one more answer (1 interesting, 0 not, None skip); returns self."""
        from coniferest.label import Label

        from astroad_nb.active import feedback_value

        value = feedback_value(label)
        self.seen_[index] = True
        if value is None:
            return self
        self.known_[int(index)] = Label.ANOMALY if value == 1 else Label.REGULAR
        rows = np.fromiter(self.known_, dtype=np.int64)
        self.model_.fit_known(self.X_, self.X_[rows],
                              np.fromiter(self.known_.values(), dtype=np.int64))
        self.scores_ = -self.model_.score_samples(self.X_)
        return self


def rankers(p: DiscoveryPreset, seed) -> dict:
    """Step 2: the preset's rankers for one seed, unfitted, ordered as :data:`METHOD_ORDER`.

    Returns
    -------
    dict[str, ranker]
    """
    from astroad_nb.active import AADIForest, RelevanceBlending, StaticRanker
    from astroad_nb.models import IForest

    unknown = [m for m in p.methods if m not in METHOD_ORDER]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHOD_ORDER)}.")
    forest = dict(n_estimators=p.n_estimators, max_samples=p.max_samples)
    regressor = None
    if p.relevance_regressor == "random_forest":  # Astronomaly's
        from sklearn.ensemble import RandomForestRegressor

        regressor = RandomForestRegressor(n_estimators=100, random_state=seed)
    elif p.relevance_regressor != "kernel":
        raise ValueError(f"relevance_regressor must be 'kernel' or 'random_forest', got "
                         f"{p.relevance_regressor!r}.")
    build = {
        "static": lambda: StaticRanker(IForest(**forest), random_state=seed),
        "AAD": lambda: AADIForest(**forest, tau=p.tau, random_state=seed),
        "relevance": lambda: RelevanceBlending(
            IForest(**forest), kernel=p.relevance_kernel, regressor=regressor,
            random_state=seed),
        "coniferest AADForest": lambda: ConiferestRanker(
            "aad", n_trees=p.n_estimators, n_subsamples=p.max_samples, random_state=seed),
        "coniferest PineForest": lambda: ConiferestRanker(
            "pine", n_trees=p.n_estimators, n_subsamples=p.max_samples, random_state=seed),
    }
    out = {m: build[m]() for m in METHOD_ORDER if m in p.methods}
    for ranker in out.values():  # the IForest of static / relevance gets the seed too
        if hasattr(ranker, "detector"):
            ranker.detector.set_params(random_state=seed)
    return out


# --------------------------------------------------------------------------- the experiment
def discovery_curves(data: DiscoveryData, p: DiscoveryPreset, *, verbose=0):
    """Step 3: the oracle sessions of every method and seed on one data set.

    Parameters
    ----------
    data : DiscoveryData
    p : DiscoveryPreset
    verbose : int
        1: one line per method and seed.

    Returns
    -------
    curves : dict[str, ndarray of shape (n_seeds, budget)]
        Interesting objects found after 1 .. budget labels, per method.
    seconds : dict[str, float]
        Wall-clock time per method (fits and all feedback steps, all seeds).
    n_interesting : int
        Interesting objects per seed.
    """
    from astroad_nb.active import oracle_session
    from astroad_nb.evaluation import discovery_curve

    curves, seconds, n_int = {}, {}, 0
    for seed in range(int(p.n_seeds)):
        X, truth = data.draw(seed)
        n_int = int(truth.sum())
        for method, ranker in rankers(p, seed).items():
            t0 = time.perf_counter()
            ranker.fit(X.to_numpy())
            session = oracle_session(ranker, truth, p.budget)
            seconds[method] = seconds.get(method, 0.0) + time.perf_counter() - t0
            curves.setdefault(method, []).append(
                discovery_curve(session["interesting"].to_numpy(), p.budget))
            if verbose:
                print(f"{data.name} seed {seed} {method}: {int(session['found'].iloc[-1])} "
                      f"of {n_int} in {p.budget} labels")
    return {m: np.vstack(c) for m, c in curves.items()}, seconds, n_int


def ratio_table(found: pd.DataFrame, budget) -> pd.DataFrame:
    """Step 4: our best ranker against coniferest's best, per data set.

    Parameters
    ----------
    found : pandas.DataFrame
        :func:`astroad_nb.evaluation.discovery_table` output (index data set, method).
    budget : int
        The column ``found@{budget}_mean`` is compared.

    Returns
    -------
    pandas.DataFrame
        Index data set; ``ours_best``, ``ours_method``, ``peer_best``, ``peer_method``,
        ``ratio`` (ours / peer; NaN without both), ``target_met`` (ours >= peer).
    """
    col = f"found@{budget}_mean"
    rows = {}
    for dataset in found.index.get_level_values(0).unique():
        table = found.loc[dataset, col]
        ours = table.reindex([m for m in OURS if m in table.index]).dropna()
        peer = table.reindex([m for m in PEERS if m in table.index]).dropna()
        row = {"ours_best": np.nan, "ours_method": "", "peer_best": np.nan,
               "peer_method": "", "ratio": np.nan, "target_met": False}
        if len(ours):
            row.update(ours_best=float(ours.max()), ours_method=str(ours.idxmax()))
        if len(peer):
            row.update(peer_best=float(peer.max()), peer_method=str(peer.idxmax()))
        if len(ours) and len(peer):
            row["ratio"] = row["ours_best"] / row["peer_best"] if row["peer_best"] else np.nan
            row["target_met"] = bool(row["ours_best"] >= row["peer_best"])
        rows[dataset] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "dataset"
    return out


def run(preset=None, *, random_state=0, device=None, n_jobs=None, verbose=0,
        **overrides) -> Run:
    """The discovery protocol end to end: data -> oracle sessions -> curves and tables.

    Parameters
    ----------
    preset : {"fast", "full", "seed"} or DiscoveryPreset, optional
        Default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``.
    random_state : int, default=0
        Seeds the simulated data (ranker seeds are 0 .. n_seeds - 1).
    device, n_jobs : ignored (kept for the CLI: every ranker runs on one CPU thread).
    verbose : int, default=0
    **overrides
        Preset fields to change (``budget=20``, ``datasets=("simulated",)``, ...).

    Returns
    -------
    Run
        Tables ``found`` (headline: per data set and method, found after 10, 25 and
        ``budget`` labels, mean / std / min / max over seeds), ``curves`` (long: data set,
        method, labels, mean, std, n_interesting), ``ratio`` (:func:`ratio_table`) and
        ``datasets`` (sizes); objects ``curves`` (the raw arrays) and ``data``.
    """
    from astroad_nb.evaluation import discovery_table

    p = resolve_preset(PRESETS, preset, **overrides)
    seconds = {}
    t0 = time.perf_counter()
    data = load_datasets(p, random_state=random_state)
    seconds["data"] = time.perf_counter() - t0
    curves, n_interesting = {}, {}
    for name, d in data.items():
        raw, secs, n_interesting[name] = discovery_curves(d, p, verbose=verbose)
        for method, arr in raw.items():
            curves[(name, method)] = arr
            seconds[f"{name}: {method}"] = secs[method]
    at = tuple(sorted({k for k in (10, 25) if k < p.budget} | {int(p.budget)}))
    found = discovery_table(curves, at=at)
    long = []
    for (name, method), arr in curves.items():
        for k in range(arr.shape[1]):
            long.append({"dataset": name, "method": method, "labels": k + 1,
                         "mean": float(arr[:, k].mean()), "std": float(arr[:, k].std()),
                         "n_interesting": n_interesting[name]})
    curve_table = pd.DataFrame(long).set_index(["dataset", "method", "labels"])
    sizes = pd.DataFrame.from_dict({k: d.summary() for k, d in data.items()}, orient="index")
    sizes.index.name = "dataset"
    ratio = ratio_table(found, p.budget)
    title = (f"{TITLE}: {p.budget} labels, {p.n_seeds} seeds, data sets "
             f"{', '.join(p.datasets)}, preset {p.name!r}")
    config = dict(random_state=random_state, n_interesting=n_interesting,
                  ratio={k: (None if pd.isna(v) else float(v)) for k, v in ratio["ratio"].items()})
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="found",
               tables={"found": found, "curves": curve_table, "ratio": ratio,
                       "datasets": sizes},
               config=config, seconds=seconds, objects={"curves": curves, "data": data})
