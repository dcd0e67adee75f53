"""State and rules of the context timeline panel, with no widgets: tested like any class.

:class:`ContextTimelineState` holds a stream of machine-sound files in stream order, one row
each: the file's anomaly score, the context its own frames voted for, the context the voting
window settled on (the one the detector was scored with) and the window's confidence, the true
context and label when known. It walks the stream (next, previous, next above the threshold,
select by id), serves each file's log-mel image, per-frame reconstruction errors and WAV bytes
(read, rendered or scored lazily, a few files cached), and writes every flag a person gives to
a :class:`~astroad_nb.store.LabelStore` the moment it is given.
:class:`astroad_nb.widgets.ContextTimeline` only displays it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import pandas as pd

from astroad_nb.store import LabelStore

__all__ = ["TIMELINE_COLUMNS", "ContextTimelineState"]

#: Columns of the per-file table, in order. ``file_id``, ``window_context`` and
#: ``anomaly_score`` are required; the others are filled when missing (contexts -1 = unknown,
#: ``vote_confidence`` NaN, ``label`` -1 = unknown, ``wav_path`` "").
TIMELINE_COLUMNS = ("file_id", "machine_type", "machine_id", "snr_db", "true_context",
                    "file_context", "window_context", "vote_confidence", "anomaly_score",
                    "label", "wav_path")
_REQUIRED = ("file_id", "window_context", "anomaly_score")
_CONTEXT_COLUMNS = ("true_context", "file_context", "window_context")
_SCORE_CONTEXTS = ("window", "file", "true")
#: Default threshold: this quantile of the finite scores (the package's contamination 0.1).
DEFAULT_QUANTILE = 0.9


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def _context_codes(table, contexts, where):
    """Context names and one int code per row (-1 unknown) for each context column.

    Numeric columns are indices into ``contexts`` (default ``"context k"``); text columns are
    names (``contexts`` default: their sorted union).
    """
    columns = {c: table[c].tolist() for c in _CONTEXT_COLUMNS}
    known = [v for values in columns.values() for v in values if not _is_missing(v)]
    text = [v for v in known if isinstance(v, str)]
    if text and len(text) != len(known):
        raise ValueError(f"{where}: the context columns {_CONTEXT_COLUMNS} mix names and "
                         "indices; use one or the other.")
    if text:
        names = (tuple(str(c) for c in contexts) if contexts is not None
                 else tuple(sorted(set(text))))
        lookup = {n: k for k, n in enumerate(names)}
        unknown = sorted(set(text) - set(lookup))
        if unknown:
            raise ValueError(f"{where}: contexts {unknown[:3]} are not among contexts= "
                             f"{list(names)[:6]}...")
        codes = {c: np.array([-1 if _is_missing(v) else lookup[v] for v in values], np.int64)
                 for c, values in columns.items()}
        return names, codes
    codes = {}
    for c, values in columns.items():
        raw = np.array([np.nan if _is_missing(v) else float(v) for v in values], float)
        if np.any(np.isfinite(raw) & (raw != np.round(raw))):
            raise ValueError(f"{where}: column {c!r} must hold context indices or names, got "
                             f"non-integer values such as {raw[raw != np.round(raw)][:3]}.")
        codes[c] = np.where(np.isfinite(raw) & (raw >= 0), raw, -1).astype(np.int64)
    top = max((int(v.max()) for v in codes.values() if v.size), default=-1)
    if contexts is not None:
        names = tuple(str(c) for c in contexts)
        if top >= len(names):
            raise ValueError(f"{where}: context index {top} is outside the {len(names)} names "
                             "of contexts=.")
    else:
        names = tuple(f"context {k}" for k in range(top + 1))
    return names, codes


def _normalise_table(table, where):
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{where}: table must be a pandas.DataFrame with columns "
                        f"{list(TIMELINE_COLUMNS)}, got {type(table).__name__}.")
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: table lacks the columns {missing}; it needs "
                         f"{list(_REQUIRED)} (and optionally the rest of "
                         f"{list(TIMELINE_COLUMNS)}), got {list(table.columns)}.")
    t = table.reset_index(drop=True).copy()
    n = len(t)
    fill = {"machine_type": [""] * n, "machine_id": np.full(n, -1), "snr_db": np.full(n, np.nan),
            "true_context": np.full(n, -1), "file_context": np.full(n, -1),
            "vote_confidence": np.full(n, np.nan), "label": np.full(n, -1),
            "wav_path": [""] * n}
    for name, value in fill.items():
        if name not in t:
            t[name] = value
    t["file_id"] = t["file_id"].astype(str)
    if t["file_id"].duplicated().any():
        dup = t.loc[t["file_id"].duplicated(), "file_id"].head(3).tolist()
        raise ValueError(f"{where}: file ids must be unique; duplicated: {dup}.")
    try:
        t["anomaly_score"] = pd.to_numeric(t["anomaly_score"]).astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: column 'anomaly_score' must be numeric ({exc}).") from exc
    t["vote_confidence"] = pd.to_numeric(t["vote_confidence"]).astype(float)
    t["snr_db"] = pd.to_numeric(t["snr_db"]).astype(float)
    t["label"] = pd.to_numeric(t["label"]).fillna(-1).astype(np.int64)
    t["wav_path"] = ["" if _is_missing(p) else str(p) for p in t["wav_path"]]
    t["machine_type"] = ["" if _is_missing(m) else str(m) for m in t["machine_type"]]
    rest = [c for c in t.columns if c not in TIMELINE_COLUMNS]
    return t[list(TIMELINE_COLUMNS) + rest]


class ContextTimelineState:
    """A stream of scored machine-sound files, their contexts, the window's vote, flags.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per file, **in stream order** (the order the voting window saw them), columns
        :data:`TIMELINE_COLUMNS`: ``file_id`` (unique), ``machine_type``, ``machine_id``,
        ``snr_db`` (dB), ``true_context``, ``file_context`` (majority of the file's frames),
        ``window_context`` (the windowed vote: the context the detector used),
        ``vote_confidence`` (the winner's share of the window's weight, in [0, 1]),
        ``anomaly_score`` (higher = more anomalous; the seed's mean frame MSE),
        ``label`` (0 normal, 1 abnormal, -1 unknown), ``wav_path`` (may be empty). Contexts
        are indices into ``contexts`` (-1 / NaN unknown) or names. Only ``file_id``,
        ``window_context`` and ``anomaly_score`` are required.
    sounds : SoundSet, mapping or callable, optional
        Where a file's samples come from: a :class:`~astroad_nb.data.sounds.SoundSet` whose
        ``table["id"]`` holds the file ids (simulated clips are rendered on demand), a mapping
        ``file_id -> (T,) array``, or a callable ``file_id -> (T,) array`` (or ``(array,
        sample_rate)``). Files it does not know are read from ``wav_path`` (channel 0).
    model : fitted detector, optional
        For the per-frame errors, e.g. a :class:`~astroad_nb.models.FiLMAutoEncoder`: a
        frame's error is ``model.anomaly_score(frames, context=c) / n_features`` (the seed's
        frame MSE; ``c`` the file's ``score_context``), or ``anomaly_score(frames) /
        n_features`` for a model fitted on one context.
    frames : SoundFrames or mapping, optional
        Stacked log-mel vectors (dB): a :class:`~astroad_nb.features.sounds.SoundFrames` with
        one clip per table row (in table order), or a mapping ``file_id -> (n, D) array``.
        Default: computed from the samples when asked for.
    store : LabelStore, optional
        Where flags are committed, each at once. Without one they live in an in-memory store
        and are lost with the kernel: pass ``LabelStore(path)`` to keep them. Flags already in
        the store for these files and this ``context`` are shown (a restarted panel resumes).
    threshold : float, optional
        Score above which a file is called anomalous; default the 0.9 quantile of the finite
        scores.
    contexts : sequence of str, optional
        Context names the numeric context columns index (default: ``sounds.contexts`` of a
        SoundSet, else ``"context 0"``, ``"context 1"``, ...).
    context : str, default="sounds"
        LabelStore context written with each flag; flags of other contexts are not shown.
    who : str, optional
        Labeller written with each flag (default: the store's ``who``).
    sample_rate : int, default=16000
        Hz of samples from a mapping / callable that gives bare arrays.
    score_context : {"window", "file", "true"}, default="window"
        The context a conditioned ``model`` scores a file's frames with: the window's vote
        (what the stream used), the file's own majority, or the true one.
    frame_errors : mapping, optional
        ``file_id -> (n,) frame errors`` already computed (:meth:`from_fit` passes them).
    cache_size : int, default=32
        Files whose log-mel image, frame errors and WAV bytes are kept (least recently used
        dropped first).

    Attributes
    ----------
    table : pandas.DataFrame
        N rows, :data:`TIMELINE_COLUMNS` first.
    ids : list of str
    scores : ndarray of float, shape (N,)
    context_names : tuple of str
    window_context, file_context, true_context : ndarray of int64, shape (N,)
        Codes into ``context_names``; -1 = unknown.
    confidence : ndarray of float, shape (N,)
    truth : ndarray of int64, shape (N,)
        0 normal, 1 abnormal, -1 unknown.
    threshold : float
    position : int
        0-based stream position of the current file.

    Examples
    --------
    >>> table = pd.DataFrame({"file_id": ["a", "b", "c"], "window_context": [0, 0, 1],
    ...                       "anomaly_score": [0.1, 0.9, 0.2]})
    >>> state = ContextTimelineState(table, threshold=0.5)
    >>> state.current, state.above.tolist()
    ('a', [False, True, False])
    >>> state.next_above(); state.current
    True
    'b'
    >>> state.flag("anomalous")
    1
    >>> state.labels
    {'b': 'anomalous'}
    """

    LABELS = ("anomalous", "normal", "skip")

    def __init__(self, table, *, sounds=None, model=None, frames=None, store=None,
                 threshold=None, contexts=None, context="sounds", who=None, sample_rate=16000,
                 score_context="window", frame_errors=None, cache_size=32):
        where = type(self).__name__
        self.table = _normalise_table(table, where)
        self.ids = self.table["file_id"].tolist()
        n = len(self.ids)
        if contexts is None and hasattr(sounds, "contexts") and hasattr(sounds, "table"):
            contexts = sounds.contexts
        self.context_names, codes = _context_codes(self.table, contexts, where)
        self.window_context = codes["window_context"]
        self.file_context = codes["file_context"]
        self.true_context = codes["true_context"]
        self.scores = self.table["anomaly_score"].to_numpy(float)
        self.confidence = self.table["vote_confidence"].to_numpy(float)
        self.truth = self.table["label"].to_numpy(np.int64)
        if score_context not in _SCORE_CONTEXTS:
            raise ValueError(f"{where}: score_context must be one of {_SCORE_CONTEXTS}, got "
                             f"{score_context!r}.")
        self.score_context = score_context
        if model is not None and not callable(getattr(model, "anomaly_score", None)):
            raise TypeError(f"{where}: model must have anomaly_score(X), got "
                            f"{type(model).__name__}.")
        self.model, self.sounds, self.sample_rate = model, sounds, int(sample_rate)
        self._sound_rows = None
        if hasattr(sounds, "table") and hasattr(sounds, "clips"):
            self._sound_rows = {str(i): k for k, i in enumerate(sounds.table["id"])}
        elif sounds is not None and not (isinstance(sounds, Mapping) or callable(sounds)):
            raise TypeError(f"{where}: sounds must be a SoundSet, a mapping file_id -> samples "
                            f"or a callable, got {type(sounds).__name__}.")
        self.frames = frames
        if frames is not None and not isinstance(frames, Mapping):
            counts = getattr(frames, "counts", None)
            if counts is None or len(counts) != n:
                raise ValueError(f"{where}: frames must be a SoundFrames with one clip per "
                                 f"table row ({n}) or a mapping file_id -> (n, D) array, got "
                                 f"{type(frames).__name__} with "
                                 f"{None if counts is None else len(counts)} clips.")
        self._frame_errors = dict(frame_errors or {})
        if not isinstance(store, (LabelStore, type(None))):
            raise TypeError(f"{where}: store must be an astroad_nb.store.LabelStore, got "
                            f"{type(store).__name__}; use LabelStore(path) (or ':memory:').")
        self.store = store if store is not None else LabelStore(":memory:", who=who)
        self.context = context
        self.who = who or self.store.who
        if int(cache_size) < 1:
            raise ValueError(f"{where}: cache_size must be positive, got {cache_size!r}.")
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()  # (kind, row) -> computed detail
        self._row_of = {item: k for k, item in enumerate(self.ids)}
        self.threshold = np.nan
        self.set_threshold(threshold)
        self.position = 0

    # ------------------------------------------------------------------ constructor from a fit
    @classmethod
    def from_fit(cls, sounds, model, stream, *, predictor=None, frames=None, batch_size=8,
                 device="cpu", **kwargs):
        """Compute the per-file table from a SoundSet, a fitted detector and a ContextStream.

        The frames are predicted (``predictor``, one batched pass), the stream assigns each
        file its context (:meth:`~astroad_nb.models.ContextStream.predict`), the detector
        scores every frame with its file's assigned context, and a file's score is the mean
        frame MSE (the seed's). Files keep the SoundSet's order (the stream order).

        Parameters
        ----------
        sounds : SoundSet
            The test stream, in order.
        model : fitted FiLMAutoEncoder, PerContextDetector or single-context detector
            ``anomaly_score(X, context=c)`` (or ``anomaly_score(X)`` when fitted on one
            context).
        stream : ContextStream
            The voting rule; ``mode="oracle"`` needs no ``predictor`` (true contexts).
        predictor : fitted ContextPredictor, optional
            Frame context classifier; required unless ``stream.mode == "oracle"``.
        frames : SoundFrames, optional
            ``sound_frames(sounds)`` when already computed (one clip per row of ``sounds``).
        batch_size : int, default=8
            Clips per log-mel pass when ``frames`` is computed here.
        device : str, default="cpu"
            Log-mel device.
        **kwargs
            Passed to the constructor (``store``, ``threshold``, ``context``, ``who``...).

        Returns
        -------
        ContextTimelineState
        """
        from astroad_nb.features.sounds import sound_frames

        if not (hasattr(sounds, "table") and hasattr(sounds, "iter_batches")):
            raise TypeError(f"from_fit: sounds must be a SoundSet, got {type(sounds).__name__}.")
        if predictor is None and getattr(stream, "mode", None) != "oracle":
            raise ValueError("from_fit: pass predictor= (a fitted ContextPredictor) unless "
                             "stream.mode == 'oracle'.")
        if frames is None:
            frames = sound_frames(sounds, batch_size=batch_size, device=device)
        n = len(sounds)
        if len(frames.counts) != n:
            raise ValueError(f"from_fit: frames hold {len(frames.counts)} clips, sounds {n}.")
        files = frames.clip_index
        t = sounds.table
        truth = sounds.context_index
        true_frames = truth[files] if n and truth.min() >= 0 else None
        machine = (t["machine_type"].astype(str) + "_" + t["machine_id"].astype(str)).to_numpy()
        machines = machine[files]
        X = frames.frames
        if predictor is None:
            assigned = stream.assign(None, files, true_context=true_frames, machines=machines)
        else:
            assigned = stream.predict(predictor, X, files, true_context=true_frames,
                                      machines=machines)
        errors = _frame_errors(model, X, assigned.frame_context)
        per_file = frames.per_clip(errors)
        offsets = frames.offsets
        ids = t["id"].astype(str).tolist()
        table = pd.DataFrame({
            "file_id": ids, "machine_type": t["machine_type"].to_numpy(),
            "machine_id": t["machine_id"].to_numpy(), "snr_db": t["snr_db"].to_numpy(),
            "true_context": truth, "file_context": assigned.file_context,
            "window_context": assigned.context, "vote_confidence": assigned.confidence,
            "anomaly_score": per_file, "label": t["label"].to_numpy(),
            "wav_path": ["" if _is_missing(p) else str(p) for p in t["path"]]})
        kwargs.setdefault("contexts", sounds.contexts)
        kwargs.setdefault("score_context", "window")
        frame_errors = {i: errors[offsets[k]:offsets[k + 1]] for k, i in enumerate(ids)}
        return cls(table, sounds=sounds, model=model, frames=frames,
                   frame_errors=frame_errors, **kwargs)

    @classmethod
    def from_run(cls, run, **kwargs):
        """The timeline of a :func:`astroad_nb.protocols.context.run` result.

        Parameters
        ----------
        run : Run
            Its ``objects["timeline"]`` (``table``, ``sounds``, ``frames``, ``model``,
            ``contexts``) when it has them; else (e.g. a run read back from JSON) its
            ``tables["timeline"]`` alone: then audio only where ``wav_path`` is set, and no
            frame errors unless ``model`` and ``sounds`` / ``frames`` are passed here.
        **kwargs
            Passed to the constructor; they override the run's objects (``store``,
            ``threshold``, ``context``, ``who``, ``sounds``, ``model``...).

        Returns
        -------
        ContextTimelineState
        """
        parts = (getattr(run, "objects", None) or {}).get("timeline")
        if isinstance(parts, Mapping) and parts.get("table") is not None:
            table = parts["table"]
            given = {k: parts[k] for k in ("sounds", "frames", "model", "contexts")
                     if parts.get(k) is not None}
        else:
            table, given = run.table("timeline"), {}
            contexts = (getattr(run, "config", None) or {}).get("contexts")
            if contexts:
                given["contexts"] = contexts
        return cls(table, **{**given, **kwargs})

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_files={len(self)}, "
                f"contexts={len(self.context_names)}, threshold={self.threshold:.4g}, "
                f"position={self.position}, flags={len(self.labels)}, "
                f"context={self.context!r})")

    @property
    def current(self) -> str | None:
        """Id of the current file (None for an empty table)."""
        return self.ids[self.position] if self.ids else None

    def context_name(self, code) -> str:
        """Name of a context code; ``"?"`` for -1 (unknown)."""
        code = int(code)
        return self.context_names[code] if 0 <= code < len(self.context_names) else "?"

    @property
    def has_truth(self) -> bool:
        """True when every file's true context is known."""
        return bool(len(self)) and bool(np.all(self.true_context >= 0))

    # ------------------------------------------------------------------ threshold
    def set_threshold(self, threshold=None) -> float:
        """Set the score threshold (None: the 0.9 quantile of the finite scores); returns it.

        Raises
        ------
        ValueError
            For a threshold that is not a finite number.
        """
        if threshold is None:
            finite = self.scores[np.isfinite(self.scores)]
            threshold = float(np.quantile(finite, DEFAULT_QUANTILE)) if finite.size else 0.0
        try:
            value = float(threshold)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"threshold must be a finite number, got {threshold!r}.") from exc
        if not np.isfinite(value):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
        self.threshold = value
        return value

    @property
    def above(self) -> np.ndarray:
        """Bool mask, shape (N,): score >= threshold (NaN scores are never above)."""
        with np.errstate(invalid="ignore"):
            return np.isfinite(self.scores) & (self.scores >= self.threshold)

    def summary(self) -> dict:
        """Counts for the panel's status line.

        Returns
        -------
        dict
            ``n_files``, ``n_above`` (score >= threshold), ``n_flagged``; with known labels
            ``n_abnormal`` and ``tp`` / ``fp`` / ``fn`` / ``tn`` of "above" against them
            (else None); with known true contexts ``file_accuracy`` and ``window_accuracy``,
            the fraction of files whose own / windowed context is the true one (else None).
        """
        from astroad_nb.evaluation import confusion_counts

        above = self.above
        out = {"n_files": len(self), "n_above": int(above.sum()), "n_flagged": len(self.labels),
               "n_abnormal": None, "tp": None, "fp": None, "fn": None, "tn": None,
               "file_accuracy": None, "window_accuracy": None}
        known = self.truth >= 0
        if known.any():
            out["n_abnormal"] = int((self.truth[known] == 1).sum())
            out.update(confusion_counts(self.truth[known], above[known].astype(int)))
        if self.has_truth:
            out["file_accuracy"] = float(np.mean(self.file_context == self.true_context))
            out["window_accuracy"] = float(np.mean(self.window_context == self.true_context))
        return out

    # ------------------------------------------------------------------ walking the stream
    def next(self, step=1) -> bool:
        """Move ``step`` files on in the stream; False at the end (nothing moves)."""
        return self._move(int(step))

    def previous(self, step=1) -> bool:
        """Move ``step`` files back; False at the first file."""
        return self._move(-int(step))

    def _move(self, step) -> bool:
        target = min(max(self.position + step, 0), max(len(self) - 1, 0))
        moved = target != self.position
        self.position = target
        return moved

    def next_above(self) -> bool:
        """Move to the next file at or above the threshold; False when there is none."""
        later = np.flatnonzero(self.above[self.position + 1:])
        if not later.size:
            return False
        self.position += 1 + int(later[0])
        return True

    def previous_above(self) -> bool:
        """Move to the previous file at or above the threshold; False when there is none."""
        earlier = np.flatnonzero(self.above[:self.position])
        if not earlier.size:
            return False
        self.position = int(earlier[-1])
        return True

    def jump(self, position) -> None:
        """Make the file at 0-based stream ``position`` current.

        Raises
        ------
        ValueError
            Outside ``0 ... len(self) - 1``.
        """
        position = int(position)
        if not 0 <= position < len(self):
            raise ValueError(f"position must lie in 0 ... {len(self) - 1}, got {position}.")
        self.position = position

    def select(self, file_id) -> None:
        """Make a file current by id.

        Raises
        ------
        KeyError
            For an unknown id.
        """
        self.position = self._row(file_id)

    def position_of(self, file_id) -> int:
        """0-based stream position of a file."""
        return self._row(file_id)

    def _row(self, file_id) -> int:
        if file_id is None:
            if not self.ids:
                raise RuntimeError("no current file: the table is empty.")
            return self.position
        row = self._row_of.get(str(file_id))
        if row is None:
            raise KeyError(f"{file_id!r} is not a file of this timeline (ids look like "
                           f"{self.ids[:2]}).")
        return row

    def info(self, file_id=None) -> dict:
        """One file's row for display: ``file_id``, ``position``, ``score``, ``above``,
        ``window`` / ``file`` / ``true`` (context names, ``"?"`` unknown), ``confidence``,
        ``label`` (0 / 1 / -1), ``flag`` (or None), ``machine_type``, ``machine_id``,
        ``snr_db``, ``wav_path``."""
        row = self._row(file_id)
        t = self.table.iloc[row]
        return {"file_id": self.ids[row], "position": row, "score": float(self.scores[row]),
                "above": bool(self.above[row]),
                "window": self.context_name(self.window_context[row]),
                "file": self.context_name(self.file_context[row]),
                "true": self.context_name(self.true_context[row]),
                "confidence": float(self.confidence[row]), "label": int(self.truth[row]),
                "flag": self.labels.get(self.ids[row]), "machine_type": t["machine_type"],
                "machine_id": int(t["machine_id"]), "snr_db": float(t["snr_db"]),
                "wav_path": t["wav_path"]}

    # ------------------------------------------------------------------ samples and frames
    def _cached(self, kind, row, compute):
        key = (kind, row)
        if key not in self._cache:
            self._cache[key] = compute(row)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def waveform(self, file_id=None):
        """A file's samples: ``(samples (T,) float32, sample_rate Hz)``, or None when no
        source knows it (no ``sounds`` entry and an empty ``wav_path``)."""
        return self._cached("wave", self._row(file_id), self._load_wave)

    def _load_wave(self, row):
        item = self.ids[row]
        sounds = self.sounds
        if self._sound_rows is not None and item in self._sound_rows:
            k = self._sound_rows[item]
            return (np.asarray(sounds.clips([k])[0], dtype=np.float32),
                    int(sounds.table["sample_rate"].iat[k]))
        got = None
        if isinstance(sounds, Mapping):
            got = sounds.get(item)
        elif callable(sounds) and self._sound_rows is None:
            got = sounds(item)
        if got is not None:
            samples, rate = got if isinstance(got, tuple) else (got, self.sample_rate)
            return np.asarray(samples, dtype=np.float32).reshape(-1), int(rate)
        path = self.table["wav_path"].iat[row]
        if path:
            from astroad_nb.data.sounds.wav import read_wav

            return read_wav(path, sample_rate=None, channel=0)
        return None

    def audio(self, file_id=None) -> bytes | None:
        """The file's samples as the bytes of a mono 16-bit WAV (for ``ipywidgets.Audio``),
        or None when the samples are unknown. Multichannel files give channel 0."""
        return self._cached("audio", self._row(file_id), self._audio)

    def _audio(self, row):
        from astroad_nb.data.sounds.wav import wav_bytes

        wave = self.waveform(self.ids[row])
        return None if wave is None else wav_bytes(wave[0], wave[1])

    def file_frames(self, file_id=None) -> np.ndarray | None:
        """The file's stacked log-mel vectors, shape (n_vectors, n_mels * n_frames), dB; from
        ``frames`` or computed from the samples (None when neither is known)."""
        return self._cached("frames", self._row(file_id), self._frames)

    def _frames(self, row):
        item = self.ids[row]
        if isinstance(self.frames, Mapping):
            if item in self.frames:
                return np.asarray(self.frames[item], dtype=np.float32)
        elif self.frames is not None:
            return self.frames.of_clip(row)
        wave = self.waveform(item)
        if wave is None:
            return None
        from astroad_nb.features.sounds import logmel_frames

        return logmel_frames(wave[0][None, :], sample_rate=wave[1])[0]

    def logmel(self, file_id=None) -> np.ndarray | None:
        """The file's log-mel spectrogram, shape (n_mels, n_times), dB (None when unknown).

        From the samples when they are known (64 mels, n_fft 1024, hop 512); else rebuilt from
        the stacked vectors (vector j holds mel frames j ... j + 4, 64 values each).
        """
        return self._cached("logmel", self._row(file_id), self._logmel)

    def _logmel(self, row):
        wave = self.waveform(self.ids[row])
        if wave is not None:
            from astroad_nb.features.sounds import log_mel_spectrogram

            return log_mel_spectrogram(wave[0], sample_rate=wave[1])
        vectors = self.file_frames(self.ids[row])
        if vectors is None or not len(vectors):
            return None
        from astroad_nb.features.sounds import N_MELS

        n_frames = vectors.shape[1] // N_MELS
        tail = vectors[-1].reshape(n_frames, N_MELS)[1:]
        return np.concatenate([vectors[:, :N_MELS], tail], axis=0).T

    def frame_errors(self, file_id=None) -> np.ndarray | None:
        """Per-vector reconstruction error of a file, shape (n_vectors,): the model's
        ``anomaly_score / n_features`` with the file's ``score_context`` (mean over the
        vectors = the file's score when the table came from the same model). None without
        a model (and no given errors), without frames, or when that context is unknown."""
        row = self._row(file_id)
        if self.ids[row] in self._frame_errors:
            return np.asarray(self._frame_errors[self.ids[row]], dtype=float)
        return self._cached("errors", row, self._errors)

    def _errors(self, row):
        if self.model is None:
            return None
        vectors = self.file_frames(self.ids[row])
        if vectors is None:
            return None
        code = {"window": self.window_context, "file": self.file_context,
                "true": self.true_context}[self.score_context][row]
        if code < 0 and _n_contexts(self.model) > 1:
            return None
        return _frame_errors(self.model, vectors, np.full(len(vectors), max(int(code), 0)))

    def frame_times(self, file_id=None, hop_length=512) -> np.ndarray | None:
        """Centre time (s) of each stacked vector of a file: vector j spans mel frames j ...
        j + 4, centred on frame j + 2 at ``(j + 2) * hop_length / sample_rate``."""
        vectors = self.file_frames(file_id)
        if vectors is None:
            return None
        wave = self.waveform(file_id)
        rate = wave[1] if wave is not None else self.sample_rate
        return (np.arange(len(vectors)) + 2.0) * hop_length / rate

    # ------------------------------------------------------------------ flags
    @property
    def labels(self) -> dict:
        """File id -> latest active flag in this context (from the store)."""
        latest = self.store.latest(self.context)
        return {k: v for k, v in latest.items() if k in self._row_of}

    def label_of(self, file_id=None) -> str | None:
        """The flag of a file (default: the current one), or None."""
        return self.labels.get(self.ids[self._row(file_id)])

    def flag(self, label, *, advance=False) -> int:
        """Flag the current file; the store commits it at once.

        Parameters
        ----------
        label : str
            One of :attr:`LABELS`.
        advance : bool, default=False
            Move to the next file of the stream afterwards.

        Returns
        -------
        int
            The store row id; its note holds the score and the contexts.

        Raises
        ------
        ValueError
            For a label not in :attr:`LABELS`.
        RuntimeError
            For an empty table.
        """
        if label not in self.LABELS:
            raise ValueError(f"label must be one of {self.LABELS}, got {label!r}.")
        row = self._row(None)
        note = (f"score={self.scores[row]:.6g}; window={self.context_name(self.window_context[row])}"
                f"; confidence={self.confidence[row]:.3g}; threshold={self.threshold:.6g}")
        row_id = self.store.add(self.ids[row], label, who=self.who, context=self.context,
                                note=note)
        if advance:
            self.next()
        return row_id

    def undo(self) -> dict | None:
        """Undo the latest flag of this context and labeller (kept in the store as inactive).

        Returns the undone row as a dict, or None when there is nothing to undo; the undone
        file becomes current when it is on this timeline.
        """
        row = self.store.undo(context=self.context, who=self.who)
        if row is not None and row["item_id"] in self._row_of:
            self.select(row["item_id"])
        return row


def _n_contexts(model) -> int:
    return int(getattr(model, "n_contexts_", 1) or 1)


def _frame_errors(model, X, context) -> np.ndarray:
    """Per-frame MSE, shape (n,): ``anomaly_score / n_features`` with the frames' contexts
    (a model fitted on one context is scored without them)."""
    X = np.asarray(X, dtype=np.float32)
    if _n_contexts(model) > 1:
        score = model.anomaly_score(X, context=np.asarray(context, dtype=np.int64))
    else:
        score = model.anomaly_score(X)
    return np.asarray(score, dtype=float) / X.shape[1]
