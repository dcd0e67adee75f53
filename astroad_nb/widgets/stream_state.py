"""State and rules of the stream explorer, with no widgets: tested like any class.

:class:`StreamExplorerState` holds a field of stars, their membership probabilities, the
support set (known members, as field index labels) and, when known, the truth. It thresholds
the probabilities, computes live metrics, keeps the stars a person selected in a plot, grows or
shrinks the support set (each change written to a :class:`~astroad_nb.store.LabelStore`),
re-scores the field through a user-given callable and exports the members.
:class:`astroad_nb.widgets.StreamExplorer` only displays it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["StreamExplorerState", "VIEWS", "selection_mask"]

#: The three linked views: name -> title.
VIEWS = {"sky": "sky", "pm": "proper motions", "cmd": "colour-magnitude"}

_GAIA_PHOT = ("phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag")
_PS1_PHOT = ("g_mean_psf_mag", "i_mean_psf_mag")
_EXPORT_FORMATS = {".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".fits": "fits", ".fit": "fits"}
_LAYERS = ("field", "support")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LASSO_PATH = re.compile(rf"(?:\s*M\s*{_NUMBER}\s*,\s*{_NUMBER}(?:\s*L\s*{_NUMBER}\s*,\s*{_NUMBER})*\s*Z?)+\s*")


def selection_mask(x, y, selections) -> np.ndarray:
    """Which points lie inside any of the boxes / lassos that plotly drew in a view.

    Parameters
    ----------
    x, y : array-like of float, shape (n_points,)
        Data coordinates of the points. NaN is never inside. An inverted axis changes nothing:
        plotly gives the shapes in data coordinates too.
    selections : sequence of dict
        Entries of a figure's ``layout.selections``, as plotly writes them after a drag:
        ``{"type": "rect", "x0": .., "x1": .., "y0": .., "y1": ..}`` for a box (corners in any
        order, edges inside) or ``{"type": "path", "path": "M x,y L x,y ... Z"}`` for a lasso.

    Returns
    -------
    ndarray of bool, shape (n_points,)

    Raises
    ------
    ValueError
        If a selection is neither a box nor a lasso path.

    Examples
    --------
    >>> selection_mask([0.5, 2.0], [0.5, 0.5], [{"type": "rect", "x0": 1, "x1": 0, "y0": 0, "y1": 1}])
    array([ True, False])
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = np.zeros(x.shape, dtype=bool)
    for selection in selections:
        kind = selection.get("type") or ("path" if "path" in selection else "rect")
        if kind == "rect":
            inside |= _in_box(x, y, selection)
        elif kind == "path":
            for polygon in _lasso_polygons(selection.get("path", "")):
                inside |= _in_polygon(x, y, polygon)
        else:
            raise ValueError(f"unsupported selection type {kind!r}; plotly draws 'rect' (box) "
                             "or 'path' (lasso).")
    return inside


def _in_box(x, y, box) -> np.ndarray:
    (x_lo, x_hi), (y_lo, y_hi) = (sorted((float(box[f"{axis}0"]), float(box[f"{axis}1"])))
                                  for axis in "xy")
    return (x >= x_lo) & (x <= x_hi) & (y >= y_lo) & (y <= y_hi)


def _lasso_polygons(path) -> list[np.ndarray]:
    """The closed polygons, each of shape (n_vertices, 2), of an SVG path ``M x,y L x,y ... Z``."""
    if not _LASSO_PATH.fullmatch(path):
        raise ValueError(f"unsupported lasso path {path[:60]!r}; expected 'M x,y L x,y ... Z'.")
    return [np.array(re.findall(_NUMBER, sub), dtype=float).reshape(-1, 2)
            for sub in path.split("M")[1:]]


def _in_polygon(x, y, polygon) -> np.ndarray:
    """Even-odd ray casting: a point is inside when a ray to +x crosses the edges an odd number
    of times."""
    inside = np.zeros(x.shape, dtype=bool)
    for (x_a, y_a), (x_b, y_b) in zip(polygon, np.roll(polygon, -1, axis=0)):
        spans = (y_a > y) != (y_b > y)  # the edge crosses the point's height (never horizontal)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x_a + (y - y_a) * (x_b - x_a) / (y_b - y_a)
        inside ^= spans & (x < x_cross)
    return inside


