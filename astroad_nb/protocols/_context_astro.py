"""An astronomy context (issue 11, item 8): FiLM on ALeRCE features, conditioned on the top class.

The machine-sound idea carried to light curves: what is normal depends on the context, here the
top class (transient / stochastic / periodic) *predicted* by the hierarchical classifier, with
its errors. Side by side, on the same folds and the same auto-encoder architecture:

* ``pooled`` -- one auto-encoder on every inlier (no context);
* ``hierarchical`` -- :class:`~astroad_nb.models.HierarchicalDetector`: the classifier routes
  each object to its predicted top class's own auto-encoder (``mode="max"``);
* ``film_onehot_pred`` -- FiLM auto-encoder, context = one-hot of the predicted top class;
* ``film_vector_pred`` -- the same FiLM, context = the classifier's soft probability vector
  (``conditioning="vector"``);
* ``film_oracle`` -- the same FiLM with the true top class (an upper reference, not a method).

The three FiLM rows are one model: it is fitted in ``conditioning="vector"`` mode on the one-hot
code of the true top class, as the seed trains FiLM on the true context; a one-hot row gives
exactly the ``"onehot"`` model's modulation (tested), so (a) is the one-hot FiLM, (b) feeds it the
soft vector, and the oracle the true code. The classifier is the hierarchical detector's own,
so routing and conditioning see the same errors.

Outliers follow :mod:`astroad_nb.protocols.alerce`: leave one subclass out. Because a context
model needs several contexts, the inliers are all other subclasses of *every* top class (not only
of the held-out subclass's top class, as :func:`~astroad_nb.evaluation.leave_one_subclass_out`
does). Objects are split in ``n_splits`` stratified folds; each fold's model is trained on the
other folds' inliers and scored on the fold's inliers plus its objects of the held-out subclass.
AUROC per held-out subclass is the mean over folds; per top class the mean over its subclasses;
``overall`` the mean over all held-out subclasses; then mean and sd over seeds.
"""

from __future__ import annotations

import time
import zlib

import numpy as np
import pandas as pd

__all__ = ["ASTRO_METHODS", "lightcurve_context_tables", "context_comparison",
           "real_alerce_table"]

#: Methods of the comparison, in table order.
ASTRO_METHODS = ("pooled", "hierarchical", "film_onehot_pred", "film_vector_pred",
                 "film_oracle")

# Sizes per preset name: objects per subclass, folds, auto-encoder epochs, forest trees.
_SIZES = {
    "fast": dict(n_per_class=16, n_splits=2, n_folds=1, epochs=6, trees=30),
    "full": dict(n_per_class=150, n_splits=3, n_folds=3, epochs=60, trees=300),
}
_SIZES["seed"] = _SIZES["full"]


