"""Galactocentric <-> ICRS conversions shared by the stream and foreground simulators."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _galactocentric_frame():
    import astropy.coordinates as coord

    return coord.Galactocentric()  # astropy's default Sun position and velocity


def _icrs_to_galactocentric(coord_icrs) -> np.ndarray:
    import astropy.units as u

    gal = coord_icrs.transform_to(_galactocentric_frame())
    return np.r_[gal.cartesian.xyz.to_value(u.kpc),
                 gal.velocity.d_xyz.to_value(u.km / u.s)]


def _galactocentric_to_observables(xv: np.ndarray) -> pd.DataFrame:
    import astropy.coordinates as coord
    import astropy.units as u

    gal = coord.SkyCoord(x=xv[:, 0] * u.kpc, y=xv[:, 1] * u.kpc, z=xv[:, 2] * u.kpc,
                         v_x=xv[:, 3] * u.km / u.s, v_y=xv[:, 4] * u.km / u.s,
                         v_z=xv[:, 5] * u.km / u.s, frame=_galactocentric_frame())
    icrs = gal.transform_to(coord.ICRS())
    distance = icrs.distance.to_value(u.kpc)
    return pd.DataFrame({
        "ra": icrs.ra.to_value(u.deg), "dec": icrs.dec.to_value(u.deg),
        "parallax": 1.0 / distance,
        "pmra": icrs.pm_ra_cosdec.to_value(u.mas / u.yr),
        "pmdec": icrs.pm_dec.to_value(u.mas / u.yr),
        "radial_velocity": icrs.radial_velocity.to_value(u.km / u.s),
        "distance": distance,
    })
