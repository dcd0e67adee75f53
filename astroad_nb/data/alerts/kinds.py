"""The kinds of triplet the simulator makes, as a table of stage functions.

:data:`TRIPLET_KINDS` maps every kind (``"real"`` and each of :data:`BOGUS_KINDS`) to a
:class:`TripletKind`: the functions that make that kind at each stage of the simulation
(the central source; after rendering; the matching kernel; an image artefact; after
the subtraction), each ``None`` where the kind does nothing at that stage, plus its label,
its share among the kinds of that label, and how often it is a negative subtraction. The
stages run in a fixed order (see :func:`~astroad_nb.data.alerts.simulate_triplets`) and draw
from one generator, so a seed gives the same triplets in every release; keep that order when
adding a kind.

What is label-independent on the sky is drawn the same way for every kind: the chance of a
host galaxy and its brightness (:data:`HOST_PROBABILITY`), the field stars, the observing
conditions, and the brightness of the candidate in the difference, within the range each
kind can physically have (a bogus residual of a star needs a bright star; a real transient
or an asteroid can be faint or bright).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from astroad_nb.data.alerts import artefacts
from astroad_nb.data.alerts.scene import _Library

__all__ = ["BOGUS_KINDS", "REAL_KINDS", "TRIPLET_KINDS", "TripletKind", "HOST_PROBABILITY",
           "NEGATIVE_PROBABILITY"]

#: Bogus kinds :func:`simulate_triplets` can make.
BOGUS_KINDS: tuple[str, ...] = (
    "cosmic_ray", "hot_pixel", "dipole", "bad_subtraction", "saturated", "ghost_edge",
)
#: Real kinds: transients and variable stars, and moving objects (asteroids).
REAL_KINDS: tuple[str, ...] = ("real", "asteroid")

#: Chance of a host galaxy under the candidate, the same for every kind (a galaxy does not
#: know whether a cosmic ray hits in front of it).
HOST_PROBABILITY = 0.3
#: Chance of a negative subtraction (``isdiffpos = 0``: brighter in the reference) for the
#: kinds that can be one: a transient or variable star fading since the reference, an artefact
#: or ghost left in the reference, an over-subtracted star.
NEGATIVE_PROBABILITY = 0.35


@dataclass
class _Triplet:
    """One triplet being simulated: the draws its kind's stage functions read and change."""

    lib: _Library
    size: int  # stamp side [px]
    c: int  # stamp centre on the simulation grid [px]
    i_sci: int  # science PSF (FWHM, beta) indices into the library
    b_sci: int
    psf_sci: np.ndarray  # PSF transforms
    psf_ref: np.ndarray
    width_var: float  # variance of the ideal matching kernel [px^2]
    sky: float  # science sky [e-/px]
    sigma_sci: float  # science noise [e-/px]
    snr_flux: float  # flux of an SNR-1 point source in the difference [e-]
    host: bool
    negative: bool  # a negative subtraction: the candidate is brighter in the reference
    dy: float  # offset of the candidate from the stamp centre [px]
    dx: float
    kernel_error: float  # error of the kernel variance [px^2]
    flux_error: float  # relative flux-scale error of the kernel
    sci_src: list = field(default_factory=list)  # point sources (y, x, flux) on the grid
    ref_src: list = field(default_factory=list)
    snr: float = math.nan  # of the central source (star, transient); NaN when there is none
    host_flux: float = 0.0  # [e-]
    subkind: str = ""
    sat_level: float = math.inf  # full well [e-]
    sci: np.ndarray | None = None  # science stamp (size, size), once rendered
    ref: np.ndarray | None = None  # reference on the whole grid (n, n), once rendered
    sat_mask: np.ndarray | None = None
    edge_artefact: bool = False  # cut by a chip edge that leaves a residual strip


# ---------------------------------------------------------------------------- stage: source
def _central_snr(t: _Triplet, rng, lo: float, hi: float) -> float:
    """Draw the central star's difference SNR (log-uniform in [lo, hi]); return its flux."""
    t.snr = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return t.snr * t.snr_flux


def _constant_star(t: _Triplet, rng, flux: float, shift=None) -> None:
    """A star in both images, the science one ``shift`` (dy, dx) px off, flux +-3 %."""
    shift = np.zeros(2) if shift is None else shift
    t.ref_src.append((t.c + t.dy, t.c + t.dx, flux))
    t.sci_src.append((t.c + t.dy + shift[0], t.c + t.dx + shift[1],
                      flux * (1 + rng.normal(0, 0.03))))


