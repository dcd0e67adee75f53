"""The seed's train / validation / test split of MIMII, and a leak-free variant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SoundSplit", "split_mimii"]

_CELL = ["snr_db", "machine_type", "machine_id"]


@dataclass(frozen=True, eq=False)
class SoundSplit:
    """Row positions of a split (int arrays into the table that was split).

    Attributes
    ----------
    train, val, test : numpy.ndarray of int
        With the seed's split ``val`` is a subset of ``test`` (``leak_free=False``).
    leak_free : bool
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    leak_free: bool

    def summary(self, table) -> pd.DataFrame:
        """Counts per (snr_db, machine_type, machine_id): train, val, test normal / abnormal.

        Parameters
        ----------
        table : pandas.DataFrame or SoundSet
            The table that was split.
        """
        table = getattr(table, "table", table)
        out = table[_CELL].copy()
        label = table["label"].to_numpy()
        for name, pos in (("train", self.train), ("val", self.val)):
            out[name] = np.isin(np.arange(len(table)), pos).astype(int)
        test = np.isin(np.arange(len(table)), self.test)
        out["test_normal"] = (test & (label == 0)).astype(int)
        out["test_abnormal"] = (test & (label == 1)).astype(int)
        return out.groupby(_CELL, dropna=False, sort=True).sum().reset_index()


def split_mimii(table, *, leak_free: bool = False, val_fraction: float = 0.1) -> SoundSplit:
    """Split clips per machine (SNR x type x id) as the seed does.

    Per machine, the normal clips sorted by path (by ``id`` where there is no path, as for
    simulated clips, whose ids sort the same way): the second half (``n_normal // 2`` onwards)
    is **train**, the first half plus every abnormal clip is **test**, and **validation** is the
    first ``int(val_fraction * n_train)`` normal clips of the test half. The seed says itself
    that these validation clips stay in its test set too (a leak: model selection sees test
    data); ``leak_free=True`` takes them out of the test set instead, keeping train unchanged.

    Parameters
    ----------
    table : pandas.DataFrame or SoundSet
        Needs columns ``snr_db``, ``machine_type``, ``machine_id``, ``label`` and ``path`` or
        ``id``. Clips with label -1 go nowhere.
    leak_free : bool, default=False
    val_fraction : float, default=0.1
        Validation size as a fraction of the machine's training clips (the seed's 10 %).

    Returns
    -------
    SoundSplit
        Sorted row positions.

    Examples
    --------
    >>> t = pd.DataFrame({"snr_db": 6.0, "machine_type": "fan", "machine_id": 0,
    ...                   "label": [0] * 20 + [1] * 3, "id": [f"{i:02d}" for i in range(23)]})
    >>> s = split_mimii(t)
    >>> s.train.tolist()[:3], s.val.tolist(), len(s.test)
    ([10, 11, 12], [0], 13)
    >>> len(split_mimii(t, leak_free=True).test)
    12
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    table = getattr(table, "table", table)
    missing = [c for c in _CELL + ["label"] if c not in table]
    if missing:
        raise ValueError(f"split_mimii needs columns {missing}; the table has "
                         f"{list(table.columns)}")
    key = table["path"] if "path" in table and table["path"].notna().all() else table["id"]
    frame = pd.DataFrame({"key": key.astype(str).to_numpy(), "label": table["label"].to_numpy(),
                          "pos": np.arange(len(table))})
    for c in _CELL:
        frame[c] = table[c].to_numpy()
    train, val, test = [], [], []
    for _, cell in frame.groupby(_CELL, dropna=False, sort=True):
        normal = cell[cell["label"] == 0].sort_values("key", kind="stable")["pos"].to_numpy()
        abnormal = cell[cell["label"] == 1]["pos"].to_numpy()
        half = len(normal) // 2
        cell_train, test_normal = normal[half:], normal[:half]
        n_val = int(val_fraction * len(cell_train))
        val.append(test_normal[:n_val])
        test.append(test_normal[n_val:] if leak_free else test_normal)
        test.append(abnormal)
        train.append(cell_train)

    def cat(parts):
        return np.sort(np.concatenate(parts)).astype(np.intp) if parts else np.zeros(0, np.intp)

    return SoundSplit(train=cat(train), val=cat(val), test=cat(test), leak_free=leak_free)
