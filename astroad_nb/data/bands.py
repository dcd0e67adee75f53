"""ZTF filter ids and band names: the one map every module of the package uses.

ZTF writes its filter as an integer ``fid`` (1 = g, 2 = r, 3 = i) in alert packets and broker
tables; the package speaks lower-case band names (``'g'``, ``'r'``, ``'i'``).
"""

from __future__ import annotations

import numbers

__all__ = ["BAND_TO_ZTF_FID", "ZTF_FID_TO_BAND", "band_name"]

#: ZTF filter id -> band name.
ZTF_FID_TO_BAND: dict[int, str] = {1: "g", 2: "r", 3: "i"}

#: Band name -> ZTF filter id (the inverse of :data:`ZTF_FID_TO_BAND`).
BAND_TO_ZTF_FID: dict[str, int] = {band: fid for fid, band in ZTF_FID_TO_BAND.items()}


def band_name(fid) -> str:
    """Band name of a ZTF filter id.

    Parameters
    ----------
    fid : int, integer-valued float or str
        ZTF filter id: ``1``, ``2`` or ``3`` (also ``np.int64(2)``, ``2.0`` or ``"2"``).

    Returns
    -------
    str
        ``'g'``, ``'r'`` or ``'i'``.

    Raises
    ------
    ValueError
        When ``fid`` is not a known ZTF filter id; the message names the value.

    Examples
    --------
    >>> band_name(2)
    'r'
    >>> band_name("1")
    'g'
    """
    key = None
    if isinstance(fid, bool):  # True is an int to Python, never a filter id
        pass
    elif isinstance(fid, numbers.Integral):
        key = int(fid)
    elif isinstance(fid, numbers.Real) and float(fid).is_integer():
        key = int(fid)
    elif isinstance(fid, str) and fid.strip().isdigit():
        key = int(fid.strip())
    if key not in ZTF_FID_TO_BAND:
        raise ValueError(f"unknown ZTF filter id {fid!r}; expected one of "
                         f"{list(ZTF_FID_TO_BAND)} (1=g, 2=r, 3=i).")
    return ZTF_FID_TO_BAND[key]