#: Difference SNR of real candidates (log-uniform): from the detection limit to bright
#: transients, as broad as the residuals that bright stars leave.
REAL_SNR = (5.0, 150.0)
#: Hosts brighter than this many SNR-1 fluxes make a ``bright_host`` real.
BRIGHT_HOST = 600.0


def _real_source(t: _Triplet, rng) -> None:
    """A new (hostless, in a host, on a bright host) or variable point source.

    Positive: it appeared or brightened since the reference. Negative (``t.negative``): it
    has faded since the reference (a transient in the reference epoch, a variable star now
    fainter), so the difference is negative.
    """
    flux = _central_snr(t, rng, *REAL_SNR)
    if t.host:
        t.subkind = "bright_host" if t.host_flux > BRIGHT_HOST * t.snr_flux else "host"
    else:
        t.subkind = str(rng.choice(["hostless", "variable"], p=[0.6, 0.4]))
    base = flux * float(rng.uniform(0.2, 3.0)) if t.subkind == "variable" else 0.0
    bright, faint = (t.ref_src, t.sci_src) if t.negative else (t.sci_src, t.ref_src)
    bright.append((t.c + t.dy, t.c + t.dx, flux + base))
    if base:  # a star in both epochs, brighter in one
        faint.append((t.c + t.dy, t.c + t.dx, base))


def _asteroid_source(t: _Triplet, rng) -> None:
    """A moving object: a point source (``"point"``) or a short trail (``"streak"``, 3-12 px)
    in the science image only; the reference, a coadd of other nights, has no counterpart."""
    flux = _central_snr(t, rng, *REAL_SNR)
    t.subkind = str(rng.choice(["point", "streak"], p=[0.7, 0.3]))
    if t.subkind == "point":
        t.sci_src.append((t.c + t.dy, t.c + t.dx, flux))
        return
    length = float(rng.uniform(3.0, 12.0))
    ang = rng.uniform(0, np.pi)
    steps = np.linspace(-length / 2, length / 2, int(np.ceil(length * 2)) + 1)
    for u in steps:  # a trail = many point sources along the motion
        t.sci_src.append((t.c + t.dy + u * np.sin(ang), t.c + t.dx + u * np.cos(ang),
                          flux / len(steps)))


def _dipole_source(t: _Triplet, rng) -> None:
    """A star whose science position is 0.4-1.5 px off its reference position.

    The candidate is the positive lobe (the science star) or, negative, the negative one
    (the reference star).
    """
    flux = _central_snr(t, rng, 30.0, 300.0)
    t.subkind = "misaligned_star"
    ang = rng.uniform(0, 2 * np.pi)
    shift = rng.uniform(0.4, 1.5) * np.array([np.sin(ang), np.cos(ang)])
    if not t.negative:  # the science star sits on the candidate
        t.dy, t.dx = t.dy - shift[0], t.dx - shift[1]
    _constant_star(t, rng, flux, shift)


def _bad_subtraction_source(t: _Triplet, rng) -> None:
    """A bright star, and a matching kernel of badly wrong width and flux scale.

    Negative (``t.negative``): an over-subtraction, a too narrow kernel and a too large flux
    scale leave a negative core.
    """
    flux = _central_snr(t, rng, 100.0, 800.0)
    t.subkind = ("kernel_too_narrow" if t.negative else
                 str(rng.choice(["kernel_too_narrow", "kernel_too_wide"])))
    t.kernel_error = (-float(rng.uniform(0.4, 1.5)) if t.subkind == "kernel_too_narrow"
                      else float(rng.uniform(0.5, 2.0)))
    sign = 1.0 if t.negative else float(rng.choice([-1, 1]))
    t.flux_error = sign * float(rng.uniform(0.05, 0.2))
    _constant_star(t, rng, flux)


def _saturated_source(t: _Triplet, rng) -> None:
    """A star whose science peak exceeds the full well 1.5-30 times."""
    flux = _central_snr(t, rng, 300.0, 600.0)
    t.subkind = "bleed_trail"
    peak = t.lib.psf_peak[t.i_sci, t.b_sci] * flux
    t.sat_level = float(t.sky + peak / rng.uniform(1.5, 30.0))
    _constant_star(t, rng, flux)


# ---------------------------------------------------------------------------- later stages
def _saturate_images(t: _Triplet, rng) -> None:
    """After rendering: bleed trails in the science image; the reference coadd is clipped."""
    t.sci, t.sat_mask = artefacts.saturate(t.sci, t.sat_level, rng)
    t.ref = np.minimum(t.ref, (t.sat_level - t.sky) * rng.uniform(0.6, 1.0))


