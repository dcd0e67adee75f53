"""The light-curve models of the simulator: one prior per ALeRCE subclass, one model per top class.

:data:`SUBCLASS_MODELS` maps each subclass to a :class:`LightCurveModel`: a prior (the
parameter ranges of the subclass: :class:`TransientPrior`, :class:`StochasticPrior` or
:class:`PeriodicPrior`) and the model function of its top class that draws the r-band
curves (:func:`transient_curves`, :func:`stochastic_curves`, :func:`periodic_curves`).

Each model function draws in a fixed order (cadence, then the parameters in the order it
lists them, then its shape's own draws), so a seed gives the same curves in every release;
keep that order when changing a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from astroad_nb.data.lightcurves.cadence import _cadence, _drw, _flux_to_dm, _loguniform

__all__ = [
    "SUBCLASS_MODELS",
    "LightCurveModel",
    "PeriodicPrior",
    "StochasticPrior",
    "TransientPrior",
    "periodic_curves",
    "stochastic_curves",
    "transient_curves",
]

Range = tuple[float, float]


class _Curves(NamedTuple):
    """What a model function draws: flat (object, time, band) epochs and the r-band shape."""

    obj: np.ndarray  # (n_epochs,) object index
    t: np.ndarray  # (n_epochs,) MJD
    b: np.ndarray  # (n_epochs,) band name
    keep: np.ndarray  # (n_epochs,) epochs inside the observed window
    base_r: np.ndarray  # (n,) r reference magnitude
    colour: np.ndarray  # (n_epochs,) g - r
    ratio: np.ndarray  # (n,) amplitude_g / amplitude_r
    dm_r: np.ndarray  # (n_epochs,) r magnitude change


# ---------------------------------------------------------------------------- transients
@dataclass(frozen=True)
class TransientPrior:
    """Uniform ranges of a Villar-type rise / plateau / decline supernova.

    Parameters
    ----------
    rise, plateau, fall : (float, float)
        Rise time-scale, plateau duration and decline time-scale (days).
    peak_mag : (float, float)
        Peak apparent r magnitude (those of ALeRCE-classified SNe, >= ~6 detections).
    colour_at_peak : (float, float)
        g - r at peak (mag).
    reddening : float
        g - r change per day after the peak (mag/day).
    plateau_decline : (float, float), optional
        Fractional decline over the plateau times its duration; default (0, 0.6).
    visible_days : float, default=250
        Epochs later than this after the rise are not kept.
    """

    rise: Range
    plateau: Range
    fall: Range
    peak_mag: Range
    colour_at_peak: Range
    reddening: float
    plateau_decline: Range | None = None
    visible_days: float = 250.0


def transient_curves(prior: TransientPrior, n: int, rng, bands, meta: dict) -> _Curves:
    """Supernova-like curves: a sigmoid rise, a declining plateau, an exponential tail.

    Parameters
    ----------
    prior : TransientPrior
        The subclass's parameter ranges.
    n : int
        Number of objects.
    rng : numpy.random.Generator
    bands : sequence of str
        Bands to sample epochs in.
    meta : dict of str -> ndarray, shape (n,)
        Per-object metadata; this fills ``peak_mag`` (r mag), ``amplitude``
        (NaN) and ``t0`` (MJD of the rise).

    Returns
    -------
    _Curves
        Flat per-epoch arrays ``obj``, ``t`` (MJD), ``b``, ``keep``, ``colour`` (g - r) and
        ``dm_r`` (r magnitude change), and per-object ``base_r`` and ``ratio``.
    """
    obj, t, b, start = _cadence(rng, n, 330, 400, bands)
    # explosion/rise time t0 inside the first ~6 months, in days from the start
    tau_r = rng.uniform(*prior.rise, n)
    gam = rng.uniform(*prior.plateau, n)
    tau_f = rng.uniform(*prior.fall, n)
    beta = rng.uniform(0.0, 0.6, n) / gam  # fractional decline over the plateau
    if prior.plateau_decline is not None:
        # drawn after the default one, which stays drawn so that seeds keep their curves
        beta = rng.uniform(*prior.plateau_decline, n) / gam
    m_peak = rng.uniform(*prior.peak_mag, n)
    colour0 = rng.uniform(*prior.colour_at_peak, n)
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
    colour = colour0[obj] + prior.reddening * np.clip(dt - t_peak[obj], -15, 80)
    meta["peak_mag"] = m_peak
    meta["amplitude"] = np.full(n, np.nan)
    meta["t0"] = t0
    keep = (dt > -60) & (dt < prior.visible_days)
    return _Curves(obj, t, b, keep, m_peak, colour, np.ones(n), dm_r)


# ---------------------------------------------------------------------------- stochastic
def _blazar_flares(rng, obj, t, n, start, dm_r):
    """Up to three flares: fast rise, exponential decay."""
    for _ in range(3):
        has = rng.random(n) < 0.5
        tf = start + rng.uniform(0, 1095, n)
        amp = rng.uniform(0.5, 2.0, n) * has
        dur = rng.uniform(5, 30, n)
        d = t - tf[obj]
        dm_r = dm_r - amp[obj] * np.where(d > 0, np.exp(-d / dur[obj]), np.exp(d / 2.0))
    return dm_r


def _extinction_dips(rng, obj, t, n, start, dm_r):
    """Up to four Gaussian extinction dips (YSO dippers)."""
    for _ in range(4):
        has = rng.random(n) < 0.6
        td = start + rng.uniform(0, 1095, n)
        depth = rng.uniform(0.3, 1.5, n) * has
        width = rng.uniform(2, 20, n)
        dm_r = dm_r + depth[obj] * np.exp(-0.5 * ((t - td[obj]) / width[obj]) ** 2)
    return dm_r


def _dwarf_nova_outbursts(rng, obj, t, n, start, dm_r):
    """Recurrent outbursts of 2-5 mag: a one-day rise and an exponential decline."""
    recur = _loguniform(rng, 20, 300, n)
    amp = rng.uniform(2.0, 5.0, n)
    decay = rng.uniform(2.0, 8.0, n)
    phase0 = rng.uniform(0, 1, n)
    ph = ((t - start[obj]) / recur[obj] + phase0[obj]) % 1.0 * recur[obj]
    return dm_r - amp[obj] * np.where(ph < 1.0, ph, np.exp(-(ph - 1.0) / decay[obj]))


@dataclass(frozen=True)
class StochasticPrior:
    """Ranges of a damped-random-walk variable, plus optional discrete events.

    Parameters
    ----------
    tau : (float, float)
        DRW time-scale (days), drawn log-uniformly.
    sigma : (float, float)
        DRW asymptotic standard deviation in r (mag).
    mean_mag : (float, float)
        r reference magnitude.
    colour : (float, float)
        Mean g - r (mag).
    ratio : (float, float)
        Amplitude ratio g / r (> 1: bluer when brighter).
    events : callable, optional
        ``events(rng, obj, t, n, start, dm_r) -> dm_r`` adds flares, dips or outbursts.
    """

    tau: Range
    sigma: Range
    mean_mag: Range
    colour: Range
    ratio: Range
    events: Callable | None = None


def stochastic_curves(prior: StochasticPrior, n: int, rng, bands, meta: dict) -> _Curves:
    """Damped random walks, plus the prior's flares, dips or outbursts.

    Parameters
    ----------
    prior : StochasticPrior
        The subclass's parameter ranges.
    n : int
        Number of objects.
    rng : numpy.random.Generator
    bands : sequence of str
        Bands to sample epochs in.
    meta : dict of str -> ndarray, shape (n,)
        Per-object metadata; this fills ``tau`` (days) and ``amplitude``
        (the DRW sigma, mag).

    Returns
    -------
    _Curves
        Flat per-epoch arrays ``obj``, ``t`` (MJD), ``b``, ``keep``, ``colour`` (g - r) and
        ``dm_r`` (r magnitude change), and per-object ``base_r`` and ``ratio``.
    """
    obj, t, b, start = _cadence(rng, n, 365, 1095, bands)
    keep = np.ones(t.size, dtype=bool)
    tau = _loguniform(rng, *prior.tau, n)
    sigma = rng.uniform(*prior.sigma, n)
    base_r = rng.uniform(*prior.mean_mag, n)
    colour_mean = rng.uniform(*prior.colour, n)
    ratio = rng.uniform(*prior.ratio, n)
    dm_r = _drw(rng, obj, t, n, tau, sigma)
    if prior.events is not None:
        dm_r = prior.events(rng, obj, t, n, start, dm_r)
    meta["tau"] = tau
    meta["amplitude"] = sigma
    return _Curves(obj, t, b, keep, base_r, colour_mean[obj] + 0.0 * t, ratio, dm_r)


# ---------------------------------------------------------------------------- periodic
def _rr_lyrae_pulsation(rng, n):
    """RRc (30 %: short period, low amplitude, symmetric) and RRab (sawtooth) stars."""
    is_c = rng.random(n) < 0.3
    period = np.where(is_c, rng.uniform(0.3, 0.45, n), rng.uniform(0.45, 0.9, n))
    amp = np.where(is_c, rng.uniform(0.3, 0.6, n), rng.uniform(0.6, 1.2, n))
    rise = np.where(is_c, rng.uniform(0.35, 0.5, n), rng.uniform(0.1, 0.2, n))
    return period, amp, rise


def _cepheid_pulsation(rng, n):
    """Log-uniform 1-50 d periods with a period-amplitude relation."""
    period = _loguniform(rng, 1.0, 50.0, n)
    amp = np.clip(0.3 + 0.35 * np.log10(period) + rng.normal(0, 0.1, n), 0.2, 1.2)
    rise = rng.uniform(0.2, 0.4, n)
    return period, amp, rise


def _simple_pulsation(period: Range, amplitude: Range, rise: Range | None):
    """Log-uniform period, uniform amplitude and rise fraction (``None``: no rise, zeros)."""
    def draw(rng, n):
        p = _loguniform(rng, *period, n)
        amp = rng.uniform(*amplitude, n)
        r = np.zeros(n) if rise is None else rng.uniform(*rise, n)
        return p, amp, r
    return draw


def _sawtooth(rng, obj, t, n, ph, period, amp, rise):
    """Brightening over the fraction ``rise`` of the cycle, then fading."""
    r = rise[obj]
    shape = np.where(ph < r, 1.0 - ph / r, (ph - r) / (1.0 - r))  # 0 = brightest
    # soften the corners with a cosine blend, mimicking real pulsators
    soft = 0.5 * (1 - np.cos(np.pi * shape))
    return amp[obj] * (0.6 * shape + 0.4 * soft - 0.5)


def _irregular_sawtooth(rng, obj, t, n, ph, period, amp, rise):
    """A sawtooth plus a 50-day damped random walk of 0.15 mag (semi-regular LPVs)."""
    dm_r = _sawtooth(rng, obj, t, n, ph, period, amp, rise)
    return dm_r + _drw(rng, obj, t, n, np.full(n, 50.0), np.full(n, 0.15))


def _eclipses(rng, obj, t, n, ph, period, amp, rise):
    """Two eclipses per orbital period, plus ellipsoidal variation for short periods."""
    depth2 = amp * rng.uniform(0.1, 1.0, n)
    width = rng.uniform(0.03, 0.12, n)
    ellip = np.where(period < 1.0, rng.uniform(0.0, 0.15, n), 0.0)
    d1 = np.minimum(ph, 1 - ph)
    d2 = np.abs(ph - 0.5)
    return (amp[obj] * np.exp(-0.5 * (d1 / width[obj]) ** 2)
            + depth2[obj] * np.exp(-0.5 * (d2 / width[obj]) ** 2)
            + ellip[obj] * 0.5 * (1 - np.cos(4 * np.pi * ph)))


@dataclass(frozen=True)
class PeriodicPrior:
    """A periodic variable: its pulsation (or orbit) draw, ranges and light-curve shape.

    Parameters
    ----------
    pulsation : callable
        ``pulsation(rng, n) -> (period [d], amplitude [mag], rise fraction)``.
    mean_mag : (float, float)
        r reference magnitude.
    colour : (float, float)
        Mean g - r (mag); pulsators are redder when fainter.
    ratio : (float, float)
        Amplitude ratio g / r.
    shape : callable
        ``shape(rng, obj, t, n, phase, period, amp, rise) -> dm_r``.
    """

    pulsation: Callable
    mean_mag: Range
    colour: Range
    ratio: Range
    shape: Callable = _sawtooth


def periodic_curves(prior: PeriodicPrior, n: int, rng, bands, meta: dict) -> _Curves:
    """Pulsators and eclipsing binaries: the prior's shape, folded at a random epoch.

    Parameters
    ----------
    prior : PeriodicPrior
        The subclass's parameter ranges.
    n : int
        Number of objects.
    rng : numpy.random.Generator
    bands : sequence of str
        Bands to sample epochs in.
    meta : dict of str -> ndarray, shape (n,)
        Per-object metadata; this fills ``period`` (days) and ``amplitude``
        (mag).

    Returns
    -------
    _Curves
        Flat per-epoch arrays ``obj``, ``t`` (MJD), ``b``, ``keep``, ``colour`` (g - r) and
        ``dm_r`` (r magnitude change), and per-object ``base_r`` and ``ratio``.
    """
    obj, t, b, start = _cadence(rng, n, 365, 1095, bands)
    keep = np.ones(t.size, dtype=bool)
    period, amp, rise = prior.pulsation(rng, n)
    base_r = rng.uniform(*prior.mean_mag, n)
    colour_mean = rng.uniform(*prior.colour, n)
    ratio = rng.uniform(*prior.ratio, n)
    epoch = start + rng.uniform(0, 1, n) * period
    ph = ((t - epoch[obj]) / period[obj]) % 1.0
    dm_r = prior.shape(rng, obj, t, n, ph, period, amp, rise)
    meta["period"] = period
    meta["amplitude"] = amp
    # pulsators are redder when fainter
    colour = colour_mean[obj] + 0.1 * dm_r / np.maximum(amp[obj], 1e-3)
    return _Curves(obj, t, b, keep, base_r, colour, ratio, dm_r)


# ---------------------------------------------------------------------------- the table
class LightCurveModel(NamedTuple):
    """How one subclass is simulated: ``simulate(prior, n, rng, bands, meta)``."""

    simulate: Callable
    prior: TransientPrior | StochasticPrior | PeriodicPrior


#: Subclass -> its model function and prior. Ranges overlap on purpose (SNIa/SNIbc, AGN/QSO,
#: RRL/CEP) so that subclasses are not trivially separable.
SUBCLASS_MODELS: dict[str, LightCurveModel] = {
    # transients:       rise tau      plateau gamma  fall tau        peak app. mag  g-r at peak
    "SNIa": LightCurveModel(transient_curves, TransientPrior(
        (2.5, 5.0), (3.0, 12.0), (18.0, 35.0), (16.5, 19.0), (-0.10, 0.10), reddening=0.030)),
    "SNIbc": LightCurveModel(transient_curves, TransientPrior(
        (1.5, 4.0), (2.0, 10.0), (12.0, 28.0), (16.8, 19.1), (0.05, 0.35), reddening=0.025)),
    "SNII": LightCurveModel(transient_curves, TransientPrior(
        (1.5, 5.0), (60.0, 120.0), (20.0, 50.0), (16.8, 19.3), (-0.15, 0.10), reddening=0.008,
        plateau_decline=(0.1, 0.4))),
    "SLSN": LightCurveModel(transient_curves, TransientPrior(
        (8.0, 20.0), (15.0, 45.0), (50.0, 140.0), (17.8, 19.5), (-0.25, 0.0), reddening=0.004,
        visible_days=400.0)),
    # stochastic:  tau [d] (log-uniform), sigma [mag], mean r mag, g-r, amplitude ratio g/r
    "AGN": LightCurveModel(stochastic_curves, StochasticPrior(
        (100, 1000), (0.08, 0.22), (17.5, 20.0), (0.3, 0.9), (1.2, 1.5))),  # bluer when brighter
    "QSO": LightCurveModel(stochastic_curves, StochasticPrior(
        (100, 1000), (0.12, 0.32), (18.3, 20.2), (-0.1, 0.4), (1.2, 1.5))),
    "Blazar": LightCurveModel(stochastic_curves, StochasticPrior(
        (10, 200), (0.25, 0.7), (17.5, 19.8), (0.3, 0.8), (1.0, 1.2), events=_blazar_flares)),
    "YSO": LightCurveModel(stochastic_curves, StochasticPrior(  # dust dims blue light more
        (1, 20), (0.08, 0.3), (14.5, 18.5), (1.0, 2.0), (1.2, 1.6), events=_extinction_dips)),
    "CV/Nova": LightCurveModel(stochastic_curves, StochasticPrior(  # quiescence + outbursts
        (5, 50), (0.05, 0.15), (18.0, 20.3), (-0.2, 0.3), (1.0, 1.2),
        events=_dwarf_nova_outbursts)),
    # periodic:    pulsation, mean r mag, g-r, amplitude ratio g/r, shape
    "RRL": LightCurveModel(periodic_curves, PeriodicPrior(
        _rr_lyrae_pulsation, (14.5, 19.5), (0.1, 0.4), (1.2, 1.4))),
    "CEP": LightCurveModel(periodic_curves, PeriodicPrior(
        _cepheid_pulsation, (12.5, 17.5), (0.4, 1.0), (1.2, 1.5))),
    "DSCT": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((0.05, 0.25), (0.05, 0.3), (0.3, 0.5)),
        (13.0, 18.0), (0.0, 0.3), (1.1, 1.3))),
    "LPV": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((100.0, 1000.0), (1.0, 5.0), (0.35, 0.5)),
        (12.5, 16.5), (1.4, 2.4), (1.1, 1.3), shape=_irregular_sawtooth)),
    # E: the period is the orbital one, two eclipses per period
    "E": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((0.2, 10.0), (0.2, 1.0), None),
        (13.0, 19.0), (0.0, 1.0), (0.9, 1.1), shape=_eclipses)),
}
