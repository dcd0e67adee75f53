"""Metrics and evaluation protocols.

Conventions: ``y_true`` is 1 for an anomaly / positive and 0 for a normal object; scores are
*anomaly scores* (higher = more anomalous, e.g. ``detector.anomaly_score(X)``).

Protocols
---------
:func:`leave_one_subclass_out`
    The ALeRCE anomaly-detector protocol (Pérez-Carrasco et al. 2023): within each top class one
    subclass at a time is held out as the anomaly, a detector is trained on the other subclasses
    of that class and AUROC is measured with k-fold cross-validation. Rows = methods,
    columns = subclasses (their Table 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

__all__ = [
    "auroc",
    "average_precision",
    "precision",
    "recall",
    "f1",
    "f2",
    "mcc",
    "balanced_accuracy",
    "accuracy",
    "summary",
    "anomaly_scores_of",
    "leave_one_subclass_out",
    "LOSOResult",
    "PRED_METRICS",
    "threshold_metrics",
    "confusion_counts",
    "per_group_table",
    "STREAM_METRICS",
    "SEED_GD1",
    "stream_rows",
    "evaluate_stream",
    "gd1_table",
]


# --------------------------------------------------------------------------- helpers
def _as_binary_truth(y_true) -> np.ndarray:
    y = np.asarray(y_true).ravel()
    if y.dtype == bool:
        return y.astype(int)
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(
            f"y_true must hold 0 (normal) and 1 (anomaly), got values {sorted(values)[:10]}; "
            "convert labels first, e.g. y_true = (subclass == 'SLSN').astype(int)."
        )
    return y.astype(int)


def _as_binary_pred(y_pred) -> np.ndarray:
    """Predictions as 0/1 (1 = anomaly). Accepts 0/1, bools, or scikit-learn's +1/-1."""
    p = np.asarray(y_pred).ravel()
    if p.dtype == bool:
        return p.astype(int)
    values = set(np.unique(p).tolist())
    if values <= {0, 1}:
        return p.astype(int)
    if values <= {-1, 1}:
        return (p == -1).astype(int)  # scikit-learn outlier convention: -1 = outlier
    raise ValueError(
        f"predictions must be 0/1 (1 = anomaly) or scikit-learn's +1/-1 (-1 = outlier), got "
        f"values such as {sorted(values)[:5]}; pass scores to auroc/average_precision instead."
    )


def _check_lengths(a, b):
    if len(a) != len(b):
        raise ValueError(f"y_true has {len(a)} entries but the scores/predictions have {len(b)}.")


# --------------------------------------------------------------------------- metrics
def auroc(y_true, scores) -> float:
    """Area under the ROC curve of anomaly scores (higher = more anomalous)."""
    y, s = _as_binary_truth(y_true), np.asarray(scores, dtype=float).ravel()
    _check_lengths(y, s)
    if not np.isfinite(s).all():
        raise ValueError(f"scores hold {int((~np.isfinite(s)).sum())} non-finite values.")
    if y.min() == y.max():
        return float("nan")  # undefined with one class present
    return float(skm.roc_auc_score(y, s))


def average_precision(y_true, scores) -> float:
    """Average precision (area under the precision-recall curve) of anomaly scores."""
    y, s = _as_binary_truth(y_true), np.asarray(scores, dtype=float).ravel()
    _check_lengths(y, s)
    if y.max() == 0:
        return float("nan")
    return float(skm.average_precision_score(y, s))


def _pred_metric(fn, **kw):
    def metric(y_true, y_pred) -> float:
        y, p = _as_binary_truth(y_true), _as_binary_pred(y_pred)
        _check_lengths(y, p)
        return float(fn(y, p, **kw))

    return metric


precision = _pred_metric(skm.precision_score, zero_division=0)
precision.__doc__ = "Precision of 0/1 (or +1/−1) predictions, 1 = anomaly."
recall = _pred_metric(skm.recall_score, zero_division=0)
recall.__doc__ = "Recall (true positive rate) of predictions, 1 = anomaly."
f1 = _pred_metric(skm.f1_score, zero_division=0)
f1.__doc__ = "F1 score of predictions, 1 = anomaly."
f2 = _pred_metric(skm.fbeta_score, beta=2, zero_division=0)
f2.__doc__ = "F2 score (recall weighted twice as much as precision) of predictions."
mcc = _pred_metric(skm.matthews_corrcoef)
mcc.__doc__ = "Matthews correlation coefficient of predictions."
balanced_accuracy = _pred_metric(skm.balanced_accuracy_score)
balanced_accuracy.__doc__ = "Balanced accuracy (mean of TPR and TNR) of predictions."
accuracy = _pred_metric(skm.accuracy_score)
accuracy.__doc__ = "Accuracy of predictions."

_PRED_METRICS = {
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "f2": f2,
    "mcc": mcc,
    "balanced_accuracy": balanced_accuracy,
    "accuracy": accuracy,
}


def _is_prediction(values: np.ndarray) -> bool:
    if values.dtype == bool:
        return True
    uniq = np.unique(values)
    return len(uniq) <= 2 and (set(uniq.tolist()) <= {0, 1} or set(uniq.tolist()) <= {-1, 1})


