"""Real/bogus labels: the one parser of label values (1 = real, 0 = bogus, -1 = unknown).

Labels arrive as numbers (``1``/``0``, ``True``/``False``, ``1.0``/``0.0``) or as text
(``"real"``/``"bogus"``, ``"1"``/``"0"``, ``"true"``/``"false"``, ``"t"``/``"f"``, any case).
:func:`parse_realbogus_label` reads one value, :func:`parse_realbogus_labels` a whole column
(where ``-1``, NaN, ``"unknown"`` or an empty string mean "not labelled yet", scikit-learn's
semi-supervised convention).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

__all__ = [
    "REALBOGUS_FROM_TEXT",
    "REALBOGUS_TEXT",
    "UNKNOWN_LABEL",
    "parse_realbogus_label",
    "parse_realbogus_labels",
]

#: Label value -> its name.
REALBOGUS_TEXT: dict[int, str] = {1: "real", 0: "bogus"}

#: Accepted text (lower case, stripped) -> label value.
REALBOGUS_FROM_TEXT: dict[str, int] = {
    "real": 1, "1": 1, "true": 1, "t": 1,
    "bogus": 0, "0": 0, "false": 0, "f": 0,
}

#: Value of an unknown (not yet labelled) item in label arrays.
UNKNOWN_LABEL = -1

# Text that means "unknown" in a label column.
_UNKNOWN_TEXT = {"-1": -1, "nan": -1, "none": -1, "": -1, "unknown": -1}

_ACCEPTED = ("1, 0, True, False, 'real', 'bogus', '1', '0', 'true', 'false', 't', 'f' "
             "(text in any case)")


def parse_realbogus_label(value, *, where=None) -> int:
    """One real/bogus label as an int: 1 (real) or 0 (bogus).

    Parameters
    ----------
    value : bool, int, float or str
        ``1``/``0``, ``True``/``False``, ``1.0``/``0.0``, or text ``"real"``/``"bogus"``,
        ``"1"``/``"0"``, ``"true"``/``"false"``, ``"t"``/``"f"`` (case and surrounding
        spaces ignored).
    where : object, optional
        The item the label belongs to (an id, a file, a row); named in the error.

    Returns
    -------
    int
        1 for real, 0 for bogus.

    Raises
    ------
    ValueError
        For any other value; the message names ``where``, the value and the accepted values.

    Examples
    --------
    >>> parse_realbogus_label("Real"), parse_realbogus_label(0), parse_realbogus_label("f")
    (1, 0, 0)
    """
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Real) and not (isinstance(value, float) and math.isnan(value)):
        if float(value) in (0.0, 1.0):
            return int(value)
    elif isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        key = text.strip().lower()
        if key in REALBOGUS_FROM_TEXT:
            return REALBOGUS_FROM_TEXT[key]
    item = "label" if where is None else f"label of {where!r}"
    raise ValueError(f"{item} must be 1/'real' or 0/'bogus', got {value!r}; accepted: "
                     f"{_ACCEPTED}.")


def parse_realbogus_labels(values, source: str = "labels") -> np.ndarray:
    """A column of labels as int64 1 (real) / 0 (bogus) / -1 (unknown).

    Parameters
    ----------
    values : array-like, shape (n,)
        Numbers (1, 0, -1; NaN = unknown) or text (the values :func:`parse_realbogus_label`
        accepts, plus ``"-1"``, ``"nan"``, ``"none"``, ``"unknown"`` or ``""`` for unknown).
    source : str, default="labels"
        Where the column came from (a file and column name); named in the error.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        When a value is none of those; the message names ``source`` and the bad values.

    Examples
    --------
    >>> parse_realbogus_labels(["real", "BOGUS", "", "1"]).tolist()
    [1, 0, -1, 1]
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "USO":
        text = pd.Series(arr.reshape(-1)).astype(str).str.strip().str.lower()
        mapping = {**REALBOGUS_FROM_TEXT, **_UNKNOWN_TEXT}
        bad = sorted(set(text) - set(mapping))
        if bad:
            raise ValueError(f"{source}: unknown label value(s) {bad[:5]}; expected "
                             "1/'real', 0/'bogus' or -1/NaN for unknown.")
        return text.map(mapping).to_numpy(np.int64)
    arr = arr.astype(np.float64).reshape(-1)
    arr = np.where(np.isfinite(arr), arr, -1)
    bad = sorted(set(np.unique(arr)) - {0.0, 1.0, -1.0})
    if bad:
        raise ValueError(f"{source}: label values {bad[:5]} found; expected 1 (real), "
                         "0 (bogus) or -1/NaN (unknown).")
    return arr.astype(np.int64)
