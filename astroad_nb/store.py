"""The label store: every label a person gives, committed to SQLite the moment it is given.

One row per label event. Nothing is ever deleted: ``undo`` marks a row inactive, so the full
history of who said what, when, survives kernel crashes, restarts and mistakes.

Schema (table ``labels``)
-------------------------
=========  =======  ================================================================
column     type     meaning
=========  =======  ================================================================
id         INTEGER  autoincrement primary key (event order)
item_id    TEXT     the labelled object's id (objectId, candid, source_id, ...)
label      TEXT     the label ("interesting", "bogus", "real", "member", ...)
who        TEXT     the person (or "oracle" for simulated answers)
created    TEXT     ISO-8601 UTC time stamp
round      INTEGER  active-learning round, NULL when not applicable
context    TEXT     where the label was given (panel / system / task name)
note       TEXT     free text
active     INTEGER  1, or 0 once undone
=========  =======  ================================================================
"""

from __future__ import annotations

import getpass
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

__all__ = ["LabelStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    label TEXT NOT NULL,
    who TEXT,
    created TEXT NOT NULL,
    round INTEGER,
    context TEXT,
    note TEXT,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS labels_item ON labels(item_id);
CREATE INDEX IF NOT EXISTS labels_context ON labels(context, active);
"""
_COLUMNS = ["id", "item_id", "label", "who", "created", "round", "context", "note", "active"]


def _default_who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


class LabelStore:
    """SQLite label store (WAL journal, one committed row per label).

    Parameters
    ----------
    path : str or Path
        Database file; created with its folder when missing, reopened (and resumed) otherwise.
        ``":memory:"`` gives a throw-away store (tests, demos).
    who : str, optional
        Default labeller name for :meth:`add`; the login name when omitted.

    Examples
    --------
    >>> store = LabelStore(":memory:", who="ana")
    >>> store.add("ZTF21abcdefg", "interesting", context="alerce")
    1
    >>> store.latest()
    {'ZTF21abcdefg': 'interesting'}
    """

    def __init__(self, path, *, who: str | None = None):
        self.path = str(path)
        self.who = who or _default_who()
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            # check_same_thread=False: widget callbacks may run on another thread; a lock
            # serialises our own use of the connection.
            self._con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")  # a label survives a power cut
            self._con.executescript(_SCHEMA)
            self._con.commit()
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"{self.path} is not a usable label store ({exc}); pass a new file name or "
                "move the damaged file aside (it is never overwritten)."
            ) from exc
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ writing
    def add(self, item_id, label, *, who=None, round=None, context=None, note=None) -> int:
        """Record one label and commit it at once.

        Parameters
        ----------
        item_id : str or int
            The object's id; stored as text.
        label : str
            Non-empty label.
        who, round, context, note : optional
            Labeller (default: the store's ``who``), active-learning round, context, note.

        Returns
        -------
        int
            The new row's id.
        """
        if item_id is None or str(item_id) == "":
            raise ValueError(f"item_id must be a non-empty id, got {item_id!r}.")
        if not isinstance(label, str) or not label:
            raise ValueError(f"label must be a non-empty string, got {label!r}.")
        row = (
            str(item_id),
            label,
            who or self.who,
            datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            None if round is None else int(round),
            context,
            note,
        )
        with self._lock:
            cur = self._con.execute(
                "INSERT INTO labels (item_id, label, who, created, round, context, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            self._con.commit()
        return int(cur.lastrowid)

    def add_many(self, items, labels, *, who=None, round=None, context=None) -> int:
        """Record many labels in one transaction (e.g. an oracle's answers); returns the count."""
        items, labels = list(items), list(labels)
        if len(items) != len(labels):
            raise ValueError(f"{len(items)} item ids but {len(labels)} labels.")
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        rows = [
            (str(i), str(lab), who or self.who, now, None if round is None else int(round),
             context, None)
            for i, lab in zip(items, labels)
        ]
        with self._lock:
            self._con.executemany(
                "INSERT INTO labels (item_id, label, who, created, round, context, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._con.commit()
        return len(rows)

    def undo(self, *, context=None, who=None, row_id=None) -> dict | None:
        """Mark the most recent active label (optionally of one context / person) as undone.

        With ``row_id`` that exact row is undone (if still active). The row is kept
        (``active = 0``); returns it as a dict, or ``None`` when nothing is left.
        """
        query = "SELECT * FROM labels WHERE active = 1"
        args: list = []
        if row_id is not None:
            query += " AND id = ?"
            args.append(int(row_id))
        if context is not None:
            query += " AND context = ?"
            args.append(context)
        if who is not None:
            query += " AND who = ?"
            args.append(who)
        query += " ORDER BY id DESC LIMIT 1"
        with self._lock:
            row = self._con.execute(query, args).fetchone()
            if row is None:
                return None
            self._con.execute("UPDATE labels SET active = 0 WHERE id = ?", (row[0],))
            self._con.commit()
        out = dict(zip(_COLUMNS, row))
        out["active"] = 0
        return out

    # ------------------------------------------------------------------ reading
    def latest(self, context=None) -> dict:
        """Most recent active label per item (optionally within one context)."""
        query = "SELECT item_id, label FROM labels WHERE active = 1"
        args: list = []
        if context is not None:
            query += " AND context = ?"
            args.append(context)
        query += " ORDER BY id"
        with self._lock:
            rows = self._con.execute(query, args).fetchall()
        return {item: label for item, label in rows}  # later rows win

    def labelled_ids(self, context=None) -> set:
        """Ids that hold an active label (optionally within one context)."""
        return set(self.latest(context))

    def to_frame(self, include_undone: bool = False, context=None) -> pd.DataFrame:
        """All label events as a DataFrame (columns: id, item_id, label, who, created, round,
        context, note, active), oldest first."""
        query = "SELECT * FROM labels"
        clauses, args = [], []
        if not include_undone:
            clauses.append("active = 1")
        if context is not None:
            clauses.append("context = ?")
            args.append(context)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY id"
        with self._lock:
            rows = self._con.execute(query, args).fetchall()
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
        frame["round"] = frame["round"].astype("Int64")
        return frame

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM labels WHERE active = 1").fetchone()[0])

    def __repr__(self) -> str:
        return f"LabelStore({self.path!r}, {len(self)} active labels)"

    def close(self) -> None:
        """Close the connection (every label is already committed)."""
        with self._lock:
            self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
