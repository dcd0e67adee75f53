"""Gaia catalogue readers (CSV, FITS, VOTable, pandas HDF5), one small function per format.

:func:`read_gaia` picks the reader from the suffix, lower-cases the column names and checks
the required ones; :func:`missing_astrometry` counts the rows with NaN astrometry, which
readers keep (Gaia 2-parameter solutions have NaN parallax and proper motions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["GAIA_COLUMNS", "ASTROMETRY_COLUMNS", "read_gaia", "missing_astrometry"]

#: Columns :func:`read_gaia` requires by default (Gaia archive names).
GAIA_COLUMNS = (
    "source_id",
    "ra",
    "dec",
    "parallax",
    "pmra",
    "pmdec",
    "phot_g_mean_mag",
    "phot_bp_mean_mag",
    "phot_rp_mean_mag",
)
#: Astrometric columns whose NaNs :func:`missing_astrometry` counts.
ASTROMETRY_COLUMNS = ("ra", "dec", "parallax", "pmra", "pmdec")

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".votable": "votable",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
}


def _guess_format(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(_SUFFIX_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIX_FORMATS[suffix]
    raise ValueError(
        f"{path}: cannot tell the format from the suffix {path.suffix!r}; expected one of "
        f"{sorted(_SUFFIX_FORMATS)}. Fix: pass format='csv'|'fits'|'votable'|'hdf5'.")


def _table_to_frame(table, path) -> pd.DataFrame:
    # Multidimensional columns cannot become DataFrame columns; Gaia tables rarely have them.
    keep = [name for name in table.colnames if len(table[name].shape) <= 1]
    try:
        return table[keep].to_pandas()
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise ValueError(f"{path}: could not convert the table to a DataFrame ({exc}).") from exc


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({exc}). Expected a Gaia CSV "
                         "export with a header row.") from exc


def _read_fits(path: Path, hdu=1, **kwargs) -> pd.DataFrame:
    from astropy.table import Table

    try:
        table = Table.read(path, format="fits", hdu=hdu, **kwargs)
    except (OSError, ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable FITS table in HDU {hdu!r} ({exc}). Expected "
                         "a binary table (Gaia archive FITS export).") from exc
    return _table_to_frame(table, path)


def _read_votable(path: Path, **kwargs) -> pd.DataFrame:
    from astropy.table import Table

    try:
        table = Table.read(path, format="votable", **kwargs)
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds here
        raise ValueError(f"{path}: not a readable VOTable ({exc}). Expected a Gaia archive "
                         "VOTable export.") from exc
    return _table_to_frame(table, path)


def _read_hdf5(path: Path, key=None, **kwargs) -> pd.DataFrame:
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            if key is None:
                if len(keys) != 1:
                    raise ValueError(
                        f"{path}: holds {len(keys)} tables {keys}; expected one. Fix: "
                        "read_gaia(path, key='/name').")
                key = keys[0]
            return store.select(key, **kwargs)
    except (OSError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path}: not a readable pandas HDF5 store ({exc}). Expected a file written by "
            "DataFrame.to_hdf (PyTables); for plain HDF5 tables convert to FITS or CSV.") from exc


_READERS = {"csv": _read_csv, "fits": _read_fits, "votable": _read_votable, "hdf5": _read_hdf5}


def _check_columns(frame: pd.DataFrame, required, path) -> None:
    missing = [col for col in required if col not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: missing required column(s) {missing}; found {list(frame.columns)}. "
            "Expected Gaia archive names (e.g. phot_g_mean_mag, pmra). Fix: rename the columns "
            "or pass required=(...) with the columns you have.")


def read_gaia(path, *, required=GAIA_COLUMNS, format=None, **kwargs) -> pd.DataFrame:
    """Read a Gaia catalogue (CSV, FITS, VOTable or pandas HDF5) into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        The file. The format is picked from the suffix (``.csv``, ``.fits``/``.fit``,
        ``.vot``/``.xml``, ``.h5``/``.hdf5``/``.hdf``) unless ``format`` is given.
    required : sequence of str, default ``GAIA_COLUMNS``
        Columns that must be present (Gaia archive names; column names are lower-cased first,
        so ``SOURCE_ID`` is found as ``source_id``). Error columns (``*_error``) are kept when
        present but never required.
    format : {'csv', 'fits', 'votable', 'hdf5'}, optional
    **kwargs
        Passed to the format reader (``key=`` for HDF5 stores with several tables,
        ``hdu=`` for FITS).

    Returns
    -------
    pandas.DataFrame, shape (n_stars, n_columns)
        Index = ``source_id`` (int64) when that column is present and complete, else a
        RangeIndex. Rows with NaN astrometry are kept (see :func:`missing_astrometry`).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be parsed, or a required column is missing (the message names the
        file, the missing columns, and lists the columns found).

    Examples
    --------
    >>> stars = read_gaia("gd1_field.fits")  # doctest: +SKIP
    >>> stars.loc[633363127357046016, "pmra"]  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Gaia catalogue file.")
    fmt = (format or _guess_format(path)).lower()
    if fmt not in _READERS:
        raise ValueError(f"{path}: unknown format {fmt!r}; expected one of {sorted(_READERS)}.")
    frame = _READERS[fmt](path, **kwargs)
    frame.columns = [str(col).strip().lower() for col in frame.columns]
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("unnamed:")]]
    _check_columns(frame, required, path)
    if "source_id" in frame.columns and frame["source_id"].notna().all():
        frame = frame.set_index(frame["source_id"].astype(np.int64)).drop(columns="source_id")
        frame.index.name = "source_id"
    return frame


def missing_astrometry(frame: pd.DataFrame, columns=ASTROMETRY_COLUMNS) -> dict:
    """Count rows with NaN in each astrometric column.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_stars, n_columns)
    columns : sequence of str
        Columns to check; those absent from ``frame`` are skipped.

    Returns
    -------
    dict
        ``{column: n_nan, ..., "any": n_rows_with_any_nan, "n_rows": n_stars}``.
    """
    present = [c for c in columns if c in frame.columns]
    nan = frame[present].isna()
    report = {c: int(nan[c].sum()) for c in present}
    report["any"] = int(nan.any(axis=1).sum())
    report["n_rows"] = len(frame)
    return report
