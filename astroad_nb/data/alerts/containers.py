"""The cutout-triplet container, :class:`CutoutSet`, and the channel order of its images.

See :mod:`astroad_nb.data.alerts` for the conventions (shapes, units, masks, labels, ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astroad_nb.data.labels import parse_realbogus_labels
from astroad_nb.data.rows import row_positions

__all__ = ["CHANNELS", "CutoutSet"]

#: Channel order of ``CutoutSet.images[:, c]``.
CHANNELS: tuple[str, str, str] = ("science", "reference", "difference")


@dataclass(eq=False)  # element-wise array equality has no single truth value
class CutoutSet:
    """``N`` cutout triplets (science, reference, difference) with a table, ids and labels.

    Parameters
    ----------
    images : ndarray, shape (N, 3, H, W)
        Pixel values (float32), channels in :data:`CHANNELS` order; NaN where invalid.
    mask : ndarray of bool, shape (N, 3, H, W), optional
        ``True`` = valid pixel. Default: ``np.isfinite(images)``.
    clipped : ndarray of bool, shape (N,), optional
        Stamp cut by a detector edge and NaN-padded. Default: all ``False``.
    table : pandas.DataFrame, optional
        One row per triplet (alert fields, simulation parameters, ...).
    ids : sequence of str, shape (N,), optional
        Triplet ids. Default: ``"0"``, ``"1"``, ...
    labels : ndarray of int, shape (N,), optional
        1 = real, 0 = bogus, -1 = unknown; ``None`` when nothing is labelled.
    skipped : list of (str, str)
        ``(file, reason)`` for every item a reader skipped.
    meta : dict
        Provenance (source, pixel scale in arcsec/px, ...).

    Examples
    --------
    >>> from astroad_nb.data.alerts import simulate_triplets
    >>> cs = simulate_triplets(4, 4, random_state=0)
    >>> cs.images.shape, len(cs), cs.labels.tolist().count(1)
    ((8, 3, 63, 63), 8, 4)
    >>> len(cs.subset(cs.labels == 1))
    4
    """

    images: np.ndarray
    mask: np.ndarray | None = None
    clipped: np.ndarray | None = None
    table: pd.DataFrame | None = None
    ids: np.ndarray | Sequence[str] | None = None
    labels: np.ndarray | None = None
    skipped: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        images = np.asarray(self.images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"CutoutSet images must have shape (N, 3, H, W), got {images.shape}; "
                "convert channels-last arrays with np.moveaxis(a, -1, 1).")
        n = images.shape[0]
        self.images = images
        self.mask = (np.isfinite(images) if self.mask is None
                     else np.asarray(self.mask, dtype=bool))
        if self.mask.shape != images.shape:
            raise ValueError(f"mask shape {self.mask.shape} differs from images {images.shape}.")
        self.clipped = (np.zeros(n, bool) if self.clipped is None
                        else np.asarray(self.clipped, dtype=bool).reshape(-1))
        self.table = (pd.DataFrame(index=range(n)) if self.table is None
                      else self.table.reset_index(drop=True))
        ids = [str(i) for i in range(n)] if self.ids is None else [str(i) for i in self.ids]
        self.ids = np.asarray(ids, dtype=object)
        if self.labels is not None:
            self.labels = parse_realbogus_labels(self.labels, "CutoutSet labels")
        for name, value in (("clipped", self.clipped), ("table", self.table),
                            ("ids", self.ids), ("labels", self.labels)):
            if value is not None and len(value) != n:
                raise ValueError(f"CutoutSet {name} has length {len(value)}, expected N={n}.")
        self.skipped = list(self.skipped)
        self.meta = dict(self.meta)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        n_lab = "none" if self.labels is None else int((self.labels >= 0).sum())
        return (f"CutoutSet(n={len(self)}, shape={self.images.shape[1:]}, "
                f"clipped={int(self.clipped.sum())}, labelled={n_lab}, "
                f"skipped={len(self.skipped)})")

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of every cutout, in pixels."""
        return self.images.shape[2], self.images.shape[3]

    def subset(self, idx) -> CutoutSet:
        """Return the triplets selected by ``idx`` (int array, bool mask or slice).

        ``skipped`` and ``meta`` are carried over; the table index is reset.
        """
        idx = row_positions(idx, len(self))
        return CutoutSet(
            images=self.images[idx], mask=self.mask[idx], clipped=self.clipped[idx],
            table=self.table.iloc[idx].reset_index(drop=True), ids=self.ids[idx],
            labels=None if self.labels is None else self.labels[idx],
            skipped=self.skipped, meta=self.meta)

    def with_labels(self, labels) -> CutoutSet:
        """Return a copy whose ``labels`` are ``labels`` (shape (N,): 1 real, 0 bogus, -1/NaN
        unknown, or 'real'/'bogus'), validated like a reader's."""
        return CutoutSet(images=self.images, mask=self.mask, clipped=self.clipped,
                         table=self.table.copy(), ids=self.ids, labels=labels,
                         skipped=self.skipped, meta=self.meta)

    @classmethod
    def concat(cls, sets: Iterable[CutoutSet]) -> CutoutSet:
        """Stack several sets of the same cutout size (labels -1 where a set has none)."""
        sets = list(sets)
        if not sets:
            raise ValueError("concat needs at least one CutoutSet.")
        shapes = {s.shape for s in sets}
        if len(shapes) > 1:
            raise ValueError(f"cannot concat cutouts of different sizes {sorted(shapes)}; "
                             "read them with the same cutout_size.")
        any_labels = any(s.labels is not None for s in sets)
        return cls(
            images=np.concatenate([s.images for s in sets]),
            mask=np.concatenate([s.mask for s in sets]),
            clipped=np.concatenate([s.clipped for s in sets]),
            table=pd.concat([s.table for s in sets], ignore_index=True),
            ids=np.concatenate([s.ids for s in sets]),
            labels=(np.concatenate([s.labels if s.labels is not None
                                    else np.full(len(s), -1) for s in sets])
                    if any_labels else None),
            skipped=[item for s in sets for item in s.skipped],
            meta={"sources": [s.meta for s in sets]})
