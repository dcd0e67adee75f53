"""Photometric bands: ZTF filter ids and the one band table every module of the package uses.

ZTF writes its filter as an integer ``fid`` (1 = g, 2 = r, 3 = i) in alert packets and broker
tables; the package speaks band names (``'g'``, ``'r'``, ``'i'``). :data:`BANDS` lists the bands
of the surveys the package reads (ZTF, Rubin/LSST and SDSS ugrizy, ATLAS c/o, Gaia G/BP/RP,
Johnson B/V as CRTS calibrates to V, Swift UVOT, 2MASS) with an approximate effective
wavelength, which orders bands from blue to red so that colours are taken between neighbours.
:func:`canonical_band` maps the spellings found in files to one name per band.

Canonical names and spellings
-----------------------------
* A canonical name or one of its aliases, in exact case, wins: ``'G'`` is Gaia G, ``'g'`` the
  g band of ZTF/SDSS/Rubin; ``'Y'`` (ELAsTiCC's spelling) is Rubin ``'y'``; ``'R'`` is ``'r'``
  (ZTF writes its r as ``R`` in some tables, so Johnson R and I cannot be told from r and i).
* Otherwise a case-insensitive match with exactly one band (``'v'`` -> ``'V'``,
  ``'bp'`` -> ``'BP'``, ``'KS'`` -> ``'Ks'``).
* ZTF filter ids (``1``, ``'2'``, ``3.0``) -> ``'g'``, ``'r'``, ``'i'``.
* Any other name is lower-cased (as :class:`~astroad_nb.data.lightcurves.LightCurves` does):
  it is a valid band without a wavelength, so it takes no part in colours.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = [
    "BANDS",
    "BAND_TO_ZTF_FID",
    "ZTF_FID_TO_BAND",
    "Band",
    "UnknownBandError",
    "adjacent_band_pairs",
    "band_name",
    "band_wavelength",
    "canonical_band",
    "sort_bands",
]

#: ZTF filter id -> band name.
ZTF_FID_TO_BAND: dict[int, str] = {1: "g", 2: "r", 3: "i"}

#: Band name -> ZTF filter id (the inverse of :data:`ZTF_FID_TO_BAND`).
BAND_TO_ZTF_FID: dict[str, int] = {band: fid for fid, band in ZTF_FID_TO_BAND.items()}


@dataclass(frozen=True)
class Band:
    """One row of the band table.

    Attributes
    ----------
    name : str
        Canonical name (what features are named after: ``Amplitude_V``).
    wavelength_nm : float
        Approximate effective wavelength in nm (rounded; used only to order bands).
    system : str
        Surveys / photometric systems that use this name.
    aliases : tuple of str
        Other exact spellings found in files.
    """

    name: str
    wavelength_nm: float
    system: str
    aliases: tuple[str, ...] = ()


# One table. Wavelengths: approximate effective wavelengths (nm) of the named filters; where
# surveys share a letter the ZTF value is used for g/r/i and Rubin's for u/z/y (a few nm apart,
# which never changes the order).
_TABLE = (
    Band("uvw2", 203.0, "Swift UVOT", ("UVW2",)),
    Band("uvm2", 223.0, "Swift UVOT", ("UVM2",)),
    Band("uvw1", 259.0, "Swift UVOT", ("UVW1",)),
    Band("u", 367.0, "Rubin/LSST, SDSS", ("U",)),
    Band("B", 438.0, "Johnson B", ()),
    Band("g", 475.0, "ZTF (fid 1), Rubin/LSST, SDSS, Pan-STARRS", ()),
    Band("BP", 504.0, "Gaia G_BP", ("Gaia_BP", "G_BP", "GBP")),
    Band("c", 518.0, "ATLAS cyan", ()),
    Band("V", 545.0, "Johnson V (CRTS magnitudes are calibrated to V)", ("V_CRTS",)),
    Band("G", 582.0, "Gaia G", ("Gaia_G",)),
    Band("r", 637.0, "ZTF (fid 2), Rubin/LSST, SDSS, Pan-STARRS", ("R",)),
    Band("o", 663.0, "ATLAS orange", ()),
    Band("RP", 762.0, "Gaia G_RP", ("Gaia_RP", "G_RP", "GRP")),
    Band("i", 783.0, "ZTF (fid 3), Rubin/LSST, SDSS, Pan-STARRS", ("I",)),
    Band("z", 869.0, "Rubin/LSST, SDSS, Pan-STARRS", ("Z",)),
    Band("y", 971.0, "Rubin/LSST, Pan-STARRS (ELAsTiCC writes Y)", ("Y",)),
    Band("J", 1235.0, "2MASS J", ()),
    Band("H", 1662.0, "2MASS H", ()),
    Band("Ks", 2159.0, "2MASS Ks", ("K",)),
)

#: Canonical band name -> :class:`Band`, ordered from blue to red.
BANDS: dict[str, Band] = {b.name: b for b in sorted(_TABLE, key=lambda b: b.wavelength_nm)}

_EXACT = {b.name: b.name for b in _TABLE} | {a: b.name for b in _TABLE for a in b.aliases}
_FOLDED: dict[str, set[str]] = {}
for _spelling, _name in _EXACT.items():
    _FOLDED.setdefault(_spelling.lower(), set()).add(_name)


class UnknownBandError(ValueError):
    """Light curves or features whose bands are not the ones asked for (or fitted on).

    Attributes
    ----------
    object_ids : list of str
        Objects concerned (may be empty when the whole input is concerned).
    found : list of str
        Bands found in the input.
    expected : list of str
        Bands the features were asked for, or a fitted object knows.
    """

    def __init__(self, message, *, object_ids=(), found=(), expected=()):
        super().__init__(message)
        self.object_ids = [str(i) for i in object_ids]
        self.found = [str(b) for b in found]
        self.expected = [str(b) for b in expected]


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


def canonical_band(name) -> str:
    """The canonical name of a band as written in a file (see the module rules).

    Parameters
    ----------
    name : str or int
        A band name in any known spelling, or a ZTF filter id.

    Returns
    -------
    str
        The :data:`BANDS` name (``'V'``, ``'BP'``, ``'y'``, ``'g'``...), or the lower-cased
        name when the band is not in the table.

    Raises
    ------
    ValueError
        For an empty name, a missing value, or a number that is not a ZTF filter id.

    Examples
    --------
    >>> [canonical_band(b) for b in ("v", "G", "g", "Y", "R", 2, "bp", "W1")]
    ['V', 'G', 'g', 'y', 'r', 'r', 'BP', 'w1']
    """
    if isinstance(name, bool) or name is None:
        raise ValueError(f"a band name must be a string or a ZTF filter id, got {name!r}.")
    if isinstance(name, numbers.Real):
        if isinstance(name, float) and math.isnan(name):
            raise ValueError("a band name is missing (NaN); drop the row or fill the band.")
        return band_name(name)
    text = str(name).strip()
    if not text:
        raise ValueError("a band name is empty; expected e.g. 'g', 'r', 'V' or 'BP'.")
    if text.isdigit():  # ZTF fid as text; other numbers stay what they are
        return band_name(text) if int(text) in ZTF_FID_TO_BAND else text
    if text in _EXACT:
        return _EXACT[text]
    folded = _FOLDED.get(text.lower(), set())
    if len(folded) == 1:
        return next(iter(folded))
    return text.lower()


def band_wavelength(name) -> float:
    """Approximate effective wavelength of a band in nm (NaN when not in :data:`BANDS`)."""
    band = BANDS.get(canonical_band(name))
    return math.nan if band is None else band.wavelength_nm


def sort_bands(names) -> list[str]:
    """Canonical names sorted from blue to red; bands without a wavelength last, in given order.

    Parameters
    ----------
    names : iterable of str
        Band names in any spelling (duplicates after canonicalisation are dropped).

    Returns
    -------
    list of str

    Examples
    --------
    >>> sort_bands(["RP", "z", "V", "bp", "q"])
    ['BP', 'V', 'RP', 'z', 'q']
    """
    unique = list(dict.fromkeys(canonical_band(n) for n in names))
    known = sorted((b for b in unique if b in BANDS), key=lambda b: BANDS[b].wavelength_nm)
    return known + [b for b in unique if b not in BANDS]


def adjacent_band_pairs(names) -> list[tuple[str, str]]:
    """Pairs of bands that are neighbours in wavelength, blue first: the colours to take.

    Parameters
    ----------
    names : iterable of str
        Bands present; those without a wavelength are left out.

    Returns
    -------
    list of (str, str)

    Examples
    --------
    >>> adjacent_band_pairs(["r", "g", "i"])
    [('g', 'r'), ('r', 'i')]
    >>> adjacent_band_pairs(["G", "RP", "BP"])
    [('BP', 'G'), ('G', 'RP')]
    """
    ordered = [b for b in sort_bands(names) if b in BANDS]
    return list(zip(ordered[:-1], ordered[1:], strict=True))
