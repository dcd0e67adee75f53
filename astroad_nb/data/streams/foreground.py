"""Milky Way foreground stars in a sky box: a smooth Galactic model, or a resampled real table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from astroad_nb.data.streams.coordinates import (
    _galactocentric_frame,
    _galactocentric_to_observables,
)
from astroad_nb.data.streams.gaia import _check_columns
from astroad_nb.data.streams.observation import _observe
from astroad_nb.data.streams.population import (
    _DISC_LOCUS_COLOR,
    _DISC_LOCUS_LOGLF,
    _DISC_LOCUS_MG,
    _OLD_LOCUS_COLOR,
    _OLD_LOCUS_MG,
    _gaia_bands,
    _truncated_lf_draw,
    old_population_cmd,
)

__all__ = ["simulate_foreground"]

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
