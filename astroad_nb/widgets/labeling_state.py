"""State and rules of the real/bogus labelling panel, with no widgets: tested like any class.

:class:`LabelingSession` walks a person through K triplets (usually the K the model finds
hardest, hardest first): label the current one *real* or *bogus*, skip it, or undo the last
action. Every label is committed to a :class:`~astroad_nb.store.LabelStore` the moment it is
given, so a crashed or restarted kernel loses nothing: a new session on the same store, round
and context resumes at the first item without a label.
:class:`astroad_nb.widgets.LabelingPanel` only displays it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astroad_nb.data.labels import REALBOGUS_TEXT, parse_realbogus_label
from astroad_nb.store import LabelStore

__all__ = ["GridPage", "LabelingSession"]

_VALUES = {name: value for value, name in REALBOGUS_TEXT.items()}  # "real" -> 1, "bogus" -> 0


def _as_choice(choice) -> str:
    """``"real"`` / ``"bogus"`` from a label name or a 1 / 0 class (the package's parser)."""
    return REALBOGUS_TEXT[parse_realbogus_label(choice)]


class LabelingSession:
    """K items to label real / bogus, one at a time, each label committed at once.

    Parameters
    ----------
    ids : sequence of str, shape (K,)
        Item ids in the order to label them (usually hardest first). Must be unique.
    p_real : array_like of float, shape (K,), optional
        The model's probability that each item is real (NaN / omitted: unknown); written in each
        label's note as ``p_real=0.4871``.
    store : LabelStore
        Where labels go. Labels it already holds for these ids, this ``round`` and this
        ``context`` (from any labeller) are taken as given: the session resumes after them.
    round : int or None, default=0
        Active-learning round written with each label.
    context : str, default="realbogus"
        Context written with each label.
    who : str, optional
        Labeller (default: the store's ``who``).
    metadata : pandas.DataFrame, optional
        One row per item, same order as ``ids`` (e.g. ``CutoutSet.table``): what
        :meth:`metadata_of` returns.

    Attributes
    ----------
    ids : list of str
    p_real : ndarray of float, shape (K,)
    store, round, context, who, metadata
        As given.

    Notes
    -----
    *Skip* is a decision of this session only: it is not written to the store (a skipped item
    has no label, so after a restart the session offers it again). ``undo`` takes back the last
    label or skip, including labels given before a restart; an undone label's row stays in the
    store, marked inactive.

    Examples
    --------
    >>> store = LabelStore(":memory:", who="ana")
    >>> session = LabelingSession(["a", "b", "c"], [0.48, 0.51, 0.55], store=store)
    >>> session.label("bogus"); session.skip(); session.label("real")
    1
    2
    >>> session.done, session.answers()
    (True, {'a': 0, 'c': 1})
    >>> session.undo()["item_id"], session.current
    ('c', 'c')
    """

    LABELS = ("real", "bogus")

    def __init__(self, ids, p_real=None, *, store, round=0, context="realbogus", who=None,
                 metadata=None):
        self.ids = [str(i) for i in ids]
        if len(set(self.ids)) != len(self.ids):
            dup = pd.Index(self.ids)[pd.Index(self.ids).duplicated()][:3].tolist()
            raise ValueError(f"ids must be unique; duplicated: {dup}.")
        n = len(self.ids)
        self.p_real = (np.full(n, np.nan) if p_real is None
                       else np.asarray(p_real, dtype=float).reshape(-1))
        if len(self.p_real) != n:
            raise ValueError(f"{n} ids but {len(self.p_real)} p_real values.")
        if not isinstance(store, LabelStore):
            raise TypeError(f"store must be an astroad_nb.store.LabelStore, got "
                            f"{type(store).__name__}; use LabelStore(path) (or ':memory:').")
        if metadata is not None and len(metadata) != n:
            raise ValueError(f"{n} ids but {len(metadata)} metadata rows.")
        self.store = store
        self.round = None if round is None else int(round)
        self.context = context
        self.who = who or store.who
        self.metadata = None if metadata is None else pd.DataFrame(metadata).reset_index(drop=True)
        self._index = {item: k for k, item in enumerate(self.ids)}
        self._labels: dict[str, str] = {}
        self._skipped: set[str] = set()
        self._history: list[dict] = []  # label / skip actions, oldest first, for undo
        self._resume()
        self._cursor = self._next_open(0)

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"LabelingSession({len(self)} items, {len(self._labels)} labelled, "
                f"{len(self._skipped)} skipped, round={self.round}, context={self.context!r})")

    @property
    def index(self) -> int:
        """0-based position of the current item; ``K`` once every item is decided."""
        return self._cursor

    @property
    def position(self) -> int:
        """1-based number of the current item ("item k of K"); ``K + 1`` once done."""
        return self._cursor + 1

    @property
    def current(self) -> str | None:
        """Id of the item to label now, or ``None`` once done."""
        return None if self.done else self.ids[self._cursor]

    @property
    def current_p_real(self) -> float:
        """The model's p(real) of the current item (NaN when unknown or done)."""
        return np.nan if self.done else float(self.p_real[self._cursor])

    @property
    def done(self) -> bool:
        """Every item is labelled or skipped."""
        return self._cursor >= len(self.ids)

    @property
    def n_labelled(self) -> int:
        return len(self._labels)

    @property
    def n_skipped(self) -> int:
        return len(self._skipped)

    @property
    def n_decided(self) -> int:
        """Items labelled or skipped."""
        return len(self._labels) + len(self._skipped)

    @property
    def can_undo(self) -> bool:
        """There is a label or skip to take back."""
        return bool(self._history)

    @property
    def labels(self) -> dict[str, str]:
        """``{id: "real" | "bogus"}`` for every labelled item, in item order."""
        return {item: self._labels[item] for item in self.ids if item in self._labels}

    def answers(self) -> dict[str, int]:
        """``{id: 1 (real) | 0 (bogus)}`` for every labelled item, in item order; skips excluded."""
        return {item: _VALUES[label] for item, label in self.labels.items()}

    def status(self, item_id) -> str | None:
        """``"real"``, ``"bogus"``, ``"skipped"`` or ``None`` (not yet decided)."""
        item_id = self._check_id(item_id)
        return self._labels.get(item_id, "skipped" if item_id in self._skipped else None)

    def index_of(self, item_id) -> int:
        """0-based position of an item in the session's order."""
        return self._index[self._check_id(item_id)]

    def p_real_of(self, item_id) -> float:
        return float(self.p_real[self._index[self._check_id(item_id)]])

    def metadata_of(self, item_id) -> dict:
        """The item's metadata row as a dict (empty without metadata)."""
        if self.metadata is None:
            return {}
        return self.metadata.iloc[self._index[self._check_id(item_id)]].to_dict()

    def page(self, size=16) -> list[str]:
        """The next ``size`` undecided items from the current one on (grid mode's page)."""
        out = []
        for item in self.ids[self._cursor:]:
            if len(out) >= size:
                break
            if self.status(item) is None:
                out.append(item)
        return out

    # ------------------------------------------------------------------ actions
    def label(self, choice) -> int:
        """Label the current item ``"real"`` or ``"bogus"`` (or 1 / 0), commit it, move on.

        Returns
        -------
        int
            The store row id of the new label.

        Raises
        ------
        ValueError
            For any other label.
        RuntimeError
            When every item is already decided.
        """
        choice = _as_choice(choice)
        item = self._require_current()
        p = self.p_real[self._cursor]
        row_id = self.store.add(item, choice, who=self.who, round=self.round,
                                context=self.context,
                                note=f"p_real={p:.4f}" if np.isfinite(p) else "p_real=nan")
        self._labels[item] = choice
        self._history.append({"action": "label", "item_id": item, "label": choice,
                              "row_id": row_id, "who": self.who})
        self._cursor = self._next_open(self._cursor + 1)
        return row_id

    def skip(self) -> None:
        """Pass over the current item without a label (nothing is written to the store)."""
        item = self._require_current()
        self._skipped.add(item)
        self._history.append({"action": "skip", "item_id": item})
        self._cursor = self._next_open(self._cursor + 1)

    def undo(self) -> dict | None:
        """Take back the last label or skip and make its item current again.

        An undone label's store row is marked inactive, never deleted.

        Returns
        -------
        dict or None
            The undone action (``action``, ``item_id`` and, for a label, ``label``, ``row_id``,
            ``who``), or ``None`` when there is nothing to undo.

        Raises
        ------
        RuntimeError
            When the store's latest label of this context and labeller is not this session's
            (another panel labelled since): undo it there first.
        """
        if not self._history:
            return None
        last = self._history[-1]
        if last["action"] == "label":
            self._undo_row(last)
            del self._labels[last["item_id"]]
        else:
            self._skipped.discard(last["item_id"])
        self._history.pop()
        self._cursor = self._index[last["item_id"]]
        return dict(last)

    def label_page(self, choices) -> int:
        """Apply a grid page: ``{id: "real" | "bogus" | None}``; ``None`` skips the item.

        Items are decided in session order, one action each (so :meth:`undo` takes them back
        one by one). Every id must be on the current :meth:`page`.

        Returns
        -------
        int
            Number of labels written.
        """
        choices = {str(k): (None if v is None else _as_choice(v)) for k, v in choices.items()}
        open_items = set(self.page(len(self.ids)))
        stray = [item for item in choices if item not in open_items]
        if stray:
            raise ValueError(f"items {stray[:3]} are not waiting for a label in this session.")
        n = 0
        while not self.done and choices:
            choice = choices.pop(self.current, "absent")
            if choice == "absent":
                break  # the page ended before the current item
            if choice is None:
                self.skip()
            else:
                self.label(choice)
                n += 1
        if choices:
            raise ValueError(f"items {list(choices)[:3]} are not consecutive with the current "
                             "item; label a page from session.page().")
        return n

    # ------------------------------------------------------------------ internals
    def _resume(self) -> None:
        """Take labels already in the store for these ids, this round and context."""
        frame = self.store.to_frame(context=self.context)
        if frame.empty:
            return
        in_round = (frame["round"].isna() if self.round is None
                    else frame["round"].eq(self.round).fillna(False))
        frame = frame[in_round.to_numpy(bool) & frame["item_id"].isin(self._index)
                      & frame["label"].isin(list(_VALUES))]
        for row in frame.itertuples(index=False):  # oldest first: later labels win
            if row.item_id in self._labels:  # relabelled: the newer row is the one to undo
                self._history = [h for h in self._history if h["item_id"] != row.item_id]
            self._labels[row.item_id] = row.label
            self._history.append({"action": "label", "item_id": row.item_id, "label": row.label,
                                  "row_id": int(row.id), "who": row.who})

    def _undo_row(self, last) -> None:
        latest = self.store.to_frame(context=self.context)
        latest = latest[latest["who"] == last["who"]]
        if latest.empty or int(latest["id"].iloc[-1]) != last["row_id"]:
            raise RuntimeError(
                f"cannot undo the label of {last['item_id']!r}: the store's latest "
                f"{self.context!r} label by {last['who']!r} is another one (another panel "
                "labelled since); undo it there first.")
        self.store.undo(context=self.context, who=last["who"])

    def _next_open(self, start) -> int:
        """First index >= start whose item is neither labelled nor skipped (K if none)."""
        for k in range(start, len(self.ids)):
            item = self.ids[k]
            if item not in self._labels and item not in self._skipped:
                return k
        return len(self.ids)

    def _require_current(self) -> str:
        if self.done:
            raise RuntimeError(f"all {len(self.ids)} items are decided; undo() to change one.")
        return self.ids[self._cursor]

    def _check_id(self, item_id) -> str:
        item_id = str(item_id)
        if item_id not in self._index:
            raise KeyError(f"{item_id!r} is not an item of this session.")
        return item_id