def summary(y_true, score_or_pred, *, threshold="prevalence") -> pd.DataFrame:
    """All metrics in one table.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 = anomaly, 0 = normal.
    score_or_pred : array-like of shape (n,)
        Either anomaly scores (higher = more anomalous) or predictions (0/1 with 1 = anomaly,
        or scikit-learn's +1/−1 with −1 = outlier).
    threshold : "prevalence", float, or None, default="prevalence"
        For scores only: how to turn them into predictions for the threshold metrics.
        ``"prevalence"`` flags the top-k scores with k = the number of true anomalies
        (so precision = recall, "R-precision"); a float flags ``score >= threshold``.

    Returns
    -------
    pandas.DataFrame
        Index = metric names (auroc, average_precision, precision, recall, f1, f2, mcc,
        balanced_accuracy, accuracy), one column ``value``. AUROC and AP are NaN when only
        predictions are given. ``.attrs["threshold"]`` holds the threshold used.
    """
    y = _as_binary_truth(y_true)
    values = np.asarray(score_or_pred).ravel()
    _check_lengths(y, values)
    out: dict[str, float] = {}
    used = None
    if _is_prediction(values):
        pred = _as_binary_pred(values)
        out["auroc"] = out["average_precision"] = float("nan")
    else:
        scores = values.astype(float)
        out["auroc"] = auroc(y, scores)
        out["average_precision"] = average_precision(y, scores)
        if threshold == "prevalence":
            k = int(y.sum())
            order = np.argsort(-scores, kind="stable")
            pred = np.zeros_like(y)
            pred[order[:k]] = 1
            used = float(scores[order[k - 1]]) if k > 0 else float("inf")
        elif threshold is None:
            raise ValueError("threshold=None needs predictions; pass 'prevalence' or a float.")
        else:
            used = float(threshold)
            pred = (scores >= used).astype(int)
    for name, fn in _PRED_METRICS.items():
        out[name] = fn(y, pred)
    table = pd.DataFrame({"value": out})
    table.index.name = "metric"
    table.attrs["threshold"] = used
    return table


def anomaly_scores_of(estimator, X) -> np.ndarray:
    """Anomaly scores (higher = more anomalous) of any fitted detector or pipeline.

    Uses ``anomaly_score`` when present, else ``-score_samples``, else ``-decision_function``
    (scikit-learn's convention: lower = more abnormal).
    """
    if hasattr(estimator, "anomaly_score"):
        return np.asarray(estimator.anomaly_score(X), dtype=float)
    if hasattr(estimator, "score_samples"):
        return -np.asarray(estimator.score_samples(X), dtype=float)
    if hasattr(estimator, "decision_function"):
        return -np.asarray(estimator.decision_function(X), dtype=float)
    raise TypeError(
        f"{type(estimator).__name__} has no anomaly_score, score_samples or decision_function."
    )


# --------------------------------------------------------------------------- thresholded
#: Names of the threshold metrics, in the order :func:`threshold_metrics` returns them.
PRED_METRICS = tuple(_PRED_METRICS)


def threshold_metrics(y_true, y_pred, names=PRED_METRICS) -> dict:
    """Several threshold metrics of 0/1 predictions at once.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 = positive (anomaly, member, real), 0 = negative.
    y_pred : array-like of shape (n,)
        0/1 (or bool, or scikit-learn's +1/-1) predictions.
    names : sequence of str, default=PRED_METRICS
        Any of precision, recall, f1, f2, mcc, balanced_accuracy, accuracy.

    Returns
    -------
    dict[str, float]

    Raises
    ------
    ValueError
        If a name is unknown (the message lists the known ones).
    """
    unknown = [n for n in names if n not in _PRED_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(PRED_METRICS)}.")
    return {n: _PRED_METRICS[n](y_true, y_pred) for n in names}


def confusion_counts(y_true, y_pred) -> dict:
    """``tp``, ``fp``, ``fn``, ``tn`` of 0/1 predictions (1 = positive), as ints."""
    y, p = _as_binary_truth(y_true), _as_binary_pred(y_pred)
    _check_lengths(y, p)
    return {"tp": int(((p == 1) & (y == 1)).sum()), "fp": int(((p == 1) & (y == 0)).sum()),
            "fn": int(((p == 0) & (y == 1)).sum()), "tn": int(((p == 0) & (y == 0)).sum())}


def per_group_table(y_true, p, groups, *, threshold=0.5, name="group") -> pd.DataFrame:
    """Accuracy of probabilistic predictions per group (e.g. per kind of bogus triplet).

    Parameters
    ----------
    y_true : array-like of int of shape (n,)
        1 / 0 truth.
    p : array-like of float of shape (n,)
        Predicted probability of class 1; ``p >= threshold`` predicts 1.
    groups : array-like of shape (n,)
        Group of each row.
    threshold : float, default=0.5
    name : str, default="group"
        Name of the index.

    Returns
    -------
    pandas.DataFrame
        Index = group; ``n``, ``mean_p`` (mean predicted probability), ``accuracy``, sorted
        from the hardest (lowest accuracy) group to the easiest.
    """
    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(p, dtype=float).ravel()
    _check_lengths(y, p)
    frame = pd.DataFrame({name: np.asarray(groups).ravel(), "p": p,
                          "ok": (p >= threshold).astype(int) == y})
    out = frame.groupby(name).agg(n=("p", "size"), mean_p=("p", "mean"),
                                  accuracy=("ok", "mean"))
    return out.sort_values("accuracy", kind="stable")


# --------------------------------------------------------------------------- streams
#: The stream-membership metrics of :func:`evaluate_stream`, in table order.
STREAM_METRICS = ("precision", "recall", "f1", "f2", "mcc", "balanced_accuracy", "auroc",
                  "average_precision")

#: What the seed's GD-1 rows were measured on (its ``fine_tune_gd1.py`` and
#: ``Recursive_RF_GD1.ipynb``): a Gaia DR2 field pre-filtered with a Pan-STARRS g-i
#: colour-magnitude mask, Gaia G, BP, RP as the photometric features; truth = the seed's own
#: member list (proper-motion, PS1 colour-magnitude and stream-track masks), ~10 % of the
#: members known, scored on its held-out rows.
SEED_GD1_DATA = "Gaia DR2 field, PS1 CMD pre-filter, Gaia G/BP/RP features (seed's field)"
SEED_GD1_TRUTH = "seed's member list (PM + PS1 CMD + track masks), held-out rows"

