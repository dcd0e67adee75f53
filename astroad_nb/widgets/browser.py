"""The anomaly browser panel: ranked objects per class, click one to see its light curve.

The panel only displays an :class:`~astroad_nb.widgets.browser_state.AnomalyBrowserState`;
every rule (ranking, folding, labels) lives there and is tested without a browser.
"""

from __future__ import annotations

import html
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np

from astroad_nb.plotting import TRIPLET_TITLES, lightcurve_figure, lightcurve_points, triplet_pngs
from astroad_nb.widgets._common import FlaggingPanel
from astroad_nb.widgets.browser_state import AnomalyBrowserState

__all__ = ["AnomalyBrowser"]

_BUTTON_STYLES = {"interesting": "success", "bogus": "danger", "known": "info",
                  "not interesting": "warning", "skip": ""}
_CSS = """<style>
.astroad-browser select {font-family: monospace; font-size: 13px;}
.astroad-features table {border-collapse: collapse; font-size: 12px;}
.astroad-features th, .astroad-features td {padding: 1px 8px; text-align: right;}
.astroad-features tr:nth-child(even) {background: #f3f3f3;}
</style>"""


@contextmanager
def _muted(widget, handler, name="value"):
    """Change a widget from code without firing our own handler (which would loop back)."""
    widget.unobserve(handler, names=name)
    try:
        yield widget
    finally:
        widget.observe(handler, names=name)


