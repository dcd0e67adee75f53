"""ZTF alert cutouts: gzipped-FITS stamps decoded, and cropped or padded to a fixed size.

:func:`decode_stamp` reads a plain 2-D stamp (a primary HDU with ``NAXIS = 2``, no scaling,
as ZTF writes them) straight from its header cards and big-endian pixels, about 7 times
faster than opening it with ``astropy.io.fits`` on the real ZTF stamps (inflating the gzip
stream is then most of the cost); anything else (extensions, ``BSCALE`` /
``BZERO`` / ``BLANK``, a short data unit) falls back to astropy, with the same result.

A stamp cut by a detector edge (e.g. 48 x 63 px) is padded with NaN on the side of the chip
edge when the candidate position tells which side that is (a ZTF readout quadrant is
3072 x 3080 px), else centred; the padding is reported per alert.
"""

from __future__ import annotations

import gzip
import io
import math
import warnings
import zlib

import numpy as np

__all__ = ["ZTF_QUADRANT_NX", "ZTF_QUADRANT_NY", "alert_cutouts", "decode_stamp"]

#: ZTF readout-quadrant size in pixels (NAXIS1 = x, NAXIS2 = y).
ZTF_QUADRANT_NX, ZTF_QUADRANT_NY = 3072, 3080

_CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
_FITS_BLOCK, _FITS_CARD = 2880, 80
_MAX_HEADER_BLOCKS = 64  # a stamp header is one block; a longer one goes to astropy
# BITPIX -> big-endian dtype of the data unit (FITS standard 4.0, table 8)
_BITPIX_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def alert_cutouts(record: dict, size: int, row: dict) -> tuple[np.ndarray, dict]:
    """Decode the three cutouts of one alert packet into one fixed-size triplet.

    Parameters
    ----------
    record : dict
        An alert packet (``cutoutScience``, ``cutoutTemplate``, ``cutoutDifference``, each a
        dict with ``stampData`` or the stamp bytes themselves, or None).
    size : int
        Side of the output in pixels (stamps are centrally cropped or NaN-padded to it).
    row : dict
        ``xpos`` / ``ypos`` of the candidate (1-based pixels), to pad on the chip-edge side.

    Returns
    -------
    image : ndarray of float32, shape (3, size, size)
        Science, template, difference (DN); NaN where a stamp is missing or padded.
    pads : dict
        ``pad_y0, pad_y1, pad_x0, pad_x1, pad_rule, clipped, n_missing_cutouts``.

    Raises
    ------
    ValueError
        When the packet carries no cutout at all, or a stamp holds no 2-D image.
    """
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


_alert_cutouts = alert_cutouts  # the former private name, kept for existing callers


def decode_stamp(stamp: bytes, *, name: str = "stamp", fast: bool = True) -> np.ndarray:
    """Decode one gzipped (or plain) FITS cutout into a 2-D float32 image.

    Parameters
    ----------
    stamp : bytes
        The ``stampData`` of a ZTF alert cutout: a FITS file, usually gzipped.
    name : str, default="stamp"
        What the stamp is (``"cutoutScience"``), for error messages.
    fast : bool, default=True
        Read plain 2-D images (primary HDU, ``NAXIS = 2``, no ``BSCALE``/``BZERO``/``BLANK``)
        from the header cards and the big-endian data unit directly; other stamps, and
        ``fast=False``, go through ``astropy.io.fits``. Both give the same array.

    Returns
    -------
    numpy.ndarray of float32, shape (NAXIS2, NAXIS1)
        Pixel values (DN for ZTF); row 0 is the lowest ``y`` (FITS order); NaN kept.

    Raises
    ------
    ValueError
        When the FITS file holds no 2-D image (the message lists its HDUs).
    OSError, EOFError, zlib.error
        A damaged or truncated gzip stream or FITS file.

    Examples
    --------
    >>> import gzip, numpy as np
    >>> from astropy.io import fits
    >>> buf = io.BytesIO()
    >>> fits.PrimaryHDU(np.arange(6, dtype=np.float32).reshape(2, 3)).writeto(buf)
    >>> decode_stamp(gzip.compress(buf.getvalue())).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    raw = _gunzip(stamp)
    if fast:
        data = _plain_image(raw)
        if data is not None:
            return data
    return _astropy_image(raw, name)


def _decode_stamp(stamp: bytes, name: str) -> np.ndarray:
    """Gzipped (or plain) FITS bytes -> 2-D float32 array (see :func:`decode_stamp`)."""
    return decode_stamp(stamp, name=name)


def _gunzip(stamp: bytes) -> bytes:
    """One gzip member decompressed in one call; several members or damage: ``gzip``."""
    if stamp[:2] != b"\x1f\x8b":
        return stamp
    inflater = zlib.decompressobj(31)  # 31: gzip header and trailer
    raw = inflater.decompress(stamp)
    if inflater.eof and not inflater.unused_data:
        return raw
    return gzip.decompress(stamp)  # multi-member streams, or raises on a truncated one


def _plain_image(raw: bytes) -> np.ndarray | None:
    """The primary image of a plain 2-D FITS file, or None when it is anything else."""
    cards: dict[bytes, bytes] = {}
    end = None
    limit = min(len(raw), _MAX_HEADER_BLOCKS * _FITS_BLOCK)
    for pos in range(0, limit - _FITS_CARD + 1, _FITS_CARD):
        card = raw[pos:pos + _FITS_CARD]
        key = card[:8].rstrip()
        if pos == 0 and key != b"SIMPLE":
            return None
        if key == b"END":
            end = pos + _FITS_CARD
            break
        if card[8:10] == b"= ":  # a value card; only numeric / logical values are read
            cards[key] = card[10:].split(b"/", 1)[0].strip()
    if end is None or cards.get(b"SIMPLE") != b"T" or b"GROUPS" in cards:
        return None
    if any(k in cards for k in (b"BSCALE", b"BZERO", b"BLANK")):
        return None  # scaled or blanked data: astropy applies the FITS rules
    try:
        bitpix, naxis = int(cards[b"BITPIX"]), int(cards[b"NAXIS"])
        if naxis != 2:
            return None
        nx, ny = int(cards[b"NAXIS1"]), int(cards[b"NAXIS2"])
    except (KeyError, ValueError):
        return None
    dtype = _BITPIX_DTYPES.get(bitpix)
    offset = -(-end // _FITS_BLOCK) * _FITS_BLOCK  # the header fills whole 2880-byte blocks
    if dtype is None or nx < 1 or ny < 1 or offset + nx * ny * abs(bitpix) // 8 > len(raw):
        return None
    pixels = np.frombuffer(raw, dtype=dtype, count=nx * ny, offset=offset)
    return pixels.reshape(ny, nx).astype(np.float32)


def _astropy_image(raw: bytes, name: str) -> np.ndarray:
    """The first 2-D image of any FITS file, read by astropy."""
    from astropy.io import fits

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
