"""The context timeline panel: a stream of machine-sound files scored by a context-conditioned
detector, each file coloured by the context the voting window predicted for it.

The panel only displays a :class:`~astroad_nb.widgets.context_state.ContextTimelineState`;
every rule (stream walking, threshold, samples / frames / errors, flags) lives there and is
tested without a browser. The timeline is a plotly ``FigureWidget`` of three rows sharing the
stream position: file scores (one trace per predicted context, abnormal files as diamonds,
flagged files ringed, the threshold as a dashed line), the contexts (true, the file's own
majority, the window's vote) and the window's confidence. Clicking a file shows its log-mel
image (a PNG drawn server-side with numpy + Pillow), its per-frame errors and an audio player.

Clicks travel through plotly's one points-callback attribute, as hovers do; a click is only
lost when the pointer leaves the point while the kernel is still busy with the hover before
it. The keys of :data:`SHORTCUTS` (focus the panel with a click first) and the buttons walk
the stream as well.
"""

from __future__ import annotations

import html
import io
from collections import OrderedDict
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np

from astroad_nb.widgets._common import WalkingPanel, panel_css
from astroad_nb.widgets.context_state import ContextTimelineState
from astroad_nb.widgets.reconstruction import ReconstructionKeys

__all__ = ["SHORTCUTS", "ContextTimeline", "logmel_png", "timeline_figure"]

#: Key (as the browser's ``KeyboardEvent.key``; letters in lower case) -> panel action.
SHORTCUTS = {"ArrowRight": "next", "j": "next", "ArrowLeft": "previous", "k": "previous",
             "]": "next_above", "[": "previous_above", "Home": "first",
             "a": "anomalous", "n": "normal", "s": "skip", "u": "undo", "z": "undo"}
_SHORTCUT_HELP = ("<b>keys</b> (click the panel first): <kbd>→</kbd>/<kbd>j</kbd> next file · "
                  "<kbd>←</kbd>/<kbd>k</kbd> previous · <kbd>]</kbd>/<kbd>[</kbd> next / "
                  "previous above the threshold · <kbd>Home</kbd> first · <kbd>a</kbd> "
                  "anomalous · <kbd>n</kbd> normal · <kbd>s</kbd> skip · "
                  "<kbd>u</kbd>/<kbd>z</kbd> undo")
_FLAG_STYLES = {"anomalous": "danger", "normal": "success", "skip": ""}
#: Above this many files the score row is drawn with WebGL (``Scattergl``).
WEBGL_FROM = 3000
_CSS = panel_css("astroad-context", table="astroad-info")


@contextmanager
def _muted(widget, handler, name="value"):
    """Change a widget from code without firing our own handler (which would loop back)."""
    widget.unobserve(handler, names=name)
    try:
        yield widget
    finally:
        widget.observe(handler, names=name)


def _palette(n):
    from plotly.colors import qualitative

    colours = qualitative.Dark24
    return [colours[k % len(colours)] for k in range(n)]


def _viridis_palette():
    """Viridis as 256 RGB rows (uint8), interpolated from plotly's stops: no matplotlib
    import (~0.5 s) for a panel that has plotly already."""
    from plotly.colors import hex_to_rgb, sequential

    stops = np.array([hex_to_rgb(c) for c in sequential.Viridis], dtype=float)
    at = np.linspace(0, 1, len(stops))
    grid = np.linspace(0, 1, 256)
    return np.stack([np.interp(grid, at, stops[:, k]) for k in range(3)], axis=1).round().astype(
        np.uint8)


