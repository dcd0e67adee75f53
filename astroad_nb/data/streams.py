"""Stellar-stream data: Gaia catalogue readers, the seed's stream layouts, and a gala simulator.

Everything here returns plain containers: a :class:`pandas.DataFrame` of stars (one row per
star, Gaia column names, angles in deg, proper motions in mas/yr, parallax in mas, magnitudes
in mag) wrapped, for the membership task, in a :class:`StreamProblem` (field + truth + support).

NaN astrometry
--------------
Readers keep rows with missing astrometry or photometry (Gaia 2-parameter solutions have NaN
parallax/proper motions); nothing is dropped silently. :func:`missing_astrometry` reports how
many rows miss each column, and :func:`astroad_nb.features.streams.stream_features` drops (or
keeps, or refuses) them explicitly, keeping the index so every score stays traceable to a star.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "GAIA_COLUMNS",
    "ASTROMETRY_COLUMNS",
    "StreamProblem",
    "ClusterBusters",
    "read_gaia",
    "missing_astrometry",
    "read_clusterbusters",
    "read_gd1_dr2",
    "gaia_errors",
    "old_population_cmd",
    "simulate_stream",
    "simulate_gd1",
    "simulate_foreground",
    "simulate_stream_problem",
    "simulate_stream_problems",
]

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


# --------------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class StreamProblem:
    """One stream-membership task: a field of stars, the true members, and a support set.

    Parameters
    ----------
    field : pandas.DataFrame, shape (n_stars, n_columns)
        The stars (Gaia column names). Its index must be unique: it is how support sets,
        truth and scores refer to stars.
    truth : array of bool, shape (n_stars,), or None
        ``True`` for stream members when known (simulations, the seed's labelled fields).
    support : index labels, or bool array of shape (n_stars,), or None
        The known members given to the model (the support set). Stored as a
        :class:`pandas.Index` of ``field`` labels. ``None`` means "not drawn yet" (see
        :meth:`draw_support`); an empty support set is an error. A single member is allowed.
    name : str
        Stream name, e.g. ``"stream-1667"`` or ``"GD-1"``.
    meta : dict
        Provenance (files read, simulation parameters, caveats).

    Raises
    ------
    ValueError
        If the field index is not unique, ``truth`` has the wrong length, a support label is
        not in the field, or the support set is empty.
    """

    field: pd.DataFrame
    truth: np.ndarray | None = None
    support: pd.Index | None = None
    name: str = ""
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.field, pd.DataFrame):
            raise TypeError(
                f"StreamProblem {self.name!r}: field must be a pandas DataFrame, got "
                f"{type(self.field).__name__}.")
        if not self.field.index.is_unique:
            dup = self.field.index[self.field.index.duplicated()][:5].tolist()
            raise ValueError(
                f"StreamProblem {self.name!r}: the field index must be unique (it names the "
                f"stars), found duplicated labels such as {dup}. Fix: field.reset_index(drop=True)"
                " or index by source_id.")
        if self.truth is not None:
            truth = np.asarray(self.truth)
            if truth.shape != (len(self.field),):
                raise ValueError(
                    f"StreamProblem {self.name!r}: truth has shape {truth.shape}, expected "
                    f"({len(self.field)},) (one flag per field star).")
            self.truth = truth.astype(bool)
        if self.support is not None:
            self.support = self._as_labels(self.support)

    def _as_labels(self, support) -> pd.Index:
        values = np.asarray(support)
        if values.dtype == bool:
            if values.shape != (len(self.field),):
                raise ValueError(
                    f"StreamProblem {self.name!r}: a boolean support mask has shape "
                    f"{values.shape}, expected ({len(self.field)},).")
            labels = self.field.index[values]
        else:
            labels = pd.Index(support)
        if len(labels) == 0:
            raise ValueError(
                f"StreamProblem {self.name!r}: the support set is empty; at least one known "
                "member is needed. Fix: pass the labels of known members, or call "
                "problem.draw_support(n_support, random_state=...) when truth is known.")
        missing = labels[~labels.isin(self.field.index)]
        if len(missing):
            raise ValueError(
                f"StreamProblem {self.name!r}: {len(missing)} support labels are not in the "
                f"field index, e.g. {missing[:5].tolist()}; the field index holds "
                f"{self.field.index[:3].tolist()}... Support labels must be field index labels.")
        if not labels.is_unique:
            labels = labels.unique()
        return labels

    # -- sizes and views ---------------------------------------------------------------------
    @property
    def n_stars(self) -> int:
        """Number of field stars."""
        return len(self.field)

    @property
    def n_members(self) -> int:
        """Number of true members (``truth.sum()``), or the support size when truth is unknown."""
        if self.truth is not None:
            return int(self.truth.sum())
        return 0 if self.support is None else len(self.support)

    @property
    def n_support(self) -> int:
        """Size of the support set (0 when not drawn yet)."""
        return 0 if self.support is None else len(self.support)

    @property
    def support_mask(self) -> np.ndarray:
        """Bool array, shape (n_stars,): ``True`` for support-set stars."""
        if self.support is None:
            return np.zeros(len(self.field), dtype=bool)
        return self.field.index.isin(self.support)

    @property
    def query_mask(self) -> np.ndarray:
        """Bool array, shape (n_stars,): stars to score (everything but the support set)."""
        return ~self.support_mask

    def support_frame(self) -> pd.DataFrame:
        """Rows of the field in the support set, shape (n_support, n_columns).

        Raises
        ------
        ValueError
            If no support set has been given or drawn yet.
        """
        if self.support is None:
            raise ValueError(
                f"StreamProblem {self.name!r} has no support set yet. Fix: "
                "problem.draw_support(n_support, random_state=...).")
        return self.field.loc[self.support]

    def members_frame(self) -> pd.DataFrame:
        """Rows of the field flagged as true members, shape (n_members, n_columns)."""
        if self.truth is None:
            raise ValueError(f"StreamProblem {self.name!r} has no truth (unlabelled field).")
        return self.field[self.truth]

    def subset(self, rows) -> StreamProblem:
        """A new problem restricted to ``rows`` (bool mask of shape (n_stars,) or index labels).

        The support set keeps the members that remain; if none remain it becomes ``None`` when
        the original had none, else a ``ValueError`` is raised (an empty support set is an
        error, never silently accepted).
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            mask = rows
        else:
            mask = self.field.index.isin(pd.Index(rows))
        support = None
        if self.support is not None:
            support = self.support[self.support.isin(self.field.index[mask])]
        return StreamProblem(
            field=self.field[mask],
            truth=None if self.truth is None else self.truth[mask],
            support=support,
            name=self.name,
            meta=dict(self.meta),
        )

    def draw_support(self, n_support: int, *, random_state=None) -> StreamProblem:
        """A copy with a support set of ``n_support`` true members drawn at random.

        Parameters
        ----------
        n_support : int
            Size of the support set, ``1 <= n_support <= n_members``.
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        StreamProblem
        """
        if self.truth is None:
            raise ValueError(
                f"StreamProblem {self.name!r}: cannot draw a support set without truth; pass "
                "support labels of known members instead.")
        members = self.field.index[self.truth]
        if not 1 <= int(n_support) <= len(members):
            raise ValueError(
                f"StreamProblem {self.name!r}: n_support must be in [1, {len(members)}] (the "
                f"number of members), got {n_support!r}.")
        rng = np.random.default_rng(random_state)
        labels = members[np.sort(rng.choice(len(members), size=int(n_support), replace=False))]
        return dataclasses.replace(self, support=labels, meta=dict(self.meta))

    def __repr__(self) -> str:
        return (f"StreamProblem(name={self.name!r}, n_stars={self.n_stars}, "
                f"n_members={self.n_members if self.truth is not None else '?'}, "
                f"n_support={self.n_support})")


# --------------------------------------------------------------------------------------------
# Gaia catalogue readers: one small function per format
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# The seed's layouts
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ClusterBusters:
    """The seed repository's stream data, as :func:`read_clusterbusters` finds it.

    Attributes
    ----------
    train : list of StreamProblem
        Members joined with their foreground field; truth = member mask; support ``None``
        (draw it with :meth:`StreamProblem.draw_support`).
    validation : list of StreamProblem
        Labelled fields with the known members appended (support = those rows).
    members_only : dict of str -> pandas.DataFrame
        Training streams that have no foreground file (members only).
    unmatched : dict of str -> list of str
        Files that could not be paired (backgrounds without stream, known sets without field).
    """

    train: list
    validation: list
    members_only: dict
    unmatched: dict


def _stream_name(path: Path) -> str:
    match = re.search(r"stream-\d+", path.name)
    if match is None:
        raise ValueError(f"{path}: expected a file name containing 'stream-<number>'.")
    return match.group(0)


def _read_seed_csv(path: Path) -> pd.DataFrame:
    # The seed wrote CSVs with and without the pandas index column; drop those columns.
    frame = _read_csv(path)
    return frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed")]]


def _with_source(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["origin"] = origin
    return frame


def _read_train_problem(name, stream_path, background_path) -> StreamProblem:
    members = _read_seed_csv(stream_path)
    background = _read_seed_csv(background_path).drop(columns=["stream_mask"], errors="ignore")
    for path, frame in ((stream_path, members), (background_path, background)):
        _check_columns(frame, ("ra", "dec", "pmra", "pmdec", "phot_g_mean_mag",
                               "phot_bp_mean_mag", "phot_rp_mean_mag"), path)
    field = pd.concat([_with_source(members, "stream"), _with_source(background, "background")],
                      ignore_index=True, sort=False)
    if "source_id" in field.columns:
        field["source_id"] = field["source_id"].astype("Int64")
    field.index.name = "row"
    truth = np.r_[np.ones(len(members), bool), np.zeros(len(background), bool)]
    return StreamProblem(field=field, truth=truth, support=None, name=name,
                         meta={"split": "train", "stream_file": str(stream_path),
                               "background_file": str(background_path)})


def _read_validation_problem(name, field_path, known_path) -> StreamProblem:
    stars = _read_seed_csv(field_path)
    _check_columns(stars, ("ra", "dec", "pmra", "pmdec", "stream_mask", "self_lab"), field_path)
    known = _read_seed_csv(known_path)
    _check_columns(known, ("ra", "dec", "pmra", "pmdec", "phot_g_mean_mag"), known_path)
    # The seed's derived columns are recomputed by the features module; drop them here.
    stars = stars.drop(columns=[c for c in stars.columns
                                if c in ("ra_rad", "dec_rad") or c.startswith("ang_coord")])
    stars["self_lab"] = stars["self_lab"].astype(bool)
    known["self_lab"] = False
    truth_col = stars.pop("stream_mask").astype(bool)
    field = pd.concat([_with_source(stars, "field"), _with_source(known, "known")],
                      ignore_index=True, sort=False)
    field.index.name = "row"
    truth = np.r_[truth_col.to_numpy(), np.ones(len(known), bool)]
    support = field.index[len(stars):]
    return StreamProblem(
        field=field, truth=truth, support=support, name=name,
        meta={"split": "validation", "field_file": str(field_path),
              "known_file": str(known_path),
              "support_mapping": "known members are separate stars appended to the field "
                                 "(origin == 'known'); they are not rows of the seed's field file",
              "self_lab": "seed flag: True rows were used to supplement training; metrics are "
                          "computed on self_lab == False rows"})


def read_clusterbusters(root) -> ClusterBusters:
    """Read the seed's stream data (``train/`` and ``validation/`` folders).

    Layout (as shipped with the seed of *Meta-Learning One-Class Classification with DeepSets*):

    - ``train/stream/stream-N_intelligent_cut.csv``: members of stream N (7 or 12 columns);
    - ``train/background/stream-N_mul_150_total_noise.csv``: foreground for stream N, 100x or
      150x the members despite the name (72x for stream-5711); 23 of the 46 streams have one,
      and two backgrounds (stream-522, stream-3696) have no stream file;
    - ``validation/fields/validation_stream-N.csv``: a labelled field (``stream_mask`` = truth,
      ``self_lab`` = the seed's split flag, plus its derived ``ra_rad``/``ang_coord_*``, dropped);
    - ``validation/known/stream-N_known_to_model.csv``: the support set for stream N.

    How the known members map onto the field: they do **not** match field rows by index
    (the seed's field files have duplicated index values), nor in general by coordinates (for
    stream-1667 none matches within 0.05 deg, for stream-1698 only the sky position matches while
    proper motions and magnitudes differ). They are separate stars of the same stream, so this
    reader appends them to the field (``origin == 'known'``, truth ``True``) and makes them the
    support set; score ``problem.query_mask`` rows only.

    Parameters
    ----------
    root : str or path-like
        The folder holding ``train/`` and ``validation/``.

    Returns
    -------
    ClusterBusters
        ``train`` (23 problems in the shipped copy), ``validation`` (3), ``members_only``
        (23 streams without foreground), ``unmatched`` (files that could not be paired).
        Field index = a fresh RangeIndex named ``row``; ``origin`` says where a row came from.

    Raises
    ------
    FileNotFoundError
        If ``root`` lacks the ``train`` or ``validation`` folder.
    """
    root = Path(root)
    for sub in ("train", "validation"):
        if not (root / sub).is_dir():
            raise FileNotFoundError(
                f"{root}: expected a '{sub}' folder (the seed's clusterbusters layout); found "
                f"{sorted(p.name for p in root.iterdir()) if root.is_dir() else 'no folder'}.")
    streams = {_stream_name(p): p for p in sorted((root / "train" / "stream").glob("*.csv"))}
    backgrounds = {_stream_name(p): p
                   for p in sorted((root / "train" / "background").glob("*.csv"))}
    fields = {_stream_name(p): p
              for p in sorted((root / "validation" / "fields").glob("*stream-*.csv"))}
    knowns = {_stream_name(p): p for p in sorted((root / "validation" / "known").glob("*.csv"))}

    def order(name):
        return int(name.split("-")[1])

    train = [_read_train_problem(n, streams[n], backgrounds[n])
             for n in sorted(set(streams) & set(backgrounds), key=order)]
    validation = [_read_validation_problem(n, fields[n], knowns[n])
                  for n in sorted(set(fields) & set(knowns), key=order)]
    members_only = {n: _read_seed_csv(streams[n])
                    for n in sorted(set(streams) - set(backgrounds), key=order)}
    unmatched = {
        "backgrounds_without_stream": sorted(set(backgrounds) - set(streams), key=order),
        "known_without_field": sorted(set(knowns) - set(fields), key=order),
        "fields_without_known": sorted(set(fields) - set(knowns), key=order),
    }
    return ClusterBusters(train=train, validation=validation, members_only=members_only,
                          unmatched=unmatched)


def read_gd1_dr2(root, *, field_key="merged", support_key="selected2") -> StreamProblem:
    """Read the GD-1 Gaia DR2 + Pan-STARRS selection in ``root`` as a :class:`StreamProblem`.

    The field is ``gd1_merged.hdf5[field_key]`` (3724 stars around GD-1 after a proper-motion
    cut, with PS1 ``g_mean_psf_mag``/``i_mean_psf_mag``; PS1's 1e20 "no detection" values become
    NaN) and the support set is ``gd1_merged.hdf5[support_key]`` (454 stars), matched by
    ``source_id``. Those are **heuristic** members (proper-motion + colour-magnitude polygon
    selection), not ground truth: ``truth`` is ``None``.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``gd1_merged.hdf5``.
    field_key, support_key : str
        HDFStore keys of the field and of the selected members.

    Returns
    -------
    StreamProblem
        Field indexed by ``source_id`` (int64); columns ra, dec, pmra, pmdec, parallax,
        radial_velocity, phi1, phi2, pm_phi1, pm_phi2 (GD1Koposov10 frame, reflex-corrected
        proper motions as the file gives them), g_mean_psf_mag, i_mean_psf_mag.
        No Gaia photometry: use ``stream_features(..., photometry="ps1")``.
    """
    path = Path(root) / "gd1_merged.hdf5"
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; expected the GD-1 DR2 folder holding "
                                "gd1_merged.hdf5 (keys 'merged', 'selected2').")
    field = _read_hdf5(path, key=field_key)
    selected = _read_hdf5(path, key=support_key)
    for frame, key in ((field, field_key), (selected, support_key)):
        _check_columns(frame, ("source_id", "ra", "dec", "pmra", "pmdec"), f"{path}[{key}]")
    field = field.set_index(field["source_id"].astype(np.int64)).drop(columns="source_id")
    for col in ("g_mean_psf_mag", "i_mean_psf_mag"):
        if col in field.columns:
            field[col] = field[col].where(field[col] < 50.0)  # PS1 uses 1e20 for "missing"
    support = pd.Index(selected["source_id"].astype(np.int64))
    outside = support[~support.isin(field.index)]
    if len(outside):
        raise ValueError(f"{path}: {len(outside)} '{support_key}' stars are not in "
                         f"'{field_key}', e.g. {outside[:3].tolist()}.")
    return StreamProblem(
        field=field, truth=None, support=support, name="GD-1",
        meta={"file": str(path), "support": f"{support_key}: heuristic members (proper-motion "
              "and colour-magnitude polygon selection), not ground truth"})


# --------------------------------------------------------------------------------------------
# Simulation: Gaia errors and an old metal-poor colour-magnitude locus
# --------------------------------------------------------------------------------------------
def gaia_errors(g, *, release="dr3") -> dict:
    """Approximate Gaia uncertainties as a function of G magnitude.

    Uses the Gaia science-performance form ``sigma_parallax = sqrt(40 + 800 z + 30 z^2)`` uas,
    ``z = 10**(0.4 (max(G, 13) - 15))``, which matches DR3 to ~30 % (0.02 mas at G = 15,
    0.6 mas at G = 20, 1.5 mas at G = 21); proper-motion errors are ~1x that in mas/yr for DR3.
    DR2 is ~1.5x worse in parallax and ~2.5x in proper motion. Approximate, not a fit.

    Parameters
    ----------
    g : array-like, shape (n,)
        G magnitudes (mag).
    release : {'dr3', 'dr2'}

    Returns
    -------
    dict of str -> ndarray, shape (n,)
        ``parallax_error`` (mas), ``pmra_error``, ``pmdec_error`` (mas/yr),
        ``phot_g_mean_mag_error``, ``phot_bp_mean_mag_error``, ``phot_rp_mean_mag_error`` (mag).
    """
    factors = {"dr3": (1.0, 1.0), "dr2": (1.5, 2.5)}
    if release not in factors:
        raise ValueError(f"release must be one of {sorted(factors)}, got {release!r}.")
    f_plx, f_pm = factors[release]
    g = np.asarray(g, dtype=float)
    z = 10.0 ** (0.4 * (np.maximum(g, 13.0) - 15.0))
    plx = np.sqrt(40.0 + 800.0 * z + 30.0 * z * z) / 1000.0 * f_plx
    pm = plx / f_plx * f_pm
    zg = 10.0 ** (0.4 * (np.maximum(g, 12.0) - 20.0))
    return {
        "parallax_error": plx,
        "pmra_error": pm * 1.05,  # RA errors are slightly larger than Dec ones in Gaia
        "pmdec_error": pm * 0.9,
        "phot_g_mean_mag_error": 0.0003 + 0.003 * zg,
        "phot_bp_mean_mag_error": 0.002 + 0.06 * zg,
        "phot_rp_mean_mag_error": 0.002 + 0.04 * zg,
    }


# (M_G, BP-RP) nodes of an old ([Fe/H] ~ -1.7, 12 Gyr) sequence: main sequence, turn-off,
# subgiant and red-giant branches, monotone in M_G so colour is a function of M_G.
_OLD_LOCUS_MG = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 3.5, 3.9, 4.5, 5.5, 6.5, 7.5,
                          8.5, 10.0])
