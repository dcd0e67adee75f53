"""Reader of 8-bit raster images (JPEG, PNG, ...) through Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from astroad_nb.data.galaxies.containers import ImageReadError

__all__ = ["RASTER_SUFFIXES", "read_raster"]

#: File suffixes read by :func:`read_raster` (lower case).
RASTER_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif")


def read_raster(path, *, alpha: str = "drop") -> np.ndarray:
    """Read one JPEG/PNG image as a channels-first uint8 array.

    Grey images give 1 channel, RGB 3. RGBA images: ``alpha="drop"`` discards the alpha
    channel, as the seed's loader does (``PIL.Image.convert("RGB")``; the seed's NIHAO PNG
    has alpha = 255 everywhere, so nothing is lost); ``"black"`` composites the image over
    black (``rgb * alpha / 255``, transparent = empty sky); ``"keep"`` keeps 4 channels.
    Palette and other modes are converted to RGB.

    Parameters
    ----------
    path : str or os.PathLike
    alpha : {"drop", "black", "keep"}, default="drop"

    Returns
    -------
    ndarray of uint8, shape (C, H, W)

    Raises
    ------
    ImageReadError
        When Pillow cannot identify or fully decode the file (e.g. a truncated download).
    """
    if alpha not in ("drop", "black", "keep"):
        raise ValueError(f"alpha must be 'drop', 'black' or 'keep', got {alpha!r}")
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()  # decoding is lazy: a truncated file fails here, not at open
            mode = img.mode
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA")
                mode = "RGBA"
            elif mode not in ("L", "RGB"):
                img = img.convert("L" if mode in ("1", "I", "I;16", "F") else "RGB")
                mode = img.mode
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageReadError(path, f"not a readable image ({exc}); expected a complete "
                             "JPEG/PNG file - a partial download is the usual cause") from exc
    arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    if mode == "RGBA" and alpha != "keep":
        if alpha == "black":
            rgb = arr[:3].astype(np.float32) * (arr[3:4].astype(np.float32) / 255.0)
            arr = np.round(rgb).astype(np.uint8)
        else:
            arr = arr[:3]
    return np.ascontiguousarray(arr)
