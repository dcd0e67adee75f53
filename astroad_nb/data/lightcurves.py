"""Multi-band light curves: a container, readers of real formats and a ZTF-like simulator.

The container, :class:`LightCurves`, holds a long table with one row per detection
(``object_id, band, time, mag, magerr``) plus a per-object ``meta`` table. Readers of
ALeRCE/ZTF detection tables (:func:`read_detections`) and of folders with one CSV per object
(:func:`read_lightcurve_folder`) return it, and so does the simulator of the 14 ALeRCE
light-curve subclasses (:func:`simulate_lightcurves`), so every feature extractor, model and
notebook works on either.

Conventions
-----------
* ``time`` is MJD in days (float64); ``mag`` and ``magerr`` are magnitudes (float64).
* ``band`` is a lower-case string. ZTF filter ids map ``fid`` 1 -> ``'g'``, 2 -> ``'r'``,
  3 -> ``'i'``; ZTF's ``'R'`` in files becomes ``'r'``; other band names are lower-cased
  (``'u'``, ``'i'``, ``'z'``, ...).
* Rows are sorted by ``object_id``, ``band``, ``time``.
* Cleaning, done once when a container is built and reported on it:

  - rows whose ``time``, ``mag`` or ``magerr`` is NaN/inf, or whose ``magerr`` is negative,
    are **dropped**; their count is in ``lcs.n_dropped["non_finite"]`` and in ``lcs.notes``;
  - exact duplicate epochs (same object, band and time) are **de-duplicated**, keeping the
    first row; the count is in ``lcs.n_dropped["duplicates"]`` and in ``lcs.notes``.
    (Repeated alerts of one epoch are common in broker dumps; two magnitudes at the same
    time make slope features infinite.)
* An object may have no detections at all (empty curve): it stays in ``ids``/``meta``, and
  its features are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SUBCLASSES",
    "TOP_CLASS",
    "ZTF_FID_TO_BAND",
    "LightCurves",
    "read_detections",
    "read_lightcurve_folder",
    "simulate_lightcurves",
]

#: The 14 ALeRCE light-curve subclasses grouped by top class (Sanchez-Saez et al. 2021).
SUBCLASSES: dict[str, list[str]] = {
    "transient": ["SLSN", "SNII", "SNIa", "SNIbc"],
    "stochastic": ["AGN", "Blazar", "CV/Nova", "QSO", "YSO"],
    "periodic": ["CEP", "DSCT", "E", "RRL", "LPV"],
}

#: Subclass -> top class, e.g. ``TOP_CLASS["RRL"] == "periodic"``.
TOP_CLASS: dict[str, str] = {sub: top for top, subs in SUBCLASSES.items() for sub in subs}

#: ZTF filter id -> band name.
ZTF_FID_TO_BAND: dict[int, str] = {1: "g", 2: "r", 3: "i"}

_COLUMNS = ["object_id", "band", "time", "mag", "magerr"]


def _normalise_band_values(values: pd.Series, source: str) -> pd.Series:
    """Map ZTF fids (1, 2, 3) and band names to lower-case band strings."""
    if pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        ok = numeric.isin(list(ZTF_FID_TO_BAND))
        if not ok.all():
            bad = sorted(pd.unique(values[~ok]).tolist(), key=str)
            raise ValueError(
                f"{source}: unknown ZTF filter id(s) {bad[:10]} in the band/fid column; "
                f"expected one of {ZTF_FID_TO_BAND} (1=g, 2=r, 3=i). Drop those rows or map "
                "them to band names before reading."
            )
        return numeric.astype(int).map(ZTF_FID_TO_BAND)
    text = values.astype(str).str.strip()
    fid_like = text.isin(["1", "2", "3"])
    text = text.where(~fid_like, text.map({"1": "g", "2": "r", "3": "i"}))
    return text.str.lower()


class LightCurves:
    """Per-object, per-band light curves.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table with columns ``object_id`` (str), ``band`` (str), ``time`` (MJD, days),
        ``mag`` and ``magerr`` (magnitudes); one row per detection. Bands are normalised to
        lower case (``'R'`` -> ``'r'``; integer fids 1/2/3 -> ``'g'``/``'r'``/``'i'``).
    meta : pandas.DataFrame, optional
        Per-object information indexed by ``object_id`` (e.g. ``subclass``, ``top_class``,
        ``period``). Objects listed here but without rows in ``data`` are kept as empty
        curves; objects in ``data`` missing here get a row of NaN.
    source : str, optional
        Where the data came from (used in messages and ``repr``).

    Attributes
    ----------
    data : pandas.DataFrame
        The cleaned long table, sorted by ``object_id``, ``band``, ``time``.
    meta : pandas.DataFrame
        Indexed by ``object_id``, one row per object, in ``ids`` order.
    skipped : list of (str, str)
        Items a batch reader skipped, as ``(file or object, reason)``.
    notes : list of str
        Human-readable notes on cleaning and fall-backs.
    n_dropped : dict
        ``{"non_finite": int, "duplicates": int}`` rows removed while cleaning.

    Notes
    -----
    Object ids are sorted lexicographically; per-object slices are found through
    precomputed offsets, so :meth:`get` and :meth:`arrays` cost O(points of that object).

    Examples
    --------
    >>> lcs = simulate_lightcurves(2, random_state=0, subclasses=["RRL"])
    >>> len(lcs), lcs.bands
    (2, ['g', 'r'])
    >>> t, m, e = lcs.arrays(lcs.ids[0], "g")
    """

    def __init__(self, data: pd.DataFrame, meta: pd.DataFrame | None = None, *,
                 source: str = "<frame>"):
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"{source}: data must be a pandas DataFrame, got {type(data).__name__}.")
        missing = [c for c in _COLUMNS if c not in data.columns]
        if missing:
            raise ValueError(
                f"{source}: light-curve table lacks column(s) {missing}; it has "
                f"{list(data.columns)}. Expected {_COLUMNS}; rename your columns first."
            )
        self.source = source
        self.skipped: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.n_dropped = {"non_finite": 0, "duplicates": 0}

        frame = pd.DataFrame({
            "object_id": data["object_id"].astype(str).to_numpy(dtype=object),
            "band": _normalise_band_values(data["band"], source).to_numpy(dtype=object),
            "time": pd.to_numeric(data["time"], errors="coerce").to_numpy(np.float64),
            "mag": pd.to_numeric(data["mag"], errors="coerce").to_numpy(np.float64),
            "magerr": pd.to_numeric(data["magerr"], errors="coerce").to_numpy(np.float64),
        })
        good = (np.isfinite(frame["time"].to_numpy()) & np.isfinite(frame["mag"].to_numpy())
                & np.isfinite(frame["magerr"].to_numpy()) & (frame["magerr"].to_numpy() >= 0))
        n_bad = int((~good).sum())
        if n_bad:
            frame = frame[good]
            self.n_dropped["non_finite"] = n_bad
            self.notes.append(f"dropped {n_bad} row(s) with NaN/inf time, mag or magerr "
                              "(or negative magerr)")
        # Sort through integer codes (factorize with sort=True keeps lexical order): an order
        # of magnitude faster than sorting string columns for millions of rows.
        oid_code, oid_uniq = pd.factorize(frame["object_id"], sort=True)
        band_code, _ = pd.factorize(frame["band"], sort=True)
        time = frame["time"].to_numpy()
        order = np.lexsort((time, band_code, oid_code))
        oid_code, band_code, time = oid_code[order], band_code[order], time[order]
        dup = np.zeros(order.size, dtype=bool)
        dup[1:] = ((oid_code[1:] == oid_code[:-1]) & (band_code[1:] == band_code[:-1])
                   & (time[1:] == time[:-1]))
        n_dup = int(dup.sum())
        if n_dup:
            self.n_dropped["duplicates"] = n_dup
            self.notes.append(f"dropped {n_dup} duplicate epoch(s) (same object, band and time; "
                              "first kept)")
        frame = frame.iloc[order[~dup]].reset_index(drop=True)
        oid_code = oid_code[~dup]

        if meta is None:
            meta = pd.DataFrame(index=pd.Index([], name="object_id"))
        else:
            meta = meta.copy()
            meta.index = meta.index.astype(str)
        all_ids = sorted(set(oid_uniq.tolist()) | set(meta.index.tolist()))
        self.meta = meta.reindex(all_ids)
        self.meta.index.name = "object_id"
        self.data = frame
        self._ids = list(all_ids)
        self._build_offsets(oid_code, np.asarray(oid_uniq, dtype=object))

    def _build_offsets(self, oid_code: np.ndarray, oid_uniq: np.ndarray) -> None:
        counts = np.bincount(oid_code, minlength=len(oid_uniq))
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        present = counts > 0
        uniq, first, counts = oid_uniq[present], first[present], counts[present]
        self._slices = {u: (int(s), int(s + c))
                        for u, s, c in zip(uniq, first, counts, strict=True)}
        self._t = self.data["time"].to_numpy(np.float64)
        self._m = self.data["mag"].to_numpy(np.float64)
        self._e = self.data["magerr"].to_numpy(np.float64)
        self._b = self.data["band"].to_numpy(dtype=object)
        # integer position of each row's object in ``ids`` (used by feature extraction)
        pos = {u: i for i, u in enumerate(self._ids)}
        self._code = np.repeat(np.array([pos[u] for u in uniq], dtype=np.int64), counts)

    # ------------------------------------------------------------------ basic protocol
    @property
    def ids(self) -> list[str]:
        """Object ids, sorted (list of str)."""
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __contains__(self, object_id: object) -> bool:
        return str(object_id) in self.meta.index

    def __repr__(self) -> str:
        n_pts = len(self.data)
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return (f"<LightCurves: {len(self)} objects, {n_pts} points, bands {self.bands}"
                f"{skipped}, from {self.source}>")

    @property
    def bands(self) -> list[str]:
        """Sorted list of bands present in the data."""
        return sorted(pd.unique(self._b).tolist())

    @property
    def n_points(self) -> pd.Series:
        """Number of detections per object (all bands), indexed by ``object_id``."""
        counts = np.bincount(self._code, minlength=len(self._ids))
        return pd.Series(counts, index=pd.Index(self._ids, name="object_id"), name="n_points")

    # ------------------------------------------------------------------ access
    def _slice(self, object_id: str) -> tuple[int, int]:
        key = str(object_id)
        if key not in self._slices:
            if key in self.meta.index:
                return 0, 0  # known object without detections
            raise KeyError(f"object {object_id!r} is not in these light curves "
                           f"({len(self)} objects, e.g. {self._ids[:3]}).")
        return self._slices[key]

    def get(self, object_id: str) -> pd.DataFrame:
        """Light curve of one object.

        Parameters
        ----------
        object_id : str

        Returns
        -------
        pandas.DataFrame
            Columns ``time`` (MJD), ``mag``, ``magerr``, ``band``; sorted by band then time.

        Raises
        ------
        KeyError
            When ``object_id`` is unknown (the message names it).
        """
        start, stop = self._slice(object_id)
        return pd.DataFrame({
            "time": self._t[start:stop], "mag": self._m[start:stop],
            "magerr": self._e[start:stop], "band": self._b[start:stop],
        })

    def arrays(self, object_id: str, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Time, magnitude and error arrays of one object in one band.

        Parameters
        ----------
        object_id : str
        band : str
            Band name (``'g'``, ``'r'``, ...); an absent band gives empty arrays.

        Returns
        -------
        t, m, e : numpy.ndarray of float64, shape (n,)
            Sorted by time.
        """
        start, stop = self._slice(object_id)
        bands = self._b[start:stop]
        # rows are sorted by band within an object: find the contiguous run
        sel = np.flatnonzero(bands == str(band).lower())
        if sel.size == 0:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty.copy(), empty.copy()
        lo, hi = start + sel[0], start + sel[-1] + 1
        return self._t[lo:hi], self._m[lo:hi], self._e[lo:hi]

    def subset(self, ids: Iterable[str]) -> LightCurves:
        """A new container with only ``ids`` (KeyError naming the first unknown id)."""
        ids = [str(i) for i in ids]
        unknown = [i for i in ids if i not in self.meta.index]
        if unknown:
            raise KeyError(f"subset: object(s) {unknown[:5]} not in these light curves.")
        rows = [np.arange(*self._slices[i]) for i in ids if i in self._slices]
        idx = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        out = LightCurves(self.data.iloc[idx], self.meta.loc[ids], source=self.source)
        return out

    def to_frame(self) -> pd.DataFrame:
        """A copy of the long table (``object_id, band, time, mag, magerr``)."""
        return self.data.copy()

    def _band_lists(self, band: str) -> tuple[list, np.ndarray]:
        """Per-object (t, m, e) arrays for one band, in ``ids`` order (internal, fast)."""
        mask = self._b == band
        t, m, e, code = self._t[mask], self._m[mask], self._e[mask], self._code[mask]
        counts = np.bincount(code, minlength=len(self._ids))
        bounds = np.cumsum(counts)[:-1]
        ts, ms, es = np.split(t, bounds), np.split(m, bounds), np.split(e, bounds)
        return list(zip(ts, ms, es, strict=True)), counts