_OLD_LOCUS_COLOR = np.array([1.75, 1.45, 1.25, 1.12, 1.02, 0.95, 0.88, 0.70, 0.58, 0.64, 0.80,
                             0.98, 1.22, 1.50, 2.00])
# Relative luminosity function dN/dM_G on the same nodes (log10): rising along the MS, a
# step at the turn-off, few giants.
_OLD_LOCUS_LOGLF = np.array([-2.6, -2.3, -2.0, -1.7, -1.4, -1.1, -0.8, -0.6, 0.0, 0.2, 0.35,
                             0.5, 0.6, 0.7, 0.8])
_HB_MG, _HB_FRACTION = 0.55, 0.01

# Solar-metallicity dwarf locus for the disc foreground (M_G, BP-RP).
_DISC_LOCUS_MG = np.array([-1.0, 0.5, 2.0, 3.0, 4.0, 4.7, 5.5, 6.5, 8.0, 9.5, 11.0, 13.0])
_DISC_LOCUS_COLOR = np.array([1.3, 0.05, 0.35, 0.55, 0.72, 0.82, 0.95, 1.2, 1.75, 2.3, 2.8, 3.4])
_DISC_LOCUS_LOGLF = np.array([-2.0, -1.6, -1.0, -0.6, -0.3, -0.1, 0.0, 0.1, 0.2, 0.3, 0.35, 0.4])


