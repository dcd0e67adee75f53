"""The machine-sound container, :class:`SoundSet`: a table of clips and their waveforms.

See :mod:`astroad_nb.data.sounds` for the table's columns and the context numbering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astroad_nb.data.rows import row_positions
from astroad_nb.data.sounds.wav import read_wav

__all__ = ["REJECTED_COLUMNS", "TABLE_COLUMNS", "SoundFileLoader", "SoundSet"]

#: Columns every :attr:`SoundSet.table` starts with (other columns follow).
TABLE_COLUMNS: tuple[str, ...] = ("id", "path", "machine_type", "machine_id", "context",
                                  "context_name", "snr_db", "label", "set", "sample_rate",
                                  "n_samples")
#: Columns of :attr:`SoundSet.rejected`.
REJECTED_COLUMNS: tuple[str, ...] = ("path", "reason")


@dataclass(frozen=True)
class SoundFileLoader:
    """Reads the clips of table rows from their WAV files (see :func:`read_wav`).

    Parameters
    ----------
    channel : int or "mean", default=0
    resample : bool, default=False
        Resample files whose rate differs from the row's ``sample_rate``.
    backend : {"auto", "soundfile", "scipy"}, default="auto"
    """

    channel: int | str = 0
    resample: bool = False
    backend: str = "auto"

    def __call__(self, rows: pd.DataFrame) -> list[np.ndarray]:
        """Return one float32 array of shape ``(n_samples,)`` per row of ``rows``."""
        return [read_wav(p, sample_rate=int(sr), channel=self.channel, resample=self.resample,
                         backend=self.backend)[0]
                for p, sr in zip(rows["path"], rows["sample_rate"])]


@dataclass(eq=False)  # element-wise array equality has no single truth value
class SoundSet:
    """Machine-sound clips: a table (one row per clip) and the clips' samples.

    The samples are either held (``waveforms``, shape ``(N, T)``) or read on demand by
    ``loader`` (files are read from ``path``; simulated clips are re-rendered from their seed),
    so a table of thousands of 10 s clips costs almost no memory until :meth:`load` or
    :meth:`iter_batches` asks for some.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per clip. Missing columns among :data:`TABLE_COLUMNS` are filled: ``id`` =
        ``"0"``, ``"1"``, ...; ``path`` = ``None``; ``machine_type`` = ``"unknown"``;
        ``machine_id`` = -1; ``context`` = -1 (unknown; else an index into ``contexts``);
        ``context_name`` from ``contexts``; ``snr_db`` = NaN; ``label`` = -1 (0 normal,
        1 abnormal); ``set`` = ``"all"``; ``sample_rate`` = 16000 Hz; ``n_samples`` from
        ``waveforms``.
    contexts : sequence of str, optional
        Context names; ``table["context"]`` indexes them (``-1`` = none). Default: the sorted
        ``context_name`` values of the table.
    waveforms : ndarray, shape (N, T), optional
        Samples (float32, full scale 1) of every clip, when held in memory.
    loader : callable, optional
        ``loader(rows) -> list of (n_samples,) float32 arrays`` for clips not held in memory.
    rejected : pandas.DataFrame, optional
        Files a reader skipped: columns :data:`REJECTED_COLUMNS` (``path``, ``reason``).
    meta : dict, optional
        Provenance (root folder, simulator parameters, ...).

    Examples
    --------
    >>> s = SoundSet(pd.DataFrame({"context_name": ["fan_00", "pump_00"]}),
    ...              waveforms=np.zeros((2, 16000)))
    >>> s
    SoundSet(n=2, contexts=2, normal=0, abnormal=0, unlabelled=2, in memory, rejected=0)
    >>> s.load().shape, s.table["context"].tolist()
    ((2, 16000), [0, 1])
    """

    table: pd.DataFrame
    contexts: tuple[str, ...] | None = None
    waveforms: np.ndarray | None = None
    loader: Callable[[pd.DataFrame], list[np.ndarray]] | None = None
    rejected: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = pd.DataFrame(self.table).reset_index(drop=True)
        n = len(table)
        if self.waveforms is not None:
            w = np.asarray(self.waveforms, dtype=np.float32)
            if w.ndim != 2 or w.shape[0] != n:
                raise ValueError(f"SoundSet waveforms must have shape (N={n}, T), got "
                                 f"{w.shape}; stack equal-length clips with np.stack.")
            self.waveforms = w
        elif self.loader is None and n:
            raise ValueError("SoundSet needs waveforms= or a loader= to get its samples.")
        names = self._context_names(table)
        defaults = {"id": [str(i) for i in range(n)], "path": [None] * n,
                    "machine_type": ["unknown"] * n, "machine_id": np.full(n, -1),
                    "snr_db": np.full(n, np.nan), "label": np.full(n, -1),
                    "set": ["all"] * n, "sample_rate": np.full(n, 16000)}
        for name, value in defaults.items():
            if name not in table:
                table[name] = value
        if "context" not in table:
            lookup = {c: i for i, c in enumerate(names)}
            table["context"] = [lookup.get(c, -1) for c in table.get("context_name",
                                                                    [None] * n)]
        context = table["context"].to_numpy(dtype=np.int64)
        if n and (context.min() < -1 or context.max() >= len(names)):
            raise ValueError(f"SoundSet context indices must lie in [-1, {len(names)}) for "
                             f"{len(names)} contexts, got {context.min()}..{context.max()}")
        table["context"] = context
        table["context_name"] = [names[c] if c >= 0 else "" for c in context]
        if "n_samples" not in table:
            table["n_samples"] = (np.full(n, self.waveforms.shape[1])
                                  if self.waveforms is not None else np.full(n, -1))
        table["id"] = table["id"].astype(str)
        for col in ("machine_id", "label", "sample_rate", "n_samples"):
            table[col] = table[col].astype(np.int64)
        table["snr_db"] = table["snr_db"].astype(np.float64)
        rest = [c for c in table.columns if c not in TABLE_COLUMNS]
        self.table = table[list(TABLE_COLUMNS) + rest]
        self.contexts = names
        self.rejected = (pd.DataFrame(columns=list(REJECTED_COLUMNS)) if self.rejected is None
                         else pd.DataFrame(self.rejected).reset_index(drop=True))
        self.meta = dict(self.meta)

    def _context_names(self, table) -> tuple[str, ...]:
        if self.contexts is not None:
            return tuple(str(c) for c in self.contexts)
        if "context" in table and len(table) and table["context"].max() >= 0:
            raise ValueError("SoundSet table has a 'context' column: pass contexts= (the "
                             "names its indices refer to).")
        found = table["context_name"] if "context_name" in table else []
        return tuple(sorted({str(c) for c in found if isinstance(c, str) and c}))

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        labels = self.table["label"]
        where = "in memory" if self.waveforms is not None else "lazy"
        return (f"SoundSet(n={len(self)}, contexts={len(self.contexts)}, "
                f"normal={int((labels == 0).sum())}, abnormal={int((labels == 1).sum())}, "
                f"unlabelled={int((labels == -1).sum())}, {where}, "
                f"rejected={len(self.rejected)})")

    @property
    def labels(self) -> np.ndarray:
        """Labels, int64, shape (N,): 0 normal, 1 abnormal, -1 unknown."""
        return self.table["label"].to_numpy(dtype=np.int64)

    @property
    def context_index(self) -> np.ndarray:
        """Context of each clip, int64, shape (N,): index into :attr:`contexts`, -1 unknown."""
        return self.table["context"].to_numpy(dtype=np.int64)

    @property
    def sample_rate(self) -> int:
        """The common sample rate in Hz (raises when the clips differ)."""
        rates = np.unique(self.table["sample_rate"])
        if len(rates) != 1:
            raise ValueError(f"clips have sample rates {rates.tolist()} Hz; read them with "
                             "one sample_rate= (and resample=True)")
        return int(rates[0])

    # ------------------------------------------------------------------ samples
    def load(self, idx=None) -> np.ndarray:
        """Samples of the selected clips as one array.

        Parameters
        ----------
        idx : int array, bool mask of shape (N,), slice or None (all)

        Returns
        -------
        numpy.ndarray, shape (n, T), float32
            Full scale 1; ``T`` samples at :attr:`sample_rate`.

        Raises
        ------
        ValueError
            When the selected clips differ in length (use :meth:`iter_batches` or
            :meth:`clips` for those).
        """
        pos = row_positions(slice(None) if idx is None else idx, len(self))
        if self.waveforms is not None:
            return self.waveforms[pos]
        clips = self.clips(pos)
        lengths = {len(c) for c in clips}
        if len(lengths) > 1:
            raise ValueError(f"the selected clips differ in length ({sorted(lengths)} "
                             "samples); use clips() or iter_batches() for a list")
        return np.stack(clips) if clips else np.zeros((0, 0), np.float32)

    def clips(self, idx=None) -> list[np.ndarray]:
        """Samples of the selected clips as a list of float32 arrays of shape (n_samples,)."""
        pos = row_positions(slice(None) if idx is None else idx, len(self))
        if self.waveforms is not None:
            return list(self.waveforms[pos])
        return [np.asarray(c, dtype=np.float32) for c in self.loader(self.table.iloc[pos])]

    def iter_batches(self, batch_size: int = 32, idx=None) -> Iterator[tuple[np.ndarray,
                                                                           list]]:
        """Yield ``(positions, clips)`` batches of at most ``batch_size`` clips, in order.

        ``positions`` are row positions (int array) and ``clips`` a list of float32 arrays;
        only one batch is in memory at a time.
        """
        pos = row_positions(slice(None) if idx is None else idx, len(self))
        for start in range(0, len(pos), int(batch_size)):
            chunk = pos[start:start + int(batch_size)]
            yield chunk, self.clips(chunk)

    def materialize(self) -> SoundSet:
        """Return a copy holding every clip in memory (``waveforms`` of shape (N, T))."""
        if self.waveforms is not None:
            return self
        return SoundSet(self.table, contexts=self.contexts, waveforms=self.load(),
                        loader=self.loader, rejected=self.rejected, meta=self.meta)

    # ------------------------------------------------------------------ selection
    def subset(self, idx) -> SoundSet:
        """Return the clips selected by ``idx`` (int array, bool mask of shape (N,), slice).

        ``contexts`` (and so the context numbering), ``loader``, ``rejected`` and ``meta`` are
        carried over; the table index is reset.
        """
        pos = row_positions(idx, len(self))
        return SoundSet(self.table.iloc[pos].reset_index(drop=True), contexts=self.contexts,
                        waveforms=None if self.waveforms is None else self.waveforms[pos],
                        loader=self.loader, rejected=self.rejected, meta=self.meta)

    @classmethod
    def concat(cls, sets: Iterable[SoundSet]) -> SoundSet:
        """Stack sound sets; contexts are merged by name (sorted union when they differ).

        Lazy sets that share one loader stay lazy; otherwise every set is materialised, which
        needs clips of one length.
        """
        sets = list(sets)
        if not sets:
            raise ValueError("concat needs at least one SoundSet.")
        if all(s.contexts == sets[0].contexts for s in sets):
            contexts = sets[0].contexts
        else:
            contexts = tuple(sorted({c for s in sets for c in s.contexts}))
        lookup = {c: i for i, c in enumerate(contexts)}
        tables = []
        for s in sets:
            t = s.table.copy()
            t["context"] = [lookup[c] if c else -1 for c in t["context_name"]]
            tables.append(t)
        table = pd.concat(tables, ignore_index=True)
        rejected = [s.rejected for s in sets if len(s.rejected)]
        rejected = pd.concat(rejected, ignore_index=True) if rejected else None
        meta = {"sources": [s.meta for s in sets]}
        if all(s.waveforms is None for s in sets) and all(s.loader == sets[0].loader
                                                          for s in sets):
            return cls(table, contexts=contexts, loader=sets[0].loader, rejected=rejected,
                       meta=meta)
        arrays = [s.load() for s in sets]
        lengths = {a.shape[1] for a in arrays if len(a)}
        if len(lengths) > 1:
            raise ValueError(f"cannot concat clips of different lengths {sorted(lengths)} "
                             "held in memory; read them with one duration")
        return cls(table, contexts=contexts, waveforms=np.concatenate(arrays),
                   rejected=rejected, meta=meta)
