"""Whole simulated membership problems: a mock stream, foreground around it, truth, support."""

from __future__ import annotations

import numpy as np
import pandas as pd

from astroad_nb.data.streams.containers import StreamProblem
from astroad_nb.data.streams.foreground import simulate_foreground
from astroad_nb.data.streams.mockstream import simulate_stream

__all__ = ["simulate_stream_problem", "simulate_stream_problems"]

def _members_footprint(members: pd.DataFrame, pad: float):
    ra = members["ra"].to_numpy()
    centre = np.degrees(np.angle(np.mean(np.exp(1j * np.radians(ra)))))
    ra_w = (ra - centre + 180.0) % 360.0 - 180.0 + centre  # unwrap around the circular mean
    cos_dec = max(np.cos(np.radians(np.clip(np.abs(members["dec"]).max(), 0, 80))), 0.2)
    ra_lo, ra_hi = ra_w.min() - pad / cos_dec, ra_w.max() + pad / cos_dec
    if ra_hi - ra_lo >= 360:
        ra_lo, ra_hi = 0.0, 360.0
    ra_lo, ra_hi = ra_lo % 360.0, ra_lo % 360.0 + (ra_hi - ra_lo)
    return (ra_lo, ra_hi, max(members["dec"].min() - pad, -90.0),
            min(members["dec"].max() + pad, 90.0))


def simulate_stream_problem(*, n_members=200, n_support=10, foreground_factor=150.0,
                            background=None, pad=2.0, progenitor=None, distance=None,
                            mass=2e4, t_integrate=3000.0, g_limit=20.7, release="dr3",
                            name="simulated", random_state=None) -> StreamProblem:
    """Simulate one membership problem: a stream, foreground around it, truth and a support set.

    Parameters
    ----------
    n_members : int
        Stream stars in the field (all brighter than ``g_limit``).
    n_support : int
        Size of the support set drawn from the members (``1 <= n_support <= n_members``).
    foreground_factor : float
        Foreground stars per member (the seed used 150).
    background : pandas.DataFrame, optional
        Real foreground to resample instead of the smooth Galactic model.
    pad : float
        Margin of the sky box around the members (deg).
    progenitor, distance, mass, t_integrate, g_limit, release
        As in :func:`simulate_stream`.
    name : str
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    StreamProblem
        Field of ``n_members * (1 + foreground_factor)`` stars (RangeIndex ``row``, members
        first, shuffled), truth, support, meta with the simulation parameters.
    """
    rng = np.random.default_rng(random_state)
    stream = simulate_stream(progenitor=progenitor, n_particles=n_members, distance=distance,
                             mass=mass, t_integrate=t_integrate, g_limit=g_limit,
                             release=release, random_state=rng)
    footprint = _members_footprint(stream, pad)
    n_fg = int(round(foreground_factor * n_members))
    foreground = simulate_foreground(n_fg, footprint, rng, background=background,
                                     g_limit=g_limit, release=release)
    field = pd.concat([stream.assign(origin="stream"), foreground.assign(origin="foreground")],
                      ignore_index=True, sort=False)
    truth = np.r_[np.ones(len(stream), bool), np.zeros(len(foreground), bool)]
    order = rng.permutation(len(field))
    field, truth = field.iloc[order].reset_index(drop=True), truth[order]
    field.index.name = "row"
    field.attrs = {}
    problem = StreamProblem(field=field, truth=truth, name=name, meta={
        "simulated": True, "n_members": n_members, "mass": mass, "t_integrate": t_integrate,
        "g_limit": g_limit, "release": release, "footprint": footprint,
        "progenitor": stream.attrs.get("progenitor"),
        "foreground": "resampled" if background is not None else "galactic mixture"})
    return problem.draw_support(n_support, random_state=rng)


def _draw_range(value, rng, log=False):
    if np.ndim(value) == 0:
        return float(value)
    lo, hi = value
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def simulate_stream_problems(n, *, random_state=None, n_support=10, n_members=(10, 1000),
                             distance=(6.0, 25.0), mass=(5e3, 1e5), t_integrate=(1500.0, 4000.0),
                             foreground_factor=150.0, background=None, g_limit=20.7,
                             release="dr3") -> list:
    """Simulate ``n`` varied problems for meta-training.

    Each problem draws its own random bound orbit, distance, progenitor mass (stream width),
    stripping time (length) and richness; ranges ``(lo, hi)`` are sampled (richness and mass
    log-uniformly), scalars are used as given.

    Parameters
    ----------
    n : int
        Number of problems.
    random_state : None, int or numpy.random.Generator
    n_support : int or (lo, hi)
        Support-set size (clipped to the richness).
    n_members : int or (lo, hi)
        Stream stars per field (10 to 1000 by default).
    distance : float or (lo, hi)
        Progenitor heliocentric distance (kpc).
    mass : float or (lo, hi)
        Progenitor mass (Msun).
    t_integrate : float or (lo, hi)
        Stripping time (Myr).
    foreground_factor, background, g_limit, release
        As in :func:`simulate_stream_problem`.

    Returns
    -------
    list of StreamProblem, length n
    """
    rng = np.random.default_rng(random_state)
    problems = []
    for i in range(int(n)):
        members = int(round(_draw_range(n_members, rng, log=True)))
        support = int(round(_draw_range(n_support, rng)))
        problems.append(simulate_stream_problem(
            n_members=members, n_support=min(max(support, 1), members),
            foreground_factor=foreground_factor, background=background,
            distance=_draw_range(distance, rng), mass=_draw_range(mass, rng, log=True),
            t_integrate=_draw_range(t_integrate, rng), g_limit=g_limit, release=release,
            name=f"sim-{i:04d}", random_state=rng))
    return problems
