"""Static figures that notebooks, papers and panels share.

Every ``plot_*`` function draws on ``ax`` when given (else on a new figure), returns the
:class:`matplotlib.figure.Figure` and never calls ``show()``: the notebook displays it, a script
saves it. :func:`lightcurve_figure` builds the plotly version of :func:`plot_lightcurve` that the
anomaly browser panel updates in place.

Light-curve frames have one row per detection and the columns ``time`` (MJD), ``mag``,
``magerr`` and ``band`` (``"g"``, ``"r"``, ...); ALeRCE detection tables (``mjd``, ``magpsf``,
``sigmapsf``, ``fid``) are accepted as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BAND_COLORS",
    "lightcurve_points",
    "lightcurve_figure",
    "plot_auroc_heatmap",
    "plot_history",
    "plot_lightcurve",
    "plot_score_distribution",
]

#: ZTF band colours (g green, r red, i gold), as on the ALeRCE explorer.
BAND_COLORS = {"g": "#2ca02c", "r": "#d62728", "i": "#e0a800"}
_BAND_ORDER = ("g", "r", "i")
_ALERCE_COLUMNS = {"mjd": "time", "magpsf": "mag", "sigmapsf": "magerr"}
_ALERCE_FID = {1: "g", 2: "r", 3: "i"}
_TOP_CLASS_ORDER = ("transient", "stochastic", "periodic")


# --------------------------------------------------------------------------- helpers
def _figure_and_axes(ax, figsize):
    """Return ``(fig, ax)``: the given axes and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt  # lazy: importing the package must not pick a backend

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _lightcurve_frame(lc_frame) -> pd.DataFrame:
    """Validate a light-curve table and return it with columns time, mag, magerr, band."""
    frame = pd.DataFrame(lc_frame).rename(columns=_ALERCE_COLUMNS)
    if "band" not in frame and "fid" in frame:
        frame["band"] = frame["fid"].map(_ALERCE_FID)
    if "magerr" not in frame and {"time", "mag"} <= set(frame.columns):
        frame["magerr"] = np.nan
    missing = [c for c in ("time", "mag", "magerr", "band") if c not in frame]
    if missing:
        raise ValueError(
            f"light-curve frame lacks columns {missing}; it has {list(frame.columns)}. "
            "Expected time (MJD), mag, magerr, band (or ALeRCE's mjd, magpsf, sigmapsf, fid)."
        )
    frame = frame[["time", "mag", "magerr", "band"]].copy()
    frame["band"] = frame["band"].astype(str)
    return frame


def _bands(frame) -> list[str]:
    """Bands present, ZTF order first (g, r, i), then any others alphabetically."""
    present = set(frame["band"])
    return [b for b in _BAND_ORDER if b in present] + sorted(present - set(_BAND_ORDER))