#: The seed paper's GD-1 table (recall, balanced accuracy, precision, MCC), labelled with the
#: data and the truth it was measured on (columns ``data``, ``truth`` of :func:`gd1_table`).
SEED_GD1 = {
    "DeepSets fine-tuned (seed paper)": {"R": 0.981, "BA": 0.984, "P": 0.341, "MCC": 0.574,
                                         "data": SEED_GD1_DATA, "truth": SEED_GD1_TRUTH},
    "Random forest (seed paper)": {"R": 0.869, "BA": 0.930, "P": 0.402, "MCC": 0.587,
                                   "data": SEED_GD1_DATA, "truth": SEED_GD1_TRUTH},
}


def stream_rows(problem, rows="query") -> np.ndarray:
    """Boolean mask of the field stars a stream's metrics are computed on.

    Parameters
    ----------
    problem : StreamProblem
    rows : {"query", "seed_test"}, default="query"
        ``"query"``: every star not in the support set. ``"seed_test"``: query stars with
        ``self_lab == False`` (the seed's ``half_test`` rows of its validation fields).
    """
    if rows not in ("query", "seed_test"):
        raise ValueError(f"rows must be 'query' or 'seed_test', got {rows!r}.")
    mask = problem.query_mask.copy()
    if rows == "seed_test":
        if "self_lab" not in problem.field.columns:
            raise ValueError(f"{problem.name!r} has no 'self_lab' column: the seed's test split "
                             "exists only for its validation fields; use rows='query'.")
        mask &= ~problem.field["self_lab"].astype(bool).to_numpy()
    return mask


