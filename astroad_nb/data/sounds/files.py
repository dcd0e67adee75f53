"""Tables of WAV files: check each file's header and build a lazy :class:`SoundSet`.

The layout readers (:func:`~astroad_nb.data.sounds.read_mimii`,
:func:`~astroad_nb.data.sounds.read_dcase`) parse folder and file names into rows and hand
them to :func:`read_sound_files`, which validates every file (readable header, not truncated,
the expected rate, the channel asked for) without decoding it, and skips or raises on bad ones.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from math import gcd
from pathlib import Path

import pandas as pd

from astroad_nb.data.sounds.containers import SoundFileLoader, SoundSet
from astroad_nb.data.sounds.wav import SampleRateError, WavReadError, wav_info

__all__ = ["context_name", "read_sound_files"]


def context_name(machine_type: str, machine_id: int) -> str:
    """The context of a machine: ``"<type>_<id, two digits>"`` (``"fan_00"``), as the seed.

    Parameters
    ----------
    machine_type : str
    machine_id : int
        ``-1`` (unknown) gives ``""``: no context.
    """
    return "" if int(machine_id) < 0 else f"{machine_type}_{int(machine_id):02d}"


def read_sound_files(paths: Sequence, rows: Sequence[dict] | pd.DataFrame | None = None, *,
                     contexts: Sequence[str] | None = None, sample_rate: int | None = 16000,
                     channel: int | str = 0, resample: bool = False, load: bool = False,
                     on_error: str = "skip", backend: str = "auto", root=None,
                     rejected: Sequence[dict] = ()) -> SoundSet:
    """Check WAV files and return them as a (lazy) :class:`SoundSet`.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        The files, one clip each.
    rows : sequence of dict or DataFrame, optional
        Table columns per file (``machine_type``, ``machine_id``, ``snr_db``, ``label``,
        ``set``, ``id``, ...); the ``context`` is derived from type and id.
    contexts : sequence of str, optional
        Context names to number the clips by (a clip whose context is not among them gets
        ``-1``). Default: the sorted contexts found.
    sample_rate : int or None, default=16000
        Expected rate in Hz; ``None`` accepts any (the table keeps each file's rate).
    channel : int or "mean", default=0
        Channel that :meth:`SoundSet.load` returns (MIMII: channel 0, as the seed).
    resample : bool, default=False
        Accept files of another rate and resample them on loading; otherwise such a file is a
        bad file (:class:`~astroad_nb.data.sounds.SampleRateError`).
    load : bool, default=False
        Read every clip now (``waveforms`` in memory; clips must share one length).
    on_error : {"skip", "raise"}, default="skip"
        Bad files are listed in ``SoundSet.rejected`` (path, reason) or raised.
    backend : {"auto", "soundfile", "scipy"}, default="auto"
    root : path, optional
        Folder the ids are relative to (ids are the paths without ``.wav``); default: the
        files' common parent.
    rejected : sequence of dict, optional
        Files the caller already rejected (``{"path", "reason"}``), carried into the result.

    Returns
    -------
    SoundSet
        ``sample_rate`` and ``n_samples`` (after resampling) come from each header;
        ``meta`` holds ``root`` and the reader's options.

    Raises
    ------
    WavReadError
        With ``on_error="raise"``, at the first bad file (:class:`SampleRateError` for a
        wrong rate).
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    paths = [Path(p) for p in paths]
    meta_rows = ([{} for _ in paths] if rows is None else
                 pd.DataFrame(rows).to_dict("records"))
    if len(meta_rows) != len(paths):
        raise ValueError(f"rows has {len(meta_rows)} entries for {len(paths)} paths")
    if root is None and paths:
        root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    out, bad = [], [dict(r) for r in rejected]
    for path, row in zip(paths, meta_rows):
        try:
            info = wav_info(path)
            if sample_rate is not None and info.sample_rate != sample_rate and not resample:
                raise SampleRateError(path, info.sample_rate, sample_rate)
            if channel != "mean" and not 0 <= int(channel) < info.channels:
                raise WavReadError(path, f"has {info.channels} channel(s), no channel "
                                         f"{channel}; pass channel=0 or 'mean'")
        except (WavReadError, FileNotFoundError) as exc:
            if on_error == "raise":
                raise
            bad.append({"path": str(path), "reason": getattr(exc, "reason", str(exc))})
            continue
        rate = info.sample_rate if sample_rate is None else int(sample_rate)
        g = gcd(rate, info.sample_rate)  # resample_poly gives ceil(n * up / down) samples
        n = -(-info.n_frames * (rate // g) // (info.sample_rate // g))
        row = dict(row)
        row.setdefault("id", _relative_id(path, root))
        row.setdefault("machine_type", "unknown")
        row.setdefault("machine_id", -1)
        row["context_name"] = context_name(row["machine_type"], row["machine_id"])
        row.update(path=str(path), sample_rate=rate, n_samples=n, channels=info.channels,
                   bits_per_sample=info.bits_per_sample)
        out.append(row)
    table = pd.DataFrame(out)
    if contexts is None:
        contexts = sorted({r["context_name"] for r in out if r["context_name"]})
    contexts = tuple(contexts)
    lookup = {c: i for i, c in enumerate(contexts)}
    table["context"] = [lookup.get(c, -1) for c in table.get("context_name", [])]
    loader = SoundFileLoader(channel=channel, resample=resample, backend=backend)
    meta = {"root": None if root is None else str(root), "channel": channel,
            "resample": resample, "backend": backend}
    sounds = SoundSet(table, contexts=contexts, loader=loader,
                      rejected=pd.DataFrame(bad, columns=["path", "reason"]), meta=meta)
    return sounds.materialize() if load else sounds


def _relative_id(path: Path, root) -> str:
    try:
        rel = path.relative_to(root) if root is not None else Path(path.name)
    except ValueError:
        rel = path
    return str(rel.with_suffix("")).replace("\\", "/")
