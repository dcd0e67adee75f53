"""Multi-band light curves: a container, readers of real formats and a ZTF-like simulator.

The container, :class:`LightCurves`, holds a long table with one row per detection
(``object_id, band, time, mag, magerr``) plus a per-object ``meta`` table. Readers of
ALeRCE/ZTF detection tables (:func:`read_detections`) and of folders with one CSV per object
(:func:`read_lightcurve_folder`) return it, and so does the simulator of the 14 ALeRCE
light-curve subclasses (:func:`simulate_lightcurves`), so every feature extractor, model and
notebook works on either.

Modules: :mod:`~astroad_nb.data.lightcurves.containers` (the container),
:mod:`~astroad_nb.data.lightcurves.readers` (the readers),
:mod:`~astroad_nb.data.lightcurves.taxonomy` (:data:`SUBCLASSES`, :data:`TOP_CLASS`),
:mod:`~astroad_nb.data.lightcurves.simulate` (the simulator),
:mod:`~astroad_nb.data.lightcurves.models` (its subclass table and models) and
:mod:`~astroad_nb.data.lightcurves.cadence` (ZTF-like epochs, damped random walk).

Conventions
-----------
* ``time`` is MJD in days (float64); ``mag`` and ``magerr`` are magnitudes (float64).
* ``band`` is a lower-case string. ZTF filter ids map ``fid`` 1 -> ``'g'``, 2 -> ``'r'``,
  3 -> ``'i'``; ZTF's ``'R'`` in files becomes ``'r'``; other band names are lower-cased
  (``'u'``, ``'i'``, ``'z'``, ...).
* Rows are sorted by ``object_id``, ``band``, ``time``.
* Cleaning, done once when a container is built and reported on it:

  - rows whose ``time``, ``mag`` or ``magerr`` is NaN/inf, or whose ``magerr`` is negative,
    are **dropped**; their count is in ``lcs.n_dropped["non_finite"]`` and in ``lcs.notes``;
  - exact duplicate epochs (same object, band and time) are **de-duplicated**, keeping the
    first row; the count is in ``lcs.n_dropped["duplicates"]`` and in ``lcs.notes``.
    (Repeated alerts of one epoch are common in broker dumps; two magnitudes at the same
    time make slope features infinite.)
* An object may have no detections at all (empty curve): it stays in ``ids``/``meta``, and
  its features are NaN.
"""

from astroad_nb.data.bands import ZTF_FID_TO_BAND
from astroad_nb.data.lightcurves.containers import LightCurves
from astroad_nb.data.lightcurves.readers import read_detections, read_lightcurve_folder
from astroad_nb.data.lightcurves.simulate import simulate_lightcurves
from astroad_nb.data.lightcurves.taxonomy import SUBCLASSES, TOP_CLASS

__all__ = [
    "SUBCLASSES",
    "TOP_CLASS",
    "ZTF_FID_TO_BAND",
    "LightCurves",
    "read_detections",
    "read_lightcurve_folder",
    "simulate_lightcurves",
]
