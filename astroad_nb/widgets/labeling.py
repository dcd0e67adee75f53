"""The real/bogus labelling panel: a person labels the K triplets the model finds hardest.

The panel only displays a :class:`~astroad_nb.widgets.labeling_state.LabelingSession` (and, in
grid mode, a :class:`~astroad_nb.widgets.labeling_state.GridPage`); every rule lives there and
is tested without a browser. Triplets are drawn server-side to PNG with numpy + Pillow
(:func:`astroad_nb.plotting.triplet_pngs`, a few ms) and the next item's PNGs are drawn ahead,
so a click shows the next triplet at once.

Keyboard shortcuts come from :class:`KeyShortcuts`, a tiny anywidget whose front-end listens to
``keydown`` on the whole panel (once the panel has focus: click it) and sends the key to Python
as a custom message; JupyterLab's own shortcuts (``b`` = new cell below, ...) are stopped for
the keys the panel uses, and only while the focus is inside the panel.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from contextlib import contextmanager

import anywidget
import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from astroad_nb.data.alerts import CutoutSet
from astroad_nb.plotting import TRIPLET_TITLES, cutout_png, triplet_pngs
from astroad_nb.widgets._common import Panel, panel_css
from astroad_nb.widgets.labeling_state import GridPage, LabelingSession

__all__ = ["KeyShortcuts", "LabelingPanel", "SHORTCUTS"]

#: Key (as the browser's ``KeyboardEvent.key``; letters in lower case) -> panel action.
SHORTCUTS = {"r": "real", "ArrowRight": "real", "b": "bogus", "ArrowLeft": "bogus",
             "s": "skip", "ArrowDown": "skip", "u": "undo", "z": "undo"}
_SHORTCUT_HELP = ("<b>keys</b> (click the panel first): <kbd>r</kbd>/<kbd>→</kbd> real · "
                  "<kbd>b</kbd>/<kbd>←</kbd> bogus · <kbd>s</kbd>/<kbd>↓</kbd> skip · "
                  "<kbd>u</kbd>/<kbd>z</kbd> undo")
_GRID_HELP = ("<b>keys</b> (click the panel first): <kbd>u</kbd>/<kbd>z</kbd> undo "
              "(<kbd>r</kbd> <kbd>b</kbd> <kbd>s</kbd> work one by one)")
# Simulation truth: showing it would give the answer away.
_HIDDEN_COLUMNS = ("label", "kind", "subkind")
_PREFERRED_COLUMNS = ("objectId", "candid", "band", "fid", "magpsf", "sigmapsf", "snr",
                      "isdiffpos", "rb", "drb", "fwhm", "fwhm_sci", "fwhm_ref", "classtar",
                      "nbad", "elong", "ra", "dec", "jd", "host", "clipped")
_ZOOM, _THUMB_ZOOM = 3, 2
_CSS = panel_css("astroad-labeling")

_KEYS_ESM = r"""
function render({ model, el }) {
  el.classList.add("astroad-keys");
  const wanted = () => new Set(model.get("capture"));
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (!wanted().has(key)) return;
    event.preventDefault();
    event.stopPropagation();  // JupyterLab listens on document (bubbling): its "b" stays quiet
    model.send({ event: "key", key });
  };
  const help = document.createElement("span");
  help.innerHTML = model.get("help");
  el.appendChild(help);
  model.on("change:help", () => { help.innerHTML = model.get("help"); });
  let root = null;
  let tries = 0;
  const attach = () => {  // the view is put in the page after render() returns
    root = el.closest(model.get("root_selector"));
    if (!root && tries++ < 50) { requestAnimationFrame(attach); return; }
    root = root || el;
    if (!root.hasAttribute("tabindex")) root.tabIndex = 0;  // a click focuses the panel
    root.addEventListener("keydown", onKey);
  };
  attach();
  return () => { if (root) root.removeEventListener("keydown", onKey); };
}
export default { render };
"""


class KeyShortcuts(anywidget.AnyWidget):
    """Keyboard shortcuts for a panel: key presses in the browser become Python callbacks.

    The front-end listens to ``keydown`` on the nearest ancestor matching ``root_selector``
    (the panel; it is made focusable so a click focuses it), ignores keys typed into text
    fields and keys with Ctrl / Alt / Meta, and sends each key listed in ``keys`` to Python as
    a custom message ``{"event": "key", "key": key}``, which calls :meth:`press`.

    Parameters
    ----------
    keys : sequence of str
        ``KeyboardEvent.key`` values to capture (letters in lower case); kept in the
        ``capture`` trait.
    help : str
        HTML shown where the widget sits (which keys do what).
    root_selector : str
        CSS selector of the element to listen on.
    """

    _esm = _KEYS_ESM
    capture = traitlets.List(traitlets.Unicode()).tag(sync=True)
    help = traitlets.Unicode("").tag(sync=True)
    root_selector = traitlets.Unicode(".astroad-labeling").tag(sync=True)

    def __init__(self, keys=(), help="", root_selector=".astroad-labeling", **kwargs):
        # not "keys": ipywidgets' Widget.keys lists the synced traits
        super().__init__(capture=list(keys), help=help, root_selector=root_selector, **kwargs)
        self._callbacks = widgets.CallbackDispatcher()
        self.on_msg(self._on_msg)

    def on_key(self, callback, remove=False):
        """Call ``callback(key)`` on every key press (``remove=True`` unregisters it)."""
        self._callbacks.register_callback(callback, remove=remove)

    def press(self, key):
        """Act as if ``key`` was pressed in the browser."""
        self._callbacks(str(key))

    def _on_msg(self, widget, content, buffers):
        self.press(content.get("key", ""))


@contextmanager
def _muted(widget, handler, name="value"):
    """Change a widget from code without firing our own handler (which would loop back)."""
    widget.unobserve(handler, names=name)
    try:
        yield widget
    finally:
        widget.observe(handler, names=name)


def _as_items(cutouts, p_real, ids):
    """(images, item indices into them, item ids, p_real per item, metadata, pixel scale)."""
    if isinstance(cutouts, CutoutSet):
        images, all_ids = cutouts.images, [str(i) for i in cutouts.ids]
        table, pixel_scale = cutouts.table, cutouts.meta.get("pixel_scale", 1.01)
    else:
        images = np.asarray(cutouts, dtype=np.float32)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"cutouts must be a CutoutSet or an array of shape (N, 3, H, W), "
                             f"got shape {images.shape}.")
        all_ids = [str(i) for i in range(len(images))] if ids is None else [str(i) for i in ids]
        if len(all_ids) != len(images):
            raise ValueError(f"{len(images)} triplets but {len(all_ids)} ids.")
        table, pixel_scale, ids = None, 1.01, None
    if isinstance(p_real, pd.DataFrame):  # ActiveLearningLoop.query(): columns id, p_real
        if not {"id", "p_real"} <= set(p_real.columns):
            raise ValueError(f"a p_real DataFrame needs columns 'id' and 'p_real', got "
                             f"{list(p_real.columns)}.")
        ids = list(p_real["id"]) if ids is None else ids
        p_real = pd.Series(p_real["p_real"].to_numpy(float), index=p_real["id"].astype(str))
    position = {item: k for k, item in enumerate(all_ids)}
    item_ids = all_ids if ids is None else [str(i) for i in ids]
    missing = [item for item in item_ids if item not in position]
    if missing:
        raise ValueError(f"ids {missing[:3]} are not in the cutouts (ids look like "
                         f"{all_ids[:3]}).")
    rows = np.array([position[item] for item in item_ids], dtype=int)
    if isinstance(p_real, (pd.Series, dict)):  # keyed by id, e.g. an active-learning query
        p_real = pd.Series(p_real, dtype=float).reindex(item_ids).to_numpy()
    metadata = None if table is None else table.iloc[rows].reset_index(drop=True)
    return images, rows, item_ids, p_real, metadata, pixel_scale


class LabelingPanel(Panel):
    """Label alert triplets real / bogus, one by one or a 4 x 4 grid page at a time.

    One-by-one mode shows the current triplet (science / reference / difference, ZScale or
    asinh stretch, NaN pixels in orange, a 10" scale bar), the model's p(real), the id and a
    metadata table; buttons *real* / *bogus* / *skip* / *undo* (and the keys of
    :data:`SHORTCUTS`), progress "k of K", and *done*, which hands the answers back. Grid mode
    shows the difference images of the next 16 items: click a thumbnail's button to cycle
    ? -> real -> bogus, *rest bogus* fills the undecided ones, *submit page* writes them.
    Every label is committed to ``store`` at once; a panel reopened on the same store, round
    and context resumes at the first unlabelled item.

    Parameters
    ----------
    cutouts : CutoutSet or ndarray, shape (N, 3, H, W)
        The triplets.
    p_real : array_like, pandas.Series, dict or pandas.DataFrame, optional
        The model's p(real) per item: an array aligned with ``ids`` (or with ``cutouts`` when
        ``ids`` is omitted), a Series / dict keyed by id, or a DataFrame with columns ``id`` and
        ``p_real`` (what ``ActiveLearningLoop.query()`` returns; its ids, hardest first, are
        the items when ``ids`` is omitted).
    store : LabelStore
        Where labels are committed.
    round : int, default=0
        Active-learning round written with each label.
    context : str, default="realbogus"
        Context written with each label.
    who : str, optional
        Labeller (default: the store's).
    ids : sequence of str, optional
        For a CutoutSet: the items to label, in order (e.g. the K hardest); default all, in set
        order. For an array: the ids of its N triplets (default ``"0"`` ... ``"N-1"``).
    stretch : {"zscale", "asinh"}, default="zscale"
        Image stretch (see :func:`astroad_nb.plotting.stretch_cutout`).
    grid : bool, default=False
        Start in grid mode.
    on_done : callable, optional
        Called with :meth:`answers` (``{id: 1 | 0}``) when *done* is clicked.
    page_size : int, default=16
        Thumbnails per grid page.

    Attributes
    ----------
    session : LabelingSession
        The logic; drive it directly in scripts and tests.
    grid_page : GridPage
        Grid mode's pending page.
    widget : ipywidgets.VBox
        The whole panel.
    buttons : dict of str -> ipywidgets.Button
        ``real``, ``bogus``, ``skip``, ``undo``, ``done``, ``submit page``, ``rest bogus``.
    images : list of ipywidgets.Image
        Science, reference and difference images.
    keys : KeyShortcuts
        The keyboard-shortcut widget (``keys.press("r")`` acts as the key).
    progress : ipywidgets.IntProgress
        Items decided so far, out of K.

    Examples
    --------
    >>> query = loop.query()            # the K hardest: id, p_real     # doctest: +SKIP
    >>> panel = LabelingPanel(loop.pool_, query, store=LabelStore("labels.sqlite"),
    ...                       round=1, on_done=loop.teach)                 # doctest: +SKIP
    >>> panel                                                             # doctest: +SKIP
    """

    def __init__(self, cutouts, p_real=None, *, store, round=0, context="realbogus", who=None,
                 ids=None, stretch="zscale", grid=False, on_done=None, page_size=16):
        if stretch not in ("zscale", "asinh"):
            raise ValueError(f"stretch must be 'zscale' or 'asinh', got {stretch!r}.")
        images, rows, item_ids, p_real, metadata, pixel_scale = _as_items(cutouts, p_real, ids)
        self.session = LabelingSession(item_ids, p_real, store=store, round=round,
                                       context=context, who=who, metadata=metadata)
        self.grid_page = GridPage(self.session, size=page_size)
        self.on_done = on_done
        self.stretch = stretch
        self._images, self._rows, self._pixel_scale = images, rows, pixel_scale
        self._cache: OrderedDict = OrderedDict()  # (item index, stretch) -> 3 PNGs
        self._thumbs: OrderedDict = OrderedDict()

        side = images.shape[-1] * _ZOOM
        self.images = [widgets.Image(format="png", width=side, height=side) for _ in TRIPLET_TITLES]
        self.buttons = {
            "real": widgets.Button(description="real", button_style="success", icon="check",
                                   tooltip="label real (key r or →)"),
            "bogus": widgets.Button(description="bogus", button_style="danger", icon="times",
                                    tooltip="label bogus (key b or ←)"),
            "skip": widgets.Button(description="skip", tooltip="no label, next (key s or ↓)"),
            "undo": widgets.Button(description="undo", icon="undo",
                                   tooltip="take back the last label or skip (key u or z)"),
            "done": widgets.Button(description="done", button_style="primary",
                                   tooltip="hand the labels back (on_done)"),
            "submit page": widgets.Button(description="submit page", button_style="primary",
                                          tooltip="write this page's labels (? = skip)"),
            "rest bogus": widgets.Button(description="rest bogus",
                                         tooltip="every ? on this page becomes bogus"),
        }
        for button in self.buttons.values():
            button.layout.width = "110px"
        self.stretch_toggle = widgets.ToggleButtons(options=["zscale", "asinh"], value=stretch,
                                                    style={"button_width": "70px"},
                                                    tooltips=["ZScale, linear", "asinh"])
        self.mode_toggle = widgets.ToggleButtons(options=["one by one", "grid"],
                                                 value="grid" if grid else "one by one",
                                                 style={"button_width": "100px"})
        self.progress = widgets.IntProgress(min=0, max=max(len(self.session), 1),
                                            layout=widgets.Layout(width="240px"))
        self.progress_text = widgets.HTML()
        self.info = widgets.HTML()
        self.info.add_class("astroad-info")
        self.meta = widgets.HTML(layout=widgets.Layout(max_height="260px", overflow="auto"))
        self.meta.add_class("astroad-meta")
        self.message = widgets.HTML()
        self.keys = KeyShortcuts(SHORTCUTS, help=_SHORTCUT_HELP)
        self.thumbs = [widgets.Image(format="png", width=images.shape[-1] * _THUMB_ZOOM,
                                     height=images.shape[-2] * _THUMB_ZOOM)
                       for _ in range(self.grid_page.size)]
        self.thumb_buttons = [widgets.Button(layout=widgets.Layout(width="130px"))
                              for _ in range(self.grid_page.size)]

        for name in ("real", "bogus"):
            self.buttons[name].on_click(self._on_label)
        self.buttons["skip"].on_click(self._on_skip)
        self.buttons["undo"].on_click(self._on_undo)
        self.buttons["done"].on_click(self._on_done)
        self.buttons["submit page"].on_click(self._on_submit)
        self.buttons["rest bogus"].on_click(self._on_rest_bogus)
        for button in self.thumb_buttons:
            button.on_click(self._on_thumb)
        self.keys.on_key(self._on_key)
        self.stretch_toggle.observe(self._on_stretch, names="value")
        self.mode_toggle.observe(self._on_mode, names="value")

        self.widget = self._layout(store, context, round)
        self._refresh()

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_undo(self, button):
        self.undo()

    def _on_label(self, button):
        self.label(button.description)

    def _on_skip(self, button):
        self.skip()

    def _on_done(self, button):
        self.done()

    def _on_submit(self, button):
        self.submit_page()

    def _on_rest_bogus(self, button):
        self.fill_page("bogus")

    def _on_thumb(self, button):
        self.toggle(self.grid_page.ids[self.thumb_buttons.index(button)])

    def _on_key(self, key):
        self.press(key)

    def _on_stretch(self, change):
        self.set_stretch(change["new"])

    def _on_mode(self, change):
        self.set_grid(change["new"] == "grid")

    # ------------------------------------------------------------------ actions
    def label(self, choice):
        """Label the current triplet ``"real"`` or ``"bogus"`` (committed at once), show the next."""
        item = self.session.current
        self.session.label(choice)
        self._refresh(f"<b>{html.escape(str(item))}</b> → {html.escape(str(choice))}")

    def skip(self):
        """Leave the current triplet unlabelled and show the next."""
        item = self.session.current
        self.session.skip()
        self._refresh(f"skipped <b>{html.escape(str(item))}</b>")

    def undo(self):
        """Take back the last label or skip (its store row is marked undone) and show it again."""
        try:
            action = self.session.undo()
        except RuntimeError as exc:  # another panel labelled since: say so, change nothing
            self._refresh(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
            return
        self.grid_page.reload()
        if action is None:
            self._refresh("nothing to undo")
        else:
            what = action.get("label", "skip")
            self._refresh(f"undid {what} on <b>{html.escape(action['item_id'])}</b>")

    def press(self, key):
        """Act on a shortcut key (see :data:`SHORTCUTS`); other keys are ignored."""
        action = SHORTCUTS.get(key if len(key) != 1 else key.lower())
        if action is None:
            return
        if action == "undo":
            self.undo()
        elif self.mode_toggle.value == "grid":
            self._refresh("keys r / b / s label one by one: switch grid mode off first")
        elif self.session.done:
            self._refresh("all items decided: <i>undo</i> or <i>done</i>")
        elif action == "skip":
            self.skip()
        else:
            self.label(action)

    def done(self):
        """Hand the labels back: call ``on_done(answers)`` and return ``answers()``."""
        answers = self.answers()
        if self.on_done is not None:
            self.on_done(answers)
        self._refresh(f"handed back {len(answers)} labels "
                      f"({sum(answers.values())} real, {len(answers) - sum(answers.values())} bogus)")
        return answers

    def answers(self):
        """``{id: 1 (real) | 0 (bogus)}`` for every labelled item; skips excluded."""
        return self.session.answers()

    def set_stretch(self, stretch):
        """Redraw with ``"zscale"`` or ``"asinh"``."""
        if stretch not in ("zscale", "asinh"):
            raise ValueError(f"stretch must be 'zscale' or 'asinh', got {stretch!r}.")
        self.stretch = stretch
        with _muted(self.stretch_toggle, self._on_stretch):
            self.stretch_toggle.value = stretch
        self._refresh()

    def set_grid(self, on):
        """Switch grid mode on (4 x 4 difference thumbnails) or off (one triplet at a time)."""
        with _muted(self.mode_toggle, self._on_mode):
            self.mode_toggle.value = "grid" if on else "one by one"
        self.grid_page.reload()
        self._refresh()

    def toggle(self, item_id):
        """Grid mode: cycle one thumbnail's pending choice ? -> real -> bogus -> ?."""
        self.grid_page.toggle(item_id)
        self._show_grid()

    def fill_page(self, choice):
        """Grid mode: give every undecided thumbnail ``choice``."""
        self.grid_page.fill(choice)
        self._show_grid()

    def submit_page(self):
        """Grid mode: write the page's labels (undecided ones are skipped), show the next page."""
        n_items = len(self.grid_page.ids)
        n = self.grid_page.submit()
        self._refresh(f"page written: {n} labels, {n_items - n} skipped")

    # ------------------------------------------------------------------ display
    def _layout(self, store, context, round):
        path = store.path
        where = ("kept in memory only (pass store=LabelStore(path) to keep them)"
                 if path == ":memory:" else f"saved to <code>{html.escape(str(path))}</code>")
        header = widgets.HTML(
            _CSS + f"<b>Real / bogus labelling</b> — round {html.escape(str(round))}, context "
            f"<code>{html.escape(str(context))}</code>, labels {where}")
        columns = [widgets.VBox([widgets.HTML(f"<p class='astroad-title'>{title}</p>"), image])
                   for title, image in zip(TRIPLET_TITLES, self.images, strict=True)]
        b = self.buttons
        triplet = widgets.HBox(columns)
        triplet.add_class("astroad-triplet")
        self.single_view = widgets.VBox([
            triplet,
            widgets.HBox([b["real"], b["bogus"], b["skip"], b["undo"]]),
        ])
        cells = [widgets.VBox([thumb, button], layout=widgets.Layout(align_items="center"))
                 for thumb, button in zip(self.thumbs, self.thumb_buttons, strict=True)]
        grid = widgets.GridBox(cells, layout=widgets.Layout(
            grid_template_columns="repeat(4, 140px)", grid_gap="4px"))
        grid.add_class("astroad-grid")
        self.grid_view = widgets.VBox([
            grid,
            widgets.HBox([b["rest bogus"], b["submit page"], b["undo"]]),
        ])
        side = widgets.VBox([self.info, self.meta], layout=widgets.Layout(width="300px",
                                                                           margin="0 0 0 12px"))
        progress = widgets.HBox([self.progress, self.progress_text, b["done"]],
                                layout=widgets.Layout(align_items="center"))
        progress.add_class("astroad-progress")
        root = widgets.VBox([
            header,
            widgets.HBox([self.mode_toggle, self.stretch_toggle]),
            widgets.HBox([widgets.VBox([self.single_view, self.grid_view]), side]),
            progress,
            self.keys,
            self.message,
        ])
        root.add_class("astroad-labeling")
        return root

    def _refresh(self, message=None):
        session, grid = self.session, self.mode_toggle.value == "grid"
        if message is not None:
            self.message.value = message
        self.single_view.layout.display = "none" if grid else None
        self.grid_view.layout.display = None if grid else "none"
        for name in ("real", "bogus", "skip"):
            self.buttons[name].disabled = session.done
        self.buttons["undo"].disabled = not session.can_undo
        self.buttons["submit page"].disabled = not self.grid_page.ids
        self.buttons["rest bogus"].disabled = not self.grid_page.ids
        self.buttons["done"].button_style = "success" if session.done else "primary"
        self.keys.help = _GRID_HELP if grid else _SHORTCUT_HELP
        if grid:
            self._show_grid()
        else:
            self._show_current()
        self.progress.value = session.n_decided
        k = min(session.position, len(session))
        self.progress_text.value = (
            f"&nbsp;<b>all {len(session)} done</b> · " if session.done else
            f"&nbsp;item <b>{k} of {len(session)}</b> · ") + (
            f"{session.n_labelled} labelled, {session.n_skipped} skipped&nbsp;")
        if not grid:
            self._draw_ahead()

    def _show_current(self):
        session = self.session
        if session.done:
            for image in self.images:
                image.value = b""
            self.info.value = ("<b>All items decided.</b><br>Click <i>done</i> to hand the "
                               "labels back, or <i>undo</i> to change the last one.")
            self.meta.value = ""
            return
        k = session.index
        for image, png in zip(self.images, self._pngs(k), strict=True):
            image.value = png
        self.info.value = _info_html(session.current, session.current_p_real)
        self.meta.value = _metadata_html(session.metadata_of(session.current))

    def _draw_ahead(self):
        """Draw the next triplet now (after this one is on its way): the next click shows it
        at once."""
        upcoming = self.session.page(2)[1:]
        if upcoming:
            self._pngs(self.session.index_of(upcoming[0]))

    def _show_grid(self):
        page, choices = self.grid_page.ids, self.grid_page.choices
        for k, (thumb, button) in enumerate(zip(self.thumbs, self.thumb_buttons, strict=True)):
            if k >= len(page):
                thumb.layout.visibility = button.layout.visibility = "hidden"
                continue
            item = page[k]
            thumb.layout.visibility = button.layout.visibility = None
            thumb.value = self._thumb(self.session.index_of(item))
            choice = choices[item]
            p = self.session.p_real_of(item)
            button.tooltip = item
            button.description = f"{choice or '?'} · p={p:.2f}" if np.isfinite(p) else (choice or "?")
            button.button_style = {"real": "success", "bogus": "danger"}.get(choice, "")
        self.info.value = (f"<b>Grid page</b>: {len(page)} difference images.<br>Click a "
                           "thumbnail's button: ? → real → bogus → ?. <i>rest bogus</i> fills "
                           "the ?; <i>submit page</i> writes the page (? = skipped).")
        self.meta.value = ""

    def _pngs(self, k):
        """The three PNGs of item ``k`` (cached: undo and the next click reuse them)."""
        key = (k, self.stretch)
        if key not in self._cache:
            self._cache[key] = triplet_pngs(self._images[self._rows[k]], stretch=self.stretch,
                                            zoom=_ZOOM, pixel_scale=self._pixel_scale)
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        return self._cache[key]

    def _thumb(self, k):
        key = (k, self.stretch)
        if key not in self._thumbs:
            self._thumbs[key] = cutout_png(self._images[self._rows[k], 2], stretch=self.stretch,
                                           zoom=_THUMB_ZOOM, pixel_scale=None)
            if len(self._thumbs) > 256:
                self._thumbs.popitem(last=False)
        return self._thumbs[key]


def _info_html(item, p_real):
    if np.isfinite(p_real):
        width = int(round(100 * p_real))
        bar = (f"<div style='width:200px;height:8px;background:#f1c6c6;border-radius:3px'>"
               f"<div style='width:{width}%;height:8px;background:#4caf50;border-radius:3px'>"
               f"</div></div>")
        p_text = f"model p(real) = <b>{p_real:.3f}</b>{bar}"
    else:
        p_text = "model p(real): <i>not given</i>"
    return f"<div style='font-size:15px'><b>{html.escape(str(item))}</b></div>{p_text}"


def _metadata_html(row, max_rows=12):
    shown = [c for c in _PREFERRED_COLUMNS if c in row]
    shown += [c for c in row if c not in shown and c not in _HIDDEN_COLUMNS]
    shown = [c for c in shown if c not in _HIDDEN_COLUMNS][:max_rows]
    if not shown:
        return "<i>no metadata</i>"
    body = "".join(f"<tr><th>{html.escape(str(c))}</th><td>{_value(row[c])}</td></tr>"
                   for c in shown)
    return f"<table>{body}</table>"


def _value(value):
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "—" if not np.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))
