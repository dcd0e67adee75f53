"""Readers of cutout triplets stored as tables or arrays.

* :func:`read_stamp_table`: RB-C1000-style FITS binary tables (``star_stamp`` column);
* :func:`read_triplet_array`: ``.npy`` / ``.npz`` arrays, channels first or last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.alerts.containers import CHANNELS, CutoutSet
from astroad_nb.data.labels import parse_realbogus_labels

__all__ = ["read_stamp_table", "read_triplet_array"]

_LABEL_COLUMNS = ("label", "labels", "class", "is_real", "real", "target", "y")
_ID_COLUMNS = ("candid", "id", "objectid", "object_id", "name")
_EXPECTED_TRIPLETS = "(N, 3, H, W) or (N, H, W, 3)"


def read_stamp_table(path, *, column: str = "star_stamp", hdu=None) -> CutoutSet:
    """Read an RB-C1000-style FITS binary table of cutout triplets.

    Parameters
    ----------
    path : str or Path
        FITS file with a binary table.
    column : str, default="star_stamp"
        Column holding the stamps, shape ``(N, H, W, 3)`` (channels last, as RB-C1000 writes
        it; channels science, reference, difference) or ``(N, 3, H, W)``.
    hdu : int or str, optional
        Table HDU; default: the first binary table that has ``column``.

    Returns
    -------
    CutoutSet
        ``images`` (N, 3, H, W) float32; ``labels`` from a ``label``-like column
        (``label, labels, class, is_real, real, target, y``; 1/'real', 0/'bogus', -1/NaN),
        else ``None``; ``ids`` from ``candid``/``id``/``objectId``-like columns, else row
        numbers; every other scalar column goes to ``table``.

    Raises
    ------
    ValueError
        Unreadable file, no such column (the message lists the columns found) or stamps of
        the wrong shape (the message gives the shape found and the one expected).
    """
    from astropy.io import fits

    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            tables = [h for h in hdul if isinstance(h, fits.BinTableHDU)]
            if hdu is not None:
                tables = [hdul[hdu]]
            chosen = next((h for h in tables if column in h.columns.names), None)
            if chosen is None:
                found = {h.name: list(h.columns.names) for h in tables}
                raise ValueError(
                    f"{path.name}: no column {column!r} in any binary table (found {found}); "
                    "expected RB-C1000's 'star_stamp' of shape (N, 63, 63, 3). "
                    "Pass column=... to name the stamp column.")
            data = chosen.data
            stamps = np.array(data[column])
            others = {name: np.array(data[name]) for name in chosen.columns.names
                      if name != column}
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"{path.name} is not a readable FITS file ({exc}); a partial "
                         "download is the usual cause.") from exc
    images = _to_channels_first(stamps, f"{path.name}[{column}]")
    scalars = {k: v for k, v in others.items() if v.ndim == 1 and len(v) == len(images)}
    lower = {k.lower(): k for k in scalars}
    label_col = next((lower[c] for c in _LABEL_COLUMNS if c in lower), None)
    id_col = next((lower[c] for c in _ID_COLUMNS if c in lower), None)
    table = pd.DataFrame({k: _native(v) for k, v in scalars.items()})
    labels = (parse_realbogus_labels(scalars[label_col], f"{path.name}[{label_col}]")
              if label_col else None)
    ids = [_id_text(v) for v in scalars[id_col]] if id_col else None
    table["file"] = str(path)
    return CutoutSet(images=images, table=table, ids=ids, labels=labels,
                     meta={"source": "stamp_table", "file": str(path), "column": column,
                           "channels": CHANNELS})


def read_triplet_array(path, *, key: str | None = None) -> CutoutSet:
    """Read cutout triplets from a ``.npy`` or ``.npz`` file.

    Parameters
    ----------
    path : str or Path
        ``.npy`` with one array, or ``.npz`` with the triplets under ``key`` (default: the
        first of ``images, triplets, stamps, X, x, data``, or the only 4-D array), optional
        ``labels``/``label``/``y`` (1 real, 0 bogus, -1/NaN unknown) and ``ids``/``id``/
        ``candid``.
    key : str, optional
        Name of the triplet array inside an ``.npz``.

    Returns
    -------
    CutoutSet
        ``images`` (N, 3, H, W) float32. Channels-last arrays ``(N, H, W, 3)`` are detected
        (last axis 3, second axis not 3) and moved to channels-first.

    Raises
    ------
    ValueError
        Unknown suffix, no triplet array, wrong shape or label/id length (the message names
        the file, the shape found and the shape expected).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ValueError(f"{path.name}: expected a .npy or .npz file, got suffix {suffix!r}; "
                         "use read_stamp_table for FITS tables and read_alerts for Avro.")
    try:
        loaded = np.load(path, allow_pickle=False)  # never unpickle a stranger's file
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable numpy file ({exc}); object arrays "
                         "(pickles) are refused: save plain numeric arrays.") from exc
    labels = ids = None
    if suffix == ".npy":
        array = loaded
    else:
        with loaded:
            names = list(loaded.files)
            if key is None:
                key = next((k for k in ("images", "triplets", "stamps", "X", "x", "data")
                            if k in names), None)
            if key is None:
                four_d = [k for k in names if loaded[k].ndim == 4]
                key = four_d[0] if len(four_d) == 1 else None
            if key is None or key not in names:
                raise ValueError(f"{path.name}: no triplet array found (keys {names}); "
                                 "expected 'images' (or pass key=...).")
            array = loaded[key]
            lab_key = next((k for k in ("labels", "label", "y") if k in names), None)
            id_key = next((k for k in ("ids", "id", "candid") if k in names), None)
            labels = loaded[lab_key] if lab_key else None
            ids = loaded[id_key] if id_key else None
    images = _to_channels_first(array, f"{path.name}" + (f"[{key}]" if key else ""))
    for name, value in (("labels", labels), ("ids", ids)):
        if value is not None and np.asarray(value).reshape(-1).shape[0] != len(images):
            raise ValueError(f"{path.name}: {name} has shape {np.shape(value)}, expected "
                             f"({len(images)},) to match the {len(images)} triplets.")
    if labels is not None:
        labels = parse_realbogus_labels(labels, f"{path.name}[labels]")
    if ids is not None:
        ids = [_id_text(v) for v in np.asarray(ids).reshape(-1)]
    return CutoutSet(images=images, ids=ids, labels=labels,
                     table=pd.DataFrame({"file": [str(path)] * len(images)}),
                     meta={"source": "triplet_array", "file": str(path), "channels": CHANNELS})


def _to_channels_first(array: np.ndarray, source: str) -> np.ndarray:
    """(N, 3, H, W) or (N, H, W, 3) -> (N, 3, H, W) float32, else a ValueError."""
    array = np.asarray(array)
    if array.ndim == 4 and array.shape[1] == 3:
        out = array
    elif array.ndim == 4 and array.shape[-1] == 3:
        out = np.moveaxis(array, -1, 1)
    else:
        raise ValueError(f"{source}: triplet array has shape {array.shape}; expected "
                         f"{_EXPECTED_TRIPLETS} (science, reference, difference). A single "
                         "triplet needs a leading axis: a[None].")
    if out.dtype.kind not in "fiub":
        raise ValueError(f"{source}: triplet array has dtype {out.dtype}; expected numbers.")
    return np.ascontiguousarray(out, dtype=np.float32)


def _native(values: np.ndarray) -> np.ndarray:
    """FITS big-endian / bytes columns -> native numpy for pandas."""
    if values.dtype.kind == "S":
        return values.astype(str)
    return values.astype(values.dtype.newbyteorder("="))


def _id_text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value).strip()

