"""gala mock streams: :func:`simulate_stream` and its cached particle runs.

The progenitor's orbit is integrated back in a Milky Way potential and particles are
released with the Fardal et al. (2015) distribution function; runs are cached in memory and,
when ``$ASTROAD_CACHE_DIR`` is set, on disk.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.streams.coordinates import (
    _galactocentric_frame,
    _galactocentric_to_observables,
    _icrs_to_galactocentric,
)
from astroad_nb.data.streams.observation import _observe
from astroad_nb.data.streams.population import old_population_cmd

__all__ = ["simulate_stream"]

def _default_potential():
    import gala.potential as gp

    try:
        return gp.MilkyWayPotential(version="v2")  # = MilkyWayPotential2022 in gala >= 1.10
    except TypeError:  # older gala
        return gp.MilkyWayPotential2022()


@functools.lru_cache(maxsize=1)
def _cached_default_potential():
    return _default_potential()


def _cache_dir() -> Path | None:
    env = os.environ.get("ASTROAD_CACHE_DIR")
    return Path(env) / "streams" if env else None


def _stable_key(params: dict) -> str:
    # hashlib, never hash(): the key must be the same in every process.
    text = json.dumps(params, sort_keys=True, default=float)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=64)
def _mockstream_cached(w0_key: tuple, mass: float, t_integrate: float, dt: float,
                       release_every: int, df_seed: int) -> np.ndarray:
    """Run gala's Fardal mock-stream generator; (n_particles, 6) Galactocentric x (kpc), v (km/s)."""
    params = {"w0": list(w0_key), "mass": mass, "t": t_integrate, "dt": dt,
              "release_every": release_every, "seed": df_seed, "v": 1}
    cache = _cache_dir()
    file = cache / f"mockstream-{_stable_key(params)}.npz" if cache else None
    if file is not None and file.exists():
        return np.load(file)["xv"]
    xv = _run_mockstream(np.array(w0_key), mass, t_integrate, dt, release_every, df_seed)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, xv=xv)
    return xv


def _run_mockstream(w0, mass, t_integrate, dt, release_every, df_seed):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp
    from gala.dynamics import mockstream as ms

    hamiltonian = gp.Hamiltonian(_cached_default_potential())
    prog = gd.PhaseSpacePosition(pos=w0[:3] * u.kpc, vel=w0[3:] * u.km / u.s)
    df = ms.FardalStreamDF(gala_modified=True, random_state=np.random.default_rng(df_seed))
    gen = ms.MockStreamGenerator(df, hamiltonian)
    n_steps = max(int(round(t_integrate / dt)), 2)
    # Leapfrog: gala's default DOP853 stops with "code -4" on some released particles.
    stream, _ = gen.run(prog, mass * u.Msun, dt=-dt * u.Myr, n_steps=n_steps,
                        release_every=release_every, Integrator=gi.LeapfrogIntegrator)
    return np.hstack([stream.xyz.to_value(u.kpc).T,
                      stream.v_xyz.to_value(u.km / u.s).T])


def _random_progenitor(distance_kpc, rng):
    """A progenitor at heliocentric distance ``distance_kpc``, |b| > 25 deg, on a bound orbit."""
    import astropy.coordinates as coord
    import astropy.units as u

    while True:
        l_deg = rng.uniform(0, 360)
        b_deg = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(25)), 1.0))) * rng.choice([-1, 1])
        pos = coord.SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, distance=distance_kpc * u.kpc,
                             frame="galactic").transform_to(_galactocentric_frame())
        x = pos.cartesian.xyz.to_value(u.kpc)
        r = np.linalg.norm(x)
        if r > 4.0:
            break
    pot = _cached_default_potential()
    v_circ = float(pot.circular_velocity(x * u.kpc).to_value(u.km / u.s)[0])
    direction = rng.normal(size=3)
    direction -= direction @ x / r * x / r * rng.uniform(0.3, 1.0)  # bias towards tangential
    direction /= np.linalg.norm(direction)
    v = direction * v_circ * rng.uniform(0.65, 1.0)
    return np.r_[x, v]


def _progenitor_w0(progenitor, distance, rng):
    """Galactocentric (x [kpc], v [km/s]) of the progenitor, from any accepted description."""
    import astropy.coordinates as coord

    if progenitor is None:
        return _random_progenitor(distance if distance is not None else rng.uniform(6, 25), rng)
    if isinstance(progenitor, coord.SkyCoord) or isinstance(progenitor, coord.BaseCoordinateFrame):
        return _icrs_to_galactocentric(progenitor)
    if hasattr(progenitor, "xyz") and hasattr(progenitor, "v_xyz"):  # gala PhaseSpacePosition
        import astropy.units as u

        return np.r_[progenitor.xyz.to_value(u.kpc).ravel(),
                     progenitor.v_xyz.to_value(u.km / u.s).ravel()]
    w0 = np.asarray(progenitor, dtype=float)
    if w0.shape != (6,):
        raise ValueError("progenitor must be a SkyCoord with distance, proper motions and radial "
                         "velocity, a gala PhaseSpacePosition, or 6 Galactocentric numbers "
                         f"(x, y, z [kpc], vx, vy, vz [km/s]); got shape {w0.shape}.")
    return w0


