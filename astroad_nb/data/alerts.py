"""Alert cutout triplets: a container, readers of real formats and a galsim simulator.

The container, :class:`CutoutSet`, holds ``N`` triplets of image cutouts (science,
reference/template, difference) with a per-triplet table, ids and optional real/bogus labels.
Readers of ZTF Avro alert packets (:func:`read_alerts`), of RB-C1000's FITS stamp tables
(:func:`read_stamp_table`) and of ``.npy``/``.npz`` arrays (:func:`read_triplet_array`) return
it, and so does the simulator (:func:`simulate_triplets`), so every model and notebook of the
real/bogus system works on either.

Conventions
-----------
* ``images`` is float32, shape ``(N, 3, H, W)``, channel order :data:`CHANNELS` =
  ``("science", "reference", "difference")``; row ``0`` of an image is the lowest ``y`` on the
  detector (FITS order). Units are those of the cutouts (DN for ZTF; e- for the simulator).
* ``mask`` is bool, same shape: ``True`` = valid pixel. NaN pixels stay NaN in ``images``
  and are ``False`` in ``mask`` (replace them before a CNN, e.g. ``np.where(mask, images, 0)``).
* ``clipped`` is bool, shape ``(N,)``: the stamp was cut by a detector edge (e.g. a 48 x 63
  ZTF cutout) and was padded with NaN to ``H x W``. The padding goes on the side of the
  chip edge when ``xpos``/``ypos`` tell which side that is (a ZTF readout quadrant is
  3072 x 3080 px), else the stamp is centred. The padding, in pixels, is in the table columns
  ``pad_y0, pad_y1`` (rows added before / after, i.e. below / above in ``y``) and
  ``pad_x0, pad_x1`` (columns added left / right), and ``pad_rule`` (``"edge"``/``"centre"``).
* ``labels`` is ``None`` (no label source) or int64, shape ``(N,)``: 1 = real, 0 = bogus,
  -1 = unknown (scikit-learn's semi-supervised convention; NaN in a file becomes -1).
* ``ids`` are strings (ZTF ``candid`` for alerts), unique per triplet when the source is.
"""

from __future__ import annotations

import functools
import glob as _glob
import gzip
import io
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.lightcurves import ZTF_FID_TO_BAND

__all__ = [
    "BOGUS_KINDS",
    "CHANNELS",
    "CutoutSet",
    "read_alerts",
    "read_stamp_table",
    "read_triplet_array",
    "simulate_triplets",
]

#: Channel order of ``CutoutSet.images[:, c]``.
CHANNELS: tuple[str, str, str] = ("science", "reference", "difference")

#: Bogus kinds :func:`simulate_triplets` can make.
BOGUS_KINDS: tuple[str, ...] = (
    "cosmic_ray", "hot_pixel", "dipole", "bad_subtraction", "saturated", "ghost_edge",
)

#: ZTF readout-quadrant size in pixels (NAXIS1 = x, NAXIS2 = y).
ZTF_QUADRANT_NX, ZTF_QUADRANT_NY = 3072, 3080

_CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")

# Columns every alert table has (NaN / <NA> / None when a packet lacks them).
_FLOAT_COLUMNS = (
    "jd", "mjd", "magpsf", "sigmapsf", "rb", "drb", "isdiffpos", "ra", "dec", "diffmaglim",
    "fwhm", "elong", "nbad", "xpos", "ypos", "magzpsci", "classtar", "distnr", "magnr",
    "sgscore1", "distpsnr1", "ndethist", "ncovhist", "jdstarthist", "jdendhist", "sky",
)
# Integer identifiers: pandas nullable Int64 so 19-digit candids stay exact.
_INT_COLUMNS = ("candid", "pid", "fid", "programid", "field", "rcid")
_STR_COLUMNS = ("objectId", "band", "schemavsn", "publisher")


