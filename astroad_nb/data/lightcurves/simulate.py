"""The light-curve simulator: ZTF-like curves of the 14 ALeRCE subclasses.

:func:`simulate_lightcurves` draws each subclass's r-band curves with its entry of
:data:`~astroad_nb.data.lightcurves.models.SUBCLASS_MODELS`, adds the per-band colours, the
ZTF-like noise and the detection cut, and returns a
:class:`~astroad_nb.data.lightcurves.LightCurves`. The random draws happen in a fixed order,
so a seed gives the same curves in every release.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from astroad_nb.data.lightcurves.containers import LightCurves
from astroad_nb.data.lightcurves.models import SUBCLASS_MODELS
from astroad_nb.data.lightcurves.taxonomy import TOP_CLASS

__all__ = ["simulate_lightcurves"]

# Colour and amplitude scaling between bands relative to r: mag_b = mag_r + CSCALE[b] * (g-r)
# and amplitude_b = amplitude_r * ratio ** CSCALE[b], where ratio = amplitude_g / amplitude_r.
_CSCALE = {"u": 2.2, "g": 1.0, "r": 0.0, "i": -0.5, "z": -0.8, "y": -1.0}


def _sim_class(sub, n, rng, bands):
    """Simulate ``n`` objects of subclass ``sub``: (obj, time, band, mag_true, meta dict)."""
    nan = np.full(n, np.nan)
    meta = {"period": nan.copy(), "peak_mag": nan.copy(), "mean_mag": nan.copy(),
            "amplitude": nan.copy(), "tau": nan.copy(), "abs_mag": nan.copy(),
            "distance_modulus": nan.copy()}
    model = SUBCLASS_MODELS[sub]
    obj, t, b, keep, base_r, colour, ratio, dm_r = model.simulate(model.prior, n, rng, bands,
                                                                  meta)
    meta["mean_mag"] = base_r

    # per-band magnitudes
    mag = np.empty(t.size)
    for band in bands:
        sel = b == band
        cs = _CSCALE.get(band, 0.0)
        mag[sel] = (base_r[obj[sel]] + (cs * colour[sel])
                    + ratio[obj[sel]] ** cs * dm_r[sel])
    return obj[keep], t[keep], b[keep], mag[keep], meta


def simulate_lightcurves(n_per_class: int | dict, *, random_state=None,
                         subclasses: Sequence[str] | None = None,
                         bands: Sequence[str] = ("g", "r"),
                         limiting_mag: float = 20.6, error_floor: float = 0.015,
                         id_prefix: str = "sim", min_detections: int = 6) -> LightCurves:
    """Simulate ZTF-like light curves of the 14 ALeRCE subclasses.

    Parameters
    ----------
    n_per_class : int or dict
        Objects per subclass, or ``{subclass: n}``.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives identical output.
    subclasses : sequence of str, optional
        Subset of the 14 subclasses (see :data:`SUBCLASSES`); default all.
    bands : sequence of str, default=("g", "r")
        Bands to simulate; ``u, g, r, i, z, y`` have colour/amplitude scalings.
    limiting_mag : float, default=20.6
        Median 5-sigma limiting magnitude; each epoch's limit scatters by 0.3 mag (clipped
        to [19.5, 21.3]). Only detections (observed mag brighter than the limit) are kept,
        as in ALeRCE.
    error_floor : float, default=0.015
        Systematic error floor (mag), added in quadrature.
    min_detections : int, default=6
        Objects with fewer detections (g and r together) are redrawn, as ALeRCE only
        classifies objects with at least ~6 detections (a SN in a seasonal gap never enters).
    id_prefix : str, default="sim"
        Object ids are ``f"{id_prefix}-{k:06d}"``, numbered in subclass order.

    Returns
    -------
    LightCurves
        ``meta`` columns: ``subclass``, ``top_class``, ``period`` (days, NaN when not
        periodic; for eclipsing binaries the orbital period, twice the dominant photometric
        one), ``peak_mag`` (transients: peak r mag), ``mean_mag`` (r reference mag),
        ``amplitude`` (r: pulsation amplitude, DRW sigma), ``tau`` (DRW time-scale, days),
        ``t0`` (transients: MJD of the rise), ``abs_mag`` (absolute r mag, peak for
        transients) and ``distance_modulus`` (mag; Galactic classes: including extinction).

    Notes
    -----
    Cadence: nights observed with probability 0.25-0.45 during a 7-8-month visibility season
    (4-5-month seasonal gaps), 5-night weather gaps, each band taken with probability ~0.8 at
    its own time of night; 1-3 year baselines (transients: ~1 year, kept from 60 d before
    the rise to 250 d after, 400 d for SLSN). Errors: ``sigma = hypot(floor, 1.0857 / snr)``
    with ``snr = 5 * 10 ** (-0.4 * (m - m_lim))``, so errors grow towards the limit
    (0.22 mag at the limit). Shapes: transients follow a Villar-type rise/plateau/decline
    with subclass time-scales and g-r reddening after peak; AGN/QSO/Blazar/YSO/CV are damped
    random walks (plus flares, dips or outbursts); RRL/CEP/DSCT/LPV are sawtooth-like pulsators
    with a period-amplitude relation for CEP; E are two-eclipse binaries. Apparent
    magnitudes are an absolute magnitude per subclass plus a distance modulus drawn for a
    uniform (extragalactic) or disc (Galactic) population inside the ZTF window 13.5-20.5 mag
    (:class:`~astroad_nb.data.lightcurves.models.Luminosity`), so the subclasses' magnitude
    ranges overlap as on the sky. Parameter ranges
    overlap on purpose (SNIa/SNIbc, AGN/QSO, RRL/CEP) so subclasses are not trivially
    separable.

    Examples
    --------
    >>> lcs = simulate_lightcurves(3, random_state=1)
    >>> len(lcs)
    42
    """
    rng = np.random.default_rng(random_state)
    if isinstance(n_per_class, dict):
        plan = {str(k): int(v) for k, v in n_per_class.items()}
    else:
        chosen = list(subclasses) if subclasses is not None else list(TOP_CLASS)
        plan = {s: int(n_per_class) for s in chosen}
    unknown = [s for s in plan if s not in TOP_CLASS]
    if unknown:
        raise ValueError(f"unknown subclass(es) {unknown}; expected some of {list(TOP_CLASS)}.")
    if any(v < 0 for v in plan.values()):
        raise ValueError(f"n_per_class must be >= 0, got {plan}.")
    bands = [str(b).lower() for b in bands]

    frames, metas, offset = [], [], 0
    for sub, n in plan.items():
        if n == 0:
            continue
        accepted, metas_sub, need = [], [], n
        for _attempt in range(50):
            obj, t, b, mag_true, meta = _sim_class(sub, need, rng, bands)
            m_lim = np.clip(rng.normal(limiting_mag, 0.3, t.size), 19.5, 21.3)
            # Noise is added in flux (units of the 1-sigma flux at this epoch's 5-sigma limit)
            # and detection is a 5-sigma cut on the *observed* flux, as in ZTF difference
            # imaging; Gaussian noise in magnitudes instead explodes for faint epochs.
            snr = 5.0 * 10 ** (-0.4 * (mag_true - m_lim)) + rng.normal(0, 1, t.size)
            det = snr >= 5.0
            snr_det = np.clip(snr, 5.0, None)
            err = np.hypot(error_floor, 1.0857 / snr_det)
            mag = m_lim - 2.5 * np.log10(snr_det / 5.0) + rng.normal(0, error_floor, t.size)
            ok = np.bincount(obj[det], minlength=need) >= min_detections
            keep = det & ok[obj]
            accepted.append((obj[keep], b[keep], t[keep], mag[keep], err[keep], np.flatnonzero(ok)))
            metas_sub.append({k: np.asarray(v)[ok] for k, v in meta.items()})
            need -= int(ok.sum())
            if need == 0:
                break
        if need:
            raise RuntimeError(f"could not simulate {n} detectable {sub} light curves "
                               f"(limiting_mag={limiting_mag}); lower min_detections.")
        ids = np.array([f"{id_prefix}-{offset + k:06d}" for k in range(n)], dtype=object)
        start = 0
        for o, bb, tt, mm, ee, ok_idx in accepted:
            remap = np.full(ok_idx.max() + 1 if len(ok_idx) else 0, -1)
            remap[ok_idx] = np.arange(len(ok_idx)) + start
            frames.append(pd.DataFrame({"object_id": ids[remap[o]], "band": bb, "time": tt,
                                        "mag": mm, "magerr": ee}))
            start += len(ok_idx)
        meta = {k: np.concatenate([m[k] for m in metas_sub]) for k in metas_sub[0]}
        meta_frame = pd.DataFrame(meta, index=pd.Index(ids, name="object_id"))
        meta_frame.insert(0, "top_class", TOP_CLASS[sub])
        meta_frame.insert(0, "subclass", sub)
        metas.append(meta_frame)
        offset += n
    if not frames:
        raise ValueError("simulate_lightcurves: nothing to simulate (all counts are zero).")
    meta = pd.concat(metas)
    cols = ["subclass", "top_class", "period", "peak_mag", "mean_mag", "amplitude", "tau", "t0",
            "abs_mag", "distance_modulus"]
    meta = meta.reindex(columns=cols)
    return LightCurves(pd.concat(frames, ignore_index=True), meta,
                       source=f"simulate_lightcurves(random_state={random_state!r})")
