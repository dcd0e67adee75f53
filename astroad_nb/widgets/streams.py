"""The stream explorer panel: sky, proper-motion and colour-magnitude views of a field, coloured
by membership probability, with a threshold, box / lasso selection and support-set editing.

The panel only displays a :class:`~astroad_nb.widgets.stream_state.StreamExplorerState`; every
rule (threshold, metrics, selection, support edits, re-scoring, export) lives there and is
tested without a browser.
"""

from __future__ import annotations

import html
from contextlib import contextmanager
from functools import partial

import ipywidgets as widgets
import numpy as np

from astroad_nb.widgets._common import Panel
from astroad_nb.widgets.stream_state import VIEWS, StreamExplorerState

__all__ = ["StreamExplorer"]

_COLORSCALE = "Viridis"
_CSS = """<style>
.astroad-streams .astroad-metrics {font-family: monospace; font-size: 13px;}
.astroad-streams .astroad-count {font-size: 14px;}
</style>"""


@contextmanager
def _muted(widget, handler, name="value"):
    """Change a widget from code without firing our own handler (which would loop back)."""
    widget.unobserve(handler, names=name)
    try:
        yield widget
    finally:
        widget.observe(handler, names=name)


class StreamExplorer(Panel):
    """Explore a stream-membership result: three linked views, a threshold, the support set.

    Sky (ra/dec or phi1/phi2), proper-motion (pmra/pmdec) and colour-magnitude (BP-RP vs G, or
    g-i vs g; magnitude axis inverted) views of the field, every star coloured by p(member)
    on one colour scale, selected members (p >= threshold) drawn bold, support stars as
    black-outlined stars. A threshold slider updates the selected count and, with truth, the
    precision / recall / F1 / MCC on the non-support stars. Drag a box or lasso in any view, then
    "add selection to support" / "remove selection from support": the edit is written to the
    label store and the field re-scored with ``rescore``. "export" writes the selected members
    to the CSV path in the text box.

    Parameters
    ----------
    field, proba, support, truth, threshold, rescore, store, context, coords, stream_frame,
    max_points, who
        As in :class:`~astroad_nb.widgets.stream_state.StreamExplorerState`. ``max_points``
        bounds the stars drawn per view (default 20000; every selected and support star is
        always drawn).
    export_path : str, default="stream_members.csv"
        Initial path in the export box.
    width : int, default=340
        Width of each view in pixels (the colour-magnitude view adds 60 for the colour bar).

    Attributes
    ----------
    state : StreamExplorerState
        The logic; drive it directly in scripts and tests.
    figures : dict of str -> plotly.graph_objects.FigureWidget
        ``"sky"``, ``"pm"``, ``"cmd"``; trace 0 = field stars, trace 1 = support stars.
    threshold_slider : ipywidgets.FloatSlider
    add_button, remove_button, clear_button, export_button : ipywidgets.Button
    export_path : ipywidgets.Text
    count, metrics_view, message : ipywidgets.HTML
    widget : ipywidgets.VBox
        The whole panel.

    Examples
    --------
    >>> X = stream_features(problem.field)                                   # doctest: +SKIP
    >>> rescore = lambda field, ids: pd.Series(
    ...     model.predict_proba(X, X.loc[X.index.intersection(ids)]), index=X.index)
    >>> StreamExplorer(problem.field, proba, support=problem.support, truth=problem.truth,
    ...                rescore=rescore, store=LabelStore("labels.sqlite"))     # doctest: +SKIP
    """

    def __init__(self, field, proba, *, support=None, truth=None, threshold=0.5, rescore=None,
                 store=None, context="streams", coords="radec", stream_frame="GD1Koposov10",
                 max_points=20_000, who=None, export_path="stream_members.csv", width=340):
        import plotly.graph_objects as go  # lazy: plotly's widget loads anywidget

        self.state = StreamExplorerState(
            field, proba, support=support, truth=truth, threshold=threshold, rescore=rescore,
            store=store, context=context, coords=coords, stream_frame=stream_frame,
            max_points=max_points, who=who)
        self._xy = {view: self.state.view_columns(view) for view in VIEWS}
        self.figures = {view: go.FigureWidget(self._figure(go, view, width, view == "cmd"))
                        for view in VIEWS}
        self.threshold_slider = widgets.FloatSlider(
            value=self.state.threshold, min=0.0, max=1.0, step=0.01, description="threshold",
            continuous_update=False, readout_format=".2f", layout=widgets.Layout(width="360px"))
        self.count = widgets.HTML()
        self.count.add_class("astroad-count")
        self.metrics_view = widgets.HTML()
        self.metrics_view.add_class("astroad-metrics")
        self.add_button = widgets.Button(description="add selection to support", icon="plus",
                                         button_style="success", layout=widgets.Layout(width="230px"),
                                         tooltip="known members += the stars selected in a view")
        self.remove_button = widgets.Button(description="remove selection from support",
                                            icon="minus", button_style="danger",
                                            layout=widgets.Layout(width="250px"),
                                            tooltip="drop the selected stars from the known members")
        self.clear_button = widgets.Button(description="clear selection",
                                           layout=widgets.Layout(width="130px"))
        self.export_path = widgets.Text(value=str(export_path), description="export to",
                                        layout=widgets.Layout(width="360px"))
        self.export_button = widgets.Button(description="export", icon="download",
                                            tooltip="write the selected members (CSV/ECSV/FITS by suffix)")
        self.message = widgets.HTML()

        self.threshold_slider.observe(self._on_threshold, names="value")
        for view, fig in self.figures.items():
            # The box / lasso shapes, not plotly's on_selection: the browser sends every point
            # event (hover, unhover, selected, deselect) through one widget attribute, and
            # ipywidgets keeps only the latest value of an attribute while an earlier message
            # awaits the kernel, so an unhover right after the drag could replace the
            # selection. The shapes travel in layout relayouts and are state, not events.
            fig.layout.on_change(partial(self._on_selections, view), "selections")
        self.add_button.on_click(self._on_add)
        self.remove_button.on_click(self._on_remove)
        self.clear_button.on_click(self._on_clear)
        self.export_button.on_click(self._on_export)

        store_path = None if store is None else store.path
        where = ("not recorded (pass store=LabelStore(path) to keep them)" if store_path is None
                 else "kept in memory only" if store_path == ":memory:"
                 else f"recorded in <code>{html.escape(str(store_path))}</code>")
        self.widget = widgets.VBox([
            widgets.HTML(_CSS + f"<b>Stream explorer</b> — {len(self.state.field)} stars; "
                         f"support edits {where} (context <code>{html.escape(str(context))}</code>). "
                         "Drag a box or lasso in any view to select stars."),
            widgets.HBox([self.threshold_slider, self.count]),
            self.metrics_view,
            widgets.HBox(list(self.figures.values()),
                         layout=widgets.Layout(flex_flow="row wrap")),  # narrow pages wrap
            widgets.HBox([self.add_button, self.remove_button, self.clear_button]),
            widgets.HBox([self.export_path, self.export_button]),
            self.message,
        ])
        self.widget.add_class("astroad-streams")
        self._draw(positions=True)
        self._show_status()

    def _figure(self, go, view, width, colorbar):
        _, _, x_title, y_title = self._xy[view]
        field = go.Scattergl(
            mode="markers", name="field", hovertemplate="%{x:.3f}, %{y:.3f}<br>p = %{marker.color:.2f}<extra></extra>",
            marker=dict(colorscale=_COLORSCALE, cmin=0.0, cmax=1.0, showscale=colorbar,
                        colorbar=dict(title=dict(text="p(member)"), thickness=12)),
            unselected=dict(marker=dict(opacity=0.08)))
        support = go.Scattergl(
            mode="markers", name="support",
            hovertemplate="support<br>p = %{marker.color:.2f}<extra></extra>",
            marker=dict(symbol="star", size=11, colorscale=_COLORSCALE, cmin=0.0, cmax=1.0,
                        line=dict(color="black", width=1.2)))
        layout = go.Layout(
            title=dict(text=VIEWS[view], x=0.5, font=dict(size=14)), width=width + (60 * colorbar),
            height=380, margin=dict(l=55, r=10, t=35, b=45), dragmode="select",
            showlegend=False, xaxis=dict(title=dict(text=x_title)),
            yaxis=dict(title=dict(text=y_title),
                       autorange="reversed" if view == "cmd" else True),
            template="plotly_white")
        return go.Figure([field, support], layout)

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_threshold(self, change):
        self.set_threshold(change["new"])

    def _on_selections(self, view, layout, selections):
        # ``selections`` is plotly's cached tuple, stale after a relayout: read the layout's JSON
        self.select_in_view(view, layout.to_plotly_json().get("selections", ()))

    def _on_add(self, button):
        self.add_selection_to_support()

    def _on_remove(self, button):
        self.remove_selection_from_support()

    def _on_clear(self, button):
        self.clear_selection()

    def _on_export(self, button):
        self.export(self.export_path.value)

    # ------------------------------------------------------------------ actions
    def set_threshold(self, threshold):
        """Select members as p >= threshold; update counts, metrics and the markers."""
        self.state.set_threshold(threshold)
        with _muted(self.threshold_slider, self._on_threshold):
            self.threshold_slider.value = self.state.threshold
        self._draw(positions=self.state.update_display())
        self._show_status()

    def select_points(self, point_inds, layer="field"):
        """Record a plot selection (point indices of the ``layer`` trace) and show it everywhere."""
        self.state.select_points(point_inds, layer=layer)
        self._show_selection()
        self._show_status()

    def select_in_view(self, view, selections):
        """Record the stars inside the boxes / lassos drawn in one view and show them everywhere.

        Parameters
        ----------
        view : {'sky', 'pm', 'cmd'}
        selections : sequence of dict
            The view's ``layout.selections`` as plotly writes them after a drag (see
            :func:`~astroad_nb.widgets.stream_state.selection_mask`); empty (a double-click, or
            our own erasing of the boxes) clears the plot selection.
        """
        self.state.select_in_view(view, selections)
        self._show_selection()
        self._show_status()

    def clear_selection(self, boxes=True):
        """Forget the plot selection (and, with ``boxes``, erase the drawn boxes / lassos)."""
        self.state.clear_selection()
        self._show_selection()
        if boxes:
            self._erase_boxes()
        self._show_status()

    def add_selection_to_support(self):
        """Add the selected stars to the support set, record them, re-score."""
        self._edit_support(self.state.add_support, "added to")

    def remove_selection_from_support(self):
        """Remove the selected stars from the support set, record them, re-score."""
        self._edit_support(self.state.remove_support, "removed from")

    def _edit_support(self, edit, verb):
        if len(self.state.selection) == 0:
            self.message.value = "Select stars first: drag a box or lasso in a view."
            return
        if self.state.rescore_fn is not None:
            self.message.value = "Re-scoring…"
        try:
            changed = edit()
        except ValueError as exc:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        self._draw(positions=True)
        self._erase_boxes()
        self._show_status()
        rescored = " and re-scored" if len(changed) and self.state.rescore_fn is not None else ""
        self.message.value = f"{len(changed)} stars {verb} the support set{rescored}."

    def export(self, path=None):
        """The selected members as an astropy Table, written to ``path`` when given."""
        try:
            table = self.state.export(path)
        except (ValueError, OSError) as exc:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            if path is None:
                raise
            return None
        if path is not None:
            self.message.value = f"Wrote {len(table)} members to <code>{html.escape(str(path))}</code>."
        return table

    # ------------------------------------------------------------------ display
    def _show_status(self):
        state = self.state
        self.count.value = (f"<b>{state.n_selected}</b> selected (p ≥ {state.threshold:.2f}) · "
                            f"support <b>{len(state.support)}</b> · "
                            f"plot selection <b>{len(state.selection)}</b>")
        metrics = state.metrics()
        self.metrics_view.value = (
            "<i>no truth: metrics unavailable</i>" if metrics is None else
            " · ".join(f"{name} {metrics[name]:.3f}" for name in ("precision", "recall", "f1", "mcc"))
            + f" (on {metrics['tp'] + metrics['fp'] + metrics['fn'] + metrics['tn']} non-support stars)")
        empty = len(state.selection) == 0
        self.add_button.disabled = self.remove_button.disabled = self.clear_button.disabled = empty

    def _draw(self, positions=False):
        """Marker colours / sizes / opacities (and, when the displayed stars changed, positions)."""
        state = self.state
        rows = state.display_rows
        support_rows = state.field.index.get_indexer(state.support)
        proba = np.nan_to_num(state.proba, nan=0.0)
        selected = state.selected[rows]
        opacity = np.where(selected, 0.95, 0.35)
        size = np.where(selected, 6.0, 3.0)
        for view, fig in self.figures.items():
            x, y = self._xy[view][:2]
            with fig.batch_update():  # one message per figure
                field, support = fig.data
                if positions:
                    field.x, field.y = x[rows], y[rows]
                    support.x, support.y = x[support_rows], y[support_rows]
                    field.selectedpoints = support.selectedpoints = None
                field.marker.color = proba[rows]
                field.marker.opacity = opacity
                field.marker.size = size
                support.marker.color = proba[support_rows]

    def _erase_boxes(self):
        for fig in self.figures.values():
            # sent even when Python saw no box: the drawn box lives in the browser's layout
            fig.plotly_relayout({"selections": []})

    def _show_selection(self):
        """Highlight the plot selection in every view (linked brushing)."""
        state = self.state
        chosen = state.field.index.isin(state.selection)
        any_chosen = bool(chosen.any())
        field_points = np.flatnonzero(chosen[state.display_rows]).tolist()
        support_points = np.flatnonzero(state.support.isin(state.selection)).tolist()
        for fig in self.figures.values():
            with fig.batch_update():
                fig.data[0].selectedpoints = field_points if any_chosen else None
                fig.data[1].selectedpoints = support_points if any_chosen else None
