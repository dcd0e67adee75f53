"""Alert packets -> a batch: one table row, one light curve and one cutout triplet per alert.

The light curve of an alert is its ``prv_candidates`` plus its ``candidate``, cleaned with the
detection rules of ALeRCE's light-curve classifier (``DetectionsPreprocessorZTF``):

1. detections only: entries whose ``candid`` is null are non-detections (upper limits) and
   are dropped;
2. entries with a missing or non-finite ``jd``, ``fid``, ``magpsf`` or ``sigmapsf`` are dropped;
3. noisy ones too: ``0 < sigmapsf < max_sigma`` (1 mag) is kept;
4. bogus ones too: ``rb >= rb_min`` (0.55) is kept (``rb_min=None`` keeps all, as ALeRCE's
   stream mode does);
5. duplicate epochs (same ``jd``) keep the first, the history's entry before the candidate.

An alert whose curve then has fewer than ``min_detections`` detections (6) in the bands of the
bundle, all bands together, is not scored by the detectors (reason ``few_detections``). That is
what ALeRCE's ``enough_alerts`` does: its "more than 5 in g or in r" takes
``len(group.fid == 1)``, the length of a boolean mask, i.e. all detections. Its name says per
band, its code (which ALeRCE's classifier ran with) counts all; we follow the code, the looser
rule: a per-band count left 1 of the 98 real ZTF alerts of ``../shared/data`` scoreable, this
one 4 (their packets are short: median 1 detection after the rules).

Magnitudes are the difference-image PSF magnitudes ``magpsf`` (ALeRCE's uncorrected
``magpsf_ml`` for objects it does not correct); times are MJD = JD - 2400000.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from astroad_nb.data.bands import ZTF_FID_TO_BAND
from astroad_nb.data.lightcurves import LightCurves

__all__ = ["AlertBatch", "REASONS", "build_batch", "light_curve_rows"]

#: Reason codes of the ``reason`` column (rows) and of the rejects table, with their meaning.
REASONS: dict[str, str] = {
    # a row is written, part of it could not be scored
    "no_cutouts": "the packet carries no cutout: p_real is NaN, the light curve is scored",
    "incomplete_cutouts": "one or two of the three cutouts are missing: p_real is NaN",
    "bad_cutouts": "a cutout could not be decoded: p_real is NaN",
    "no_realbogus_model": "the bundle has no real/bogus CNN: p_real is NaN",
    "no_prv_candidates": "no history in the packet: the light curve is the candidate alone",
    "few_detections": "fewer detections than min_detections (all bands of the bundle): "
                      "anomaly_score, top_class are NaN",
    "no_features": "every light-curve feature is undefined: anomaly_score is NaN",
    "outside_probabilities_missing": "class_probabilities has no entry for this alert: the "
                                     "bundle's own were used",
    # no row is written: the rejects table names the packet
    "unreadable_file": "a file, tar stream or container block could not be read (truncated?)",
    "not_an_alert": "a record without a 'candidate' record",
    "missing_id": "no candid, objectId, jd or fid",
    "duplicate_candid": "the same candid met earlier in the same partition",
}

_MJD_OFFSET = 2400000.5


@dataclass
class AlertBatch:
    """The alerts of one partition, ready to score.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per alert: ``objectId, candid, jd, fid, ra, dec, magpsf, n_det, source,
        index``; ``n_det`` = detections kept in its light curve.
    lightcurves : LightCurves
        One curve per alert, ``object_id = str(candid)`` (two alerts of an object in one night
        each carry their own history).
    images : ndarray of float32, shape (N, 3, S, S), or None
        Cutout triplets (NaN where invalid; zeros where an alert has none); ``None`` when no
        cutouts were asked for.
    has_images : ndarray of bool, shape (N,)
        The triplet is complete and decoded.
    reasons : list of list of str
        Per alert, reason codes (with details) of what could not be scored.
    rejects : list of dict
        Packets that gave no row (see :data:`REASONS`).
    """

    table: pd.DataFrame
    lightcurves: LightCurves
    images: np.ndarray | None
    has_images: np.ndarray
    reasons: list
    rejects: list


def _finite(v):
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def light_curve_rows(candidate: dict, prv_candidates, *, rb_min=0.55, max_sigma=1.0):
    """Detections of one alert after the ALeRCE rules (see the module docstring).

    Parameters
    ----------
    candidate : dict
        The packet's ``candidate``.
    prv_candidates : list of dict or None
        The packet's history.
    rb_min : float or None, default=0.55
    max_sigma : float, default=1.0

    Returns
    -------
    list of (mjd, band, magpsf, sigmapsf)
        Time-ordered as in the packet (history first, then the candidate).
    """
    rows, seen = [], set()
    for entry in [*(prv_candidates or ()), candidate]:
        if not isinstance(entry, dict) or entry.get("candid") is None:
            continue  # an upper limit, not a detection
        jd, fid, mag, sig = (entry.get("jd"), entry.get("fid"), entry.get("magpsf"),
                             entry.get("sigmapsf"))
        if not (_finite(jd) and _finite(mag) and _finite(sig)) or fid not in ZTF_FID_TO_BAND:
            continue
        if not 0.0 < sig < max_sigma:
            continue
        if rb_min is not None:
            rb = entry.get("rb")
            if not _finite(rb) or rb < rb_min:
                continue
        if jd in seen:
            continue
        seen.add(jd)
        rows.append((jd - _MJD_OFFSET, ZTF_FID_TO_BAND[fid], float(mag), float(sig)))
    return rows


def _decode_triplet(record, size, xpos, ypos):
    """(3, size, size) float32 triplet and its padding info, by the alerts package's decoder."""
    from astroad_nb.data.alerts.cutouts import alert_cutouts

    return alert_cutouts(record, size, {"xpos": xpos, "ypos": ypos})


