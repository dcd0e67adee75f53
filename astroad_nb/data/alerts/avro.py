"""Reader of ZTF Avro alert packets (any 3.x schema, codecs null/deflate/snappy)."""

from __future__ import annotations

import glob as _glob
import math
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.alerts.containers import CHANNELS, CutoutSet
from astroad_nb.data.alerts.cutouts import _alert_cutouts
from astroad_nb.data.bands import ZTF_FID_TO_BAND

__all__ = ["read_alerts"]

# Columns every alert table has (NaN / <NA> / None when a packet lacks them).
_FLOAT_COLUMNS = (
    "jd", "mjd", "magpsf", "sigmapsf", "rb", "drb", "isdiffpos", "ra", "dec", "diffmaglim",
    "fwhm", "elong", "nbad", "xpos", "ypos", "magzpsci", "classtar", "distnr", "magnr",
    "sgscore1", "distpsnr1", "ndethist", "ncovhist", "jdstarthist", "jdendhist", "sky",
)
# Integer identifiers: pandas nullable Int64 so 19-digit candids stay exact.
_INT_COLUMNS = ("candid", "pid", "fid", "programid", "field", "rcid")
_STR_COLUMNS = ("objectId", "band", "schemavsn", "publisher")


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

