"""Alert cutouts -> network inputs.

:func:`normalize_triplets` turns cutout stacks ``(N, C, H, W)`` (for ZTF triplets: science,
reference, difference; NaN where invalid, as in :class:`astroad_nb.data.alerts.CutoutSet`) into
``(N, C + 1, H, W)`` finite inputs: ``C`` robustly standardised, asinh-compressed channels and a
validity mask. Band- and survey-generic: nothing depends on the channel count or the pixel unit.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["normalize_triplets"]

_MAD_TO_SIGMA = 1.4826  # MAD of a Gaussian times this = its standard deviation


def normalize_triplets(images, mask=None, *, stretch=3.0):
    """Per-triplet, per-channel robust standardisation that survives NaNs.

    Each channel of each triplet has its median subtracted (the sky for science/reference) and
    is divided by a robust noise scale: 1.4826 x the median absolute deviation, falling back to
    the standard deviation and then to 1 when that is zero or undefined (constant or all-NaN
    channels). Values are then compressed by ``stretch * asinh(z / stretch)``: linear within
    +-``stretch`` sigma (faint transients keep their contrast), logarithmic beyond (a saturated
    star no longer dominates every activation). Invalid pixels (NaN, inf or ``mask == False``)
    become 0 and a last channel holds 1 where every input channel is valid, 0 elsewhere, so the
    network can tell "no data" (chip edges) from "empty sky".

    Parameters
    ----------
    images : array-like of shape (N, C, H, W)
        Pixel values in any linear unit (e-, DN); NaN where invalid.
    mask : array-like of bool of shape (N, C, H, W), optional
        ``True`` = valid pixel; combined with ``isfinite(images)``.
    stretch : float, default=3.0
        Break point of the asinh compression, in units of the robust noise scale.

    Returns
    -------
    numpy.ndarray of shape (N, C + 1, H, W), float32
        Finite values: ``C`` standardised channels (dimensionless) and the validity mask.

    Examples
    --------
    >>> x = np.full((1, 3, 5, 5), np.nan, np.float32)
    >>> out = normalize_triplets(x)
    >>> out.shape, bool(np.isfinite(out).all()), float(out[:, 3].max())
    ((1, 4, 5, 5), True, 0.0)
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}.")
    valid = torch.isfinite(x)
    if mask is not None:
        valid &= torch.as_tensor(np.asarray(mask, dtype=bool))
    n, c, h, w = x.shape
    all_ok = bool(valid.all())
    if not all_ok:  # invalid pixels become NaN (x may share memory with images: a copy)
        x = torch.where(valid, x, torch.tensor(float("nan")))
    flat = x.reshape(n, c, h * w)
    med = _nanmedian(flat)  # (N, C); NaN for all-invalid channels
    dev = (flat - med[..., None]).abs_()
    scale = _MAD_TO_SIGMA * _nanmedian(dev)
    # nanstd fallback where the MAD is zero or undefined (at least half the pixels equal, e.g.
    # a flat, NaN-padded stamp); computed for those channels only
    bad = ~torch.isfinite(scale) | (scale <= 1e-12)
    if bad.any():
        count = valid.reshape(n, c, -1)[bad].sum(-1).clamp(min=1)
        scale[bad] = torch.sqrt(torch.nansum(dev[bad] ** 2, dim=-1) / count)
        bad = ~torch.isfinite(scale) | (scale <= 1e-12)
        scale = torch.where(bad, torch.ones_like(scale), scale)
    del dev
    med = torch.nan_to_num(med, nan=0.0)
    out = torch.empty((n, c + 1, h, w), dtype=torch.float32)
    z = out[:, :c]
    # in place, the same operations as stretch * asinh(((x - med) / scale) / stretch)
    torch.sub(x, med[..., None, None], out=z)
    z.div_(scale[..., None, None]).div_(stretch).asinh_().mul_(stretch)
    if not all_ok:
        z.masked_fill_(~valid, 0.0)
    out[:, c] = valid.all(dim=1).to(torch.float32)
    return out.numpy()


def _nanmedian(values):
    """``torch.nanmedian(values, dim=-1).values`` (the lower median of the non-NaN values),
    ~7x faster on stamps: a numpy selection (``np.partition``) for the rows without NaN, a sort
    for the few with NaN (edge-clipped stamps). The same values; only where +0.0 and -0.0 tie
    may the other zero be picked (so an output pixel may be -0.0 instead of 0.0).

    Parameters
    ----------
    values : torch.Tensor of shape (..., L), float32, finite or NaN

    Returns
    -------
    torch.Tensor of shape (...), float32; NaN where a row is all NaN.
    """
    arr = values.numpy()
    rows = arr.reshape(-1, arr.shape[-1])
    out = np.full(rows.shape[0], np.nan, dtype=arr.dtype)
    if rows.shape[1]:
        n_valid = rows.shape[1] - np.isnan(rows).sum(axis=1)
        full = n_valid == rows.shape[1]
        kth = (rows.shape[1] - 1) // 2
        if full.any():
            out[full] = np.partition(rows[full], kth, axis=1)[:, kth]
        partial = np.flatnonzero(~full & (n_valid > 0))
        if partial.size:  # np.sort puts NaN last: the k-th valid value is at index k
            ordered = np.sort(rows[partial], axis=1)
            out[partial] = ordered[np.arange(partial.size), (n_valid[partial] - 1) // 2]
    return torch.from_numpy(out.reshape(arr.shape[:-1]))