# --------------------------------------------------------------------------------------------
# the container
# --------------------------------------------------------------------------------------------
@dataclass(eq=False)  # element-wise array equality has no single truth value
class CutoutSet:
    """``N`` cutout triplets (science, reference, difference) with a table, ids and labels.

    Parameters
    ----------
    images : ndarray, shape (N, 3, H, W)
        Pixel values (float32), channels in :data:`CHANNELS` order; NaN where invalid.
    mask : ndarray of bool, shape (N, 3, H, W), optional
        ``True`` = valid pixel. Default: ``np.isfinite(images)``.
    clipped : ndarray of bool, shape (N,), optional
        Stamp cut by a detector edge and NaN-padded. Default: all ``False``.
    table : pandas.DataFrame, optional
        One row per triplet (alert fields, simulation parameters, ...).
    ids : sequence of str, shape (N,), optional
        Triplet ids. Default: ``"0"``, ``"1"``, ...
    labels : ndarray of int, shape (N,), optional
        1 = real, 0 = bogus, -1 = unknown; ``None`` when nothing is labelled.
    skipped : list of (str, str)
        ``(file, reason)`` for every item a reader skipped.
    meta : dict
        Provenance (source, pixel scale in arcsec/px, ...).

    Examples
    --------
    >>> cs = simulate_triplets(4, 4, random_state=0)
    >>> cs.images.shape, len(cs), cs.labels.tolist().count(1)
    ((8, 3, 63, 63), 8, 4)
    >>> len(cs.subset(cs.labels == 1))
    4
    """

    images: np.ndarray
    mask: np.ndarray | None = None
    clipped: np.ndarray | None = None
    table: pd.DataFrame | None = None
    ids: np.ndarray | Sequence[str] | None = None
    labels: np.ndarray | None = None
    skipped: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        images = np.asarray(self.images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"CutoutSet images must have shape (N, 3, H, W), got {images.shape}; "
                "convert channels-last arrays with np.moveaxis(a, -1, 1).")
        n = images.shape[0]
        self.images = images
        self.mask = (np.isfinite(images) if self.mask is None
                     else np.asarray(self.mask, dtype=bool))
        if self.mask.shape != images.shape:
            raise ValueError(f"mask shape {self.mask.shape} differs from images {images.shape}.")
        self.clipped = (np.zeros(n, bool) if self.clipped is None
                        else np.asarray(self.clipped, dtype=bool).reshape(-1))
        self.table = (pd.DataFrame(index=range(n)) if self.table is None
                      else self.table.reset_index(drop=True))
        ids = [str(i) for i in range(n)] if self.ids is None else [str(i) for i in self.ids]
        self.ids = np.asarray(ids, dtype=object)
        if self.labels is not None:
            self.labels = _as_labels(self.labels, "CutoutSet labels")
        for name, value in (("clipped", self.clipped), ("table", self.table),
                            ("ids", self.ids), ("labels", self.labels)):
            if value is not None and len(value) != n:
                raise ValueError(f"CutoutSet {name} has length {len(value)}, expected N={n}.")
        self.skipped = list(self.skipped)
        self.meta = dict(self.meta)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        n_lab = "none" if self.labels is None else int((self.labels >= 0).sum())
        return (f"CutoutSet(n={len(self)}, shape={self.images.shape[1:]}, "
                f"clipped={int(self.clipped.sum())}, labelled={n_lab}, "
                f"skipped={len(self.skipped)})")

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of every cutout, in pixels."""
        return self.images.shape[2], self.images.shape[3]

    def subset(self, idx) -> CutoutSet:
        """Return the triplets selected by ``idx`` (int array, bool mask or slice).

        ``skipped`` and ``meta`` are carried over; the table index is reset.
        """
        if isinstance(idx, slice):
            idx = np.arange(len(self))[idx]
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean index has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp).reshape(-1)
        return CutoutSet(
            images=self.images[idx], mask=self.mask[idx], clipped=self.clipped[idx],
            table=self.table.iloc[idx].reset_index(drop=True), ids=self.ids[idx],
            labels=None if self.labels is None else self.labels[idx],
            skipped=self.skipped, meta=self.meta)

    def with_labels(self, labels) -> CutoutSet:
        """Return a copy whose ``labels`` are ``labels`` (shape (N,): 1 real, 0 bogus, -1/NaN
        unknown, or 'real'/'bogus'), validated like a reader's."""
        return CutoutSet(images=self.images, mask=self.mask, clipped=self.clipped,
                         table=self.table.copy(), ids=self.ids, labels=labels,
                         skipped=self.skipped, meta=self.meta)

    @classmethod
    def concat(cls, sets: Iterable[CutoutSet]) -> CutoutSet:
        """Stack several sets of the same cutout size (labels -1 where a set has none)."""
        sets = list(sets)
        if not sets:
            raise ValueError("concat needs at least one CutoutSet.")
        shapes = {s.shape for s in sets}
        if len(shapes) > 1:
            raise ValueError(f"cannot concat cutouts of different sizes {sorted(shapes)}; "
                             "read them with the same cutout_size.")
        any_labels = any(s.labels is not None for s in sets)
        return cls(
            images=np.concatenate([s.images for s in sets]),
            mask=np.concatenate([s.mask for s in sets]),
            clipped=np.concatenate([s.clipped for s in sets]),
            table=pd.concat([s.table for s in sets], ignore_index=True),
            ids=np.concatenate([s.ids for s in sets]),
            labels=(np.concatenate([s.labels if s.labels is not None
                                    else np.full(len(s), -1) for s in sets])
                    if any_labels else None),
            skipped=[item for s in sets for item in s.skipped],
            meta={"sources": [s.meta for s in sets]})


