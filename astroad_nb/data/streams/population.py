"""Colour-magnitude loci of the simulators: an old metal-poor population and the disc dwarfs.

Tabulated (M_G, BP-RP) loci with luminosity functions; photometry is drawn brighter than a G
limit, and G, BP-RP are split into Gaia BP and RP with an empirical relation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["old_population_cmd"]

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