def simulate_stream(*, progenitor=None, potential=None, n_particles=300, distance=None,
                    mass=2e4, t_integrate=3000.0, dt=1.0, g_limit=20.7, release="dr3",
                    random_state=None) -> pd.DataFrame:
    """Simulate the observed members of a tidal stream with gala.

    The progenitor's orbit is integrated back ``t_integrate`` Myr in a Milky Way potential and
    particles are released along it with the Fardal et al. (2015) distribution function
    (``gala.dynamics.mockstream.MockStreamGenerator`` + ``FardalStreamDF``); ``n_particles`` of
    them are kept, converted to ICRS observables, given photometry from
    :func:`old_population_cmd` (every star brighter than ``g_limit``), and observed with
    Gaia-like errors (:func:`gaia_errors`). The particle run is cached in memory (and on disk
    under ``$ASTROAD_CACHE_DIR/streams`` when that variable is set), keyed by the progenitor,
    mass, times and a DF seed drawn from ``random_state``.

    Parameters
    ----------
    progenitor : SkyCoord, gala PhaseSpacePosition, array of shape (6,), or None
        Present-day progenitor: an astropy coordinate with distance, proper motions and radial
        velocity; or Galactocentric x, y, z (kpc), vx, vy, vz (km/s). ``None`` draws one at
        ``distance`` on a random bound orbit at |b| > 25 deg.
    potential : gala potential, optional
        Default ``MilkyWayPotential(version="v2")`` (= MilkyWayPotential2022). A custom
        potential disables the cache.
    n_particles : int
        Number of member stars returned (all brighter than ``g_limit``).
    distance : float, optional
        Heliocentric distance of a random progenitor (kpc); default uniform in [6, 25].
    mass : float
        Progenitor mass (Msun); sets the stream width through the tidal radius.
    t_integrate : float
        Stripping time (Myr); sets the stream length.
    dt : float
        Time step (Myr).
    g_limit : float
        Faint G limit (mag), ~20.5-21 for Gaia.
    release : {'dr3', 'dr2'}
        Gaia error model.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame, shape (n_particles, 14)
        ra, dec (deg), parallax (mas), pmra, pmdec (mas/yr, pmra includes cos dec),
        radial_velocity (km/s), distance (kpc, true), G/BP/RP magnitudes and the
        ``*_error`` columns; ``attrs["progenitor"]`` holds the progenitor's Galactocentric
        phase-space position.
    """
    rng = np.random.default_rng(random_state)
    if int(n_particles) < 1:
        raise ValueError(f"n_particles must be >= 1, got {n_particles!r}.")
    w0 = _progenitor_w0(progenitor, distance, rng)
    n_steps = max(int(round(t_integrate / dt)), 2)
    # Two particles (leading + trailing) per release; release often enough to over-sample 1.5x.
    release_every = int(max(1, min(n_steps // 2, (2 * n_steps) // int(1.5 * n_particles + 10))))
    df_seed = int(rng.integers(2**31))
    if potential is None:
        w0_key = tuple(np.round(w0, 10).tolist())
        xv = _mockstream_cached(w0_key, float(mass), float(t_integrate), float(dt),
                                release_every, df_seed)
    else:
        xv = _run_mockstream_with(potential, w0, mass, t_integrate, dt, release_every, df_seed)
    if len(xv) < n_particles:
        xv = xv[rng.choice(len(xv), size=n_particles, replace=True)]
    else:
        xv = xv[np.sort(rng.choice(len(xv), size=n_particles, replace=False))]
    stars = _galactocentric_to_observables(xv)
    photometry = old_population_cmd(n_particles, g_limit=g_limit, random_state=rng,
                                    distance_modulus=5 * np.log10(stars["distance"] * 100.0))
    stars = pd.concat([stars, photometry.drop(columns="abs_g")], axis=1)
    stars = _observe(stars, release=release, rng=rng)
    stars.attrs["progenitor"] = w0.tolist()
    return stars


def _run_mockstream_with(potential, w0, mass, t_integrate, dt, release_every, df_seed):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp
    from gala.dynamics import mockstream as ms

    prog = gd.PhaseSpacePosition(pos=w0[:3] * u.kpc, vel=w0[3:] * u.km / u.s)
    df = ms.FardalStreamDF(gala_modified=True, random_state=np.random.default_rng(df_seed))
    gen = ms.MockStreamGenerator(df, gp.Hamiltonian(potential))
    stream, _ = gen.run(prog, mass * u.Msun, dt=-dt * u.Myr,
                        n_steps=max(int(round(t_integrate / dt)), 2),
                        release_every=release_every, Integrator=gi.LeapfrogIntegrator)
    return np.hstack([stream.xyz.to_value(u.kpc).T, stream.v_xyz.to_value(u.km / u.s).T])