def _as_labels(values, source: str) -> np.ndarray:
    """Normalise labels to int64 1 (real) / 0 (bogus) / -1 (unknown)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "USO":
        text = pd.Series(arr.reshape(-1)).astype(str).str.strip().str.lower()
        mapping = {"real": 1, "1": 1, "true": 1, "t": 1, "bogus": 0, "0": 0, "false": 0,
                   "f": 0, "-1": -1, "nan": -1, "none": -1, "": -1, "unknown": -1}
        bad = sorted(set(text) - set(mapping))
        if bad:
            raise ValueError(f"{source}: unknown label value(s) {bad[:5]}; expected "
                             "1/'real', 0/'bogus' or -1/NaN for unknown.")
        return text.map(mapping).to_numpy(np.int64)
    arr = arr.astype(np.float64).reshape(-1)
    arr = np.where(np.isfinite(arr), arr, -1)
    bad = sorted(set(np.unique(arr)) - {0.0, 1.0, -1.0})
    if bad:
        raise ValueError(f"{source}: label values {bad[:5]} found; expected 1 (real), "
                         "0 (bogus) or -1/NaN (unknown).")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------------------------
# ZTF Avro alerts
# --------------------------------------------------------------------------------------------
def read_alerts(paths, *, on_error: str = "skip", cutout_size: int = 63) -> CutoutSet:
    """Read ZTF Avro alert packets into a :class:`CutoutSet`.

    Any ZTF schema 3.x (and older/newer ones with the same core fields) is read with the
    schema written in each container file; fields this reader does not know are ignored and
    missing optional fields become NaN. Codecs ``null``, ``deflate`` and ``snappy`` (which
    needs ``cramjam``) are supported; a container may hold one alert or many.

    Parameters
    ----------
    paths : str, Path or iterable of them
        Files, folders (every ``*.avro`` below them, sorted) or glob patterns.
    on_error : {"skip", "raise"}, default="skip"
        ``"skip"``: a corrupt or truncated packet (or one whose cutouts cannot be decoded)
        is left out and listed in ``result.skipped`` as ``(file, reason)``; alerts of the same
        container read before the damage are kept. ``"raise"``: raise ``ValueError``.
    cutout_size : int, default=63
        Side of the output cutouts in pixels. Smaller (edge-clipped) stamps are NaN-padded
        and flagged in ``clipped``; larger ones are cropped about their centre.

    Returns
    -------
    CutoutSet
        ``images`` float32 (N, 3, cutout_size, cutout_size) in DN, channels science,
        template, difference; ``table`` with one row per alert: ``candid, objectId, jd,
        mjd, fid, band, magpsf, sigmapsf, rb, drb, isdiffpos`` (1.0 = positive subtraction,
        0.0 = negative), ``ra, dec`` (deg), ``diffmaglim, fwhm`` (px), ``elong, nbad,
        programid, xpos, ypos`` (px), every other scalar ``candidate`` field found, plus
        ``schemavsn, publisher, n_prv_candidates, file, index_in_file, clipped, pad_*``;
        ``ids`` = candid as str; ``labels`` = ``None``.

    Raises
    ------
    FileNotFoundError
        When a path does not exist or matches no ``.avro`` file.
    ValueError
        With ``on_error="raise"``, naming the file that could not be read.

    Examples
    --------
    >>> alerts = read_alerts("data/ztf_alerts/")  # doctest: +SKIP
    >>> alerts.images.shape, alerts.skipped  # doctest: +SKIP
    ((98, 3, 63, 63), [])
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}.")
    files = _expand_alert_paths(paths)
    rows, images, clipped, skipped = [], [], [], []
    for path in files:
        records, error = _read_avro_records(path)
        if error is not None:
            if on_error == "raise":
                raise ValueError(
                    f"{path}: cannot read the Avro alert container after {len(records)} "
                    f"alert(s) ({error}); expected a complete ZTF alert packet. A partial "
                    "download is the usual cause: fetch it again, or pass on_error='skip'."
                ) from error
            skipped.append((str(path), f"unreadable after {len(records)} alert(s): "
                                       f"{type(error).__name__}: {error}; expected a complete "
                                       "Avro alert container (truncated or corrupt file?)"))
        for i, record in enumerate(records):
            try:
                row = _alert_row(record, path, i)
                image, pads = _alert_cutouts(record, cutout_size, row)
            except Exception as exc:  # one bad alert must not stop the batch
                if on_error == "raise":
                    raise ValueError(
                        f"{path}: alert {i} has unreadable data ({type(exc).__name__}: {exc});"
                        " expected gzipped-FITS 2-D cutouts in cutoutScience/Template/"
                        "Difference. Pass on_error='skip' to leave it out.") from exc
                skipped.append((str(path), f"alert {i}: {type(exc).__name__}: {exc}"))
                continue
            row.update(pads)
            rows.append(row)
            images.append(image)
            clipped.append(pads["clipped"])
    n = len(rows)
    images = (np.stack(images) if n
              else np.zeros((0, 3, cutout_size, cutout_size), np.float32))
    table = _alert_table(rows)
    ids = [str(c) if not pd.isna(c) else f"{Path(f).stem}#{k}"
           for c, f, k in zip(table["candid"], table["file"], table["index_in_file"], strict=True)]
    return CutoutSet(images=images, mask=np.isfinite(images), clipped=np.array(clipped, bool),
                     table=table, ids=ids, labels=None, skipped=skipped,
                     meta={"source": "ztf_avro", "n_files": len(files),
                           "cutout_size": cutout_size, "pixel_scale": 1.01,
                           "channels": CHANNELS})


def _expand_alert_paths(paths) -> list[Path]:
    """Files, folders and globs -> sorted list of existing ``.avro`` files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matched = sorted(Path(p) for p in _glob.glob(text, recursive=True))
            if not matched:
                raise FileNotFoundError(f"the glob {text!r} matches no file; check the pattern.")
            files.extend(p for p in matched if p.is_file())
        elif Path(text).is_dir():
            found = sorted(Path(text).rglob("*.avro"))
            if not found:
                raise FileNotFoundError(f"{text}: folder holds no *.avro alert file.")
            files.extend(found)
        elif Path(text).is_file():
            files.append(Path(text))
        else:
            raise FileNotFoundError(f"{text}: no such file or folder of ZTF alerts.")
    return files


def _read_avro_records(path: Path) -> tuple[list[dict], Exception | None]:
    """All records of one Avro container, plus the error that stopped reading (or None)."""
    import fastavro

    records: list[dict] = []
    try:
        with open(path, "rb") as fh:
            reader = fastavro.reader(fh)
            for record in reader:
                records.append(record)
    except Exception as exc:  # fastavro raises many types for damaged files
        if "snappy" in str(exc).lower() and "install" in str(exc).lower():
            exc = ValueError(f"{exc} (snappy-compressed alerts need: pip install cramjam)")
        return records, exc
    if not records:
        return records, ValueError("the container holds no alert")
    return records, None


def _alert_row(record: dict, path: Path, index: int) -> dict:
    """One table row from an alert record (missing fields are simply absent)."""
    if not isinstance(record, dict) or not isinstance(record.get("candidate"), dict):
        raise ValueError("no 'candidate' record; not a ZTF alert packet")
    cand = record["candidate"]
    row = {k: v for k, v in cand.items() if v is None or isinstance(v, (int, float, str))}
    for key in ("objectId", "schemavsn", "publisher"):
        row[key] = record.get(key)
    if record.get("candid") is not None:  # top-level candid (3.x) wins
        row["candid"] = record["candid"]
    prv = record.get("prv_candidates")
    row["n_prv_candidates"] = len(prv) if isinstance(prv, list) else 0
    row["file"] = str(path)
    row["index_in_file"] = index
    return row


def _alert_table(rows: list[dict]) -> pd.DataFrame:
    """Rows -> DataFrame with the core columns always present and typed."""
    table = pd.DataFrame(rows)
    for col in ("file", "index_in_file", "clipped", "n_prv_candidates"):
        if col not in table:  # every alert skipped: keep the columns, zero rows
            table[col] = pd.Series(dtype=object if col == "file" else np.int64)
    for col in _INT_COLUMNS:
        values = table[col] if col in table else pd.Series([None] * len(table))
        table[col] = pd.to_numeric(values, errors="coerce").astype("Int64")
    for col in _FLOAT_COLUMNS:
        if col == "mjd":
            continue
        if col == "isdiffpos":
            raw = table[col] if col in table else pd.Series([None] * len(table))
            table[col] = raw.map(_isdiffpos_value).astype(np.float64)
            continue
        values = table[col] if col in table else pd.Series([np.nan] * len(table))
        table[col] = pd.to_numeric(values, errors="coerce").astype(np.float64)
    table["mjd"] = table["jd"] - 2400000.5
    table["band"] = table["fid"].map(lambda f: ZTF_FID_TO_BAND.get(int(f))
                                     if not pd.isna(f) else None)
    for col in _STR_COLUMNS:
        if col not in table:
            table[col] = None
    first = ["candid", "objectId", "jd", "mjd", "fid", "band", "magpsf", "sigmapsf", "rb",
             "drb", "isdiffpos", "ra", "dec", "diffmaglim", "fwhm", "elong", "nbad",
             "programid", "xpos", "ypos", "file", "index_in_file", "clipped"]
    first = [c for c in first if c in table]
    return table[first + [c for c in table.columns if c not in first]]


def _isdiffpos_value(value) -> float:
    """ZTF's 't'/'1' (positive subtraction) -> 1.0, 'f'/'0' -> 0.0, else NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    text = str(value).strip().lower()
    return 1.0 if text in ("t", "1", "true") else 0.0 if text in ("f", "0", "false") else np.nan


