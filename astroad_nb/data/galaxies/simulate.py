"""A galsim simulator of SDSS-like gri galaxy cutouts, and "simulation" variants of them.

The **observed** set imitates the seed's normal set (SDSS DR17 gri cutouts, 0.396"/px,
log M* >= 9, z 0.005-0.395, SkyServer Lupton RGB JPEGs):

* stellar mass from a Schechter mass function (log M_c = 10.8, alpha = -1.1) on [9, 12] and
  redshift uniform in comoving volume (Planck18) on [0.005, 0.395], kept when the galaxy is
  brighter than the SDSS main-sample limit r < 17.77 - so n(z) peaks near z = 0.08 (median 0.096) and log M*
  has median 10.67, as in the spectroscopic sample;
* bulge (de Vaucouleurs, truncated at 8 half-light radii, as SDSS's deV model) + exponential
  disk; B/T (r band) rising with mass (mean 0.05 + 0.75 / (1 + exp(-(log M* - 10.7) / 0.35)),
  Beta scatter); half-light radii from the Shen et al. (2003) r-band size-mass relations (disk:
  late-type relation at M*, bulge: early-type relation at the bulge mass B/T M*, 0.15 / 0.12 dex
  scatter), turned into arcsec with the Planck18 angular-diameter distance; radii are
  circularised (galsim's area-preserving shear);
* colours: bulge g-r 0.78, r-i 0.40; disk g-r 0.45, r-i 0.25 (with scatter; no K-correction);
  the r-band luminosity from the Bell & de Jong (2001) colour-M/L relation,
  log(M/L_r) = -0.306 + 1.097 (g - r), M_r,sun = 4.65;
* disk axis ratio from a random inclination (cos i uniform, intrinsic thickness 0.2), bulge axis
  ratio 0.65-1, one position angle, a sub-pixel centre offset;
* a Kolmogorov PSF per band (r-band FWHM log-normal around 1.3", g and i scaled by
  lambda^-0.2, all clipped to 1.0-1.8");
* sky g/r/i = 21.9/20.8/20.3 mag/arcsec^2 (+-0.1 mag) with Poisson noise of sky + galaxy
  electrons (approximate SDSS electrons per nanomaggy), sky subtracted as in SDSS frames;
* ``output="rgb"``: a Lupton asinh composite of i, r, g as R, G, B (as SkyServer) and a
  JPEG round trip (Pillow, quality 75), then [-1, 1] as the seed's transform does.

**Variants** depart from it in one known, physical way each, with a ``strength`` in [0, 1]
(0 = the observed images exactly, same galaxies and noise; 1 = the full departure). The
same ``random_state`` gives the same galaxies in every variant (column ``galaxy``), so a
variant's images can be compared one to one with the observed ones.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
import pandas as pd

from astroad_nb.data.galaxies.containers import ImageSet
from astroad_nb.data.galaxies.transforms import lupton_rgb, to_signed_unit

__all__ = [
    "BANDS",
    "PIXEL_SCALE",
    "SKY_MAG",
    "VARIANTS",
    "simulate_galaxies",
    "simulation_speed",
]

#: Bands of ``output="bands"`` images, in channel order.
BANDS: tuple[str, str, str] = ("g", "r", "i")
#: SDSS pixel scale [arcsec / px].
PIXEL_SCALE = 0.396
#: Mean sky surface brightness [mag / arcsec^2] per band.
SKY_MAG = {"g": 21.9, "r": 20.8, "i": 20.3}
#: Approximate SDSS electrons per nanomaggy (gain / nanomaggies-per-count), per band.
ELECTRONS_PER_NMGY = {"g": 900.0, "r": 1000.0, "i": 750.0}
#: Zero point of nanomaggies [mag].
ZERO_POINT = 22.5
#: The variants and what each changes at strength s (see :func:`simulate_galaxies`).
VARIANTS: dict[str, str] = {
    "observed": "the SDSS-like set (strength ignored)",
    "shot_noise": "photon shooting with 10**(5 - 2.5 s) photons per band (particle shot noise)",
    "clumps": "4-12 blue star-forming clumps carrying 0.5 s of the disk's r flux",
    "concentrated": "bulge radius x (1 - 0.7 s), B/T -> B/T + 0.5 s (1 - B/T)",
    "colour": "bulge and disk bluer by 0.3 s in g-r and 0.15 s in r-i (r flux kept)",
    "no_psf_noise": "PSF FWHM x (1 - s) (floored at a one-pixel 0.4\"), noise x (1 - s)",
    "nihao_stretch": "Lupton Q, stretch, minimum, band scales -> the seed's NIHAO "
                     "make_lupton_rgb(Q=20, stretch=0.1) (log-interpolated; RGB only)",
    "face_on": "inclination x (1 - s), bulge axis ratio q -> q**(1 - s)",
}
#: Observed Lupton composite of (i, r, g) fluxes [nanomaggies / px] as (R, G, B); calibrated
#: on the seed's SDSS example cutout (sky level ~5/255 and noise ~3.5/255 per channel, yellow
#: bulge centre R > G > B), not SkyServer's exact code.
LUPTON = {"Q": 8.0, "stretch": 0.8, "minimum": -0.01, "scales": (1.0, 1.1, 1.2)}
_NIHAO_LUPTON = {"Q": 20.0, "stretch": 0.1, "minimum": 0.0, "scales": (1.0, 1.0, 1.0)}
_R_LIMIT = 17.77  # SDSS main-sample Petrosian r limit [mag]
_Z_RANGE = (0.005, 0.395)
_LOGM_RANGE = (9.0, 12.0)
_MIN_FWHM = 0.4  # [arcsec] "no PSF": a one-pixel PSF (sharper ones cost seconds of FFT)
_WAVELENGTH = {"g": 477.0, "r": 623.0, "i": 763.0}  # effective [nm]


@functools.lru_cache(maxsize=1)
def _cosmology_grid():
    """Redshift grid with D_A [kpc], distance modulus [mag] and comoving-volume CDF."""
    from astropy.cosmology import Planck18

    z = np.linspace(_Z_RANGE[0], _Z_RANGE[1], 800)
    da_kpc = Planck18.angular_diameter_distance(z).to_value("kpc")
    distmod = Planck18.distmod(z).value
    dv = Planck18.differential_comoving_volume(z).value
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dv[1:] + dv[:-1]) * np.diff(z))])
    return z, da_kpc, distmod, cdf / cdf[-1]


@functools.lru_cache(maxsize=1)
def _mass_grid():
    """log M* grid and the CDF of a Schechter mass function on it."""
    logm = np.linspace(*_LOGM_RANGE, 600)
    x = 10.0 ** (logm - 10.8)
    pdf = x ** (-1.1 + 1.0) * np.exp(-x)  # dn / dlog M
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(logm))])
    return logm, cdf / cdf[-1]


def _draw_population(n: int, rng: np.random.Generator, r_limit: float | None) -> pd.DataFrame:
    """Physical parameters of ``n`` galaxies (flux-limited), drawn in batches from ``rng``."""
    zg, da_kpc, distmod, zcdf = _cosmology_grid()
    mg, mcdf = _mass_grid()
    parts, have = [], 0
    while have < n:
        m = max(4 * n, 256)
        logm = np.interp(rng.random(m), mcdf, mg)
        z = np.interp(rng.random(m), zcdf, zg)
        mu = 0.05 + 0.75 / (1.0 + np.exp(-(logm - 10.7) / 0.35))
        kappa = 6.0
        bt = rng.beta(mu * kappa, (1.0 - mu) * kappa)
        gr_b = 0.78 + 0.05 * rng.standard_normal(m)
        ri_b = 0.40 + 0.03 * rng.standard_normal(m)
        gr_d = 0.45 + 0.10 * rng.standard_normal(m)
        ri_d = 0.25 + 0.05 * rng.standard_normal(m)
        # total g - r from the r-band flux split, then Bell & de Jong's M/L_r
        g_flux = bt * 10 ** (-0.4 * gr_b) + (1 - bt) * 10 ** (-0.4 * gr_d)
        gr = -2.5 * np.log10(g_flux)
        log_ml = -0.306 + 1.097 * gr
        abs_r = 4.65 - 2.5 * (logm - log_ml)
        mag_r = abs_r + np.interp(z, zg, distmod)
        mstar = 10.0 ** logm
        r_disk = (0.10 * mstar**0.14 * (1 + mstar / 3.98e10) ** (0.39 - 0.14)
                  * 10 ** (0.15 * rng.standard_normal(m)))
        r_bulge = np.maximum(2.88e-6 * np.maximum(bt * mstar, 1e6) ** 0.56
                             * 10 ** (0.12 * rng.standard_normal(m)), 0.1)
        cos_i = rng.random(m)
        q_bulge = rng.uniform(0.65, 1.0, m)
        pa = rng.uniform(0.0, 180.0, m)
        fwhm_r = np.clip(1.3 * np.exp(0.12 * rng.standard_normal(m)), 1.0, 1.8)
        sky = {b: SKY_MAG[b] + 0.1 * rng.standard_normal(m) for b in BANDS}
        dx, dy = rng.uniform(-0.5, 0.5, (2, m))
        batch = pd.DataFrame({
            "log_mstar": logm, "z": z, "bt": bt, "mag_r": mag_r,
            "gr_bulge": gr_b, "ri_bulge": ri_b, "gr_disk": gr_d, "ri_disk": ri_d,
            "r_bulge_kpc": r_bulge, "r_disk_kpc": r_disk, "cos_i": cos_i,
            "q_bulge": q_bulge, "pa_deg": pa, "fwhm_r": fwhm_r,
            **{f"sky_{b}": sky[b] for b in BANDS}, "dx": dx, "dy": dy})
        if r_limit is not None:
            batch = batch[batch["mag_r"] <= r_limit]
        parts.append(batch)
        have += len(batch)
    pop = pd.concat(parts, ignore_index=True).iloc[:n].reset_index(drop=True)
    da = np.interp(pop["z"], zg, da_kpc)
    arcsec_per_kpc = 206264.806 / da
    pop["r_bulge_arcsec"] = pop["r_bulge_kpc"] * arcsec_per_kpc
    pop["r_disk_arcsec"] = pop["r_disk_kpc"] * arcsec_per_kpc
    return pop


def _inclination_q(inc_deg: np.ndarray, q0: float = 0.2) -> np.ndarray:
    """Projected axis ratio of an oblate disk of intrinsic thickness ``q0`` (Hubble 1926)."""
    c = np.cos(np.radians(inc_deg))
    return np.sqrt(c**2 * (1 - q0**2) + q0**2)


def _apply_variant(pop: pd.DataFrame, variant: str, s: float) -> pd.DataFrame:
    """Per-galaxy parameters after the variant's physical change at strength ``s``."""
    p = pop.copy()
    p["inclination_deg"] = np.degrees(np.arccos(p["cos_i"]))
    if variant == "face_on":
        p["inclination_deg"] *= 1.0 - s
        p["q_bulge"] = p["q_bulge"] ** (1.0 - s)
    p["q_disk"] = _inclination_q(p["inclination_deg"].to_numpy())
    if variant == "concentrated":
        p["r_bulge_arcsec"] *= 1.0 - 0.7 * s
        p["r_bulge_kpc"] *= 1.0 - 0.7 * s
        p["bt"] = p["bt"] + 0.5 * s * (1.0 - p["bt"])
    if variant == "colour":
        for comp in ("bulge", "disk"):
            p[f"gr_{comp}"] -= 0.3 * s
            p[f"ri_{comp}"] -= 0.15 * s
    fwhm_scale = 1.0 - s if variant == "no_psf_noise" else 1.0
    for b in BANDS:
        fwhm = np.clip(p["fwhm_r"] * (_WAVELENGTH[b] / _WAVELENGTH["r"]) ** -0.2, 1.0, 1.8)
        # floored at 0.4" (one pixel): galsim needs some PSF for a finite FFT of the cusp
        p[f"psf_fwhm_{b}"] = np.maximum(fwhm * fwhm_scale, _MIN_FWHM)
    p["noise_scale"] = 1.0 - s if variant == "no_psf_noise" else 1.0
    p["n_photons"] = (int(round(10 ** (5.0 - 2.5 * s))) if variant == "shot_noise" and s > 0
                      else 0)
    p["clump_frac"] = 0.5 * s if variant == "clumps" else 0.0
    lup = _lupton_params(s if variant == "nihao_stretch" else 0.0)
    p["lupton_Q"], p["lupton_stretch"] = lup["Q"], lup["stretch"]
    return p