class GridPage:
    """One page of grid-mode labelling: pending choices for the next ``size`` undecided items.

    Nothing is written until :meth:`submit`: a click cycles an item through undecided -> real
    -> bogus -> undecided, :meth:`fill` sets every undecided item at once (e.g. "the rest are
    bogus"), and :meth:`submit` hands the page to :meth:`LabelingSession.label_page` (undecided
    items are skipped) and loads the next page.

    Parameters
    ----------
    session : LabelingSession
    size : int, default=16
        Items per page (4 x 4).

    Examples
    --------
    >>> session = LabelingSession(list("abcde"), store=LabelStore(":memory:"))
    >>> grid = GridPage(session, size=3)
    >>> grid.ids, grid.toggle("b"), grid.fill("bogus"), grid.choices
    (['a', 'b', 'c'], 'real', 2, {'a': 'bogus', 'b': 'real', 'c': 'bogus'})
    >>> grid.submit(), session.answers(), grid.ids
    (3, {'a': 0, 'b': 1, 'c': 0}, ['d', 'e'])
    """

    CYCLE = (None, "real", "bogus")

    def __init__(self, session, size=16):
        if int(size) < 1:
            raise ValueError(f"size must be a positive number of items, got {size!r}.")
        self.session = session
        self.size = int(size)
        self.reload()

    def reload(self) -> None:
        """Show the session's next undecided items, all undecided (pending choices dropped)."""
        self.ids = self.session.page(self.size)
        self.choices: dict[str, str | None] = dict.fromkeys(self.ids)

    def toggle(self, item_id) -> str | None:
        """Cycle one item's pending choice; returns the new one (``None`` = undecided)."""
        item_id = str(item_id)
        if item_id not in self.choices:
            raise KeyError(f"{item_id!r} is not on this page ({self.ids[:3]}...).")
        now = self.CYCLE.index(self.choices[item_id])
        self.choices[item_id] = self.CYCLE[(now + 1) % len(self.CYCLE)]
        return self.choices[item_id]

    def set(self, item_id, choice) -> None:
        """Set one item's pending choice (``"real"``, ``"bogus"``, 1, 0 or ``None``)."""
        item_id = str(item_id)
        if item_id not in self.choices:
            raise KeyError(f"{item_id!r} is not on this page ({self.ids[:3]}...).")
        self.choices[item_id] = None if choice is None else _as_choice(choice)

    def fill(self, choice) -> int:
        """Give every undecided item on the page ``choice``; returns how many changed."""
        choice = _as_choice(choice)
        empty = [item for item, value in self.choices.items() if value is None]
        for item in empty:
            self.choices[item] = choice
        return len(empty)

    def submit(self) -> int:
        """Write the page (undecided items are skipped), load the next; returns labels written."""
        n = self.session.label_page(self.choices)
        self.reload()
        return n