def _seed(*parts) -> int:
    """A 31-bit sub-seed derived from the parts with crc32 (never Python's ``hash``)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) & 0x7FFFFFFF


def _autoencoder(epochs, random_state, conditioning="onehot"):
    from astroad_nb.models import FiLMAutoEncoder

    # one architecture for every method: fitted without context it is a plain AE
    return FiLMAutoEncoder((64, 32), 8, conditioning=conditioning, epochs=epochs,
                           batch_size=64, lr=1e-3, patience=None, val_fraction=0.1,
                           device="cpu", random_state=random_state)


def _classifier(trees, random_state):
    from astroad_nb.models.hierarchical import default_classifier

    return default_classifier(random_state).set_params(n_estimators=trees)


def real_alerce_table():
    """The real ALeRCE example feature table with subclass and top class, or a skip reason.

    Reads ``lightcurves/alerce_examples/100_objects_{features,labels}.csv`` through
    :func:`astroad_nb._config.real_data_path`. ``Periodic-Other`` is periodic. The seed's
    banned features and ours (:data:`astroad_nb.protocols.alerce.BANNED_FEATURES`) are dropped.

    Returns
    -------
    (features, subclass, top_class) or str
        features : DataFrame of shape (n_objects, n_features), ALeRCE names, NaN allowed;
        subclass, top_class : ndarray of str, shape (n_objects,). A string when the files are
        absent: the reason to skip.
    """
    from astroad_nb._config import real_data_path
    from astroad_nb.data.lightcurves import TOP_CLASS
    from astroad_nb.protocols.alerce import BANNED_FEATURES

    folder = real_data_path("lightcurves", "alerce_examples")
    names = ("100_objects_features.csv", "100_objects_labels.csv")
    if folder is None or not all((folder / n).is_file() for n in names):
        return ("real ALeRCE feature table absent (lightcurves/alerce_examples/"
                "100_objects_features.csv and _labels.csv under the real-data folder)")
    features = pd.read_csv(folder / names[0]).set_index("objectId")
    labels = pd.read_csv(folder / names[1]).set_index("objectId")
    if "classALeRCE" not in labels.columns:
        raise ValueError(f"{folder / names[1]}: expected a 'classALeRCE' column, got "
                         f"{labels.columns.tolist()}.")
    missing = features.index.difference(labels.index)
    if len(missing):
        raise ValueError(f"{folder / names[1]} has no label for {len(missing)} objects of "
                         f"{names[0]}, e.g. {missing[:3].tolist()}.")
    banned = set(BANNED_FEATURES) | {v for v in BANNED_FEATURES.values() if v}
    keep = [c for c in features.columns if str(c).rsplit("_", 1)[0] not in banned]
    features = features[keep].select_dtypes("number")
    subclass = labels.loc[features.index, "classALeRCE"].astype(str).to_numpy()
    tops = {**TOP_CLASS, "Periodic-Other": "periodic"}
    unknown = sorted(set(subclass) - set(tops))
    if unknown:
        raise ValueError(f"{folder / names[1]}: subclasses {unknown} have no top class.")
    return features, subclass, np.array([tops[s] for s in subclass])


def context_comparison(features, subclass, top_class, *, n_splits=2, n_folds=None, epochs=8,
                       trees=50, seeds=(0,), min_objects=5, random_state=0, verbose=0):
    """The five methods on leave-one-subclass-out folds, per seed (see the module docstring).

    Parameters
    ----------
    features : DataFrame of shape (n_objects, n_features)
        Light-curve features (NaN allowed: ALeRCE preprocessing is fitted inside each fold).
    subclass, top_class : array-like of str, shape (n_objects,)
    n_splits : int, default=2
        Stratified folds (by subclass).
    n_folds : int or None, default=None
        Evaluate only the first ``n_folds`` of them (None: all); FAST uses 1 of 2, a single
        half/half split per seed.
    epochs : int, default=8
        Auto-encoder epochs (every method).
    trees : int, default=50
        Trees of the hierarchical classifier.
    seeds : sequence of int, default=(0,)
        Repetitions; each reseeds folds, classifier and networks from ``random_state``.
    min_objects : int, default=5
        Subclasses with fewer objects are not held out (they stay inliers).
    random_state : int, default=0
    verbose : int, default=0

    Returns
    -------
    per_subclass : DataFrame
        Columns ``seed, held_out, top_class, method, auroc`` (mean over folds).
    accuracy : DataFrame
        Columns ``seed, accuracy``: top-class accuracy of the classifier on the test inliers,
        pooled over folds and held-out subclasses.
    """
    from sklearn.model_selection import StratifiedKFold

    from astroad_nb.evaluation import auroc
    from astroad_nb.features.lightcurves import ALeRCEPreprocessor
    from astroad_nb.models import HierarchicalDetector

    subclass = np.asarray(subclass).astype(str)
    top_class = np.asarray(top_class).astype(str)
    if not (len(features) == len(subclass) == len(top_class)):
        raise ValueError(f"features ({len(features)} rows), subclass ({len(subclass)}) and "
                         f"top_class ({len(top_class)}) must have one entry per object.")
    names, counts = np.unique(subclass, return_counts=True)
    held = [s for s, c in zip(names, counts) if c >= min_objects]
    rows, acc = [], []
    for seed in seeds:
        base = _seed(random_state, seed)
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=base % 2**31)
                     .split(np.zeros(len(subclass)), subclass))[:n_folds]
        hits = total = 0
        for h in held:
            scores = {m: [] for m in ASTRO_METHODS}
            for f, (train, test) in enumerate(folds):
                tr = train[subclass[train] != h]
                te = test
                y = (subclass[te] == h).astype(int)
                if y.sum() == 0 or y.sum() == len(y):
                    continue
                pre = ALeRCEPreprocessor().fit(features.iloc[tr])
                Xtr = pre.transform(features.iloc[tr]).to_numpy(np.float64)
                Xte = pre.transform(features.iloc[te]).to_numpy(np.float64)
                s = _seed(base, h, f)
                hd = HierarchicalDetector(classifier=_classifier(trees, s),
                                          detector=_autoencoder(epochs, None), mode="max",
                                          random_state=s).fit(Xtr, top_class[tr])
                classes = np.asarray(hd.classes_).astype(str)
                proba = hd.predict_proba(Xte)
                pred = proba.argmax(axis=1)
                inl = y == 0
                hits += int((classes[pred[inl]] == top_class[te][inl]).sum())
                total += int(inl.sum())
                eye = np.eye(len(classes))
                true_tr = eye[np.searchsorted(classes, top_class[tr])]
                # a held-out subclass's top class exists among the inliers' (min 2 per class)
                true_te = eye[np.searchsorted(classes, top_class[te])]
                film = _autoencoder(epochs, s + 1, "vector").fit(Xtr, context=true_tr)
                pooled = _autoencoder(epochs, s + 2).fit(Xtr)
                out = {"pooled": pooled.anomaly_score(Xte),
                       "hierarchical": hd.anomaly_score(Xte),
                       "film_onehot_pred": film.anomaly_score(Xte, context=eye[pred]),
                       "film_vector_pred": film.anomaly_score(Xte, context=proba),
                       "film_oracle": film.anomaly_score(Xte, context=true_te)}
                for m, v in out.items():
                    scores[m].append(auroc(y, v))
            for m, v in scores.items():
                if v:
                    rows.append(dict(seed=seed, held_out=h, top_class=top_class[subclass == h][0],
                                     method=m, auroc=float(np.mean(v))))
            if verbose:
                print(f"seed {seed} held out {h}: done")
        acc.append(dict(seed=seed, accuracy=hits / total if total else np.nan))
    return pd.DataFrame(rows), pd.DataFrame(acc)


def _summaries(dataset, per_subclass, accuracy):
    """Per (top class x method) and overall mean/sd over seeds; per-method summary."""
    per_seed_top = (per_subclass.groupby(["seed", "top_class", "method"])["auroc"].mean()
                    .reset_index())
    overall = per_subclass.groupby(["seed", "method"])["auroc"].mean().reset_index()
    overall["top_class"] = "overall"
    both = pd.concat([per_seed_top, overall], ignore_index=True)
    table = (both.groupby(["top_class", "method"])["auroc"]
             .agg(mean="mean", sd=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                  n_seeds="count").reset_index())
    table.insert(0, "dataset", dataset)
    order = {m: i for i, m in enumerate(ASTRO_METHODS)}
    table = table.sort_values(["top_class", "method"], key=lambda c: c.map(order)
                              if c.name == "method" else c).reset_index(drop=True)
    ov = table[table.top_class == "overall"].set_index("method")
    acc = accuracy["accuracy"]
    summary = pd.DataFrame({
        "dataset": dataset, "method": list(ASTRO_METHODS),
        "auroc_mean": [float(ov.loc[m, "mean"]) for m in ASTRO_METHODS],
        "auroc_sd": [float(ov.loc[m, "sd"]) for m in ASTRO_METHODS],
        "classifier_accuracy": float(acc.mean()),
        "classifier_accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0})
    return table, summary


def _verdict(dataset, summary):
    """Plain words per FiLM variant: does conditioning beat pooled and routing by > 1 sd?"""
    s = summary.set_index("method")
    rows = []
    for m in ("film_onehot_pred", "film_vector_pred", "film_oracle"):
        line = {"dataset": dataset, "variant": m}
        words = []
        for ref in ("pooled", "hierarchical"):
            d = float(s.loc[m, "auroc_mean"] - s.loc[ref, "auroc_mean"])
            sd = float(max(s.loc[m, "auroc_sd"], s.loc[ref, "auroc_sd"]))
            line[f"delta_vs_{ref}"] = d
            words.append(f"{'helps' if d > sd else 'hurts' if d < -sd else 'does not help'}"
                         f" vs {ref} ({d:+.3f}, sd {sd:.3f})")
        line["verdict"] = f"{m}: conditioning " + "; ".join(words)
        rows.append(line)
    return rows


def lightcurve_context_tables(preset, *, random_state=0, verbose=0) -> dict:
    """Item 8 of issue 11: FiLM conditioned on the predicted top class vs routing vs pooled.

    Parameters
    ----------
    preset : object
        The ``context`` protocol's preset; read with ``getattr``: ``name`` ("fast" / "full" /
        "seed", default "fast"), ``n_seeds`` (default 3), and optional size overrides
        ``astro_n_per_class``, ``astro_n_splits``, ``astro_n_folds``, ``astro_epochs``,
        ``astro_trees``,
        ``astro_real`` (run the real table; default: not in "fast", to keep it under ~40 s).
    random_state : int, default=0
    verbose : int, default=0

    Returns
    -------
    dict[str, DataFrame]
        ``astro_auroc`` (dataset, top_class incl. "overall", method, mean, sd, n_seeds),
        ``astro_summary`` (dataset, method, auroc_mean, auroc_sd, classifier_accuracy, its sd),
        ``astro_verdict`` (dataset, variant, delta_vs_pooled, delta_vs_hierarchical, verdict;
        a "skipped: ..." row for an absent real table), ``astro_per_subclass`` (every seed's
        AUROC per held-out subclass and method), ``astro_seconds`` (dataset, seconds).
    """
    from astroad_nb.protocols import alerce

    name = str(getattr(preset, "name", "fast")).rstrip("*")
    sizes = dict(_SIZES.get(name, _SIZES["fast"]))
    for k in sizes:
        value = getattr(preset, f"astro_{k}", None)
        if value is not None:
            sizes[k] = int(value)
    n_seeds = int(getattr(preset, "n_seeds", 3) or 3)
    seeds = tuple(range(n_seeds))
    common = dict(n_splits=sizes["n_splits"], n_folds=sizes["n_folds"],
                  epochs=sizes["epochs"], trees=sizes["trees"],
                  seeds=seeds, random_state=random_state, verbose=verbose)
    aurocs, summaries, verdicts, subs, seconds = [], [], [], [], []

    t0 = time.perf_counter()
    lcs = alerce.simulate(alerce.preset("fast", n_per_class=sizes["n_per_class"]),
                          random_state=random_state)
    feats = alerce.features(lcs)
    feats = feats[alerce.feature_columns(feats)]
    meta = lcs.meta.loc[feats.index]
    per_sub, acc = context_comparison(feats, meta["subclass"].to_numpy(),
                                      meta["top_class"].to_numpy(), **common)
    datasets = [("simulated", per_sub, acc, time.perf_counter() - t0)]

    run_real = getattr(preset, "astro_real", None)
    run_real = name != "fast" if run_real is None else bool(run_real)
    real = (real_alerce_table() if run_real else
            f"real table not run in preset {name!r} (set astro_real=True to run it)")
    if isinstance(real, str):
        verdicts.append({"dataset": "real", "variant": "all",
                         "delta_vs_pooled": np.nan, "delta_vs_hierarchical": np.nan,
                         "verdict": f"skipped: {real}"})
    else:
        t0 = time.perf_counter()
        per_sub, acc = context_comparison(*real, **common)
        datasets.append(("real", per_sub, acc, time.perf_counter() - t0))

    for dataset, per_sub, acc, sec in datasets:
        table, summary = _summaries(dataset, per_sub, acc)
        aurocs.append(table)
        summaries.append(summary)
        verdicts = _verdict(dataset, summary) + verdicts
        subs.append(per_sub.assign(dataset=dataset))
        seconds.append(dict(dataset=dataset, seconds=sec))
    return {"astro_auroc": pd.concat(aurocs, ignore_index=True),
            "astro_summary": pd.concat(summaries, ignore_index=True),
            "astro_verdict": pd.DataFrame(verdicts),
            "astro_per_subclass": pd.concat(subs, ignore_index=True),
            "astro_seconds": pd.DataFrame(seconds)}
