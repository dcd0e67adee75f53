"""Small helpers the panels' JupyterLab tests share (the fixtures are in ``conftest.py``)."""

from __future__ import annotations

import re
import sqlite3


def label_rows(db, context, columns="item_id, label, who, active"):
    """The rows one panel wrote to the label store, oldest first (the session's JupyterLab
    server, and so its database, is shared with other panels' tests; ``context`` tells
    them apart)."""
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT {columns} FROM labels WHERE context = ? ORDER BY id",
                           (context,)).fetchall()


def panel_button(panel, text):
    """The visible panel button whose text is exactly ``text`` (icons aside)."""
    return panel.locator("button.jupyter-button:visible",
                         has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def shown_id(panel, pattern):
    """The first match of ``pattern`` (a compiled regex) in the panel's ``.astroad-info``."""
    return pattern.search(panel.locator(".astroad-info").inner_text()).group(0)
