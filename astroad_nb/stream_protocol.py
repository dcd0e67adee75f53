"""Per-stream evaluation and the meta-train / validate protocol of system 3 (stream membership).

:func:`evaluate_stream` scores one problem's predictions on the stars that were not given
(the query rows) and, for the seed's validation fields, on its own test split
(``self_lab == False``: the seed's ``half_test`` rows; the ``self_lab == True`` half was kept to
supplement training and is excluded from the published metrics). :func:`gd1_table` lays results
out as the seed's GD-1 table (rows: method; columns R, BA, P, MCC).
:func:`reproduce_streams` meta-trains :class:`~astroad_nb.models.deepsets.DeepSetsOneClass` on
the clusterbusters training streams (or on simulated streams when the real data is absent),
fine-tunes it on each validation stream and compares it with the seed's recursive random
forest (:class:`~astroad_nb.models.forest.RecursiveForest`).
"""

from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import pandas as pd

from astroad_nb import evaluation as ev

__all__ = [
    "SEED_GD1",
    "StreamsRun",
    "evaluate_stream",
    "gd1_problem_from_selection",
    "gd1_table",
    "reproduce_streams",
    "simulated_gd1_problem",
]

#: The seed paper's GD-1 table (Gaia DR2 + PS1 field; recall, balanced accuracy, precision, MCC).
SEED_GD1 = {
    "DeepSets fine-tuned (seed paper)": {"R": 0.981, "BA": 0.984, "P": 0.341, "MCC": 0.574},
    "Random forest (seed paper)": {"R": 0.869, "BA": 0.930, "P": 0.402, "MCC": 0.587},
}

METRICS = ("precision", "recall", "f1", "f2", "mcc", "balanced_accuracy", "auroc",
           "average_precision")


def _rows(problem, rows):
    if rows not in ("query", "seed_test"):
        raise ValueError(f"rows must be 'query' or 'seed_test', got {rows!r}.")
    mask = problem.query_mask.copy()
    if rows == "seed_test":
        if "self_lab" not in problem.field.columns:
            raise ValueError(f"{problem.name!r} has no 'self_lab' column: the seed's test split "
                             "exists only for its validation fields; use rows='query'.")
        mask &= ~problem.field["self_lab"].astype(bool).to_numpy()
    return mask


def evaluate_stream(problem, proba, threshold=0.5, *, rows="query"):
    """Membership metrics of one stream's predictions.

    Parameters
    ----------
    problem : StreamProblem
        With ``truth``.
    proba : array-like of shape (n_stars,) or pandas.Series indexed like ``problem.field``
        p(member) of every field star (support rows are ignored). NaN (stars without features)
        counts as a non-member: probability 0.
    threshold : float, default=0.5
        Members are ``proba >= threshold``.
    rows : {'query', 'seed_test'}, default="query"
        ``"query"``: every star not in the support set. ``"seed_test"``: query stars with
        ``self_lab == False`` (the rows the seed's validation metrics are computed on).

    Returns
    -------
    dict
        precision, recall, f1, f2, mcc, balanced_accuracy (thresholded), auroc and
        average_precision (threshold-free), plus n_stars and n_members of the rows scored.

    Examples
    --------
    >>> evaluate_stream(problem, model.score_problem(problem))  # doctest: +SKIP
    """
    if problem.truth is None:
        raise ValueError(f"{problem.name!r} has no truth: metrics need labelled members.")
    if isinstance(proba, pd.Series):
        proba = proba.reindex(problem.field.index).to_numpy()
    proba = np.asarray(proba, dtype=float).ravel()
    if len(proba) != problem.n_stars:
        raise ValueError(f"proba has {len(proba)} values, {problem.name!r} has "
                         f"{problem.n_stars} field stars.")
    mask = _rows(problem, rows)
    y = np.asarray(problem.truth, bool)[mask]
    p = np.nan_to_num(proba[mask], nan=0.0)
    pred = p >= threshold
    out = {name: ev._PRED_METRICS[name](y, pred) for name in
           ("precision", "recall", "f1", "f2", "mcc", "balanced_accuracy")}
    out["auroc"] = ev.auroc(y, p)
    out["average_precision"] = ev.average_precision(y, p)
    out["n_stars"] = int(mask.sum())
    out["n_members"] = int(y.sum())
    return out


