"""Light-curve features (ALeRCE-style names) for any survey's bands, and the ALeRCE
anomaly-detector preprocessing.

:func:`extract_features` turns light curves into one row of float64 features per object,
computed by the Rust-backed ``light-curve`` package in parallel: each feature family runs as one
batch over every object and band (``light-curve``'s ``many``). Its input is a
:class:`~astroad_nb.data.lightcurves.LightCurves` container (magnitudes) or a long table of
magnitudes or of fluxes. :class:`ALeRCEPreprocessor` is the fitted scaling + ``tanh`` squashing
that the ALeRCE anomaly detectors (Perez-Carrasco et al. 2023) apply before their models.

Bands and feature names
-----------------------
Per-band features are ``{Feature}_{suffix}``. The ZTF bands ``g``, ``r``, ``i`` take ALeRCE's
filter id, 1 for g, 2 for r, 3 for i (``Amplitude_1``), as ALeRCE names them, unless the bands
asked for include ``u``, ``z`` or ``y`` (an SDSS or Rubin ugrizy set: ``Amplitude_g``); every
other band takes its canonical name (:func:`astroad_nb.data.bands.canonical_band`):
``Amplitude_V`` (CRTS), ``_c``/``_o`` (ATLAS), ``_G``/``_BP``/``_RP`` (Gaia), ``_u`` ... ``_y``
(Rubin). ZTF g, r plus ATLAS o are thus ``_1``, ``_2``, ``_o``. ``bands`` picks them:

* a sequence (default ``("g", "r")``): these bands, their blocks of columns in this order;
* ``None``: every band present in the data, blue to red;
* a mapping ``{band in the data: feature band}`` treats one band as another: ``{"o": "r",
  "r": "r"}`` merges ATLAS o into r (at equal times the band listed first wins); bands not in
  the mapping are left out.

Colours ``{a}-{b}_mean`` and ``{a}-{b}_max`` are taken for every pair of bands that are
neighbours in effective wavelength (the one table, :data:`astroad_nb.data.bands.BANDS`), blue
band first; a band without a wavelength there has no colour. An object with detections, none
in the bands asked for, is an error (:class:`~astroad_nb.data.bands.UnknownBandError`), never a
silent row of NaN.

Magnitudes in mag, times in days.

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
``min_mag``                         brightest magnitude (``max_flux`` for fluxes)
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
``Multiband_period``                best period (days) of the joint periodogram of all bands
                                    (each band's weighted mean subtracted, bands merged)
``Multiband_power``                 its peak signal-to-noise: (P - mean P) / std P
``Psi_eta``, ``Psi_CS``             Eta and Rcs of the merged curve folded at
                                    ``Multiband_period`` (low for clean periodic signals)
``g-r_mean``                        ``Mean_1 - Mean_2`` (mag); ``{a}-{b}_mean`` in general
``g-r_max``                         ``min_mag_1 - min_mag_2``: colour at maximum brightness
=================================== ========================================================

:func:`feature_names` lists the columns for a configuration; :data:`FEATURE_NAMES` is the
default list (g, r, periodogram on).

Fluxes: features in flux space
------------------------------
A long table with ``flux, fluxerr`` columns (Rubin/ELAsTiCC ``FLUXCAL``/``FLUXCALERR``, forced
photometry, any linear unit) has points of zero or negative flux, whose magnitude is
undefined. Every per-band feature is then computed in flux space, on all points, by the same
``light-curve`` features under the same names (units: flux, flux/day): amplitudes, moments,
percentiles, slopes, Eta, Stetson K, reduced chi2, the periodograms and the DRW fit (sigma in
flux units). Exceptions: ``max_flux`` (brightest point) replaces ``min_mag``; ``Meanvariance``
and ``ExcessVar`` (divided by the mean flux) and ``PercentDifferenceFluxPercentile`` (divided
by the median flux) are NaN where that mean or median is <= 0; SPM is fitted to
``flux / max_flux`` (peak ~ 1 as for magnitudes; NaN when ``max_flux <= 0``); colours are
magnitudes of flux ratios, ``-2.5 log10(Mean_a / Mean_b)`` and
``-2.5 log10(max_flux_a / max_flux_b)`` (the zero point cancels; NaN unless both fluxes are
> 0). :func:`feature_names` gives them with ``kind="flux"``.

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

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from astroad_nb.data.bands import (
    BAND_TO_ZTF_FID,
    ZTF_FID_TO_BAND,
    UnknownBandError,
    adjacent_band_pairs,
    canonical_band,
    sort_bands,
)

__all__ = [
    "FEATURE_NAMES",
    "feature_names",
    "extract_features",
    "drw_fit",
    "ALeRCEPreprocessor",
    "UnknownBandError",
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
_KINDS = ("mag", "flux")
_UGRIZY_ONLY = {"u", "z", "y"}  # bands of SDSS/Rubin that ZTF lacks: such sets name g by "g"
_PEAK_NAME = {"mag": "min_mag", "flux": "max_flux"}
# Per-band base names (every kind), longest first so that "LinearTrend_sigma_1" parses as
# ("LinearTrend_sigma", "1") and not ("LinearTrend", "sigma_1").
_PER_BAND_BASES = sorted(set(_SCALAR_NAMES + list(_PEAK_NAME.values()) + _PERIOD_BAND_NAMES
                             + _SPM_NAMES + _DRW_NAMES), key=len, reverse=True)
# flux-space features divided by the mean (or median) flux: undefined when it is <= 0
_RELATIVE_TO_MEAN = ("Meanvariance", "ExcessVar")
_RELATIVE_TO_MEDIAN = ("PercentDifferenceFluxPercentile",)


def _band_suffixes(targets) -> dict[str, str]:
    """Band -> column suffix: ALeRCE's fid for g, r, i unless the set is an SDSS/Rubin one
    (has u, z or y), else the band name."""
    ztf_named = not set(targets) & _UGRIZY_ONLY
    return {b: _FID[b] if ztf_named and b in _FID else b for b in targets}


def _suffix_band(suffix: str) -> str:
    """Inverse of :func:`_band_suffixes` for one suffix ("1" -> "g", "V" -> "V")."""
    return ZTF_FID_TO_BAND[int(suffix)] if suffix in ("1", "2", "3") else suffix


def _periodogram_mode(periodogram) -> str:
    if periodogram is True or periodogram == "multiband":
        return "multiband"
    if periodogram is False or periodogram is None or periodogram == "none":
        return "none"
    if periodogram == "full":
        return "full"
    raise ValueError(f"periodogram must be True/'multiband', 'full' or False, got {periodogram!r}.")


def _check_kind(kind) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'mag' or 'flux', got {kind!r}.")
    return kind


def _as_band_list(bands):
    """A str is one band; any other iterable lists bands."""
    return [bands] if isinstance(bands, str) else list(bands)


def _target_bands(bands) -> list[str]:
    """Canonical feature bands of a ``bands=`` value (sequence or mapping), in order."""
    if bands is None:
        raise ValueError("bands=None means 'the bands of the data'; feature_names has no data: "
                         "pass the bands, e.g. bands=('V',) or bands=lcs.bands.")
    values = bands.values() if isinstance(bands, Mapping) else _as_band_list(bands)
    targets = list(dict.fromkeys(canonical_band(b) for b in values))
    if not targets:
        raise ValueError("bands is empty; pass at least one band, e.g. bands=('g', 'r').")
    return targets


def _band_plan(bands, data_bands) -> list[tuple[str, list[str]]]:
    """``[(feature band, [data bands feeding it, first wins at equal times]), ...]``."""
    canon = {d: canonical_band(d) for d in data_bands}
    if bands is None:
        return [(t, [d for d in data_bands if canon[d] == t])
                for t in sort_bands(canon.values())]
    if isinstance(bands, Mapping):
        plan: dict[str, list[str]] = {}
        for source, target in bands.items():
            src = canonical_band(source)
            feeds = plan.setdefault(canonical_band(target), [])
            feeds += [d for d in data_bands if canon[d] == src and d not in feeds]
        if not plan:
            raise ValueError("bands is an empty mapping; map at least one band, "
                             "e.g. bands={'o': 'r'}.")
        return list(plan.items())
    return [(t, [d for d in data_bands if canon[d] == t]) for t in _target_bands(bands)]


def feature_names(bands=("g", "r"), periodogram=True, *, spm=True, drw=True,
                  kind="mag") -> list[str]:
    """Column names :func:`extract_features` returns for a configuration.

    Parameters
    ----------
    bands : sequence of str, or mapping, default=("g", "r")
        Feature bands (for a mapping, its values); see :func:`extract_features`.
    periodogram : bool or {"multiband", "full"}, default=True
    spm, drw : bool, default=True
        See :func:`extract_features`.
    kind : {"mag", "flux"}, default="mag"
        Magnitudes or fluxes in (``min_mag`` becomes ``max_flux``).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        For ``bands=None`` (the bands of a data set: use :func:`extract_features`), an empty
        ``bands``, or a bad ``periodogram`` / ``kind``.

    Examples
    --------
    >>> feature_names(("V",), periodogram=False, spm=False, drw=False)[:2]
    ['Amplitude_V', 'AndersonDarling_V']
    >>> [n for n in feature_names(("RP", "BP", "G")) if n.endswith("_mean")]
    ['BP-G_mean', 'G-RP_mean']
    """
    mode = _periodogram_mode(periodogram)
    kind = _check_kind(kind)
    targets = _target_bands(bands)
    suffix = _band_suffixes(targets)
    per_band = (_SCALAR_NAMES + [_PEAK_NAME[kind]]
                + (_PERIOD_BAND_NAMES if mode == "full" else [])
                + (_SPM_NAMES if spm else []) + (_DRW_NAMES if drw else []))
    names = [f"{n}_{suffix[band]}" for band in targets for n in per_band]
    if mode != "none":
        names += _MULTIBAND_NAMES
    for a, b in adjacent_band_pairs(targets):
        names += [f"{a}-{b}_mean", f"{a}-{b}_max"]
    return names


#: Default feature columns (bands g and r, periodogram on).
FEATURE_NAMES: list[str] = feature_names()


def _split_bands(name: str):
    """``(base, suffix)`` of a per-band feature column, or ``None`` for any other column."""
    for base in _PER_BAND_BASES:
        if name.startswith(base + "_") and len(name) > len(base) + 1:
            return base, name[len(base) + 1:]
    return None


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


def _flat(curves):
    """Concatenated t, y, e of a list of curves and the points per curve."""
    counts = np.array([c[0].size for c in curves], dtype=np.int64)
    if not curves or counts.sum() == 0:
        empty = np.empty(0)
        return empty, empty, empty, counts
    return (np.concatenate([c[0] for c in curves]), np.concatenate([c[1] for c in curves]),
            np.concatenate([c[2] for c in curves]), counts)


def _unflat(t, y, e, counts):
    """Inverse of :func:`_flat`: a list of (t, y, e) views."""
    bounds = np.cumsum(counts)[:-1]
    return list(zip(np.split(t, bounds), np.split(y, bounds), np.split(e, bounds), strict=True))


def _segment_reduce(ufunc, values, counts):
    """``ufunc.reduceat`` per non-empty segment; NaN for empty ones."""
    out = np.full(counts.size, np.nan)
    nonempty = counts > 0
    if nonempty.any():
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        out[nonempty] = ufunc.reduceat(values, starts[nonempty])
    return out


def _spm_fit(curves, *, n_jobs, kind="mag"):
    """VillarFit (SN parametric model) of each (t, y, e) curve in relative flux.

    Magnitudes become ``10 ** (-0.4 (m - min m))``, fluxes ``flux / max flux``: the brightest
    point is 1 either way (shape, not brightness). Returns an array of shape (n_curves, 8) in
    :data:`_SPM_NAMES` order, NaN where a curve has fewer than ``_MIN_POINTS_SPM`` points, a
    flux curve has no positive flux, or the fit fails.
    """
    import light_curve as lc

    out = np.full((len(curves), len(_SPM_NAMES)), np.nan)
    t, y, e, counts = _flat(curves)
    fit = counts >= _MIN_POINTS_SPM
    if kind == "flux":
        fit &= _segment_reduce(np.maximum, y, counts) > 0
    idx = np.flatnonzero(fit)
    if not idx.size:
        return out
    keep = np.repeat(fit, counts)
    t, y, e, counts = t[keep], y[keep], e[keep], counts[idx]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first_t = np.repeat(t[starts], counts)
    if kind == "mag":  # the same element-wise operations as one curve at a time
        flux = 10.0 ** (-0.4 * (y - np.repeat(np.minimum.reduceat(y, starts), counts)))
        err = np.maximum(flux * e / 1.0857, 1e-6)
    else:
        peak = np.repeat(np.maximum.reduceat(y, starts), counts)
        flux, err = y / peak, np.maximum(e / peak, 1e-6)
    batch = _unflat(t - first_t, flux, err, counts)
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
    least-squares amplitude. Deterministic (no random draws) and vectorised over all curves;
    the tau grid search is one matrix product over the batch, so ``sigma`` can differ in its
    last bit (1e-16 relative) between a curve fitted alone and in a batch (BLAS kernels).

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



class _LongCurves:
    """Per-object, per-band curves of a long DataFrame of magnitudes or fluxes.

    The same cleaning as :class:`~astroad_nb.data.lightcurves.LightCurves` (rows with a
    non-finite time, value or error, or a negative error, dropped; exact duplicate epochs
    dropped, first kept; ids sorted), but bands keep their canonical spelling (``'G'`` is Gaia
    G, not ZTF g) and values may be fluxes.
    """

    def __init__(self, frame: pd.DataFrame):
        cols = set(frame.columns)
        has_mag, has_flux = {"mag", "magerr"} <= cols, {"flux", "fluxerr"} <= cols
        missing = [c for c in ("object_id", "band", "time") if c not in cols]
        if missing or has_mag == has_flux:
            what = ("both mag/magerr and flux/fluxerr: drop one pair" if has_mag and has_flux
                    else f"lacks column(s) {missing}" if missing
                    else "lacks either mag, magerr or flux, fluxerr")
            raise ValueError(
                f"extract_features: the light-curve table {what}; it has {list(frame.columns)}. "
                "Expected object_id, band, time and either mag, magerr (magnitudes) or flux, "
                "fluxerr (any linear flux unit, e.g. Rubin FLUXCAL); rename the columns first.")
        self.kind = "flux" if has_flux else "mag"
        value, error = ("flux", "fluxerr") if has_flux else ("mag", "magerr")
        raw_band = frame["band"]
        if raw_band.isna().any():
            raise ValueError(f"extract_features: {int(raw_band.isna().sum())} row(s) of the "
                             "light-curve table have no band; fill or drop them.")
        uniq = pd.unique(raw_band)
        band = raw_band.map({u: canonical_band(u) for u in uniq}).to_numpy(dtype=object)
        oid = frame["object_id"].astype(str).to_numpy(dtype=object)
        t = pd.to_numeric(frame["time"], errors="coerce").to_numpy(np.float64)
        y = pd.to_numeric(frame[value], errors="coerce").to_numpy(np.float64)
        e = pd.to_numeric(frame[error], errors="coerce").to_numpy(np.float64)
        good = np.isfinite(t) & np.isfinite(y) & np.isfinite(e) & (e >= 0)
        self.n_dropped = {"non_finite": int((~good).sum()), "duplicates": 0}
        oid_code, oid_uniq = pd.factorize(oid[good], sort=True)
        band_code, _ = pd.factorize(band[good], sort=True)
        t, y, e, band = t[good], y[good], e[good], band[good]
        order = np.lexsort((t, band_code, oid_code))
        oid_code, band_code, t = oid_code[order], band_code[order], t[order]
        dup = np.zeros(order.size, dtype=bool)
        dup[1:] = ((oid_code[1:] == oid_code[:-1]) & (band_code[1:] == band_code[:-1])
                   & (t[1:] == t[:-1]))
        self.n_dropped["duplicates"] = int(dup.sum())
        keep = order[~dup]
        self.ids = [str(i) for i in oid_uniq]
        self._t, self._m, self._e = t[~dup], y[keep], e[keep]
        self._b, self._code = band[keep], oid_code[~dup].astype(np.int64)
        self.bands = sorted(pd.unique(self._b).tolist())

    @property
    def n_points(self) -> np.ndarray:
        return np.bincount(self._code, minlength=len(self.ids))

    def _band_lists(self, band):
        mask = self._b == band
        counts = np.bincount(self._code[mask], minlength=len(self.ids))
        return _unflat(self._t[mask], self._m[mask], self._e[mask], counts), counts


def _merge_sources(lists, n):
    """One curve per object from several bands' curves (time-sorted; at equal times the
    earlier list wins). Returns (curves, counts)."""
    parts = [_flat(curves) for curves in lists]
    t = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    e = np.concatenate([p[2] for p in parts])
    code = np.concatenate([np.repeat(np.arange(n), p[3]) for p in parts])
    order = np.lexsort((t, code))  # stable: equal times keep the list order
    t, y, e, code = t[order], y[order], e[order], code[order]
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = (code[1:] != code[:-1]) | (t[1:] != t[:-1])
    t, y, e, code = t[keep], y[keep], e[keep], code[keep]
    counts = np.bincount(code, minlength=n)
    return _unflat(t, y, e, counts), counts


def _merge_bands(band_curves, n):
    """Per object: all bands merged, each band's weighted mean subtracted, time-sorted.

    Vectorised over objects with the same operations, in the same order, as a loop over
    objects (``np.add.reduceat`` sums a segment like ``np.sum``), so results are bit-identical.
    """
    ts, ys, es, codes = [], [], [], []
    for curves in band_curves:
        t, y, e, counts = _flat(curves)
        if not t.size:
            continue
        w = 1.0 / np.maximum(e, 1e-3) ** 2
        nonempty = counts > 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[nonempty]
        mean = np.add.reduceat(w * y, starts) / np.add.reduceat(w, starts)
        ts.append(t)
        ys.append(y - np.repeat(mean, counts[nonempty]))
        es.append(e)
        codes.append(np.repeat(np.arange(n), counts))
    if not ts:
        empty = np.empty(0)
        return [(empty, empty, empty)] * n
    t, y, e, code = (np.concatenate(a) for a in (ts, ys, es, codes))
    order = np.lexsort((t, code))  # stable, as a mergesort of each object's bands in order
    t, y, e, code = t[order], y[order], e[order], code[order]
    keep = np.ones(t.size, dtype=bool)  # the NFFT needs distinct times
    keep[1:] = (code[1:] != code[:-1]) | (np.diff(t) > 0)
    return _unflat(t[keep], y[keep], e[keep], np.bincount(code[keep], minlength=n))


def extract_features(lcs, *, bands=("g", "r"), n_jobs: int = -1, periodogram=True,
                     spm: bool = True, drw: bool = True,
                     min_period: float = 0.05, max_period: float = 1000.0,
                     oversampling: float = 1.5, on_unknown_band: str = "raise") -> pd.DataFrame:
    """Compute ALeRCE-style light-curve features for every object, in any survey's bands.

    Parameters
    ----------
    lcs : LightCurves or pandas.DataFrame
        Light curves: a :class:`~astroad_nb.data.lightcurves.LightCurves` (magnitudes), or a
        long table with columns ``object_id, band, time`` (MJD, days) and either
        ``mag, magerr`` or ``flux, fluxerr`` (fluxes: every feature in flux space, see the
        module docstring). A table keeps band spellings that a container lower-cases
        (``'G'``, Gaia G, is not ``'g'``).
    bands : sequence of str, mapping or None, default=("g", "r")
        Bands to compute per-band features for: a sequence (in this order), ``None`` (every
        band in the data, blue to red) or a mapping ``{data band: feature band}`` that treats
        one band as another (several may feed one). Spellings are canonicalised
        (:func:`astroad_nb.data.bands.canonical_band`: ``'v'`` is ``'V'``, ``'Y'`` is
        ``'y'``). A band absent from the data gives NaN columns. Colours are taken between
        neighbours in wavelength.
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
    on_unknown_band : {"raise", "nan"}, default="raise"
        An object with detections, none of them in ``bands``: ``"raise"`` an
        :class:`~astroad_nb.data.bands.UnknownBandError` naming the objects and their bands;
        ``"nan"``: keep it as a NaN row, warn, and list it in
        ``result.attrs["unknown_band_objects"]`` (``{object_id: [bands]}``) so that a batch
        (a night of alerts) can report a reason per object.

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_objects, len(feature_names(bands, periodogram, kind=kind)))``, float64,
        indexed by ``object_id`` in ``lcs.ids`` order (sorted ids for a table). Undefined
        values (too few points, a missing band, constant curves) are NaN, never an error;
        infinite values are turned into NaN. Objects with fewer than two detections over
        ``bands`` (empty or one-point curves) get an all-NaN row. A band missing from an
        otherwise observed object has ``n_det_{fid} = 0`` and NaN elsewhere.
        ``attrs`` holds ``bands`` (the feature bands), ``kind`` (``"mag"``/``"flux"``) and,
        for a table, ``n_dropped`` (``{"non_finite": rows, "duplicates": rows}`` removed).

    Raises
    ------
    UnknownBandError
        With ``on_unknown_band="raise"``, when an object's detections all lie outside
        ``bands`` (e.g. CRTS ``V`` curves and the default ``("g", "r")``): pass
        ``bands=None``, the data's bands, or a mapping.
    ValueError
        A table without the needed columns, a row without a band, or bad parameters.

    Examples
    --------
    >>> from astroad_nb.data.lightcurves import simulate_lightcurves
    >>> lcs = simulate_lightcurves(2, random_state=0, subclasses=["RRL"])
    >>> feats = extract_features(lcs)
    >>> feats.shape == (2, len(FEATURE_NAMES))
    True
    """
    mode = _periodogram_mode(periodogram)
    if on_unknown_band not in ("raise", "nan"):
        raise ValueError(f"on_unknown_band must be 'raise' or 'nan', got {on_unknown_band!r}.")
    curves_in = _LongCurves(lcs) if isinstance(lcs, pd.DataFrame) else lcs
    kind = getattr(curves_in, "kind", "mag")
    ids = list(curves_in.ids)
    n = len(ids)
    data_bands = list(curves_in.bands)
    plan = _band_plan(bands, data_bands)
    targets = [t for t, _ in plan]
    if not targets:
        raise ValueError("extract_features: bands=None takes the bands of the data, and these "
                         "light curves hold no detection; pass the bands, e.g. bands=('g', 'r').")
    suffix = _band_suffixes(targets)
    lists, counts = {}, {}
    for target, sources in plan:
        if len(sources) == 1:
            lists[target], counts[target] = curves_in._band_lists(sources[0])
        elif sources:
            lists[target], counts[target] = _merge_sources(
                [curves_in._band_lists(s)[0] for s in sources], n)
        else:  # a band absent from the data: empty curves, NaN features
            empty = np.empty(0)
            lists[target] = [(empty, empty, empty)] * n
            counts[target] = np.zeros(n, dtype=np.int64)
    unknown = _unknown_band_objects(curves_in, ids, plan, counts, data_bands)
    if unknown and on_unknown_band == "raise":
        found = sorted({b for bs in unknown.values() for b in bs})
        some = dict(list(unknown.items())[:5])
        raise UnknownBandError(
            f"{len(unknown)} of {n} object(s) have detections only in band(s) {found}, none in "
            f"the bands asked for {targets} (e.g. {some}); their features would be all NaN. "
            f"Pass bands={found if len(found) > 1 else tuple(found)!r} (or bands=None for the "
            "data's own bands), a mapping such as bands={'V': 'g'} to treat one band as "
            "another, or on_unknown_band='nan' to keep them as NaN rows.",
            object_ids=list(unknown), found=found, expected=targets)

    columns = {}
    scalar = _scalar_values([lists[t] for t in targets], n, n_jobs)
    for k, target in enumerate(targets):
        values, sfx = scalar[k], suffix[target]
        for j, name in enumerate(_SCALAR_NAMES):
            columns[f"{name}_{sfx}"] = values[:, j]
        peak_fn = np.minimum if kind == "mag" else np.maximum
        flat_y = _flat(lists[target])[1]
        columns[f"{_PEAK_NAME[kind]}_{sfx}"] = _segment_reduce(peak_fn, flat_y, counts[target])
        if kind == "flux":
            _undefine_relative(columns, sfx)
        if drw:
            dr = drw_fit(lists[target])
            for j, name in enumerate(_DRW_NAMES):
                columns[f"{name}_{sfx}"] = dr[:, j]
    if spm:  # one VillarFit batch over all bands: better thread use
        all_curves = [c for t in targets for c in lists[t]]
        res = _spm_fit(all_curves, n_jobs=n_jobs, kind=kind)
        for k, target in enumerate(targets):
            for j, name in enumerate(_SPM_NAMES):
                columns[f"{name}_{suffix[target]}"] = res[k * n:(k + 1) * n, j]
    if mode != "none":  # the band periodograms and the merged one: one batch
        merged = _merge_bands([lists[t] for t in targets], n)
        per_band = [c for t in targets for c in lists[t]] if mode == "full" else []
        pg = _periodograms(per_band + merged, min_period=min_period,
                           oversampling=oversampling, n_jobs=n_jobs)
        pg[pg[:, 0] > max_period, :] = np.nan
        for k, target in enumerate(targets if mode == "full" else []):
            for j, name in enumerate(_PERIOD_BAND_NAMES):
                columns[f"{name}_{suffix[target]}"] = pg[k * n:(k + 1) * n, j]
        for j, name in enumerate(_MULTIBAND_NAMES):
            columns[name] = pg[len(per_band):, j]
    peak = _PEAK_NAME[kind]
    for a, b in adjacent_band_pairs(targets):
        sa, sb = suffix[a], suffix[b]
        if kind == "mag":
            columns[f"{a}-{b}_mean"] = columns[f"Mean_{sa}"] - columns[f"Mean_{sb}"]
            columns[f"{a}-{b}_max"] = columns[f"{peak}_{sa}"] - columns[f"{peak}_{sb}"]
        else:
            columns[f"{a}-{b}_mean"] = _flux_colour(columns[f"Mean_{sa}"], columns[f"Mean_{sb}"])
            columns[f"{a}-{b}_max"] = _flux_colour(columns[f"{peak}_{sa}"],
                                                   columns[f"{peak}_{sb}"])
    names = feature_names(targets, mode, spm=spm, drw=drw, kind=kind)
    values = np.empty((n, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        values[:, j] = columns[name]
    values[~np.isfinite(values)] = np.nan
    # fewer than two detections in all bands: no variability information -> all-NaN row
    n_total = sum(columns[f"n_det_{suffix[t]}"] for t in targets)
    values[np.asarray(n_total) < 2] = np.nan
    frame = pd.DataFrame(values, index=pd.Index(ids, name="object_id"), columns=names)
    frame.attrs["bands"] = list(targets)
    frame.attrs["kind"] = kind
    if isinstance(curves_in, _LongCurves):  # what cleaning the table dropped
        frame.attrs["n_dropped"] = dict(curves_in.n_dropped)
    if unknown:
        warnings.warn(f"extract_features: {len(unknown)} object(s) have detections only outside "
                      f"the bands {targets}; their rows are NaN (see "
                      "result.attrs['unknown_band_objects']).", UserWarning, stacklevel=2)
        frame.attrs["unknown_band_objects"] = unknown
    return frame


def _scalar_values(band_lists, n, n_jobs):
    """The scalar ``light-curve`` features of every band's curves in one parallel batch."""
    if not n:
        return [np.empty((0, len(_SCALAR_NAMES))) for _ in band_lists]
    curves = [c for lst in band_lists for c in lst]
    values = _scalar_extractor().many(curves, fill_value=np.nan, sorted=True, check=False,
                                      n_jobs=n_jobs)
    return [values[k * n:(k + 1) * n] for k in range(len(band_lists))]


