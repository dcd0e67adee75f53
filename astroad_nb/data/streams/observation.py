"""The Gaia error model of the simulators: uncertainties against G, and noisy observables."""

from __future__ import annotations

import numpy as np

__all__ = ["gaia_errors"]

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