def _alert_cutouts(record: dict, size: int, row: dict) -> tuple[np.ndarray, dict]:
    """Decode the three cutouts of one alert -> (3, size, size) float32 and padding info."""
    out = np.full((3, size, size), np.nan, np.float32)
    pads = {"pad_y0": 0, "pad_y1": 0, "pad_x0": 0, "pad_x1": 0, "pad_rule": "none",
            "clipped": False, "n_missing_cutouts": 0}
    for c, name in enumerate(_CUTOUT_FIELDS):
        cutout = record.get(name)
        stamp = cutout.get("stampData") if isinstance(cutout, dict) else cutout
        if stamp is None:  # optional in the schema: leave NaN, count it
            pads["n_missing_cutouts"] += 1
            continue
        data = _decode_stamp(stamp, name)
        padded, this = _place_stamp(data, size, row.get("xpos"), row.get("ypos"))
        out[c] = padded
        if this["clipped"]:
            pads.update(this)
    if pads["n_missing_cutouts"] == 3:
        raise ValueError("the alert carries no cutout at all")
    return out, pads


def _decode_stamp(stamp: bytes, name: str) -> np.ndarray:
    """Gzipped (or plain) FITS bytes -> 2-D float32 array."""
    from astropy.io import fits

    raw = gzip.decompress(stamp) if stamp[:2] == b"\x1f\x8b" else stamp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ZTF stamps trip astropy's SIMPLE-card check
        with fits.open(io.BytesIO(raw), memmap=False) as hdul:
            data = next((h.data for h in hdul if h.data is not None and h.data.ndim == 2), None)
            if data is None:
                raise ValueError(f"{name} holds no 2-D image "
                                 f"(HDUs: {[getattr(h.data, 'shape', None) for h in hdul]})")
            return np.array(data, dtype=np.float32)


def _place_stamp(data: np.ndarray, size: int, xpos, ypos) -> tuple[np.ndarray, dict]:
    """Crop/pad one stamp to (size, size); pad on the chip-edge side when it is known."""
    info = {"pad_y0": 0, "pad_y1": 0, "pad_x0": 0, "pad_x1": 0, "pad_rule": "none",
            "clipped": False}
    for axis, pos, chip_len, keys in ((0, ypos, ZTF_QUADRANT_NY, ("pad_y0", "pad_y1")),
                                      (1, xpos, ZTF_QUADRANT_NX, ("pad_x0", "pad_x1"))):
        length = data.shape[axis]
        if length > size:  # larger than asked: central crop
            start = (length - size) // 2
            data = np.take(data, np.arange(start, start + size), axis=axis)
            continue
        missing = size - length
        if missing == 0:
            continue
        before, rule = _edge_padding(missing, size, pos, chip_len)
        widths = [(0, 0), (0, 0)]
        widths[axis] = (before, missing - before)
        data = np.pad(data, widths, constant_values=np.nan)
        info[keys[0]], info[keys[1]] = before, missing - before
        info["pad_rule"] = rule if info["pad_rule"] in ("none", rule) else "mixed"
        info["clipped"] = True
    return data, info


def _edge_padding(missing: int, size: int, pos, chip_len: int) -> tuple[int, str]:
    """Rows/columns of padding before the stamp, and the rule used.

    ``pos`` is the 1-based candidate position along this axis. A stamp centred on pixel
    ``round(pos)`` needs ``size // 2`` pixels on each side; the side that runs off the chip
    is the side to pad.
    """
    try:
        pos = float(pos)
    except (TypeError, ValueError):
        pos = math.nan
    if math.isfinite(pos):
        centre, half = int(round(pos)), size // 2
        short_before = half - (centre - 1) > 0
        short_after = half - (chip_len - centre) > 0
        if short_before and not short_after:
            return missing, "edge"
        if short_after and not short_before:
            return 0, "edge"
    return missing // 2, "centre"