def gd1_table(results, *, stream=None, include_seed=True):
    """The seed's GD-1 table layout: rows = method, columns R, BA, P, MCC.

    Parameters
    ----------
    results : pandas.DataFrame or dict
        Either a frame indexed by method (or by (stream, method) with ``stream`` given) with
        columns recall, balanced_accuracy, precision, mcc, or ``{method: metrics dict}``.
    stream : str, optional
        Select this stream from a (stream, method) index.
    include_seed : bool, default=True
        Append the seed paper's published rows (:data:`SEED_GD1`).

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns ``R``, ``BA``, ``P``, ``MCC`` rounded to 3 decimals.
    """
    if isinstance(results, dict):
        results = pd.DataFrame(results).T
    if stream is not None:
        results = results.xs(stream, level="stream")
    table = pd.DataFrame({"R": results["recall"], "BA": results["balanced_accuracy"],
                          "P": results["precision"], "MCC": results["mcc"]}).astype(float)
    if include_seed:
        table = pd.concat([table, pd.DataFrame(SEED_GD1).T])
    table.index.name = "method"
    return table.round(3)


# --------------------------------------------------------------------------------------------
# Problems for the protocol
# --------------------------------------------------------------------------------------------
def simulated_gd1_problem(*, n_members=300, n_support=40, foreground_factor=150.0,
                          random_state=None):
    """A GD-1-like membership problem: the simulated GD-1 stream in a simulated foreground.

    Parameters
    ----------
    n_members : int
    n_support : int
    foreground_factor : float
        Foreground stars per member.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        Named ``"GD-1 (simulated)"``.
    """
    import astropy.units as u
    import gala.coordinates as gc

    from astroad_nb.data.streams import GD1_PROGENITOR, simulate_stream_problem

    p = GD1_PROGENITOR
    prog = gc.GD1Koposov10(phi1=p["phi1"] * u.deg, phi2=p["phi2"] * u.deg,
                           distance=p["distance"] * u.kpc,
                           pm_phi1_cosphi2=p["pm_phi1_cosphi2"] * u.mas / u.yr,
                           pm_phi2=p["pm_phi2"] * u.mas / u.yr,
                           radial_velocity=p["radial_velocity"] * u.km / u.s)
    return simulate_stream_problem(n_members=n_members, n_support=n_support,
                                   foreground_factor=foreground_factor, progenitor=prog,
                                   t_integrate=2000.0, name="GD-1 (simulated)",
                                   random_state=random_state)


def gd1_problem_from_selection(root, *, support_fraction=0.5, random_state=None):
    """Real GD-1 field with the file's heuristic selection as (proxy) truth.

    The selection (``selected2``: proper-motion + colour-magnitude polygon) is not ground
    truth, so metrics measure agreement with it. A ``support_fraction`` of the selected stars
    is given as support; the rest must be recovered from the field.

    Parameters
    ----------
    root : path
        Folder with ``gd1_merged.hdf5``.
    support_fraction : float, default=0.5
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        ``photometry="ps1"`` features (no Gaia photometry in the file).
    """
    from astroad_nb.data.streams import read_gd1_dr2

    prob = read_gd1_dr2(root)
    truth = prob.field.index.isin(prob.support)
    prob = dataclasses.replace(prob, truth=truth, support=None, name="GD-1 (DR2, heuristic)")
    n = max(1, int(round(support_fraction * truth.sum())))
    return prob.draw_support(n, random_state=random_state)


# --------------------------------------------------------------------------------------------
# The protocol
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class StreamsRun:
    """What :func:`reproduce_streams` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (stream, method); columns :data:`METRICS` + n_stars, n_members, on the seed's
        evaluation rows (``self_lab == False`` query stars for the seed's fields, else all
        query stars).
    table_query : pandas.DataFrame
        Same, on every query star.
    means : pandas.DataFrame
        Mean of ``table`` over the validation streams (GD-1 rows excluded), index method.
    gd1 : pandas.DataFrame or None
        :func:`gd1_table` of the GD-1 rows (simulated or real-heuristic), seed rows appended.
    config : dict
    seconds : dict
    """

    table: pd.DataFrame
    table_query: pd.DataFrame
    means: pd.DataFrame
    gd1: pd.DataFrame | None
    config: dict
    seconds: dict


def _protocol_sizes(fast):
    if fast:
        return dict(epochs=12, steps_per_epoch=60, fine_tune_epochs=6, fine_tune_steps=20,
                    n_sim_train=8, n_sim_val=3, sim_members=(30, 200), sim_fg=50.0,
                    rf_trees=100)
    return dict(epochs=60, steps_per_epoch=150, fine_tune_epochs=15, fine_tune_steps=40,
                n_sim_train=40, n_sim_val=5, sim_members=(30, 1000), sim_fg=150.0,
                rf_trees=300)


