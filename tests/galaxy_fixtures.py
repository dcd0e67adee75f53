"""Builders of small galaxy-image folders for the reader tests (all written into tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_jpeg(path: Path, shape=(70, 80), seed=0, quality=90) -> np.ndarray:
    """Write an RGB JPEG of ``shape`` (H, W); return its decoded (3, H, W) uint8 pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.indices(shape)
    blob = 200 * np.exp(-((y - shape[0] / 2) ** 2 + (x - shape[1] / 2) ** 2) / 60.0)
    rgb = np.clip(blob[..., None] * (1.0, 0.8, 0.5) + rng.normal(8, 3, shape + (3,)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=quality)
    return np.moveaxis(np.asarray(Image.open(path).convert("RGB")), -1, 0)


def write_truncated_jpeg(path: Path, keep=0.5) -> None:
    """Write a JPEG cut after ``keep`` of its bytes (a partial download)."""
    full = path.with_name("_full_" + path.name)
    write_jpeg(full, seed=3)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: int(len(data) * keep)])


def seed_layout(root: Path) -> dict:
    """The seed's train/0.normal, test/0.normal, test/1.abnormal layout, with one bad file."""
    for i in range(3):
        write_jpeg(root / "train" / "0.normal" / f"n{i}.jpg", seed=i)
    for i in range(2):
        write_jpeg(root / "test" / "0.normal" / f"t{i}.png", shape=(64, 64), seed=10 + i)
    for i in range(2):
        write_jpeg(root / "test" / "1.abnormal" / f"a{i}.jpg", shape=(90, 60), seed=20 + i)
    bad = root / "test" / "1.abnormal" / "broken.jpg"
    write_truncated_jpeg(bad)
    (root / "train" / "0.normal" / "notes.txt").write_text("not an image")
    return {"bad": bad, "n_good": 7}


def write_fits(path: Path, data: np.ndarray) -> None:
    """Write ``data`` as the primary HDU of a FITS file."""
    from astropy.io import fits

    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(np.asarray(data, dtype=np.float32)).writeto(path, overwrite=True)