def logmel_png(logmel, *, low=1.0, high=99.5) -> bytes:
    """A log-mel spectrogram as a viridis PNG, one pixel per (time, mel) bin, low mels at the
    bottom.

    Parameters
    ----------
    logmel : array_like, shape (n_mels, n_times)
        dB.
    low, high : float, default=1.0, 99.5
        Percentiles of the finite values mapped to the two ends of the colour map.

    Returns
    -------
    bytes
        PNG of width ``n_times`` and height ``n_mels``.
    """
    from PIL import Image

    values = np.asarray(logmel, dtype=float)
    if values.ndim != 2 or not values.size:
        raise ValueError(f"logmel must be a non-empty (n_mels, n_times) array, got shape "
                         f"{values.shape}.")
    finite = values[np.isfinite(values)]
    lo, hi = (np.percentile(finite, [low, high]) if finite.size else (0.0, 1.0))
    span = hi - lo if hi > lo else 1.0
    index = np.clip(np.nan_to_num((values - lo) / span, nan=0.0) * 255, 0, 255)
    image = Image.fromarray(index[::-1].astype(np.uint8), mode="L").convert("P")
    image.putpalette(_viridis_palette().ravel().tolist())
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def timeline_figure(state, *, width=900, height=520):
    """The timeline of a :class:`ContextTimelineState` as a plotly Figure.

    Rows (shared x = 0-based stream position): file scores, one trace per predicted (window)
    context, abnormal files (``label`` 1) as diamonds, then a ``flagged`` trace (rings) and
    the threshold (``layout.shapes[0]``); the contexts (``true context``, ``file context``,
    ``window vote``); the window's ``vote confidence``. ``layout.shapes[1]`` marks the current
    file. Every point's ``customdata`` is its stream position.

    Parameters
    ----------
    state : ContextTimelineState
    width, height : int, default=900, 520
        Pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(state)
    x = np.arange(n)
    names = state.context_names
    colours = _palette(max(len(names), 1))
    scatter = go.Scattergl if n > WEBGL_FROM else go.Scatter
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=[0.58, 0.27, 0.15])
    symbols = np.where(state.truth == 1, "diamond", "circle")
    hover = ("%{text}<br>#%{x} · score %{y:.4g}<extra>%{fullData.name}</extra>")
    codes = np.unique(state.window_context)
    for code in codes:
        rows = np.flatnonzero(state.window_context == code)
        name = state.context_name(code) if code >= 0 else "unknown"
        colour = colours[code] if code >= 0 else "#999999"
        fig.add_trace(scatter(
            x=x[rows], y=state.scores[rows], mode="markers", name=name, legendgroup=name,
            customdata=rows, text=[state.ids[r] for r in rows], hovertemplate=hover,
            marker=dict(color=colour, size=7, symbol=symbols[rows].tolist(),
                        line=dict(width=0.5, color="white"))), row=1, col=1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="flagged", customdata=[],
                             text=[], hovertemplate="%{text}<extra>flagged</extra>",
                             marker=dict(size=14, symbol="circle-open", color="black",
                                         line=dict(width=2))), row=1, col=1)
    context_hover = "#%{x}: %{text}<extra>%{fullData.name}</extra>"
    if np.any(state.true_context >= 0):
        fig.add_trace(go.Scatter(
            x=x, y=np.where(state.true_context >= 0, state.true_context, np.nan),
            mode="markers", name="true context", customdata=x,
            text=[state.context_name(c) for c in state.true_context],
            hovertemplate=context_hover, showlegend=True,
            marker=dict(symbol="line-ew-open", size=12, color="rgba(80,80,80,0.8)",
                        line=dict(width=3))), row=2, col=1)
    fig.add_trace(go.Scatter(
        x=x, y=np.where(state.file_context >= 0, state.file_context, np.nan), mode="markers",
        name="file context", customdata=x,
        text=[state.context_name(c) for c in state.file_context], hovertemplate=context_hover,
        marker=dict(symbol="circle-open", size=6,
                    color=[colours[c] if c >= 0 else "#999999" for c in state.file_context])),
        row=2, col=1)
    fig.add_trace(go.Scatter(
        x=x, y=np.where(state.window_context >= 0, state.window_context, np.nan),
        mode="lines+markers", line=dict(shape="hv", color="rgba(31,119,180,0.5)", width=1),
        name="window vote", customdata=x,
        text=[state.context_name(c) for c in state.window_context],
        hovertemplate=context_hover,
        marker=dict(size=4, color=[colours[c] if c >= 0 else "#999999"
                                   for c in state.window_context])), row=2, col=1)
    fig.add_trace(go.Scatter(
        x=x, y=state.confidence, mode="lines", name="vote confidence", customdata=x,
        line=dict(color="#555555", width=1), hovertemplate="#%{x}: %{y:.2f}<extra>vote "
        "confidence</extra>", showlegend=False), row=3, col=1)
    fig.update_layout(
        width=int(width), height=int(height), template="plotly_white",
        margin=dict(l=70, r=10, t=35, b=40), hovermode="closest", clickmode="event",
        title=dict(text="context timeline", x=0.5, font=dict(size=14)),
        legend=dict(font=dict(size=10), itemsizing="constant"),
        shapes=[dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=state.threshold,
                     y1=state.threshold, line=dict(color="#d62728", width=1.5, dash="dash")),
                dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1,
                     line=dict(color="rgba(0,0,0,0.35)", width=1.5))])
    fig.update_yaxes(title_text="anomaly score", row=1, col=1)
    fig.update_yaxes(title_text="context", tickmode="array",
                     tickvals=list(range(len(names))), ticktext=list(names),
                     tickfont=dict(size=9), range=[-0.7, max(len(names), 1) - 0.3], row=2, col=1)
    fig.update_yaxes(title_text="conf.", range=[0, 1.05], row=3, col=1)
    fig.update_xaxes(title_text="file (stream order)", row=3, col=1)
    return fig


class ContextTimeline(WalkingPanel):
    """Walk a stream of machine-sound files: scores coloured by the predicted context.

    The timeline shows every file's anomaly score coloured by the context the voting window
    predicted for it (abnormal files, when known, as diamonds; flagged files ringed), the
    threshold as a dashed red line, the true context, the file's own majority context and
    the window's vote, and the vote's confidence. Click a file (or walk with *previous* /
    *next*, *◀ above* / *above ▶* and the keys of :data:`SHORTCUTS`) to see its log-mel
    image, its per-frame errors with the file's score, an audio player, and to flag it
    *anomalous* / *normal* / *skip* (committed to the store at once; *undo* takes the latest
    flag back). The threshold slider moves the line and the counts.

    Parameters
    ----------
    state : ContextTimelineState or pandas.DataFrame
        The logic; a per-file table is turned into one with ``state_kwargs``.
    advance : bool, default=True
        A flag moves to the next file of the stream.
    width : int, default=900
        Timeline width in pixels.
    logmel_px : tuple of int, default=(470, 150)
        Displayed (width, height) of the log-mel image.
    **state_kwargs
        With a table: passed to :class:`ContextTimelineState` (``sounds``, ``model``,
        ``frames``, ``store``, ``threshold``, ``contexts``, ``context``, ``who``...).

    Attributes
    ----------
    state : ContextTimelineState
    widget : ipywidgets.VBox
        The whole panel.
    figure : plotly.graph_objects.FigureWidget
        The timeline (see :func:`timeline_figure`).
    flag_trace : plotly.graph_objects.Scatter
        The timeline's ``flagged`` trace (rings at the flagged files).
    error_figure : plotly.graph_objects.FigureWidget
        Per-frame errors of the current file; ``layout.shapes[0]`` is the file's score.
    logmel : ipywidgets.Image
    audio : ipywidgets.Audio
    buttons : dict of str -> ipywidgets.Button
        ``previous``, ``next``, ``previous_above``, ``next_above``, ``anomalous``,
        ``normal``, ``skip``, ``undo``.
    threshold_slider : ipywidgets.FloatSlider
    keys : ReconstructionKeys
        The keyboard-shortcut widget (``keys.press("j")`` acts as the key).
    info, status, message, audio_note : ipywidgets.HTML

    Examples
    --------
    >>> ContextTimeline.from_fit(test_sounds, film, ContextStream(50), predictor=predictor,
    ...                          store=LabelStore("labels.sqlite"))        # doctest: +SKIP
    >>> ContextTimeline.from_run(protocols.context.run("fast"))             # doctest: +SKIP
    >>> ContextTimeline(run.tables["timeline"], sounds=test_sounds)         # doctest: +SKIP
    """

    def __init__(self, state, *, advance=True, width=900, logmel_px=(470, 150), **state_kwargs):
        if not isinstance(state, ContextTimelineState):
            state = ContextTimelineState(state, **state_kwargs)
        elif state_kwargs:
            raise TypeError(f"ContextTimeline: {sorted(state_kwargs)} only apply when a table "
                            "is given; this state is already built.")
        self._build(state, advance=advance, width=width, logmel_px=logmel_px)

    @classmethod
    def from_fit(cls, sounds, model, stream, *, predictor=None, frames=None, advance=True,
                 width=900, logmel_px=(470, 150), **kwargs):
        """The panel of a SoundSet scored by a fitted detector through a ContextStream
        (:meth:`ContextTimelineState.from_fit`; ``kwargs`` go there)."""
        state = ContextTimelineState.from_fit(sounds, model, stream, predictor=predictor,
                                              frames=frames, **kwargs)
        return cls(state, advance=advance, width=width, logmel_px=logmel_px)

    @classmethod
    def from_run(cls, run, *, advance=True, width=900, logmel_px=(470, 150), **kwargs):
        """The panel of a :func:`astroad_nb.protocols.context.run` result
        (:meth:`ContextTimelineState.from_run`; ``kwargs`` go there)."""
        state = ContextTimelineState.from_run(run, **kwargs)
        return cls(state, advance=advance, width=width, logmel_px=logmel_px)

    def _build(self, state, *, advance, width, logmel_px):
        import plotly.graph_objects as go  # lazy: plotly's widget loads anywidget

        self.state, self.advance = state, bool(advance)
        self.figure = go.FigureWidget(timeline_figure(state, width=width))
        n_context_traces = len(np.unique(state.window_context))
        self.flag_trace = self.figure.data[n_context_traces]
        for trace in self.figure.data:
            if trace.name != "flagged":
                trace.on_click(self._on_point)
        self.error_figure = go.FigureWidget(self._error_figure(go))
        lw, lh = (int(v) for v in logmel_px)
        self.logmel = widgets.Image(format="png", layout=widgets.Layout(width=f"{lw}px",
                                                                        height=f"{lh}px"))
        self.logmel.add_class("astroad-logmel")
        self.audio = widgets.Audio(format="wav", autoplay=False, loop=False, controls=True)
        self.audio.add_class("astroad-audio")
        self.audio_note = widgets.HTML()
        self.info = widgets.HTML()
        self.info.add_class("astroad-info")
        self.status = widgets.HTML()
        self.status.add_class("astroad-status")
        self.message = widgets.HTML()
        self.message.add_class("astroad-message")
        self.buttons = {
            "previous": widgets.Button(description="previous", icon="arrow-left",
                                       tooltip="previous file (key ← or k)"),
            "next": widgets.Button(description="next", icon="arrow-right",
                                   tooltip="next file (key → or j)"),
            "previous_above": widgets.Button(description="◀ above",
                                             tooltip="previous file above the threshold (key [)"),
            "next_above": widgets.Button(description="above ▶",
                                         tooltip="next file above the threshold (key ])"),
            **{label: widgets.Button(description=label, button_style=_FLAG_STYLES[label],
                                     tooltip=f"flag {label} (key {label[0]})")
               for label in state.LABELS},
            "undo": widgets.Button(description="undo", icon="undo",
                                   tooltip="take back the latest flag (key u or z)"),
        }
        for button in self.buttons.values():
            button.layout.width = "100px"
        finite = state.scores[np.isfinite(state.scores)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        lo, hi = min(lo, state.threshold), max(hi, state.threshold)
        step = (hi - lo) / 500 if hi > lo else 0.01
        self.threshold_slider = widgets.FloatSlider(
            value=state.threshold, min=lo, max=hi if hi > lo else lo + 1.0, step=step,
            description="threshold", continuous_update=False, readout_format=".4g",
            layout=widgets.Layout(width="420px"))
        self.keys = ReconstructionKeys(SHORTCUTS, help=_SHORTCUT_HELP,
                                       root_selector=".astroad-context")

        self.buttons["previous"].on_click(self._on_previous)
        self.buttons["next"].on_click(self._on_next)
        self.buttons["previous_above"].on_click(self._on_previous_above)
        self.buttons["next_above"].on_click(self._on_next_above)
        for label in state.LABELS:
            self.buttons[label].on_click(self._on_flag)
        self.buttons["undo"].on_click(self._on_undo)
        self.threshold_slider.observe(self._on_threshold, names="value")
        self.keys.on_key(self._on_key)

        self._shown = None  # stream position whose detail is on screen
        self._png_cache: OrderedDict = OrderedDict()  # file id -> log-mel PNG (or None)
        self.widget = self._layout()
        self._draw_flags()
        self._refresh()

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_point(self, trace, points, device_state):
        if points.point_inds:
            self.open(int(trace.customdata[points.point_inds[0]]))

    def _on_previous_above(self, button):
        self.previous_above()

    def _on_next_above(self, button):
        self.next_above()

    def _on_threshold(self, change):
        self.set_threshold(change["new"])

    def _on_key(self, key):
        self.press(key)

    # ------------------------------------------------------------------ actions
    def open(self, position):
        """Show the file at 0-based stream ``position`` (what a click on it does); a file id
        is accepted too."""
        if isinstance(position, str):
            self.state.select(position)
        else:
            self.state.jump(position)
        self._refresh()

    def next(self):
        """Show the next file of the stream."""
        self._refresh(None if self.state.next() else "last file of the stream")

    def previous(self):
        """Show the previous file of the stream."""
        self._refresh(None if self.state.previous() else "first file of the stream")

    def next_above(self):
        """Show the next file scoring at or above the threshold."""
        self._refresh(None if self.state.next_above() else "no later file above the threshold")

    def previous_above(self):
        """Show the previous file scoring at or above the threshold."""
        self._refresh(None if self.state.previous_above()
                      else "no earlier file above the threshold")

    def flag(self, label):
        """Flag the current file (committed to the store at once); next file when ``advance``."""
        item = self.state.current
        if item is None:
            self._refresh("no file to flag")
            return
        self.state.flag(label, advance=self.advance)
        self._draw_flags()
        self._refresh(f"<b>{html.escape(item)}</b> → {html.escape(label)}")

    def undo(self):
        """Take back the latest flag of this context and labeller (its row stays, inactive)."""
        row = self.state.undo()
        self._draw_flags()
        self._refresh("nothing to undo" if row is None else
                      f"undid {html.escape(row['label'])} on <b>{html.escape(row['item_id'])}</b>")

    def set_threshold(self, threshold):
        """Move the threshold: the dashed line, the counts and the *above* walk follow."""
        value = self.state.set_threshold(threshold)
        with _muted(self.threshold_slider, self._on_threshold):
            self.threshold_slider.value = value
        with self.figure.batch_update():
            shape = self.figure.layout.shapes[0]
            shape.y0 = shape.y1 = value
        self._refresh()

    def press(self, key):
        """Act on a shortcut key (see :data:`SHORTCUTS`); other keys are ignored."""
        action = SHORTCUTS.get(key if len(key) != 1 else key.lower())
        if action is None:
            return
        if action == "first":
            if len(self.state):
                self.open(0)
        elif action in self.state.LABELS:
            self.flag(action)
        else:
            getattr(self, action)()

    # ------------------------------------------------------------------ display
    def _error_figure(self, go):
        layout = go.Layout(
            width=480, height=190, margin=dict(l=55, r=10, t=30, b=40), showlegend=False,
            template="plotly_white", title=dict(text="frame errors", x=0.5, font=dict(size=13)),
            xaxis=dict(title=dict(text="time (s)")), yaxis=dict(title=dict(text="MSE")),
            shapes=[dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=0, y1=0,
                         line=dict(color="#d62728", width=1.5, dash="dot"))])
        trace = go.Scatter(x=[], y=[], mode="lines", line=dict(width=1, color="#1f77b4"),
                           hovertemplate="%{x:.2f} s: %{y:.4g}<extra></extra>")
        return go.Figure([trace], layout)

    def _layout(self):
        state = self.state
        path = state.store.path
        where = ("kept in memory only (pass store=LabelStore(path) to keep them)"
                 if path == ":memory:" else f"saved to <code>{html.escape(str(path))}</code>")
        header = widgets.HTML(
            _CSS + f"<b>Context timeline</b> — {len(state)} files in stream order, coloured "
            f"by the window's predicted context; flags (context "
            f"<code>{html.escape(str(state.context))}</code>) {where}")
        b = self.buttons
        nav = widgets.HBox([b["previous"], b["next"], b["previous_above"], b["next_above"],
                            self.threshold_slider], layout=widgets.Layout(flex_flow="row wrap"))
        flags = widgets.HBox([b[label] for label in state.LABELS] + [b["undo"]])
        detail = widgets.VBox([self.logmel, self.error_figure, self.audio, self.audio_note])
        detail.add_class("astroad-context-detail")
        side = widgets.VBox([self.info, flags], layout=widgets.Layout(margin="0 0 0 12px"))
        root = widgets.VBox([header, self.status, self.figure, nav,
                             widgets.HBox([detail, side]), self.keys, self.message])
        root.add_class("astroad-context")
        return root

    def _draw_flags(self):
        labels = self.state.labels
        rows = np.array(sorted(self.state.position_of(i) for i in labels), dtype=int)
        with self.figure.batch_update():
            trace = self.flag_trace
            trace.x = rows.tolist()
            trace.y = self.state.scores[rows].tolist()
            trace.customdata = rows.tolist()
            trace.text = [f"{self.state.ids[r]}: {labels[self.state.ids[r]]}" for r in rows]

    def _refresh(self, message=None):
        state = self.state
        if message is not None:
            self.message.value = message
        self.status.value = _status_html(state)
        empty = state.current is None
        for button in self.buttons.values():
            button.disabled = empty
        if empty:
            self.info.value = "<b>No files.</b>"
            return
        pos = state.position
        self.buttons["previous"].disabled = pos == 0
        self.buttons["next"].disabled = pos == len(state) - 1
        with self.figure.batch_update():
            shape = self.figure.layout.shapes[1]
            shape.x0 = shape.x1 = pos
        info = state.info()
        self.info.value = _info_html(info)
        if pos != self._shown:  # a flag or a threshold move keeps the file: keep its detail
            self._show_detail(info)
            self._shown = pos
            self._draw_ahead()

    def _png(self, file_id):
        """The log-mel PNG of a file, or None (cached: going back and the next file reuse it)."""
        if file_id not in self._png_cache:
            logmel = self.state.logmel(file_id)
            self._png_cache[file_id] = None if logmel is None else logmel_png(logmel)
            while len(self._png_cache) > self.state.cache_size:
                self._png_cache.popitem(last=False)
        self._png_cache.move_to_end(file_id)
        return self._png_cache[file_id]

    def _draw_ahead(self):
        """Prepare the next file (samples, PNG, errors, WAV) once this one is on its way: the
        next click or key shows it at once."""
        pos = self.state.position
        if pos + 1 < len(self.state):
            item = self.state.ids[pos + 1]
            self._png(item)
            self.state.frame_errors(item)
            self.state.audio(item)

    def _show_detail(self, info):
        state = self.state
        png = self._png(info["file_id"])
        self.logmel.value = b"" if png is None else png
        self.logmel.layout.display = "none" if png is None else None
        errors, times = state.frame_errors(), state.frame_times()
        with self.error_figure.batch_update():
            trace = self.error_figure.data[0]
            if errors is None or times is None or len(times) != len(errors):
                trace.x, trace.y = [], []
                self.error_figure.layout.title.text = "frame errors (no model or frames)"
            else:
                trace.x, trace.y = times, errors
                self.error_figure.layout.title.text = (
                    f"frame errors (mean {np.mean(errors):.4g}, context {info['window']})")
            shape = self.error_figure.layout.shapes[0]
            shape.y0 = shape.y1 = info["score"] if np.isfinite(info["score"]) else 0.0
        audio = state.audio()
        if audio is None:
            self.audio.layout.display = "none"
            self.audio_note.value = "<i>no samples for this file (no sounds and no wav_path)</i>"
        else:
            self.audio.value = audio
            self.audio.layout.display = None
            self.audio_note.value = ""


def _status_html(state):
    s = state.summary()
    parts = [f"<b>{s['n_above']}</b> of {s['n_files']} files at or above the threshold "
             f"{state.threshold:.4g}", f"flagged <b>{s['n_flagged']}</b>"]
    if s["n_abnormal"] is not None:
        parts.append(f"known abnormal {s['n_abnormal']}: {s['tp']} above, {s['fn']} below; "
                     f"{s['fp']} normal above")
    if s["window_accuracy"] is not None:
        parts.append(f"context accuracy per file {s['file_accuracy']:.2f} → window "
                     f"{s['window_accuracy']:.2f}")
    return " · ".join(parts)


def _info_html(info):
    label = {0: "normal", 1: "abnormal"}.get(info["label"], "unknown")
    flag = f"<b>{html.escape(info['flag'])}</b>" if info["flag"] else "<i>none</i>"
    rows = [("stream position", f"#{info['position']}"),
            ("score", f"{info['score']:.4g}" + (" ▲" if info["above"] else "")),
            ("window context", html.escape(info["window"])),
            ("vote confidence", "—" if not np.isfinite(info["confidence"])
             else f"{info['confidence']:.2f}"),
            ("file context", html.escape(info["file"])),
            ("true context", html.escape(info["true"])),
            ("machine", html.escape(f"{info['machine_type']} {info['machine_id']}")
             if info["machine_type"] else "—"),
            ("SNR", "—" if not np.isfinite(info["snr_db"]) else f"{info['snr_db']:g} dB"),
            ("true label", label)]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f"<div style='font-size:14px'><b class='astroad-file-id'>"
            f"{html.escape(info['file_id'])}</b></div><table>{body}</table>flag: {flag}")