def _fitted_kernel(t: _Triplet) -> np.ndarray:
    """A fitted (HOTPANTS-like) kernel: the ratio of the PSF transforms, blurred or sharpened
    by a small width error."""
    ratio = t.psf_sci * t.psf_ref / (t.psf_ref**2 + 1e-6)
    return ratio * np.exp(-2.0 * np.pi**2 * t.kernel_error * t.lib.k2)


def _failed_kernel(t: _Triplet) -> np.ndarray:
    """A failed fit: a Gaussian of the wrong width, which also ignores the Moffat wings."""
    bad_var = max(t.width_var + t.kernel_error, 0.0)
    return np.exp(-2.0 * np.pi**2 * bad_var * t.lib.k2)


def _cosmic_ray_hit(t: _Triplet, rng, cy: float, cx: float) -> np.ndarray:
    t.subkind, image = artefacts.cosmic_ray(rng, t.size, cy, cx, t.sigma_sci)
    return image


def _hot_pixels(t: _Triplet, rng, cy: float, cx: float) -> np.ndarray:
    t.subkind, image = artefacts.hot_pixel(rng, t.size, cy, cx, t.sigma_sci)
    return image


def _ghost_or_chip_edge(t: _Triplet, rng, cy: float, cx: float) -> np.ndarray | None:
    """An optical ghost in the science image, or a chip edge (cut after the subtraction)."""
    t.subkind = str(rng.choice(["ghost", "chip_edge"]))
    if t.subkind == "chip_edge":
        t.edge_artefact = True
        return None
    return artefacts.ghost(rng, t.size, cy, cx, t.sigma_sci)


def _mask_saturated(t: _Triplet, rng, diff: np.ndarray) -> None:
    """Pipelines often mask saturated pixels in the difference (half the time here)."""
    if rng.random() < 0.5:
        diff[t.sat_mask] = np.nan


# ---------------------------------------------------------------------------- the table
class TripletKind(NamedTuple):
    """The stage functions that make one kind of triplet (``None``: nothing at that stage).

    Attributes
    ----------
    source : callable or None
        ``source(t, rng)``: the central source(s), before rendering.
    after_render : callable or None
        ``after_render(t, rng)``: changes the rendered science / reference images.
    kernel : callable
        ``kernel(t) -> transform`` of the PSF-matching kernel.
    science_artefact : callable or None
        ``science_artefact(t, rng, cy, cx) -> image or None``: added to the science image.
        Added to the reference instead (in difference-noise units) when the triplet is a
        negative subtraction: an artefact the reference coadd kept.
    after_difference : callable or None
        ``after_difference(t, rng, diff)``: changes the difference image in place.
    label : int
        1 real, 0 bogus.
    weight : int
        Share of the kind among the kinds of its label (``simulate_triplets`` cycles
        through each kind ``weight`` times).
    host_probability : float
        Probability of a host galaxy.
    negative_probability : float
        Probability of a negative subtraction (0 for kinds that cannot be one).
    """

    source: Callable | None = None
    after_render: Callable | None = None
    kernel: Callable = _fitted_kernel
    science_artefact: Callable | None = None
    after_difference: Callable | None = None
    label: int = 0
    weight: int = 1
    host_probability: float = HOST_PROBABILITY
    negative_probability: float = NEGATIVE_PROBABILITY


#: Kind (``"real"`` and every bogus kind) -> how it is made; see :func:`simulate_triplets`.
TRIPLET_KINDS: dict[str, TripletKind] = {
    "real": TripletKind(source=_real_source, label=1, weight=6),
    # moving objects are real detections (as in ZTF's real/bogus training sets); never in
    # the reference, so never negative
    "asteroid": TripletKind(source=_asteroid_source, label=1, weight=1,
                            negative_probability=0.0),
    "cosmic_ray": TripletKind(science_artefact=_cosmic_ray_hit),
    "hot_pixel": TripletKind(science_artefact=_hot_pixels),
    # a dipole has both signs: the detection is on either lobe
    "dipole": TripletKind(source=_dipole_source, negative_probability=0.5),
    "bad_subtraction": TripletKind(source=_bad_subtraction_source, kernel=_failed_kernel),
    "saturated": TripletKind(source=_saturated_source, after_render=_saturate_images,
                             after_difference=_mask_saturated, negative_probability=0.0),
    "ghost_edge": TripletKind(science_artefact=_ghost_or_chip_edge),
}
