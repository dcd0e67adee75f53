"""The GANomaly reconstruction viewer: galaxy images ranked by score, each beside its
reconstruction and residual, the score histogram with the current image marked.

The panel only displays a :class:`~astroad_nb.widgets.reconstruction_state.ReconstructionViewerState`;
every rule (ranking, filter, walking, lazy reconstructions, flags) lives there and is tested
without a browser. Images are drawn server-side to PNG with numpy + Pillow at their own
resolution (:func:`astroad_nb.plotting.galaxy_png`, :func:`~astroad_nb.plotting.residual_png`,
~0.1 ms each at 64 x 64) and scaled up by the browser without smoothing; the next image's PNGs
are drawn ahead, so a click shows the next galaxy at once.

Keyboard shortcuts use the labelling panel's :class:`~astroad_nb.widgets.labeling.KeyShortcuts`
(focus the panel with a click first); arrow keys pressed on the rank slider or in a drop-down
are left to that control.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import traitlets

from astroad_nb.plotting import galaxy_png, residual_limit, residual_png
from astroad_nb.widgets._common import WalkingPanel, panel_css
from astroad_nb.widgets.labeling import _KEYS_ESM, KeyShortcuts
from astroad_nb.widgets.reconstruction_state import ReconstructionViewerState

__all__ = ["ReconstructionViewer", "SHORTCUTS"]

#: Key (as the browser's ``KeyboardEvent.key``; letters in lower case) -> viewer action.
SHORTCUTS = {"ArrowRight": "next", "j": "next", "ArrowLeft": "previous", "k": "previous",
             "Home": "first", "i": "interesting", "n": "normal", "a": "artefact",
             "u": "undo", "z": "undo", "g": "grid"}
_SHORTCUT_HELP = ("<b>keys</b> (click the panel first): <kbd>→</kbd>/<kbd>j</kbd> next · "
                  "<kbd>←</kbd>/<kbd>k</kbd> previous · <kbd>Home</kbd> rank 1 · "
                  "<kbd>i</kbd> interesting · <kbd>n</kbd> normal · <kbd>a</kbd> artefact · "
                  "<kbd>u</kbd>/<kbd>z</kbd> undo · <kbd>g</kbd> grid")
_FLAG_STYLES = {"interesting": "success", "normal": "info", "artefact": "danger"}
_TITLES = ("original", "reconstruction", "residual")
_RGB = "RGB"
_ALL = "all"
# Columns shown first in the metadata table (the simulator's); the rest follow.
_PREFERRED_COLUMNS = ("set", "variant", "strength", "log_mstar", "z", "bt", "mag_r",
                      "r_disk_arcsec", "r_bulge_arcsec", "inclination_deg", "psf_fwhm_r")
_HIDDEN_COLUMNS = ("id", "path", "label")  # label: the set already says it
_CSS = panel_css("astroad-recon",
                 extra=".astroad-recon .astroad-cell-current {outline: 2px solid #1976d2;}\n")

# The labelling panel's key handler, also leaving keys to the rank slider and drop-downs: an
# arrow key pressed on the slider's handle moves the slider itself, and would otherwise move
# the ranking a second time as it bubbles up to the panel.
_GUARD = "t.isContentEditable)"
if _GUARD not in _KEYS_ESM:  # pragma: no cover - the labelling panel's front-end changed
    raise ImportError("astroad_nb.widgets.labeling's key handler changed; update "
                      "ReconstructionKeys' guard in astroad_nb/widgets/reconstruction.py.")
_RECON_KEYS_ESM = _KEYS_ESM.replace(
    _GUARD, 't.isContentEditable || t.tagName === "SELECT" || '
            '(t.closest && t.closest(".widget-slider")))', 1)


class ReconstructionKeys(KeyShortcuts):
    """:class:`~astroad_nb.widgets.labeling.KeyShortcuts` that leaves keys pressed on a slider
    or in a drop-down to that control."""

    _esm = _RECON_KEYS_ESM
    root_selector = traitlets.Unicode(".astroad-recon").tag(sync=True)


@contextmanager
def _muted(widget, handler, name="value"):
    """Change a widget from code without firing our own handler (which would loop back)."""
    widget.unobserve(handler, names=name)
    try:
        yield widget
    finally:
        widget.observe(handler, names=name)


class ReconstructionViewer(WalkingPanel):
    """Walk galaxy images from the most anomalous down, each beside its reconstruction.

    One-by-one mode shows the current image's original | reconstruction | residual (image
    minus reconstruction, on a symmetric scale: a diverging map per band, or a signed RGB
    composite where mid-grey = 0) as an RGB composite or one band at a time, its id, rank,
    score and metadata, and the score histogram (every image in grey, the filtered ones in
    blue) with the current image's score marked. A slider moves over the ranking; *previous*
    / *next* and the keys of :data:`SHORTCUTS` walk it; *interesting* / *normal* /
    *artefact* flag the image (committed to the store at once) and move on, *undo* takes the
    latest flag back. Drop-downs filter the ranking by set / variant. Grid mode shows the page
    of ``grid_size`` images holding the current rank (the top ``grid_size`` at rank 1),
    original and residual side by side; a cell's button opens that image.

    Parameters
    ----------
    images, scores, reconstructions, residuals, model, table, bands, store, context, who,
    batch_size, cache_size, score
        As in :class:`~astroad_nb.widgets.reconstruction_state.ReconstructionViewerState`.
    grid : bool, default=False
        Start in grid mode.
    grid_size : int, default=16
        Images per grid page (4 per row).
    band : str, default="RGB"
        ``"RGB"`` (three channels as R, G, B) or a band name of ``bands``; 1- or
        more-than-3-channel images start on their first band.
    residual_limit : float, optional
        Residual colour limit: ``[-limit, limit]`` on every image (comparable between
        images); default each image's own 99.5th percentile of ``|residual|``
        (:func:`~astroad_nb.plotting.residual_limit`), written under the residual.
    image_px : int, default=160
        Displayed side of each image in pixels (the PNG is the image's own size, scaled up
        by the browser without smoothing); grid thumbnails are ``0.4 * image_px``.
    advance : bool, default=True
        A flag moves to the next rank.
    bins : int, default=30
        Histogram bins over every finite score.

    Attributes
    ----------
    state : ReconstructionViewerState
        The logic; drive it directly in scripts and tests.
    widget : ipywidgets.VBox
        The whole panel.
    images : list of ipywidgets.Image
        Original, reconstruction and residual.
    slider : ipywidgets.IntSlider
        The 1-based rank in the filtered ranking.
    buttons : dict of str -> ipywidgets.Button
        ``previous``, ``next``, ``interesting``, ``normal``, ``artefact``, ``undo``.
    filters : dict of str -> ipywidgets.Dropdown
        One per filter column (``set``, ``variant``) of the table.
    band_toggle, mode_toggle : ipywidgets.ToggleButtons
    figure : plotly.graph_objects.FigureWidget
        The score histogram: traces ``all`` and ``shown``; ``layout.shapes[0]`` marks the
        current score, ``layout.annotations[0]`` its rank.
    keys : ReconstructionKeys
        The keyboard-shortcut widget (``keys.press("j")`` acts as the key).
    thumbs, residual_thumbs, thumb_buttons : lists of widgets
        The grid cells.
    info, meta, message : ipywidgets.HTML

    Examples
    --------
    >>> run = protocols.galaxies.run("fast")                               # doctest: +SKIP
    >>> ReconstructionViewer.from_run(run, store=LabelStore("labels.sqlite"))  # doctest: +SKIP
    >>> ReconstructionViewer.from_model(model, {"held-out": test, "clumps": clumpy})  # doctest: +SKIP
    """

    def __init__(self, images, scores=None, *, reconstructions=None, residuals=None, model=None,
                 table=None, bands=None, store=None, context="galaxies", who=None,
                 batch_size=32, cache_size=4096, score="anomaly_score", **display):
        state = ReconstructionViewerState(
            images, scores, reconstructions=reconstructions, residuals=residuals, model=model,
            table=table, bands=bands, store=store, context=context, who=who,
            batch_size=batch_size, cache_size=cache_size, score=score)
        self._build(state, **display)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_state(cls, state, **display):
        """A panel showing an existing :class:`ReconstructionViewerState` (``display``: the
        panel's own parameters, ``grid`` ... ``bins``)."""
        if not isinstance(state, ReconstructionViewerState):
            raise TypeError(f"state must be a ReconstructionViewerState, got "
                            f"{type(state).__name__}.")
        panel = cls.__new__(cls)
        panel._build(state, **display)
        return panel

    @classmethod
    def from_model(cls, model, sets, *, score="anomaly_score", grid=False, grid_size=16,
                   band=_RGB, residual_limit=None, image_px=160, advance=True, bins=30,
                   **kwargs):
        """The panel of ``sets`` scored and lazily reconstructed by a fitted GANomaly
        (:meth:`ReconstructionViewerState.from_model`; ``kwargs`` go there)."""
        state = ReconstructionViewerState.from_model(model, sets, score=score, **kwargs)
        return cls.from_state(state, grid=grid, grid_size=grid_size, band=band,
                              residual_limit=residual_limit, image_px=image_px,
                              advance=advance, bins=bins)

    @classmethod
    def from_scores(cls, scores, sets, *, model=None, reconstructions=None, grid=False,
                    grid_size=16, band=_RGB, residual_limit=None, image_px=160, advance=True,
                    bins=30, **kwargs):
        """The panel of the protocol's score table
        (:meth:`ReconstructionViewerState.from_scores`; ``kwargs`` go there)."""
        state = ReconstructionViewerState.from_scores(scores, sets, model=model,
                                                      reconstructions=reconstructions, **kwargs)
        return cls.from_state(state, grid=grid, grid_size=grid_size, band=band,
                              residual_limit=residual_limit, image_px=image_px,
                              advance=advance, bins=bins)

    @classmethod
    def from_run(cls, run, *, grid=False, grid_size=16, band=_RGB, residual_limit=None,
                 image_px=160, advance=True, bins=30, **kwargs):
        """The panel of a :func:`astroad_nb.protocols.galaxies.run` result
        (:meth:`ReconstructionViewerState.from_run`; ``kwargs`` go there)."""
        state = ReconstructionViewerState.from_run(run, **kwargs)
        return cls.from_state(state, grid=grid, grid_size=grid_size, band=band,
                              residual_limit=residual_limit, image_px=image_px,
                              advance=advance, bins=bins)

    def _build(self, state, *, grid=False, grid_size=16, band=_RGB, residual_limit=None,
               image_px=160, advance=True, bins=30):
        import plotly.graph_objects as go  # lazy: plotly's widget loads anywidget

        self.state = state
        if int(grid_size) < 1:
            raise ValueError(f"grid_size must be a positive number of images, got {grid_size!r}.")
        if residual_limit is not None and not float(residual_limit) > 0:
            raise ValueError(f"residual_limit must be positive, got {residual_limit!r}.")
        self.grid_size, self.advance = int(grid_size), bool(advance)
        self.residual_limit = None if residual_limit is None else float(residual_limit)
        band_options = ([_RGB] if state.images.shape[1] == 3 else []) + list(state.bands)
        if band == _RGB and _RGB not in band_options:
            band = band_options[0]
        if band not in band_options:
            raise ValueError(f"band must be one of {band_options}, got {band!r}.")
        self.band = band
        self._cache: OrderedDict = OrderedDict()  # (row, band, limit) -> 3 PNGs
        self._thumb_cache: OrderedDict = OrderedDict()
        self._edges = state.histogram(bins)["edges"]

        side = int(image_px)
        self.images = [widgets.Image(format="png", width=side, height=side) for _ in _TITLES]
        self.titles = [widgets.HTML(f"<p class='astroad-title'>{t}</p>") for t in _TITLES]
        self.residual_note = widgets.HTML()
        self.buttons = {
            "previous": widgets.Button(description="previous", icon="arrow-left",
                                       tooltip="higher score (key ← or k)"),
            "next": widgets.Button(description="next", icon="arrow-right",
                                   tooltip="lower score (key → or j)"),
            **{label: widgets.Button(description=label, button_style=_FLAG_STYLES[label],
                                     tooltip=f"flag {label} (key {label[0]})")
               for label in state.LABELS},
            "undo": widgets.Button(description="undo", icon="undo",
                                   tooltip="take back the latest flag (key u or z)"),
        }
        for button in self.buttons.values():
            button.layout.width = "110px"
        self.slider = widgets.IntSlider(value=max(state.rank, 1), min=1, max=max(len(state), 1),
                                        description="rank", continuous_update=False,
                                        layout=widgets.Layout(width="420px"))
        self.slider_text = widgets.HTML()
        self.filters = {
            column: widgets.Dropdown(options=[_ALL, *map(str, state.options(column))],
                                     value=_ALL, description=column,
                                     style={"description_width": "50px"},
                                     layout=widgets.Layout(width="210px"))
            for column in state.filter_columns}
        self.band_toggle = widgets.ToggleButtons(options=band_options, value=band,
                                                 style={"button_width": "52px"})
        self.mode_toggle = widgets.ToggleButtons(options=["one by one", "grid"],
                                                 value="grid" if grid else "one by one",
                                                 style={"button_width": "100px"})
        self.info = widgets.HTML()
        self.info.add_class("astroad-info")
        self.meta = widgets.HTML(layout=widgets.Layout(max_height="200px", overflow="auto",
                                                       margin="8px 0 0 0"))
        self.meta.add_class("astroad-meta")
        self.message = widgets.HTML()
        self.keys = ReconstructionKeys(SHORTCUTS, help=_SHORTCUT_HELP,
                                       root_selector=".astroad-recon")
        self.figure = go.FigureWidget(self._histogram_figure(go))
        thumb = max(side * 2 // 5, 16)
        self.thumbs = [widgets.Image(format="png", width=thumb, height=thumb)
                       for _ in range(self.grid_size)]
        self.residual_thumbs = [widgets.Image(format="png", width=thumb, height=thumb)
                                for _ in range(self.grid_size)]
        self.thumb_buttons = [widgets.Button(layout=widgets.Layout(width=f"{2 * thumb + 4}px"))
                              for _ in range(self.grid_size)]

        self.buttons["previous"].on_click(self._on_previous)
        self.buttons["next"].on_click(self._on_next)
        for label in state.LABELS:
            self.buttons[label].on_click(self._on_flag)
        self.buttons["undo"].on_click(self._on_undo)
        for button in self.thumb_buttons:
            button.on_click(self._on_thumb)
        self.slider.observe(self._on_slider, names="value")
        for dropdown in self.filters.values():
            dropdown.observe(self._on_filter, names="value")
        self.band_toggle.observe(self._on_band, names="value")
        self.mode_toggle.observe(self._on_mode, names="value")
        self.keys.on_key(self._on_key)

        self.widget = self._layout(thumb)
        self._refresh()

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_thumb(self, button):
        self.open(button.tooltip)

    def _on_slider(self, change):
        self.jump(change["new"])

    def _on_filter(self, change):
        self.set_filter(**{name: d.value for name, d in self.filters.items()})

    def _on_band(self, change):
        self.set_band(change["new"])

    def _on_mode(self, change):
        self.set_grid(change["new"] == "grid")

    def _on_key(self, key):
        self.press(key)

    # ------------------------------------------------------------------ actions
    def next(self):
        """Show the next (lower-scored) image."""
        if not self.state.next():
            self._refresh("last image of the ranking")
            return
        self._refresh()

    def previous(self):
        """Show the previous (higher-scored) image."""
        if not self.state.previous():
            self._refresh("first image of the ranking")
            return
        self._refresh()

    def jump(self, rank):
        """Show the image at 1-based ``rank`` of the filtered ranking."""
        if rank != self.state.rank:
            self.state.jump(rank)
            self._refresh()

    def open(self, image_id):
        """Show one image, one by one (what a grid cell's button does)."""
        self.state.select(image_id)
        with _muted(self.mode_toggle, self._on_mode):
            self.mode_toggle.value = "one by one"
        self._refresh()

    def flag(self, label):
        """Flag the current image (committed to the store at once); next image when ``advance``."""
        item = self.state.current
        if item is None:
            self._refresh("no image to flag")
            return
        self.state.flag(label, advance=self.advance)
        self._refresh(f"<b>{html.escape(item)}</b> → {html.escape(label)}")

    def undo(self):
        """Take back the latest flag of this context and labeller (its row stays, inactive)."""
        row = self.state.undo()
        self._refresh("nothing to undo" if row is None else
                      f"undid {html.escape(row['label'])} on <b>{html.escape(row['item_id'])}</b>")

    def press(self, key):
        """Act on a shortcut key (see :data:`SHORTCUTS`); other keys are ignored."""
        action = SHORTCUTS.get(key if len(key) != 1 else key.lower())
        if action is None:
            return
        if action == "next":
            self.next()
        elif action == "previous":
            self.previous()
        elif action == "first":
            if len(self.state):
                self.jump(1)
        elif action == "undo":
            self.undo()
        elif action == "grid":
            self.set_grid(self.mode_toggle.value != "grid")
        else:
            self.flag(action)

    def set_filter(self, **conditions):
        """Filter the ranking (``set="clumps 1"``, ``variant="clumps"``; ``"all"`` = any)."""
        self.state.filter(**{column: self._option(column, value)
                             for column, value in conditions.items()})
        with self.figure.batch_update():
            self.figure.data[1].y = self.state.histogram(self._edges)["shown"]
        self._refresh(f"{len(self.state)} images ranked")

    def set_band(self, band):
        """Show the RGB composite (``"RGB"``) or one band (a name of ``state.bands``)."""
        if band not in self.band_toggle.options:
            raise ValueError(f"band must be one of {list(self.band_toggle.options)}, got {band!r}.")
        self.band = band
        with _muted(self.band_toggle, self._on_band):
            self.band_toggle.value = band
        self._refresh()

    def set_grid(self, on):
        """Grid mode on (the page of ``grid_size`` images holding the current rank) or off."""
        with _muted(self.mode_toggle, self._on_mode):
            self.mode_toggle.value = "grid" if on else "one by one"
        self._refresh()

    # ------------------------------------------------------------------ display
    def _option(self, column, value):
        """A drop-down's text back to the table's value (numbers are shown as text)."""
        if value is None or value == _ALL:
            return None
        return next((v for v in self.state.options(column) if str(v) == str(value)), value)

    def _histogram_figure(self, go):
        hist = self.state.histogram(self._edges)
        edges = hist["edges"]
        centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        traces = [go.Bar(x=centres, y=hist[name], width=widths, name=name,
                         marker=dict(color=colour), hovertemplate="%{y} images<extra></extra>")
                  for name, colour in (("all", "rgba(150,150,150,0.45)"),
                                       ("shown", "rgba(31,119,180,0.75)"))]
        layout = go.Layout(
            width=300, height=220, margin=dict(l=45, r=10, t=30, b=40), barmode="overlay",
            bargap=0, showlegend=False, template="plotly_white",
            title=dict(text="score histogram", x=0.5, font=dict(size=13)),
            xaxis=dict(title=dict(text=self.state.score_name)),
            yaxis=dict(title=dict(text="images")),
            shapes=[dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1,
                         line=dict(color="#d62728", width=2))],
            annotations=[dict(xref="x", yref="paper", x=0, y=1.0, text="", showarrow=False,
                              yanchor="bottom", font=dict(color="#d62728", size=12))])
        return go.Figure(traces, layout)

    def _layout(self, thumb):
        path = self.state.store.path
        where = ("kept in memory only (pass store=LabelStore(path) to keep them)"
                 if path == ":memory:" else f"saved to <code>{html.escape(str(path))}</code>")
        header = widgets.HTML(
            _CSS + f"<b>Reconstruction viewer</b> — {len(self.state.ids)} images, highest "
            f"score first; flags (context <code>{html.escape(str(self.state.context))}</code>) "
            f"{where}")
        columns = [widgets.VBox([title, image], layout=widgets.Layout(flex="none"))
                   for title, image in zip(self.titles, self.images, strict=True)]
        columns[2].children = (*columns[2].children, self.residual_note)
        triplet = widgets.HBox(columns)
        triplet.add_class("astroad-recon-images")
        b = self.buttons
        flags = widgets.HBox([b[label] for label in self.state.LABELS] + [b["undo"]])
        self.single_view = widgets.VBox([triplet])
        cells = [widgets.VBox([widgets.HBox([t, r]), button],
                              layout=widgets.Layout(align_items="center"))
                 for t, r, button in zip(self.thumbs, self.residual_thumbs, self.thumb_buttons,
                                         strict=True)]
        self.cells = cells
        grid = widgets.GridBox(cells, layout=widgets.Layout(
            grid_template_columns=f"repeat(4, {2 * thumb + 12}px)", grid_gap="4px"))
        grid.add_class("astroad-recon-grid")
        self.grid_view = widgets.VBox([grid])
        nav = widgets.HBox([b["previous"], self.slider, self.slider_text, b["next"]],
                           layout=widgets.Layout(align_items="center"))
        nav.add_class("astroad-recon-nav")
        side = widgets.VBox([self.info, self.figure],
                            layout=widgets.Layout(width="310px", margin="0 0 0 12px"))
        root = widgets.VBox([
            header,
            widgets.HBox([*self.filters.values(), self.band_toggle, self.mode_toggle],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([widgets.VBox([self.single_view, self.grid_view, self.meta]), side]),
            nav,
            flags,
            self.keys,
            self.message,
        ])
        root.add_class("astroad-recon")
        return root

    def _refresh(self, message=None):
        state, grid = self.state, self.mode_toggle.value == "grid"
        if message is not None:
            self.message.value = message
        empty = state.current is None
        self.single_view.layout.display = "none" if grid else None
        self.grid_view.layout.display = None if grid else "none"
        for name in (*state.LABELS, "previous", "next"):
            self.buttons[name].disabled = empty
        self.buttons["previous"].disabled = empty or state.rank == 1
        self.buttons["next"].disabled = empty or state.rank == len(state)
        with _muted(self.slider, self._on_slider):
            self.slider.max = max(len(state), 1)
            self.slider.value = max(state.rank, 1)
            self.slider.disabled = len(state) < 2
        self.slider_text.value = f"&nbsp;of <b>{len(state)}</b>&nbsp;"
        if grid:
            self._show_grid()
        self._show_current(draw=not grid)
        if not grid:
            self._draw_ahead()

    def _show_current(self, draw=True):
        state = self.state
        position = state.score_position(self._edges)
        if state.current is None:
            for image in self.images:
                image.value = b""
            self.info.value = "<b>No image passes the filter.</b>"
            self.meta.value = ""
            self.residual_note.value = ""
        else:
            if draw:
                pngs, limit = self._pngs(state.current)
                for image, png in zip(self.images, pngs, strict=True):
                    image.value = png
                self.residual_note.value = (
                    f"<p class='astroad-title' style='font-weight:normal'>±{limit:.3g} "
                    f"({'fixed' if self.residual_limit else 'this image'})</p>")
            self.info.value = _info_html(position, state.label_of())
            self.meta.value = _metadata_html(state.metadata_of())
        score = position["score"] if np.isfinite(position["score"]) else None
        with self.figure.batch_update():  # one message to the browser
            shape, note = self.figure.layout.shapes[0], self.figure.layout.annotations[0]
            shape.visible = note.visible = score is not None
            if score is not None:
                shape.x0 = shape.x1 = note.x = score
                note.text = f"#{position['rank']}"

    def _draw_ahead(self):
        """Draw the next image now (after this one is on its way): the next click shows it at
        once."""
        rank = self.state.rank
        if 0 < rank < len(self.state):
            self._pngs(self.state.page(1, rank + 1)[0])

    def _show_grid(self):
        state = self.state
        page = state.page(self.grid_size)
        state.prefetch(page)  # one batched model call for the whole page
        labels = state.labels
        for k, (cell, thumb, resid, button) in enumerate(zip(
                self.cells, self.thumbs, self.residual_thumbs, self.thumb_buttons, strict=True)):
            if k >= len(page):
                cell.layout.visibility = "hidden"
                continue
            item = page[k]
            cell.layout.visibility = None
            thumb.value, resid.value = self._thumb(item)
            label = labels.get(item)
            button.tooltip = item
            button.description = (f"#{state.rank_of(item)} · {state.score_of(item):.3g}"
                                  + (f" · {label}" if label else ""))
            button.button_style = _FLAG_STYLES.get(label, "")
            if item == state.current:
                cell.add_class("astroad-cell-current")
            else:
                cell.remove_class("astroad-cell-current")

    def _band_index(self):
        return None if self.band == _RGB else self.state.bands.index(self.band)

    def _pngs(self, item):
        """Original, reconstruction and residual PNGs of one image and the residual's limit
        (cached: going back and the next click reuse them)."""
        key = (item, self.band, self.residual_limit)
        if key not in self._cache:
            band = self._band_index()
            residual = self.state.residual(item)
            limit = self.residual_limit
            if limit is None:
                limit = residual_limit(residual if band is None else residual[band])
            self._cache[key] = ([galaxy_png(self.state.image(item), band=band, zoom=1),
                                 galaxy_png(self.state.reconstruction(item), band=band, zoom=1),
                                 residual_png(residual, band=band, limit=limit, zoom=1)], limit)
            if len(self._cache) > 256:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def _thumb(self, item):
        key = (item, self.band, self.residual_limit)
        if key not in self._thumb_cache:
            band = self._band_index()
            self._thumb_cache[key] = (
                galaxy_png(self.state.image(item), band=band, zoom=1),
                residual_png(self.state.residual(item), band=band, limit=self.residual_limit,
                             zoom=1))
            if len(self._thumb_cache) > 512:
                self._thumb_cache.popitem(last=False)
        return self._thumb_cache[key]


def _info_html(position, label):
    if position["id"] is None:
        return "<b>No image passes the filter.</b>"
    flag = f"<b>{html.escape(label)}</b>" if label else "<i>none</i>"
    return (f"<div style='font-size:15px'><b>{html.escape(str(position['id']))}</b></div>"
            f"rank <b>{position['rank']} of {position['n']}</b> · score "
            f"<b>{position['score']:.4g}</b><br>{position['percentile']:.0f}% of the ranked "
            f"images score at most this<br>flag: {flag}")


def _metadata_html(row, max_rows=14):
    shown = [c for c in _PREFERRED_COLUMNS if c in row]
    shown += [c for c in row if c not in shown and c not in _HIDDEN_COLUMNS]
    shown = [c for c in shown if c not in _HIDDEN_COLUMNS][:max_rows]
    if not shown:
        return "<i>no metadata</i>"
    body = "".join(f"<tr><th>{html.escape(str(c))}</th><td>{_value(row[c])}</td></tr>"
                   for c in shown)
    return f"<table>{body}</table>"


def _value(value):
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "—" if not np.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))
