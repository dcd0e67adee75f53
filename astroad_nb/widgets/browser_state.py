"""State and rules of the anomaly browser, with no widgets: tested like any class.

:class:`AnomalyBrowserState` ranks objects by anomaly score within each top class, remembers the
selected class and object, folds periodic light curves, ranks features by how unusual they are,
and writes every flag to a :class:`~astroad_nb.store.LabelStore` the moment it is given.
:class:`astroad_nb.widgets.AnomalyBrowser` only displays it.

With a feedback ``ranker`` (:mod:`astroad_nb.active.discovery`) each flag is also told to the
ranker, the lists are re-ranked by its scores, the rank movement of every listed object is
kept, and the next object is the ranker's top unseen one. The store is the truth: a new state
on the same store (and a ranker with the same parameters and seed) replays the stored flags
in order and resumes with the same ranking. :meth:`AnomalyBrowserState.from_scores` opens the
ranked table of a night written by :func:`astroad_nb.scoring.score_alerts`, reading each shown
alert's light curve and cutouts lazily from its Avro files.
"""

from __future__ import annotations

import tarfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.active.discovery import FEEDBACK_VALUES
from astroad_nb.features.scaling import robust_z
from astroad_nb.store import LabelStore

__all__ = ["RERANK_LABELS", "AnomalyBrowserState", "NightAlerts"]

#: Flags of a browser with a feedback ranker (the older ``bogus`` / ``known`` still work and
#: teach "not interesting", see :data:`astroad_nb.active.discovery.FEEDBACK_VALUES`).
RERANK_LABELS = ("interesting", "not interesting", "skip")

_ALL = "all"
_TOP_CLASS_ORDER = ("transient", "stochastic", "periodic")
_SCORE_COLUMNS = ("score", "anomaly_score")


def _as_scores(scores, top_class) -> pd.Series:
    """One float score per object id from a Series or DataFrame (see AnomalyBrowserState)."""
    if isinstance(scores, pd.Series):
        series = scores
    elif isinstance(scores, pd.DataFrame):
        named = [c for c in _SCORE_COLUMNS if c in scores.columns]
        numeric = scores.select_dtypes("number").columns
        if named:
            series = scores[named[0]]
        elif len(numeric) == 1:
            series = scores[numeric[0]]
        elif top_class is not None and set(top_class.unique()) <= set(numeric):
            # one detector per top class: each object is scored by its own class's detector
            values = scores[numeric].to_numpy(float)
            cols = pd.Index(numeric).get_indexer(top_class.reindex(scores.index))
            series = pd.Series(values[np.arange(len(scores)), cols], index=scores.index)
        else:
            raise ValueError(
                f"scores has columns {list(scores.columns)}; expected a column 'score' or "
                "'anomaly_score', a single numeric column, or one column per top class "
                "(with top_class given)."
            )
    else:
        raise TypeError(
            f"scores must be a pandas Series or DataFrame indexed by object id, got "
            f"{type(scores).__name__}; wrap an array as pd.Series(scores, index=ids)."
        )
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][:3].tolist()
        raise ValueError(f"scores has duplicated object ids, e.g. {dup}.")
    return series.astype(float).rename("score")


def _as_top_class(top_class, index) -> pd.Series | None:
    """Object id -> class for every scored object (``"unclassified"`` where unknown)."""
    if top_class is None:
        return None
    missing = index.difference(top_class.index)
    if len(missing) == len(index):
        raise ValueError(
            f"top_class shares no object id with scores (scores ids look like "
            f"{index[:3].tolist()}, top_class ids like {top_class.index[:3].tolist()})."
        )
    return top_class.reindex(index).astype(object).fillna("unclassified").astype(str)


