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

from astroad_nb.data.bands import ZTF_FID_TO_BAND

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
_ALERCE_FID = ZTF_FID_TO_BAND
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
        A History (anything with ``to_frame()``; its ``best_epoch`` is marked and its ``desc``
        becomes the title) or its frame: columns epoch, train_loss and, optionally, val_loss
        (NaN when there was no validation split; the lowest monitored loss is then marked).
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
    _draw_history(ax, frame, getattr(history, "best_epoch", None))
    _mark_events(ax, getattr(history, "events", None))
    if getattr(history, "desc", None):
        ax.set_title(history.desc)
    return fig


def _mark_events(ax, events):
    """Red dotted lines at the epochs where a two-player fit re-initialised a player."""
    for i, event in enumerate(events or ()):
        ax.axvline(event["epoch"], color="tab:red", ls=":", lw=1.5,
                   label=f"{event['player']} re-initialised" if i == 0 else None)
    if events:
        ax.legend()


def plot_gan_history(history, ax=None):
    """Loss parts of a two-player fit (GANomaly's err_d, err_g, adv, con, enc) per epoch,
    on a log axis, with the epochs where the discriminator was re-initialised marked.

    Parameters
    ----------
    history : astroad_nb.training.History
        With ``components`` (an :class:`~astroad_nb.training.AdversarialGame` fit).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the history has no loss parts (not a two-player fit).
    """
    components = getattr(history, "components", None) or {}
    if not components:
        raise ValueError("plot_gan_history needs a History of an AdversarialGame fit (its "
                         "components are empty); use plot_history for ordinary fits.")
    fig, ax = _figure_and_axes(ax, (6, 4))
    for name in ("err_d", "err_g", "adv", "con", "enc"):
        if name in components:
            ax.plot(np.arange(len(components[name])), components[name], "-o", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    _mark_events(ax, getattr(history, "events", None))
    if getattr(history, "desc", None):
        ax.set_title(history.desc)
    return fig


__all__ += ["plot_gan_history"]


def _draw_history(ax, frame, best_epoch):
    ax.plot(frame["epoch"], frame["train_loss"], "-o", ms=3, label="train")
    has_val = "val_loss" in frame and frame["val_loss"].notna().any()
    if has_val:
        ax.plot(frame["epoch"], frame["val_loss"], "-o", ms=3, label="validation")
    watched = frame["val_loss"] if has_val else frame["train_loss"]
    # a History knows which epoch's weights it kept; a bare frame: the lowest monitored loss
    row = watched.idxmin() if best_epoch is None else frame.index[frame["epoch"] == best_epoch][0]
    best = frame.loc[row]
    ax.axvline(best["epoch"], color="0.5", ls="--", lw=1)
    ax.plot([best["epoch"]], [watched[row]], "*", ms=14, color="k",
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


# --------------------------------------------------------------------------- cutout triplets
# Alert cutout triplets (science, reference, difference), as in the RB-C1000 labelling panel.
# The panel needs a new triplet on screen within a few tens of milliseconds of a click, so the
# PNGs are drawn with numpy + Pillow (a few ms); matplotlib (~100 ms a figure) only draws the
# static :func:`plot_triplet`.

#: Triplet panel titles, in :data:`astroad_nb.data.alerts.CHANNELS` order.
TRIPLET_TITLES = ("science", "reference", "difference")
#: RGB colour of NaN / masked pixels in triplet images (orange: absent from a grey-scale image).
NAN_COLOR = (255, 127, 14)
_STRETCHES = ("zscale", "asinh")


def stretch_cutout(image, stretch="zscale"):
    """Map one cutout's pixel values to [0, 1] for display.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Pixel values; NaN where invalid.
    stretch : {"zscale", "asinh"}, default="zscale"
        ``"zscale"``: astropy's :class:`~astropy.visualization.ZScaleInterval` (IRAF zscale)
        with a linear stretch, the usual choice for alert stamps; ``"asinh"``: 0.5–99.5
        percentile interval then :class:`~astropy.visualization.AsinhStretch` (a=0.1), which
        keeps bright cores and faint wings visible together.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Values in [0, 1]; NaN where the input is not finite (all-NaN stays all-NaN).

    Raises
    ------
    ValueError
        For an unknown ``stretch`` or an image that is not 2-D.
    """
    # lazy: importing astropy.visualization costs ~0.5 s
    from astropy.visualization import AsinhStretch, PercentileInterval, ZScaleInterval

    if stretch not in _STRETCHES:
        raise ValueError(f"stretch must be one of {_STRETCHES}, got {stretch!r}.")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"a cutout must be 2-D (H, W), got shape {image.shape}.")
    finite = np.isfinite(image)
    out = np.full(image.shape, np.nan, dtype=np.float32)
    if not finite.any():
        return out
    values = image[finite]
    if stretch == "zscale":
        vmin, vmax = ZScaleInterval().get_limits(values)
    else:
        vmin, vmax = PercentileInterval(99.0).get_limits(values)
    scaled = np.clip((values - vmin) / (vmax - vmin), 0, 1) if vmax > vmin else np.zeros_like(values)
    if stretch == "asinh":
        scaled = AsinhStretch(a=0.1)(scaled, clip=True)
    out[finite] = scaled
    return out


def triplet_images(triplet, *, stretch="zscale", zoom=1, pixel_scale=None, bar_arcsec=10.0,
                   n_channels=3):
    """Grey-scale RGB images of one triplet: NaNs in :data:`NAN_COLOR`, optional scale bar.

    Parameters
    ----------
    triplet : array_like, shape (3, H, W)
        Science, reference and difference cutouts (one ``CutoutSet.images[i]``).
    stretch : {"zscale", "asinh"}, default="zscale"
        See :func:`stretch_cutout`; each cutout is stretched on its own.
    zoom : int, default=1
        Pixel replication factor (nearest neighbour: every detector pixel stays visible).
    pixel_scale : float, optional
        Arcsec per pixel (ZTF: 1.01). When given, a white ``bar_arcsec`` bar is drawn in the
        bottom-left corner of each image.
    bar_arcsec : float, default=10
        Length of the scale bar in arcsec.
    n_channels : int, default=3
        Number of cutouts expected (1 draws a single stamp, see :func:`cutout_png`).

    Returns
    -------
    ndarray of uint8, shape (n_channels, H * zoom, W * zoom, 3)
    """
    return _PALETTE[_palette_indices(triplet, stretch, zoom, pixel_scale, bar_arcsec, n_channels)]


# Palette images: 0..254 grey, 255 the NaN colour. One byte a pixel makes the PNG encoder
# ~10x faster than RGB (0.6 vs 8 ms at 189 x 189), which is most of a panel click's cost.
_WHITE, _NAN_INDEX = 254, 255
_PALETTE = np.array([[round(255 * i / _WHITE)] * 3 for i in range(_NAN_INDEX)] + [NAN_COLOR],
                    dtype=np.uint8)


def _palette_indices(triplet, stretch, zoom, pixel_scale, bar_arcsec, n_channels):
    """Palette indices (n_channels, H * zoom, W * zoom) of stretched cutouts + scale bar."""
    triplet = np.asarray(triplet, dtype=np.float32)
    if triplet.ndim != 3 or triplet.shape[0] != n_channels:
        raise ValueError(f"expected {n_channels} cutouts of shape (H, W) stacked as "
                         f"({n_channels}, H, W), got {triplet.shape}.")
    zoom = int(zoom)
    if zoom < 1:
        raise ValueError(f"zoom must be a positive integer, got {zoom}.")
    grey = np.stack([stretch_cutout(image, stretch) for image in triplet])
    index = np.where(np.isfinite(grey), np.rint(np.nan_to_num(grey) * _WHITE),
                     _NAN_INDEX).astype(np.uint8)
    if zoom > 1:
        index = index.repeat(zoom, axis=1).repeat(zoom, axis=2)
    if pixel_scale is not None:
        _draw_scale_bar(index, bar_arcsec / float(pixel_scale) * zoom)
    return index


def _draw_scale_bar(index, length_px):
    """Paint a white bar with a black outline in the bottom-left corner of every image."""
    n, height, width = index.shape
    length = int(round(min(length_px, width - 8)))
    thick = max(2, height // 60)
    y1, x0 = height - max(4, height // 16), max(4, width // 16)
    y0, x1 = y1 - thick, x0 + length
    index[:, y0 - 1:y1 + 1, x0 - 1:x1 + 1] = 0
    index[:, y0:y1, x0:x1] = _WHITE


def cutout_png(image, *, stretch="zscale", zoom=3, pixel_scale=1.01, bar_arcsec=10.0):
    """PNG bytes of one cutout, for a notebook panel (~2 ms for a 63 x 63 stamp).

    Parameters
    ----------
    image : array_like, shape (H, W)
        One cutout (NaN where invalid, drawn in :data:`NAN_COLOR`).
    stretch, zoom, pixel_scale, bar_arcsec
        As in :func:`triplet_images`; ``pixel_scale=None`` draws no scale bar. The bar's length
        is written above it (``10"``: Pillow's built-in font has no ``″``).

    Returns
    -------
    bytes
        A PNG of ``(H * zoom, W * zoom)`` pixels.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"a cutout must be 2-D (H, W), got shape {image.shape}.")
    index = _palette_indices(image[None], stretch, zoom, pixel_scale, bar_arcsec, 1)[0]
    return _encode_png(index, pixel_scale, bar_arcsec)


def triplet_pngs(triplet, *, stretch="zscale", zoom=3, pixel_scale=1.01, bar_arcsec=10.0):
    """PNG bytes of the three cutouts of a triplet, for a notebook panel (a few ms).

    Parameters
    ----------
    triplet : array_like, shape (3, H, W)
        Science, reference and difference cutouts.
    stretch, zoom, pixel_scale, bar_arcsec
        As in :func:`cutout_png`.

    Returns
    -------
    list of bytes
        Three PNG files (science, reference, difference), each ``(H * zoom, W * zoom)`` pixels.
    """
    index = _palette_indices(triplet, stretch, zoom, pixel_scale, bar_arcsec, 3)
    return [_encode_png(image, pixel_scale, bar_arcsec) for image in index]


# --------------------------------------------------------------------------- galaxy PNGs
# The reconstruction viewer needs a new original / reconstruction / residual on screen within a
# few tens of milliseconds of a click, so these PNGs are drawn with numpy + Pillow (~1 ms each
# at 256 x 256): a palette PNG (one byte a pixel) for grey bands and diverging residuals, RGB
# only for colour composites.

#: Diverging colour map of signed residuals (red: image brighter than its reconstruction).
RESIDUAL_CMAP = "RdBu_r"
_DIVERGING: dict = {}


def _galaxy_channels(image, band, where):
    """(H, W) or (3, H, W) float32 channels to draw from a (C, H, W) image."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise ValueError(f"{where}: expected one image of shape (C, H, W) or (H, W), got "
                         f"shape {image.shape}.")
    if band is not None:
        if not -image.shape[0] <= int(band) < image.shape[0]:
            raise ValueError(f"{where}: band {band} is not one of the {image.shape[0]} channels.")
        return image[int(band)]
    if image.shape[0] == 1:
        return image[0]
    if image.shape[0] == 3:
        return image
    raise ValueError(f"{where}: an RGB composite needs 3 channels, got {image.shape[0]}; pass "
                     "band=k to draw one channel.")


def _zoomed(array, zoom, where):
    zoom = int(zoom)
    if zoom < 1:
        raise ValueError(f"{where}: zoom must be a positive integer, got {zoom}.")
    if zoom > 1:
        array = array.repeat(zoom, axis=0).repeat(zoom, axis=1)
    return array


def _galaxy_pixels(image, band, vmin, vmax, zoom, where):
    """(palette indices (H', W'), None) for one band, or (None, RGB uint8 (H', W', 3))."""
    channels = _galaxy_channels(image, band, where)
    if not float(vmax) > float(vmin):
        raise ValueError(f"{where}: vmax must exceed vmin, got vmin={vmin}, vmax={vmax}.")
    scaled = (channels - np.float32(vmin)) / np.float32(float(vmax) - float(vmin))
    finite = np.isfinite(scaled)
    scaled = np.clip(np.where(finite, scaled, 0.0), 0.0, 1.0)
    if channels.ndim == 2:
        index = np.where(finite, np.rint(scaled * _WHITE), _NAN_INDEX).astype(np.uint8)
        return _zoomed(index, zoom, where), None
    rgb = np.rint(np.moveaxis(scaled, 0, -1) * 255).astype(np.uint8)
    rgb[~finite.all(axis=0)] = NAN_COLOR
    return None, _zoomed(rgb, zoom, where)


def galaxy_rgb(image, *, band=None, vmin=-1.0, vmax=1.0, zoom=1):
    """Display pixels of one galaxy image: a 3-channel RGB composite or one band in grey.

    Parameters
    ----------
    image : array_like, shape (C, H, W) or (H, W)
        Pixel values, mapped linearly from ``[vmin, vmax]`` to [0, 255] (clipped). With
        ``band=None`` three channels are taken as R, G, B in order (an SDSS cutout's i, r,
        g: ``ImageSet.bands == ("i", "r", "g")``) and one channel is drawn in grey.
    band : int, optional
        Draw this channel alone, in grey.
    vmin, vmax : float, default=-1, 1
        The data range shown (the seed's transform puts pixels in [-1, 1]).
    zoom : int, default=1
        Pixel replication factor (nearest neighbour: every pixel stays visible).

    Returns
    -------
    ndarray of uint8, shape (H * zoom, W * zoom, 3)
        RGB; NaN pixels in :data:`NAN_COLOR`.

    Raises
    ------
    ValueError
        For a shape that is not one image, a missing band, ``C`` other than 1 or 3 without
        ``band``, ``vmax <= vmin`` or ``zoom < 1``.
    """
    index, rgb = _galaxy_pixels(image, band, vmin, vmax, zoom, "galaxy_rgb")
    return _PALETTE[index] if rgb is None else rgb


def galaxy_png(image, *, band=None, vmin=-1.0, vmax=1.0, zoom=4):
    """PNG bytes of one galaxy image (RGB composite or one band in grey), for a panel (~1 ms).

    Parameters
    ----------
    image, band, vmin, vmax, zoom
        As in :func:`galaxy_rgb`.

    Returns
    -------
    bytes
        A PNG of ``(H * zoom, W * zoom)`` pixels that decodes to :func:`galaxy_rgb`'s array.
    """
    index, rgb = _galaxy_pixels(image, band, vmin, vmax, zoom, "galaxy_png")
    return _png_bytes(index, _PALETTE) if rgb is None else _png_bytes(rgb)


def residual_limit(residual, percentile=99.5):
    """Symmetric colour limit of a residual: the ``percentile`` of ``|residual|``.

    Parameters
    ----------
    residual : array_like, any shape
        Signed residuals (image minus reconstruction, pixel units of the image).
    percentile : float in (0, 100], default=99.5
        A high percentile rather than the maximum, so a few hot pixels do not wash out the
        rest; 100 gives the maximum.

    Returns
    -------
    float
        The limit (> 0; 1.0 when every finite residual is 0 or none is finite).
    """
    values = np.abs(np.asarray(residual, dtype=np.float32))
    values = values[np.isfinite(values)]
    if not values.size:
        return 1.0
    limit = float(np.percentile(values, float(percentile)))
    return limit if limit > 0 else (float(values.max()) or 1.0)


def _diverging_palette():
    """256 x 3 uint8: 255 colours of :data:`RESIDUAL_CMAP` (index 127 = 0), then the NaN colour."""
    if "palette" not in _DIVERGING:
        from matplotlib import colormaps  # lazy: matplotlib costs ~0.3 s to import

        colours = colormaps[RESIDUAL_CMAP].resampled(_NAN_INDEX)(np.arange(_NAN_INDEX))[:, :3]
        _DIVERGING["palette"] = np.vstack([np.rint(255 * colours), [NAN_COLOR]]).astype(np.uint8)
    return _DIVERGING["palette"]


def _residual_pixels(residual, band, limit, zoom, where):
    """(diverging palette indices, None) for one band, or (None, signed RGB uint8) for 3."""
    channels = _galaxy_channels(residual, band, where)
    limit = residual_limit(channels) if limit is None else float(limit)
    if not limit > 0:
        raise ValueError(f"{where}: limit must be positive, got {limit}.")
    scaled = channels / np.float32(limit)
    finite = np.isfinite(scaled)
    scaled = np.clip(np.where(finite, scaled, 0.0), -1.0, 1.0)
    half = (_NAN_INDEX - 1) / 2  # 127: 0 -> the map's centre, +-limit -> its ends
    if channels.ndim == 2:
        index = np.where(finite, np.rint(half * (scaled + 1)), _NAN_INDEX).astype(np.uint8)
        return _zoomed(index, zoom, where), None
    # signed composite: mid-grey = no residual; a channel brighter than its reconstruction
    # tints the pixel towards that channel's colour
    rgb = np.rint(127.5 * (np.moveaxis(scaled, 0, -1) + 1)).astype(np.uint8)
    rgb[~finite.all(axis=0)] = NAN_COLOR
    return None, _zoomed(rgb, zoom, where)


def residual_rgb(residual, *, band=None, limit=None, zoom=1):
    """Display pixels of a signed residual on a symmetric scale ``[-limit, limit]``.

    Parameters
    ----------
    residual : array_like, shape (C, H, W) or (H, W)
        Image minus reconstruction (e.g. ``GANomaly.residuals(X)[i]``).
    band : int, optional
        Draw this channel alone. One band (or a 1-channel residual) is drawn on the diverging
        :data:`RESIDUAL_CMAP` (white = 0, red = image brighter, blue = reconstruction
        brighter); three channels with ``band=None`` as a signed RGB composite (mid-grey = 0,
        each channel ``0.5 + 0.5 * r / limit``), which shows colour errors.
    limit : float, optional
        Colour limit (> 0); default :func:`residual_limit` of the drawn channels. Pass one
        value to compare images on one scale.
    zoom : int, default=1
        Pixel replication factor.

    Returns
    -------
    ndarray of uint8, shape (H * zoom, W * zoom, 3)
        RGB; NaN pixels in :data:`NAN_COLOR`.
    """
    index, rgb = _residual_pixels(residual, band, limit, zoom, "residual_rgb")
    return _diverging_palette()[index] if rgb is None else rgb


def residual_png(residual, *, band=None, limit=None, zoom=4):
    """PNG bytes of a signed residual (diverging map, or signed RGB composite), ~1 ms.

    Parameters
    ----------
    residual, band, limit, zoom
        As in :func:`residual_rgb`.

    Returns
    -------
    bytes
        A PNG of ``(H * zoom, W * zoom)`` pixels that decodes to :func:`residual_rgb`'s array.
    """
    index, rgb = _residual_pixels(residual, band, limit, zoom, "residual_png")
    return _png_bytes(index, _diverging_palette()) if rgb is None else _png_bytes(rgb)


def _png_bytes(pixels, palette=None):
    """PNG of palette indices (H, W) with ``palette`` (256 x 3), or of RGB pixels (H, W, 3)."""
    import io

    from PIL import Image

    if palette is None:
        picture = Image.fromarray(np.ascontiguousarray(pixels), mode="RGB")
    else:
        picture = Image.fromarray(np.ascontiguousarray(pixels), mode="P")
        picture.putpalette(palette.tobytes())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # speed over a few hundred bytes
    return buffer.getvalue()


__all__ += ["RESIDUAL_CMAP", "galaxy_png", "galaxy_rgb", "residual_limit", "residual_png",
            "residual_rgb"]


def _encode_png(index, pixel_scale, bar_arcsec):
    """A palette PNG (see ``_PALETTE``) with the scale bar's length written above the bar."""
    import io

    from PIL import Image, ImageDraw

    picture = Image.fromarray(index, mode="P")
    picture.putpalette(_PALETTE.tobytes())
    if pixel_scale is not None:
        height, width = index.shape
        y = height - max(4, height // 16) - max(2, height // 60) - 3
        ImageDraw.Draw(picture).text(
            (max(4, width // 16), y), f'{bar_arcsec:g}"', fill=_WHITE,
            font=_bar_font(max(10, height // 14)), anchor="ls", stroke_width=2, stroke_fill=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # speed over a few hundred bytes
    return buffer.getvalue()


_FONTS: dict = {}


def _bar_font(size):
    """Pillow's built-in font at ``size`` px (cached: loading it costs ~1 ms)."""
    if size not in _FONTS:
        from PIL import ImageFont

        _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def plot_triplet(triplet, *, stretch="zscale", pixel_scale=1.01, bar_arcsec=10.0, title=None,
                 fig=None):
    """Science / reference / difference side by side (matplotlib).

    Parameters
    ----------
    triplet : array_like, shape (3, H, W)
        One triplet (``CutoutSet.images[i]``).
    stretch : {"zscale", "asinh"}, default="zscale"
        See :func:`stretch_cutout`.
    pixel_scale : float or None, default=1.01
        Arcsec per pixel, for the scale bar (``None``: no bar).
    bar_arcsec : float, default=10
        Scale-bar length in arcsec.
    title : str, optional
        Figure title (e.g. the alert id and p(real)).
    fig : matplotlib.figure.Figure, optional
        Figure to draw in (cleared first); a new one when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rgb = triplet_images(triplet, stretch=stretch, zoom=1)
    if fig is None:
        import matplotlib.pyplot as plt  # lazy: importing the package must not pick a backend

        fig = plt.figure(figsize=(9, 3.4), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(1, 3)
    _draw_triplet(axes, rgb, pixel_scale, bar_arcsec)
    if title is not None:
        fig.suptitle(title)
    return fig


def _draw_triplet(axes, rgb, pixel_scale, bar_arcsec):
    height, width = rgb.shape[1:3]
    for ax, image, name in zip(axes, rgb, TRIPLET_TITLES, strict=True):
        ax.imshow(image, origin="upper", interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        if pixel_scale is not None:
            length = bar_arcsec / float(pixel_scale)
            x0, y = 0.06 * width, 0.92 * height
            ax.plot([x0, x0 + length], [y, y], color="white", lw=3, solid_capstyle="butt")
            ax.text(x0, y - 0.04 * height, f"{bar_arcsec:g}\u2033", color="white",
                    fontsize=9, va="bottom")


__all__ += ["NAN_COLOR", "TRIPLET_TITLES", "cutout_png", "plot_triplet", "stretch_cutout",
            "triplet_images", "triplet_pngs"]


# --------------------------------------------------------------------------- galaxy images
# Figures of the GANomaly galaxy protocol (system 4). ``scores`` is the long table of
# :func:`astroad_nb.protocols.galaxies.score_sets`: one row per image with ``variant``,
# ``strength``, the raw latent score ``A`` and the metadata ``log_mstar``, ``z``, ``bt``; a set
# is one (variant, strength) pair, the held-out observed galaxies being ("observed", 0.0).
# Images are (N, C, H, W) in [-1, 1] (the seed's transform); three channels display as RGB.

#: Axis labels of the galaxy metadata columns :func:`plot_score_vs_properties` draws.
GALAXY_PROPERTY_LABELS = {"log_mstar": "log$_{10}$ M$_*$ [M$_\\odot$]", "z": "redshift z",
                          "bt": "bulge-to-total B/T"}
#: Colour of the reference (held-out observed) set in every galaxy figure.
REFERENCE_COLOR = "0.35"
_GALAXY_REFERENCE = ("observed", 0.0)
_STRENGTH_STYLES = ("-", "--", ":", "-.")  # strongest first
_STRENGTH_MARKERS = ("o", "^", "s", "D")


def _score_sets(scores, sets, where):
    """{(variant, strength): rows} of a score_sets table, in table order, filtered by ``sets``."""
    frame = pd.DataFrame(scores)
    missing = [c for c in ("variant", "strength", "A") if c not in frame]
    if missing:
        raise ValueError(f"{where}: the scores table lacks columns {missing}; it has "
                         f"{list(frame.columns)}. Pass protocols.galaxies.score_sets()'s output.")
    keys = list(dict.fromkeys(zip(frame["variant"].astype(str),
                                  frame["strength"].astype(float))))
    if sets is not None:
        wanted = [s if isinstance(s, str) else (str(s[0]), float(s[1])) for s in sets]
        unknown = [s for s in wanted if not any(s == k or s == k[0] for k in keys)]
        if unknown:
            raise ValueError(f"{where}: no set {unknown} in the scores; it has {keys} (give a "
                             "variant name or a (variant, strength) pair).")
        keys = [k for k in keys if k in wanted or k[0] in wanted]
    variant = frame["variant"].astype(str).to_numpy()
    strength = frame["strength"].astype(float).to_numpy()
    return {k: frame[(variant == k[0]) & (strength == k[1])] for k in keys}


def _set_label(key):
    variant, strength = key
    return variant if strength == 0 else f"{variant} {strength:g}"


def _set_styles(keys, reference=_GALAXY_REFERENCE):
    """(colour, line style, marker) per set: one colour per variant, the strongest strength
    solid / round, weaker ones dashed, dotted; the reference grey."""
    from matplotlib import colormaps

    variants = list(dict.fromkeys(k[0] for k in keys if tuple(k) != tuple(reference)))
    palette = [c for i, c in enumerate(colormaps["tab10"].colors) if i != 7]  # 7: grey
    colours = {v: palette[i % len(palette)] for i, v in enumerate(variants)}
    styles = {}
    for key in keys:
        if tuple(key) == tuple(reference):
            styles[key] = (REFERENCE_COLOR, "-", "o")
            continue
        ranked = sorted({k[1] for k in keys if k[0] == key[0]}, reverse=True)
        rank = ranked.index(key[1]) % len(_STRENGTH_STYLES)
        styles[key] = (colours[key[0]], _STRENGTH_STYLES[rank], _STRENGTH_MARKERS[rank])
    return styles


def plot_galaxy_scores(scores, *, sets=None, bins="auto", reference=_GALAXY_REFERENCE, ax=None):
    """Histogram of the latent score A of each set (variant x strength), as fractions of the set.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`~astroad_nb.protocols.galaxies.score_sets`'s table: columns ``variant``,
        ``strength``, ``A`` (one row per image).
    sets : sequence, optional
        Sets to draw: variant names (all their strengths) or ``(variant, strength)`` pairs;
        default every set, in table order.
    bins : "auto", "seed", int or array-like, default="auto"
        Shared bin edges: ``"auto"`` 40 bins over the drawn scores, ``"seed"`` the seed's
        ``linspace(0, 0.1, 100)`` (those of the overlap statistic), an int that many bins,
        or the edges themselves.
    reference : (str, float), default=("observed", 0.0)
        The set drawn filled in grey (the held-out observed galaxies), when present.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One histogram per set (a step outline; the reference filled), labelled
        ``"<variant> <strength> (n=...)"``; the heights of a set sum to its fraction of images
        inside the bins.

    Raises
    ------
    ValueError
        When a column or a requested set is missing.
    """
    groups = _score_sets(scores, sets, "plot_galaxy_scores")
    values = np.concatenate([g["A"].to_numpy(float) for g in groups.values()] or [[]])
    if isinstance(bins, str) and bins == "seed":
        from astroad_nb.evaluation import SEED_OVERLAP_BINS

        edges = SEED_OVERLAP_BINS
    elif isinstance(bins, str):
        finite = values[np.isfinite(values)]
        edges = np.histogram_bin_edges(finite if finite.size else [0.0, 1.0], bins=40)
    elif np.ndim(bins) == 0:
        finite = values[np.isfinite(values)]
        edges = np.histogram_bin_edges(finite if finite.size else [0.0, 1.0], bins=int(bins))
    else:
        edges = np.asarray(bins, dtype=float)
    fig, ax = _figure_and_axes(ax, (7, 4))
    styles = _set_styles(list(groups), reference)
    for key, rows in groups.items():
        a = rows["A"].to_numpy(float)
        a = a[np.isfinite(a)]
        weights = np.full(a.size, 1.0 / max(a.size, 1))
        colour, style, _ = styles[key]
        label = f"{_set_label(key)} (n={a.size})"
        if tuple(key) == tuple(reference):
            ax.hist(a, bins=edges, weights=weights, color=colour, alpha=0.35, label=label)
        else:
            ax.hist(a, bins=edges, weights=weights, histtype="step", color=colour, ls=style,
                    lw=1.6, label=label)
    ax.set_xlabel("latent score A (raw; higher = further from the training images)")
    ax.set_ylabel("fraction of set")
    if groups:
        ax.legend(fontsize=7, ncol=2 if len(groups) > 8 else 1)
    return fig


def plot_score_vs_properties(scores, properties=("log_mstar", "z", "bt"), *, sets=None,
                             reference=_GALAXY_REFERENCE, fig=None):
    """Latent score A against galaxy properties (stellar mass, redshift, B/T), a scatter per set.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`~astroad_nb.protocols.galaxies.score_sets`'s table: ``variant``, ``strength``,
        ``A`` and the property columns.
    properties : sequence of str, default=("log_mstar", "z", "bt")
        Columns for the x axes, one panel each: ``log_mstar`` [log10 Msun], ``z``, ``bt``
        (or any numeric column).
    sets : sequence, optional
        As in :func:`plot_galaxy_scores`.
    reference : (str, float), default=("observed", 0.0)
        The set drawn in grey.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in (cleared first); a new one when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per property (shared y = A), one scatter collection per set on each; a panel
        whose property is NaN for every drawn image says so instead (e.g. real images).

    Raises
    ------
    ValueError
        When a property column, the score columns or a requested set is missing.
    """
    groups = _score_sets(scores, sets, "plot_score_vs_properties")
    properties = [str(p) for p in properties]
    frame = pd.DataFrame(scores)
    missing = [p for p in properties if p not in frame]
    if missing or not properties:
        raise ValueError(f"plot_score_vs_properties: no property column {missing or '(none)'} "
                         f"in the scores; it has {list(frame.columns)}.")
    if fig is None:
        import matplotlib.pyplot as plt  # lazy: importing the package must not pick a backend

        fig = plt.figure(figsize=(4.0 * len(properties), 3.8), layout="constrained")
    else:
        fig.clear()
    axes = np.atleast_1d(fig.subplots(1, len(properties), sharey=True))
    styles = _set_styles(list(groups), reference)
    for ax, prop in zip(axes, properties, strict=True):
        drawn = False
        for key, rows in groups.items():
            x, a = rows[prop].to_numpy(float), rows["A"].to_numpy(float)
            keep = np.isfinite(x) & np.isfinite(a)
            colour, _, marker = styles[key]
            ax.scatter(x[keep], a[keep], s=10, color=colour, marker=marker, alpha=0.7,
                       linewidths=0, label=_set_label(key))
            drawn = drawn or bool(keep.any())
        if not drawn:
            ax.text(0.5, 0.5, f"no {prop} values", transform=ax.transAxes, ha="center",
                    va="center", color="0.4")
        ax.set_xlabel(GALAXY_PROPERTY_LABELS.get(prop, prop))
    axes[0].set_ylabel("latent score A (raw)")
    if groups:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", fontsize=7, markerscale=1.5)
    return fig


def plot_reconstruction_gallery(images, reconstructions, scores, *, n=4, ids=None, band=None,
                                vmax=None, fig=None):
    """Original / reconstruction / residual of the ``n`` highest- and ``n`` lowest-scored images.

    Parameters
    ----------
    images : ndarray of shape (N, C, H, W) or ImageSet
        Inputs in [-1, 1] (the seed's transform), drawn as the reconstruction viewer draws
        them (:func:`galaxy_rgb`): three channels as RGB (an SDSS cutout's R, G, B = i, r,
        g), one in grey; other channel counts show ``band`` (default the first) in grey.
    reconstructions : ndarray of shape (N, C, H, W)
        :meth:`~astroad_nb.models.GANomaly.reconstruct` of ``images``.
    scores : array-like of shape (N,)
        Anomaly score of each image (e.g. the raw A); columns are ordered by it, highest first.
    n : int, default=4
        Images from each end of the ranking (fewer when ``N < 2 n``; no image twice).
    ids : sequence of str, optional
        Column titles (default: an ImageSet's ``table["id"]``, else row numbers).
    band : int, optional
        Channel of the residual row; default the mean over channels.
    vmax : float, optional
        Residual colour limit: the map spans ``[-vmax, vmax]`` (symmetric, so white = no
        residual); default :func:`residual_limit` (99.5th percentile of ``|residual|``) over
        every residual shown, one scale for the whole row.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in (cleared first); a new one when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        A 3 x k grid of image axes (rows original, reconstruction, residual = image minus
        reconstruction on the diverging :data:`RESIDUAL_CMAP`: red where the image is
        brighter), then the residual colour bar.

    Raises
    ------
    ValueError
        When the shapes disagree or there is no image.
    """
    ids = (list(images.table["id"]) if ids is None and hasattr(images, "table") else ids)
    images = np.asarray(getattr(images, "images", images), dtype=np.float32)
    reconstructions = np.asarray(reconstructions, dtype=np.float32)
    scores = np.asarray(scores, dtype=float).ravel()
    if images.ndim != 4 or reconstructions.shape != images.shape or len(scores) != len(images):
        raise ValueError(
            "plot_reconstruction_gallery: expected images and reconstructions of one shape "
            f"(N, C, H, W) and N scores; got {images.shape}, {reconstructions.shape} and "
            f"{scores.shape}.")
    if not len(images):
        raise ValueError("plot_reconstruction_gallery: no images to show.")
    if band is not None and not 0 <= int(band) < images.shape[1]:
        raise ValueError(f"plot_reconstruction_gallery: band {band} is not one of the "
                         f"{images.shape[1]} channels.")
    ids = [str(i) for i in range(len(images))] if ids is None else [str(i) for i in ids]
    order = np.argsort(-np.where(np.isfinite(scores), scores, -np.inf), kind="stable")
    n_top = min(int(n), len(order))
    n_bottom = min(int(n), len(order) - n_top)
    chosen = np.r_[order[:n_top], order[len(order) - n_bottom:]].astype(int)
    residual = images[chosen] - reconstructions[chosen]
    residual = residual.mean(axis=1) if band is None else residual[:, int(band)]
    limit = residual_limit(residual) if vmax is None else float(vmax)
    if not limit > 0:
        raise ValueError(f"plot_reconstruction_gallery: vmax must be positive, got {vmax}.")
    shown_band = band if band is not None or images.shape[1] in (1, 3) else 0
    if fig is None:
        import matplotlib.pyplot as plt  # lazy: importing the package must not pick a backend

        fig = plt.figure(figsize=(1.6 * len(chosen) + 1.0, 5.2), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(3, len(chosen), squeeze=False)
    residual_image = None
    for j, index in enumerate(chosen):
        rank = j + 1 if j < n_top else len(order) - len(chosen) + j + 1
        axes[0, j].set_title(f"#{rank}  A={scores[index]:.3g}\n{ids[index]}", fontsize=6.5)
        for i, source in enumerate((images, reconstructions)):
            axes[i, j].imshow(galaxy_rgb(source[index], band=shown_band),
                              interpolation="nearest")
        residual_image = axes[2, j].imshow(residual[j], cmap=RESIDUAL_CMAP, vmin=-limit,
                                           vmax=limit, interpolation="nearest")
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    band_name = "mean over bands" if band is None else f"band {int(band)}"
    for i, name in enumerate(("original", "reconstruction", f"residual\n({band_name})")):
        axes[i, 0].set_ylabel(name, fontsize=9)
    fig.colorbar(residual_image, ax=axes[2, :].tolist(), label="residual",
                 shrink=0.9)
    fig.suptitle(f"top {n_top} (most anomalous) | bottom {n_bottom} (least anomalous) by score",
                 fontsize=10)
    return fig


def plot_latent_pca(latents, labels=None, *, fit_on=None, reference=_GALAXY_REFERENCE, ax=None):
    """The first two principal components of latent codes (e.g. ``GANomaly.latent``), per set.

    Parameters
    ----------
    latents : ndarray of shape (N, nz) or mapping of label to ndarray of shape (N_k, nz)
        Latent codes, e.g. ``{key: model.latent(images) for key, images in sets.items()}``
        with the ``(variant, strength)`` keys of :func:`~astroad_nb.protocols.galaxies.
        simulate_variants`.
    labels : array-like of shape (N,), optional
        Set of each row when ``latents`` is one array (default: one set).
    fit_on : label, optional
        Fit the PCA on this set alone (e.g. ``("observed", 0.0)``: the axes are then the
        observed galaxies' main directions of variation); default all rows.
    reference : label, default=("observed", 0.0)
        The set drawn in grey, when present.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter collection per set; axis labels give each component's share of the
        variance of the rows the PCA was fitted on.

    Raises
    ------
    ValueError
        When the codes are not 2-D with at least 2 dimensions and 2 rows, the labels do not
        match, or ``fit_on`` is not a set.
    """
    from sklearn.decomposition import PCA

    if isinstance(latents, dict):
        keys = list(latents)
        arrays = [np.asarray(latents[k], dtype=float).reshape(len(latents[k]), -1) for k in keys]
        codes = np.concatenate(arrays) if arrays else np.zeros((0, 0))
        label_index = np.repeat(np.arange(len(keys)), [len(a) for a in arrays])
    else:
        codes = np.asarray(latents, dtype=float)
        codes = codes.reshape(len(codes), -1) if codes.ndim > 2 else codes
        raw = np.zeros(len(codes), dtype=int) if labels is None else np.asarray(labels)
        if len(raw) != len(codes):
            raise ValueError(f"plot_latent_pca: {len(codes)} latent rows but {len(raw)} labels.")
        keys = list(pd.unique(raw))
        label_index = np.array([keys.index(v) for v in raw], dtype=int)
        keys = [tuple(k) if isinstance(k, tuple) else k for k in keys]
    if codes.ndim != 2 or codes.shape[0] < 2 or codes.shape[1] < 2:
        raise ValueError(f"plot_latent_pca: expected latent codes of shape (N >= 2, nz >= 2), "
                         f"got {codes.shape}.")
    if fit_on is not None and fit_on not in keys:
        raise ValueError(f"plot_latent_pca: fit_on={fit_on!r} is not one of the sets {keys}.")
    basis = codes if fit_on is None else codes[label_index == keys.index(fit_on)]
    pca = PCA(n_components=2, svd_solver="full").fit(basis)
    projected = pca.transform(codes)
    is_set_key = all(isinstance(k, tuple) and len(k) == 2 for k in keys)
    styles = _set_styles(keys, reference) if is_set_key else {}
    fig, ax = _figure_and_axes(ax, (6, 5))
    for i, key in enumerate(keys):
        chosen = label_index == i
        colour, _, marker = styles.get(key, (None, "-", "o"))
        ax.scatter(projected[chosen, 0], projected[chosen, 1], s=12, color=colour, marker=marker,
                   alpha=0.7, linewidths=0,
                   label=_set_label(key) if is_set_key else str(key))
    share = pca.explained_variance_ratio_
    fitted = "all sets" if fit_on is None else (_set_label(fit_on) if is_set_key else str(fit_on))
    ax.set_xlabel(f"PC1 ({100 * share[0]:.0f}% of {fitted}'s variance)")
    ax.set_ylabel(f"PC2 ({100 * share[1]:.0f}%)")
    if len(keys) > 1:
        ax.legend(fontsize=7, ncol=2 if len(keys) > 8 else 1, markerscale=1.5)
    return fig


__all__ += ["GALAXY_PROPERTY_LABELS", "REFERENCE_COLOR", "plot_galaxy_scores",
            "plot_latent_pca", "plot_reconstruction_gallery", "plot_score_vs_properties"]


# --------------------------------------------------------------------------- active discovery
def _discovery_frame(curves) -> pd.DataFrame:
    """Long table (dataset, method, labels) -> mean, std, n_interesting from either input."""
    if isinstance(curves, pd.DataFrame):
        frame = curves.reset_index() if "labels" not in curves.columns else curves.copy()
        missing = [c for c in ("dataset", "method", "labels", "mean") if c not in frame]
        if missing:
            raise ValueError(f"plot_discovery_curves: the curve table lacks {missing}; pass "
                             "run.table('curves') of the discovery protocol or a dict "
                             "(dataset, method) -> array of shape (n_seeds, budget).")
        if "std" not in frame:
            frame["std"] = 0.0
        return frame
    rows = []
    for key, arr in dict(curves).items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"plot_discovery_curves: keys must be (dataset, method) pairs, "
                             f"got {key!r}.")
        arr = np.atleast_2d(np.asarray(arr, dtype=float))
        if arr.ndim != 2 or arr.shape[1] == 0:
            raise ValueError(f"plot_discovery_curves: curves[{key!r}] must have shape "
                             f"(n_seeds, budget >= 1), got {np.shape(arr)}.")
        for k in range(arr.shape[1]):
            rows.append({"dataset": key[0], "method": key[1], "labels": k + 1,
                         "mean": arr[:, k].mean(), "std": arr[:, k].std()})
    return pd.DataFrame(rows, columns=["dataset", "method", "labels", "mean", "std"])


def plot_discovery_curves(curves, *, datasets=None, methods=None, n_interesting=None,
                          ax=None):
    """True anomalies found vs labels given: mean line and a +-1 std band per ranker.

    Parameters
    ----------
    curves : dict or pandas.DataFrame
        ``(data set, method)`` -> ndarray of shape (n_seeds, budget), the running count of
        interesting objects found (``run.objects["curves"]`` of the ``discovery`` protocol);
        or its long table ``run.table("curves")`` (index or columns ``dataset``, ``method``,
        ``labels``; columns ``mean``, ``std`` and optionally ``n_interesting``), which a run
        read back from JSON still has.
    datasets, methods : sequence of str, optional
        Which to draw and in what order (default: all, in the order found).
    n_interesting : dict[str, int], optional
        Interesting objects per data set, drawn as a dotted ceiling (default: the table's
        ``n_interesting`` column when there is one).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per data set; a new figure with one panel per data set when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per data set (x: labels given, y: interesting found), one line (the mean
        over seeds) and one band (mean +- std, clipped at 0) per method, in the same colour
        on every panel.

    Raises
    ------
    ValueError
        When the curves are malformed, a requested data set or method is absent, or the
        number of axes differs from the number of data sets.

    Examples
    --------
    >>> run = protocols.get("discovery").run("fast")             # doctest: +SKIP
    >>> fig = plot_discovery_curves(run.objects["curves"])       # doctest: +SKIP
    """
    frame = _discovery_frame(curves)
    found_sets = list(pd.unique(frame["dataset"]))
    found_methods = list(pd.unique(frame["method"]))
    datasets = found_sets if datasets is None else [str(d) for d in datasets]
    methods = found_methods if methods is None else [str(m) for m in methods]
    absent = ([d for d in datasets if d not in found_sets]
              + [m for m in methods if m not in found_methods])
    if absent or not datasets or not methods:
        raise ValueError(f"plot_discovery_curves: {absent or 'nothing'} to draw; the curves "
                         f"hold data sets {found_sets} and methods {found_methods}.")
    if n_interesting is None and "n_interesting" in frame:
        n_interesting = frame.groupby("dataset")["n_interesting"].max().to_dict()
    if ax is None:
        import matplotlib.pyplot as plt  # lazy: importing the package must not pick a backend

        fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets) + 0.6, 3.8),
                                 layout="constrained", squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(datasets):
            raise ValueError(f"plot_discovery_curves: {len(axes)} axes for {len(datasets)} "
                             f"data sets {datasets}; pass one axes per data set.")
        fig = axes[0].figure
    colours = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    for axis, dataset in zip(axes, datasets, strict=True):
        _draw_discovery_panel(axis, frame[frame["dataset"] == dataset], methods, colours,
                              None if n_interesting is None else n_interesting.get(dataset))
        axis.set_title(dataset)
    axes[0].set_ylabel("interesting objects found")
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def _draw_discovery_panel(ax, rows, methods, colours, ceiling):
    for method in methods:
        curve = rows[rows["method"] == method].sort_values("labels")
        if curve.empty:
            continue
        x = curve["labels"].to_numpy(float)
        mean, std = curve["mean"].to_numpy(float), curve["std"].to_numpy(float)
        ax.fill_between(x, np.maximum(mean - std, 0.0), mean + std, color=colours[method],
                        alpha=0.15, linewidth=0)
        ax.plot(x, mean, color=colours[method], lw=1.8, label=method)
    if ceiling is not None and np.isfinite(ceiling):
        ax.axhline(float(ceiling), color="0.5", ls=":", lw=1)
    ax.set_xlabel("labels given")
    ax.set_ylim(bottom=0)


__all__ += ["plot_discovery_curves"]
