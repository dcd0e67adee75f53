"""The one standardiser and the one robust z-score of the package (numpy / pandas, no torch).

Every place that centres and scales features — the deep detectors' inputs, OCSVM, the stream
features, the anomaly browser's feature z-scores — calls these, so a zero-variance column is
handled the same way everywhere (scale 1: the column stays constant instead of becoming NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["standard_scale", "robust_location_scale", "robust_z"]


def standard_scale(X, *, ddof=0, tol=1e-12):
    """Column means and standard deviations; deviations <= ``tol`` (or NaN) become 1.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        An array must be finite (validate it first); a DataFrame's NaN cells are skipped.
    ddof : int, default=0
        Delta degrees of freedom (0: population, as scikit-learn's ``StandardScaler``; 1:
        sample, as pandas' default and the stream-membership seed).
    tol : float, default=1e-12
        Columns whose deviation is not above ``tol`` keep scale 1 (they pass centred,
        unscaled, instead of being blown up).

    Returns
    -------
    center, scale : ndarray of shape (n_features,), or pandas.Series for a DataFrame
        ``(X - center) / scale`` standardises ``X``.
    """
    if isinstance(X, pd.DataFrame):
        center = X.mean()
        scale = X.std(ddof=ddof).fillna(1.0)
        return center, scale.where(scale > tol, 1.0)
    center = X.mean(axis=0)
    scale = X.std(axis=0, ddof=ddof)
    return center, np.where(scale > tol, scale, 1.0)


def robust_location_scale(values):
    """Median and robust spread (1.4826 x MAD; the standard deviation when the MAD is 0; 1
    when both are 0) of a 1-D sample, as floats."""
    values = np.asarray(values).ravel()  # no cast: float32 scores keep float32 medians
    loc = float(np.median(values))
    scale = 1.4826 * float(np.median(np.abs(values - loc)))
    if not scale > 0:
        scale = float(np.std(values)) or 1.0
    return loc, scale


def robust_z(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """Robust z-scores of the numeric columns: (x - median) / (1.4826 x MAD), per column as
    :func:`robust_location_scale` but vectorised over a frame.

    A column whose MAD is 0 falls back to its standard deviation; a constant column gives NaN
    (no object stands out in it).

    Parameters
    ----------
    frame : pandas.DataFrame or None

    Returns
    -------
    pandas.DataFrame or None
        Same index, numeric columns only; ``None`` for ``None``.
    """
    if frame is None:
        return None
    numeric = frame.select_dtypes("number").astype(float)
    median = numeric.median()
    scale = 1.4826 * (numeric - median).abs().median()
    scale = scale.where(scale > 0, numeric.std()).replace(0, np.nan)
    return (numeric - median) / scale