class AnomalyBrowserState:
    """Ranked objects per top class, the selection, and the labels a person gives them.

    Parameters
    ----------
    scores : pandas.Series or pandas.DataFrame
        Anomaly scores indexed by object id, higher = more anomalous. A DataFrame gives its
        ``score`` (or ``anomaly_score``) column, its only numeric column, or, when it has one
        column per top class, each object's score from its own class's column.
    lightcurves : LightCurves or mapping, optional
        Anything with ``get(object_id) -> DataFrame`` (time, mag, magerr, band) and, optionally,
        ``meta`` (a DataFrame indexed by object id with a ``period`` column, in days).
    features : pandas.DataFrame, optional
        Features indexed by object id (e.g. from
        :func:`astroad_nb.features.lightcurves.extract_features`).
    top_class : pandas.Series or pandas.DataFrame, optional
        Object id -> top class (predicted or true), or class probabilities (columns = classes,
        the most probable is taken). Without it every object is in one class, ``"all"``.
    store : astroad_nb.store.LabelStore, optional
        Where flags are written, each committed at once. Without a store the labels live in an
        in-memory SQLite store and are lost when the kernel stops: pass a store to keep them.
    n_top : int, default=20
        How many objects each class's ranked list shows.
    who : str, optional
        Labeller name written with each flag (default: the store's ``who``).
    context : str, default="alerce"
        Context written with each flag; labels of other contexts are not shown or undone.
    ranker : feedback ranker, optional
        :class:`~astroad_nb.active.discovery.AADIForest`, ``RelevanceBlending`` or
        ``StaticRanker`` whose row ``i`` is the ``i``-th object of ``scores`` (its index
        order). A fitted ranker must have ``len(scores)`` rows; an unfitted one is fitted
        here on ``features`` (reindexed to the scores' ids). Its answers are rebuilt from the
        store: it is reset and the stored flags of this context are told again in order, so a
        restart resumes with the same ranking. Without a ranker nothing is re-ranked.

    Attributes
    ----------
    classes : list of str
        Top classes (transient, stochastic, periodic first), or ``["all"]``.
    selected_class : str
        The class whose ranked list is shown.
    current : object id or None
        The selected object.
    folded : bool
        Whether periodic light curves are shown folded (default True).
    LABELS : tuple of str
        The flags :meth:`flag` accepts: ``interesting``, ``bogus``, ``known``; with a ranker
        also ``not interesting`` and ``skip`` (first).
    ranker : feedback ranker or None
    table : pandas.DataFrame or None
        The night's score table indexed by candid (from :meth:`from_scores` only).

    Examples
    --------
    >>> scores = pd.Series([0.9, 0.1, 0.5], index=["a", "b", "c"])
    >>> state = AnomalyBrowserState(scores, n_top=2)
    >>> list(state.ranked().index)
    ['a', 'c']
    >>> state.select("c")
    >>> state.flag("interesting")
    1
    >>> state.labels
    {'c': 'interesting'}
    """

    LABELS = ("interesting", "bogus", "known")

    def __init__(self, scores, lightcurves=None, features=None, *, top_class=None, store=None,
                 n_top=20, who=None, context="alerce", ranker=None):
        if int(n_top) < 1:
            raise ValueError(f"n_top must be a positive integer, got {n_top!r}.")
        if isinstance(top_class, pd.DataFrame):  # class probabilities: take the most probable
            top_class = top_class.idxmax(axis=1)
        top_class = None if top_class is None else pd.Series(top_class)
        self.scores = _as_scores(scores, top_class)
        self.top_class = _as_top_class(top_class, self.scores.index)
        self.lightcurves = lightcurves
        self.features = features
        self.store = store if store is not None else LabelStore(":memory:", who=who)
        self.n_top = int(n_top)
        self.who = who or getattr(self.store, "who", None)
        self.context = context
        self.folded = True
        self._ids_by_text = {str(i): i for i in self.scores.index}
        self._feature_z = robust_z(features)
        if self.top_class is None:
            self.classes = [_ALL]
        else:
            found = list(dict.fromkeys(self.top_class.sort_values().tolist()))
            self.classes = [c for c in _TOP_CLASS_ORDER if c in found]
            self.classes += [c for c in found if c not in self.classes]
        self.selected_class = self.classes[0]
        self.current = None
        self.table = None
        self.ranker = None
        self.last_flagged = None
        self._previous = None  # ranker scores before the latest flag (rank movement)
        if ranker is not None:
            self.LABELS = tuple(dict.fromkeys(RERANK_LABELS + type(self).LABELS))
            self._attach(ranker)
        self.select_class(self.classes[0])

    # ------------------------------------------------------------------ the night of alerts
    @classmethod
    def from_scores(cls, scores, *, alerts=None, store=None, ranker=None, top=None,
                    features=None, **kwargs):
        """Open the ranked table of a night written by :func:`~astroad_nb.scoring.score_alerts`.

        Parameters
        ----------
        scores : pandas.DataFrame or path
            What ``score_alerts`` returns, or the Parquet dataset folder it wrote
            (read with :func:`~astroad_nb.scoring.read_scores`). Needs ``candid`` and
            ``anomaly_score``; ``top_class`` (NaN -> ``"unclassified"``) groups the lists.
        alerts : path or list of paths, optional
            The night's Avro files, folders of them or nightly ``.tar.gz``: each shown
            candidate's light curve (``prv_candidates`` + ``candidate``) and cutout triplet
            are read when it is shown (see :class:`NightAlerts`), never all up front.
        store : LabelStore, optional
            Flags are keyed by ``candid``.
        ranker : feedback ranker, optional
            As in the constructor, row ``i`` = the ``i``-th candidate of the opened table
            (rank order: most anomalous first); an unfitted one needs ``features``.
        top : int, optional
            Keep only the ``top`` most anomalous alerts (by ``anomaly_score``).
        features : pandas.DataFrame, optional
            Features indexed by candid (to fit an unfitted ranker and for the feature table).
        **kwargs
            Passed to the constructor (``n_top``, ``who``, ``context``).

        Returns
        -------
        AnomalyBrowserState
            With :attr:`table` the kept rows of the score table indexed by candid.
        """
        table = _night_table(scores, top)
        lightcurves = None if alerts is None else NightAlerts(alerts, sources=table.get("source"))
        if features is not None:
            features = features.reindex(table.index)
        state = cls(table["anomaly_score"], lightcurves, features,
                    top_class=table["top_class"] if "top_class" in table else None,
                    store=store, ranker=ranker, **kwargs)
        state.table = table
        return state

    def triplet(self, object_id=None):
        """Cutout triplet (3, H, W) of an alert, or ``None`` (no alerts given / no cutouts)."""
        object_id = self.current if object_id is None else object_id
        if object_id is None or not hasattr(self.lightcurves, "triplet"):
            return None
        return self.lightcurves.triplet(object_id)

    # ------------------------------------------------------------------ the feedback ranker
    def _attach(self, ranker):
        n = len(self.scores)
        if not hasattr(ranker, "scores_"):
            if self.features is None:
                raise ValueError("ranker is not fitted and no features were given: pass "
                                 "features (indexed by object id) or a ranker fitted on the "
                                 "candidates' features in the order of scores.index.")
            missing = self.scores.index.difference(self.features.index)
            if len(missing):
                raise ValueError(f"features lack {len(missing)} scored object(s), e.g. "
                                 f"{missing[:3].tolist()}; the ranker needs one row per object.")
            ranker.fit(self.features.loc[self.scores.index])
        elif getattr(ranker, "n_samples_", None) != n:
            raise ValueError(f"ranker was fitted on {getattr(ranker, 'n_samples_', '?')} rows but "
                             f"there are {n} scored objects; fit it on the features of exactly "
                             "these objects, in the order of scores.index.")
        self.ranker = ranker
        self._rows = {i: r for r, i in enumerate(self.scores.index)}
        finite = np.isfinite(self.scores.to_numpy(float))
        if self.top_class is None:
            self._class_rows = {_ALL: np.flatnonzero(finite)}
        else:
            codes = self.top_class.to_numpy()
            self._class_rows = {c: np.flatnonzero(finite & (codes == c)) for c in self.classes}
        self._replay()

    def _replay(self):
        """Reset the ranker and tell it the store's active flags of this context, in order."""
        ranker = self.ranker
        ranker.reset()
        frame = self.store.to_frame(context=self.context)
        previous = None
        for item, label in zip(frame["item_id"], frame["label"]):
            if item not in self._ids_by_text or label not in FEEDBACK_VALUES:
                continue  # another browser's object, or a label that teaches nothing
            previous = ranker.scores_.copy()
            ranker.tell(self._rows[self._ids_by_text[item]], label)
        self._previous = previous

    def _ranked_rows(self, top_class):
        """Row positions of the class's top ``n_top`` unseen objects by ranker score."""
        rows = self._class_rows[top_class]
        rows = rows[~self.ranker.seen_[rows]]
        return _top_rows(self.ranker.scores_, rows, self.n_top)

    def ranker_score(self, object_id=None) -> float | None:
        """The ranker's current score of an object (default: the selected one), or ``None``."""
        object_id = self.current if object_id is None else object_id
        if self.ranker is None or object_id is None:
            return None
        return float(self.ranker.scores_[self._rows[object_id]])

    def movement(self, top_class=None) -> pd.DataFrame:
        """How the listed objects moved with the latest flag (or undo).

        Returns
        -------
        pandas.DataFrame
            Indexed by object id in list order: ``rank`` (1 = next), ``previous`` (its rank
            among the same unseen objects before the latest flag; NA before any flag) and
            ``moved`` = previous - rank (positive = moved up). Empty without a ranker.
        """
        top_class = self.selected_class if top_class is None else top_class
        self._check_class(top_class)
        if self.ranker is None:
            return pd.DataFrame({"rank": [], "previous": [], "moved": []})
        rows = self._ranked_rows(top_class)
        ids = self.scores.index[rows]
        rank = np.arange(1, rows.size + 1)
        previous = pd.array([pd.NA] * rows.size, dtype="Int64")
        if self._previous is not None and rows.size:
            pool = self._class_rows[top_class]
            pool = pool[~self.ranker.seen_[pool]]
            p, mine = self._previous[pool], self._previous[rows]
            # rank among the same candidates, ties by row as the ranker breaks them
            ahead = (p[None, :] > mine[:, None]).sum(axis=1)
            ahead += ((p[None, :] == mine[:, None]) & (pool[None, :] < rows[:, None])).sum(axis=1)
            previous = pd.array(ahead + 1, dtype="Int64")
        frame = pd.DataFrame({"rank": rank, "previous": previous}, index=ids)
        frame["moved"] = frame["previous"] - frame["rank"]
        return frame

    # ------------------------------------------------------------------ ranking and selection
    def ranked(self, top_class=None) -> pd.Series:
        """The ``n_top`` highest scores of a class (default: the selected one), highest first.

        With a ranker: the ``n_top`` objects not yet flagged with the highest ranker scores
        (``ranker.scores_``), as ``ranker.rank()`` orders them.

        Returns
        -------
        pandas.Series
            Scores indexed by object id; ties keep the input order.
        """
        top_class = self.selected_class if top_class is None else top_class
        self._check_class(top_class)
        if self.ranker is not None:  # the ranker's order, objects already flagged left out
            rows = self._ranked_rows(top_class)
            return pd.Series(self.ranker.scores_[rows], index=self.scores.index[rows],
                             name="score")
        scores = self.scores if top_class == _ALL else self.scores[self.top_class == top_class]
        scores = scores[scores.notna()]
        return scores.sort_values(ascending=False, kind="stable").head(self.n_top)

    def select_class(self, top_class) -> None:
        """Show ``top_class``'s ranked list and select its most anomalous object."""
        self._check_class(top_class)
        self.selected_class = top_class
        ranked = self.ranked(top_class)
        self.current = ranked.index[0] if len(ranked) else None

    def select(self, object_id) -> None:
        """Select an object (its class becomes the selected class); ``None`` clears."""
        if object_id is None:
            self.current = None
            return
        if object_id not in self.scores.index:
            raise KeyError(f"object {object_id!r} has no anomaly score in this browser.")
        if self.top_class is not None:
            self.selected_class = self.top_class[object_id]
        self.current = object_id

    def options(self, top_class=None) -> list[tuple[str, object]]:
        """(text, object id) per ranked object, text ``"rank. id score [label]"``.

        With a ranker the score is the ranker's and a movement marker follows it: ``▲3``
        (moved up 3 places with the latest flag), ``▼2``, ``=`` (did not move).
        """
        labels = self.labels
        ranked = self.ranked(top_class)
        moved = self.movement(top_class)["moved"] if self.ranker is not None else None
        width = len(str(len(ranked)))  # right-align ranks so ids line up in a monospace list
        out = []
        for rank, (object_id, score) in enumerate(ranked.items(), start=1):
            text = f"{rank:>{width}}. {object_id}  {score:.3f}"
            if moved is not None:
                text += _arrow(moved.iloc[rank - 1])
            if object_id in labels:
                text += f"  [{labels[object_id]}]"
            out.append((text, object_id))
        return out

    def class_of(self, object_id) -> str:
        """The top class of an object (``"all"`` without top_class)."""
        return _ALL if self.top_class is None else self.top_class[object_id]

    def _check_class(self, top_class):
        if top_class not in self.classes:
            raise ValueError(f"unknown class {top_class!r}; choose one of {self.classes}.")

    # ------------------------------------------------------------------ labels
    @property
    def labels(self) -> dict:
        """Object id -> latest active label in this context (from the store)."""
        latest = self.store.latest(self.context)
        return {self._ids_by_text[k]: v for k, v in latest.items() if k in self._ids_by_text}

    def flag(self, label) -> int:
        """Label the selected object; the store commits it at once. Returns the row id.

        With a ranker the flag is also told to it (``feedback_value``: interesting -> 1;
        not interesting, bogus, known -> 0; skip -> seen, no feedback), the lists re-rank,
        and the selection moves to the top unseen object of the selected class.

        Raises
        ------
        ValueError
            When ``label`` is not one of :attr:`LABELS`.
        RuntimeError
            When no object is selected.
        """
        if label not in self.LABELS:
            raise ValueError(f"label must be one of {self.LABELS}, got {label!r}.")
        if self.current is None:
            raise RuntimeError("No object is selected; select one before flagging it.")
        row_id = self.store.add(self.current, label, who=self.who, context=self.context)
        if self.ranker is not None:
            self._previous = self.ranker.scores_.copy()
            self.ranker.tell(self._rows[self.current], label)
            self.last_flagged = self.current
            ranked = self.ranked()
            self.current = ranked.index[0] if len(ranked) else None  # the ranker's top unseen
        return row_id

    def undo(self) -> dict | None:
        """Undo the latest label of this context and labeller (kept in the store as inactive).

        Returns the undone row as a dict, or ``None`` when there is nothing to undo. The undone
        object becomes the selected one, so the person sees what changed. With a ranker the
        ranking is rebuilt from the flags still active (the same as if it was never given).
        """
        row = self.store.undo(context=self.context, who=self.who)
        if row is not None and self.ranker is not None:
            before = self.ranker.scores_.copy()
            self._replay()  # a ranker cannot forget one answer: rebuild it from the store
            self._previous = before
        if row is not None and row["item_id"] in self._ids_by_text:
            self.select(self._ids_by_text[row["item_id"]])
        return row

    # ------------------------------------------------------------------ what to show
    def lightcurve(self, object_id=None):
        """The object's light-curve frame, or ``None`` without light curves."""
        object_id = self.current if object_id is None else object_id
        if self.lightcurves is None or object_id is None:
            return None
        return self.lightcurves.get(object_id)

    def period(self, object_id=None) -> float | None:
        """Best period (days) of a periodic object, else ``None``.

        An object counts as periodic when its top class is ``"periodic"`` (from ``top_class``,
        else from ``lightcurves.meta['top_class']``). The period is ``lightcurves.meta['period']``
        when finite and positive, else the features' ``Multiband_period``.
        """
        object_id = self.current if object_id is None else object_id
        if object_id is None or not self._is_periodic(object_id):
            return None
        candidates = [self._lookup(getattr(self.lightcurves, "meta", None), "period", object_id),
                      self._lookup(self.features, "Multiband_period", object_id)]
        return next((float(p) for p in candidates if p is not None and np.isfinite(p) and p > 0),
                    None)

    def display_period(self, object_id=None) -> float | None:
        """The period to fold at: :meth:`period` when :attr:`folded`, else ``None``."""
        return self.period(object_id) if self.folded else None

    def feature_table(self, object_id=None, top=10) -> pd.DataFrame:
        """Features of an object, the most unusual first.

        Parameters
        ----------
        object_id : optional
            Default: the selected object.
        top : int or None, default=10
            How many features; ``None`` gives all, in the features' column order.

        Returns
        -------
        pandas.DataFrame
            Indexed by feature name, columns ``value`` and ``z`` (robust z-score against all
            objects: (value - median) / (1.4826 MAD)); empty without features.
        """
        object_id = self.current if object_id is None else object_id
        if self.features is None or object_id is None or object_id not in self.features.index:
            return pd.DataFrame({"value": [], "z": []})
        table = pd.DataFrame({"value": self.features.loc[object_id],
                              "z": self._feature_z.loc[object_id]})
        if top is None:
            return table
        order = table["z"].abs().fillna(-1).sort_values(ascending=False, kind="stable").index
        return table.loc[order[: int(top)]]

    def _is_periodic(self, object_id) -> bool:
        if self.top_class is not None:
            return str(self.top_class[object_id]).lower() == "periodic"
        meta_class = self._lookup(getattr(self.lightcurves, "meta", None), "top_class", object_id)
        return str(meta_class).lower() == "periodic"

    @staticmethod
    def _lookup(frame, column, object_id):
        if frame is None or column not in frame or object_id not in frame.index:
            return None
        return frame.at[object_id, column]