# ---------------------------------------------------------------------------- readers
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


# ---------------------------------------------------------------------------- simulator
# Colour and amplitude scaling between bands relative to r: mag_b = mag_r + CSCALE[b] * (g-r)
# and amplitude_b = amplitude_r * ratio ** CSCALE[b], where ratio = amplitude_g / amplitude_r.
_CSCALE = {"u": 2.2, "g": 1.0, "r": 0.0, "i": -0.5, "z": -0.8, "y": -1.0}
_BAND_OBS_PROB = {"g": 0.8, "r": 0.85}


def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _cadence(rng, n, baseline_lo, baseline_hi, bands):
    """ZTF-like epochs for ``n`` objects: flat (object, time, band) arrays.

    Nights are observed with probability ~1/3 inside the visibility season (7-8 months a
    year, so the seasonal gap is 4-5 months); bad-weather blocks of 5 nights remove ~15 %
    of nights. Each band is taken on an observed night with probability ~0.8 at its own
    time of night, so g and r epochs differ by minutes to hours.
    """
    n_days = int(math.ceil(baseline_hi)) + 1
    day = np.arange(n_days, dtype=np.float64)
    baseline = rng.uniform(baseline_lo, baseline_hi, n)
    season_centre = rng.uniform(0, 365.25, n)
    visible_frac = rng.uniform(7 / 12, 8 / 12, n)
    phase = 2 * np.pi * (day[None, :] - season_centre[:, None]) / 365.25
    visible = np.cos(phase) > np.cos(np.pi * visible_frac)[:, None]
    weather = np.repeat(rng.random((n, n_days // 5 + 1)) > 0.15, 5, axis=1)[:, :n_days]
    p_night = rng.uniform(0.25, 0.45, n)
    mask = (visible & weather & (rng.random((n, n_days)) < p_night[:, None])
            & (day[None, :] <= baseline[:, None]))
    obj, night = np.nonzero(mask)
    start = rng.uniform(58200.0, 58800.0, n)  # MJD of the first possible night (2018-2019)
    objs, times, bnames = [], [], []
    for b in bands:
        keep = rng.random(obj.size) < _BAND_OBS_PROB.get(b, 0.5)
        o = obj[keep]
        objs.append(o)
        times.append(start[o] + night[keep] + rng.uniform(0.12, 0.42, o.size))
        bnames.append(np.full(o.size, b, dtype=object))
    return np.concatenate(objs), np.concatenate(times), np.concatenate(bnames), start


def _padded(obj, times, n):
    """Per-object time-sorted padded index matrix (for sequential processes)."""
    order = np.lexsort((times, obj))
    counts = np.bincount(obj, minlength=n)
    width = max(int(counts.max()) if counts.size else 0, 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(order.size) - np.repeat(starts, counts)
    mat = np.full((n, width), -1, dtype=np.int64)
    mat[obj[order], col] = order
    return mat


def _drw(rng, obj, times, n, tau, sigma):
    """Damped random walk (Ornstein-Uhlenbeck) with asymptotic std ``sigma`` (mag)."""
    mat = _padded(obj, times, n)
    out = np.zeros(times.size)
    x = rng.normal(0, 1, n) * sigma
    prev_t = np.full(n, np.nan)
    for j in range(mat.shape[1]):
        idx = mat[:, j]
        live = idx >= 0
        if not live.any():
            break
        rows = np.flatnonzero(live)
        t = times[idx[live]]
        dt = np.where(np.isnan(prev_t[rows]), 0.0, t - prev_t[rows])
        a = np.exp(-dt / tau[rows])
        x[rows] = x[rows] * a + sigma[rows] * np.sqrt(1 - a * a) * rng.normal(0, 1, rows.size)
        prev_t[rows] = t
        out[idx[live]] = x[rows]
    return out


def _flux_to_dm(flux):
    return -2.5 * np.log10(np.clip(flux, 1e-6, None))


def _sim_class(sub, n, rng, bands):
    """Simulate ``n`` objects of subclass ``sub``: (obj, time, band, mag_true, meta dict)."""
    nan = np.full(n, np.nan)
    meta = {"period": nan.copy(), "peak_mag": nan.copy(), "mean_mag": nan.copy(),
            "amplitude": nan.copy(), "tau": nan.copy()}
    top = TOP_CLASS[sub]
    if top == "transient":
        obj, t, b, start = _cadence(rng, n, 330, 400, bands)
        # explosion/rise time t0 inside the first ~6 months, in days from the start; peak
        # magnitudes are those of ALeRCE-classified SNe (>= ~6 detections at ZTF depth)
        par = {
            #        rise tau   plateau gamma   fall tau      peak app. mag   g-r at peak, rate/day
            "SNIa": ((2.5, 5.0), (3.0, 12.0), (18.0, 35.0), (16.5, 19.0), (-0.10, 0.10), 0.030),
            "SNIbc": ((1.5, 4.0), (2.0, 10.0), (12.0, 28.0), (16.8, 19.1), (0.05, 0.35), 0.025),
            "SNII": ((1.5, 5.0), (60.0, 120.0), (20.0, 50.0), (16.8, 19.3), (-0.15, 0.10), 0.008),
            "SLSN": ((8.0, 20.0), (15.0, 45.0), (50.0, 140.0), (17.8, 19.5), (-0.25, 0.0), 0.004),
        }[sub]
        rise, gamma, fall, peak, c0, rate = par
        tau_r = rng.uniform(*rise, n)
        gam = rng.uniform(*gamma, n)
        tau_f = rng.uniform(*fall, n)
        beta = rng.uniform(0.0, 0.6, n) / gam  # fractional decline over the plateau
        if sub == "SNII":
            beta = rng.uniform(0.1, 0.4, n) / gam
        m_peak = rng.uniform(*peak, n)
        colour0 = rng.uniform(*c0, n)
        t0 = start + rng.uniform(40, 200, n)
        dt = t - t0[obj]
        x = -dt / tau_r[obj]
        sig = 1.0 / (1.0 + np.exp(np.clip(x, -50, 50)))
        plateau = 1.0 - beta[obj] * np.clip(dt, 0, None)
        tail = (1.0 - beta[obj] * gam[obj]) * np.exp(-(dt - gam[obj]) / tau_f[obj])
        flux = np.where(dt < gam[obj], plateau, tail) * sig
        # normalise to the model peak (computed on a fine grid per object)
        grid = np.linspace(-30, 250, 400)
        gx = 1.0 / (1.0 + np.exp(np.clip(-grid[None, :] / tau_r[:, None], -50, 50)))
        gp = np.where(grid[None, :] < gam[:, None], 1.0 - beta[:, None] * np.clip(grid, 0, None),
                      (1.0 - (beta * gam))[:, None]
                      * np.exp(-(grid[None, :] - gam[:, None]) / tau_f[:, None]))
        fmax = (gx * gp).max(axis=1)
        dm_r = _flux_to_dm(flux / fmax[obj])
        t_peak = grid[(gx * gp).argmax(axis=1)]
        colour = colour0[obj] + rate * np.clip(dt - t_peak[obj], -15, 80)
        ratio = np.ones(n)
        base_r = m_peak
        meta["peak_mag"] = m_peak
        meta["amplitude"] = np.full(n, np.nan)
        meta["t0"] = t0
        keep = (dt > -60) & (dt < (400 if sub == "SLSN" else 250))
    elif top == "stochastic":
        obj, t, b, start = _cadence(rng, n, 365, 1095, bands)
        keep = np.ones(t.size, dtype=bool)
        if sub in ("AGN", "QSO"):
            tau = _loguniform(rng, 100, 1000, n)
            sigma = rng.uniform(0.08, 0.22, n) if sub == "AGN" else rng.uniform(0.12, 0.32, n)
            base_r = rng.uniform(17.5, 20.0, n) if sub == "AGN" else rng.uniform(18.3, 20.2, n)
            colour_mean = rng.uniform(0.3, 0.9, n) if sub == "AGN" else rng.uniform(-0.1, 0.4, n)
            ratio = rng.uniform(1.2, 1.5, n)  # bluer when brighter
            dm_r = _drw(rng, obj, t, n, tau, sigma)
        elif sub == "Blazar":
            tau = _loguniform(rng, 10, 200, n)
            sigma = rng.uniform(0.25, 0.7, n)
            base_r = rng.uniform(17.5, 19.8, n)
            colour_mean = rng.uniform(0.3, 0.8, n)
            ratio = rng.uniform(1.0, 1.2, n)
            dm_r = _drw(rng, obj, t, n, tau, sigma)
            for _ in range(3):  # up to three flares, fast rise, exponential decay
                has = rng.random(n) < 0.5
                tf = start + rng.uniform(0, 1095, n)
                amp = rng.uniform(0.5, 2.0, n) * has
                dur = rng.uniform(5, 30, n)
                d = t - tf[obj]
                dm_r = dm_r - amp[obj] * np.where(d > 0, np.exp(-d / dur[obj]),
                                                  np.exp(d / 2.0))
        elif sub == "YSO":
            tau = _loguniform(rng, 1, 20, n)
            sigma = rng.uniform(0.08, 0.3, n)
            base_r = rng.uniform(14.5, 18.5, n)
            colour_mean = rng.uniform(1.0, 2.0, n)
            ratio = rng.uniform(1.2, 1.6, n)  # dust dims blue light more
            dm_r = _drw(rng, obj, t, n, tau, sigma)
            for _ in range(4):  # extinction dips
                has = rng.random(n) < 0.6
                td = start + rng.uniform(0, 1095, n)
                depth = rng.uniform(0.3, 1.5, n) * has
                width = rng.uniform(2, 20, n)
                dm_r = dm_r + depth[obj] * np.exp(-0.5 * ((t - td[obj]) / width[obj]) ** 2)
        else:  # CV/Nova: quiescence plus dwarf-nova outbursts
            tau = _loguniform(rng, 5, 50, n)
            sigma = rng.uniform(0.05, 0.15, n)
            base_r = rng.uniform(18.0, 20.3, n)
            colour_mean = rng.uniform(-0.2, 0.3, n)
            ratio = rng.uniform(1.0, 1.2, n)
            dm_r = _drw(rng, obj, t, n, tau, sigma)
            recur = _loguniform(rng, 20, 300, n)
            amp = rng.uniform(2.0, 5.0, n)
            decay = rng.uniform(2.0, 8.0, n)
            phase0 = rng.uniform(0, 1, n)
            ph = ((t - start[obj]) / recur[obj] + phase0[obj]) % 1.0 * recur[obj]
            dm_r = dm_r - amp[obj] * np.where(ph < 1.0, ph, np.exp(-(ph - 1.0) / decay[obj]))
        meta["tau"] = tau
        meta["amplitude"] = sigma
        colour = colour_mean[obj] + 0.0 * t
    else:  # periodic
        obj, t, b, start = _cadence(rng, n, 365, 1095, bands)
        keep = np.ones(t.size, dtype=bool)
        if sub == "RRL":
            is_c = rng.random(n) < 0.3
            period = np.where(is_c, rng.uniform(0.3, 0.45, n), rng.uniform(0.45, 0.9, n))
            amp = np.where(is_c, rng.uniform(0.3, 0.6, n), rng.uniform(0.6, 1.2, n))
            rise = np.where(is_c, rng.uniform(0.35, 0.5, n), rng.uniform(0.1, 0.2, n))
            base_r = rng.uniform(14.5, 19.5, n)
            colour_mean = rng.uniform(0.1, 0.4, n)
            ratio = rng.uniform(1.2, 1.4, n)
        elif sub == "CEP":
            period = _loguniform(rng, 1.0, 50.0, n)
            amp = np.clip(0.3 + 0.35 * np.log10(period) + rng.normal(0, 0.1, n), 0.2, 1.2)
            rise = rng.uniform(0.2, 0.4, n)
            base_r = rng.uniform(12.5, 17.5, n)
            colour_mean = rng.uniform(0.4, 1.0, n)
            ratio = rng.uniform(1.2, 1.5, n)
        elif sub == "DSCT":
            period = _loguniform(rng, 0.05, 0.25, n)
            amp = rng.uniform(0.05, 0.3, n)
            rise = rng.uniform(0.3, 0.5, n)
            base_r = rng.uniform(13.0, 18.0, n)
            colour_mean = rng.uniform(0.0, 0.3, n)
            ratio = rng.uniform(1.1, 1.3, n)
        elif sub == "LPV":
            period = _loguniform(rng, 100.0, 1000.0, n)
            amp = rng.uniform(1.0, 5.0, n)
            rise = rng.uniform(0.35, 0.5, n)
            base_r = rng.uniform(12.5, 16.5, n)
            colour_mean = rng.uniform(1.4, 2.4, n)
            ratio = rng.uniform(1.1, 1.3, n)
        else:  # E: two eclipses per (orbital) period
            period = _loguniform(rng, 0.2, 10.0, n)
            amp = rng.uniform(0.2, 1.0, n)
            rise = np.zeros(n)
            base_r = rng.uniform(13.0, 19.0, n)
            colour_mean = rng.uniform(0.0, 1.0, n)
            ratio = rng.uniform(0.9, 1.1, n)
        epoch = start + rng.uniform(0, 1, n) * period
        ph = ((t - epoch[obj]) / period[obj]) % 1.0
        if sub == "E":
            depth2 = amp * rng.uniform(0.1, 1.0, n)
            width = rng.uniform(0.03, 0.12, n)
            ellip = np.where(period < 1.0, rng.uniform(0.0, 0.15, n), 0.0)
            d1 = np.minimum(ph, 1 - ph)
            d2 = np.abs(ph - 0.5)
            dm_r = (amp[obj] * np.exp(-0.5 * (d1 / width[obj]) ** 2)
                    + depth2[obj] * np.exp(-0.5 * (d2 / width[obj]) ** 2)
                    + ellip[obj] * 0.5 * (1 - np.cos(4 * np.pi * ph)))
        else:
            # sawtooth: rising (brightening) over the fraction ``rise`` of the cycle, then fading
            r = rise[obj]
            shape = np.where(ph < r, 1.0 - ph / r, (ph - r) / (1.0 - r))  # 0 = brightest
            # soften the corners with a cosine blend, mimicking real pulsators
            soft = 0.5 * (1 - np.cos(np.pi * shape))
            dm_r = amp[obj] * (0.6 * shape + 0.4 * soft - 0.5)
            if sub == "LPV":
                dm_r = dm_r + _drw(rng, obj, t, n, np.full(n, 50.0), np.full(n, 0.15))
        meta["period"] = period
        meta["amplitude"] = amp
        # pulsators are redder when fainter
        colour = colour_mean[obj] + 0.1 * dm_r / np.maximum(amp[obj], 1e-3)
    meta["mean_mag"] = base_r

    # per-band magnitudes
    mag = np.empty(t.size)
    for band in bands:
        sel = b == band
        cs = _CSCALE.get(band, 0.0)
        mag[sel] = (base_r[obj[sel]] + (cs * colour[sel])
                    + ratio[obj[sel]] ** cs * dm_r[sel])
    return obj[keep], t[keep], b[keep], mag[keep], meta


def simulate_lightcurves(n_per_class: int | dict, *, random_state=None,
                         subclasses: Sequence[str] | None = None,
                         bands: Sequence[str] = ("g", "r"),
                         limiting_mag: float = 20.6, error_floor: float = 0.015,
                         id_prefix: str = "sim", min_detections: int = 6) -> LightCurves:
    """Simulate ZTF-like light curves of the 14 ALeRCE subclasses.

    Parameters
    ----------
    n_per_class : int or dict
        Objects per subclass, or ``{subclass: n}``.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives identical output.
    subclasses : sequence of str, optional
        Subset of the 14 subclasses (see :data:`SUBCLASSES`); default all.
    bands : sequence of str, default=("g", "r")
        Bands to simulate; ``u, g, r, i, z, y`` have colour/amplitude scalings.
    limiting_mag : float, default=20.6
        Median 5-sigma limiting magnitude; each epoch's limit scatters by 0.3 mag (clipped
        to [19.5, 21.3]). Only detections (observed mag brighter than the limit) are kept,
        as in ALeRCE.
    error_floor : float, default=0.015
        Systematic error floor (mag), added in quadrature.
    min_detections : int, default=6
        Objects with fewer detections (g and r together) are redrawn, as ALeRCE only
        classifies objects with at least ~6 detections (a SN in a seasonal gap never enters).
    id_prefix : str, default="sim"
        Object ids are ``f"{id_prefix}-{k:06d}"``, numbered in subclass order.

    Returns
    -------
    LightCurves
        ``meta`` columns: ``subclass``, ``top_class``, ``period`` (days, NaN when not
        periodic; for eclipsing binaries the orbital period, twice the dominant photometric
        one), ``peak_mag`` (transients: peak r mag), ``mean_mag`` (r reference mag),
        ``amplitude`` (r: pulsation amplitude, DRW sigma), ``tau`` (DRW time-scale, days),
        ``t0`` (transients: MJD of the rise).

    Notes
    -----
    Cadence: nights observed with probability 0.25-0.45 during a 7-8-month visibility season
    (4-5-month seasonal gaps), 5-night weather gaps, each band taken with probability ~0.8 at
    its own time of night; 1-3 year baselines (transients: ~1 year, kept from 60 d before
    the rise to 250 d after, 400 d for SLSN). Errors: ``sigma = hypot(floor, 1.0857 / snr)``
    with ``snr = 5 * 10 ** (-0.4 * (m - m_lim))``, so errors grow towards the limit
    (0.22 mag at the limit). Shapes: transients follow a Villar-type rise/plateau/decline
    with subclass time-scales and g-r reddening after peak; AGN/QSO/Blazar/YSO/CV are damped
    random walks (plus flares, dips or outbursts); RRL/CEP/DSCT/LPV are sawtooth-like pulsators
    with a period-amplitude relation for CEP; E are two-eclipse binaries. Parameter ranges
    overlap on purpose (SNIa/SNIbc, AGN/QSO, RRL/CEP) so subclasses are not trivially
    separable.

    Examples
    --------
    >>> lcs = simulate_lightcurves(3, random_state=1)
    >>> len(lcs)
    42
    """
    rng = np.random.default_rng(random_state)
    if isinstance(n_per_class, dict):
        plan = {str(k): int(v) for k, v in n_per_class.items()}
    else:
        chosen = list(subclasses) if subclasses is not None else list(TOP_CLASS)
        plan = {s: int(n_per_class) for s in chosen}
    unknown = [s for s in plan if s not in TOP_CLASS]
    if unknown:
        raise ValueError(f"unknown subclass(es) {unknown}; expected some of {list(TOP_CLASS)}.")
    if any(v < 0 for v in plan.values()):
        raise ValueError(f"n_per_class must be >= 0, got {plan}.")
    bands = [str(b).lower() for b in bands]

    frames, metas, offset = [], [], 0
    for sub, n in plan.items():
        if n == 0:
            continue
        accepted, metas_sub, need = [], [], n
        for _attempt in range(50):
            obj, t, b, mag_true, meta = _sim_class(sub, need, rng, bands)
            m_lim = np.clip(rng.normal(limiting_mag, 0.3, t.size), 19.5, 21.3)
            # Noise is added in flux (units of the 1-sigma flux at this epoch's 5-sigma limit)
            # and detection is a 5-sigma cut on the *observed* flux, as in ZTF difference
            # imaging; Gaussian noise in magnitudes instead explodes for faint epochs.
            snr = 5.0 * 10 ** (-0.4 * (mag_true - m_lim)) + rng.normal(0, 1, t.size)
            det = snr >= 5.0
            snr_det = np.clip(snr, 5.0, None)
            err = np.hypot(error_floor, 1.0857 / snr_det)
            mag = m_lim - 2.5 * np.log10(snr_det / 5.0) + rng.normal(0, error_floor, t.size)
            ok = np.bincount(obj[det], minlength=need) >= min_detections
            keep = det & ok[obj]
            accepted.append((obj[keep], b[keep], t[keep], mag[keep], err[keep], np.flatnonzero(ok)))
            metas_sub.append({k: np.asarray(v)[ok] for k, v in meta.items()})
            need -= int(ok.sum())
            if need == 0:
                break
        if need:
            raise RuntimeError(f"could not simulate {n} detectable {sub} light curves "
                               f"(limiting_mag={limiting_mag}); lower min_detections.")
        ids = np.array([f"{id_prefix}-{offset + k:06d}" for k in range(n)], dtype=object)
        start = 0
        for o, bb, tt, mm, ee, ok_idx in accepted:
            remap = np.full(ok_idx.max() + 1 if len(ok_idx) else 0, -1)
            remap[ok_idx] = np.arange(len(ok_idx)) + start
            frames.append(pd.DataFrame({"object_id": ids[remap[o]], "band": bb, "time": tt,
                                        "mag": mm, "magerr": ee}))
            start += len(ok_idx)
        meta = {k: np.concatenate([m[k] for m in metas_sub]) for k in metas_sub[0]}
        meta_frame = pd.DataFrame(meta, index=pd.Index(ids, name="object_id"))
        meta_frame.insert(0, "top_class", TOP_CLASS[sub])
        meta_frame.insert(0, "subclass", sub)
        metas.append(meta_frame)
        offset += n
    if not frames:
        raise ValueError("simulate_lightcurves: nothing to simulate (all counts are zero).")
    meta = pd.concat(metas)
    cols = ["subclass", "top_class", "period", "peak_mag", "mean_mag", "amplitude", "tau", "t0"]
    meta = meta.reindex(columns=cols)
    return LightCurves(pd.concat(frames, ignore_index=True), meta,
                       source=f"simulate_lightcurves(random_state={random_state!r})")
