"""The light-curve models of the simulator: one prior per ALeRCE subclass, one model per top class.

:data:`SUBCLASS_MODELS` maps each subclass to a :class:`LightCurveModel`: a prior (the
parameter ranges of the subclass: :class:`TransientPrior`, :class:`StochasticPrior` or
:class:`PeriodicPrior`) and the model function of its top class that draws the r-band
curves (:func:`transient_curves`, :func:`stochastic_curves`, :func:`periodic_curves`).
Every prior holds a :class:`Luminosity` (absolute magnitude + distance distribution) from
which :func:`draw_apparent_mag` draws the apparent magnitude, so that brightness alone does
not identify a subclass (issue 9).

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
    "ZTF_WINDOW",
    "LightCurveModel",
    "Luminosity",
    "PeriodicPrior",
    "StochasticPrior",
    "TransientPrior",
    "periodic_curves",
    "stochastic_curves",
    "transient_curves",
]

Range = tuple[float, float]

#: Apparent r magnitudes (peak for transients, reference for variables) that ZTF classifies:
#: saturation at ~13.5 mag, the 5-sigma limit at ~20.5 mag.
ZTF_WINDOW: Range = (13.5, 20.5)


@dataclass(frozen=True)
class Luminosity:
    """Absolute magnitude of a subclass and the distances it is seen at.

    The apparent r magnitude is ``M + mu`` with ``M ~ Normal(*abs_mag)`` and the distance
    modulus ``mu`` drawn from ``p(mu) ~ 10 ** (density_slope * mu)`` on ``distance_modulus``,
    both restricted to what lands in ``window`` (:func:`draw_apparent_mag`). A population of
    uniform space density has slope 0.6 (number ~ d**3); a thin disc seen from inside it 0.4
    (number ~ d**2). Whatever ``M``, a wide enough ``distance_modulus`` then gives the same
    apparent-magnitude distribution in the window: brightness alone says little about the
    subclass, as on the sky (the issue-9 leak test).

    Parameters
    ----------
    abs_mag : (float, float)
        Mean and standard deviation of the absolute r magnitude (peak for transients).
    distance_modulus : (float, float)
        Range of ``mu = 5 log10(d / 10 pc)`` (mag). For Galactic classes it includes the
        r-band extinction (an apparent distance modulus): discs are dusty.
    density_slope : float, default=0.6
        ``d log10 N / d mu``.
    window : (float, float), default=ZTF_WINDOW
        Apparent magnitudes kept.
    """

    abs_mag: Range
    distance_modulus: Range
    density_slope: float = 0.6
    window: Range = ZTF_WINDOW


def draw_apparent_mag(lum: Luminosity, n: int, rng):
    """Apparent r magnitudes of ``n`` objects of a subclass (two draws: M, then mu).

    Parameters
    ----------
    lum : Luminosity
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    m, M, mu : ndarray of shape (n,)
        Apparent magnitude (inside ``lum.window``), absolute magnitude and distance modulus.
    """
    lo_w, hi_w = lum.window
    lo_mu, hi_mu = lum.distance_modulus
    # objects too bright or too faint for the window at every distance are moved to its edge
    M = np.clip(rng.normal(lum.abs_mag[0], lum.abs_mag[1], n), lo_w - hi_mu, hi_w - lo_mu)
    a = np.maximum(lo_mu, lo_w - M)
    b = np.minimum(hi_mu, hi_w - M)
    u = rng.uniform(0.0, 1.0, n)
    k = lum.density_slope * np.log(10.0)
    if k == 0:
        mu = a + u * (b - a)
    else:  # inverse CDF of the truncated exponential, stable for large k (b - a)
        mu = a + np.log1p(u * np.expm1(k * (b - a))) / k
    return M + mu, M, mu


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
    luminosity : Luminosity
        Peak absolute r magnitude and distance moduli; sets the peak apparent magnitude.
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
    luminosity: Luminosity
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
        Per-object metadata; this fills ``peak_mag`` (r mag), ``abs_mag``,
        ``distance_modulus``, ``amplitude`` (NaN) and ``t0`` (MJD of the rise).

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
    m_peak, abs_mag, mu = draw_apparent_mag(prior.luminosity, n, rng)
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
    meta["abs_mag"], meta["distance_modulus"] = abs_mag, mu
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
    luminosity : Luminosity
        Absolute r magnitude and distance moduli; sets the r reference magnitude.
    colour : (float, float)
        Mean g - r (mag).
    ratio : (float, float)
        Amplitude ratio g / r (> 1: bluer when brighter).
    events : callable, optional
        ``events(rng, obj, t, n, start, dm_r) -> dm_r`` adds flares, dips or outbursts.
    """

    tau: Range
    sigma: Range
    luminosity: Luminosity
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
        Per-object metadata; this fills ``tau`` (days), ``amplitude``
        (the DRW sigma, mag), ``abs_mag`` and ``distance_modulus``.

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
    base_r, meta["abs_mag"], meta["distance_modulus"] = draw_apparent_mag(prior.luminosity, n,
                                                                          rng)
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
    luminosity : Luminosity
        Absolute r magnitude at maximum light and distance moduli; the r reference (mean)
        magnitude is the maximum-light magnitude plus the curve's depth below maximum.
    colour : (float, float)
        Mean g - r (mag); pulsators are redder when fainter.
    ratio : (float, float)
        Amplitude ratio g / r.
    shape : callable
        ``shape(rng, obj, t, n, phase, period, amp, rise) -> dm_r``.
    """

    pulsation: Callable
    luminosity: Luminosity
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
        Per-object metadata; this fills ``period`` (days), ``amplitude``
        (mag), ``abs_mag`` and ``distance_modulus``.

    Returns
    -------
    _Curves
        Flat per-epoch arrays ``obj``, ``t`` (MJD), ``b``, ``keep``, ``colour`` (g - r) and
        ``dm_r`` (r magnitude change), and per-object ``base_r`` and ``ratio``.
    """
    obj, t, b, start = _cadence(rng, n, 365, 1095, bands)
    keep = np.ones(t.size, dtype=bool)
    period, amp, rise = prior.pulsation(rng, n)
    m_max, meta["abs_mag"], meta["distance_modulus"] = draw_apparent_mag(prior.luminosity, n,
                                                                         rng)
    colour_mean = rng.uniform(*prior.colour, n)
    ratio = rng.uniform(*prior.ratio, n)
    epoch = start + rng.uniform(0, 1, n) * period
    ph = ((t - epoch[obj]) / period[obj]) % 1.0
    dm_r = prior.shape(rng, obj, t, n, ph, period, amp, rise)
    # the luminosity sets the magnitude at maximum light (what a survey detects first); with
    # the mean instead, a 5-mag Mira near the limit shows only its bright half, and its median
    # magnitude alone would tell it from the other periodic subclasses
    dm_min = np.zeros(n)
    if dm_r.size:
        dm_min = np.full(n, np.inf)
        np.minimum.at(dm_min, obj, dm_r)
        dm_min[~np.isfinite(dm_min)] = 0.0
    base_r = m_max - dm_min
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