def _truncated_lf_draw(mg_nodes, loglf, m_max, rng):
    """Draw M_G from a tabulated LF truncated at M_G <= m_max (one bound per star)."""
    grid = np.linspace(mg_nodes[0], mg_nodes[-1], 600)
    pdf = 10.0 ** np.interp(grid, mg_nodes, loglf)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    c_max = np.interp(np.minimum(m_max, grid[-1]), grid, cdf)
    u = rng.uniform(0.0, 1.0, size=np.shape(m_max)) * c_max
    return np.interp(u, cdf, grid), c_max / cdf[-1]


def _gaia_bands(g, bp_rp):
    """Split G and BP-RP into (BP, RP) with the empirical G-RP(BP-RP) relation of Gaia stars."""
    g_rp = 0.112 + 0.651 * bp_rp - 0.0666 * bp_rp ** 2  # fitted on the seed's Gaia foreground
    rp = g - g_rp
    return rp + bp_rp, rp


def old_population_cmd(n, *, distance_modulus, g_limit=20.7, random_state=None):
    """Draw Gaia photometry for stars of an old metal-poor population (approximate).

    A simple analytic locus in (BP-RP, M_G): main sequence, turn-off at M_G ~ 3.9,
    BP-RP ~ 0.58, subgiant and red-giant branches (tip M_G ~ -3), and a blue horizontal branch
    at M_G ~ 0.55 (1 % of stars); a luminosity function rising along the main sequence.
    Absolute magnitudes are drawn from that LF truncated at ``g_limit - distance_modulus``, so
    every star returned is brighter than the limit (the stream's richness is set by the caller).
    Approximate: not an isochrone fit, no extinction, 0.03 mag intrinsic colour scatter.

    Parameters
    ----------
    n : int
    distance_modulus : float or array of shape (n,)
        ``5 log10(d / 10 pc)`` (mag).
    g_limit : float
        Faint G limit (mag).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame, shape (n, 4)
        ``phot_g_mean_mag``, ``phot_bp_mean_mag``, ``phot_rp_mean_mag`` (noise-free, mag) and
        ``abs_g`` (M_G).
    """
    rng = np.random.default_rng(random_state)
    dm = np.broadcast_to(np.asarray(distance_modulus, dtype=float), (n,))
    m_max = g_limit - dm
    if np.any(m_max < _OLD_LOCUS_MG[0]):
        raise ValueError(f"distance modulus up to {dm.max():.1f} mag leaves no star brighter "
                         f"than G = {g_limit}; lower the distance or raise g_limit.")
    mg, visible_fraction = _truncated_lf_draw(_OLD_LOCUS_MG, _OLD_LOCUS_LOGLF, m_max, rng)
    # Horizontal-branch stars, in proportion to how many main-locus stars are visible.
    p_hb = _HB_FRACTION * (m_max > _HB_MG) / (
        _HB_FRACTION * (m_max > _HB_MG) + (1 - _HB_FRACTION) * visible_fraction)
    hb = rng.uniform(size=n) < p_hb
    color = np.interp(mg, _OLD_LOCUS_MG, _OLD_LOCUS_COLOR)
    mg = np.where(hb, _HB_MG + rng.normal(0, 0.1, n), mg)
    color = np.where(hb, rng.uniform(-0.1, 0.45, n), color) + rng.normal(0, 0.03, n)
    g = mg + dm
    bp, rp = _gaia_bands(g, color)
    return pd.DataFrame({"phot_g_mean_mag": g, "phot_bp_mean_mag": bp,
                         "phot_rp_mean_mag": rp, "abs_g": mg})


