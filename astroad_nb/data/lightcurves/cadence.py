"""Building blocks of the light-curve simulator: ZTF-like epochs and a damped random walk."""

from __future__ import annotations

import math

import numpy as np

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

