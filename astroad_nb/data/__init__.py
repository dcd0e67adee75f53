"""The data floor: readers of real formats and seeded simulators, returning plain containers.

* :mod:`astroad_nb.data.lightcurves`: ZTF/ALeRCE light curves (:class:`LightCurves`);
* :mod:`astroad_nb.data.alerts`: alert cutout triplets (:class:`CutoutSet`);
* :mod:`astroad_nb.data.streams`: Gaia catalogues and stream-membership problems;
* :mod:`astroad_nb.data.galaxies`: galaxy image folders / FITS / ``.npy`` and the galsim
  galaxy simulator (:class:`ImageSet`);
* :mod:`astroad_nb.data.sounds`: WAV folders, MIMII/DCASE machine-sound sets and their
  simulator (:class:`SoundSet`), the contextual novelty system's data;
* :mod:`astroad_nb.data.bands`: the band table (ZTF filter ids, survey band names, order);
* :mod:`astroad_nb.data.labels`: the real/bogus label parser;
* :mod:`astroad_nb.data.rows`: row selection shared by the containers.

Nothing is imported here, so importing one kind of data does not import the others.
"""
