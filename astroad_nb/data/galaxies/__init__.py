"""Galaxy images (system 4): a container, folder/FITS/``.npy`` readers and a galsim simulator.

The container, :class:`ImageSet`, holds ``N`` multi-band images with a table (id, path,
label, set, metadata). :func:`read_image_folder` reads the seed's ``train/0.normal`` /
``test/0.normal`` / ``test/1.abnormal`` layout, flat folders of JPEG/PNG, FITS (one file per
band, ``<id>_<band>.fits``, or a cube) and ``.npy``; :func:`simulate_galaxies` draws SDSS-like
bulge + disk galaxies with galsim, and "simulation" variants that depart from them in known,
physical ways. Both return an :class:`ImageSet`, so the GANomaly model and its protocol work
on either.

Modules: :mod:`~astroad_nb.data.galaxies.containers` (:class:`ImageSet`,
:class:`ImageReadError`), :mod:`~astroad_nb.data.galaxies.folders` (layouts),
:mod:`~astroad_nb.data.galaxies.raster` (JPEG/PNG), :mod:`~astroad_nb.data.galaxies.fits`
(FITS), :mod:`~astroad_nb.data.galaxies.arrays` (``.npy``),
:mod:`~astroad_nb.data.galaxies.transforms` (the seed's transform, asinh / Lupton stretches)
and :mod:`~astroad_nb.data.galaxies.simulate` (the simulator).

Conventions
-----------
* ``images`` is float32, shape ``(N, C, H, W)``, channels named by ``ImageSet.bands``. SDSS
  RGB cutouts (and the simulator's ``output="rgb"``) have R, G, B = i, r, g, so
  ``bands == ("i", "r", "g")``. After the seed's transform values lie in [-1, 1]; the
  simulator's ``output="bands"`` is in nanomaggies per pixel (zero point 22.5 mag), bands
  ``("g", "r", "i")``.
* Row 0 of an image is its top row as stored in the file (JPEG/PNG order; FITS first row).
* ``table["label"]``: 0 normal, 1 abnormal, -1 unknown; ``table["set"]``: the split of the
  seed's layout (``"train"``/``"test"``), ``"all"`` for a flat folder, ``"observed"`` or the
  variant's name for the simulator.
* ``table["id"]`` is unique per image: the path relative to the folder without suffix.
"""

from astroad_nb.data.galaxies.arrays import read_npy_images
from astroad_nb.data.galaxies.containers import ImageReadError, ImageSet
from astroad_nb.data.galaxies.fits import read_fits_image
from astroad_nb.data.galaxies.folders import read_image_files, read_image_folder
from astroad_nb.data.galaxies.raster import read_raster
from astroad_nb.data.galaxies.simulate import (
    BANDS,
    PIXEL_SCALE,
    VARIANTS,
    simulate_galaxies,
    simulation_speed,
)
from astroad_nb.data.galaxies.transforms import (
    asinh_stretch,
    center_crop,
    lupton_rgb,
    replace_nan,
    resize_shorter,
    seed_transform,
    to_signed_unit,
)

__all__ = [
    "BANDS",
    "PIXEL_SCALE",
    "VARIANTS",
    "ImageReadError",
    "ImageSet",
    "asinh_stretch",
    "center_crop",
    "lupton_rgb",
    "read_fits_image",
    "read_image_files",
    "read_image_folder",
    "read_npy_images",
    "read_raster",
    "replace_nan",
    "resize_shorter",
    "seed_transform",
    "simulate_galaxies",
    "simulation_speed",
    "to_signed_unit",
]
