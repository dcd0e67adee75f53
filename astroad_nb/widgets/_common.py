"""What the panels share: their style sheet and the base class that displays them.

A panel is a plain object holding an ipywidgets tree in ``self.widget``; :class:`Panel` lets
Jupyter display it, :class:`FlaggingPanel` and :class:`WalkingPanel` add the one-line button
handlers that panels with those buttons share (each calls the panel's public method of the
same name, so a click and a test call run the same code).
"""

from __future__ import annotations

__all__ = ["FlaggingPanel", "Panel", "WalkingPanel", "panel_css"]


def panel_css(root, *, table="astroad-meta", extra=""):
    """The ``<style>`` block of a keyboard-driven panel whose top element has class ``root``.

    Parameters
    ----------
    root : str
        The panel's CSS class, e.g. ``"astroad-labeling"``.
    table : str, default "astroad-meta"
        Class of the element holding the panel's key / value table.
    extra : str, optional
        Rules of this panel alone, appended as written.

    Returns
    -------
    str
        HTML to put before the panel's title.
    """
    r, t = f".{root}", f".{root} .{table}"
    return f"""<style>
{r} {{padding: 4px; border-radius: 4px; outline: none;}}
{r}:focus-within {{box-shadow: 0 0 0 2px #7aa7e0;}}
{r} .astroad-title {{text-align: center; font-weight: bold; margin: 0;}}
{r} img {{image-rendering: pixelated;}}
{t} table {{border-collapse: collapse; font-size: 12px;}}
{t} th, {t} td {{padding: 0 8px; line-height: 18px; height: 18px; border: none;}}
{t} th {{text-align: left; font-weight: normal; color: #555;}}
{t} td {{text-align: right; font-family: monospace;}}
{t} tr:nth-child(even) {{background: #f3f3f3;}}
{r} .astroad-keys::before {{content: "○ keys off — "; color: #888;}}
{r}:focus-within .astroad-keys::before {{content: "● keys on — "; color: #2e7d32;}}
{r} kbd {{border: 1px solid #aaa; border-radius: 3px; padding: 0 3px; font-size: 11px;
    background: #f7f7f7;}}
{extra}</style>"""


class Panel:
    """Base of the panels: Jupyter displays ``self.widget``."""

    widget = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class FlaggingPanel(Panel):
    """A panel whose buttons flag the item shown (``flag(label)``) and take it back (``undo()``)."""

    # ------------------------------------------------------------------ handlers (one line each)
    def _on_flag(self, button):
        self.flag(button.description)

    def _on_undo(self, button):
        self.undo()


class WalkingPanel(FlaggingPanel):
    """A flagging panel that also steps through its items (``previous()`` / ``next()``)."""

    def _on_previous(self, button):
        self.previous()

    def _on_next(self, button):
        self.next()