def lightcurve_points(lc_frame, period=None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The points a light-curve plot draws, per band, raw or folded.

    Parameters
    ----------
    lc_frame : pandas.DataFrame
        One row per detection: time (MJD), mag, magerr, band.
    period : float, optional
        Period in days. When given (finite, > 0), times become phases in [0, 2): each point is
        drawn twice (phase and phase + 1) so a cycle is never cut; phase 0 is the brightest point.

    Returns
    -------
    dict of str to (x, mag, magerr)
        Per band (g, r, i first) three arrays of equal length: MJD or phase, magnitude, error.

    Raises
    ------
    ValueError
        When a column is missing.
    """
    frame = _lightcurve_frame(lc_frame)
    fold = period is not None and np.isfinite(period) and period > 0
    if fold and len(frame):
        t0 = frame["time"].to_numpy(float)[np.nanargmin(frame["mag"].to_numpy(float))]
    points = {}
    for band in _bands(frame):
        rows = frame[frame["band"] == band].sort_values("time")
        x = rows["time"].to_numpy(float)
        m = rows["mag"].to_numpy(float)
        e = rows["magerr"].to_numpy(float)
        if fold:
            phase = np.mod((x - t0) / period, 1.0)
            order = np.argsort(np.concatenate([phase, phase + 1.0]), kind="stable")
            x = np.concatenate([phase, phase + 1.0])[order]
            m, e = np.tile(m, 2)[order], np.tile(e, 2)[order]
        points[band] = (x, m, e)
    return points


def _x_label(period) -> str:
    if period is not None and np.isfinite(period) and period > 0:
        return f"phase (P = {period:.5g} d)"
    return "time (MJD)"


# --------------------------------------------------------------------------- training history
def plot_history(history, ax=None):
    """Training and validation loss per epoch, with the best epoch marked.

    Parameters
    ----------
    history : astroad_nb.training.History or pandas.DataFrame
        A History (anything with ``to_frame()``) or its frame: columns epoch, train_loss and,
        optionally, val_loss (NaN when there was no validation split).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the frame has no epoch / train_loss column or no rows.

    Examples
    --------
    >>> fig = plot_history(pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.5],
    ...                                  "val_loss": [3.1, 2.2, 2.4]}))
    """
    frame = history.to_frame() if hasattr(history, "to_frame") else pd.DataFrame(history)
    missing = [c for c in ("epoch", "train_loss") if c not in frame]
    if missing or frame.empty:
        raise ValueError(
            f"history needs rows and the columns epoch, train_loss (val_loss optional); got "
            f"{len(frame)} rows with columns {list(frame.columns)}."
        )
    fig, ax = _figure_and_axes(ax, (6, 4))
    _draw_history(ax, frame)
    return fig


def _draw_history(ax, frame):
    ax.plot(frame["epoch"], frame["train_loss"], "-o", ms=3, label="train")
    has_val = "val_loss" in frame and frame["val_loss"].notna().any()
    if has_val:
        ax.plot(frame["epoch"], frame["val_loss"], "-o", ms=3, label="validation")
    watched = frame["val_loss"] if has_val else frame["train_loss"]
    best = frame.loc[watched.idxmin()]
    ax.axvline(best["epoch"], color="0.5", ls="--", lw=1)
    ax.plot([best["epoch"]], [watched.min()], "*", ms=14, color="k",
            label=f"best epoch {int(best['epoch'])}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()


# --------------------------------------------------------------------------- AUROC heat map
def plot_auroc_heatmap(mean, std=None, *, top_class=None, ax=None):
    """AUROC per method (rows) and left-out subclass (columns), annotated ``0.83±0.02``.

    Parameters
    ----------
    mean : pandas.DataFrame, shape (n_methods, n_subclasses)
        Mean AUROC, rows = methods, columns = subclasses.
    std : pandas.DataFrame, optional
        Standard deviations, same labels as ``mean``; annotations show ``mean±std`` when given.
    top_class : mapping or pandas.Series, optional
        Subclass -> top class. Columns are then grouped by top class (transient, stochastic,
        periodic first), with separators and the top-class names above the groups.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure sized to the table when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The colour scale is fixed to [0.5, 1] (chance to perfect) so that figures compare.
    """
    mean = pd.DataFrame(mean)
    std = None if std is None else pd.DataFrame(std).reindex(index=mean.index, columns=mean.columns)
    groups = _column_groups(mean.columns, top_class)
    columns = [c for _, cols in groups for c in cols]
    mean = mean[columns]
    std = None if std is None else std[columns]
    fig, ax = _figure_and_axes(ax, (1.0 + 0.85 * len(columns), 1.4 + 0.5 * len(mean)))
    _draw_auroc_heatmap(ax, mean, std, groups if top_class is not None else [])
    return fig


def _column_groups(columns, top_class):
    """[(top class, [subclasses])] in display order; one unnamed group without a mapping."""
    if top_class is None:
        return [("", list(columns))]
    mapping = dict(top_class)
    names = [mapping.get(c, "other") for c in columns]
    order = [t for t in _TOP_CLASS_ORDER if t in names]
    order += [t for t in dict.fromkeys(names) if t not in order]
    return [(t, [c for c, n in zip(columns, names, strict=True) if n == t]) for t in order]


def _draw_auroc_heatmap(ax, mean, std, groups):
    values = mean.to_numpy(float)
    image = ax.imshow(values, cmap="viridis", vmin=0.5, vmax=1.0, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label="AUROC", fraction=0.03, pad=0.01)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in mean.columns], rotation=45,
                  ha="right", rotation_mode="anchor")
    ax.set_yticks(range(values.shape[0]), [str(i) for i in mean.index])
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            value = values[i, j]
            text = "–" if not np.isfinite(value) else f"{value:.2f}"
            if std is not None and np.isfinite(value) and np.isfinite(std.iat[i, j]):
                text += f"±{std.iat[i, j]:.2f}"
            # dark text on the bright (yellow) end of viridis, white elsewhere
            color = "black" if np.isfinite(value) and value > 0.85 else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    start = 0
    for k, (name, cols) in enumerate(groups):
        if k:
            ax.axvline(start - 0.5, color="white", lw=3)
        ax.text(start + (len(cols) - 1) / 2, -0.6, name, ha="center", va="bottom",
                fontweight="bold", transform=ax.transData)
        start += len(cols)
    ax.set_xlabel("left-out subclass")
    ax.set_ylabel("method")


# --------------------------------------------------------------------------- light curves
def plot_lightcurve(lc_frame, *, period=None, ax=None, title=None):
    """Magnitude against time (or phase) per band, with error bars; brighter is up.

    Parameters
    ----------
    lc_frame : pandas.DataFrame
        One row per detection: time (MJD), mag, magerr, band.
    period : float, optional
        Period in days; the curve is then folded and drawn over phases 0–2.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    title : str, optional
        Axes title (e.g. the object id).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When a column is missing.
    """
    points = lightcurve_points(lc_frame, period)
    fig, ax = _figure_and_axes(ax, (7, 4))
    _draw_lightcurve(ax, points, period, title)
    return fig


def _draw_lightcurve(ax, points, period, title):
    for band, (x, m, e) in points.items():
        ax.errorbar(x, m, yerr=np.nan_to_num(e), fmt="o", ms=4, elinewidth=1, capsize=0,
                    color=BAND_COLORS.get(band), label=band)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()  # magnitudes: brighter is smaller
    if period is not None and np.isfinite(period) and period > 0:
        ax.set_xlim(0, 2)
    ax.set_xlabel(_x_label(period))
    ax.set_ylabel("magnitude")
    if title:
        ax.set_title(title)
    if points:
        ax.legend(title="band")


def lightcurve_figure(lc_frame, period=None, title=None):
    """Plotly version of :func:`plot_lightcurve` (used by the anomaly browser panel).

    Parameters
    ----------
    lc_frame : pandas.DataFrame or None
        One row per detection: time (MJD), mag, magerr, band. ``None`` gives empty g and r
        traces (a panel fills them later).
    period : float, optional
        Period in days; the curve is then folded over phases 0–2.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace per band, named by the band, g and r always present (possibly
        empty) so a panel can update them in place; y axis reversed.
    """
    import plotly.graph_objects as go  # lazy: only the panel and interactive users need it

    points = {} if lc_frame is None else lightcurve_points(lc_frame, period)
    for band in ("g", "r"):
        points.setdefault(band, (np.array([]), np.array([]), np.array([])))
    fig = go.Figure()
    for band in sorted(points, key=lambda b: (_BAND_ORDER + (b,)).index(b)):
        x, m, e = points[band]
        fig.add_trace(go.Scatter(
            x=x, y=m, name=band, mode="markers",
            marker={"color": BAND_COLORS.get(band, "#555555"), "size": 6},
            error_y={"type": "data", "array": np.nan_to_num(e), "visible": True, "thickness": 1},
        ))
    fig.update_layout(
        title={"text": title or "", "x": 0.5},
        xaxis_title=_x_label(period),
        yaxis={"title": "magnitude", "autorange": "reversed"},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        height=380,
    )
    return fig


# --------------------------------------------------------------------------- scores
def plot_score_distribution(scores, labels=None, ax=None):
    """Histogram of anomaly scores, split by label when labels are given.

    Parameters
    ----------
    scores : array-like, shape (n_samples,)
        Anomaly scores (higher = more anomalous).
    labels : array-like, shape (n_samples,), optional
        A label per sample (e.g. 0 = normal, 1 = anomaly, or subclass names); one histogram per
        label on shared bins, normalised to unit area so small groups stay visible.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``labels`` and ``scores`` differ in length.
    """
    scores = np.asarray(scores, dtype=float).ravel()
    if labels is not None:
        labels = np.asarray(labels).ravel()
        if len(labels) != len(scores):
            raise ValueError(f"{len(scores)} scores but {len(labels)} labels.")
    fig, ax = _figure_and_axes(ax, (6, 4))
    _draw_score_distribution(ax, scores, labels)
    return fig


def _draw_score_distribution(ax, scores, labels):
    finite = np.isfinite(scores)
    bins = 10
    if finite.any():
        bins = np.histogram_bin_edges(scores[finite], bins="auto")
        if len(bins) > 81:  # "auto" over-splits heavy tails; 80 bins stay readable
            bins = np.histogram_bin_edges(scores[finite], bins=80)
    if labels is None:
        ax.hist(scores[finite], bins=bins, color="0.4")
        ax.set_ylabel("count")
    else:
        for value in pd.unique(labels):
            chosen = finite & (labels == value)
            ax.hist(scores[chosen], bins=bins, density=True, histtype="step", lw=2,
                    label=f"{value} (n={int(chosen.sum())})")
        ax.set_ylabel("density")
        ax.legend()
    ax.set_xlabel("anomaly score (higher = more anomalous)")
