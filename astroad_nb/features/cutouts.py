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
    x = torch.where(valid, x, torch.tensor(float("nan")))
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    med = flat.nanmedian(dim=-1).values  # (N, C); NaN for all-invalid channels
    dev = (flat - med[..., None]).abs()
    scale = _MAD_TO_SIGMA * dev.nanmedian(dim=-1).values
    # nanstd fallback: at least half the pixels equal (e.g. a flat, NaN-padded stamp)
    count = valid.reshape(n, c, -1).sum(-1).clamp(min=1)
    std = torch.sqrt(torch.nansum(dev ** 2, dim=-1) / count)
    bad = ~torch.isfinite(scale) | (scale <= 1e-12)
    scale = torch.where(bad, std, scale)
    bad = ~torch.isfinite(scale) | (scale <= 1e-12)
    scale = torch.where(bad, torch.ones_like(scale), scale)
    med = torch.nan_to_num(med, nan=0.0)
    z = (x - med[..., None, None]) / scale[..., None, None]
    z = stretch * torch.asinh(z / stretch)
    z = torch.where(valid, z, torch.zeros(()))
    all_valid = valid.all(dim=1, keepdim=True).to(torch.float32)
    return torch.cat([z, all_valid], dim=1).numpy()