# --------------------------------------------------------------------------------------------
# RB-C1000 FITS stamp table and numpy arrays
# --------------------------------------------------------------------------------------------
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
    labels = (_as_labels(scalars[label_col], f"{path.name}[{label_col}]")
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
        labels = _as_labels(labels, f"{path.name}[labels]")
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


# --------------------------------------------------------------------------------------------
# simulator
# --------------------------------------------------------------------------------------------
# FWHM grid [arcsec]. It starts at 1.6": sub-pixel placement by a Fourier phase is a
# band-limited interpolation, exact to <= 3.4 % of the peak at 1.6" (5.6 % at 1.4"),
# below 1 % from 2.2" on; ZTF references are rarely sharper than 1.6".
_PSF_FWHMS = np.round(np.arange(1.6, 3.21, 0.1), 2)
_PSF_BETAS = (2.5, 3.0, 3.5, 4.0)
_N_GALAXIES = 48
_READ_NOISE = 8.0  # e- per pixel, ZTF-like
_ZERO_POINT = 26.0  # mag for 1 e-


@dataclass(frozen=True)
class _Library:
    """Pre-drawn galsim profiles (Fourier transforms on the padded simulation grid)."""

    n: int
    ky: np.ndarray  # (n,) cycles / px
    kx: np.ndarray  # (n // 2 + 1,)
    # Point-symmetric profiles centred on pixel 0 have real transforms: stored real.
    psf_ft: np.ndarray  # (n_fwhm, n_beta, n, n // 2 + 1)
    psf_nea: np.ndarray  # (n_fwhm, n_beta) noise-equivalent area [px]
    psf_peak: np.ndarray  # (n_fwhm, n_beta) peak pixel / total flux
    gal_ft: np.ndarray  # (n_gal, n, n // 2 + 1), unit flux, centred at pixel 0
    gal_hlr: np.ndarray  # (n_gal,) half-light radius [px]
    k2: np.ndarray  # (n, n // 2 + 1) |k|^2 [cycles^2 / px^2]


@functools.lru_cache(maxsize=4)
def _library(pixel_scale: float, n: int) -> _Library:
    """Draw the Moffat PSFs and Sersic galaxies once per (pixel scale, grid size).

    Every source of a triplet is then placed by a Fourier phase shift (exact sub-pixel
    position) and convolved by a product of transforms, which keeps a triplet at about
    a millisecond instead of tens of milliseconds of galsim drawing.
    """
    import galsim

    ky, kx = np.fft.fftfreq(n), np.fft.rfftfreq(n)
    # offset (0.5, 0.5): centre the profile on pixel n // 2 of the even grid, which
    # ifftshift moves to pixel (0, 0), the origin of the convolution.
    draw = functools.partial(_draw_centred, n=n, scale=pixel_scale)
    psf_ft = np.empty((len(_PSF_FWHMS), len(_PSF_BETAS), n, n // 2 + 1))
    nea = np.empty((len(_PSF_FWHMS), len(_PSF_BETAS)))
    peak = np.empty_like(nea)
    for i, fwhm in enumerate(_PSF_FWHMS):
        for j, beta in enumerate(_PSF_BETAS):
            img = draw(galsim.Moffat(beta=beta, fwhm=float(fwhm)))
            img /= img.sum()
            psf_ft[i, j] = np.fft.rfft2(np.fft.ifftshift(img)).real
            nea[i, j] = 1.0 / np.sum(img**2)
            peak[i, j] = img.max()
    shapes = np.random.default_rng(20240601)  # fixed template shapes, not the user's rng
    gal_ft = np.empty((_N_GALAXIES, n, n // 2 + 1))
    hlr = np.empty(_N_GALAXIES)
    for g in range(_N_GALAXIES):
        sersic_n = (1.0, 1.5, 2.5, 4.0)[g % 4]
        hlr[g] = shapes.uniform(0.8, 4.5)  # arcsec
        profile = (galsim.Exponential(half_light_radius=hlr[g]) if sersic_n == 1.0 else
                   galsim.Sersic(n=sersic_n, half_light_radius=hlr[g], trunc=8 * hlr[g]))
        profile = profile.shear(e=shapes.uniform(0.0, 0.7),
                                beta=shapes.uniform(0.0, 180.0) * galsim.degrees)
        img = draw(profile)
        gal_ft[g] = np.fft.rfft2(np.fft.ifftshift(img / img.sum())).real
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    return _Library(n=n, ky=ky, kx=kx, psf_ft=psf_ft, psf_nea=nea, psf_peak=peak,
                    gal_ft=gal_ft, gal_hlr=hlr / pixel_scale, k2=k2)


def _draw_centred(profile, *, n: int, scale: float) -> np.ndarray:
    return profile.drawImage(nx=n, ny=n, scale=scale, offset=(0.5, 0.5)).array.astype(float)


def _scene(lib: _Library, sources, galaxy=None, offset=(0.0, 0.0)) -> np.ndarray:
    """Transform of point sources ``[(y, x, flux), ...]`` plus an optional galaxy.

    A delta at grid pixel (y, x) has the separable transform
    ``exp(-2 pi i ky y) exp(-2 pi i kx x)``: exact sub-pixel positions, and all sources
    at once in one broadcast sum. ``offset`` (dy, dx) shifts everything.
    """
    oy, ox = float(offset[0]), float(offset[1])
    if sources:
        src = np.asarray(sources, dtype=np.float64)
        ey = np.exp(-2j * np.pi * np.outer(src[:, 0] + oy, lib.ky)) * src[:, 2:3]
        ex = np.exp(-2j * np.pi * np.outer(src[:, 1] + ox, lib.kx))
        # a broadcast sum, not `ey.T @ ex`: threaded BLAS on tiny matrices is slower
        scene = (ey[:, :, None] * ex[:, None, :]).sum(axis=0)
    else:
        scene = np.zeros((lib.n, lib.n // 2 + 1), np.complex128)
    if galaxy is not None:
        g, y, x, flux = galaxy
        scene += np.outer(np.exp(-2j * np.pi * lib.ky * (y + oy)) * flux,
                          np.exp(-2j * np.pi * lib.kx * (x + ox))) * lib.gal_ft[g]
    return scene


def simulate_triplets(n_real: int, n_bogus: int, *, random_state=None, size: int = 63,
                      pixel_scale: float = 1.01, bogus_kinds: Sequence[str] | None = None,
                      edge_fraction: float = 0.04) -> CutoutSet:
    """Simulate ZTF-like real/bogus cutout triplets with galsim profiles.

    Each triplet is a scene (field stars, an optional Sersic/exponential host galaxy) seen
    through a Moffat PSF in the science image and a sharper one (FWHM 0.1-1.0 arcsec smaller)
    in a deeper reference (a coadd of 10-40 frames: lower noise). Both get sky, photon and
    read noise. The difference is science minus the reference convolved with a matching
    kernel (the ratio of the PSF transforms) that is slightly wrong, as a fitted kernel is:
    a few % kernel-width and flux-scale error and ~0.03 px registration error, so bright
    stars and galaxy nuclei leave small residuals.

    *Real* (label 1): a new or brightening point source, centred within +-1 px,
    difference SNR 5-100 (log-uniform), hostless, in a host galaxy, or on a variable star.
    *Bogus* (label 0), one kind per triplet, cycled through ``bogus_kinds``:

    ``cosmic_ray``
        sharp hits of 1-4 pixels or tracks of 5-25 px, in the science image only.
    ``hot_pixel``
        hot pixels or bad column/row segments through the centre, science only.
    ``dipole``
        a star whose science position is 0.4-1.5 px off its reference position.
    ``bad_subtraction``
        a bright star with a badly wrong matching kernel and flux scale: rings/donuts.
    ``saturated``
        a star saturating the science image, with bleed trails along the columns.
    ``ghost_edge``
        an out-of-focus optical ghost (soft donut, science only), or a chip edge: a NaN
        region plus a bright edge residual.

    Parameters
    ----------
    n_real, n_bogus : int
        Numbers of real and bogus triplets.
    random_state : None, int or numpy.random.Generator
        Seed; the same value gives identical arrays.
    size : int, default=63
        Cutout side in pixels.
    pixel_scale : float, default=1.01
        Arcsec per pixel (ZTF).
    bogus_kinds : sequence of str, optional
        Subset of :data:`BOGUS_KINDS` (default all); every listed kind appears when
        ``n_bogus >= len(bogus_kinds)``.
    edge_fraction : float, default=0.04
        Fraction of triplets of any label cut by a chip edge (NaN band, ``clipped=True``),
        as in real alert streams, so that clipping alone does not give the label away.

    Returns
    -------
    CutoutSet
        ``images`` (n_real + n_bogus, 3, size, size) float32 in e- (science and reference
        include the sky; the difference is sky-subtracted), rows in random order;
        ``labels`` 1/0; ``table`` columns ``kind`` ("real" or the bogus kind), ``subkind``,
        ``label``, ``snr``, ``host``, ``fwhm_sci``, ``fwhm_ref`` (arcsec), ``beta_sci``,
        ``beta_ref``, ``x_offset``, ``y_offset`` (px from the centre), ``sky``,
        ``sigma_sci``, ``sigma_ref`` (e-/px), ``n_ref_frames``, ``kernel_error`` (error of the
        matching kernel's variance, px^2), ``flux_error`` (relative), ``fid``,
        ``band``, ``magpsf``, ``isdiffpos``, ``clipped``, ``candid``, ``objectId``.

    Examples
    --------
    >>> cs = simulate_triplets(3, 6, random_state=0)
    >>> sorted(cs.table.kind.unique())[:3]
    ['bad_subtraction', 'cosmic_ray', 'dipole']
    """
    n_real, n_bogus = int(n_real), int(n_bogus)
    if n_real < 0 or n_bogus < 0:
        raise ValueError(f"n_real and n_bogus must be >= 0, got {n_real}, {n_bogus}.")
    kinds = tuple(BOGUS_KINDS if bogus_kinds is None else bogus_kinds)
    unknown = sorted(set(kinds) - set(BOGUS_KINDS))
    if unknown or not kinds:
        raise ValueError(f"unknown bogus kind(s) {unknown or kinds}; choose from {BOGUS_KINDS}.")
    if size < 15:
        raise ValueError(f"size must be >= 15 px, got {size}.")
    rng = np.random.default_rng(random_state)
    n_grid = 2 * ((size + 33) // 2)  # >= 16 px of margin: PSF wings do not wrap into the crop
    lib = _library(float(pixel_scale), n_grid)
    plan = ["real"] * n_real + [kinds[i % len(kinds)] for i in range(n_bogus)]
    plan = [plan[i] for i in rng.permutation(len(plan))]
    images = np.empty((len(plan), 3, size, size), np.float32)
    rows = []
    for t, kind in enumerate(plan):
        images[t], row = _simulate_one(kind, lib, rng, size, pixel_scale, edge_fraction)
        row.update(candid=t, objectId=f"SIM{t:08d}", kind=kind,
                   label=int(kind == "real"))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["band"] = table["fid"].map(ZTF_FID_TO_BAND)
    labels = np.array([int(k == "real") for k in plan], np.int64)
    return CutoutSet(
        images=images, clipped=table["clipped"].to_numpy(bool) if len(table) else None,
        table=table, ids=[f"sim-{t:06d}" for t in range(len(plan))], labels=labels,
        meta={"source": "simulate_triplets", "random_state": repr(random_state),
              "pixel_scale": pixel_scale, "bogus_kinds": kinds, "channels": CHANNELS})


def _simulate_one(kind: str, lib: _Library, rng: np.random.Generator, size: int,
                  pixel_scale: float, edge_fraction: float) -> tuple[np.ndarray, dict]:
    """One triplet (3, size, size) and its table row."""
    n = lib.n
    p0 = (n - size) // 2  # crop origin on the grid
    c = p0 + size // 2  # stamp centre on the grid
    # observing conditions: reference sharper and deeper
    i_ref = int(rng.integers(0, len(_PSF_FWHMS) - 8))
    i_sci = min(i_ref + int(rng.integers(1, 11)), len(_PSF_FWHMS) - 1)
    b_sci, b_ref = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    psf_sci, psf_ref = lib.psf_ft[i_sci, b_sci], lib.psf_ft[i_ref, b_ref]
    sky = float(rng.uniform(100.0, 800.0))
    sky_ref = sky * float(rng.uniform(0.6, 1.4))
    n_frames = int(rng.integers(10, 41))
    var_sky = sky + _READ_NOISE**2
    sigma_sci = math.sqrt(var_sky)
    sigma_ref = math.sqrt((sky_ref + _READ_NOISE**2) / n_frames)
    sigma_diff = math.sqrt(sigma_sci**2 + sigma_ref**2)
    nea = lib.psf_nea[i_sci, b_sci]
    s_sci = _PSF_FWHMS[i_sci] / pixel_scale / 2.3548  # Gaussian-equivalent sigma [px]
    s_ref = _PSF_FWHMS[i_ref] / pixel_scale / 2.3548
    width_var = s_sci**2 - s_ref**2  # variance of the ideal matching kernel [px^2]
    snr_flux = sigma_diff * math.sqrt(nea)  # flux of an SNR-1 point source in the difference

    # point sources as (y, x, flux) on the grid; both images share the constant ones
    sci_src: list[tuple[float, float, float]] = []
    ref_src: list[tuple[float, float, float]] = []
    # field stars anywhere but the central 5 px (they are constant: only residuals remain)
    for _ in range(int(rng.poisson(rng.uniform(2.0, 12.0)))):
        y, x = rng.uniform(0, n, 2)
        if math.hypot(y - c, x - c) < 5.0:
            continue
        flux = snr_flux * float(np.exp(rng.uniform(np.log(3.0), np.log(400.0))))
        sci_src.append((y, x, flux))
        ref_src.append((y, x, flux))

    host = bool(rng.random() < (0.4 if kind == "real" else 0.2))
    galaxy = None
    if host:
        g = int(rng.integers(0, len(lib.gal_hlr)))
        r = rng.uniform(0.0, 1.5) * lib.gal_hlr[g]
        ang = rng.uniform(0, 2 * np.pi)
        flux = snr_flux * float(np.exp(rng.uniform(np.log(30.0), np.log(500.0))))
        galaxy = (g, c + r * np.sin(ang), c + r * np.cos(ang), flux)

    dy, dx = rng.uniform(-1.0, 1.0, 2)
    kernel_error = float(rng.normal(0.0, 0.04)) * width_var  # error of the kernel variance [px^2]
    flux_error = float(rng.normal(0.0, 0.01))
    reg = rng.normal(0.0, 0.03, 2)  # residual registration error of the reference [px]
    snr, subkind = np.nan, ""
    sat_level = np.inf
    if kind == "real":
        snr = float(np.exp(rng.uniform(np.log(5.0), np.log(100.0))))
        flux = snr * snr_flux
        subkind = "host" if host else str(rng.choice(["hostless", "variable"], p=[0.6, 0.4]))
        base = flux * float(rng.uniform(0.2, 3.0)) if subkind == "variable" else 0.0
        sci_src.append((c + dy, c + dx, flux + base))
        if base:  # a star already in the reference, now brighter
            ref_src.append((c + dy, c + dx, base))
    elif kind in ("dipole", "bad_subtraction", "saturated"):
        lo, hi = {"dipole": (30.0, 300.0), "bad_subtraction": (150.0, 800.0),
                  "saturated": (300.0, 600.0)}[kind]
        snr = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        flux = snr * snr_flux
        shift = np.zeros(2)
        if kind == "dipole":
            subkind = "misaligned_star"
            ang = rng.uniform(0, 2 * np.pi)
            shift = rng.uniform(0.4, 1.5) * np.array([np.sin(ang), np.cos(ang)])
        elif kind == "bad_subtraction":
            subkind = str(rng.choice(["kernel_too_narrow", "kernel_too_wide"]))
            kernel_error = (-float(rng.uniform(0.4, 1.5)) if subkind == "kernel_too_narrow"
                            else float(rng.uniform(0.5, 2.0)))
            flux_error = float(rng.choice([-1, 1]) * rng.uniform(0.05, 0.2))
        else:
            subkind = "bleed_trail"
            peak = lib.psf_peak[i_sci, b_sci] * flux
            sat_level = float(sky + peak / rng.uniform(1.5, 30.0))
        ref_src.append((c + dy, c + dx, flux))
        sci_src.append((c + dy + shift[0], c + dx + shift[1],
                        flux * (1 + rng.normal(0, 0.03))))

    # render: product of transforms = convolution with the galsim PSF
    scene_sci = _scene(lib, sci_src, galaxy)
    scene_ref = _scene(lib, ref_src, galaxy, offset=reg)
    sci_model = np.fft.irfft2(scene_sci * psf_sci, s=(n, n))[p0:p0 + size, p0:p0 + size]
    ref_model = np.fft.irfft2(scene_ref * psf_ref, s=(n, n))
    sci = sci_model + sky + rng.standard_normal((size, size)) * np.sqrt(
        var_sky + np.maximum(sci_model, 0.0))
    ref = ref_model + rng.standard_normal((n, n)) * np.sqrt(
        (sky_ref + _READ_NOISE**2 + np.maximum(ref_model, 0.0)) / n_frames)
    if kind == "saturated":
        sci, sat_mask = _saturate(sci, sat_level, rng)
        ref = np.minimum(ref, (sat_level - sky) * rng.uniform(0.6, 1.0))  # clipped coadd
    # PSF matching. A fitted kernel (HOTPANTS-like) matches the PSFs well: the ratio of the
    # transforms, blurred or sharpened by a small width error. A failed fit (bad_subtraction)
    # is a Gaussian of the wrong width, which also ignores the different Moffat wings.
    if kind == "bad_subtraction":
        bad_var = max(width_var + kernel_error, 0.0)
        kernel = np.exp(-2.0 * np.pi**2 * bad_var * lib.k2)
    else:
        ratio = psf_sci * psf_ref / (psf_ref**2 + 1e-6)
        kernel = ratio * np.exp(-2.0 * np.pi**2 * kernel_error * lib.k2)
    kernel = kernel * (1.0 + flux_error)
    matched = np.fft.irfft2(np.fft.rfft2(ref) * kernel, s=(n, n))[p0:p0 + size, p0:p0 + size]
    ref_crop = ref[p0:p0 + size, p0:p0 + size] + sky_ref

    cy, cx = size // 2 + dy, size // 2 + dx
    if kind in ("cosmic_ray", "hot_pixel"):
        subkind, artefact = _sharp_artefact(kind, rng, size, cy, cx, sigma_sci)
        sci = sci + artefact
    elif kind == "ghost_edge":
        subkind = str(rng.choice(["ghost", "chip_edge"]))
        if subkind == "ghost":
            artefact = _ghost(rng, size, cy, cx, sigma_sci)
            sci = sci + artefact
    diff = sci - sky - matched
    if kind == "saturated" and rng.random() < 0.5:
        diff[sat_mask] = np.nan  # pipelines often mask saturated pixels in the difference
    triplet = np.stack([sci, ref_crop, diff])

    clipped = False
    if kind == "ghost_edge" and subkind == "chip_edge":
        clipped = True
        _chip_edge(triplet, rng, size, sigma_diff, artefact=True)
    elif rng.random() < edge_fraction:
        clipped = True
        _chip_edge(triplet, rng, size, sigma_diff, artefact=False)

    fid = int(rng.integers(1, 3))
    star_flux = snr * snr_flux if math.isfinite(snr) else np.nan
    row = {
        "subkind": subkind, "snr": snr, "host": host,
        "fwhm_sci": float(_PSF_FWHMS[i_sci]), "fwhm_ref": float(_PSF_FWHMS[i_ref]),
        "beta_sci": _PSF_BETAS[b_sci], "beta_ref": _PSF_BETAS[b_ref],
        "x_offset": float(dx), "y_offset": float(dy), "sky": sky,
        "sigma_sci": sigma_sci, "sigma_ref": sigma_ref, "n_ref_frames": n_frames,
        "kernel_error": kernel_error, "flux_error": flux_error, "fid": fid,
        "magpsf": _ZERO_POINT - 2.5 * math.log10(star_flux) if star_flux > 0 else np.nan,
        "isdiffpos": 1.0, "clipped": clipped,
    }
    return triplet.astype(np.float32), row


def _saturate(sci: np.ndarray, level: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Clip at the full well and spill the excess charge up and down the columns."""
    sci = sci.copy()
    over = sci > level
    size = sci.shape[0]
    for col in np.flatnonzero(over.any(axis=0)):
        rows = np.flatnonzero(over[:, col])
        excess = float(np.sum(sci[rows, col] - level))
        n_bleed = int(min(excess / level * rng.uniform(0.5, 1.5), size))
        lo = max(rows.min() - n_bleed // 2, 0)
        hi = min(rows.max() + 1 + n_bleed - n_bleed // 2, size)
        over[lo:hi, col] = True
    sci[over] = level
    return sci, over


def _sharp_artefact(kind: str, rng, size: int, cy: float, cx: float,
                    sigma: float) -> tuple[str, np.ndarray]:
    """Cosmic ray / hot pixel / bad column (not convolved by the PSF)."""
    img = np.zeros((size, size))
    amp = sigma * float(np.exp(rng.uniform(np.log(8.0), np.log(300.0))))
    iy, ix = int(round(cy)), int(round(cx))
    if kind == "cosmic_ray":
        if rng.random() < 0.5:
            subkind = "single"
            for _ in range(int(rng.integers(1, 5))):
                yy = min(max(iy + int(rng.integers(-1, 2)), 0), size - 1)
                xx = min(max(ix + int(rng.integers(-1, 2)), 0), size - 1)
                img[yy, xx] += amp * rng.uniform(0.3, 1.0)
        else:
            subkind = "track"
            length = rng.uniform(5.0, 25.0)
            ang = rng.uniform(0, np.pi)
            t = np.linspace(-length / 2, length / 2, int(length * 4))
            ys, xs = cy + t * np.sin(ang), cx + t * np.cos(ang)
            _deposit(img, ys, xs, np.full(t.size, amp / 4 * rng.uniform(0.5, 1.0)))
    else:
        subkind = str(rng.choice(["hot_pixel", "bad_column", "bad_row"], p=[0.5, 0.3, 0.2]))
        if subkind == "hot_pixel":
            img[iy, ix] = amp
            if rng.random() < 0.3:
                img[iy, min(ix + 1, size - 1)] = amp * rng.uniform(0.2, 0.8)
        else:
            level = sigma * rng.uniform(3.0, 30.0)
            lo = int(rng.integers(0, iy + 1))
            hi = int(rng.integers(iy + 1, size + 1))
            if subkind == "bad_column":
                img[lo:hi, ix] = level
                img[iy, ix] += amp
            else:
                img[iy, lo:hi] = level
                img[iy, ix] += amp
    return subkind, img


def _deposit(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, w: np.ndarray) -> None:
    """Bilinear deposit of point weights (an anti-aliased line)."""
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    h, wd = img.shape
    for oy, ox, ww in ((0, 0, (1 - fy) * (1 - fx)), (1, 0, fy * (1 - fx)),
                       (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
        yy, xx = y0 + oy, x0 + ox
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < wd)
        np.add.at(img, (yy[ok], xx[ok]), (w * ww)[ok])


def _ghost(rng, size: int, cy: float, cx: float, sigma: float) -> np.ndarray:
    """Out-of-focus reflection: a soft-edged donut near the centre, science only."""
    yy, xx = np.mgrid[0:size, 0:size]
    oy, ox = rng.uniform(-2.0, 2.0, 2)
    r = np.hypot(yy - cy - oy, xx - cx - ox)
    r_out = rng.uniform(3.0, 10.0)
    r_in = r_out * rng.uniform(0.3, 0.6)
    soft = 0.7
    ring = (1 / (1 + np.exp((r - r_out) / soft))) * (1 / (1 + np.exp((r_in - r) / soft)))
    return ring * sigma * rng.uniform(2.0, 10.0)


def _chip_edge(triplet: np.ndarray, rng, size: int, sigma: float, *, artefact: bool) -> None:
    """NaN band from one side (a detector edge), optionally with an edge residual strip."""
    depth = int(rng.integers(size // 2 - 10, size // 2 - 1)) if artefact else int(
        rng.integers(3, size // 3))
    side = int(rng.integers(0, 4))  # 0: low y, 1: high y, 2: low x, 3: high x
    view = triplet if side < 2 else triplet.transpose(0, 2, 1)
    band = slice(0, depth) if side % 2 == 0 else slice(size - depth, size)
    if artefact:  # ringing at the boundary the pipeline detects as a source
        edge = depth if side % 2 == 0 else size - depth - 1
        strip = sigma * rng.uniform(5.0, 50.0) * rng.uniform(0.5, 1.0, size)
        view[0, edge] += strip
        view[2, edge] += strip
    view[:, band] = np.nan