class AnomalyBrowser(FlaggingPanel):
    """Browse the most anomalous objects of each class and flag them.

    A class selector, the ``n_top`` highest-scoring objects of that class (``rank. id score``,
    with the label given so far), the selected object's light curve (both bands, error bars,
    folded at the best period for periodic objects, with a folded / unfolded toggle) and its most
    unusual features; buttons ``interesting`` / ``bogus`` / ``known`` write a label to the store
    at once, ``undo`` takes the latest back.

    With a feedback ``ranker`` the buttons are ``interesting`` / ``not interesting`` / ``skip``
    (and ``bogus`` / ``known``); each flag re-ranks the list by the ranker, every listed object
    shows how it moved (``▲3``, ``▼2``, ``=``) and the ranker's top unseen object is shown
    next. :meth:`from_scores` opens a night scored by :func:`astroad_nb.scoring.score_alerts`
    with each alert's cutout triplet and light curve.

    Parameters
    ----------
    scores : pandas.Series or pandas.DataFrame
        Anomaly scores indexed by object id, higher = more anomalous (see
        :class:`~astroad_nb.widgets.browser_state.AnomalyBrowserState`).
    lightcurves : LightCurves, optional
        Light curves (``get(object_id)``, ``meta['period']``); without them the panel shows
        features only.
    features : pandas.DataFrame, optional
        Features indexed by object id.
    top_class : pandas.Series or pandas.DataFrame, optional
        Object id -> top class, or class probabilities.
    store : astroad_nb.store.LabelStore, optional
        Where labels are committed. Without one, labels live in memory only and are lost
        with the kernel.
    n_top : int, default=20
        Objects listed per class.
    who : str, optional
        Labeller name (default: the store's).
    context : str, default="alerce"
        Context written with each label.
    n_features : int, default=10
        Features shown unless "all features" is ticked.
    ranker : feedback ranker, optional
        See :class:`~astroad_nb.widgets.browser_state.AnomalyBrowserState`; restarting on the
        same store with a ranker of the same parameters and seed resumes the same ranking.

    Attributes
    ----------
    state : AnomalyBrowserState
        The logic; drive it directly in scripts and tests.
    widget : ipywidgets.VBox
        The whole panel.
    figure : plotly.graph_objects.FigureWidget or None
        The light-curve figure (``None`` without light curves), updated in place.

    Examples
    --------
    >>> store = LabelStore("labels.sqlite")                                  # doctest: +SKIP
    >>> AnomalyBrowser(scores, lcs, feats, top_class=classes, store=store)   # doctest: +SKIP
    """

    def __init__(self, scores, lightcurves=None, features=None, *, top_class=None, store=None,
                 n_top=20, who=None, context="alerce", n_features=10, ranker=None):
        self._build(AnomalyBrowserState(scores, lightcurves, features, top_class=top_class,
                                        store=store, n_top=n_top, who=who, context=context,
                                        ranker=ranker), n_features)

    @classmethod
    def from_scores(cls, scores, *, alerts=None, store=None, ranker=None, top=None,
                    features=None, n_features=10, **kwargs):
        """Open the ranked table of a night: each alert's cutout triplet and light curve.

        Parameters
        ----------
        scores : pandas.DataFrame or path
            The table of :func:`~astroad_nb.scoring.score_alerts`, or the Parquet dataset
            folder it wrote.
        alerts : path or list of paths, optional
            The night's Avro files / folders / ``.tar.gz``; each shown alert is read when
            shown (light curve = ``prv_candidates`` + ``candidate``, and its cutouts).
        store : LabelStore, optional
            Flags keyed by ``candid``.
        ranker : feedback ranker, optional
            Re-ranks after each flag (row ``i`` = the ``i``-th most anomalous kept alert; an
            unfitted one is fitted on ``features``).
        top : int, optional
            Keep the ``top`` most anomalous alerts only.
        features : pandas.DataFrame, optional
            Indexed by candid.
        n_features : int, default=10
        **kwargs
            ``n_top``, ``who``, ``context``.

        Returns
        -------
        AnomalyBrowser

        Examples
        --------
        >>> AnomalyBrowser.from_scores("night.parquet", alerts="night/", top=500)  # doctest: +SKIP
        """
        state = AnomalyBrowserState.from_scores(scores, alerts=alerts, store=store, ranker=ranker,
                                                top=top, features=features, **kwargs)
        panel = cls.__new__(cls)
        panel._build(state, n_features)
        return panel

    def _build(self, state, n_features):
        self.state = state
        n_top, context, lightcurves = state.n_top, state.context, state.lightcurves
        self.n_features = n_features
        self.class_buttons = widgets.ToggleButtons(
            options=self.state.classes, value=self.state.selected_class,
            style={"button_width": "110px"})
        self.ranked_list = widgets.Select(
            options=self.state.options(), value=self.state.current, rows=min(int(n_top), 16),
            layout=widgets.Layout(width="330px"))
        width = "104px" if state.ranker is None else "150px"  # fits "not interesting"
        self.flag_buttons = [
            widgets.Button(description=label, button_style=_BUTTON_STYLES[label],
                           tooltip=f"flag the selected object as {label}",
                           layout=widgets.Layout(width=width))
            for label in self.state.LABELS]
        self.undo_button = widgets.Button(description="undo", icon="undo",
                                          tooltip="take back the latest label",
                                          layout=widgets.Layout(width=width))
        self.fold_toggle = widgets.ToggleButton(value=self.state.folded, description="folded",
                                                tooltip="fold periodic light curves at their period")
        self.all_features = widgets.Checkbox(value=False, description="all features", indent=False)
        self.status = widgets.HTML()
        self.message = widgets.HTML()
        self.features_view = widgets.HTML(layout=widgets.Layout(max_height="380px",
                                                                overflow="auto"))
        self.features_view.add_class("astroad-features")
        self.cutouts = None
        if hasattr(lightcurves, "triplet"):  # a night of alerts: science, reference, difference
            self.cutouts = [widgets.Image(format="png", layout=widgets.Layout(width="120px"))
                            for _ in TRIPLET_TITLES]
        self.figure = None
        if lightcurves is not None:
            import plotly.graph_objects as go  # lazy: plotly's widget loads anywidget

            self.figure = go.FigureWidget(lightcurve_figure(None))
            self.figure.layout.width = 620

        self.class_buttons.observe(self._on_class, names="value")
        self.ranked_list.observe(self._on_pick, names="value")
        for button in self.flag_buttons:
            button.on_click(self._on_flag)
        self.undo_button.on_click(self._on_undo)
        self.fold_toggle.observe(self._on_fold, names="value")
        self.all_features.observe(self._on_all_features, names="value")

        buttons = [*self.flag_buttons, self.undo_button]
        left = widgets.VBox([
            self.ranked_list,
            *(widgets.HBox(buttons[i:i + 2]) for i in range(0, len(buttons), 2)),
            self.message,
        ], layout=widgets.Layout(width="340px"))
        view = [self.figure] if self.figure is not None else [
            widgets.HTML("<i>No light curves given: features only.</i>")]
        if self.cutouts is not None:
            view.insert(0, widgets.HBox([
                widgets.VBox([widgets.HTML(f"<small>{title}</small>"), image])
                for title, image in zip(TRIPLET_TITLES, self.cutouts)]))
        right = widgets.VBox(
            [self.status, *view, widgets.HBox([self.fold_toggle, self.all_features]),
             self.features_view])
        path = self.state.store.path
        where = ("kept in memory only (pass store=LabelStore(path) to keep them)"
                 if path == ":memory:" else f"saved to <code>{html.escape(str(path))}</code>")
        self.widget = widgets.VBox([
            widgets.HTML(_CSS + f"<b>Anomaly browser</b> — context <code>"
                         f"{html.escape(str(context))}</code>, labels {where}"),
            self.class_buttons, widgets.HBox([left, right])])
        self.widget.add_class("astroad-browser")
        if state.ranker is not None:
            self.widget.add_class("astroad-rerank")
        self._show_object()

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_class(self, change):
        self.select_class(change["new"])

    def _on_pick(self, change):
        self.select(change["new"])

    def _on_fold(self, change):
        self.set_folded(change["new"])

    def _on_all_features(self, change):
        self._show_features()

    # ------------------------------------------------------------------ actions
    def select_class(self, top_class):
        """Show a class's ranked list and its most anomalous object."""
        self.state.select_class(top_class)
        self._sync_controls()
        self._show_object()

    def select(self, object_id):
        """Show one object (its light curve, features, label)."""
        self.state.select(object_id)
        self._sync_controls()
        self._show_object()

    def flag(self, label):
        """Label the selected object (committed to the store at once).

        With a ranker the list re-ranks and the ranker's next object is shown.
        """
        flagged = self.state.current
        self.state.flag(label)
        self._sync_controls()
        text = f"Flagged <b>{html.escape(str(flagged))}</b> as {html.escape(label)}."
        if self.state.ranker is None:
            self._show_status()
        else:
            self._show_object()
            moved = self.state.movement()["moved"].dropna()
            text += (f" Re-ranked: {int((moved > 0).sum())} moved up, "
                     f"{int((moved < 0).sum())} down.")
        self.message.value = text

    def undo(self):
        """Take back the latest label of this context and labeller."""
        row = self.state.undo()
        self._sync_controls()
        self._show_object()
        self.message.value = ("Nothing to undo." if row is None else
                              f"Undid {html.escape(row['label'])} on "
                              f"<b>{html.escape(row['item_id'])}</b>.")

    def set_folded(self, folded):
        """Fold periodic light curves (True) or show them against time (False)."""
        self.state.folded = bool(folded)
        self._sync_controls()
        self._show_lightcurve()

    # ------------------------------------------------------------------ display
    def _sync_controls(self):
        """Make the controls show the state, without firing their handlers."""
        with _muted(self.class_buttons, self._on_class):
            self.class_buttons.value = self.state.selected_class
        with _muted(self.ranked_list, self._on_pick):
            options = self.state.options()
            self.ranked_list.options = options
            in_list = any(value == self.state.current for _, value in options)
            self.ranked_list.value = self.state.current if in_list else None
        with _muted(self.fold_toggle, self._on_fold):
            self.fold_toggle.value = self.state.folded

    def _show_object(self):
        self._show_status()
        self._show_cutouts()
        self._show_lightcurve()
        self._show_features()

    def _show_cutouts(self):
        if self.cutouts is None:
            return
        triplet = self.state.triplet()
        pngs = [b""] * 3 if triplet is None else triplet_pngs(triplet)
        for image, png in zip(self.cutouts, pngs):
            image.value = png

    def _show_status(self):
        state, object_id = self.state, self.state.current
        for button in self.flag_buttons:
            button.disabled = object_id is None
        if object_id is None:
            self.status.value = "<i>No object selected.</i>"
            return
        period = state.period()
        parts = [f"<b>{html.escape(str(object_id))}</b>", f"class {html.escape(state.class_of(object_id))}",
                 f"score {state.scores[object_id]:.3f}"]
        if state.table is not None:  # a night: the alert's object and real/bogus probability
            row = state.table.loc[object_id]
            parts.insert(1, html.escape(str(row.get("objectId", ""))))
            parts.append(f"p_real {_number(row.get('p_real'), '.2f')}")
        if state.ranker is not None:
            parts.append(f"ranker score {state.ranker_score(object_id):.3f}")
        if period is not None:
            parts.append(f"P = {period:.5g} d")
        parts.append(f"label: <b>{html.escape(state.labels.get(object_id, '—'))}</b>")
        self.status.value = " · ".join(parts)

    def _show_lightcurve(self):
        self.fold_toggle.disabled = self.state.period() is None  # nothing to fold
        if self.figure is None:
            return
        frame = self.state.lightcurve()
        period = self.state.display_period()
        points = {} if frame is None else lightcurve_points(frame, period)
        names = [trace.name for trace in self.figure.data]
        for band in points:
            if band not in names:  # a band the first objects lacked (e.g. ZTF i)
                self.figure.add_trace(lightcurve_figure(frame.loc[frame["band"] == band]).data[-1])
        empty = (np.array([]),) * 3
        with self.figure.batch_update():  # one message to the browser, no rebuilt widget
            for trace in self.figure.data:
                x, m, e = points.get(trace.name, empty)
                trace.x, trace.y = x, m
                trace.error_y.array = np.nan_to_num(e)
            self.figure.layout.title.text = (
                "" if self.state.current is None else str(self.state.current))
            self.figure.layout.xaxis.title.text = (
                "time (MJD)" if period is None else f"phase (P = {period:.5g} d)")
            if period is None:
                self.figure.layout.xaxis.range = None
                self.figure.layout.xaxis.autorange = True
            else:
                self.figure.layout.xaxis.autorange = False
                self.figure.layout.xaxis.range = [0, 2]

    def _show_features(self):
        top = None if self.all_features.value else self.n_features
        table = self.state.feature_table(top=top)
        if table.empty:
            self.features_view.value = "<i>No features for this object.</i>"
            return
        caption = ("All features" if top is None else
                   f"Top {len(table)} features, most unusual first")
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(name))}</th>"
            f"<td>{_number(row['value'])}</td><td>{_number(row['z'], '+.1f')}</td></tr>"
            for name, row in table.iterrows())
        self.features_view.value = (
            f"<b>{caption}</b> (z = robust z-score against all objects)"
            f"<table><tr><th style='text-align:left'>feature</th><th>value</th><th>z</th></tr>"
            f"{body}</table>")


def _number(value, spec=".4g"):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    return "—" if not np.isfinite(value) else format(value, spec)