def evaluate_stream(problem, proba, threshold=0.5, *, rows="query") -> dict:
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
    rows : {"query", "seed_test"}, default="query"
        See :func:`stream_rows`.

    Returns
    -------
    dict
        :data:`STREAM_METRICS` (thresholded ones and the threshold-free auroc and
        average_precision), plus n_stars and n_members of the rows scored.
    """
    if problem.truth is None:
        raise ValueError(f"{problem.name!r} has no truth: metrics need labelled members.")
    if isinstance(proba, pd.Series):
        proba = proba.reindex(problem.field.index).to_numpy()
    proba = np.asarray(proba, dtype=float).ravel()
    if len(proba) != problem.n_stars:
        raise ValueError(f"proba has {len(proba)} values, {problem.name!r} has "
                         f"{problem.n_stars} field stars.")
    mask = stream_rows(problem, rows)
    y = np.asarray(problem.truth, bool)[mask]
    p = np.nan_to_num(proba[mask], nan=0.0)
    out = threshold_metrics(y, p >= threshold, STREAM_METRICS[:6])
    out["auroc"] = auroc(y, p)
    out["average_precision"] = average_precision(y, p)
    out["n_stars"] = int(mask.sum())
    out["n_members"] = int(y.sum())
    return out


def gd1_table(results, *, stream=None, include_seed=True, data=None,
              truth=None) -> pd.DataFrame:
    """The seed's GD-1 table layout: rows = method, columns R, BA, P, MCC, data, truth.

    Parameters
    ----------
    results : pandas.DataFrame or dict
        A frame indexed by method (or by (stream, method) with ``stream`` given) with columns
        recall, balanced_accuracy, precision, mcc; or ``{method: metrics dict}``.
    stream : str, optional
        Select this stream from a (stream, method) index.
    include_seed : bool, default=True
        Append the seed paper's published rows (:data:`SEED_GD1`), labelled with the data
        and truth they were measured on.
    data, truth : str, optional
        What our rows were measured on (the field, and what counts as a member: a
        simulation's truth, or a heuristic selection such as ``selected2``). Without them the
        columns say "not stated" so that no row passes for the seed's measurement.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns ``R``, ``BA``, ``P``, ``MCC`` (rounded to 3 decimals),
        ``data`` and ``truth`` (str).
    """
    if isinstance(results, dict):
        results = pd.DataFrame(results).T
    if stream is not None:
        results = results.xs(stream, level="stream")
    table = pd.DataFrame({"R": results["recall"], "BA": results["balanced_accuracy"],
                          "P": results["precision"], "MCC": results["mcc"]}).astype(float)
    table = table.round(3)
    table["data"] = data if data is not None else "not stated"
    table["truth"] = truth if truth is not None else "not stated"
    if include_seed:
        seed = pd.DataFrame(SEED_GD1).T
        for col in ("R", "BA", "P", "MCC"):
            seed[col] = seed[col].astype(float)
        table = pd.concat([table, seed[list(table.columns)]])
    table.index.name = "method"
    return table


# --------------------------------------------------------------------------- protocol
@dataclass
class LOSOResult:
    """Result of :func:`leave_one_subclass_out`.

    Attributes
    ----------
    folds : DataFrame
        One row per (method, top_class, subclass, fold): auroc, n_train, n_test_inliers,
        n_test_outliers, fit_seconds, score_seconds.
    mean, std : DataFrame
        AUROC mean and standard deviation over folds; rows = methods, columns = subclasses
        (grouped by top class).
    top_class : dict
        subclass -> top class.
    """

    folds: pd.DataFrame
    mean: pd.DataFrame
    std: pd.DataFrame
    top_class: dict = field(default_factory=dict)

    def table(self, digits: int = 2) -> pd.DataFrame:
        """Table 1 as strings ``"0.83 ± 0.02"`` (methods × subclasses)."""
        fmt = f"{{:.{digits}f}} ± {{:.{digits}f}}"
        return pd.DataFrame(
            [[fmt.format(m, s) if np.isfinite(m) else "—" for m, s in zip(mr, sr)]
             for mr, sr in zip(self.mean.to_numpy(), self.std.to_numpy())],
            index=self.mean.index,
            columns=self.mean.columns,
        )

    def by_top_class(self) -> pd.DataFrame:
        """Mean AUROC per method and top class (average over that class's subclasses)."""
        groups: dict[str, list[str]] = {}
        for sub in self.mean.columns:
            groups.setdefault(self.top_class.get(sub, "?"), []).append(sub)
        return pd.DataFrame({top: self.mean[subs].mean(axis=1) for top, subs in groups.items()})

    def __str__(self) -> str:
        with pd.option_context("display.width", 250, "display.max_columns", 50):
            return self.table().to_string()

    def to_json_dict(self) -> dict:
        """Plain dict (JSON-serialisable) of the mean/std tables and per-fold rows."""
        return {
            "mean": {m: {k: _nan_none(v) for k, v in row.items()}
                     for m, row in self.mean.to_dict(orient="index").items()},
            "std": {m: {k: _nan_none(v) for k, v in row.items()}
                    for m, row in self.std.to_dict(orient="index").items()},
            "top_class": dict(self.top_class),
            "folds": self.folds.to_dict(orient="records"),
        }


def _nan_none(v):
    return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)


def leave_one_subclass_out(
    X,
    subclass,
    methods,
    *,
    top_class=None,
    preprocessor=None,
    n_splits: int = 5,
    random_state=None,
    verbose: int = 0,
    min_outliers: int = 2,
    n_jobs: int | None = None,
) -> LOSOResult:
    """Leave-one-subclass-out AUROC, the ALeRCE anomaly detector's Table 1 protocol.

    For every top class T and every subclass s of T: the *inliers* are T's objects of the other
    subclasses, the *outliers* are the objects of s. Inliers are split into ``n_splits``
    stratified folds (by subclass), outliers into ``n_splits`` folds; each method is trained
    on the other folds' inliers (with their subclass labels as ``y``, which unsupervised
    detectors ignore and ``MultiClassDeepSVDD`` uses) and scored on the held-out inliers plus
    that fold's outliers. AUROC is averaged over folds. Holding outliers out by fold too means
    every outlier is scored exactly once and test sets keep a constant outlier ratio.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_objects, n_features)
        Features (NaN allowed only if ``preprocessor`` removes them).
    subclass : array-like of shape (n_objects,)
        Subclass names (e.g. ``"SNIa"``).
    methods : dict[str, estimator]
        Name -> unfitted detector (cloned per fold). Any object with ``fit`` and one of
        ``anomaly_score`` / ``score_samples`` / ``decision_function``.
    top_class : array-like of shape (n_objects,) or dict, optional
        Top class per object, or a subclass -> top-class mapping. Default: the ALeRCE
        taxonomy (:data:`astroad_nb.data.lightcurves.TOP_CLASS`).
    preprocessor : transformer, optional
        Cloned and fitted on each fold's training inliers, applied before every method.
    n_splits : int, default=5
    random_state : int or None
        Seeds the fold split and, when a method has a ``random_state`` left at None, the method.
    verbose : int
        1 shows a progress bar.
    min_outliers : int, default=2
        Subclasses with fewer objects are skipped (NaN in the table).
    n_jobs : int or None
        Folds run in this many worker processes (joblib/loky, one thread each; -1 = all
        cores). ``None``/1 runs in this process. Results are identical either way.

    Returns
    -------
    LOSOResult
    """
    subclass = np.asarray(subclass).astype(str)
    n = len(subclass)
    if hasattr(X, "iloc"):
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows but subclass has {n} entries.")
        take = lambda idx: X.iloc[idx]  # noqa: E731
    else:
        X = np.asarray(X)
        if X.shape[0] != n:
            raise ValueError(f"X has {X.shape[0]} rows but subclass has {n} entries.")
        take = lambda idx: X[idx]  # noqa: E731
    if not methods:
        raise ValueError("methods is empty; pass e.g. {'IForest': IForest()}.")

    if top_class is None:
        from astroad_nb.data.lightcurves import TOP_CLASS  # data floor: allowed below us

        mapping = dict(TOP_CLASS)
        unknown = sorted(set(subclass) - set(mapping))
        if unknown:
            raise ValueError(
                f"subclasses {unknown} are not in the ALeRCE taxonomy; pass top_class=..."
            )
        tops = np.array([mapping[s] for s in subclass])
    elif isinstance(top_class, dict):
        mapping = dict(top_class)
        missing = sorted(set(subclass) - set(mapping))
        if missing:
            raise ValueError(f"top_class mapping lacks subclasses {missing}.")
        tops = np.array([mapping[s] for s in subclass])
    else:
        tops = np.asarray(top_class).astype(str)
        if len(tops) != n:
            raise ValueError(f"top_class has {len(tops)} entries, expected {n}.")
        mapping = {}
        for s, t in zip(subclass, tops):
            if mapping.setdefault(s, t) != t:
                raise ValueError(f"subclass {s!r} appears under top classes {mapping[s]!r} and {t!r}.")

    seed_seq = np.random.SeedSequence(random_state if random_state is not None else None)
    order_tops = list(dict.fromkeys(mapping[s] for s in _ordered_subclasses(mapping, subclass)))
    jobs = []
    for top in order_tops:
        subs = [s for s in _ordered_subclasses(mapping, subclass) if mapping[s] == top]
        for held in subs:
            jobs.append((top, held))

    rows, tasks = [], []
    for (top, held), child in zip(jobs, seed_seq.spawn(len(jobs))):
        split_seed = int(child.generate_state(1)[0])
        in_idx = np.flatnonzero((tops == top) & (subclass != held))
        out_idx = np.flatnonzero(subclass == held)
        if len(out_idx) < min_outliers or len(in_idx) < n_splits * 2:
            for name in methods:
                rows.append(dict(method=name, top_class=top, subclass=held, fold=-1,
                                 auroc=np.nan, n_train=0, n_test_inliers=0,
                                 n_test_outliers=len(out_idx), fit_seconds=np.nan,
                                 score_seconds=np.nan))
            continue
        sub_in = subclass[in_idx]
        k_out = min(n_splits, len(out_idx))
        strat_ok = np.min(np.unique(sub_in, return_counts=True)[1]) >= n_splits
        in_split = (StratifiedKFold(n_splits, shuffle=True, random_state=split_seed).split(in_idx, sub_in)
                    if strat_ok else KFold(n_splits, shuffle=True, random_state=split_seed).split(in_idx))
        out_folds = list(KFold(k_out, shuffle=True, random_state=split_seed).split(out_idx))
        for fold, (tr, te) in enumerate(in_split):
            tasks.append(dict(top=top, held=held, fold=fold, seed=split_seed,
                              train=in_idx[tr], test_in=in_idx[te],
                              test_out=out_idx[out_folds[fold % k_out][1]]))

    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(tasks), desc="leave-one-subclass-out folds")

    def run(task):
        return _run_fold(task, take(task["train"]),
                         take(np.concatenate([task["test_in"], task["test_out"]])),
                         subclass, methods, preprocessor, random_state)

    if n_jobs in (None, 1) or len(tasks) <= 1:
        results = map(run, tasks)
    else:
        from joblib import Parallel, delayed, parallel_config

        # One BLAS/OpenMP thread per worker: the networks are small, so processes scale and
        # threads only fight over the cores.
        with parallel_config(backend="loky", inner_max_num_threads=1):
            results = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_run_fold)(task, take(task["train"]),
                                   take(np.concatenate([task["test_in"], task["test_out"]])),
                                   subclass, methods, preprocessor, random_state)
                for task in tasks)
    for fold_rows in results:
        rows.extend(fold_rows)
        if progress is not None:
            progress.update(1)
    if progress is not None:
        progress.close()

    folds = pd.DataFrame(rows)
    columns = [s for s in _ordered_subclasses(mapping, subclass)]
    grouped = folds.groupby(["method", "subclass"], sort=False)["auroc"]
    mean = grouped.mean().unstack("subclass").reindex(index=list(methods), columns=columns)
    std = grouped.std(ddof=0).unstack("subclass").reindex(index=list(methods), columns=columns)
    mean.index.name = std.index.name = "method"
    mean.columns.name = std.columns.name = "subclass"
    return LOSOResult(folds=folds, mean=mean, std=std,
                      top_class={s: mapping[s] for s in columns})