def _lupton_params(s: float) -> dict:
    """Lupton parameters log-interpolated from the observed ones to the seed's NIHAO ones."""
    if s == 0:
        return dict(LUPTON)
    lerp = lambda a, b: a ** (1 - s) * b**s  # noqa: E731  (geometric interpolation)
    return {"Q": lerp(LUPTON["Q"], _NIHAO_LUPTON["Q"]),
            "stretch": lerp(LUPTON["stretch"], _NIHAO_LUPTON["stretch"]),
            "minimum": (1 - s) * LUPTON["minimum"],
            "scales": tuple(lerp(a, b) for a, b in zip(LUPTON["scales"],
                                                       _NIHAO_LUPTON["scales"]))}


def _band_fluxes(row) -> tuple[dict, dict]:
    """(bulge, disk) fluxes [nanomaggies] per band from the r magnitude, B/T and colours."""
    f_r = 10 ** (-0.4 * (row.mag_r - ZERO_POINT))
    fb_r, fd_r = row.bt * f_r, (1 - row.bt) * f_r
    bulge = {"r": fb_r, "g": fb_r * 10 ** (-0.4 * row.gr_bulge),
             "i": fb_r * 10 ** (0.4 * row.ri_bulge)}
    disk = {"r": fd_r, "g": fd_r * 10 ** (-0.4 * row.gr_disk),
            "i": fd_r * 10 ** (0.4 * row.ri_disk)}
    return bulge, disk


