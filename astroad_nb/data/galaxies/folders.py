"""Folder readers: the seed's ``train/0.normal`` layout, flat folders, FITS bands and ``.npy``.

:func:`read_image_folder` finds the files, groups per-band FITS files into one object, reads
each with its format's reader (:mod:`~astroad_nb.data.galaxies.raster`,
:mod:`~astroad_nb.data.galaxies.fits`, :mod:`~astroad_nb.data.galaxies.arrays`), applies the
stretch and the transform and returns an :class:`~astroad_nb.data.galaxies.ImageSet`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.galaxies.arrays import NPY_SUFFIXES, read_npy_images
from astroad_nb.data.galaxies.containers import ImageReadError, ImageSet
from astroad_nb.data.galaxies.fits import FITS_SUFFIXES, read_fits_image
from astroad_nb.data.galaxies.raster import RASTER_SUFFIXES, read_raster
from astroad_nb.data.galaxies.transforms import (
    asinh_stretch,
    lupton_rgb,
    replace_nan,
    seed_transform,
)

__all__ = ["read_image_files", "read_image_folder"]

#: Split folders of the seed's layout (``<root>/<split>/<class>/<file>``).
SPLITS: tuple[str, ...] = ("train", "test", "val", "valid", "validation")
_CLASS_RE = re.compile(r"^(\d+)[._-]")  # "0.normal" -> 0, "1.abnormal" -> 1
_RGB_NAMES = {1: ("L",), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


@dataclass
class _Item:
    """One object to read: its id, file(s) (one per band when grouped), label and set."""

    id: str
    paths: list[Path]
    label: int
    set: str
    kind: str  # "raster", "fits", "npy"


def read_image_folder(path, size: int = 64, *, bands: Sequence[str] | None = None,
                      transform: str | Callable | None = "seed",
                      stretch: str | Callable | None = None, on_error: str = "skip",
                      limit: int | None = None, alpha: str = "drop",
                      metadata=None, hdu: int | str | None = None) -> ImageSet:
    """Read a folder of galaxy images (JPEG/PNG, FITS, ``.npy``) into an :class:`ImageSet`.

    Layouts, found from the folder's contents:

    * **the seed's**: ``path/train/0.normal/*``, ``path/test/0.normal/*``,
      ``path/test/1.abnormal/*`` (any of ``train``, ``test``, ``val``; class folders
      ``<label>.<name>``; ``normal``/``abnormal`` without a number read as 0/1) -> ``set`` is
      the split, ``label`` the class number. ``path`` may also be one split folder holding
      class folders (``set`` = its name).
    * **flat**: image files directly in ``path`` -> ``set = "all"``, ``label = -1``.

    Formats: 8-bit rasters (``.jpg``, ``.png``, ...: 1, 3 or 4 channels, see ``alpha``), FITS
    (``.fits``, ``.fit``, ``.fts``, optionally ``.gz``: a 2-D image is one band, a 3-D cube
    ``(C, H, W)`` is C bands), ``.npy`` (``(H, W)``, ``(C, H, W)`` or a stack
    ``(N, C, H, W)``, whose images get ids ``<file id>/<k>``). With ``bands`` given, FITS files
    named ``<id>_<band>.fits`` (e.g. ``1237_g.fits``, ``1237_r.fits``, ``1237_i.fits``) are
    **grouped into one object** ``<id>`` with channels in ``bands`` order; an object lacking a
    band is rejected. Files of other suffixes are ignored (counted in ``meta["ignored"]``).

    NaN (and inf) pixels of FITS/``.npy`` images are replaced by the median of the finite
    pixels of their band and counted in the table column ``n_nan`` (0 = none); a band with no
    finite pixel is rejected.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    size : int, default=64
        Output side [px] of the seed's transform.
    bands : sequence of str, optional
        Channel names (``("i", "r", "g")`` for SDSS RGB cutouts), and for per-band FITS files
        the bands to group, in channel order. Default: ``("R", "G", "B")`` for RGB rasters,
        ``("L",)`` for grey ones, ``("c0", ...)`` otherwise.
    transform : {"seed"}, callable or None, default="seed"
        ``"seed"``: resize the shorter side to ``size`` (Pillow bilinear, antialiased) ->
        centre crop ``size`` x ``size`` -> [-1, 1] (8-bit pixels / 255, or values in
        [0, 1] after ``stretch``, mapped by ``2 x - 1``). ``None``: raw pixel values
        (float32; every image must have the same shape). A callable maps a ``(C, H, W)``
        uint8 or float array to a ``(C, H', W')`` array.
    stretch : {"asinh", "lupton"}, callable or None, default=None
        Applied before ``transform``, to map fluxes (FITS, float ``.npy``) to [0, 1]:
        ``"asinh"`` = :func:`~astroad_nb.data.galaxies.transforms.asinh_stretch`,
        ``"lupton"`` = :func:`~astroad_nb.data.galaxies.transforms.lupton_rgb` (3 bands in
        R, G, B order), or a callable ``(C, H, W) -> (C, H, W)`` returning uint8 or float in
        [0, 1] (e.g. ``functools.partial(lupton_rgb, Q=20, stretch=0.1)``, the seed's NIHAO
        stretch). ``None``: 8-bit pixels as they are; float images must already lie in
        [0, 1] for ``transform="seed"``.
    on_error : {"skip", "raise"}, default="skip"
        ``"skip"``: a bad, truncated or mismatched file is left out and listed in
        :attr:`ImageSet.rejected` (path, reason); ``"raise"``: raise
        :class:`ImageReadError` naming the file.
    limit : int, optional
        Stop after this many images were read (files in sorted order).
    alpha : {"drop", "black", "keep"}, default="drop"
        RGBA rasters: drop alpha (the seed's ``convert("RGB")``), composite over black, or
        keep 4 channels (see :func:`~astroad_nb.data.galaxies.raster.read_raster`).
    metadata : pandas.DataFrame or str or os.PathLike, optional
        A table (or CSV file) with an ``id`` column, left-joined onto the image table.
    hdu : int or str, optional
        FITS HDU to read (default: the first image HDU).

    Returns
    -------
    ImageSet
        ``images`` float32 ``(N, C, size, size)`` (with ``transform="seed"``), ``table``
        with ``id`` (path relative to ``path`` without suffix, POSIX), ``path``, ``label``,
        ``set``, ``format``, ``height``/``width`` (before the transform, px), ``n_nan``
        (and ``files`` for grouped FITS), ``rejected`` and ``meta``.

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a folder.
    ImageReadError
        With ``on_error="raise"``, at the first bad file.
    ValueError
        When no image could be read at all, or an argument is not one of its choices.

    Examples
    --------
    >>> from astroad_nb.data.galaxies import read_image_folder
    >>> s = read_image_folder("data/sdss", size=64, bands=("i", "r", "g"))  # doctest: +SKIP
    >>> s.images.shape, s.table["set"].unique()  # doctest: +SKIP
    ((643663, 3, 64, 64), array(['test', 'train'], dtype=object))
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; expected a folder of images "
                                "(flat, or the seed's train/0.normal layout).")
    items, ignored = _collect(root, bands)
    out = _read_items(items, root=root, size=size, bands=bands, transform=transform,
                      stretch=stretch, on_error=on_error, limit=limit, alpha=alpha,
                      metadata=metadata, hdu=hdu)
    out.meta["ignored"] = ignored
    return out


def read_image_files(paths, size: int = 64, **kwargs) -> ImageSet:
    """Read an explicit list of image files (flat: ``set = "all"``, ``label = -1``).

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Files of any format :func:`read_image_folder` reads (ids are the file names without
        suffix).
    size : int, default=64
    **kwargs
        As :func:`read_image_folder` (``bands``, ``transform``, ``stretch``, ``on_error``,
        ``limit``, ``alpha``, ``metadata``, ``hdu``).

    Returns
    -------
    ImageSet
    """
    items = []
    for p in map(Path, paths):
        kind, stem = _kind(p)
        items.append(_Item(stem or p.name, [p], -1, "all", kind or "unknown"))
    return _read_items(items, root=None, size=size, **kwargs)


# --------------------------------------------------------------------------- discovery
def _kind(p: Path) -> tuple[str | None, str | None]:
    """(format kind, name without suffix) of a file, or (None, None) when not an image."""
    name = p.name.lower()
    for kind, suffixes in (("fits", FITS_SUFFIXES), ("raster", RASTER_SUFFIXES),
                           ("npy", NPY_SUFFIXES)):
        for suf in sorted(suffixes, key=len, reverse=True):
            if name.endswith(suf):
                return kind, p.name[: len(p.name) - len(suf)]
    return None, None


def _class_label(name: str, siblings: list[str]) -> int:
    m = _CLASS_RE.match(name)
    if m:
        return int(m.group(1))
    low = name.lower()
    if low in ("normal", "abnormal"):
        return int(low == "abnormal")
    return sorted(siblings).index(name)  # torchvision ImageFolder's rule


def _is_class_folder(d: Path) -> bool:
    return d.is_dir() and not d.name.startswith(".")


def _collect(root: Path, bands) -> tuple[list[_Item], int]:
    """Items of the seed layout (split/class/file), one split folder, or a flat folder."""
    splits = [root / s for s in SPLITS if (root / s).is_dir()]
    groups: list[tuple[Path, int, str]] = []  # (folder, label, set)
    if splits:
        for split in splits:
            classes = sorted(d.name for d in split.iterdir() if _is_class_folder(d))
            groups += ([(split / c, _class_label(c, classes), split.name) for c in classes]
                       or [(split, -1, split.name)])  # a split without class folders
    else:
        classes = sorted(d.name for d in root.iterdir() if _is_class_folder(d)
                         and (_CLASS_RE.match(d.name) or d.name.lower() in
                              ("normal", "abnormal")))
        groups = ([(root / c, _class_label(c, classes), root.name) for c in classes]
                  if classes else [(root, -1, "all")])
    items, ignored = [], 0
    for folder, label, set_name in groups:
        files = sorted(f for f in folder.iterdir() if f.is_file()
                       and not f.name.startswith("."))
        grouped: dict[str, dict[str, Path]] = {}
        for f in files:
            kind, stem = _kind(f)
            if kind is None:
                ignored += 1
                continue
            rel = f.parent.relative_to(root) / stem
            ident = rel.as_posix()
            band = _band_of(stem, bands) if kind == "fits" else None
            if band is not None:
                base = ident[: len(ident) - len(band) - 1]
                grouped.setdefault(base, {})[band] = f
                if len(grouped[base]) == 1:  # keep sorted order: the group's slot
                    items.append(_Item(base, [], label, set_name, "fits-bands"))
                continue
            items.append(_Item(ident, [f], label, set_name, kind))
        for item in items:
            if item.kind == "fits-bands" and not item.paths and item.id in grouped:
                found = grouped[item.id]
                item.paths = [found.get(b) for b in bands]
    return items, ignored


def _band_of(stem: str, bands) -> str | None:
    if not bands:
        return None
    for b in bands:
        if stem.endswith("_" + b) and len(stem) > len(b) + 1:
            return b
    return None


# --------------------------------------------------------------------------- reading
def _read_items(items, *, root, size, bands=None, transform="seed", stretch=None,
                on_error="skip", limit=None, alpha="drop", metadata=None, hdu=None):
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if not (transform is None or transform == "seed" or callable(transform)):
        raise ValueError(f"transform must be 'seed', None or a callable, got {transform!r}")
    if not (stretch is None or stretch in ("asinh", "lupton") or callable(stretch)):
        raise ValueError(f"stretch must be 'asinh', 'lupton', None or a callable, got "
                         f"{stretch!r}")
    if transform == "seed" and (int(size) != size or size < 1):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    images, rows, rejected = [], [], []
    expected = None  # (shape, path) of the first image read

    def reject(p, reason):
        if on_error == "raise":
            raise ImageReadError(p, reason)
        rejected.append({"path": str(p), "reason": reason})

    for item in items:
        if limit is not None and len(images) >= limit:
            break
        first = item.paths[0] if item.paths and item.paths[0] is not None else item.id
        try:
            stack, info = _load(item, bands=bands, alpha=alpha, hdu=hdu)
        except ImageReadError as exc:
            if on_error == "raise":
                raise
            rejected.append({"path": exc.path, "reason": exc.reason})
            continue
        for k, raw in enumerate(stack):
            ident = item.id if len(stack) == 1 else f"{item.id}/{k}"
            try:
                out, n_nan = _prepare(raw, first, size=size, transform=transform,
                                      stretch=stretch)
            except ImageReadError as exc:
                reject(exc.path, exc.reason)
                continue
            if bands is not None and out.shape[0] != len(bands):
                reject(first, f"has {out.shape[0]} channel(s) but bands={tuple(bands)} names "
                       f"{len(bands)}; expected one band name per channel")
                continue
            if expected is None:
                expected = (out.shape, first)
            elif out.shape != expected[0]:
                reject(first, f"has shape (C, H, W) = {out.shape} after the transform, but "
                       f"the first image ({expected[1]}) has {expected[0]}; use "
                       "transform='seed' with size= for one size, and one band count")
                continue
            images.append(out)
            rows.append({"id": ident, "path": str(first), "label": item.label,
                         "set": item.set, "format": info["format"],
                         "height": int(raw.shape[1]), "width": int(raw.shape[2]),
                         "n_nan": n_nan, **({"files": info["files"]} if "files" in info
                                            else {})})
            if limit is not None and len(images) >= limit:
                break
    where = root if root is not None else "the given files"
    if not images:
        first = f"; first: {rejected[0]['path']}: {rejected[0]['reason']}" if rejected else ""
        raise ValueError(f"{where}: no readable image ({len(rejected)} rejected{first}); "
                         "expected JPEG/PNG, FITS or .npy files, flat or in the seed's "
                         "train/0.normal layout.")
    table = pd.DataFrame(rows)
    if "files" in table:
        table["files"] = table["files"].where(table["files"].notna(), None)
    if metadata is not None:
        table = _join_metadata(table, metadata)
    c = expected[0][0]
    names = tuple(bands) if bands is not None else (
        _RGB_NAMES.get(c) if all(i.kind == "raster" for i in items) else None)
    return ImageSet(np.stack(images), table=table, bands=names,
                    rejected=pd.DataFrame(rejected, columns=["path", "reason"]),
                    meta={"source": str(where), "transform": _name(transform),
                          "stretch": _name(stretch), "size": size if transform == "seed"
                          else None, "alpha": alpha})


def _name(obj):
    return obj if obj is None or isinstance(obj, str) else getattr(obj, "__name__", repr(obj))


def _load(item: _Item, *, bands, alpha, hdu) -> tuple[list[np.ndarray], dict]:
    """Raw channels-first image(s) of one item, and {format, files}."""
    if item.kind == "raster":
        p = item.paths[0]
        return [read_raster(p, alpha=alpha)], {"format": p.suffix.lower().lstrip(".")
                                               .replace("jpg", "jpeg")}
    if item.kind == "fits":
        return [read_fits_image(item.paths[0], hdu=hdu)[0]], {"format": "fits"}
    if item.kind == "fits-bands":
        missing = [b for b, p in zip(bands, item.paths) if p is None]
        if missing:
            have = [p for p in item.paths if p is not None]
            raise ImageReadError(have[0], f"object {item.id!r} lacks band(s) {missing} (found "
                                 f"{[p.name for p in have]}); expected one file "
                                 f"{item.id}_<band>.fits per band of {tuple(bands)}")
        planes = []
        for b, p in zip(bands, item.paths):
            data = read_fits_image(p, hdu=hdu)[0]
            if data.shape[0] != 1:
                raise ImageReadError(p, f"holds a cube of shape {data.shape}; expected one "
                                     f"2-D image for band {b!r}")
            planes.append(data[0])
        shapes = {pl.shape for pl in planes}
        if len(shapes) > 1:
            raise ImageReadError(item.paths[0], f"bands of object {item.id!r} differ in "
                                 f"shape {sorted(shapes)}; expected one (H, W)")
        return [np.stack(planes)], {"format": "fits",
                                    "files": ";".join(p.name for p in item.paths)}
    if item.kind == "npy":
        return list(read_npy_images(item.paths[0])), {"format": "npy"}
    raise ImageReadError(item.paths[0], "unknown image format; expected one of "
                         f"{RASTER_SUFFIXES + FITS_SUFFIXES + NPY_SUFFIXES}")


def _prepare(raw: np.ndarray, path, *, size, transform, stretch) -> tuple[np.ndarray, int]:
    """NaN replacement -> stretch -> transform, for one (C, H, W) image."""
    n_nan = 0
    if raw.dtype != np.uint8:
        try:
            raw, n_nan = replace_nan(raw)
        except ValueError as exc:
            raise ImageReadError(path, f"{exc}; expected at least one finite pixel per "
                                 "band") from exc
    if stretch is not None:
        x = raw.astype(np.float32) / 255.0 if raw.dtype == np.uint8 else raw
        try:
            raw = (asinh_stretch(x) if stretch == "asinh" else lupton_rgb(x)
                   if stretch == "lupton" else np.asarray(stretch(x)))
        except ValueError as exc:
            raise ImageReadError(path, f"stretch {_name(stretch)!r} failed: {exc}") from exc
        if raw.ndim != 3:
            raise ImageReadError(path, f"stretch returned shape {raw.shape}; expected "
                                 "(C, H, W)")
    if transform is None:
        return raw.astype(np.float32), n_nan
    if transform == "seed":
        if raw.dtype != np.uint8:
            lo, hi = float(raw.min()), float(raw.max())
            if lo < -1e-6 or hi > 1 + 1e-6:
                raise ImageReadError(path, f"pixel values span [{lo:.4g}, {hi:.4g}]; the "
                                     "seed transform expects 8-bit pixels or values in "
                                     "[0, 1]: pass stretch='asinh' (or 'lupton' for 3 "
                                     "bands), or transform=None for raw values")
            raw = np.clip(raw, 0.0, 1.0)
        return seed_transform(raw, size), n_nan
    out = np.asarray(transform(raw), dtype=np.float32)
    if out.ndim != 3:
        raise ImageReadError(path, f"transform returned shape {out.shape}; expected (C, H, W)")
    return out, n_nan


def _join_metadata(table: pd.DataFrame, metadata) -> pd.DataFrame:
    meta = pd.read_csv(metadata) if isinstance(metadata, (str, Path)) else pd.DataFrame(
        metadata)
    if "id" not in meta:
        raise ValueError(f"metadata has columns {list(meta.columns)}; expected an 'id' "
                         "column matching the image ids (file names without suffix).")
    meta = meta.assign(id=meta["id"].astype(str))
    clash = [c for c in meta.columns if c != "id" and c in table]
    return table.merge(meta.drop(columns=clash), on="id", how="left", validate="m:1")
