"""Image transforms: the seed's resize -> centre crop -> [-1, 1], and explicit stretches.

Images are channels-first here, ``(C, H, W)``: uint8 (8-bit JPEG/PNG pixels, 0..255) or
float (fluxes, or values already stretched to [0, 1]). The seed's transform is written with
Pillow (no torchvision): torchvision's ``Resize`` on a PIL image calls Pillow's bilinear
resize, so each channel is resized by Pillow in mode ``"L"`` (uint8) or ``"F"`` (float32).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = [
    "asinh_stretch",
    "center_crop",
    "lupton_rgb",
    "replace_nan",
    "resize_shorter",
    "seed_transform",
    "to_signed_unit",
]


def resize_shorter(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so that the shorter side is ``size`` px (bilinear, antialiased), keeping aspect.

    As torchvision's ``Resize(size)``: the longer side becomes ``int(size * long / short)``.

    Parameters
    ----------
    image : ndarray, shape (C, H, W), uint8 or float
    size : int
        Target length of the shorter side [px].

    Returns
    -------
    ndarray, shape (C, H', W'), the input's dtype (uint8 stays uint8, float -> float32)
    """
    c, h, w = image.shape
    if min(h, w) == size:
        return image
    if h <= w:
        new_h, new_w = size, int(size * w / h)
    else:
        new_h, new_w = int(size * h / w), size
    uint8 = image.dtype == np.uint8
    out = np.empty((c, new_h, new_w), np.uint8 if uint8 else np.float32)
    for k in range(c):
        band = image[k] if uint8 else np.ascontiguousarray(image[k], dtype=np.float32)
        pil = Image.fromarray(band)
        out[k] = np.asarray(pil.resize((new_w, new_h), Image.Resampling.BILINEAR))
    return out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Cut the central ``size`` x ``size`` px (offsets rounded as torchvision's ``CenterCrop``).

    Parameters
    ----------
    image : ndarray, shape (C, H, W) with H, W >= size

    Returns
    -------
    ndarray, shape (C, size, size)
    """
    _, h, w = image.shape
    if h < size or w < size:
        raise ValueError(f"cannot centre-crop a {h}x{w} image to {size}x{size}; "
                         "resize it first (resize_shorter).")
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image[:, top:top + size, left:left + size]


def to_signed_unit(image: np.ndarray) -> np.ndarray:
    """Map uint8 0..255 (or float 0..1) to float32 [-1, 1], as ``Normalize(0.5, 0.5)``.

    Parameters
    ----------
    image : ndarray, uint8 or float in [0, 1]

    Returns
    -------
    ndarray of float32, same shape, in [-1, 1]
    """
    x = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(
        np.float32)
    return (x - 0.5) / 0.5


def seed_transform(image: np.ndarray, size: int = 64) -> np.ndarray:
    """The seed's transform: resize (shorter side ``size``) -> centre crop ``size`` -> [-1, 1].

    Parameters
    ----------
    image : ndarray, shape (C, H, W)
        uint8 0..255, or float already in [0, 1] (apply a stretch to fluxes first).
    size : int, default=64

    Returns
    -------
    ndarray of float32, shape (C, size, size), in [-1, 1]
    """
    return to_signed_unit(center_crop(resize_shorter(image, size), size))


def replace_nan(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace non-finite pixels of each band by that band's median of finite pixels.

    Parameters
    ----------
    image : ndarray of float, shape (C, H, W)

    Returns
    -------
    image : ndarray of float32, shape (C, H, W)
        A copy when something was replaced.
    n_replaced : int
        Number of pixels replaced (all bands).

    Raises
    ------
    ValueError
        When a band has no finite pixel at all.
    """
    image = np.asarray(image, dtype=np.float32)
    bad = ~np.isfinite(image)
    n_bad = int(bad.sum())
    if not n_bad:
        return image, 0
    image = image.copy()
    for k in range(image.shape[0]):
        if bad[k].all():
            raise ValueError(f"band {k} has no finite pixel (all NaN/inf)")
        if bad[k].any():
            image[k][bad[k]] = np.median(image[k][~bad[k]])
    return image, n_bad


def asinh_stretch(image: np.ndarray, a: float = 0.1, *, percentile: float | None = 99.5,
                  ) -> np.ndarray:
    """Stretch fluxes to [0, 1] with astropy's asinh stretch, one interval for all bands.

    The interval is from the minimum (or the ``(100 - percentile) / 2`` percentile) to the
    ``percentile`` of the whole image (all bands together, so colours are kept), then
    ``asinh(x / a) / asinh(1 / a)`` (``astropy.visualization.AsinhStretch(a)``).

    Parameters
    ----------
    image : ndarray of float, shape (C, H, W)
        Fluxes (any linear unit).
    a : float, default=0.1
        Where the stretch turns from linear to logarithmic, as a fraction of the interval.
    percentile : float or None, default=99.5
        Central percentile kept (``None``: min to max).

    Returns
    -------
    ndarray of float32, shape (C, H, W), in [0, 1]
    """
    from astropy.visualization import AsinhStretch, MinMaxInterval, PercentileInterval

    interval = MinMaxInterval() if percentile is None else PercentileInterval(percentile)
    lo, hi = interval.get_limits(np.asarray(image, dtype=np.float64))
    scaled = np.clip((image - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    return AsinhStretch(a)(scaled, clip=True).astype(np.float32)


def lupton_rgb(image: np.ndarray, *, Q: float = 8.0, stretch: float = 0.5,
               minimum: float = 0.0, scales=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Lupton et al. (2004) asinh RGB composite (``astropy.visualization.make_lupton_rgb``).

    Parameters
    ----------
    image : ndarray of float, shape (3, H, W)
        Fluxes of the bands shown as R, G, B, in that order (SDSS: i, r, g).
    Q : float, default=8
        Asinh softening.
    stretch : float, default=0.5
        Linear range of the stretch, in the unit of ``image``.
    minimum : float, default=0
        Flux shown as black.
    scales : sequence of 3 float, default=(1, 1, 1)
        Multiplies each band before the composite (colour balance).

    Returns
    -------
    ndarray of uint8, shape (3, H, W)
        Channels-first, as every image in this package.
    """
    from astropy.visualization import make_lupton_rgb

    if image.shape[0] != 3:
        raise ValueError(f"lupton_rgb needs 3 bands (R, G, B), got shape {image.shape}; "
                         "use asinh_stretch for other band counts.")
    r, g, b = (np.asarray(image[k], dtype=np.float64) * scales[k] for k in range(3))
    rgb = make_lupton_rgb(r, g, b, minimum=minimum, stretch=stretch, Q=Q)
    return np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
