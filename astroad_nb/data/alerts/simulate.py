"""The galsim triplet simulator: real and bogus ZTF-like cutout triplets.

:func:`simulate_triplets` renders each triplet through the same stages (observing
conditions, field stars, host, the central source, rendering, PSF matching, artefacts,
subtraction, chip edges); what a kind does at each stage comes from its entry of
:data:`~astroad_nb.data.alerts.kinds.TRIPLET_KINDS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from astroad_nb.data.alerts import artefacts
from astroad_nb.data.alerts.containers import CHANNELS, CutoutSet
from astroad_nb.data.alerts.kinds import BOGUS_KINDS, REAL_KINDS, TRIPLET_KINDS, _Triplet
from astroad_nb.data.alerts.scene import (
    _PSF_BETAS,
    _PSF_FWHMS,
    _READ_NOISE,
    _ZERO_POINT,
    _Library,
    _library,
    _scene,
)
from astroad_nb.data.bands import ZTF_FID_TO_BAND

__all__ = ["simulate_triplets"]

def simulate_triplets(n_real: int, n_bogus: int, *, random_state=None, size: int = 63,
                      pixel_scale: float = 1.01, bogus_kinds: Sequence[str] | None = None,
                      edge_fraction: float = 0.04) -> CutoutSet:
    """Simulate ZTF-like real/bogus cutout triplets with galsim profiles.

    Each triplet is a scene (field stars, an optional Sersic/exponential host galaxy) seen
    through a Moffat PSF in the science image and a sharper one (FWHM 0.1-1.0 arcsec smaller)
    in a deeper reference (a coadd of 10-40 frames: lower noise). Both get sky, photon and
    read noise. The difference is science minus the reference convolved with a matching
    kernel (the ratio of the PSF transforms) that is slightly wrong, as a fitted kernel is:
    a few % kernel-width and flux-scale error and ~0.03 px registration error, so bright
    stars and galaxy nuclei leave small residuals.

    What does not depend on the label on the sky is drawn alike for every kind: a host galaxy
    under 30 % of all candidates, real or bogus, with the same brightness distribution (so
    transients also sit on bright hosts), the field stars, the seeing and depth, and a
    negative subtraction (``isdiffpos = 0``, brighter in the reference) for 35 % of the kinds
    that can be one.

    *Real* (label 1), kinds ``real`` (6 in 7) and ``asteroid`` (1 in 7): ``real`` is a point
    source centred within +-1 px, difference SNR 5-150 (log-uniform), hostless, in a host
    galaxy (``host``/``bright_host``), or on a variable star, that appeared or brightened
    since the reference, or faded since (negative); ``asteroid`` is a moving object, a point
    source or a short trail in the science image with no counterpart in the reference.
    *Bogus* (label 0), one kind per triplet, cycled through ``bogus_kinds``:

    ``cosmic_ray``
        sharp hits of 1-4 pixels or tracks of 5-25 px, in the science image (or, negative,
        left in the reference).
    ``hot_pixel``
        hot pixels or bad column/row segments through the centre, science (or reference).
    ``dipole``
        a star whose science position is 0.4-1.5 px off its reference position.
    ``bad_subtraction``
        a bright star with a badly wrong matching kernel and flux scale: rings/donuts (a
        negative core when over-subtracted).
    ``saturated``
        a star saturating the science image, with bleed trails along the columns.
    ``ghost_edge``
        an out-of-focus optical ghost (soft donut, science only), or a chip edge: a NaN
        region plus a bright edge residual.

    Parameters
    ----------
    n_real, n_bogus : int
        Numbers of real and bogus triplets.
    random_state : None, int or numpy.random.Generator
        Seed; the same value gives identical arrays.
    size : int, default=63
        Cutout side in pixels.
    pixel_scale : float, default=1.01
        Arcsec per pixel (ZTF).
    bogus_kinds : sequence of str, optional
        Subset of :data:`BOGUS_KINDS` (default all); every listed kind appears when
        ``n_bogus >= len(bogus_kinds)``.
    edge_fraction : float, default=0.04
        Fraction of triplets of any label cut by a chip edge (NaN band, ``clipped=True``),
        as in real alert streams, so that clipping alone does not give the label away.

    Returns
    -------
    CutoutSet
        ``images`` (n_real + n_bogus, 3, size, size) float32 in e- (science and reference
        include the sky; the difference is sky-subtracted and, as in ZTF alerts, science
        minus reference for ``isdiffpos = 1`` and reference minus science for
        ``isdiffpos = 0``, so the candidate is positive in both), rows in random order;
        ``labels`` 1/0; ``table`` columns ``kind`` (one of :data:`REAL_KINDS` or the bogus
        kind), ``subkind``, ``label``, ``snr`` (the candidate's PSF-fit SNR in the
        difference, |flux| / error, as a pipeline measures it at the candidate position),
        ``isdiffpos`` (1.0 when that flux is positive, 0.0 when negative), ``negative``
        (the kind was made a negative subtraction), ``source_snr`` (difference SNR the
        central star or transient was drawn with; NaN without one), ``host``,
        ``host_flux`` (e-; 0 without a host), ``fwhm_sci``, ``fwhm_ref`` (arcsec),
        ``beta_sci``, ``beta_ref``, ``x_offset``, ``y_offset`` (px from the centre), ``sky``,
        ``sigma_sci``, ``sigma_ref`` (e-/px), ``n_ref_frames``, ``kernel_error`` (error of the
        matching kernel's variance, px^2), ``flux_error`` (relative), ``fid``,
        ``band``, ``magpsf`` (of the difference flux), ``clipped``, ``candid``,
        ``objectId``.

    Examples
    --------
    >>> cs = simulate_triplets(3, 6, random_state=0)
    >>> sorted(cs.table.kind.unique())[:3]
    ['bad_subtraction', 'cosmic_ray', 'dipole']
    """
    n_real, n_bogus = int(n_real), int(n_bogus)
    if n_real < 0 or n_bogus < 0:
        raise ValueError(f"n_real and n_bogus must be >= 0, got {n_real}, {n_bogus}.")
    kinds = tuple(BOGUS_KINDS if bogus_kinds is None else bogus_kinds)
    unknown = sorted(set(kinds) - set(BOGUS_KINDS))
    if unknown or not kinds:
        raise ValueError(f"unknown bogus kind(s) {unknown or kinds}; choose from {BOGUS_KINDS}.")
    if size < 15:
        raise ValueError(f"size must be >= 15 px, got {size}.")
    rng = np.random.default_rng(random_state)
    n_grid = 2 * ((size + 33) // 2)  # >= 16 px of margin: PSF wings do not wrap into the crop
    lib = _library(float(pixel_scale), n_grid)
    real_cycle = [k for k in REAL_KINDS for _ in range(TRIPLET_KINDS[k].weight)]
    bogus_cycle = [k for k in kinds for _ in range(TRIPLET_KINDS[k].weight)]
    plan = ([real_cycle[i % len(real_cycle)] for i in range(n_real)]
            + [bogus_cycle[i % len(bogus_cycle)] for i in range(n_bogus)])
    plan = [plan[i] for i in rng.permutation(len(plan))]
    images = np.empty((len(plan), 3, size, size), np.float32)
    rows = []
    for t, kind in enumerate(plan):
        images[t], row = _simulate_one(kind, lib, rng, size, pixel_scale, edge_fraction)
        row.update(candid=t, objectId=f"SIM{t:08d}", kind=kind,
                   label=TRIPLET_KINDS[kind].label)
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["band"] = table["fid"].map(ZTF_FID_TO_BAND)
    labels = np.array([TRIPLET_KINDS[k].label for k in plan], np.int64)
    return CutoutSet(
        images=images, clipped=table["clipped"].to_numpy(bool) if len(table) else None,
        table=table, ids=[f"sim-{t:06d}" for t in range(len(plan))], labels=labels,
        meta={"source": "simulate_triplets", "random_state": repr(random_state),
              "pixel_scale": pixel_scale, "bogus_kinds": kinds, "channels": CHANNELS})



def _simulate_one(kind: str, lib: _Library, rng: np.random.Generator, size: int,
                  pixel_scale: float, edge_fraction: float) -> tuple[np.ndarray, dict]:
    """One triplet (3, size, size) and its table row."""
    model = TRIPLET_KINDS[kind]
    n = lib.n
    p0 = (n - size) // 2  # crop origin on the grid
    c = p0 + size // 2  # stamp centre on the grid
    # observing conditions: reference sharper and deeper
    i_ref = int(rng.integers(0, len(_PSF_FWHMS) - 8))
    i_sci = min(i_ref + int(rng.integers(1, 11)), len(_PSF_FWHMS) - 1)
    b_sci, b_ref = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    psf_sci, psf_ref = lib.psf_ft[i_sci, b_sci], lib.psf_ft[i_ref, b_ref]
    sky = float(rng.uniform(100.0, 800.0))
    sky_ref = sky * float(rng.uniform(0.6, 1.4))
    n_frames = int(rng.integers(10, 41))
    var_sky = sky + _READ_NOISE**2
    sigma_sci = math.sqrt(var_sky)
    sigma_ref = math.sqrt((sky_ref + _READ_NOISE**2) / n_frames)
    sigma_diff = math.sqrt(sigma_sci**2 + sigma_ref**2)
    nea = lib.psf_nea[i_sci, b_sci]
    s_sci = _PSF_FWHMS[i_sci] / pixel_scale / 2.3548  # Gaussian-equivalent sigma [px]
    s_ref = _PSF_FWHMS[i_ref] / pixel_scale / 2.3548
    width_var = s_sci**2 - s_ref**2  # variance of the ideal matching kernel [px^2]
    snr_flux = sigma_diff * math.sqrt(nea)  # flux of an SNR-1 point source in the difference

    # point sources as (y, x, flux) on the grid; both images share the constant ones
    sci_src: list[tuple[float, float, float]] = []
    ref_src: list[tuple[float, float, float]] = []
    # field stars anywhere but the central 5 px (they are constant: only residuals remain)
    for _ in range(int(rng.poisson(rng.uniform(2.0, 12.0)))):
        y, x = rng.uniform(0, n, 2)
        if math.hypot(y - c, x - c) < 5.0:
            continue
        flux = snr_flux * float(np.exp(rng.uniform(np.log(3.0), np.log(400.0))))
        sci_src.append((y, x, flux))
        ref_src.append((y, x, flux))

    host = bool(rng.random() < model.host_probability)
    negative = bool(rng.random() < model.negative_probability)
    galaxy = None
    host_flux = 0.0
    if host:
        g = int(rng.integers(0, len(lib.gal_hlr)))
        r = rng.uniform(0.0, 1.5) * lib.gal_hlr[g]
        ang = rng.uniform(0, 2 * np.pi)
        host_flux = snr_flux * float(np.exp(rng.uniform(np.log(30.0), np.log(3000.0))))
        galaxy = (g, c + r * np.sin(ang), c + r * np.cos(ang), host_flux)

    dy, dx = rng.uniform(-1.0, 1.0, 2)
    kernel_error = float(rng.normal(0.0, 0.04)) * width_var  # error of the kernel variance [px^2]
    flux_error = float(rng.normal(0.0, 0.01))
    reg = rng.normal(0.0, 0.03, 2)  # residual registration error of the reference [px]
    t = _Triplet(lib=lib, size=size, c=c, i_sci=i_sci, b_sci=b_sci, psf_sci=psf_sci,
                 psf_ref=psf_ref, width_var=width_var, sky=sky, sigma_sci=sigma_sci,
                 snr_flux=snr_flux, host=host, negative=negative, dy=dy, dx=dx,
                 kernel_error=kernel_error, flux_error=flux_error, sci_src=sci_src,
                 ref_src=ref_src, host_flux=host_flux)
    if model.source is not None:
        model.source(t, rng)

    # render: product of transforms = convolution with the galsim PSF
    scene_sci = _scene(lib, t.sci_src, galaxy)
    scene_ref = _scene(lib, t.ref_src, galaxy, offset=reg)
    sci_model = np.fft.irfft2(scene_sci * psf_sci, s=(n, n))[p0:p0 + size, p0:p0 + size]
    ref_model = np.fft.irfft2(scene_ref * psf_ref, s=(n, n))
    t.sci = sci_model + sky + rng.standard_normal((size, size)) * np.sqrt(
        var_sky + np.maximum(sci_model, 0.0))
    t.ref = ref_model + rng.standard_normal((n, n)) * np.sqrt(
        (sky_ref + _READ_NOISE**2 + np.maximum(ref_model, 0.0)) / n_frames)
    if model.after_render is not None:
        model.after_render(t, rng)
    if model.science_artefact is not None:
        cy, cx = size // 2 + dy, size // 2 + dx
        artefact = model.science_artefact(t, rng, cy, cx)
        if artefact is not None and t.negative:  # left in the reference coadd instead
            t.ref[p0:p0 + size, p0:p0 + size] += artefact * (sigma_diff / sigma_sci)
        elif artefact is not None:
            t.sci = t.sci + artefact
    # PSF matching, then the subtraction
    kernel = model.kernel(t) * (1.0 + t.flux_error)
    matched = np.fft.irfft2(np.fft.rfft2(t.ref) * kernel, s=(n, n))[p0:p0 + size, p0:p0 + size]
    ref_crop = t.ref[p0:p0 + size, p0:p0 + size] + sky_ref
    diff = t.sci - sky - matched
    if model.after_difference is not None:
        model.after_difference(t, rng, diff)
    triplet = np.stack([t.sci, ref_crop, diff])

    clipped = False
    if t.edge_artefact:
        clipped = True
        artefacts.chip_edge(triplet, rng, size, sigma_diff, artefact=True)
    elif rng.random() < edge_fraction:
        clipped = True
        artefacts.chip_edge(triplet, rng, size, sigma_diff, artefact=False)

    fid = int(rng.integers(1, 3))
    snr = _psf_fit_snr(triplet[2], size // 2 + dy, size // 2 + dx, s_sci, sigma_diff)
    if snr < 0:  # ZTF's cutout of a negative candidate is the negative subtraction, ref - sci
        triplet[2] = -triplet[2]
    diff_flux = abs(snr) * snr_flux
    row = {
        "subkind": t.subkind, "snr": abs(snr), "isdiffpos": float(snr >= 0),
        "negative": t.negative, "source_snr": t.snr, "host": host, "host_flux": host_flux,
        "fwhm_sci": float(_PSF_FWHMS[i_sci]), "fwhm_ref": float(_PSF_FWHMS[i_ref]),
        "beta_sci": _PSF_BETAS[b_sci], "beta_ref": _PSF_BETAS[b_ref],
        "x_offset": float(dx), "y_offset": float(dy), "sky": sky,
        "sigma_sci": sigma_sci, "sigma_ref": sigma_ref, "n_ref_frames": n_frames,
        "kernel_error": t.kernel_error, "flux_error": t.flux_error, "fid": fid,
        "magpsf": _ZERO_POINT - 2.5 * math.log10(diff_flux) if diff_flux > 0 else np.nan,
        "clipped": clipped,
    }
    return triplet.astype(np.float32), row


def _psf_fit_snr(diff: np.ndarray, cy: float, cx: float, sigma_psf: float,
                 sigma_noise: float, half: int = 5) -> float:
    """Signed PSF-fit SNR of the difference at (cy, cx): sum(w d) / (sigma sqrt(sum w^2)).

    ``w`` is a Gaussian of ``sigma_psf`` px over an 11 x 11 px window; NaN pixels get no
    weight (0.0 when the whole window is NaN).
    """
    iy, ix = int(round(cy)), int(round(cx))
    ys = slice(max(iy - half, 0), iy + half + 1)
    xs = slice(max(ix - half, 0), ix + half + 1)
    patch = diff[ys, xs]
    yy, xx = np.mgrid[ys, xs]
    w = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma_psf**2))
    ok = np.isfinite(patch)
    if not ok.any():
        return 0.0
    w = np.where(ok, w, 0.0)
    return float(np.sum(w * np.where(ok, patch, 0.0)) / (sigma_noise * np.sqrt(np.sum(w**2))))
