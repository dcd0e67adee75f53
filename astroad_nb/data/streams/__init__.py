"""Stellar-stream data: Gaia catalogue readers, the seed's stream layouts, and a gala simulator.

Everything here returns plain containers: a :class:`pandas.DataFrame` of stars (one row per
star, Gaia column names, angles in deg, proper motions in mas/yr, parallax in mas, magnitudes
in mag) wrapped, for the membership task, in a :class:`StreamProblem` (field + truth + support).

Modules: :mod:`~astroad_nb.data.streams.containers` (:class:`StreamProblem`),
:mod:`~astroad_nb.data.streams.gaia` (Gaia catalogue readers),
:mod:`~astroad_nb.data.streams.clusterbusters` (the seed's layout),
:mod:`~astroad_nb.data.streams.gd1` (GD-1: DR2 reader and mock), and the simulators
:mod:`~astroad_nb.data.streams.mockstream` (gala mock streams),
:mod:`~astroad_nb.data.streams.foreground` (Milky Way foreground),
:mod:`~astroad_nb.data.streams.problems` (whole problems), with their building blocks
:mod:`~astroad_nb.data.streams.observation` (Gaia errors),
:mod:`~astroad_nb.data.streams.population` (colour-magnitude loci) and
:mod:`~astroad_nb.data.streams.coordinates` (frames).

NaN astrometry
--------------
Readers keep rows with missing astrometry or photometry (Gaia 2-parameter solutions have NaN
parallax/proper motions); nothing is dropped silently. :func:`missing_astrometry` reports how
many rows miss each column, and :func:`astroad_nb.features.streams.stream_features` drops (or
keeps, or refuses) them explicitly, keeping the index so every score stays traceable to a star.
"""

from astroad_nb.data.streams.clusterbusters import ClusterBusters, read_clusterbusters
from astroad_nb.data.streams.containers import StreamProblem
from astroad_nb.data.streams.foreground import simulate_foreground
from astroad_nb.data.streams.gaia import (
    ASTROMETRY_COLUMNS,
    GAIA_COLUMNS,
    missing_astrometry,
    read_gaia,
)
from astroad_nb.data.streams.gd1 import (  # noqa: F401
    GD1_PROGENITOR,
    gd1_problem_from_selection,
    gd1_progenitor,
    read_gd1_dr2,
    simulate_gd1,
    simulate_gd1_problem,
)
from astroad_nb.data.streams.mockstream import simulate_stream
from astroad_nb.data.streams.observation import gaia_errors
from astroad_nb.data.streams.population import old_population_cmd
from astroad_nb.data.streams.problems import simulate_stream_problem, simulate_stream_problems

__all__ = [
    "GAIA_COLUMNS",
    "ASTROMETRY_COLUMNS",
    "StreamProblem",
    "ClusterBusters",
    "read_gaia",
    "missing_astrometry",
    "read_clusterbusters",
    "read_gd1_dr2",
    "gaia_errors",
    "old_population_cmd",
    "simulate_stream",
    "simulate_gd1",
    "simulate_gd1_problem",
    "gd1_problem_from_selection",
    "simulate_foreground",
    "simulate_stream_problem",
    "simulate_stream_problems",
]
