"""Light-curve features (ALeRCE-style names) and the ALeRCE anomaly-detector preprocessing.

:func:`extract_features` turns a :class:`~astroad_nb.data.lightcurves.LightCurves` container
into one row of float64 features per object, computed by the Rust-backed ``light-curve``
package on all cores. :class:`ALeRCEPreprocessor` is the fitted scaling + ``tanh`` squashing
that the ALeRCE anomaly detectors (Perez-Carrasco et al. 2023) apply before their models.

Feature naming
--------------
Per-band features are ``{Feature}_{fid}`` with ALeRCE's filter ids: ``fid`` = 1 for g, 2 for
r, 3 for i; any other band keeps its name (``Amplitude_u``). Magnitudes in mag, times in days.

=================================== ========================================================
name (per band, suffix ``_{fid}``)  meaning (``light-curve`` feature)
=================================== ========================================================
``Amplitude``                       half of max - min magnitude (``Amplitude``)
``AndersonDarling``                 Anderson-Darling normality statistic
``Beyond1Std``, ``Beyond2Std``      fraction of points beyond 1 / 2 std from the mean
``Rcs``                             range of the cumulative sum (``Cusum``)
``Eta``, ``Eta_e``                  von Neumann ratio, and its time-aware version (``EtaE``)
``ExcessVar``                       excess variance
``Q31``                             75th - 25th percentile (``InterPercentileRange(0.25)``)
``InterPercentileRange_10``         90th - 10th percentile
``SmallKurtosis``, ``Skew``         unbiased excess kurtosis, skewness
``LinearTrend``                     least-squares slope (mag/day); ``_sigma``, ``_noise``
``LinearFit_slope``                 error-weighted slope; ``_sigma``; ``LinearFit_reduced_chi2``
``FluxPercentileRatioMid20/50/80``  magnitude percentage ratios (40/5, 25/5, 10/5)
``MaxSlope``                        maximum |dm/dt| between consecutive points
``Mean``, ``Median``, ``WeightedMean`` mean, median and inverse-variance weighted mean mag
``Meanvariance``                    std / mean
``MedianAbsDev``                    median absolute deviation
``MedianBRP``                       fraction of points within 10 % of the amplitude of median
``PercentAmplitude``                max |m - median|
``PercentDifferenceFluxPercentile`` (95th - 5th percentile) / median
``ReducedChi2``                     reduced chi2 against the weighted mean
``Std``                             standard deviation
``StetsonK``                        Stetson K
``n_det``                           number of detections
``Duration``                        last - first time (days)
``min_mag``                         brightest magnitude
``Period_band``                     best Lomb-Scargle period of the band (days); only
                                    with ``periodogram="full"``
``Power_band``                      its peak signal-to-noise: (P - mean P) / std P
``Psi_eta``, ``Psi_CS``             Eta and Rcs of the band folded at ``Period_band``
``SPM_A``, ``SPM_baseline``         SN parametric model (``VillarFit``) fitted to the flux
                                    ``10 ** (-0.4 (m - min_mag))`` (peak flux ~ 1, so no
                                    brightness): amplitude and baseline (relative flux)
``SPM_t0``                          its reference time, days after the first detection
``SPM_tau_rise``, ``SPM_tau_fall``  rise and fall time-scales (days)
``SPM_beta``, ``SPM_gamma``         plateau relative amplitude and plateau duration (days)
``SPM_chi``                         reduced chi2 of the fit; only with ``spm=True``
``GP_DRW_sigma``, ``GP_DRW_tau``    damped random walk sigma (mag) and tau (days), fitted to
                                    the noise-corrected structure function (:func:`drw_fit`);
                                    only with ``drw=True``
=================================== ========================================================

=================================== ========================================================
name (whole object)                 meaning
=================================== ========================================================
``Multiband_period``                best period (days) of the joint g+r periodogram (each
                                    band's weighted mean subtracted, bands merged)
``Multiband_power``                 its peak signal-to-noise: (P - mean P) / std P
``Psi_eta``, ``Psi_CS``             Eta and Rcs of the merged curve folded at
                                    ``Multiband_period`` (low for clean periodic signals)
``g-r_mean``                        ``Mean_1 - Mean_2`` (mag)
``g-r_max``                         ``min_mag_1 - min_mag_2``: colour at maximum brightness
=================================== ========================================================

With other ``bands`` the colours are ``{a}-{b}_mean`` / ``{a}-{b}_max`` for consecutive
bands in the order given. :func:`feature_names` lists the columns for a configuration;
:data:`FEATURE_NAMES` is the default list (g, r, periodogram on).

Periodogram grid
----------------
``light-curve``'s fast (NFFT) Lomb-Scargle needs a linear grid ``linspace(0, w_max, 2**k + 1)``
(angular frequency). ``w_max = 2 pi / min_period`` (0.05 d by default) and ``k`` is chosen per
curve from its baseline ``T`` so that the step is ``2 pi / (oversampling * T)``: curves are
grouped by ``k`` and each group runs in parallel. The longest period reported is bounded by
the grid (first non-zero frequency) and by ``max_period``; longer best periods are reported as
they are (the periodogram of a trend peaks at the lowest frequency).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from astroad_nb.data.bands import BAND_TO_ZTF_FID

__all__ = [
    "FEATURE_NAMES",
    "feature_names",
    "extract_features",
    "drw_fit",
    "ALeRCEPreprocessor",
]

_FID = {band: str(fid) for band, fid in BAND_TO_ZTF_FID.items()}  # "g" -> "1"

# light-curve feature constructors and the ALeRCE-style names of their outputs, in order
_SCALAR_FEATURES = [
    ("Amplitude", lambda lc: lc.Amplitude(), ["Amplitude"]),
    ("AndersonDarlingNormal", lambda lc: lc.AndersonDarlingNormal(), ["AndersonDarling"]),
    ("BeyondNStd1", lambda lc: lc.BeyondNStd(1.0), ["Beyond1Std"]),
    ("BeyondNStd2", lambda lc: lc.BeyondNStd(2.0), ["Beyond2Std"]),
    ("Cusum", lambda lc: lc.Cusum(), ["Rcs"]),
    ("Eta", lambda lc: lc.Eta(), ["Eta"]),
    ("EtaE", lambda lc: lc.EtaE(), ["Eta_e"]),
    ("ExcessVariance", lambda lc: lc.ExcessVariance(), ["ExcessVar"]),
    ("IPR25", lambda lc: lc.InterPercentileRange(0.25), ["Q31"]),
    ("IPR10", lambda lc: lc.InterPercentileRange(0.10), ["InterPercentileRange_10"]),
    ("Kurtosis", lambda lc: lc.Kurtosis(), ["SmallKurtosis"]),
    ("LinearTrend", lambda lc: lc.LinearTrend(),
     ["LinearTrend", "LinearTrend_sigma", "LinearTrend_noise"]),
    ("LinearFit", lambda lc: lc.LinearFit(),
     ["LinearFit_slope", "LinearFit_slope_sigma", "LinearFit_reduced_chi2"]),
    ("MPR40", lambda lc: lc.MagnitudePercentageRatio(0.40, 0.05), ["FluxPercentileRatioMid20"]),
    ("MPR25", lambda lc: lc.MagnitudePercentageRatio(0.25, 0.05), ["FluxPercentileRatioMid50"]),
    ("MPR10", lambda lc: lc.MagnitudePercentageRatio(0.10, 0.05), ["FluxPercentileRatioMid80"]),
    ("MaximumSlope", lambda lc: lc.MaximumSlope(), ["MaxSlope"]),
    ("Mean", lambda lc: lc.Mean(), ["Mean"]),
    ("MeanVariance", lambda lc: lc.MeanVariance(), ["Meanvariance"]),
    ("Median", lambda lc: lc.Median(), ["Median"]),
    ("MedianAbsoluteDeviation", lambda lc: lc.MedianAbsoluteDeviation(), ["MedianAbsDev"]),
    ("MedianBufferRangePercentage", lambda lc: lc.MedianBufferRangePercentage(0.10),
     ["MedianBRP"]),
    ("PercentAmplitude", lambda lc: lc.PercentAmplitude(), ["PercentAmplitude"]),
    ("PDMP", lambda lc: lc.PercentDifferenceMagnitudePercentile(0.05),
     ["PercentDifferenceFluxPercentile"]),
    ("ReducedChi2", lambda lc: lc.ReducedChi2(), ["ReducedChi2"]),
    ("Skew", lambda lc: lc.Skew(), ["Skew"]),
    ("StandardDeviation", lambda lc: lc.StandardDeviation(), ["Std"]),
    ("StetsonK", lambda lc: lc.StetsonK(), ["StetsonK"]),
    ("WeightedMean", lambda lc: lc.WeightedMean(), ["WeightedMean"]),
    ("ObservationCount", lambda lc: lc.ObservationCount(), ["n_det"]),
    ("Duration", lambda lc: lc.Duration(), ["Duration"]),
]
_SCALAR_NAMES = [name for _, _, names in _SCALAR_FEATURES for name in names]
_PERIOD_BAND_NAMES = ["Period_band", "Power_band", "Psi_eta", "Psi_CS"]
_MULTIBAND_NAMES = ["Multiband_period", "Multiband_power", "Psi_eta", "Psi_CS"]
# VillarFit outputs in light-curve's order and their ALeRCE SPM names
_SPM_NAMES = ["SPM_A", "SPM_baseline", "SPM_t0", "SPM_tau_rise", "SPM_tau_fall", "SPM_beta",
              "SPM_gamma", "SPM_chi"]
_DRW_NAMES = ["GP_DRW_sigma", "GP_DRW_tau"]
# Epoch offsets of the pairs entering the structure function: O(n) pairs per curve that
# cover short and long lags (all n^2/2 pairs cost ~100x more for the same fit).
_DRW_OFFSETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
_DRW_LAG_EDGES = np.logspace(-1.5, 3.5, 21)  # days: 20 log-spaced lag bins
_DRW_TAU_GRID = np.logspace(-1.0, 4.0, 61)  # days: 0.083-dex steps
_MIN_POINTS_SPM = 8  # VillarFit needs 8 points
_MIN_POINTS_PERIODOGRAM = 5


def _suffix(band: str) -> str:
    return _FID.get(band, band)


def _periodogram_mode(periodogram) -> str:
    if periodogram is True or periodogram == "multiband":
        return "multiband"
    if periodogram is False or periodogram is None or periodogram == "none":
        return "none"
    if periodogram == "full":
        return "full"
    raise ValueError(f"periodogram must be True/'multiband', 'full' or False, got {periodogram!r}.")


def feature_names(bands=("g", "r"), periodogram=True, *, spm=True, drw=True) -> list[str]:
    """Column names :func:`extract_features` returns for a configuration.

    Parameters
    ----------
    bands : sequence of str, default=("g", "r")
    periodogram : bool or {"multiband", "full"}, default=True
    spm, drw : bool, default=True
        See :func:`extract_features`.

    Returns
    -------
    list of str
    """
    mode = _periodogram_mode(periodogram)
    bands = [str(b).lower() for b in bands]
    names = []
    for band in bands:
        per_band = (_SCALAR_NAMES + ["min_mag"] + (_PERIOD_BAND_NAMES if mode == "full" else [])
                    + (_SPM_NAMES if spm else []) + (_DRW_NAMES if drw else []))
        names += [f"{n}_{_suffix(band)}" for n in per_band]
    if mode != "none":
        names += _MULTIBAND_NAMES
    for a, b in zip(bands[:-1], bands[1:], strict=False):
        names += [f"{a}-{b}_mean", f"{a}-{b}_max"]
    return names


#: Default feature columns (bands g and r, periodogram on).
FEATURE_NAMES: list[str] = feature_names()


def _scalar_extractor():
    import light_curve as lc

    return lc.Extractor(*[make(lc) for _, make, _ in _SCALAR_FEATURES])


def _periodograms(curves, *, min_period, oversampling, n_jobs, max_k=18):
    """Best period, its S/N and folded Eta/Cusum for each (t, m, e) curve.

    Curves are grouped by the grid size their baseline needs (see module docstring).
    Returns an array of shape (n_curves, 4) with NaN where undefined.
    """
    import light_curve as lc

    out = np.full((len(curves), 4), np.nan)
    if not curves:
        return out
    n_pts = np.array([c[0].size for c in curves])
    base = np.array([c[0][-1] - c[0][0] if c[0].size else 0.0 for c in curves])
    ok = (n_pts >= _MIN_POINTS_PERIODOGRAM) & (base > 0)
    w_max = 2 * np.pi / min_period
    with np.errstate(divide="ignore"):
        k = np.ceil(np.log2(np.maximum(base * oversampling / min_period, 1.0)))
    k = np.clip(k, 8, max_k).astype(int)
    for kk in np.unique(k[ok]):
        idx = np.flatnonzero(ok & (k == kk))
        freqs = np.linspace(0.0, w_max, 2**kk + 1)
        feat = lc.Periodogram(peaks=1, freqs=freqs, fast=True,
                              phase_features=[lc.Eta(), lc.Cusum()])
        # float32 halves the NFFT cost; times are shifted to start at 0 so that float32
        # keeps ~1e-4 d resolution over a 3000-d baseline (0.2 % of a 0.05-d period).
        batch = [((curves[i][0] - curves[i][0][0]).astype(np.float32),
                  curves[i][1].astype(np.float32), curves[i][2].astype(np.float32))
                 for i in idx]
        res = feat.many(batch, fill_value=np.nan, sorted=True, check=False, n_jobs=n_jobs)
        out[idx] = res
    return out


def _spm_fit(curves, *, n_jobs):
    """VillarFit (SN parametric model) of each (t, m, e) curve in relative flux.

    Returns an array of shape (n_curves, 8) in :data:`_SPM_NAMES` order, NaN where a curve
    has fewer than ``_MIN_POINTS_SPM`` points or the fit fails.
    """
    import light_curve as lc

    out = np.full((len(curves), len(_SPM_NAMES)), np.nan)
    idx = [i for i, c in enumerate(curves) if c[0].size >= _MIN_POINTS_SPM]
    if not idx:
        return out
    batch = []
    for i in idx:
        t, m, e = curves[i]
        flux = 10.0 ** (-0.4 * (m - m.min()))  # brightest point = 1: shape, not brightness
        batch.append((t - t[0], flux, np.maximum(flux * e / 1.0857, 1e-6)))
    with np.errstate(all="ignore"):
        out[idx] = lc.VillarFit("lmsder").many(batch, fill_value=np.nan, sorted=True,
                                               check=False, n_jobs=n_jobs)
    return out


def drw_fit(curves, *, min_points=5):
    """Damped-random-walk sigma and tau of each curve, from its structure function.

    For a DRW of asymptotic standard deviation ``sigma`` and time-scale ``tau`` the
    noise-free structure function is ``SF^2(dt) = 2 sigma^2 (1 - exp(-dt / tau))``. Per curve,
    the pairs ``(i, i + k)`` for ``k`` in ``_DRW_OFFSETS`` give ``(m_j - m_i)^2 - e_i^2 - e_j^2``,
    averaged in 20 log-spaced lag bins (0.03-3000 d); ``tau`` is the value of a log grid
    (0.1-10^4 d) with the least count-weighted squared residual, ``sigma^2`` its closed-form
    least-squares amplitude. Deterministic (no random draws) and vectorised over all curves.

    Parameters
    ----------
    curves : list of (t, m, e) tuples of 1-D arrays
        Times (days, sorted), magnitudes and errors (mag).
    min_points : int, default=5
        Curves with fewer points, or with fewer than 3 filled lag bins, get NaN.

    Returns
    -------
    ndarray of shape (n_curves, 2)
        ``sigma`` (mag) and ``tau`` (days).
    """
    n = len(curves)
    out = np.full((n, 2), np.nan)
    counts = np.array([c[0].size for c in curves], dtype=np.int64)
    if n == 0 or counts.sum() == 0:
        return out
    t = np.concatenate([c[0] for c in curves]).astype(np.float64)
    m = np.concatenate([c[1] for c in curves]).astype(np.float64)
    e2 = np.concatenate([c[2] for c in curves]).astype(np.float64) ** 2
    obj = np.repeat(np.arange(n), counts)
    n_bins = len(_DRW_LAG_EDGES) - 1
    sums = np.zeros(n * n_bins)
    cnt = np.zeros(n * n_bins)
    for k in _DRW_OFFSETS:
        if k >= t.size:
            break
        i = np.flatnonzero(obj[:-k] == obj[k:])
        dt = t[i + k] - t[i]
        b = np.searchsorted(_DRW_LAG_EDGES, dt, side="right") - 1
        ok = (b >= 0) & (b < n_bins)
        cell = obj[i[ok]] * n_bins + b[ok]
        v = (m[i + k] - m[i])[ok] ** 2 - e2[i + k][ok] - e2[i][ok]
        sums += np.bincount(cell, v, minlength=n * n_bins)
        cnt += np.bincount(cell, minlength=n * n_bins)
    w = cnt.reshape(n, n_bins)
    y = np.divide(sums.reshape(n, n_bins), w, out=np.zeros((n, n_bins)), where=w > 0)
    lag = np.sqrt(_DRW_LAG_EDGES[:-1] * _DRW_LAG_EDGES[1:])
    f = 2.0 * (1.0 - np.exp(-lag[None, :] / _DRW_TAU_GRID[:, None]))  # (n_tau, n_bins)
    num = (w * y) @ f.T  # (n, n_tau)
    den = w @ (f ** 2).T
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.clip(num / den, 0.0, None)
    rss = -2.0 * s2 * num + s2 ** 2 * den  # + sum(w y^2), the same for every tau
    rss[~np.isfinite(rss)] = np.inf
    best = np.argmin(rss, axis=1)
    sigma = np.sqrt(s2[np.arange(n), best])
    ok = (counts >= min_points) & ((w > 0).sum(axis=1) >= 3) & np.isfinite(sigma)
    out[ok, 0] = sigma[ok]
    out[ok, 1] = _DRW_TAU_GRID[best[ok]]
    out[ok & (sigma == 0), 1] = np.nan  # no variability above the noise: tau undefined
    return out


def extract_features(lcs, *, bands=("g", "r"), n_jobs: int = -1, periodogram=True,
                     spm: bool = True, drw: bool = True,
                     min_period: float = 0.05, max_period: float = 1000.0,
                     oversampling: float = 1.5) -> pd.DataFrame:
    """Compute ALeRCE-style light-curve features for every object.

    Parameters
    ----------
    lcs : LightCurves
        Light curves (see :mod:`astroad_nb.data.lightcurves`). Bands not in ``bands`` are
        ignored.
    bands : sequence of str, default=("g", "r")
        Bands to compute per-band features for, in this order (colours use consecutive
        pairs). A band absent from ``lcs`` gives NaN columns.
    n_jobs : int, default=-1
        Threads for ``light-curve``'s parallel ``many`` (-1: all cores).
    periodogram : bool or {"multiband", "full"}, default=True
        ``True`` (= ``"multiband"``): one Lomb-Scargle periodogram per object on the merged,
        mean-subtracted bands (``Multiband_period``, ``Multiband_power``, ``Psi_eta``,
        ``Psi_CS``). ``"full"``: also one per band (``Period_band_{fid}``,
        ``Power_band_{fid}``, ``Psi_eta_{fid}``, ``Psi_CS_{fid}``), about three times the
        periodogram cost. ``False``: no periodogram (fastest).
    spm : bool, default=True
        Fit the SN parametric model per band (``SPM_*``, ``light-curve``'s ``VillarFit`` on
        relative flux; ~2 s per 10k two-band curves on 2 cores).
    drw : bool, default=True
        Fit a damped random walk per band (``GP_DRW_sigma``, ``GP_DRW_tau``; :func:`drw_fit`).
    min_period : float, default=0.05
        Shortest period searched (days); sets the highest grid frequency.
    max_period : float, default=1000.0
        Periods longer than this are reported as NaN (not constrained by the data).
    oversampling : float, default=1.5
        Grid points per periodogram peak width ``2 pi / T`` (the grid size is rounded up to
        a power of two, so the effective value lies between this and twice it). Measured on
        10,014 simulated curves (``tests/benchmarks/bench_features.py``): 1.0 -> RRL / DSCT /
        CEP periods within 1 % for 85 / 78 / 82 % at ~4.2 s of periodogram per 10k objects
        on 2 cores; 1.5 -> 96 / 92 / 93 % at ~5.7 s; 2.0 -> 99 / 98 / 97 % at ~7.9 s.
        Sparse, long-baseline surveys (SDSS Stripe 82) need 4.

    Returns
    -------
    pandas.DataFrame
        Shape ``(len(lcs), len(feature_names(bands, periodogram)))``, float64, indexed by
        ``object_id`` in ``lcs.ids`` order. Undefined values (too few points, a missing band,
        constant curves) are NaN, never an error; infinite values are turned into NaN.
        Objects with fewer than two detections over ``bands`` (empty or one-point curves)
        get an all-NaN row. A band missing from an otherwise observed object has
        ``n_det_{fid} = 0`` and NaN elsewhere.

    Examples
    --------
    >>> from astroad_nb.data.lightcurves import simulate_lightcurves
    >>> lcs = simulate_lightcurves(2, random_state=0, subclasses=["RRL"])
    >>> feats = extract_features(lcs)
    >>> feats.shape == (2, len(FEATURE_NAMES))
    True
    """
    mode = _periodogram_mode(periodogram)
    bands = [str(b).lower() for b in bands]
    ids = lcs.ids
    n = len(ids)
    columns = {}
    extractor = _scalar_extractor()
    per_band_curves = {}
    for band in bands:
        curves, counts = lcs._band_lists(band)
        per_band_curves[band] = curves
        sfx = _suffix(band)
        values = extractor.many(curves, fill_value=np.nan, sorted=True, check=False,
                                n_jobs=n_jobs) if n else np.empty((0, len(_SCALAR_NAMES)))
        for j, name in enumerate(_SCALAR_NAMES):
            columns[f"{name}_{sfx}"] = values[:, j]
        min_mag = np.full(n, np.nan)
        nonempty = counts > 0
        if nonempty.any():
            mags = np.concatenate([c[1] for c in curves])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            min_mag[nonempty] = np.minimum.reduceat(mags, starts[nonempty])
        columns[f"min_mag_{sfx}"] = min_mag
        if mode == "full":
            pg = _periodograms(curves, min_period=min_period, oversampling=oversampling,
                               n_jobs=n_jobs)
            period = pg[:, 0]
            pg[period > max_period, :] = np.nan
            for j, name in enumerate(_PERIOD_BAND_NAMES):
                columns[f"{name}_{sfx}"] = pg[:, j]
        if spm:
            for name in _SPM_NAMES:
                columns[f"{name}_{sfx}"] = None  # placeholder, filled below in one batch
        if drw:
            dr = drw_fit(curves)
            for j, name in enumerate(_DRW_NAMES):
                columns[f"{name}_{sfx}"] = dr[:, j]
    if spm and n:  # one VillarFit batch over all bands: better thread use
        all_curves = [c for b in bands for c in per_band_curves[b]]
        res = _spm_fit(all_curves, n_jobs=n_jobs)
        for k, band in enumerate(bands):
            for j, name in enumerate(_SPM_NAMES):
                columns[f"{name}_{_suffix(band)}"] = res[k * n:(k + 1) * n, j]
    elif spm:
        for band in bands:
            for name in _SPM_NAMES:
                columns[f"{name}_{_suffix(band)}"] = np.empty(0)
    if mode != "none":
        merged = _merge_bands([per_band_curves[b] for b in bands], n)
        pg = _periodograms(merged, min_period=min_period, oversampling=oversampling,
                           n_jobs=n_jobs)
        pg[pg[:, 0] > max_period, :] = np.nan
        for j, name in enumerate(_MULTIBAND_NAMES):
            columns[name] = pg[:, j]
    for a, b in zip(bands[:-1], bands[1:], strict=False):
        columns[f"{a}-{b}_mean"] = columns[f"Mean_{_suffix(a)}"] - columns[f"Mean_{_suffix(b)}"]
        columns[f"{a}-{b}_max"] = (columns[f"min_mag_{_suffix(a)}"]
                                   - columns[f"min_mag_{_suffix(b)}"])
    frame = pd.DataFrame(columns, index=pd.Index(ids, name="object_id"), dtype=np.float64)
    frame = frame[feature_names(bands, mode, spm=spm, drw=drw)]
    values = frame.to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    # fewer than two detections in all bands: no variability information -> all-NaN row
    n_total = sum(columns[f"n_det_{_suffix(b)}"] for b in bands) if bands else np.zeros(n)
    values[np.asarray(n_total) < 2] = np.nan
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _merge_bands(band_curves, n):
    """Per object: all bands merged, each band's weighted mean subtracted, time-sorted."""
    merged = []
    for i in range(n):
        ts, ms, es = [], [], []
        for curves in band_curves:
            t, m, e = curves[i]
            if t.size == 0:
                continue
            w = 1.0 / np.maximum(e, 1e-3) ** 2
            ts.append(t)
            ms.append(m - np.sum(w * m) / np.sum(w))
            es.append(e)
        if not ts:
            empty = np.empty(0)
            merged.append((empty, empty, empty))
            continue
        t = np.concatenate(ts)
        order = np.argsort(t, kind="mergesort")
        t = t[order]
        keep = np.concatenate([[True], np.diff(t) > 0])  # the NFFT needs distinct times
        merged.append((np.ascontiguousarray(t[keep]),
                       np.ascontiguousarray(np.concatenate(ms)[order][keep]),
                       np.ascontiguousarray(np.concatenate(es)[order][keep])))
    return merged


