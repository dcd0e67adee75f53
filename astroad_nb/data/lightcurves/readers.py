"""Readers of real light-curve formats, each returning a :class:`LightCurves`.

* :func:`read_detections`: ZTF/ALeRCE detection tables (CSV or Parquet, alert column names);
* :func:`read_lightcurve_folder`: a folder with one CSV (``time, mag, magerr, band``) per object.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.lightcurves.containers import LightCurves, _normalise_band_values

__all__ = ["read_detections", "read_lightcurve_folder"]

_DETECTION_ALIASES = {
    "object_id": ["objectId", "oid", "object_id", "objectid", "id"],
    "band": ["fid", "band", "filter", "passband"],
    "mjd": ["mjd", "time", "jd"],
    "mag": ["magpsf", "mag"],
    "magerr": ["sigmapsf", "magerr", "mag_err", "e_mag"],
}


def _read_table(path_or_frame, *, who: str) -> tuple[pd.DataFrame, str]:
    if isinstance(path_or_frame, pd.DataFrame):
        return path_or_frame, "<DataFrame>"
    path = Path(path_or_frame)
    if not path.exists():
        raise FileNotFoundError(f"{who}: no such file {str(path)!r}.")
    suffixes = "".join(path.suffixes).lower()
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:  # pandas/pyarrow messages do not name the file
        raise ValueError(f"{path.name}: could not be read as CSV/Parquet ({exc}); "
                         "check the format and that the file is complete.") from exc
    return frame, path.name


def _pick(frame: pd.DataFrame, role: str, source: str, candidates: Sequence[str]) -> str:
    for name in candidates:
        if name in frame.columns:
            return name
    raise ValueError(
        f"{source}: missing required column for {role!r} (one of {list(candidates)}); "
        f"columns found: {list(frame.columns)}. Rename the column or pass a DataFrame."
    )


def read_detections(path_or_frame, *, use_corrected: bool = False,
                    bands: Sequence[str] | None = None) -> LightCurves:
    """Read a ZTF/ALeRCE detection table into :class:`LightCurves`.

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        CSV or Parquet file (``.parquet``), or a DataFrame, with one row per detection.
        Column names recognised (first match wins):

        ========== =============================================================
        role       columns
        ========== =============================================================
        object id  ``objectId``, ``oid``, ``object_id``, ``objectid``, ``id``
        band       ``fid`` (1=g, 2=r, 3=i), ``band``, ``filter``, ``passband``
        time       ``mjd``, ``time``; or ``jd`` converted as MJD = JD - 2400000.5
        magnitude  ``magpsf``, ``mag``
        error      ``sigmapsf``, ``magerr``, ``mag_err``, ``e_mag``
        ========== =============================================================
    use_corrected : bool, default=False
        Use ALeRCE's corrected magnitudes (``magpsf_corr`` with ``sigmapsf_corr_ext``, else
        ``sigmapsf_corr``). Per object and band, when any corrected value is unusable
        (NaN, or an error >= 10 mag, ALeRCE's 100-mag placeholder), that curve falls back to
        ``magpsf``/``sigmapsf`` (corrected and difference magnitudes are never mixed in one
        curve); the count is in ``notes``. Without the corrected columns at all, every curve
        falls back, with a note.
    bands : sequence of str, optional
        Keep only these bands (e.g. ``("g", "r")``); default keeps all.

    Returns
    -------
    LightCurves
        ``meta`` holds, per object, ``n_det`` and (when present in the table) ``ra``/``dec``
        means; ``notes`` lists fall-backs and cleaning.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a required column is missing (the message names the file, the missing role and
        the columns found), or when the ``fid`` column holds an unknown filter id.
    """
    frame, source = _read_table(path_or_frame, who="read_detections")
    oid_col = _pick(frame, "object id", source, _DETECTION_ALIASES["object_id"])
    band_col = _pick(frame, "band", source, _DETECTION_ALIASES["band"])
    time_col = _pick(frame, "time", source, _DETECTION_ALIASES["mjd"])
    mag_col = _pick(frame, "mag", source, _DETECTION_ALIASES["mag"])
    err_col = _pick(frame, "magerr", source, _DETECTION_ALIASES["magerr"])

    time = pd.to_numeric(frame[time_col], errors="coerce").to_numpy(np.float64)
    if time_col == "jd":
        time = time - 2400000.5
    band = _normalise_band_values(frame[band_col], source)
    out = pd.DataFrame({
        "object_id": frame[oid_col].astype(str).to_numpy(),
        "band": band.to_numpy(),
        "time": time,
        "mag": pd.to_numeric(frame[mag_col], errors="coerce").to_numpy(np.float64),
        "magerr": pd.to_numeric(frame[err_col], errors="coerce").to_numpy(np.float64),
    })
    notes = []
    if use_corrected:
        err_corr_col = next((c for c in ("sigmapsf_corr_ext", "sigmapsf_corr")
                             if c in frame.columns), None)
        if "magpsf_corr" not in frame.columns or err_corr_col is None:
            notes.append(f"{source}: use_corrected=True but no magpsf_corr/sigmapsf_corr "
                         "columns; used magpsf/sigmapsf for every object")
        else:
            mc = pd.to_numeric(frame["magpsf_corr"], errors="coerce").to_numpy(np.float64)
            ec = pd.to_numeric(frame[err_corr_col], errors="coerce").to_numpy(np.float64)
            usable = np.isfinite(mc) & np.isfinite(ec) & (ec >= 0) & (ec < 10.0)
            key = out["object_id"] + "\x00" + out["band"]
            curve_ok = pd.Series(usable).groupby(key.to_numpy()).transform("all").to_numpy()
            out.loc[curve_ok, "mag"] = mc[curve_ok]
            out.loc[curve_ok, "magerr"] = ec[curve_ok]
            n_fallback = int(pd.unique(key[~curve_ok]).size)
            if n_fallback:
                notes.append(f"{source}: {n_fallback} object/band curve(s) had unusable "
                             "corrected magnitudes; used magpsf/sigmapsf for them")
    if bands is not None:
        keep = {str(b).lower() for b in bands}
        out = out[out["band"].isin(keep)]

    meta = pd.DataFrame(index=pd.Index(pd.unique(frame[oid_col].astype(str)), name="object_id"))
    meta["n_det"] = out.groupby("object_id").size().reindex(meta.index).fillna(0).astype(int)
    for col, name in (("ra", "ra"), ("dec", "dec")):
        if col in frame.columns:
            meta[name] = pd.to_numeric(frame[col], errors="coerce").groupby(
                frame[oid_col].astype(str)).mean().reindex(meta.index)
    lcs = LightCurves(out, meta, source=source)
    lcs.notes = notes + lcs.notes
    return lcs


def read_lightcurve_folder(path, *, pattern: str = "*.csv",
                           on_error: str = "raise") -> LightCurves:
    """Read a folder with one CSV light curve per object.

    Parameters
    ----------
    path : str or pathlib.Path
        Folder; each file matching ``pattern`` holds columns ``time`` (MJD), ``mag``,
        ``magerr``, ``band``. The object id is the file stem (``ZTF18aadlaxo.csv`` ->
        ``'ZTF18aadlaxo'``).
    pattern : str, default="*.csv"
        Glob pattern of the files to read.
    on_error : {"raise", "skip"}, default="raise"
        What to do with an unreadable file or one lacking a column: raise a ``ValueError``
        naming the file, or skip it and record ``(file name, reason)`` in
        ``lcs.skipped``.

    Returns
    -------
    LightCurves
        ``meta`` has a ``file`` column (the file name).

    Raises
    ------
    FileNotFoundError
        When the folder does not exist or no file matches ``pattern``.
    ValueError
        For a bad file when ``on_error="raise"``, or a bad ``on_error``.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"read_lightcurve_folder: {str(folder)!r} is not a folder.")
    files = sorted(folder.glob(pattern))
    if not files:
        raise FileNotFoundError(f"{folder}: no file matches {pattern!r}; pass pattern=... "
                                f"(found e.g. {[p.name for p in sorted(folder.iterdir())[:3]]}).")
    wanted = ["time", "mag", "magerr", "band"]
    frames, skipped, names = [], [], []
    for file in files:
        try:
            part = pd.read_csv(file, dtype={"band": str})
            missing = [c for c in wanted if c not in part.columns]
            if missing:
                raise ValueError(f"lacks column(s) {missing}; has {list(part.columns)}; "
                                 f"expected {wanted}")
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ValueError) else f"unreadable ({exc})"
            if on_error == "raise":
                raise ValueError(f"{file.name}: {reason}. Fix the file or pass "
                                 "on_error='skip'.") from exc
            skipped.append((file.name, reason))
            continue
        part = part[wanted]
        part.insert(0, "object_id", file.stem)
        frames.append(part)
        names.append(file)
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["object_id", *wanted])
    meta = pd.DataFrame({"file": [f.name for f in names]},
                        index=pd.Index([f.stem for f in names], name="object_id"))
    lcs = LightCurves(data, meta, source=str(folder))
    lcs.skipped = skipped
    if skipped:
        lcs.notes.append(f"skipped {len(skipped)} file(s); see .skipped")
    return lcs

