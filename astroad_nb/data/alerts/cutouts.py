"""ZTF alert cutouts: gzipped-FITS stamps decoded, and cropped or padded to a fixed size.

A stamp cut by a detector edge (e.g. 48 x 63 px) is padded with NaN on the side of the chip
edge when the candidate position tells which side that is (a ZTF readout quadrant is
3072 x 3080 px), else centred; the padding is reported per alert.
"""

from __future__ import annotations

import gzip
import io
import math
import warnings

import numpy as np

__all__ = ["ZTF_QUADRANT_NX", "ZTF_QUADRANT_NY"]

#: ZTF readout-quadrant size in pixels (NAXIS1 = x, NAXIS2 = y).
ZTF_QUADRANT_NX, ZTF_QUADRANT_NY = 3072, 3080

_CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def _alert_cutouts(record: dict, size: int, row: dict) -> tuple[np.ndarray, dict]:
    """Decode the three cutouts of one alert -> (3, size, size) float32 and padding info."""
    out = np.full((3, size, size), np.nan, np.float32)
    pads = {"pad_y0": 0, "pad_y1": 0, "pad_x0": 0, "pad_x1": 0, "pad_rule": "none",
            "clipped": False, "n_missing_cutouts": 0}
    for c, name in enumerate(_CUTOUT_FIELDS):
        cutout = record.get(name)
        stamp = cutout.get("stampData") if isinstance(cutout, dict) else cutout
        if stamp is None:  # optional in the schema: leave NaN, count it
            pads["n_missing_cutouts"] += 1
            continue
        data = _decode_stamp(stamp, name)
        padded, this = _place_stamp(data, size, row.get("xpos"), row.get("ypos"))
        out[c] = padded
        if this["clipped"]:
            pads.update(this)
    if pads["n_missing_cutouts"] == 3:
        raise ValueError("the alert carries no cutout at all")
    return out, pads


def _decode_stamp(stamp: bytes, name: str) -> np.ndarray:
    """Gzipped (or plain) FITS bytes -> 2-D float32 array."""
    from astropy.io import fits

    raw = gzip.decompress(stamp) if stamp[:2] == b"\x1f\x8b" else stamp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ZTF stamps trip astropy's SIMPLE-card check
        with fits.open(io.BytesIO(raw), memmap=False) as hdul:
            data = next((h.data for h in hdul if h.data is not None and h.data.ndim == 2), None)
            if data is None:
                raise ValueError(f"{name} holds no 2-D image "
                                 f"(HDUs: {[getattr(h.data, 'shape', None) for h in hdul]})")
            return np.array(data, dtype=np.float32)


def _place_stamp(data: np.ndarray, size: int, xpos, ypos) -> tuple[np.ndarray, dict]:
    """Crop/pad one stamp to (size, size); pad on the chip-edge side when it is known."""
    info = {"pad_y0": 0, "pad_y1": 0, "pad_x0": 0, "pad_x1": 0, "pad_rule": "none",
            "clipped": False}
    for axis, pos, chip_len, keys in ((0, ypos, ZTF_QUADRANT_NY, ("pad_y0", "pad_y1")),
                                      (1, xpos, ZTF_QUADRANT_NX, ("pad_x0", "pad_x1"))):
        length = data.shape[axis]
        if length > size:  # larger than asked: central crop
            start = (length - size) // 2
            data = np.take(data, np.arange(start, start + size), axis=axis)
            continue
        missing = size - length
        if missing == 0:
            continue
        before, rule = _edge_padding(missing, size, pos, chip_len)
        widths = [(0, 0), (0, 0)]
        widths[axis] = (before, missing - before)
        data = np.pad(data, widths, constant_values=np.nan)
        info[keys[0]], info[keys[1]] = before, missing - before
        info["pad_rule"] = rule if info["pad_rule"] in ("none", rule) else "mixed"
        info["clipped"] = True
    return data, info


def _edge_padding(missing: int, size: int, pos, chip_len: int) -> tuple[int, str]:
    """Rows/columns of padding before the stamp, and the rule used.

    ``pos`` is the 1-based candidate position along this axis. A stamp centred on pixel
    ``round(pos)`` needs ``size // 2`` pixels on each side; the side that runs off the chip
    is the side to pad.
    """
    try:
        pos = float(pos)
    except (TypeError, ValueError):
        pos = math.nan
    if math.isfinite(pos):
        centre, half = int(round(pos)), size // 2
        short_before = half - (centre - 1) > 0
        short_after = half - (chip_len - centre) > 0
        if short_before and not short_after:
            return missing, "edge"
        if short_after and not short_before:
            return 0, "edge"
    return missing // 2, "centre"
