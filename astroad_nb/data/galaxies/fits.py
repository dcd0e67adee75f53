"""Reader of FITS images: one band per file, or a cube of bands, through astropy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astroad_nb.data.galaxies.containers import ImageReadError

__all__ = ["FITS_SUFFIXES", "read_fits_image"]

#: File suffixes read by :func:`read_fits_image` (lower case, ``.gz`` allowed after each).
FITS_SUFFIXES: tuple[str, ...] = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")


def read_fits_image(path, *, hdu: int | str | None = None) -> tuple[np.ndarray, dict]:
    """Read a 2-D image or a 3-D cube from a FITS file.

    Parameters
    ----------
    path : str or os.PathLike
    hdu : int or str, optional
        HDU to read; default: the first HDU holding a 2-D or 3-D array.

    Returns
    -------
    image : ndarray of float32, shape (C, H, W)
        ``C = 1`` for a 2-D image; a cube's first numpy axis (FITS ``NAXIS3``) is the band
        axis. NaN pixels are kept (the folder reader replaces them, see
        :func:`~astroad_nb.data.galaxies.transforms.replace_nan`).
    header : dict
        The HDU's header cards (keyword -> value).

    Raises
    ------
    ImageReadError
        When the file is not readable FITS, or holds no 2-D/3-D image.
    """
    from astropy.io import fits

    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            if hdu is None:
                found = [h for h in hdul if h.data is not None and getattr(h.data, "ndim", 0)
                         in (2, 3) and h.is_image]
                if not found:
                    shapes = [getattr(h.data, "shape", None) for h in hdul]
                    raise ImageReadError(path, f"no 2-D or 3-D image HDU (HDU data shapes "
                                         f"{shapes}); expected an image or a band cube")
                chosen = found[0]
            else:
                chosen = hdul[hdu]
            data = np.asarray(chosen.data, dtype=np.float32)
            header = {k: v for k, v in chosen.header.items() if k}
    except ImageReadError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise ImageReadError(path, f"not a readable FITS image ({exc}); expected a complete "
                             "FITS file - a partial download is the usual cause") from exc
    if data.ndim == 2:
        data = data[None]
    elif data.ndim != 3:
        raise ImageReadError(path, f"HDU {hdu!r} holds an array of shape {data.shape}; "
                             "expected (H, W) or (C, H, W)")
    return data, header