# Absolute r magnitudes (mean, std) and distance-modulus ranges, from the literature's typical
# values: SNe Ia -19.3, Ibc -17.6, II -16.9, SLSN -21.3 (peak); AGN (nucleus + host) -21.5,
# QSO -24.5, blazars -24; YSO +4, CV in quiescence +8, RR Lyrae +0.6, classical Cepheids -3.5,
# delta Scuti +2, LPV -2.5, eclipsing binaries +3.5. Extragalactic classes fill space
# uniformly (slope 0.6); Galactic ones a dusty disc (slope 0.4, extinction in mu). The mu
# ranges are wide enough that the ZTF window, not the range, bounds the apparent magnitudes.
_SN = (30.0, 44.0)  # distance moduli of SNe seen by ZTF (10 Mpc .. z ~ 1)
_DISC = 0.4

#: Subclass -> its model function and prior. Ranges overlap on purpose (SNIa/SNIbc, AGN/QSO,
#: RRL/CEP) so that subclasses are not trivially separable, and every subclass's apparent
#: magnitudes come from :class:`Luminosity` (absolute magnitude + distance), so they overlap
#: in the ZTF window as on the sky.
SUBCLASS_MODELS: dict[str, LightCurveModel] = {
    # transients:       rise tau      plateau gamma  fall tau        luminosity     g-r at peak
    "SNIa": LightCurveModel(transient_curves, TransientPrior(
        (2.5, 5.0), (3.0, 12.0), (18.0, 35.0), Luminosity((-19.3, 0.4), _SN), (-0.10, 0.10),
        reddening=0.030)),
    "SNIbc": LightCurveModel(transient_curves, TransientPrior(
        (1.5, 4.0), (2.0, 10.0), (12.0, 28.0), Luminosity((-17.6, 0.9), _SN), (0.05, 0.35),
        reddening=0.025)),
    "SNII": LightCurveModel(transient_curves, TransientPrior(
        (1.5, 5.0), (60.0, 120.0), (20.0, 50.0), Luminosity((-16.9, 1.0), _SN), (-0.15, 0.10),
        reddening=0.008, plateau_decline=(0.1, 0.4))),
    "SLSN": LightCurveModel(transient_curves, TransientPrior(
        (8.0, 20.0), (15.0, 45.0), (50.0, 140.0), Luminosity((-21.3, 0.7), _SN), (-0.25, 0.0),
        reddening=0.004, visible_days=400.0)),
    # stochastic:  tau [d] (log-uniform), sigma [mag], luminosity, g-r, amplitude ratio g/r
    "AGN": LightCurveModel(stochastic_curves, StochasticPrior(  # bluer when brighter
        (100, 1000), (0.08, 0.22), Luminosity((-21.5, 1.5), (33.0, 45.0)), (0.3, 0.9),
        (1.2, 1.5))),
    "QSO": LightCurveModel(stochastic_curves, StochasticPrior(
        (100, 1000), (0.12, 0.32), Luminosity((-24.5, 1.5), (36.0, 47.0)), (-0.1, 0.4),
        (1.2, 1.5))),
    "Blazar": LightCurveModel(stochastic_curves, StochasticPrior(
        (10, 200), (0.25, 0.7), Luminosity((-24.0, 2.0), (35.0, 47.0)), (0.3, 0.8), (1.0, 1.2),
        events=_blazar_flares)),
    "YSO": LightCurveModel(stochastic_curves, StochasticPrior(  # dust dims blue light more
        (1, 20), (0.08, 0.3), Luminosity((4.0, 2.0), (5.0, 19.0), _DISC), (1.0, 2.0),
        (1.2, 1.6), events=_extinction_dips)),
    "CV/Nova": LightCurveModel(stochastic_curves, StochasticPrior(  # quiescence + outbursts
        (5, 50), (0.05, 0.15), Luminosity((8.0, 1.5), (5.0, 16.0), _DISC), (-0.2, 0.3),
        (1.0, 1.2), events=_dwarf_nova_outbursts)),
    # periodic:    pulsation, luminosity, g-r, amplitude ratio g/r, shape
    "RRL": LightCurveModel(periodic_curves, PeriodicPrior(
        _rr_lyrae_pulsation, Luminosity((0.6, 0.3), (9.0, 21.0), _DISC), (0.1, 0.4),
        (1.2, 1.4))),
    "CEP": LightCurveModel(periodic_curves, PeriodicPrior(
        _cepheid_pulsation, Luminosity((-3.5, 1.0), (10.0, 25.0), _DISC), (0.4, 1.0),
        (1.2, 1.5))),
    "DSCT": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((0.05, 0.25), (0.05, 0.3), (0.3, 0.5)),
        Luminosity((2.0, 1.0), (6.0, 21.0), _DISC), (0.0, 0.3), (1.1, 1.3))),
    "LPV": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((100.0, 1000.0), (1.0, 5.0), (0.35, 0.5)),
        Luminosity((-2.5, 1.5), (10.0, 26.0), _DISC), (1.4, 2.4), (1.1, 1.3),
        shape=_irregular_sawtooth)),
    # E: the period is the orbital one, two eclipses per period
    "E": LightCurveModel(periodic_curves, PeriodicPrior(
        _simple_pulsation((0.2, 10.0), (0.2, 1.0), None),
        Luminosity((3.5, 2.5), (5.0, 21.0), _DISC), (0.0, 1.0), (0.9, 1.1), shape=_eclipses)),
}
