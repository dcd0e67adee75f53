"""The DCASE 2020 task 2 layout: ``[<type>/]train/normal_id_XX_*.wav`` and
``[<type>/]test/{normal,anomaly}_id_XX_*.wav`` (evaluation files ``id_XX_*.wav``: no label)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from astroad_nb.data.sounds.files import read_sound_files
from astroad_nb.data.sounds.wav import WavReadError

__all__ = ["DCASE_TYPES", "read_dcase"]

#: Machine types of DCASE 2020 task 2 (MIMII's four and ToyADMOS's two), lower case.
DCASE_TYPES: tuple[str, ...] = ("fan", "pump", "slider", "valve", "toycar", "toyconveyor")

_NAME_RE = re.compile(r"^(?:(normal|anomaly)_)?id_(\d+)_(\d+)$", re.I)


def read_dcase(root, *, machine_type: str | None = None,
               contexts: str | Sequence[str] = "found", sample_rate: int | None = 16000,
               channel: int | str = 0, resample: bool = False, load: bool = False,
               on_error: str = "skip", backend: str = "auto"):
    """Read clips in the DCASE 2020 task 2 layout into a :class:`~astroad_nb.data.sounds.SoundSet`.

    Files are named ``<normal|anomaly>_id_XX_<n>.wav`` (``id_XX_<n>.wav`` in the evaluation
    set: label -1) inside ``train``/``test`` folders; ``set`` is that folder's name. The machine
    type is the folder above ``train``/``test`` when it is one of :data:`DCASE_TYPES`
    (``dev_data/fan/train/...``), else ``machine_type``, else ``"unknown"``. DCASE states no
    SNR (``snr_db`` = NaN).

    Parameters
    ----------
    root : str or os.PathLike
        A machine-type folder, a folder of such folders, or one holding ``train``/``test``.
    machine_type : str, optional
        Type for clips whose folders do not name one (the shared ``dcase_id00`` clips).
    contexts : "found" or sequence of str, default="found"
        Context numbering: the sorted ``<type>_<id>`` found, or an explicit list.
    sample_rate, channel, resample, load, on_error, backend
        As :func:`~astroad_nb.data.sounds.read_sound_files` (expected rate 16000 Hz).

    Returns
    -------
    SoundSet
        Rows sorted by path; ``id`` = path relative to ``root`` without ``.wav``.

    Raises
    ------
    FileNotFoundError
        ``root`` is not a folder or holds no ``.wav`` file.
    WavReadError
        With ``on_error="raise"``, at the first bad file (a misnamed one included).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"DCASE root {str(root)!r} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise FileNotFoundError(f"no .wav file below {str(root)!r}; expected the DCASE layout "
                                "train/normal_id_XX_*.wav, test/{normal,anomaly}_id_XX_*.wav")
    if isinstance(contexts, str):
        if contexts != "found":
            raise ValueError(f"contexts must be 'found' or a list of names, got {contexts!r}")
        contexts = None
    paths, rows, bad = [], [], []
    for path in files:
        m = _NAME_RE.match(path.stem)
        if m is None:
            reason = ("not named <normal|anomaly>_id_XX_<n>.wav (DCASE 2020 task 2); rename it "
                      "or read the folder with read_mimii")
            if on_error == "raise":
                raise WavReadError(path, reason)
            bad.append({"path": str(path), "reason": reason})
            continue
        above = path.resolve().parent.parent.name.lower()
        kind = above if above in DCASE_TYPES else (machine_type or "unknown")
        label = {"normal": 0, "anomaly": 1}.get((m.group(1) or "").lower(), -1)
        paths.append(path)
        rows.append({"machine_type": kind, "machine_id": int(m.group(2)), "label": label,
                     "set": path.parent.name.lower(), "snr_db": float("nan")})
    sounds = read_sound_files(paths, rows, contexts=contexts, sample_rate=sample_rate,
                              channel=channel, resample=resample, load=load, on_error=on_error,
                              backend=backend, root=root, rejected=bad)
    sounds.meta.update(layout="dcase2020")
    return sounds