def _observe(frame, *, release, rng):
    """Add Gaia-like errors (columns ``*_error``) and noise to true astrometry/photometry."""
    errors = gaia_errors(frame["phot_g_mean_mag"].to_numpy(), release=release)
    out = frame.copy()
    for col in ("parallax", "pmra", "pmdec", "phot_g_mean_mag", "phot_bp_mean_mag",
                "phot_rp_mean_mag"):
        sigma = errors[f"{col}_error"]
        out[col] = out[col].to_numpy() + rng.normal(0.0, 1.0, len(out)) * sigma
        if not col.startswith("phot"):
            out[f"{col}_error"] = sigma
    return out


# --------------------------------------------------------------------------------------------
# Simulation: gala mock streams, cached
# --------------------------------------------------------------------------------------------
def _default_potential():
    import gala.potential as gp

    try:
        return gp.MilkyWayPotential(version="v2")  # = MilkyWayPotential2022 in gala >= 1.10
    except TypeError:  # older gala
        return gp.MilkyWayPotential2022()


@functools.lru_cache(maxsize=1)
def _cached_default_potential():
    return _default_potential()


def _cache_dir() -> Path | None:
    env = os.environ.get("ASTROAD_CACHE_DIR")
    return Path(env) / "streams" if env else None


def _stable_key(params: dict) -> str:
    # hashlib, never hash(): the key must be the same in every process.
    text = json.dumps(params, sort_keys=True, default=float)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=64)
