"""The light-curve container, :class:`LightCurves`, and the band normalisation it applies.

See :mod:`astroad_nb.data.lightcurves` for the conventions (units, band names, sorting and
the cleaning done when a container is built).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from astroad_nb.data.bands import ZTF_FID_TO_BAND

__all__ = ["LightCurves"]

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
    fid_text = {str(fid): band for fid, band in ZTF_FID_TO_BAND.items()}
    fid_like = text.isin(list(fid_text))
    text = text.where(~fid_like, text.map(fid_text))
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
    >>> from astroad_nb.data.lightcurves import simulate_lightcurves
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