def _as_frame(field) -> pd.DataFrame:
    if isinstance(field, pd.DataFrame):
        return field
    if hasattr(field, "to_pandas"):  # astropy Table
        return field.to_pandas()
    raise TypeError(f"field must be a pandas DataFrame or an astropy Table, got "
                    f"{type(field).__name__}.")


def _as_rows(values, index, name, dtype) -> np.ndarray:
    """One value per field row from an array of length n_stars or a Series indexed like it."""
    if isinstance(values, pd.Series):
        missing = index.difference(values.index)
        if len(missing) == len(index) and len(index):
            raise ValueError(f"{name} shares no index label with the field (field labels look "
                             f"like {index[:3].tolist()}, {name} like {values.index[:3].tolist()}).")
        values = values.reindex(index)
        if dtype is bool:
            values = values.fillna(False)
    array = np.asarray(values, dtype=dtype).ravel()
    if len(array) != len(index):
        raise ValueError(f"{name} has {len(array)} values, the field has {len(index)} stars.")
    return array


class StreamExplorerState:
    """A field of stars, their p(member), the support set, a plot selection, live metrics.

    Parameters
    ----------
    field : pandas.DataFrame or astropy.table.Table, shape (n_stars, n_columns)
        One row per star, indexed by star id: ra, dec (deg), pmra, pmdec (mas/yr) and Gaia
        (phot_g/bp/rp_mean_mag) or PS1 (g_mean_psf_mag, i_mean_psf_mag) photometry.
    proba : array-like of shape (n_stars,) or pandas.Series indexed like ``field``
        Membership probability in [0, 1]; NaN (a star without features) is never selected.
    support : index labels or bool array of shape (n_stars,), optional
        Known members (the model's support set).
    truth : bool array of shape (n_stars,) or pandas.Series, optional
        True membership; enables :meth:`metrics`.
    threshold : float in [0, 1], default=0.5
        Selected members are ``proba >= threshold``.
    rescore : callable, optional
        ``rescore(field, support_ids) -> proba`` (array of shape (n_stars,) or Series indexed
        like ``field``), called after every support-set change, e.g.
        ``lambda field, ids: model.predict_proba(X, X.loc[ids])``.
    store : astroad_nb.store.LabelStore, optional
        Support-set edits are written here at once: ``"member"`` for an added star,
        ``"not_member"`` for a removed one, with ``context``.
    context : str, default="streams"
    coords : {'radec', 'phi'}, default="radec"
        Sky view in (ra, dec) or in stream coordinates (phi1, phi2): the field's own ``phi1`` /
        ``phi2`` columns when present, else :func:`~astroad_nb.features.streams.stream_frame_coordinates`.
    stream_frame : str or astropy frame, default="GD1Koposov10"
        Stream frame for ``coords="phi"`` when the field has no phi1/phi2.
    max_points : int, default=20000
        At most this many stars are displayed (all support, selected and plot-selected stars,
        then a fixed random sample of the others); see :attr:`display_rows`.
    who : str, optional
        Labeller name written with each support edit (default: the store's).
    random_state : int, default=0
        Seed of the display sample.

    Attributes
    ----------
    field : pandas.DataFrame
    proba : ndarray of float, shape (n_stars,)
    truth : ndarray of bool, shape (n_stars,), or None
    support : pandas.Index
        Field labels of the support set, in the order they were given.
    threshold : float
    selection : pandas.Index
        Field labels of the stars selected in a plot (box / lasso), not yet acted upon.
    display_rows : ndarray of int
        Positions (into ``field``) of the displayed non-support stars, sorted.

    Examples
    --------
    >>> state = StreamExplorerState(problem.field, proba, support=problem.support,
    ...                             truth=problem.truth)                 # doctest: +SKIP
    >>> state.set_threshold(0.7); state.metrics()["precision"]         # doctest: +SKIP
    """

    def __init__(self, field, proba, *, support=None, truth=None, threshold=0.5, rescore=None,
                 store=None, context="streams", coords="radec", stream_frame="GD1Koposov10",
                 max_points=20_000, who=None, random_state=0):
        self.field = _as_frame(field)
        if self.field.index.has_duplicates:
            dup = self.field.index[self.field.index.duplicated()][:3].tolist()
            raise ValueError(f"field has duplicated index labels, e.g. {dup}; star ids must be unique.")
        if coords not in ("radec", "phi"):
            raise ValueError(f"coords must be 'radec' or 'phi', got {coords!r}.")
        if int(max_points) < 1:
            raise ValueError(f"max_points must be >= 1, got {max_points!r}.")
        if rescore is not None and not callable(rescore):
            raise TypeError(f"rescore must be callable(field, support_ids) -> proba, got "
                            f"{type(rescore).__name__}.")
        self.coords, self.stream_frame = coords, stream_frame
        self.max_points = int(max_points)
        self.rescore_fn, self.store, self.context, self.who = rescore, store, context, who
        self.proba = self._check_proba(proba)
        self.truth = None if truth is None else _as_rows(truth, self.field.index, "truth", bool)
        self.support = self._labels([] if support is None else support, "support")
        self.threshold = 0.0
        self.set_threshold(threshold)
        self._selection = {layer: self.field.index[:0] for layer in _LAYERS}
        # a fixed random order fills the display, so what is shown changes only when it must
        self._fill_order = np.random.default_rng(random_state).permutation(len(self.field))
        self.display_rows = np.array([], dtype=int)
        self._coords = None
        self.update_display()

    # ------------------------------------------------------------------ checks
    def _check_proba(self, proba) -> np.ndarray:
        proba = _as_rows(proba, self.field.index, "proba", float)
        finite = proba[np.isfinite(proba)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise ValueError(f"proba must lie in [0, 1] (NaN allowed), got values in "
                             f"[{finite.min():.3g}, {finite.max():.3g}].")
        return proba

    def _labels(self, ids, name) -> pd.Index:
        """Field labels from labels or a bool mask, checked to exist, duplicates dropped."""
        if isinstance(ids, (np.ndarray, pd.Series, list)) and len(ids) == len(self.field) \
                and np.asarray(ids).dtype == bool:
            return self.field.index[np.asarray(ids, bool)]
        if not isinstance(ids, pd.Index):
            ids = pd.Index(np.atleast_1d(np.asarray(ids)))
        if len(ids) == 0:
            return self.field.index[:0]
        missing = ids[~ids.isin(self.field.index)]
        if len(missing):
            raise KeyError(f"{name}: {len(missing)} ids are not in the field, e.g. "
                           f"{missing[:3].tolist()} (field ids look like {self.field.index[:3].tolist()}).")
        return self.field.index[self.field.index.get_indexer(ids.unique())]

    # ------------------------------------------------------------------ threshold and metrics
    def set_threshold(self, threshold):
        """Select members as ``proba >= threshold`` (threshold in [0, 1])."""
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold!r}.")
        self.threshold = threshold
        return self

    @property
    def selected(self) -> np.ndarray:
        """Bool mask of shape (n_stars,): ``proba >= threshold`` (NaN: False)."""
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.proba, nan=-1.0) >= self.threshold

    @property
    def n_selected(self) -> int:
        """Stars with ``proba >= threshold`` (support stars included)."""
        return int(self.selected.sum())

    @property
    def support_mask(self) -> np.ndarray:
        """Bool mask of shape (n_stars,): the support set."""
        return self.field.index.isin(self.support)

    def metrics(self) -> dict | None:
        """Precision, recall, F1 and MCC of the selection on the non-support stars.

        Returns
        -------
        dict or None
            ``precision``, ``recall``, ``f1``, ``mcc`` (0 where undefined) and the counts
            ``tp``, ``fp``, ``fn``, ``tn``; ``None`` without truth.
        """
        if self.truth is None:
            return None
        from astroad_nb.evaluation import confusion_counts, threshold_metrics

        query = ~self.support_mask
        y, pred = self.truth[query], self.selected[query]
        out = threshold_metrics(y, pred, ("precision", "recall", "f1", "mcc"))
        return {**out, **confusion_counts(y, pred)}

    def summary(self) -> str:
        """One line: selected count, threshold, support size, plot selection size."""
        return (f"{self.n_selected} selected (p >= {self.threshold:.2f}) · "
                f"support {len(self.support)} · plot selection {len(self.selection)}")

    # ------------------------------------------------------------------ plot selection
    @property
    def selection(self) -> pd.Index:
        """Field labels selected in a plot, field stars first, then support stars."""
        return self._selection["field"].append(self._selection["support"]).unique()

    def select_points(self, point_inds, layer="field"):
        """Record the points a box / lasso selected in one layer of a view.

        Parameters
        ----------
        point_inds : sequence of int
            Point indices within the layer's trace, as plotly's ``on_selection`` gives them.
        layer : {'field', 'support'}
            ``"field"``: indices into :attr:`display_rows`; ``"support"``: into :attr:`support`.

        Returns
        -------
        pandas.Index
            The whole selection (both layers).
        """
        rows = self._layer_rows(layer)
        inds = np.asarray(point_inds, dtype=int).ravel()
        if inds.size and (inds.min() < 0 or inds.max() >= len(rows)):
            raise IndexError(f"point index out of range for the {layer} layer "
                             f"({len(rows)} points): {inds.min()}..{inds.max()}.")
        self._selection[layer] = self.field.index[rows[inds]]
        return self.selection

    def select_in_view(self, view, selections):
        """Select the displayed stars inside the boxes / lassos drawn in one view.

        This is how the panel learns a selection: from the shapes plotly writes into the
        figure's layout, which reach Python reliably, rather than from plotly's point events.

        Parameters
        ----------
        view : {'sky', 'pm', 'cmd'}
        selections : sequence of dict
            The view's ``layout.selections`` (see :func:`selection_mask`); empty clears the
            plot selection.

        Returns
        -------
        pandas.Index
            The whole selection (field stars, then support stars).
        """
        x, y = self.view_columns(view)[:2]
        for layer in _LAYERS:
            rows = self._layer_rows(layer)
            inside = selection_mask(x[rows], y[rows], selections)
            self._selection[layer] = self.field.index[rows[inside]]
        return self.selection

    def _layer_rows(self, layer) -> np.ndarray:
        """Field positions of the points of one trace: displayed field stars or support stars."""
        if layer not in _LAYERS:
            raise ValueError(f"layer must be one of {_LAYERS}, got {layer!r}.")
        return self.display_rows if layer == "field" else self.field.index.get_indexer(self.support)

    def select_ids(self, ids):
        """Set the plot selection to these field labels (scripts, tests)."""
        ids = self._labels(ids, "selection")
        in_support = ids.isin(self.support)
        self._selection = {"field": ids[~in_support], "support": ids[in_support]}
        return self.selection

    def clear_selection(self):
        """Forget the plot selection."""
        self._selection = {layer: self.field.index[:0] for layer in _LAYERS}

    # ------------------------------------------------------------------ support set
    def add_support(self, ids=None, *, rescore=True) -> pd.Index:
        """Add stars to the support set (default: the plot selection) and re-score.

        Each newly added star is written to the store as ``"member"``. The plot selection
        is cleared.

        Returns
        -------
        pandas.Index
            The labels actually added (those already in the support set are skipped).
        """
        ids = self.selection if ids is None else self._labels(ids, "add_support")
        new = ids[~ids.isin(self.support)]
        self.support = self.support.append(new)
        self._record(new, "member")
        self.clear_selection()
        if rescore and len(new):
            self.rescore()
        self.update_display()
        return new

    def remove_support(self, ids=None, *, rescore=True) -> pd.Index:
        """Remove stars from the support set (default: the plot selection) and re-score.

        Each removed star is written to the store as ``"not_member"``.

        Raises
        ------
        ValueError
            If that would leave the support set empty (a model needs at least one member).
        """
        ids = self.selection if ids is None else self._labels(ids, "remove_support")
        gone = ids[ids.isin(self.support)]
        if len(gone) and len(gone) == len(self.support):
            raise ValueError("Removing these stars would empty the support set; keep at least "
                             "one known member (add others first).")
        self.support = self.support[~self.support.isin(gone)]
        self._record(gone, "not_member")
        self.clear_selection()
        if rescore and len(gone):
            self.rescore()
        self.update_display()
        return gone

    def _record(self, ids, label):
        if self.store is not None and len(ids):
            self.store.add_many([str(i) for i in ids], [label] * len(ids), who=self.who,
                                context=self.context)

    def rescore(self) -> np.ndarray:
        """Call ``rescore(field, support)`` and keep its probabilities (no-op without one)."""
        if self.rescore_fn is not None:
            self.proba = self._check_proba(self.rescore_fn(self.field, self.support))
        return self.proba

    # ------------------------------------------------------------------ display
    def update_display(self) -> bool:
        """Make sure every selected and plot-selected non-support star is displayed.

        The display keeps the stars that must be seen, then fills up to ``max_points`` from a
        fixed random order; it changes only when a star that must be seen is not shown.

        Returns
        -------
        bool
            Whether :attr:`display_rows` changed.
        """
        must = self.selected | self.field.index.isin(self.selection)
        must &= ~self.support_mask
        shown = np.zeros(len(self.field), bool)
        shown[self.display_rows] = True
        first = self.display_rows.size == 0 and len(self.field) > 0
        if not first and not (must & ~shown).any() and not (shown & self.support_mask).any():
            return False
        keep = must.copy()
        room = self.max_points - int(keep.sum()) - int(self.support_mask.sum())
        if room > 0:
            order = self._fill_order[~keep[self._fill_order] & ~self.support_mask[self._fill_order]]
            keep[order[:room]] = True
        self.display_rows = np.flatnonzero(keep)
        return True

    def view_columns(self, view) -> tuple[np.ndarray, np.ndarray, str, str]:
        """Coordinates of every star in one view.

        Parameters
        ----------
        view : {'sky', 'pm', 'cmd'}

        Returns
        -------
        x, y : ndarray of float, shape (n_stars,)
        x_title, y_title : str
            Axis titles with units. The colour-magnitude view is BP-RP vs G (Gaia) or g-i vs g
            (PS1); its magnitude axis should be drawn inverted.
        """
        frame = self.field
        if view == "sky":
            if self.coords == "radec":
                return (frame["ra"].to_numpy(float), frame["dec"].to_numpy(float),
                        "ra (deg)", "dec (deg)")
            phi = self._phi()
            return phi["phi1"].to_numpy(float), phi["phi2"].to_numpy(float), "φ1 (deg)", "φ2 (deg)"
        if view == "pm":
            return (frame["pmra"].to_numpy(float), frame["pmdec"].to_numpy(float),
                    "pmra (mas/yr)", "pmdec (mas/yr)")
        if view == "cmd":
            if set(_GAIA_PHOT) <= set(frame.columns):
                g, bp, rp = (frame[c].to_numpy(float) for c in _GAIA_PHOT)
                return bp - rp, g, "BP − RP (mag)", "G (mag)"
            if set(_PS1_PHOT) <= set(frame.columns):
                g, i = (frame[c].to_numpy(float) for c in _PS1_PHOT)
                return g - i, g, "g − i (mag)", "g (mag)"
            raise ValueError(f"no photometry for the colour-magnitude view: expected {_GAIA_PHOT} "
                             f"or {_PS1_PHOT}; the field has {list(frame.columns)}.")
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}.")

    def _phi(self) -> pd.DataFrame:
        if self._coords is None:
            if {"phi1", "phi2"} <= set(self.field.columns):
                self._coords = self.field[["phi1", "phi2"]]
            else:
                from astroad_nb.features.streams import stream_frame_coordinates

                self._coords = stream_frame_coordinates(self.field[["ra", "dec"]],
                                                        self.stream_frame)
        return self._coords

    # ------------------------------------------------------------------ export
    def members(self) -> pd.DataFrame:
        """The selected members (``proba >= threshold``) with ``p_member`` and ``in_support``."""
        rows = self.selected
        out = self.field.loc[rows].copy()
        out["p_member"] = self.proba[rows]
        out["in_support"] = self.support_mask[rows]
        return out

    def export(self, path=None):
        """The selected members as an astropy Table, written to ``path`` when given.

        Parameters
        ----------
        path : str or path-like, optional
            ``.csv``, ``.ecsv`` or ``.fits`` (format from the suffix); overwritten if present.

        Returns
        -------
        astropy.table.Table
            One row per selected star: its id (column named after the field's index, else
            ``id``), the field columns, ``p_member`` and ``in_support``; meta THRESH, NSUPPORT.
        """
        from astropy.table import Table

        frame = self.members()
        name = frame.index.name or "id"
        frame = frame.rename_axis(name).reset_index()
        for col in [c for c, t in frame.dtypes.items() if pd.api.types.is_object_dtype(t)]:
            frame[col] = frame[col].astype(str)  # FITS/ECSV need plain strings
        table = Table.from_pandas(frame)
        table.meta.update({"THRESH": self.threshold, "NSUPPORT": len(self.support)})  # FITS-safe keys
        if path is not None:
            path = Path(path)
            fmt = _EXPORT_FORMATS.get(path.suffix.lower())
            if fmt is None:
                raise ValueError(f"{path.name}: unknown export format {path.suffix!r}; use one "
                                 f"of {sorted(_EXPORT_FORMATS)}.")
            path.parent.mkdir(parents=True, exist_ok=True)
            table.write(path, format=fmt, overwrite=True)
        return table