class ALeRCEPreprocessor(TransformerMixin, BaseEstimator):
    """Fixed-range scaling + ``tanh`` squashing of features, learnt from training data.

    For each feature, ``fit`` learns a range ``[lo, hi]`` (the ``quantile_range`` quantiles,
    after an optional ``log`` for positive features spanning many decades) and ``transform``
    returns ``tanh((x - lo) / (hi - lo) - 0.5)``: typical values land in about (-0.46, 0.46)
    and outliers saturate smoothly towards +-1. Missing values (NaN, +-inf, or a feature
    undefined for an object) become ``fill_value`` after squashing.

    Seed note: AnomalyALeRCE's ``HandcraftedFeaturePreprocessor`` uses the same
    ``tanh((x - min) / (max - min) - 0.5)`` with hand-set ranges and fills NaN with -1.1
    (outside the range); we learn the ranges from data (its tables only cover its own feature
    set) and fill with -0.999 so outputs stay in (-1, 1) while missing stays distinguishable.

    Parameters
    ----------
    quantile_range : tuple of float, default=(0.05, 0.95)
        Quantiles of the training data that map to -0.5 and +0.5 before ``tanh``.
    log_decades : float or None, default=2.0
        Features whose training values are all > 0 and whose quantile range spans more than
        this many decades are scaled in ``log10`` (as the seed does for periods, Eta_e,
        MaxSlope, ...). ``None`` disables.
    fill_value : float, default=-0.999
        Output for missing values; must lie in (-1, 1).

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns seen in ``fit`` (DataFrame input), or ``x0, x1, ...``.
    feature_names_out_ : ndarray of str
        Columns kept: all-NaN, constant and non-numeric columns are dropped.
    dropped_features_ : dict
        ``{column: reason}`` for the dropped columns.
    lo_, hi_ : ndarray of float, shape (n_features_out,)
        Learnt ranges (in log10 where ``log_`` is True).
    log_ : ndarray of bool, shape (n_features_out,)
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0, None], "b": [5.0, 5.0, 5.0, 5.0]})
    >>> ALeRCEPreprocessor().fit_transform(X).columns.tolist()
    ['a']
    """

    def __init__(self, quantile_range=(0.05, 0.95), *, log_decades=2.0, fill_value=-0.999):
        self.quantile_range = quantile_range
        self.log_decades = log_decades
        self.fill_value = fill_value

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values become fill_value by design
        tags.input_tags.string = True  # non-numeric columns (objectId) are dropped by design
        return tags

    def _as_frame(self, X, *, fitting):
        from scipy import sparse

        if sparse.issparse(X):
            raise TypeError(f"ALeRCEPreprocessor does not accept sparse input (got a "
                            f"{type(X).__name__}); pass a dense array or DataFrame, e.g. "
                            "X.toarray().")
        if isinstance(X, pd.DataFrame):
            frame = X
            complex_cols = [str(c) for c, d in X.dtypes.items()
                            if pd.api.types.is_complex_dtype(d)]
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError(
                    f"Expected a 2D array or DataFrame, got shape {arr.shape}. Reshape your "
                    "data either using X.reshape(-1, 1) if it has a single feature or "
                    "X.reshape(1, -1) if it contains a single sample.")
            if fitting:
                names = [f"x{i}" for i in range(arr.shape[1])]
            else:
                names = list(self.feature_names_in_)
                if arr.shape[1] != len(names):
                    raise ValueError(f"X has {arr.shape[1]} features, but ALeRCEPreprocessor "
                                     f"is expecting {len(names)} features as input.")
            complex_cols = names if arr.dtype.kind == "c" else []
            frame = pd.DataFrame(arr, columns=names)
            if arr.dtype == object:  # numbers stored as objects count as numeric; strings not
                frame = frame.infer_objects()
        if complex_cols:
            raise ValueError(f"Complex data not supported: columns {complex_cols[:5]} are "
                             "complex; pass real-valued features (e.g. np.abs or .real).")
        return frame

    def fit(self, X, y=None):
        """Learn per-feature ranges.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, shape (n_samples, n_features)
            Non-numeric columns (e.g. an ``objectId`` column) are dropped and recorded; in an
            object-dtype array, columns holding only numbers count as numeric.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad parameters, fewer than 2 samples, no feature column, complex values, a
            non-2D array, or every column dropped.
        TypeError
            Sparse input.
        """
        lo_q, hi_q = self.quantile_range
        if not 0 <= lo_q < hi_q <= 1:
            raise ValueError(f"quantile_range must satisfy 0 <= low < high <= 1, "
                             f"got {self.quantile_range!r}.")
        if not -1 < self.fill_value < 1:
            raise ValueError(f"fill_value must be in (-1, 1), got {self.fill_value!r}.")
        frame = self._as_frame(X, fitting=True)
        if frame.shape[1] < 1:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                             "required: ALeRCEPreprocessor.fit needs feature columns.")
        if frame.shape[0] < 2:  # one row makes every column constant, hence dropped
            raise ValueError(f"ALeRCEPreprocessor.fit needs at least 2 samples to learn a "
                             f"range per feature, got n_samples = {frame.shape[0]}.")
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        dropped, keep, lo, hi, logs = {}, [], [], [], []
        for col in frame.columns:
            series = frame[col]
            if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
                dropped[str(col)] = f"non-numeric (dtype {series.dtype})"
                continue
            x = series.to_numpy(dtype=np.float64, na_value=np.nan)
            x = x[np.isfinite(x)]
            if x.size == 0:
                dropped[str(col)] = "all NaN/inf"
                continue
            if x.min() == x.max():
                dropped[str(col)] = "constant"
                continue
            use_log = False
            if self.log_decades is not None and x.min() > 0:
                q = np.quantile(x, [lo_q, hi_q])
                use_log = bool(np.log10(q[1] / q[0]) > self.log_decades)
            if use_log:
                x = np.log10(x)
            a, b = np.quantile(x, [lo_q, hi_q])
            if b - a <= 0:  # mostly one value with a few others: use the full range
                a, b = x.min(), x.max()
            keep.append(str(col))
            lo.append(a)
            hi.append(b)
            logs.append(use_log)
        if not keep:
            raise ValueError(f"ALeRCEPreprocessor.fit: every column was dropped "
                             f"({dropped}); pass numeric, non-constant features.")
        self.feature_names_out_ = np.asarray(keep, dtype=object)
        self.dropped_features_ = dropped
        self.lo_ = np.asarray(lo, dtype=np.float64)
        self.hi_ = np.asarray(hi, dtype=np.float64)
        self.log_ = np.asarray(logs, dtype=bool)
        return self

    def transform(self, X):
        """Scale and squash.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, shape (n_samples, n_features_in_)

        Returns
        -------
        pandas.DataFrame or numpy.ndarray, shape (n_samples, len(feature_names_out_))
            A DataFrame (same index, ``feature_names_out_`` columns) for DataFrame input;
            values in (-1, 1), finite.

        Raises
        ------
        ValueError
            When a DataFrame lacks fitted columns (the message names them).
        """
        check_is_fitted(self, "feature_names_out_")
        frame = self._as_frame(X, fitting=False)
        cols = list(self.feature_names_out_)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"X lacks {len(missing)} column(s) seen in fit, e.g. "
                             f"{missing[:5]}; pass the same feature columns as in fit.")
        x = frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        x[~np.isfinite(x)] = np.nan  # +-inf is missing, like NaN (not "very large")
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(self.log_, np.log10(np.where(x > 0, x, np.nan)), x)
            z = np.tanh((x - self.lo_) / (self.hi_ - self.lo_) - 0.5)
        z[~np.isfinite(z)] = self.fill_value
        # tanh of large values rounds to exactly +-1 in float64; keep the open interval
        np.clip(z, -1 + 1e-12, 1 - 1e-12, out=z)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(z, index=X.index, columns=cols)
        return z

    def get_feature_names_out(self, input_features=None):
        """Names of the kept features (ndarray of str)."""
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    # Persistence protocol of astroad_nb.io (``astroad_nb.save(pre, path)`` /
    # ``astroad_nb.load(path)``); no save method here: features sit below io's floor.
    def _get_state(self):
        check_is_fitted(self, "feature_names_out_")
        return {"feature_names": [str(c) for c in self.feature_names_in_],
                "attrs": {"n_features_in": int(self.n_features_in_),
                          "feature_names_out": [str(c) for c in self.feature_names_out_],
                          "dropped_features": dict(self.dropped_features_)},
                "arrays": {"lo_": self.lo_, "hi_": self.hi_, "log_": self.log_}}

    def _set_state(self, state):
        attrs, arrays = state["attrs"], state["arrays"]
        self.feature_names_in_ = np.asarray(state["feature_names"], dtype=object)
        self.n_features_in_ = int(attrs["n_features_in"])
        self.feature_names_out_ = np.asarray(attrs["feature_names_out"], dtype=object)
        self.dropped_features_ = dict(attrs["dropped_features"])
        self.lo_, self.hi_, self.log_ = arrays["lo_"], arrays["hi_"], arrays["log_"]
