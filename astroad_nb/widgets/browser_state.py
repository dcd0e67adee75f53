"""State and rules of the anomaly browser, with no widgets: tested like any class.

:class:`AnomalyBrowserState` ranks objects by anomaly score within each top class, remembers the
selected class and object, folds periodic light curves, ranks features by how unusual they are,
and writes every flag to a :class:`~astroad_nb.store.LabelStore` the moment it is given.
:class:`astroad_nb.widgets.AnomalyBrowser` only displays it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astroad_nb.features.scaling import robust_z
from astroad_nb.store import LabelStore

__all__ = ["AnomalyBrowserState"]

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
                 n_top=20, who=None, context="alerce"):
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
        self.select_class(self.classes[0])

    # ------------------------------------------------------------------ ranking and selection
    def ranked(self, top_class=None) -> pd.Series:
        """The ``n_top`` highest scores of a class (default: the selected one), highest first.

        Returns
        -------
        pandas.Series
            Scores indexed by object id; ties keep the input order.
        """
        top_class = self.selected_class if top_class is None else top_class
        self._check_class(top_class)
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
        """(text, object id) per ranked object, text ``"rank. id score [label]"``."""
        labels = self.labels
        ranked = self.ranked(top_class)
        width = len(str(len(ranked)))  # right-align ranks so ids line up in a monospace list
        out = []
        for rank, (object_id, score) in enumerate(ranked.items(), start=1):
            text = f"{rank:>{width}}. {object_id}  {score:.3f}"
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
        return self.store.add(self.current, label, who=self.who, context=self.context)

    def undo(self) -> dict | None:
        """Undo the latest label of this context and labeller (kept in the store as inactive).

        Returns the undone row as a dict, or ``None`` when there is nothing to undo. The undone
        object becomes the selected one, so the person sees what changed.
        """
        row = self.store.undo(context=self.context, who=self.who)
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