def _undefine_relative(columns, sfx):
    """Flux space: features divided by a mean / median flux <= 0 are undefined."""
    with np.errstate(invalid="ignore"):
        bad_mean = ~(columns[f"Mean_{sfx}"] > 0)
        bad_median = ~(columns[f"Median_{sfx}"] > 0)
    for name in _RELATIVE_TO_MEAN:
        columns[f"{name}_{sfx}"] = np.where(bad_mean, np.nan, columns[f"{name}_{sfx}"])
    for name in _RELATIVE_TO_MEDIAN:
        columns[f"{name}_{sfx}"] = np.where(bad_median, np.nan, columns[f"{name}_{sfx}"])


def _flux_colour(flux_a, flux_b):
    """``-2.5 log10(a / b)`` where both fluxes are > 0, else NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (flux_a > 0) & (flux_b > 0)
        return np.where(ok, -2.5 * np.log10(np.where(ok, flux_a / flux_b, 1.0)), np.nan)


def _unknown_band_objects(curves_in, ids, plan, counts, data_bands) -> dict:
    """``{object_id: [its bands]}`` for objects with detections, none in the feature bands."""
    used = np.zeros(len(ids), dtype=np.int64)
    for target, _ in plan:
        used += counts[target]
    total = np.asarray(curves_in.n_points, dtype=np.int64)
    bad = np.flatnonzero((total > 0) & (used == 0))
    if not bad.size:
        return {}
    found: dict[int, list[str]] = {int(i): [] for i in bad}
    for band in data_bands:
        present = curves_in._band_lists(band)[1][bad] > 0
        for i in bad[present]:
            found[int(i)].append(canonical_band(band))
    return {ids[i]: bands for i, bands in found.items()}


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
    bands_ : list of str
        Bands whose per-band light-curve features (``*_1``, ``*_V`` ...) are among the kept
        columns (``['g', 'r']`` for ZTF features; empty for other tables). ``transform``
        refuses, with an :class:`~astroad_nb.data.bands.UnknownBandError`, features of other
        bands only, rows whose only data lie in other bands, and objects that
        :func:`extract_features` marked as having no detection in its bands (``attrs``
        ``"unknown_band_objects"``): such rows would otherwise become a silent row of
        ``fill_value``.

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
        self.bands_ = _bands_of(self.feature_names_out_)
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
        UnknownBandError
            When a DataFrame holds light-curve features of bands other than ``bands_`` only,
            or rows whose only data (or detections, per ``X.attrs``) lie in other bands;
            the message names the bands and the objects.
        ValueError
            When a DataFrame lacks fitted columns (the message names them).
        """
        check_is_fitted(self, "feature_names_out_")
        frame = self._as_frame(X, fitting=False)
        if isinstance(X, pd.DataFrame) and self.bands_:
            self._check_bands(X)
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

    def _check_bands(self, X):
        fitted = {_split_bands(str(c))[1] for c in self.feature_names_out_
                  if _split_bands(str(c)) is not None}
        expected = list(self.bands_)
        unknown = X.attrs.get("unknown_band_objects") or {}
        hit = [i for i in X.index if str(i) in unknown]
        if hit:
            found = sorted({b for i in hit for b in unknown[str(i)]})
            raise UnknownBandError(
                f"{len(hit)} object(s) of X have detections only in band(s) {found}, which this "
                f"ALeRCEPreprocessor was not fitted on (it knows {expected}): e.g. "
                f"{[str(i) for i in hit[:5]]}. Drop them (X.drop(index=...)) or score them with "
                "a model fitted on their bands.", object_ids=hit, found=found, expected=expected)
        by_suffix: dict[str, list] = {}
        for col in X.columns:
            parsed = _split_bands(str(col))
            if parsed is not None:
                by_suffix.setdefault(parsed[1], []).append(col)
        other = [s for s in by_suffix if s not in fitted]
        if not other:
            return
        other_bands = [_suffix_band(s) for s in other]
        if not set(by_suffix) & fitted:
            mapping = {other_bands[0]: expected[0]} | {b: b for b in expected[1:]}
            raise UnknownBandError(
                f"ALeRCEPreprocessor was fitted on the light-curve features of band(s) "
                f"{expected}; X holds features of band(s) {other_bands} only. Extract the "
                f"features with bands={tuple(expected)!r}, or with a mapping that treats your "
                f"band as one of them (e.g. bands={mapping!r}), or fit a preprocessor on "
                "these bands.", found=other_bands, expected=expected)
        known = [c for c in X.columns if (p := _split_bands(str(c))) is not None and p[1] in fitted]
        extra = [c for s in other for c in by_suffix[s]]

        def has_data(cols):
            values = X[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
            return np.isfinite(values).any(axis=1)

        bad = has_data(extra) & ~has_data(known)
        if bad.any():
            ids = [str(i) for i in X.index[bad]]
            raise UnknownBandError(
                f"{len(ids)} row(s) of X have light-curve features only in band(s) "
                f"{other_bands}, none in the band(s) {expected} this ALeRCEPreprocessor was "
                f"fitted on (e.g. {ids[:5]}); they would become rows of fill_value. Drop them "
                "or score them with a model fitted on their bands.",
                object_ids=ids, found=other_bands, expected=expected)

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
        self.bands_ = _bands_of(self.feature_names_out_)


def _bands_of(names) -> list[str]:
    """Bands of the per-band light-curve feature columns among ``names``, in order."""
    suffixes = dict.fromkeys(parsed[1] for c in names
                             if (parsed := _split_bands(str(c))) is not None)
    return [_suffix_band(s) for s in suffixes]