def _mockstream_cached(w0_key: tuple, mass: float, t_integrate: float, dt: float,
                       release_every: int, df_seed: int) -> np.ndarray:
    """Run gala's Fardal mock-stream generator; (n_particles, 6) Galactocentric x (kpc), v (km/s)."""
    params = {"w0": list(w0_key), "mass": mass, "t": t_integrate, "dt": dt,
              "release_every": release_every, "seed": df_seed, "v": 1}
    cache = _cache_dir()
    file = cache / f"mockstream-{_stable_key(params)}.npz" if cache else None
    if file is not None and file.exists():
        return np.load(file)["xv"]
    xv = _run_mockstream(np.array(w0_key), mass, t_integrate, dt, release_every, df_seed)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, xv=xv)
    return xv


def _run_mockstream(w0, mass, t_integrate, dt, release_every, df_seed):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp
    from gala.dynamics import mockstream as ms

    hamiltonian = gp.Hamiltonian(_cached_default_potential())
    prog = gd.PhaseSpacePosition(pos=w0[:3] * u.kpc, vel=w0[3:] * u.km / u.s)
    df = ms.FardalStreamDF(gala_modified=True, random_state=np.random.default_rng(df_seed))
    gen = ms.MockStreamGenerator(df, hamiltonian)
    n_steps = max(int(round(t_integrate / dt)), 2)
    # Leapfrog: gala's default DOP853 stops with "code -4" on some released particles.
    stream, _ = gen.run(prog, mass * u.Msun, dt=-dt * u.Myr, n_steps=n_steps,
                        release_every=release_every, Integrator=gi.LeapfrogIntegrator)
    return np.hstack([stream.xyz.to_value(u.kpc).T,
                      stream.v_xyz.to_value(u.km / u.s).T])


def _galactocentric_frame():
    import astropy.coordinates as coord

    return coord.Galactocentric()  # astropy's default Sun position and velocity


def _icrs_to_galactocentric(coord_icrs) -> np.ndarray:
    import astropy.units as u

    gal = coord_icrs.transform_to(_galactocentric_frame())
    return np.r_[gal.cartesian.xyz.to_value(u.kpc),
                 gal.velocity.d_xyz.to_value(u.km / u.s)]


def _random_progenitor(distance_kpc, rng):
    """A progenitor at heliocentric distance ``distance_kpc``, |b| > 25 deg, on a bound orbit."""
    import astropy.coordinates as coord
    import astropy.units as u

    while True:
        l_deg = rng.uniform(0, 360)
        b_deg = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(25)), 1.0))) * rng.choice([-1, 1])
        pos = coord.SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, distance=distance_kpc * u.kpc,
                             frame="galactic").transform_to(_galactocentric_frame())
        x = pos.cartesian.xyz.to_value(u.kpc)
        r = np.linalg.norm(x)
        if r > 4.0:
            break
    pot = _cached_default_potential()
    v_circ = float(pot.circular_velocity(x * u.kpc).to_value(u.km / u.s)[0])
    direction = rng.normal(size=3)
    direction -= direction @ x / r * x / r * rng.uniform(0.3, 1.0)  # bias towards tangential
    direction /= np.linalg.norm(direction)
    v = direction * v_circ * rng.uniform(0.65, 1.0)
    return np.r_[x, v]


def _progenitor_w0(progenitor, distance, rng):
    """Galactocentric (x [kpc], v [km/s]) of the progenitor, from any accepted description."""
    import astropy.coordinates as coord

    if progenitor is None:
        return _random_progenitor(distance if distance is not None else rng.uniform(6, 25), rng)
    if isinstance(progenitor, coord.SkyCoord) or isinstance(progenitor, coord.BaseCoordinateFrame):
        return _icrs_to_galactocentric(progenitor)
    if hasattr(progenitor, "xyz") and hasattr(progenitor, "v_xyz"):  # gala PhaseSpacePosition
        import astropy.units as u

        return np.r_[progenitor.xyz.to_value(u.kpc).ravel(),
                     progenitor.v_xyz.to_value(u.km / u.s).ravel()]
    w0 = np.asarray(progenitor, dtype=float)
    if w0.shape != (6,):
        raise ValueError("progenitor must be a SkyCoord with distance, proper motions and radial "
                         "velocity, a gala PhaseSpacePosition, or 6 Galactocentric numbers "
                         f"(x, y, z [kpc], vx, vy, vz [km/s]); got shape {w0.shape}.")
    return w0