def build_batch(packets, *, bands=("g", "r"), rb_min=0.55, max_sigma=1.0,
                min_detections=6, cutout_size=None) -> AlertBatch:
    """Parse packets into an :class:`AlertBatch`.

    Parameters
    ----------
    packets : list of (dict, str, int)
        ``(packet, source label, index in source)`` as :func:`~astroad_nb.scoring.sources.
        read_partition` returns them.
    bands : sequence of str
        Bands the bundle's features read: detections in others are left out, and
        ``min_detections`` is counted over these together.
    rb_min, max_sigma : float
        Detection rules (module docstring).
    min_detections : int, default=6
        Fewest detections (all bands together) for the detectors to score an alert.
    cutout_size : int or None
        Side of the decoded cutouts in pixels; ``None`` skips decoding (no CNN).

    Returns
    -------
    AlertBatch
    """
    bands = [str(b).lower() for b in bands]
    rows, reasons, rejects, lc_parts, images = [], [], [], [], []
    seen = set()
    for packet, source, index in packets:
        cand = packet.get("candidate") if isinstance(packet, dict) else None
        if not isinstance(cand, dict):
            rejects.append(_reject(source, index, "not_an_alert",
                                   "no 'candidate' record; not a ZTF alert packet"))
            continue
        candid = packet.get("candid") if packet.get("candid") is not None else cand.get("candid")
        object_id = packet.get("objectId")
        jd, fid = cand.get("jd"), cand.get("fid")
        missing = [n for n, v in (("candid", candid), ("objectId", object_id), ("jd", jd),
                                  ("fid", fid)) if v is None]
        if missing:
            rejects.append(_reject(source, index, "missing_id", f"no {', '.join(missing)}",
                                   object_id, candid))
            continue
        candid = int(candid)
        if candid in seen:
            rejects.append(_reject(source, index, "duplicate_candid", f"candid {candid} again",
                                   object_id, candid))
            continue
        seen.add(candid)
        why = []
        prv = packet.get("prv_candidates")
        if not prv:
            why.append("no_prv_candidates")
        det = [d for d in light_curve_rows(cand, prv, rb_min=rb_min, max_sigma=max_sigma)
               if d[1] in bands]  # other bands: no feature reads them
        key = str(candid)
        lc_parts.append((key, det))
        if len(det) < min_detections:  # all bands together, as ALeRCE's code counts
            why.append(f"few_detections({len(det)}<{min_detections})")
        if cutout_size is not None:
            image, ok, note = _cutouts(packet, cutout_size, cand)
            images.append(image)
            if note:
                why.append(note)
        else:
            ok = False
        rows.append({"objectId": str(object_id), "candid": candid, "jd": float(jd),
                     "fid": int(fid), "ra": cand.get("ra"), "dec": cand.get("dec"),
                     "magpsf": cand.get("magpsf"), "n_det": len(det), "has_images": ok,
                     "source": source, "index": int(index)})
        reasons.append(why)
    table = pd.DataFrame(rows, columns=["objectId", "candid", "jd", "fid", "ra", "dec",
                                        "magpsf", "n_det", "has_images", "source", "index"])
    for col in ("ra", "dec", "magpsf", "jd"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(np.float64)
    table["candid"] = table["candid"].astype("int64")
    table["fid"] = table["fid"].astype("int64")
    table["n_det"] = table["n_det"].astype("int64")
    has_images = table.pop("has_images").to_numpy(dtype=bool)
    lcs = _lightcurves(lc_parts)
    if cutout_size is None:
        stack = None
    elif images:
        stack = np.stack(images)
    else:
        stack = np.zeros((0, 3, cutout_size, cutout_size), np.float32)
    return AlertBatch(table=table, lightcurves=lcs, images=stack, has_images=has_images,
                      reasons=reasons, rejects=rejects)


def _cutouts(packet, size, cand):
    """(triplet, complete?, reason or None) of one packet."""
    blank = np.full((3, size, size), np.nan, np.float32)
    if all(packet.get(n) is None for n in ("cutoutScience", "cutoutTemplate",
                                           "cutoutDifference")):
        return blank, False, "no_cutouts"
    try:
        image, pads = _decode_triplet(packet, size, cand.get("xpos"), cand.get("ypos"))
    except Exception as exc:  # one bad stamp must not stop the night
        text = str(exc)
        if "no cutout at all" in text:
            return blank, False, "no_cutouts"
        return blank, False, f"bad_cutouts({type(exc).__name__}: {text[:80]})"
    missing = int(pads.get("n_missing_cutouts", 0))
    if missing:
        return image, False, f"incomplete_cutouts({missing} of 3 missing)"
    return image, True, None


def _lightcurves(parts):
    n = sum(len(d) for _, d in parts)
    oid = np.empty(n, dtype=object)
    band = np.empty(n, dtype=object)
    vals = np.empty((n, 3), np.float64)
    k = 0
    for key, det in parts:
        m = len(det)
        if not m:
            continue
        oid[k:k + m] = key
        band[k:k + m] = [d[1] for d in det]
        vals[k:k + m] = [(d[0], d[2], d[3]) for d in det]
        k += m
    frame = pd.DataFrame({"object_id": oid, "band": band, "time": vals[:, 0],
                          "mag": vals[:, 1], "magerr": vals[:, 2]})
    meta = pd.DataFrame(index=pd.Index([key for key, _ in parts], name="object_id"))
    return LightCurves(frame, meta, source="alert packets")


def _reject(source, index, reason, detail, object_id=None, candid=None):
    return {"source": str(source), "index": int(index),
            "objectId": None if object_id is None else str(object_id),
            "candid": None if candid is None else int(candid), "reason": reason,
            "detail": str(detail)}