def _run_fold(task, X_train, X_test, subclass, methods, preprocessor, random_state) -> list[dict]:
    """Fit and score every method on one (held-out subclass, fold) split."""
    train, test_in, test_out = task["train"], task["test_in"], task["test_out"]
    y_test = np.r_[np.zeros(len(test_in), int), np.ones(len(test_out), int)]
    if preprocessor is not None:
        prep = clone(preprocessor).fit(X_train)
        X_train, X_test = prep.transform(X_train), prep.transform(X_test)
    rows = []
    for name, method in methods.items():
        est = clone(method)
        params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
        if "random_state" in params and params["random_state"] is None and random_state is not None:
            est.set_params(random_state=(task["seed"] + task["fold"]) % (2**31 - 1))
        t0 = time.perf_counter()
        est.fit(X_train, subclass[train])
        t1 = time.perf_counter()
        scores = anomaly_scores_of(est, X_test)
        t2 = time.perf_counter()
        rows.append(dict(method=name, top_class=task["top"], subclass=task["held"],
                         fold=task["fold"], auroc=auroc(y_test, scores), n_train=len(train),
                         n_test_inliers=len(test_in), n_test_outliers=len(test_out),
                         fit_seconds=t1 - t0, score_seconds=t2 - t1))
    return rows


def _ordered_subclasses(mapping: dict, present) -> list[str]:
    """Subclasses present, in the ALeRCE taxonomy order when known, else first-seen order."""
    present = list(dict.fromkeys(np.asarray(present).tolist()))
    try:
        from astroad_nb.data.lightcurves import SUBCLASSES

        canonical = [s for subs in SUBCLASSES.values() for s in subs]
    except ImportError:  # pragma: no cover - the data module ships with the package
        canonical = []
    ordered = [s for s in canonical if s in present]
    ordered += [s for s in present if s not in ordered]
    # keep top classes contiguous
    tops = list(dict.fromkeys(mapping[s] for s in ordered))
    return [s for t in tops for s in ordered if mapping[s] == t]


# --------------------------------------------------------------------------- real/bogus (RB-C1000)
#: Metric names of the RB-C1000 tables, in the seed's order (1 = real is the positive class).
METRICS = ("Pre", "Acc", "Rec", "F1", "MCC", "AP")


def selection_scores(y_true, p_real, *, threshold=0.5) -> dict:
    """The RB-C1000 metrics of ``p(real)`` against true labels (1 = real is positive).

    Also the ``eval_metric`` that :class:`astroad_nb.models.RealBogusCNN` selects its epoch
    with (``fit(..., eval_metric=selection_scores, eval_key="Sum")``).

    Parameters
    ----------
    y_true : array-like of int of shape (n,)
        1 = real, 0 = bogus.
    p_real : array-like of float of shape (n,)
        Predicted probability of "real".
    threshold : float, default=0.5
        ``p_real >= threshold`` is predicted real (Pre, Acc, Rec, F1, MCC); AP uses the scores.

    Returns
    -------
    dict
        ``Pre``, ``Acc``, ``Rec``, ``F1``, ``MCC``, ``AP`` and ``Sum``. ``Sum`` is the seed's
        single model-selection number: the mean of the six metrics (NaN ones count as 0).

    Examples
    --------
    >>> s = selection_scores([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6])
    >>> s["Pre"], s["Rec"], s["MCC"]
    (0.5, 0.5, 0.0)
    """
    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(p_real, dtype=float).ravel()
    pred = (p >= threshold).astype(int)
    out = {"Pre": precision(y, pred), "Acc": accuracy(y, pred), "Rec": recall(y, pred),
           "F1": f1(y, pred), "MCC": mcc(y, pred), "AP": average_precision(y, p)}
    out["Sum"] = float(np.mean([0.0 if not np.isfinite(v) else v for v in out.values()]))
    return out


