"""Alert cutout triplets: a container, readers of real formats and a galsim simulator.

The container, :class:`CutoutSet`, holds ``N`` triplets of image cutouts (science,
reference/template, difference) with a per-triplet table, ids and optional real/bogus labels.
Readers of ZTF Avro alert packets (:func:`read_alerts`), of RB-C1000's FITS stamp tables
(:func:`read_stamp_table`) and of ``.npy``/``.npz`` arrays (:func:`read_triplet_array`) return
it, and so does the simulator (:func:`simulate_triplets`), so every model and notebook of the
real/bogus system works on either.

Modules: :mod:`~astroad_nb.data.alerts.containers` (:class:`CutoutSet`, :data:`CHANNELS`),
:mod:`~astroad_nb.data.alerts.avro` (ZTF Avro packets), :mod:`~astroad_nb.data.alerts.cutouts`
(gzipped-FITS stamps, edge padding), :mod:`~astroad_nb.data.alerts.tables` (FITS stamp tables,
numpy arrays), :mod:`~astroad_nb.data.alerts.simulate` (the simulator),
:mod:`~astroad_nb.data.alerts.kinds` (its table of real and bogus kinds),
:mod:`~astroad_nb.data.alerts.scene` (its galsim library) and
:mod:`~astroad_nb.data.alerts.artefacts` (its bogus artefacts).

Conventions
-----------
* ``images`` is float32, shape ``(N, 3, H, W)``, channel order :data:`CHANNELS` =
  ``("science", "reference", "difference")``; row ``0`` of an image is the lowest ``y`` on the
  detector (FITS order). Units are those of the cutouts (DN for ZTF; e- for the simulator).
* ``mask`` is bool, same shape: ``True`` = valid pixel. NaN pixels stay NaN in ``images``
  and are ``False`` in ``mask`` (replace them before a CNN, e.g. ``np.where(mask, images, 0)``).
* ``clipped`` is bool, shape ``(N,)``: the stamp was cut by a detector edge (e.g. a 48 x 63
  ZTF cutout) and was padded with NaN to ``H x W``. The padding goes on the side of the
  chip edge when ``xpos``/``ypos`` tell which side that is (a ZTF readout quadrant is
  3072 x 3080 px), else the stamp is centred. The padding, in pixels, is in the table columns
  ``pad_y0, pad_y1`` (rows added before / after, i.e. below / above in ``y``) and
  ``pad_x0, pad_x1`` (columns added left / right), and ``pad_rule`` (``"edge"``/``"centre"``).
* ``labels`` is ``None`` (no label source) or int64, shape ``(N,)``: 1 = real, 0 = bogus,
  -1 = unknown (scikit-learn's semi-supervised convention; NaN in a file becomes -1).
* ``ids`` are strings (ZTF ``candid`` for alerts), unique per triplet when the source is.
"""

from astroad_nb.data.alerts.avro import read_alerts
from astroad_nb.data.alerts.containers import CHANNELS, CutoutSet
from astroad_nb.data.alerts.cutouts import ZTF_QUADRANT_NX, ZTF_QUADRANT_NY, decode_stamp  # noqa: F401
from astroad_nb.data.alerts.kinds import BOGUS_KINDS, REAL_KINDS
from astroad_nb.data.alerts.scene import _library  # noqa: F401  (benchmarks clear its cache)
from astroad_nb.data.alerts.simulate import simulate_triplets
from astroad_nb.data.alerts.tables import read_stamp_table, read_triplet_array
from astroad_nb.data.bands import ZTF_FID_TO_BAND  # noqa: F401  (importable here before)

__all__ = [
    "BOGUS_KINDS",
    "REAL_KINDS",
    "CHANNELS",
    "CutoutSet",
    "decode_stamp",
    "read_alerts",
    "read_stamp_table",
    "read_triplet_array",
    "simulate_triplets",
]