# ---------------------------------------------------------------------- helpers
def _top_rows(scores, rows, k):
    """The ``k`` rows of ``rows`` with the highest ``scores``, highest first, ties by row."""
    values = scores[rows]
    if k < rows.size:  # partial selection first: O(n), then sort only the few kept
        kth = np.partition(values, rows.size - k)[rows.size - k]
        keep = values >= kth
        rows, values = rows[keep], values[keep]
    return rows[np.lexsort((rows, -values))][:k]


def _arrow(moved) -> str:
    """``"  ▲3"`` / ``"  ▼2"`` / ``"  ="`` for a rank movement, ``""`` before any flag."""
    if moved is pd.NA or moved is None:
        return ""
    moved = int(moved)
    return "  =" if moved == 0 else (f"  ▲{moved}" if moved > 0 else f"  ▼{-moved}")


def _night_table(scores, top) -> pd.DataFrame:
    """The score table of a night, indexed by candid, most anomalous first (NaN last)."""
    if not isinstance(scores, pd.DataFrame):
        from astroad_nb.scoring.run import read_scores  # lazy: pyarrow only when a path

        scores = read_scores(scores)
    missing = [c for c in ("candid", "anomaly_score") if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lacks column(s) {missing}; expected the table of "
                         f"score_alerts (columns {list(scores.columns)[:8]}...).")
    table = scores[scores["candid"].notna()].copy()
    table["candid"] = table["candid"].astype("int64")
    s = pd.to_numeric(table["anomaly_score"], errors="coerce").to_numpy(float)
    order = np.lexsort((table["candid"].to_numpy(), -np.where(np.isfinite(s), s, -np.inf)))
    table = table.iloc[order].set_index("candid")
    if top is not None:
        if int(top) < 1:
            raise ValueError(f"top must be a positive integer, got {top!r}.")
        table = table[np.isfinite(table["anomaly_score"].to_numpy(float))].head(int(top))
    return table


