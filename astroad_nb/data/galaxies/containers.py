"""The galaxy-image container, :class:`ImageSet`, and the reader's error, :class:`ImageReadError`.

See :mod:`astroad_nb.data.galaxies` for the conventions (shapes, units, ids, labels, sets).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astroad_nb.data.rows import row_positions

__all__ = ["ImageReadError", "ImageSet", "REJECTED_COLUMNS", "TABLE_COLUMNS"]

#: Columns every :attr:`ImageSet.table` starts with (metadata columns follow).
TABLE_COLUMNS: tuple[str, ...] = ("id", "path", "label", "set")
#: Columns of :attr:`ImageSet.rejected`.
REJECTED_COLUMNS: tuple[str, ...] = ("path", "reason")


class ImageReadError(ValueError):
    """An image file could not be read or did not have the expected content.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file.
    reason : str
        What was found and what was expected.

    Attributes
    ----------
    path : str
    reason : str
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(eq=False)  # element-wise array equality has no single truth value
class ImageSet:
    """``N`` multi-band galaxy images with a table of ids, paths, labels, sets and metadata.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Pixel values, stored as float32. After the seed's transform they lie in [-1, 1];
        the simulator's ``output="bands"`` gives nanomaggies per pixel.
    table : pandas.DataFrame, optional
        One row per image. Missing columns among :data:`TABLE_COLUMNS` are filled:
        ``id`` = ``"0"``, ``"1"``, ...; ``path`` = ``None``; ``label`` = -1 (unknown;
        0 = normal, 1 = abnormal); ``set`` = ``"all"``. Other columns are metadata.
    bands : sequence of str, optional
        Name of each channel (``("i", "r", "g")`` for SDSS RGB cutouts, whose R, G, B
        are i, r, g). Default: ``("c0", "c1", ...)``.
    rejected : pandas.DataFrame, optional
        Files a reader skipped, columns :data:`REJECTED_COLUMNS` (``path``, ``reason``).
    meta : dict, optional
        Provenance: source, pixel scale [arcsec/px], units, transform, stretch, ...

    Examples
    --------
    >>> import numpy as np
    >>> s = ImageSet(np.zeros((4, 3, 8, 8)), bands=("i", "r", "g"))
    >>> s
    ImageSet(n=4, bands=(i, r, g), shape=(8, 8), sets={all: 4}, rejected=0)
    >>> len(ImageSet.concat([s, s.subset([0, 1])]))
    6
    """

    images: np.ndarray
    table: pd.DataFrame | None = None
    bands: Sequence[str] | None = None
    rejected: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        images = np.asarray(self.images, dtype=np.float32)
        if images.ndim != 4:
            raise ValueError(
                f"ImageSet images must have shape (N, C, H, W), got {images.shape}; add a "
                "channel axis with a[:, None] or move channels-last arrays with "
                "np.moveaxis(a, -1, 1).")
        self.images = images
        n, c = images.shape[:2]
        table = (pd.DataFrame(index=range(n)) if self.table is None
                 else pd.DataFrame(self.table).reset_index(drop=True))
        if len(table) != n:
            raise ValueError(f"ImageSet table has {len(table)} rows, expected N={n} "
                             "(one per image).")
        defaults = {"id": [str(i) for i in range(n)], "path": [None] * n,
                    "label": np.full(n, -1, np.int64), "set": ["all"] * n}
        for name in TABLE_COLUMNS:
            if name not in table:
                table[name] = defaults[name]
        table["id"] = table["id"].astype(str)
        table["label"] = table["label"].astype(np.int64)
        rest = [col for col in table.columns if col not in TABLE_COLUMNS]
        self.table = table[list(TABLE_COLUMNS) + rest]
        bands = tuple(f"c{i}" for i in range(c)) if self.bands is None else tuple(
            str(b) for b in self.bands)
        if len(bands) != c:
            raise ValueError(f"ImageSet has {c} channels but {len(bands)} band names "
                             f"{bands}; pass one name per channel.")
        self.bands = bands
        self.rejected = (pd.DataFrame(columns=list(REJECTED_COLUMNS)) if self.rejected is None
                         else pd.DataFrame(self.rejected).reset_index(drop=True))
        self.meta = dict(self.meta)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        counts = self.table["set"].astype(str).value_counts(sort=False)
        sets = ", ".join(f"{k}: {v}" for k, v in counts.items())
        return (f"ImageSet(n={len(self)}, bands=({', '.join(self.bands)}), "
                f"shape={self.shape}, sets={{{sets}}}, rejected={len(self.rejected)})")

    @property
    def ids(self) -> np.ndarray:
        """Image ids, object array of str, shape (N,)."""
        return self.table["id"].to_numpy(dtype=object)

    @property
    def labels(self) -> np.ndarray:
        """Labels, int64 array, shape (N,): 0 normal, 1 abnormal, -1 unknown."""
        return self.table["label"].to_numpy(dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of every image, in pixels."""
        return self.images.shape[2], self.images.shape[3]

    def subset(self, idx) -> ImageSet:
        """Return the images selected by ``idx`` (int array, bool mask of shape (N,) or slice).

        ``bands``, ``rejected`` and ``meta`` are carried over; the table index is reset.
        """
        idx = row_positions(idx, len(self))
        return ImageSet(images=self.images[idx],
                        table=self.table.iloc[idx].reset_index(drop=True),
                        bands=self.bands, rejected=self.rejected, meta=self.meta)

    @classmethod
    def concat(cls, sets: Iterable[ImageSet]) -> ImageSet:
        """Stack image sets of the same bands and size (tables and ``rejected`` stacked).

        Raises
        ------
        ValueError
            When the sets differ in image size or band names.
        """
        sets = list(sets)
        if not sets:
            raise ValueError("concat needs at least one ImageSet.")
        shapes = {s.images.shape[1:] for s in sets}
        if len(shapes) > 1:
            raise ValueError(f"cannot concat images of different (C, H, W) {sorted(shapes)}; "
                             "read them with the same size= and bands=.")
        bands = {s.bands for s in sets}
        if len(bands) > 1:
            raise ValueError(f"cannot concat sets with different bands {sorted(bands)}.")
        return cls(images=np.concatenate([s.images for s in sets]),
                   table=pd.concat([s.table for s in sets], ignore_index=True),
                   bands=sets[0].bands,
                   rejected=_stack_rejected([s.rejected for s in sets]),
                   meta={"sources": [s.meta for s in sets]})


def _stack_rejected(frames):
    frames = [f for f in frames if len(f)]  # concat of empty frames warns in pandas
    return pd.concat(frames, ignore_index=True) if frames else None
