"""Reader of numpy ``.npy`` image files: one image or a stack of images per file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astroad_nb.data.galaxies.containers import ImageReadError

__all__ = ["NPY_SUFFIXES", "read_npy_images"]

#: File suffixes read by :func:`read_npy_images`.
NPY_SUFFIXES: tuple[str, ...] = (".npy",)


def read_npy_images(path) -> np.ndarray:
    """Read a ``.npy`` file as a stack of channels-first images.

    Shapes accepted: ``(H, W)`` (one band), ``(C, H, W)`` (one image; read as channels-last
    ``(H, W, C)`` only when the last axis has at most 4 entries and the first more than 4),
    ``(N, C, H, W)`` (a stack). ``allow_pickle`` is off: object arrays are refused.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray, shape (N, C, H, W)
        uint8 files stay uint8 (0..255, as 8-bit pixels); anything else becomes float32.

    Raises
    ------
    ImageReadError
        When the file is not a readable ``.npy`` array of a shape above.
    """
    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ImageReadError(path, f"not a readable .npy array ({exc}); expected a file "
                             "written by numpy.save") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "uifb":
        raise ImageReadError(path, f"holds {getattr(arr, 'dtype', type(arr))}; expected a "
                             "numeric array")
    if arr.ndim == 2:
        arr = arr[None, None]
    elif arr.ndim == 3:
        if arr.shape[-1] <= 4 < arr.shape[0]:
            arr = np.moveaxis(arr, -1, 0)
        arr = arr[None]
    elif arr.ndim != 4:
        raise ImageReadError(path, f"holds an array of shape {arr.shape}; expected (H, W), "
                             "(C, H, W) or (N, C, H, W)")
    return arr if arr.dtype == np.uint8 else arr.astype(np.float32)