class NightAlerts:
    """The alerts of a night, read one candid at a time, for the browser.

    Nothing is read up front. The first time a candid is asked for, its file is found from
    the score table's ``source`` (when it names an Avro file) or by reading the inputs in
    order until it turns up; every candid met on the way is remembered (file, or tar member,
    and position), so later look-ups read one file. Decoded light curves and cutouts of the
    last ``cache`` alerts are kept.

    Parameters
    ----------
    alerts : path or list of paths
        Avro files, folders of them, nightly ``.tar.gz`` (read as a stream; nothing
        extracted). Parquet exports are not read here.
    sources : pandas.Series, optional
        candid -> ``source`` column of ``score_alerts`` (a hint, may be stale).
    cache : int, default=64
        Decoded alerts kept.
    cutout_size : int, default=63
        Side (pixels) of the decoded cutouts (ZTF stamps are 63 x 63).

    Attributes
    ----------
    files : list of Path
        The input files, in reading order.
    unreadable : dict
        File -> error, for files met while searching that could not be read (skipped).
    """

    def __init__(self, alerts, *, sources=None, cache=64, cutout_size=63):
        from astroad_nb.scoring.sources import _expand, _is_parquet

        items = alerts if isinstance(alerts, (list, tuple)) else [alerts]
        self.files = [p for item in items for p in _expand(item) if not _is_parquet(p)]
        if not self.files:
            raise ValueError(f"{alerts!r}: no Avro file or tarball of alerts (Parquet exports "
                             "are not read by the browser).")
        self.sources = None if sources is None else {int(k): v for k, v in sources.items()}
        self._given = {str(p.resolve()) for p in self.files}  # hints outside them are stale
        self.unreadable: dict = {}  # file -> why, met while looking for a candid
        self.cache, self.cutout_size = int(cache), int(cutout_size)
        self._where: dict = {}  # candid -> (path, member or None, position)
        self._pending = iter(self.files)
        self._stream = None  # a tar being indexed: (path, generator)
        self._views: OrderedDict = OrderedDict()

    # -------------------------------------------------------------- what the browser reads
    def get(self, candid) -> pd.DataFrame:
        """Light curve of an alert: time (MJD), mag, magerr, band (``prv_candidates`` +
        ``candidate``, detections only, ALeRCE rules without the ``rb`` cut)."""
        return self._view(candid)[0]

    def triplet(self, candid):
        """Science, reference, difference cutouts, float32 (3, S, S), or ``None``."""
        return self._view(candid)[1]

    def packet(self, candid) -> dict:
        """The alert packet (as fastavro gives it) of ``candid``.

        Raises
        ------
        KeyError
            When no input holds this candid.
        """
        candid = int(candid)
        found = self._locate(candid)
        if isinstance(found, dict):
            return found
        path, member, position = found
        if member is None:
            return self._records(Path(path).read_bytes(), path)[position]
        with tarfile.open(path, mode="r|*") as tar:  # a gzip stream: read up to the member
            for entry in tar:
                if entry.name == member:
                    return self._records(tar.extractfile(entry).read(), path)[position]
        raise KeyError(f"alert {candid}: member {member} vanished from {path}.")

    # -------------------------------------------------------------- internals
    def _view(self, candid):
        from astroad_nb.scoring.packets import build_batch

        candid = int(candid)
        if candid in self._views:
            self._views.move_to_end(candid)
            return self._views[candid]
        batch = build_batch([(self.packet(candid), "browser", 0)], bands=("g", "r", "i"),
                            rb_min=None, min_detections=1, cutout_size=self.cutout_size)
        key = str(candid)
        try:
            frame = batch.lightcurves.get(key)
        except KeyError:  # no detection passed the rules: an empty curve
            frame = pd.DataFrame({"time": [], "mag": [], "magerr": [], "band": []})
        image = batch.images[0] if len(batch.images) else None
        if image is not None and not np.isfinite(image).any():
            image = None  # no cutout in the packet
        self._views[candid] = (frame, image)
        if len(self._views) > self.cache:
            self._views.popitem(last=False)
        return self._views[candid]

    @staticmethod
    def _records(data, path):
        from astroad_nb.scoring.sources import read_avro_bytes

        records, error = read_avro_bytes(data)
        if error is not None and not records:
            raise ValueError(f"{path}: unreadable Avro alert file ({error}).")
        return records

    def _remember(self, records, path, member, candid):
        hit = None
        for i, rec in enumerate(records):
            cand = rec.get("candidate") or {}
            key = rec.get("candid", cand.get("candid"))
            if key is not None:
                self._where.setdefault(int(key), (str(path), member, i))
                if int(key) == candid:
                    hit = rec
        return hit

    def _locate(self, candid):
        """(path, member, position) of a candid already indexed, or its packet once found."""
        if candid in self._where:
            return self._where[candid]
        hint = None if self.sources is None else self.sources.get(candid)
        if (isinstance(hint, str) and hint.lower().endswith(".avro") and Path(hint).is_file()
                and str(Path(hint).resolve()) in self._given):
            hit = self._remember(self._records(Path(hint).read_bytes(), hint), hint, None,
                                 candid)
            if hit is not None:
                return hit
        while True:
            if self._stream is not None:
                path, members = self._stream
                for name, data in members:
                    hit = self._remember(self._records(data, f"{path}:{name}"), path, name,
                                         candid)
                    if hit is not None:
                        return hit
                self._stream = None
            path = next(self._pending, None)
            if path is None:
                bad = (f" ({len(self.unreadable)} could not be read, e.g. "
                       f"{next(iter(self.unreadable.items()))})" if self.unreadable else "")
                raise KeyError(f"alert candid {candid} is in none of the {len(self.files)} "
                               f"alert file(s) given{bad}; pass the files that were scored.")
            if str(path).lower().endswith(".avro"):
                try:
                    records = self._records(Path(path).read_bytes(), path)
                except (OSError, ValueError) as exc:  # one damaged file must not stop the night
                    self.unreadable[str(path)] = str(exc)
                    continue
                hit = self._remember(records, path, None, candid)
                if hit is not None:
                    return hit
            else:
                self._stream = (path, _tar_members(path))


def _tar_members(path):
    """(member name, bytes) of each Avro file in a tarball, streamed."""
    with tarfile.open(path, mode="r|*") as tar:
        for entry in tar:
            if entry.isfile() and entry.name.lower().endswith(".avro"):
                yield entry.name, tar.extractfile(entry).read()
