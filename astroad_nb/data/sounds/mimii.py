"""The MIMII folder layout: ``{6dB,0dB,min6dB}/{fan,pump,slider,valve}/id_XX/{normal,abnormal}``.

Also read: the zip archives' naming (``-6_dB_fan/fan/id_00/normal/*.wav``), a root that is one
SNR, one machine type or one machine id folder (the SNR is then taken from any folder above
that names one, e.g. ``mimii_valve_6dB/valve/id_00/...`` -> +6 dB), and flat folders of
``<type>_<normal|abnormal>*.wav`` files (machine id unknown -> no context).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from astroad_nb.data.sounds.files import context_name, read_sound_files

__all__ = ["MIMII_CONTEXTS", "MIMII_COUNTS", "MIMII_IDS", "MIMII_SNRS", "MIMII_TYPES",
           "parse_snr", "read_mimii"]

#: Machine types of MIMII "public 1.0", sorted (the seed's context order).
MIMII_TYPES: tuple[str, ...] = ("fan", "pump", "slider", "valve")
#: Machine ids of MIMII "public 1.0".
MIMII_IDS: tuple[int, ...] = (0, 2, 4, 6)
#: SNRs of the three MIMII releases, dB (folders ``6dB``, ``0dB``, ``min6dB``).
MIMII_SNRS: tuple[float, ...] = (-6.0, 0.0, 6.0)
#: The seed's 16 contexts: type x id, sorted (``fan_00`` = 0 ... ``valve_06`` = 15).
MIMII_CONTEXTS: tuple[str, ...] = tuple(context_name(t, i) for t in MIMII_TYPES
                                        for i in MIMII_IDS)
#: Clips per SNR of MIMII "public 1.0": ``{context: (normal, abnormal)}`` (each SNR has the same
#: files). Totals 14,719 normal / 3,300 abnormal, the seed's counts.
MIMII_COUNTS: dict[str, tuple[int, int]] = {
    "fan_00": (1011, 407), "fan_02": (1016, 359), "fan_04": (1033, 348), "fan_06": (1015, 361),
    "pump_00": (1006, 143), "pump_02": (1005, 111), "pump_04": (702, 100),
    "pump_06": (1036, 102),
    "slider_00": (1068, 356), "slider_02": (1068, 267), "slider_04": (534, 178),
    "slider_06": (534, 89),
    "valve_00": (991, 119), "valve_02": (708, 120), "valve_04": (1000, 120),
    "valve_06": (992, 120),
}

_ID_RE = re.compile(r"^id_(\d+)$")
_LABEL_DIRS = {"normal": 0, "abnormal": 1, "anomaly": 1}
# "<sign><number>[_]dB" at the start, or after a prefix ending in "_" ("mimii_valve_6dB")
_SNR_RE = re.compile(r"^(?:.*_)??(min|m|-|\+)?(\d+(?:\.\d+)?)_?db(?:[_-].*)?$", re.I)
_FLAT_RE = re.compile(r"^([a-z][a-z0-9]*)_(normal|abnormal|anomaly)(?:[_-].*)?$", re.I)


def parse_snr(name: str) -> float | None:
    """The SNR a MIMII folder name gives, in dB, or ``None``.

    ``"6dB"`` -> 6, ``"0dB"`` -> 0, ``"min6dB"`` -> -6, ``"-6_dB_fan"`` -> -6,
    ``"mimii_valve_6dB"`` -> 6.

    Parameters
    ----------
    name : str
        One path component.
    """
    m = _SNR_RE.match(name)
    if m is None:
        return None
    sign = -1.0 if (m.group(1) or "").lower() in ("min", "m", "-") else 1.0
    return sign * float(m.group(2))


def read_mimii(root, *, contexts: str | Sequence[str] = "mimii", snr: float | None = None,
               sample_rate: int | None = 16000, channel: int | str = 0,
               resample: bool = False, load: bool = False, on_error: str = "skip",
               backend: str = "auto"):
    """Read clips in the MIMII folder layout into a :class:`~astroad_nb.data.sounds.SoundSet`.

    Every ``*.wav`` below ``root`` is either at ``.../<type>/id_XX/<normal|abnormal>/<name>.wav``
    (the type is the folder above ``id_XX``; the SNR the nearest folder above that names one:
    ``6dB``, ``0dB``, ``min6dB``, ``-6_dB_fan``, ``mimii_valve_6dB``, ...) or a flat
    ``<type>_<normal|abnormal>*.wav`` (machine id -1, so no context). Any other WAV is a bad
    file (skipped and listed in ``rejected``, or raised). Files are checked from their headers
    and read on demand, channel 0 of the 8 microphones by default (as the seed).

    Parameters
    ----------
    root : str or os.PathLike
        The dataset folder, one SNR / type / id folder of it, or a flat folder.
    contexts : "mimii", "found" or sequence of str, default="mimii"
        Context numbering: the seed's 16 (:data:`MIMII_CONTEXTS`, so ``valve_06`` is 15 even
        when only valves are read), the sorted contexts found, or an explicit list. A clip
        whose context is not in the list gets ``context = -1``.
    snr : float, optional
        SNR in dB for every clip, overriding what the folder names say (NaN where none do).
    sample_rate, channel, resample, load, on_error, backend
        As :func:`~astroad_nb.data.sounds.read_sound_files` (expected rate 16000 Hz).

    Returns
    -------
    SoundSet
        Rows sorted by path; ``id`` = path relative to ``root`` without ``.wav``; ``set`` =
        ``"all"`` (split with :func:`~astroad_nb.data.sounds.split_mimii`).

    Raises
    ------
    FileNotFoundError
        ``root`` is not a folder or holds no ``.wav`` file.
    WavReadError
        With ``on_error="raise"``, at the first bad file.

    Examples
    --------
    >>> from astroad_nb._config import real_data_path
    >>> root = real_data_path("sounds", "mimii_valve_6dB")
    >>> s = read_mimii(root) if root else None  # doctest: +SKIP
    >>> s.table[["context_name", "context", "snr_db", "label"]].iloc[0].tolist()  # doctest: +SKIP
    ['valve_00', 12, 6.0, 0]
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"MIMII root {str(root)!r} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise FileNotFoundError(f"no .wav file below {str(root)!r}; expected the MIMII layout "
                                "<snr>/<type>/id_XX/{normal,abnormal}/*.wav")
    if isinstance(contexts, str):
        if contexts not in ("mimii", "found"):
            raise ValueError(f"contexts must be 'mimii', 'found' or a list of names, got "
                             f"{contexts!r}")
        contexts = MIMII_CONTEXTS if contexts == "mimii" else None
    paths, rows, bad = [], [], []
    for path in files:
        row = _parse(path.resolve(), root.resolve())
        if row is None:
            reason = ("not in the MIMII layout <type>/id_XX/{normal,abnormal}/<name>.wav and "
                      "not named <type>_{normal,abnormal}.wav")
            if on_error == "raise":
                from astroad_nb.data.sounds.wav import WavReadError

                raise WavReadError(path, reason)
            bad.append({"path": str(path), "reason": reason})
            continue
        if snr is not None:
            row["snr_db"] = float(snr)
        paths.append(path)
        rows.append(row)
    sounds = read_sound_files(paths, rows, contexts=contexts, sample_rate=sample_rate,
                              channel=channel, resample=resample, load=load, on_error=on_error,
                              backend=backend, root=root, rejected=bad)
    sounds.meta.update(layout="mimii")
    return sounds


def _parse(path: Path, root: Path) -> dict | None:
    """Type, id, label and SNR of one file from its folders (``None``: not MIMII)."""
    parts = path.parts
    label_dir, id_dir = (parts[-2].lower(), parts[-3]) if len(parts) >= 4 else ("", "")
    m = _ID_RE.match(id_dir)
    if label_dir in _LABEL_DIRS and m is not None:
        machine_type, machine_id, label = parts[-4].lower(), int(m.group(1)), _LABEL_DIRS[
            label_dir]
        above = parts[:-4]
    else:
        flat = _FLAT_RE.match(path.stem)
        if flat is None:
            return None
        machine_type, machine_id = flat.group(1).lower(), -1
        label = _LABEL_DIRS[flat.group(2).lower()]
        above = parts[:-1]
    snr = next((s for s in map(parse_snr, reversed(above)) if s is not None), float("nan"))
    return {"machine_type": machine_type, "machine_id": machine_id, "label": label,
            "snr_db": snr, "set": "all"}
