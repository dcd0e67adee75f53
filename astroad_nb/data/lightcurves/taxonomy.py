"""The ALeRCE light-curve taxonomy: 14 subclasses in three top classes."""

from __future__ import annotations

__all__ = ["SUBCLASSES", "TOP_CLASS"]

#: The 14 ALeRCE light-curve subclasses grouped by top class (Sanchez-Saez et al. 2021).
SUBCLASSES: dict[str, list[str]] = {
    "transient": ["SLSN", "SNII", "SNIa", "SNIbc"],
    "stochastic": ["AGN", "Blazar", "CV/Nova", "QSO", "YSO"],
    "periodic": ["CEP", "DSCT", "E", "RRL", "LPV"],
}

#: Subclass -> top class, e.g. ``TOP_CLASS["RRL"] == "periodic"``.
TOP_CLASS: dict[str, str] = {sub: top for top, subs in SUBCLASSES.items() for sub in subs}
