"""Row selection shared by the data containers (:class:`~astroad_nb.data.alerts.CutoutSet`,
:class:`~astroad_nb.data.galaxies.ImageSet`)."""

from __future__ import annotations

import numpy as np

__all__ = ["row_positions"]


def row_positions(idx, n: int) -> np.ndarray:
    """Integer positions (``intp``, 1-D) of the rows that ``idx`` selects among ``n``.

    Parameters
    ----------
    idx : slice, boolean mask of shape (n,), or integer array-like
    n : int
        Number of rows of the container.

    Raises
    ------
    ValueError
        A boolean mask of another length (the message gives both shapes).
    """
    if isinstance(idx, slice):
        idx = np.arange(n)[idx]
    idx = np.asarray(idx)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"boolean index has shape {idx.shape}, expected ({n},)")
        idx = np.flatnonzero(idx)
    return idx.astype(np.intp).reshape(-1)