def reproduce_streams(*, fast=None, random_state=0, data_root=None, gd1_root=None,
                      device="auto", verbose=0):
    """Meta-train DeepSets, fine-tune per validation stream, compare with the recursive forest.

    Parameters
    ----------
    fast : bool, optional
        Small sizes (a few minutes on 2 CPU cores); default from ``ASTROAD_FAST``.
    random_state : int, default=0
    data_root : path, optional
        The clusterbusters folder; default ``real_data_path("streams", "clusterbusters")``.
        When absent, training and validation streams are simulated.
    gd1_root : path, optional
        The GD-1 DR2 folder; default ``real_data_path("streams", "gd1_gaia_dr2")``. When
        present, GD-1 is scored with its heuristic selection as proxy truth; otherwise a
        simulated GD-1 is.
    device : str, default="auto"
    verbose : int, default=0

    Returns
    -------
    StreamsRun
    """
    from astroad_nb._config import is_fast, real_data_path
    from astroad_nb.data.streams import read_clusterbusters, simulate_stream_problems
    from astroad_nb.models.deepsets import DeepSetsOneClass
    from astroad_nb.models.forest import RecursiveForest

    fast = is_fast() if fast is None else bool(fast)
    sizes = _protocol_sizes(fast)
    seconds = {}
    t0 = time.perf_counter()
    root = data_root if data_root is not None else real_data_path("streams", "clusterbusters")
    rng = np.random.default_rng(random_state)
    if root is not None:
        cb = read_clusterbusters(root)
        train, validation, source = cb.train, cb.validation, "clusterbusters"
    else:
        sims = simulate_stream_problems(
            sizes["n_sim_train"] + sizes["n_sim_val"], random_state=rng, n_support=(5, 30),
            n_members=sizes["sim_members"], foreground_factor=sizes["sim_fg"])
        train, validation = sims[:sizes["n_sim_train"]], sims[sizes["n_sim_train"]:]
        source = "simulated"
    gd1_root = gd1_root if gd1_root is not None else real_data_path("streams", "gd1_gaia_dr2")
    if gd1_root is not None:
        gd1 = gd1_problem_from_selection(gd1_root, random_state=rng)
        gd1_photometry = "ps1"
    else:
        gd1 = simulated_gd1_problem(n_members=150 if fast else 500,
                                    foreground_factor=sizes["sim_fg"], random_state=rng)
        gd1_photometry = "gaia"
    seconds["data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = DeepSetsOneClass(epochs=sizes["epochs"], steps_per_epoch=sizes["steps_per_epoch"],
                             fine_tune_epochs=sizes["fine_tune_epochs"],
                             fine_tune_steps=sizes["fine_tune_steps"], device=device,
                             random_state=random_state, verbose=verbose)
    model.meta_fit(train)
    seconds["meta_train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    records, records_q = [], []
    for problem in list(validation) + [gd1]:
        photometry = gd1_photometry if problem is gd1 else "gaia"
        meta = copy.deepcopy(model).set_params(photometry=photometry)
        probas = {"DeepSets (meta-trained)": meta.score_problem(problem)}
        tuned = meta.fine_tune(problem) if problem.n_support >= 2 else meta
        probas["DeepSets (fine-tuned)"] = tuned.score_problem(problem)
        forest = RecursiveForest(n_estimators=sizes["rf_trees"], photometry=photometry,
                                 random_state=random_state).fit(problem)
        probas["Random forest (recursive)"] = forest.proba_
        seed_rows = "self_lab" in problem.field.columns
        for method, proba in probas.items():
            key = {"stream": problem.name, "method": method}
            q = evaluate_stream(problem, proba, rows="query")
            records_q.append({**key, **q})
            records.append({**key, **(evaluate_stream(problem, proba, rows="seed_test")
                                      if seed_rows else q)})
    seconds["validate"] = time.perf_counter() - t0

    table = pd.DataFrame(records).set_index(["stream", "method"])
    table_query = pd.DataFrame(records_q).set_index(["stream", "method"])
    val_names = [p.name for p in validation]
    means = table.loc[val_names].groupby(level="method", sort=False)[list(METRICS)].mean()
    gd1_tab = gd1_table(table, stream=gd1.name)
    config = {"source": source, "fast": fast, "random_state": random_state,
              "n_train_streams": len(train), "validation_streams": val_names,
              "gd1": gd1.name, "model": model.get_params(), **sizes}
    return StreamsRun(table=table, table_query=table_query, means=means, gd1=gd1_tab,
                      config=config, seconds=seconds)