def simulate_stream(*, progenitor=None, potential=None, n_particles=300, distance=None,
                    mass=2e4, t_integrate=3000.0, dt=1.0, g_limit=20.7, release="dr3",
                    random_state=None) -> pd.DataFrame:
    """Simulate the observed members of a tidal stream with gala.

    The progenitor's orbit is integrated back ``t_integrate`` Myr in a Milky Way potential and
    particles are released along it with the Fardal et al. (2015) distribution function
    (``gala.dynamics.mockstream.MockStreamGenerator`` + ``FardalStreamDF``); ``n_particles`` of
    them are kept, converted to ICRS observables, given photometry from
    :func:`old_population_cmd` (every star brighter than ``g_limit``), and observed with
    Gaia-like errors (:func:`gaia_errors`). The particle run is cached in memory (and on disk
    under ``$ASTROAD_CACHE_DIR/streams`` when that variable is set), keyed by the progenitor,
    mass, times and a DF seed drawn from ``random_state``.

    Parameters
    ----------
    progenitor : SkyCoord, gala PhaseSpacePosition, array of shape (6,), or None
        Present-day progenitor: an astropy coordinate with distance, proper motions and radial
        velocity; or Galactocentric x, y, z (kpc), vx, vy, vz (km/s). ``None`` draws one at
        ``distance`` on a random bound orbit at |b| > 25 deg.
    potential : gala potential, optional
        Default ``MilkyWayPotential(version="v2")`` (= MilkyWayPotential2022). A custom
        potential disables the cache.
    n_particles : int
        Number of member stars returned (all brighter than ``g_limit``).
    distance : float, optional
        Heliocentric distance of a random progenitor (kpc); default uniform in [6, 25].
    mass : float
        Progenitor mass (Msun); sets the stream width through the tidal radius.
    t_integrate : float
        Stripping time (Myr); sets the stream length.
    dt : float
        Time step (Myr).
    g_limit : float
        Faint G limit (mag), ~20.5-21 for Gaia.
    release : {'dr3', 'dr2'}
        Gaia error model.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame, shape (n_particles, 14)
        ra, dec (deg), parallax (mas), pmra, pmdec (mas/yr, pmra includes cos dec),
        radial_velocity (km/s), distance (kpc, true), G/BP/RP magnitudes and the
        ``*_error`` columns; ``attrs["progenitor"]`` holds the progenitor's Galactocentric
        phase-space position.
    """
    rng = np.random.default_rng(random_state)
    if int(n_particles) < 1:
        raise ValueError(f"n_particles must be >= 1, got {n_particles!r}.")
    w0 = _progenitor_w0(progenitor, distance, rng)
    n_steps = max(int(round(t_integrate / dt)), 2)
    # Two particles (leading + trailing) per release; release often enough to over-sample 1.5x.
    release_every = int(max(1, min(n_steps // 2, (2 * n_steps) // int(1.5 * n_particles + 10))))
    df_seed = int(rng.integers(2**31))
    if potential is None:
        w0_key = tuple(np.round(w0, 10).tolist())
        xv = _mockstream_cached(w0_key, float(mass), float(t_integrate), float(dt),
                                release_every, df_seed)
    else:
        xv = _run_mockstream_with(potential, w0, mass, t_integrate, dt, release_every, df_seed)
    if len(xv) < n_particles:
        xv = xv[rng.choice(len(xv), size=n_particles, replace=True)]
    else:
        xv = xv[np.sort(rng.choice(len(xv), size=n_particles, replace=False))]
    stars = _galactocentric_to_observables(xv)
    photometry = old_population_cmd(n_particles, g_limit=g_limit, random_state=rng,
                                    distance_modulus=5 * np.log10(stars["distance"] * 100.0))
    stars = pd.concat([stars, photometry.drop(columns="abs_g")], axis=1)
    stars = _observe(stars, release=release, rng=rng)
    stars.attrs["progenitor"] = w0.tolist()
    return stars


def _run_mockstream_with(potential, w0, mass, t_integrate, dt, release_every, df_seed):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp
    from gala.dynamics import mockstream as ms

    prog = gd.PhaseSpacePosition(pos=w0[:3] * u.kpc, vel=w0[3:] * u.km / u.s)
    df = ms.FardalStreamDF(gala_modified=True, random_state=np.random.default_rng(df_seed))
    gen = ms.MockStreamGenerator(df, gp.Hamiltonian(potential))
    stream, _ = gen.run(prog, mass * u.Msun, dt=-dt * u.Myr,
                        n_steps=max(int(round(t_integrate / dt)), 2),
                        release_every=release_every, Integrator=gi.LeapfrogIntegrator)
    return np.hstack([stream.xyz.to_value(u.kpc).T, stream.v_xyz.to_value(u.km / u.s).T])


def _galactocentric_to_observables(xv: np.ndarray) -> pd.DataFrame:
    import astropy.coordinates as coord
    import astropy.units as u

    gal = coord.SkyCoord(x=xv[:, 0] * u.kpc, y=xv[:, 1] * u.kpc, z=xv[:, 2] * u.kpc,
                         v_x=xv[:, 3] * u.km / u.s, v_y=xv[:, 4] * u.km / u.s,
                         v_z=xv[:, 5] * u.km / u.s, frame=_galactocentric_frame())
    icrs = gal.transform_to(coord.ICRS())
    distance = icrs.distance.to_value(u.kpc)
    return pd.DataFrame({
        "ra": icrs.ra.to_value(u.deg), "dec": icrs.dec.to_value(u.deg),
        "parallax": 1.0 / distance,
        "pmra": icrs.pm_ra_cosdec.to_value(u.mas / u.yr),
        "pmdec": icrs.pm_dec.to_value(u.mas / u.yr),
        "radial_velocity": icrs.radial_velocity.to_value(u.km / u.s),
        "distance": distance,
    })


#: A present-day GD-1 progenitor in the GD1Koposov10 frame: phi1 = -40 deg, phi2 = 0, observed
#: proper motions of the DR2 members there, distance and radial velocity fitted so that the
#: orbit in MilkyWayPotential2022 keeps |phi2| < ~1.5 deg over phi1 in [-85, 5] deg.
GD1_PROGENITOR = {"phi1": -40.0, "phi2": 0.0, "distance": 8.0, "pm_phi1_cosphi2": -13.29,
                  "pm_phi2": -3.08, "radial_velocity": -60.7}


def simulate_gd1(*, n_particles=500, mass=2e4, t_integrate=2000.0, g_limit=20.7,
                 release="dr3", random_state=None) -> pd.DataFrame:
    """Simulate a GD-1-like stream lying on the known GD-1 track.

    The progenitor sits at ``GD1_PROGENITOR`` (phi1 = -40 deg, phi2 = 0 in
    ``gala.coordinates.GD1Koposov10``, 8 kpc, the observed proper motions); after 2 Gyr of
    stripping the stream spans roughly phi1 in [-97, 4] deg at 7-11 kpc with median |phi2| ~ 0.5 deg.

    Parameters
    ----------
    n_particles, mass, t_integrate, g_limit, release, random_state
        As in :func:`simulate_stream`.

    Returns
    -------
    pandas.DataFrame, shape (n_particles, 16)
        As :func:`simulate_stream`, plus ``phi1``, ``phi2`` (deg, GD1Koposov10).
    """
    import astropy.units as u
    import gala.coordinates as gc

    p = GD1_PROGENITOR
    prog = gc.GD1Koposov10(phi1=p["phi1"] * u.deg, phi2=p["phi2"] * u.deg,
                           distance=p["distance"] * u.kpc,
                           pm_phi1_cosphi2=p["pm_phi1_cosphi2"] * u.mas / u.yr,
                           pm_phi2=p["pm_phi2"] * u.mas / u.yr,
                           radial_velocity=p["radial_velocity"] * u.km / u.s)
    stars = simulate_stream(progenitor=prog, n_particles=n_particles, mass=mass,
                            t_integrate=t_integrate, g_limit=g_limit, release=release,
                            random_state=random_state)
    import astropy.coordinates as coord

    sky = coord.SkyCoord(ra=stars["ra"].to_numpy() * u.deg,
                         dec=stars["dec"].to_numpy() * u.deg).transform_to(gc.GD1Koposov10())
    stars["phi1"] = sky.phi1.wrap_at(180 * u.deg).to_value(u.deg)
    stars["phi2"] = sky.phi2.to_value(u.deg)
    return stars


# --------------------------------------------------------------------------------------------
# Simulation: the foreground field
# --------------------------------------------------------------------------------------------
#: Smooth Galactic mixture: weight, heliocentric distance (log-normal median kpc, sigma dex),
#: mean rotation (km/s), velocity dispersion (km/s), colour-magnitude locus.
_FOREGROUND_COMPONENTS = {
    "thin_disc": (0.55, 0.8, 0.35, 215.0, 30.0, "disc"),
    "thick_disc": (0.35, 2.0, 0.30, 175.0, 55.0, "mixed"),
    "halo": (0.10, 8.0, 0.35, 0.0, 120.0, "old"),
}


def _footprint_from(footprint):
    try:
        ra_min, ra_max, dec_min, dec_max = (float(v) for v in footprint)
    except (TypeError, ValueError) as exc:
        raise ValueError("footprint must be (ra_min, ra_max, dec_min, dec_max) in deg, got "
                         f"{footprint!r}; ra_max may exceed 360 for fields across ra = 0.") from exc
    if not (ra_max > ra_min and -90 <= dec_min < dec_max <= 90):
        raise ValueError(f"footprint {footprint!r}: expected ra_min < ra_max and "
                         "-90 <= dec_min < dec_max <= 90 (deg).")
    return ra_min, ra_max, dec_min, dec_max


def _uniform_sky(n, footprint, rng):
    ra_min, ra_max, dec_min, dec_max = footprint
    ra = rng.uniform(ra_min, ra_max, n) % 360.0
    sin_dec = rng.uniform(np.sin(np.radians(dec_min)), np.sin(np.radians(dec_max)), n)
    return ra, np.degrees(np.arcsin(sin_dec))


def _foreground_photometry(kind, n, dm, g_limit, rng):
    if kind == "old":
        return old_population_cmd(n, distance_modulus=dm, g_limit=g_limit, random_state=rng)
    mg, _ = _truncated_lf_draw(_DISC_LOCUS_MG, _DISC_LOCUS_LOGLF, g_limit - dm, rng)
    color = np.interp(mg, _DISC_LOCUS_MG, _DISC_LOCUS_COLOR)
    if kind == "mixed":  # thick disc: between the disc and the old metal-poor locus
        color = 0.5 * (color + np.interp(mg, _OLD_LOCUS_MG, _OLD_LOCUS_COLOR))
    color = color + rng.normal(0, 0.06, n)
    g = mg + dm
    bp, rp = _gaia_bands(g, color)
    return pd.DataFrame({"phot_g_mean_mag": g, "phot_bp_mean_mag": bp, "phot_rp_mean_mag": rp,
                         "abs_g": mg})


def _resample_background(n, background, footprint, jitter, rng):
    cols = [c for c in ("ra", "dec", "parallax", "pmra", "pmdec", "phot_g_mean_mag",
                        "phot_bp_mean_mag", "phot_rp_mean_mag") if c in background.columns]
    _check_columns(background, ("ra", "dec", "pmra", "pmdec"), "background DataFrame")
    rows = background[cols].iloc[rng.integers(0, len(background), n)].reset_index(drop=True)
    scale = background[cols].std().fillna(0.0).to_numpy()
    out = rows + rng.normal(size=rows.shape) * scale * jitter
    if footprint is not None:  # positions from the footprint, everything else from the table
        out["ra"], out["dec"] = _uniform_sky(n, footprint, rng)
    else:
        out["ra"] = out["ra"] % 360.0
        out["dec"] = out["dec"].clip(-90, 90)
    return out


def simulate_foreground(n, footprint=None, random_state=None, *, background=None,
                        jitter=0.02, g_limit=20.7, release="dr3") -> pd.DataFrame:
    """Simulate Milky Way foreground stars in a sky box.

    Without ``background``: a smooth mixture of thin disc (55 %), thick disc (35 %) and halo
    (10 %) stars, each with a log-normal heliocentric distance distribution, Galactocentric
    rotation and isotropic velocity dispersion (converted to proper motions and radial
    velocities with astropy), a colour-magnitude locus (solar dwarfs; in-between; the old
    metal-poor locus of the streams, so halo stars mimic stream photometry), all brighter than
    ``g_limit`` and observed with Gaia-like errors. Approximate: no extinction, no density
    gradient across the box.

    With ``background`` (a real foreground table): ``n`` rows resampled with replacement, each
    column jittered by ``jitter`` times its standard deviation; positions are redrawn uniformly
    in ``footprint`` when one is given, else kept (jittered) from the table.

    Parameters
    ----------
    n : int
        Number of stars.
    footprint : (ra_min, ra_max, dec_min, dec_max), deg
        Sky box (uniform in ra and in sin dec); ``ra_max`` may exceed 360 across ra = 0.
        Required without ``background``.
    random_state : None, int or numpy.random.Generator
    background : pandas.DataFrame, optional
        Real foreground to resample (Gaia column names; ra, dec, pmra, pmdec required).
    jitter : float
        Resampling jitter in units of each column's standard deviation.
    g_limit : float
        Faint G limit (mag).
    release : {'dr3', 'dr2'}

    Returns
    -------
    pandas.DataFrame, shape (n, n_columns)
        ra, dec, parallax, pmra, pmdec, (radial_velocity, distance, component,) G/BP/RP
        magnitudes and error columns, with a RangeIndex.
    """
    rng = np.random.default_rng(random_state)
    n = int(n)
    footprint = None if footprint is None else _footprint_from(footprint)
    if background is not None:
        return _resample_background(n, background, footprint, jitter, rng)
    if footprint is None:
        raise ValueError("simulate_foreground needs a footprint (ra_min, ra_max, dec_min, "
                         "dec_max) in deg when no background table is given.")
    import astropy.coordinates as coord
    import astropy.units as u

    names = list(_FOREGROUND_COMPONENTS)
    weights = np.array([_FOREGROUND_COMPONENTS[k][0] for k in names])
    component = rng.choice(len(names), size=n, p=weights / weights.sum())
    ra, dec = _uniform_sky(n, footprint, rng)
    distance = np.empty(n)
    v_phi = np.empty(n)
    sigma = np.empty(n)
    for i, name in enumerate(names):
        _, d_med, d_dex, rot, disp, _ = _FOREGROUND_COMPONENTS[name]
        sel = component == i
        distance[sel] = d_med * 10 ** rng.normal(0, d_dex, sel.sum())
        v_phi[sel], sigma[sel] = rot, disp
    distance = np.clip(distance, 0.05, 60.0)
    gal = coord.SkyCoord(ra=ra * u.deg, dec=dec * u.deg,
                         distance=distance * u.kpc).transform_to(_galactocentric_frame())
    x, y, z = gal.cartesian.xyz.to_value(u.kpc)
    phi = np.arctan2(y, x)
    # Galactocentric frame: the disc rotates with v_y < 0 at the Sun's position (x < 0).
    v_r, v_t, v_z = (rng.normal(0, 1, (3, n)) * sigma)
    v_t = v_t - v_phi
    vx = v_r * np.cos(phi) - v_t * np.sin(phi)
    vy = v_r * np.sin(phi) + v_t * np.cos(phi)
    xv = np.c_[x, y, z, vx, vy, v_z]
    stars = _galactocentric_to_observables(xv)
    dm = 5 * np.log10(distance * 100.0)
    photometry = pd.DataFrame(index=range(n), columns=["phot_g_mean_mag", "phot_bp_mean_mag",
                                                       "phot_rp_mean_mag"], dtype=float)
    for i, name in enumerate(names):
        sel = np.flatnonzero(component == i)
        if len(sel):
            kind = _FOREGROUND_COMPONENTS[name][5]
            photometry.iloc[sel] = _foreground_photometry(kind, len(sel), dm[sel], g_limit,
                                                          rng)[photometry.columns].to_numpy()
    stars = pd.concat([stars, photometry], axis=1)
    stars["component"] = pd.Categorical.from_codes(component, names)
    return _observe(stars, release=release, rng=rng)


# --------------------------------------------------------------------------------------------
# Simulation: whole problems
# --------------------------------------------------------------------------------------------
def _members_footprint(members: pd.DataFrame, pad: float):
    ra = members["ra"].to_numpy()
    centre = np.degrees(np.angle(np.mean(np.exp(1j * np.radians(ra)))))
    ra_w = (ra - centre + 180.0) % 360.0 - 180.0 + centre  # unwrap around the circular mean
    cos_dec = max(np.cos(np.radians(np.clip(np.abs(members["dec"]).max(), 0, 80))), 0.2)
    ra_lo, ra_hi = ra_w.min() - pad / cos_dec, ra_w.max() + pad / cos_dec
    if ra_hi - ra_lo >= 360:
        ra_lo, ra_hi = 0.0, 360.0
    ra_lo, ra_hi = ra_lo % 360.0, ra_lo % 360.0 + (ra_hi - ra_lo)
    return (ra_lo, ra_hi, max(members["dec"].min() - pad, -90.0),
            min(members["dec"].max() + pad, 90.0))


def simulate_stream_problem(*, n_members=200, n_support=10, foreground_factor=150.0,
                            background=None, pad=2.0, progenitor=None, distance=None,
                            mass=2e4, t_integrate=3000.0, g_limit=20.7, release="dr3",
                            name="simulated", random_state=None) -> StreamProblem:
    """Simulate one membership problem: a stream, foreground around it, truth and a support set.

    Parameters
    ----------
    n_members : int
        Stream stars in the field (all brighter than ``g_limit``).
    n_support : int
        Size of the support set drawn from the members (``1 <= n_support <= n_members``).
    foreground_factor : float
        Foreground stars per member (the seed used 150).
    background : pandas.DataFrame, optional
        Real foreground to resample instead of the smooth Galactic model.
    pad : float
        Margin of the sky box around the members (deg).
    progenitor, distance, mass, t_integrate, g_limit, release
        As in :func:`simulate_stream`.
    name : str
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        Field of ``n_members * (1 + foreground_factor)`` stars (RangeIndex ``row``, members
        first, shuffled), truth, support, meta with the simulation parameters.
    """
    rng = np.random.default_rng(random_state)
    stream = simulate_stream(progenitor=progenitor, n_particles=n_members, distance=distance,
                             mass=mass, t_integrate=t_integrate, g_limit=g_limit,
                             release=release, random_state=rng)
    footprint = _members_footprint(stream, pad)
    n_fg = int(round(foreground_factor * n_members))
    foreground = simulate_foreground(n_fg, footprint, rng, background=background,
                                     g_limit=g_limit, release=release)
    field = pd.concat([stream.assign(origin="stream"), foreground.assign(origin="foreground")],
                      ignore_index=True, sort=False)
    truth = np.r_[np.ones(len(stream), bool), np.zeros(len(foreground), bool)]
    order = rng.permutation(len(field))
    field, truth = field.iloc[order].reset_index(drop=True), truth[order]
    field.index.name = "row"
    field.attrs = {}
    problem = StreamProblem(field=field, truth=truth, name=name, meta={
        "simulated": True, "n_members": n_members, "mass": mass, "t_integrate": t_integrate,
        "g_limit": g_limit, "release": release, "footprint": footprint,
        "progenitor": stream.attrs.get("progenitor"),
        "foreground": "resampled" if background is not None else "galactic mixture"})
    return problem.draw_support(n_support, random_state=rng)


def _draw_range(value, rng, log=False):
    if np.ndim(value) == 0:
        return float(value)
    lo, hi = value
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def simulate_stream_problems(n, *, random_state=None, n_support=10, n_members=(10, 1000),
                             distance=(6.0, 25.0), mass=(5e3, 1e5), t_integrate=(1500.0, 4000.0),
                             foreground_factor=150.0, background=None, g_limit=20.7,
                             release="dr3") -> list:
    """Simulate ``n`` varied problems for meta-training.

    Each problem draws its own random bound orbit, distance, progenitor mass (stream width),
    stripping time (length) and richness; ranges ``(lo, hi)`` are sampled (richness and mass
    log-uniformly), scalars are used as given.

    Parameters
    ----------
    n : int
        Number of problems.
    random_state : None, int or numpy.random.Generator
    n_support : int or (lo, hi)
        Support-set size (clipped to the richness).
    n_members : int or (lo, hi)
        Stream stars per field (10 to 1000 by default).
    distance : float or (lo, hi)
        Progenitor heliocentric distance (kpc).
    mass : float or (lo, hi)
        Progenitor mass (Msun).
    t_integrate : float or (lo, hi)
        Stripping time (Myr).
    foreground_factor, background, g_limit, release
        As in :func:`simulate_stream_problem`.

    Returns
    -------
    list of StreamProblem, length n
    """
    rng = np.random.default_rng(random_state)
    problems = []
    for i in range(int(n)):
        members = int(round(_draw_range(n_members, rng, log=True)))
        support = int(round(_draw_range(n_support, rng)))
        problems.append(simulate_stream_problem(
            n_members=members, n_support=min(max(support, 1), members),
            foreground_factor=foreground_factor, background=background,
            distance=_draw_range(distance, rng), mass=_draw_range(mass, rng, log=True),
            t_integrate=_draw_range(t_integrate, rng), g_limit=g_limit, release=release,
            name=f"sim-{i:04d}", random_state=rng))
    return problems
