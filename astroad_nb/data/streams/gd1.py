"""GD-1: the Gaia DR2 + Pan-STARRS selection reader and a gala mock GD-1 on the known track."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.streams.containers import StreamProblem
from astroad_nb.data.streams.gaia import _check_columns, _read_hdf5
from astroad_nb.data.streams.mockstream import simulate_stream

__all__ = ["GD1_PROGENITOR", "gd1_problem_from_selection", "gd1_progenitor", "read_gd1_dr2",
           "simulate_gd1", "simulate_gd1_problem"]

def read_gd1_dr2(root, *, field_key="merged", support_key="selected2") -> StreamProblem:
    """Read the GD-1 Gaia DR2 + Pan-STARRS selection in ``root`` as a :class:`StreamProblem`.

    The field is ``gd1_merged.hdf5[field_key]`` (3724 stars around GD-1 after a proper-motion
    cut, with PS1 ``g_mean_psf_mag``/``i_mean_psf_mag``; PS1's 1e20 "no detection" values become
    NaN) and the support set is ``gd1_merged.hdf5[support_key]`` (454 stars), matched by
    ``source_id``. Those are **heuristic** members (proper-motion + colour-magnitude polygon
    selection), not ground truth: ``truth`` is ``None``.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``gd1_merged.hdf5``.
    field_key, support_key : str
        HDFStore keys of the field and of the selected members.

    Returns
    -------
    StreamProblem
        Field indexed by ``source_id`` (int64); columns ra, dec, pmra, pmdec, parallax,
        radial_velocity, phi1, phi2, pm_phi1, pm_phi2 (GD1Koposov10 frame, reflex-corrected
        proper motions as the file gives them), g_mean_psf_mag, i_mean_psf_mag.
        No Gaia photometry: use ``stream_features(..., photometry="ps1")``.
    """
    path = Path(root) / "gd1_merged.hdf5"
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; expected the GD-1 DR2 folder holding "
                                "gd1_merged.hdf5 (keys 'merged', 'selected2').")
    field = _read_hdf5(path, key=field_key)
    selected = _read_hdf5(path, key=support_key)
    for frame, key in ((field, field_key), (selected, support_key)):
        _check_columns(frame, ("source_id", "ra", "dec", "pmra", "pmdec"), f"{path}[{key}]")
    field = field.set_index(field["source_id"].astype(np.int64)).drop(columns="source_id")
    for col in ("g_mean_psf_mag", "i_mean_psf_mag"):
        if col in field.columns:
            field[col] = field[col].where(field[col] < 50.0)  # PS1 uses 1e20 for "missing"
    support = pd.Index(selected["source_id"].astype(np.int64))
    outside = support[~support.isin(field.index)]
    if len(outside):
        raise ValueError(f"{path}: {len(outside)} '{support_key}' stars are not in "
                         f"'{field_key}', e.g. {outside[:3].tolist()}.")
    return StreamProblem(
        field=field, truth=None, support=support, name="GD-1",
        meta={"file": str(path), "support": f"{support_key}: heuristic members (proper-motion "
              "and colour-magnitude polygon selection), not ground truth"})


#: A present-day GD-1 progenitor in the GD1Koposov10 frame: phi1 = -40 deg, phi2 = 0, observed
#: proper motions of the DR2 members there, distance and radial velocity fitted so that the
#: orbit in MilkyWayPotential2022 keeps |phi2| < ~1.5 deg over phi1 in [-85, 5] deg.
GD1_PROGENITOR = {"phi1": -40.0, "phi2": 0.0, "distance": 8.0, "pm_phi1_cosphi2": -13.29,
                  "pm_phi2": -3.08, "radial_velocity": -60.7}


def simulate_gd1(*, n_particles=500, mass=2e4, t_integrate=2000.0, g_limit=20.7,
                 release="dr3", random_state=None) -> pd.DataFrame:
    """Simulate a GD-1-like stream lying on the known GD-1 track.

    The progenitor sits at ``GD1_PROGENITOR`` (phi1 = -40 deg, phi2 = 0 in
    ``gala.coordinates.GD1Koposov10``, 8 kpc, the observed proper motions); after 2 Gyr of
    stripping the stream spans roughly phi1 in [-97, 4] deg at 7-11 kpc with median |phi2| ~ 0.5 deg.

    Parameters
    ----------
    n_particles, mass, t_integrate, g_limit, release, random_state
        As in :func:`simulate_stream`.

    Returns
    -------
    pandas.DataFrame, shape (n_particles, 16)
        As :func:`simulate_stream`, plus ``phi1``, ``phi2`` (deg, GD1Koposov10).
    """
    stars = simulate_stream(progenitor=gd1_progenitor(), n_particles=n_particles, mass=mass,
                            t_integrate=t_integrate, g_limit=g_limit, release=release,
                            random_state=random_state)
    import astropy.coordinates as coord
    import astropy.units as u
    import gala.coordinates as gc

    sky = coord.SkyCoord(ra=stars["ra"].to_numpy() * u.deg,
                         dec=stars["dec"].to_numpy() * u.deg).transform_to(gc.GD1Koposov10())
    stars["phi1"] = sky.phi1.wrap_at(180 * u.deg).to_value(u.deg)
    stars["phi2"] = sky.phi2.to_value(u.deg)
    return stars


def gd1_progenitor():
    """The GD-1 progenitor of :data:`GD1_PROGENITOR` as a gala ``GD1Koposov10`` frame (units on).

    Returns
    -------
    gala.coordinates.GD1Koposov10
    """
    import astropy.units as u
    import gala.coordinates as gc

    p = GD1_PROGENITOR
    return gc.GD1Koposov10(phi1=p["phi1"] * u.deg, phi2=p["phi2"] * u.deg,
                           distance=p["distance"] * u.kpc,
                           pm_phi1_cosphi2=p["pm_phi1_cosphi2"] * u.mas / u.yr,
                           pm_phi2=p["pm_phi2"] * u.mas / u.yr,
                           radial_velocity=p["radial_velocity"] * u.km / u.s)


def simulate_gd1_problem(*, n_members=300, n_support=40, foreground_factor=150.0,
                         random_state=None) -> StreamProblem:
    """A GD-1-like membership problem: the simulated GD-1 stream in a simulated foreground.

    Parameters
    ----------
    n_members : int
    n_support : int
    foreground_factor : float
        Foreground stars per member.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        Named ``"GD-1 (simulated)"``.
    """
    from astroad_nb.data.streams.problems import simulate_stream_problem

    return simulate_stream_problem(n_members=n_members, n_support=n_support,
                                   foreground_factor=foreground_factor,
                                   progenitor=gd1_progenitor(), t_integrate=2000.0,
                                   name="GD-1 (simulated)", random_state=random_state)


def gd1_problem_from_selection(root, *, support_fraction=0.5, random_state=None) -> StreamProblem:
    """The real GD-1 field with the file's heuristic selection as (proxy) truth.

    The selection (``selected2``: proper-motion + colour-magnitude polygon) is not ground
    truth, so metrics measure agreement with it. A ``support_fraction`` of the selected stars
    is given as support; the rest must be recovered from the field.

    Parameters
    ----------
    root : path
        Folder with ``gd1_merged.hdf5``.
    support_fraction : float, default=0.5
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        Named ``"GD-1 (DR2, heuristic)"``; use ``photometry="ps1"`` features (the file has no
        Gaia photometry).
    """
    import dataclasses

    prob = read_gd1_dr2(root)
    truth = prob.field.index.isin(prob.support)
    prob = dataclasses.replace(prob, truth=truth, support=None, name="GD-1 (DR2, heuristic)")
    n = max(1, int(round(support_fraction * truth.sum())))
    return prob.draw_support(n, random_state=random_state)