_METRIC_KEYS = {m.lower(): m for m in (*METRICS, "Sum")}
_METRIC_KEYS.update({"precision": "Pre", "accuracy": "Acc", "recall": "Rec",
                     "average_precision": "AP"})


def metric_key(name) -> str:
    """Canonical RB-C1000 metric name (``"sum"`` -> ``"Sum"``, ``"precision"`` -> ``"Pre"``).

    Parameters
    ----------
    name : str
        Any case; ``precision``, ``accuracy``, ``recall`` and ``average_precision`` too.

    Returns
    -------
    str
        One of :data:`METRICS` or ``"Sum"`` (a key of :func:`selection_scores`).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    key = _METRIC_KEYS.get(str(name).lower())
    if key is None:
        raise ValueError(f"unknown metric {name!r}; choose from {[*METRICS, 'Sum']}.")
    return key


__all__ += ["METRICS", "metric_key", "selection_scores"]


# --------------------------------------------------------------------------- RB-C1000, as the seed reports it
def seed_average_precision(y_true, p_real, *, threshold=0.5) -> float:
    """The RB-C1000 seed's "AP": precision along the ranked predicted positives.

    Not scikit-learn's average precision (:func:`average_precision`, the area under the whole
    precision-recall curve of ``p_real``). The seed takes only the triplets *predicted* real
    (``p_real > threshold``), ranks them by the classifier's confidence ``max(p_real,
    1 - p_real)`` (its max-softmax; for predicted positives this is ``p_real``), and averages,
    over the truly real ones among them, the precision of the ranked list down to each of them.
    Real triplets predicted bogus do not enter, so it rewards a confident, pure positive list
    and ignores recall.

    Parameters
    ----------
    y_true : array-like of int of shape (n,)
        1 = real, 0 = bogus.
    p_real : array-like of float of shape (n,)
        Predicted probability of "real".
    threshold : float, default=0.5
        ``p_real > threshold`` is predicted real (strictly greater, as the seed).

    Returns
    -------
    float in [0, 1]
        0 when nothing is predicted real or no predicted positive is real (the seed returns 0
        for the empty and the one-wrong list; for several wrong ones its code fails, here 0).
        Ties in confidence keep the input order (stable sort).

    Examples
    --------
    >>> seed_average_precision([1, 0, 1, 1], [0.9, 0.8, 0.7, 0.2])  # ranked: 1, 0, 1
    0.8333333333333333
    """
    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(p_real, dtype=float).ravel()
    _check_lengths(y, p)
    positive = p > threshold
    if not positive.any():
        return 0.0
    conf = np.maximum(p[positive], 1.0 - p[positive])
    hits = (y[positive] == 1)[np.argsort(-conf, kind="stable")]
    if not hits.any():
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


def seed_scores(y_true, p_real, *, threshold=0.5) -> dict:
    """The RB-C1000 metrics both as the seed reports them and as :func:`selection_scores` does.

    Parameters
    ----------
    y_true : array-like of int of shape (n,)
        1 = real, 0 = bogus.
    p_real : array-like of float of shape (n,)
        Predicted probability of "real".
    threshold : float, default=0.5
        ``p_real >= threshold`` is predicted real for Pre, Acc, Rec, F1, MCC (as
        :func:`selection_scores`; the seed's ``>`` differs only for ``p_real == threshold``).

    Returns
    -------
    dict
        ``Pre``, ``Acc``, ``Rec``, ``F1``, ``MCC``; ``AP`` (scikit-learn's average precision of
        ``p_real``) and ``AP_seed`` (:func:`seed_average_precision`); ``Sum_pct``: the seed's
        "Sum", Pre + Acc + Rec + F1 + MCC + AP_seed, in % (at most 600); ``Mean``: ours, the
        mean of Pre, Acc, Rec, F1, MCC and scikit-learn's AP (in [-1/6, 1]; the ``Sum`` of
        :func:`selection_scores`). NaN metrics count as 0 in both.

    Examples
    --------
    >>> s = seed_scores([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])
    >>> s["Sum_pct"], s["Mean"]
    (600.0, 1.0)
    """
    base = selection_scores(y_true, p_real, threshold=threshold)
    out = {m: base[m] for m in METRICS}
    out["AP_seed"] = seed_average_precision(y_true, p_real, threshold=threshold)
    finite = {k: (0.0 if not np.isfinite(v) else float(v)) for k, v in out.items()}
    out["Sum_pct"] = 100.0 * sum(finite[m] for m in ("Pre", "Acc", "Rec", "F1", "MCC",
                                                     "AP_seed"))
    out["Mean"] = base["Sum"]
    return out


#: The seed's published ZTF-NEWg stage table (its README): Sum in %, and ITS accuracy / recall.
SEED_REALBOGUS_SUM_PCT = {"ITS": 582.4, "ALS": 589.8, "SSLS R=1": 591.3, "SSLS R=2": 592.5,
                          "SSLS R=3": 593.5, "SSLS R=4": 593.4, "SSLS R=5": 593.3}

__all__ += ["seed_average_precision", "seed_scores", "SEED_REALBOGUS_SUM_PCT"]


# --------------------------------------------------------------------------- galaxy score overlap
#: The galaxy seed's histogram bins of A (``linspace(0, 0.1, 100)``) and stellar-mass bin edges.
SEED_OVERLAP_BINS = np.linspace(0.0, 0.1, 100)
SEED_MASS_EDGES = (9.0, 10.29, 11.40, 12.5)


def histogram_overlap(a, b, bins=SEED_OVERLAP_BINS, *, normalize=True) -> float:
    """The galaxy seed's overlap of two score distributions, ``sum(min(h1, h2)) / sum(h1)``.

    Parameters
    ----------
    a : array-like of float of shape (n_a,)
        Reference scores (``h1``, e.g. the observed galaxies' A).
    b : array-like of float of shape (n_b,)
        Compared scores (``h2``, e.g. a simulated set's A).
    bins : array-like of float, default=SEED_OVERLAP_BINS
        Bin edges (the seed's ``linspace(0, 0.1, 100)``); values outside them are not counted.
    normalize : bool, default=True
        Each histogram as fractions of its own set (``counts / n``), so sets of different
        sizes compare (the seed compared 643k SDSS images with a few thousand simulated ones).
        ``False``: raw counts.

    Returns
    -------
    float
        In [0, 1] (``normalize=True``): 1 = identical histograms, 0 = disjoint. NaN when
        ``a`` has no value inside the bins (or either set is empty).

    Notes
    -----
    Asymmetric: the denominator is ``a``'s histogram only. With ``normalize=True`` the
    numerator is symmetric, so ``overlap(a, b) != overlap(b, a)`` only when the two sets have
    different fractions of their values inside the bins (e.g. a simulated set whose A often
    exceeds 0.1: ``overlap(observed, sim)`` stays a share of the observed histogram, while
    ``overlap(sim, observed)`` divides by the smaller in-range part of the simulated one).
    With raw counts, sets of different sizes also differ.

    Small sets lower it even for one distribution: with the seed's 100 bins of width 0.001,
    two samples of a log-normal A (median 0.039, sigma 0.6) overlap by about 0.41 / 0.74 /
    0.88 / 0.96 for 40 / 200 / 1000 / 10000 compared scores against 100,000 reference ones.

    Examples
    --------
    >>> histogram_overlap([0.01, 0.02], [0.01, 0.02])
    1.0
    >>> histogram_overlap([0.01, 0.02], [0.08, 0.09])
    0.0
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"histogram_overlap needs increasing bin edges, got {edges!r}.")
    if a.size == 0 or b.size == 0:
        return float("nan")
    h1 = np.histogram(a, edges)[0].astype(float)
    h2 = np.histogram(b, edges)[0].astype(float)
    if normalize:
        h1, h2 = h1 / a.size, h2 / b.size
    total = h1.sum()
    if total == 0:
        return float("nan")
    return float(np.minimum(h1, h2).sum() / total)


def histogram_overlap_by_bin(a, b, group_a, group_b, edges=SEED_MASS_EDGES,
                             bins=SEED_OVERLAP_BINS, *, min_count=5, normalize=True):
    """:func:`histogram_overlap` within bins of a second quantity (the seed's log M* bins).

    Parameters
    ----------
    a, b : array-like of float of shape (n_a,) and (n_b,)
        Reference and compared scores.
    group_a, group_b : array-like of float of shape (n_a,) and (n_b,)
        The binned quantity of each score (e.g. ``log_mstar`` [log10 Msun]).
    edges : array-like of float, default=SEED_MASS_EDGES
        Bin edges of the quantity (the seed's 9, 10.29, 11.40, 12.5): ``len(edges) - 1``
        bins, each ``[lo, hi)``, the last one ``[lo, hi]``.
    bins : array-like of float, default=SEED_OVERLAP_BINS
        Score bin edges.
    min_count : int, default=5
        A bin with fewer than ``min_count`` scores in ``a`` or in ``b`` gives NaN.
    normalize : bool, default=True

    Returns
    -------
    ndarray of float of shape (len(edges) - 1,)

    Raises
    ------
    ValueError
        If a score array and its quantity differ in length.
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    ga, gb = np.asarray(group_a, dtype=float).ravel(), np.asarray(group_b, dtype=float).ravel()
    if a.shape != ga.shape or b.shape != gb.shape:
        raise ValueError(f"histogram_overlap_by_bin: scores and quantities differ in length "
                         f"(a {a.size} vs group_a {ga.size}, b {b.size} vs group_b {gb.size}).")
    edges = np.asarray(edges, dtype=float)
    out = np.full(edges.size - 1, np.nan)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        last = i == edges.size - 2
        in_a = (ga >= lo) & ((ga <= hi) if last else (ga < hi))
        in_b = (gb >= lo) & ((gb <= hi) if last else (gb < hi))
        if in_a.sum() >= min_count and in_b.sum() >= min_count:
            out[i] = histogram_overlap(a[in_a], b[in_b], bins, normalize=normalize)
    return out


__all__ += ["SEED_OVERLAP_BINS", "SEED_MASS_EDGES", "histogram_overlap",
            "histogram_overlap_by_bin"]


# --------------------------------------------------------------------------- active discovery
def discovery_curve(interesting_in_order, budget=None) -> np.ndarray:
    """True anomalies found vs labels given: the running count of interesting objects shown.

    Parameters
    ----------
    interesting_in_order : array-like of bool, shape (n_shown,)
        Truth of each object in the order a ranker showed them.
    budget : int, optional
        Length of the curve; a session that stopped early (every object shown) keeps its
        last count. Default ``n_shown``.

    Returns
    -------
    ndarray of int64, shape (budget,)
        Element ``k - 1`` = interesting objects among the first ``k`` shown.

    Examples
    --------
    >>> discovery_curve([False, True, True], budget=5).tolist()
    [0, 1, 2, 2, 2]
    """
    hits = np.asarray(interesting_in_order, dtype=bool).ravel()
    budget = hits.size if budget is None else int(budget)
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}.")
    found = np.cumsum(hits[:budget], dtype=np.int64)
    if found.size < budget:
        found = np.concatenate([found, np.full(budget - found.size, found[-1] if found.size
                                               else 0, dtype=np.int64)])
    return found


def discovery_table(curves, at=(10, 25, 50)) -> pd.DataFrame:
    """Interesting objects found after ``k`` labels: mean, std, min and max over seeds.

    Parameters
    ----------
    curves : dict[(str, str), array-like of shape (n_seeds, budget)]
        ``(data set, method)`` -> one :func:`discovery_curve` per seed.
    at : sequence of int, default=(10, 25, 50)
        Label counts to report (those beyond a curve's budget are NaN).

    Returns
    -------
    pandas.DataFrame
        Index ``(dataset, method)`` in the order given; columns ``found@{k}_mean``,
        ``found@{k}_std`` (population std over seeds), ``found@{k}_min``, ``found@{k}_max``
        for each ``k``, and ``n_seeds``.
    """
    rows, index = [], []
    for key, arr in curves.items():
        arr = np.atleast_2d(np.asarray(arr, dtype=float))
        row = {}
        for k in at:
            col = arr[:, k - 1] if 0 < k <= arr.shape[1] else np.full(arr.shape[0], np.nan)
            row.update({f"found@{k}_mean": col.mean(), f"found@{k}_std": col.std(),
                        f"found@{k}_min": col.min(), f"found@{k}_max": col.max()})
        row["n_seeds"] = arr.shape[0]
        rows.append(row)
        index.append(tuple(key))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["dataset", "method"]))


__all__ += ["discovery_curve", "discovery_table"]


# --------------------------------------------------------------------------- per-cell detection
def per_cell_detection(y_true, scores, cells, *, names=None) -> pd.DataFrame:
    """ROC-AUC and PR-AUC of anomaly scores within each cell (e.g. machine id x SNR).

    Each cell is ranked on its own: scores of different cells never compete, as the
    contextual-novelty seed evaluates each of its 48 (machine id x SNR) cells.

    Parameters
    ----------
    y_true : array-like of int, shape (n,)
        1 anomalous / 0 normal.
    scores : array-like of float, shape (n,)
        Anomaly scores (higher = more anomalous).
    cells : array-like of shape (n,) or (n, n_keys), or pandas.DataFrame
        The cell of each row (one key, several key columns, or a frame of key columns).
    names : sequence of str, optional
        Index names (default: the frame's column names, else ``cell`` / ``cell_<k>``).

    Returns
    -------
    pandas.DataFrame
        One row per cell, sorted by key: ``n_normal``, ``n_abnormal``, ``roc_auc`` (NaN with one
        class), ``pr_auc`` (average precision; NaN without anomalies).

    Examples
    --------
    >>> t = per_cell_detection([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2], ["a", "a", "b", "b"])
    >>> t["roc_auc"].tolist(), t["pr_auc"].tolist(), t.index.tolist()
    ([1.0, 0.0], [1.0, 0.5], ['a', 'b'])
    """
    y = _as_binary_truth(y_true)
    s = np.asarray(scores, dtype=float).ravel()
    _check_lengths(y, s)
    if isinstance(cells, pd.DataFrame):
        keys = cells.reset_index(drop=True)
        names = list(names) if names is not None else [str(c) for c in keys.columns]
        keys.columns = names
    else:
        arr = np.asarray(cells, dtype=object)
        arr = arr.reshape(len(arr), -1)
        if names is None:
            names = ["cell"] if arr.shape[1] == 1 else [f"cell_{k}" for k in range(arr.shape[1])]
        keys = pd.DataFrame(arr, columns=list(names))
    if len(keys) != len(y):
        raise ValueError(f"cells has {len(keys)} rows but y_true has {len(y)}.")
    rows, index = [], []
    for key, part in keys.groupby(list(names), sort=True).indices.items():
        yy, ss = y[part], s[part]
        rows.append({"n_normal": int((yy == 0).sum()), "n_abnormal": int((yy == 1).sum()),
                     "roc_auc": auroc(yy, ss), "pr_auc": average_precision(yy, ss)})
        index.append(key if isinstance(key, tuple) else (key,))
    if len(names) == 1:
        idx = pd.Index([k[0] for k in index], name=names[0])
    else:
        idx = pd.MultiIndex.from_tuples(index, names=list(names))
    return pd.DataFrame(rows, index=idx, columns=["n_normal", "n_abnormal", "roc_auc",
                                                   "pr_auc"])


def average_rank(values, *, by, within, higher_is_better=True) -> pd.Series:
    """Mean rank of each method over the groups it is compared in (1 = best; ties averaged).

    Parameters
    ----------
    values : pandas.DataFrame
        Long table with a metric column, the method column ``by`` and the group columns.
    by : str
        Column naming the method (e.g. ``"variant"``).
    within : str or list of str
        Columns naming one comparison (e.g. ``["seed", "snr_db", "machine_type",
        "machine_id"]``): methods are ranked among each other inside it.
    higher_is_better : bool, default=True

    Returns
    -------
    pandas.Series
        Index = method (order of first appearance), the mean rank; groups where a method's
        value is NaN leave that method out of the group's ranking.

    Examples
    --------
    >>> t = pd.DataFrame({"m": ["a", "b", "a", "b"], "g": [0, 0, 1, 1], "v": [.9, .8, .7, .7]})
    >>> average_rank(t["v"].to_frame().assign(m=t["m"], g=t["g"]), by="m", within="g").tolist()
    [1.25, 1.75]
    """
    metric = [c for c in values.columns if c != by and c not in np.atleast_1d(within)]
    if len(metric) != 1:
        raise ValueError(f"average_rank needs exactly one metric column beside {by!r} and "
                         f"{within!r}; found {metric}.")
    ranks = values.groupby(within)[metric[0]].rank(ascending=not higher_is_better,
                                                  method="average")
    order = list(dict.fromkeys(values[by]))
    return ranks.groupby(values[by]).mean().reindex(order).rename("rank")


__all__ += ["per_cell_detection", "average_rank"]