def _clumps(row, rng: np.random.Generator):
    """Positions [arcsec] (projected on the sky) and size [arcsec] of star-forming clumps."""
    k = int(rng.integers(4, 13))
    h = row.r_disk_arcsec / 1.678  # exponential scale length
    radius = rng.gamma(2.0, h, k)  # the exponential disk's radial distribution
    phi = rng.uniform(0, 2 * np.pi, k)
    x, y = radius * np.cos(phi), radius * np.sin(phi)
    x, y = x / np.sqrt(row.q_disk), y * np.sqrt(row.q_disk)  # galsim's area-preserving shear
    beta = np.radians(row.pa_deg)
    xs = x * np.cos(beta) - y * np.sin(beta)
    ys = x * np.sin(beta) + y * np.cos(beta)
    weights = rng.dirichlet(np.ones(k))
    size = max(0.3 * row.r_disk_arcsec / row.r_disk_kpc, 0.05)  # 300 pc FWHM
    return xs, ys, weights, size


def _draw_one(row, seeds, size: int, noise: bool, output: str, jpeg_quality: int,
              lupton: dict):
    """Bands (3, size, size) [nanomaggies / px] of one galaxy, and its total magnitudes."""
    import galsim

    beta = row.pa_deg * galsim.degrees
    bulge_f, disk_f = _band_fluxes(row)
    clump_rng = np.random.default_rng(int(seeds[2]))
    clumps = _clumps(row, clump_rng) if row.clump_frac > 0 else None
    out = np.empty((3, size, size), np.float32)
    mags = {}
    gsp = galsim.GSParams(maximum_fft_size=16384)
    bulge = galsim.DeVaucouleurs(half_light_radius=row.r_bulge_arcsec,
                                 trunc=8 * row.r_bulge_arcsec, gsparams=gsp
                                 ).shear(q=row.q_bulge, beta=beta)
    disk = galsim.Exponential(half_light_radius=row.r_disk_arcsec, gsparams=gsp
                              ).shear(q=row.q_disk, beta=beta)
    for k, b in enumerate(BANDS):
        fd = disk_f[b]
        parts = [bulge.withFlux(bulge_f[b])]
        total = bulge_f[b]
        if clumps is not None:
            xs, ys, w, csize = clumps
            clump_r = row.clump_frac * disk_f["r"]
            # young clumps: g-r 0.2, r-i 0.1
            colour = {"r": 1.0, "g": 10 ** (-0.4 * 0.2), "i": 10 ** (0.4 * 0.1)}[b]
            fd = disk_f[b] * (1.0 - row.clump_frac)
            for xc, yc, wc in zip(xs, ys, w):
                parts.append(galsim.Gaussian(fwhm=csize, flux=clump_r * colour * wc,
                                             gsparams=gsp).shift(xc, yc))
                total += clump_r * colour * wc
        parts.append(disk.withFlux(fd))
        total += fd
        mags[b] = ZERO_POINT - 2.5 * math.log10(total)
        gal = galsim.Sum(parts)
        fwhm = getattr(row, f"psf_fwhm_{b}")
        prof = galsim.Convolve(gal, galsim.Kolmogorov(fwhm=fwhm, gsparams=gsp))
        offset = (row.dx, row.dy)
        if row.n_photons > 0:
            img = prof.drawImage(nx=size, ny=size, scale=PIXEL_SCALE, offset=offset,
                                 method="phot", n_photons=row.n_photons, poisson_flux=False,
                                 rng=galsim.BaseDeviate(int(seeds[1]) + k))
        else:
            img = prof.drawImage(nx=size, ny=size, scale=PIXEL_SCALE, offset=offset)
        if noise and row.noise_scale > 0:
            gain = ELECTRONS_PER_NMGY[b]
            sky_e = (10 ** (-0.4 * (getattr(row, f"sky_{b}") - ZERO_POINT))
                     * PIXEL_SCALE**2 * gain)
            clean = img.array.astype(np.float64) * gain
            noisy = galsim.Image(clean.copy(), scale=PIXEL_SCALE)
            noisy.addNoise(galsim.PoissonNoise(galsim.BaseDeviate(int(seeds[0]) + k),
                                               sky_level=sky_e))
            arr = noisy.array
            if row.noise_scale != 1.0:
                arr = clean + row.noise_scale * (arr - clean)
            out[k] = arr / gain
        else:
            out[k] = img.array
    if output == "bands":
        return out, mags
    rgb = lupton_rgb(out[::-1], **lupton)  # (i, r, g) -> (R, G, B)
    return _jpeg_round_trip(rgb, jpeg_quality), mags


