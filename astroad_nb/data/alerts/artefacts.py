"""Bogus artefacts of the triplet simulator, drawn on pixel arrays (not convolved by the PSF).

Each function takes the generator ``rng`` and draws in a fixed order, so a seed gives the
same triplets in every release; keep that order when changing one.
"""

from __future__ import annotations

import numpy as np


def saturate(sci: np.ndarray, level: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Clip at the full well and spill the excess charge up and down the columns.

    Returns the clipped image and the mask of saturated (or bled-into) pixels.
    """
    sci = sci.copy()
    over = sci > level
    size = sci.shape[0]
    for col in np.flatnonzero(over.any(axis=0)):
        rows = np.flatnonzero(over[:, col])
        excess = float(np.sum(sci[rows, col] - level))
        n_bleed = int(min(excess / level * rng.uniform(0.5, 1.5), size))
        lo = max(rows.min() - n_bleed // 2, 0)
        hi = min(rows.max() + 1 + n_bleed - n_bleed // 2, size)
        over[lo:hi, col] = True
    sci[over] = level
    return sci, over


def _sharp_start(rng, size: int, cy: float, cx: float, sigma: float):
    """Empty image, peak amplitude (8-300 sigma, log-uniform) and the central pixel."""
    img = np.zeros((size, size))
    amp = sigma * float(np.exp(rng.uniform(np.log(8.0), np.log(300.0))))
    return img, amp, int(round(cy)), int(round(cx))


def cosmic_ray(rng, size: int, cy: float, cx: float, sigma: float) -> tuple[str, np.ndarray]:
    """A cosmic-ray hit: 1-4 sharp pixels (``"single"``) or a 5-25 px ``"track"``.

    Returns the subkind and the (size, size) image to add to the science image.
    """
    img, amp, iy, ix = _sharp_start(rng, size, cy, cx, sigma)
    if rng.random() < 0.5:
        subkind = "single"
        for _ in range(int(rng.integers(1, 5))):
            yy = min(max(iy + int(rng.integers(-1, 2)), 0), size - 1)
            xx = min(max(ix + int(rng.integers(-1, 2)), 0), size - 1)
            img[yy, xx] += amp * rng.uniform(0.3, 1.0)
    else:
        subkind = "track"
        length = rng.uniform(5.0, 25.0)
        ang = rng.uniform(0, np.pi)
        t = np.linspace(-length / 2, length / 2, int(length * 4))
        ys, xs = cy + t * np.sin(ang), cx + t * np.cos(ang)
        _deposit(img, ys, xs, np.full(t.size, amp / 4 * rng.uniform(0.5, 1.0)))
    return subkind, img


def hot_pixel(rng, size: int, cy: float, cx: float, sigma: float) -> tuple[str, np.ndarray]:
    """A ``"hot_pixel"`` (sometimes two) or a ``"bad_column"``/``"bad_row"`` segment.

    Returns the subkind and the (size, size) image to add to the science image.
    """
    img, amp, iy, ix = _sharp_start(rng, size, cy, cx, sigma)
    subkind = str(rng.choice(["hot_pixel", "bad_column", "bad_row"], p=[0.5, 0.3, 0.2]))
    if subkind == "hot_pixel":
        img[iy, ix] = amp
        if rng.random() < 0.3:
            img[iy, min(ix + 1, size - 1)] = amp * rng.uniform(0.2, 0.8)
    else:
        level = sigma * rng.uniform(3.0, 30.0)
        lo = int(rng.integers(0, iy + 1))
        hi = int(rng.integers(iy + 1, size + 1))
        if subkind == "bad_column":
            img[lo:hi, ix] = level
            img[iy, ix] += amp
        else:
            img[iy, lo:hi] = level
            img[iy, ix] += amp
    return subkind, img


def _deposit(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, w: np.ndarray) -> None:
    """Bilinear deposit of point weights (an anti-aliased line)."""
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    h, wd = img.shape
    for oy, ox, ww in ((0, 0, (1 - fy) * (1 - fx)), (1, 0, fy * (1 - fx)),
                       (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
        yy, xx = y0 + oy, x0 + ox
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < wd)
        np.add.at(img, (yy[ok], xx[ok]), (w * ww)[ok])


def ghost(rng, size: int, cy: float, cx: float, sigma: float) -> np.ndarray:
    """Out-of-focus reflection: a soft-edged donut near the centre, science only."""
    yy, xx = np.mgrid[0:size, 0:size]
    oy, ox = rng.uniform(-2.0, 2.0, 2)
    r = np.hypot(yy - cy - oy, xx - cx - ox)
    r_out = rng.uniform(3.0, 10.0)
    r_in = r_out * rng.uniform(0.3, 0.6)
    soft = 0.7
    ring = (1 / (1 + np.exp((r - r_out) / soft))) * (1 / (1 + np.exp((r_in - r) / soft)))
    return ring * sigma * rng.uniform(2.0, 10.0)


def chip_edge(triplet: np.ndarray, rng, size: int, sigma: float, *, artefact: bool) -> None:
    """NaN band from one side (a detector edge), optionally with an edge residual strip.

    Changes ``triplet`` (3, size, size) in place.
    """
    depth = int(rng.integers(size // 2 - 10, size // 2 - 1)) if artefact else int(
        rng.integers(3, size // 3))
    side = int(rng.integers(0, 4))  # 0: low y, 1: high y, 2: low x, 3: high x
    view = triplet if side < 2 else triplet.transpose(0, 2, 1)
    band = slice(0, depth) if side % 2 == 0 else slice(size - depth, size)
    if artefact:  # ringing at the boundary the pipeline detects as a source
        edge = depth if side % 2 == 0 else size - depth - 1
        strip = sigma * rng.uniform(5.0, 50.0) * rng.uniform(0.5, 1.0, size)
        view[0, edge] += strip
        view[2, edge] += strip
    view[:, band] = np.nan