def _jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode (3, H, W) uint8 as JPEG and decode it (SkyServer serves JPEG cutouts)."""
    from PIL import Image

    if quality is None:
        return rgb
    buf = io.BytesIO()
    Image.fromarray(np.moveaxis(rgb, 0, -1)).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as img:
        return np.ascontiguousarray(np.moveaxis(np.asarray(img.convert("RGB")), -1, 0))


def simulate_galaxies(n: int, variant: str = "observed", strength: float = 1.0, *,
                      size: int = 64, output: str = "rgb", noise: bool = True,
                      r_limit: float | None = _R_LIMIT, jpeg_quality: int | None = 75,
                      random_state=None) -> ImageSet:
    """Simulate ``n`` SDSS-like gri galaxy cutouts with galsim, observed or a variant.

    See :mod:`astroad_nb.data.galaxies.simulate` for the physics of the observed set.
    Variants (:data:`VARIANTS`), at strength ``s``:

    * ``"shot_noise"``: particle shot noise / low resolution - the galaxy drawn by photon
      shooting (``method="phot"``) with ``10**(5 - 2.5 s)`` photons per band (316 at s = 1),
      flux kept (a star-particle simulation with few particles);
    * ``"clumps"``: 4-12 blue (g-r 0.2) star-forming clumps, 300 pc FWHM, placed along the
      disk, carrying a fraction ``0.5 s`` of its r flux;
    * ``"concentrated"``: an over-concentrated bulge (the over-cooling problem): bulge radius
      ``x (1 - 0.7 s)``, B/T raised by ``0.5 s (1 - B/T)``, total flux kept;
    * ``"colour"``: bulge and disk bluer by ``0.3 s`` in g-r and ``0.15 s`` in r-i;
    * ``"no_psf_noise"``: a mock-pipeline mismatch - PSF FWHM ``x (1 - s)`` (floored at a
      one-pixel 0.4", which galsim needs for a finite FFT of the bulge's cusp), noise
      amplitude ``x (1 - s)``;
    * ``"nihao_stretch"``: the seed's NIHAO composite ``make_lupton_rgb(Q=20, stretch=0.1)``:
      Q, stretch and band scales log-interpolated from the observed ones, minimum linearly
      (changes ``output="rgb"`` only);
    * ``"face_on"``: inclination ``x (1 - s)``, bulge axis ratio ``q -> q**(1 - s)``.

    Parameters
    ----------
    n : int
        Number of galaxies.
    variant : str, default="observed"
        A key of :data:`VARIANTS`.
    strength : float in [0, 1], default=1
        How far the variant departs (0 = identical to ``"observed"``).
    size : int, default=64
        Cutout side [px] at 0.396"/px (any power of 2, e.g. 32 ... 256).
    output : {"rgb", "bands"}, default="rgb"
        ``"rgb"``: Lupton RGB (R, G, B = i, r, g) -> JPEG round trip -> [-1, 1], float32
        ``(n, 3, size, size)``, ``bands = ("i", "r", "g")``. ``"bands"``: sky-subtracted band
        images [nanomaggies / px], ``bands = ("g", "r", "i")``.
    noise : bool, default=True
        Add sky + galaxy Poisson noise (``False``: the noiseless, PSF-convolved images).
    r_limit : float or None, default=17.77
        Keep galaxies with r <= r_limit [mag] (SDSS main sample); ``None``: no flux limit.
    jpeg_quality : int or None, default=75
        JPEG quality of the RGB round trip; ``None`` skips it.
    random_state : int, numpy.random.Generator or None
        Seeds the population and, through per-image seeds, galsim's noise and photons.

    Returns
    -------
    ImageSet
        Table columns: ``id`` (``"<variant>-<s>-<galaxy>"``), ``label`` (1 for a variant with
        s > 0, else 0), ``set`` (the variant), ``galaxy`` (index, shared across variants of
        one ``random_state``), ``variant``, ``strength``, ``log_mstar`` [log10 Msun], ``z``,
        ``bt`` (r-band B/T), ``r_bulge_kpc``, ``r_disk_kpc``, ``r_bulge_arcsec``,
        ``r_disk_arcsec`` (half-light radii), ``q_bulge``, ``q_disk``, ``inclination_deg``,
        ``pa_deg``, ``mag_g``, ``mag_r``, ``mag_i`` (total model magnitudes, AB),
        ``gr_bulge``, ``gr_disk``, ``psf_fwhm_{g,r,i}`` [arcsec], ``sky_{g,r,i}``
        [mag/arcsec^2], ``dx``, ``dy`` (centre offset, px), ``clump_frac``, ``n_photons``,
        ``noise_scale``, ``lupton_Q``, ``lupton_stretch``, ``seed_noise``.

    Examples
    --------
    >>> from astroad_nb.data.galaxies import simulate_galaxies
    >>> obs = simulate_galaxies(4, random_state=0)
    >>> obs.images.shape, obs.bands
    ((4, 3, 64, 64), ('i', 'r', 'g'))
    >>> clumpy = simulate_galaxies(4, "clumps", 1.0, random_state=0)
    >>> bool((clumpy.table["galaxy"] == obs.table["galaxy"]).all())
    True
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    if output not in ("rgb", "bands"):
        raise ValueError(f"output must be 'rgb' or 'bands', got {output!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer >= 8 px, got {size!r}")
    n, size = int(n), int(size)
    s = 0.0 if variant == "observed" else float(strength)
    rng = np.random.default_rng(random_state)
    pop = _draw_population(n, rng, r_limit)
    seeds = rng.integers(1, 2**31 - 1, size=(n, 3))  # noise, photons, clumps
    params = _apply_variant(pop, variant, s)
    images = np.empty((n, 3, size, size), np.float32)
    mags = []
    lupton = _lupton_params(s if variant == "nihao_stretch" else 0.0)
    for i, row in enumerate(params.itertuples(index=False)):
        img, m = _draw_one(row, seeds[i], size, noise, output, jpeg_quality, lupton)
        images[i] = to_signed_unit(img) if output == "rgb" else img
        mags.append(m)
    table = pd.DataFrame({
        "id": [f"{variant}-{s:.2f}-{i:06d}" for i in range(n)], "path": None,
        "label": int(s > 0), "set": variant, "galaxy": np.arange(n), "variant": variant,
        "strength": s})
    cols = ["log_mstar", "z", "bt", "r_bulge_kpc", "r_disk_kpc", "r_bulge_arcsec",
            "r_disk_arcsec", "q_bulge", "q_disk", "inclination_deg", "pa_deg"]
    table = pd.concat([table, params[cols].reset_index(drop=True),
                       pd.DataFrame(mags).add_prefix("mag_")[[f"mag_{b}" for b in BANDS]],
                       params[["gr_bulge", "gr_disk", *[f"psf_fwhm_{b}" for b in BANDS],
                               *[f"sky_{b}" for b in BANDS], "dx", "dy", "clump_frac",
                               "n_photons", "noise_scale", "lupton_Q",
                               "lupton_stretch"]].reset_index(drop=True)], axis=1)
    table["seed_noise"] = seeds[:, 0]
    bands = ("i", "r", "g") if output == "rgb" else BANDS
    return ImageSet(images, table=table, bands=bands,
                    meta={"source": "simulate_galaxies", "variant": variant, "strength": s,
                          "pixel_scale": PIXEL_SCALE, "output": output,
                          "units": "[-1, 1]" if output == "rgb" else "nanomaggies / px",
                          "noise": noise, "r_limit": r_limit, "jpeg_quality": jpeg_quality})


def simulation_speed(n: int = 20, *, size: int = 64, variant: str = "observed",
                     random_state=0) -> float:
    """Measure the simulator's speed [images / s] on ``n`` images (one core's wall time)."""
    import time

    simulate_galaxies(2, variant, size=size, random_state=random_state)  # warm caches
    t0 = time.perf_counter()
    simulate_galaxies(n, variant, size=size, random_state=random_state)
    return n / (time.perf_counter() - t0)
