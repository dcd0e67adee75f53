"""Simulated alert packets for a night: light curves -> ZTF-schema Avro alerts with cutouts.

:func:`simulate_alert_packets` turns simulated (or real) light curves into packets as a broker
receives them: the ``candidate`` is one detection, ``prv_candidates`` the ``n_prv`` before it
(and optional upper limits, ``candid`` null), the three cutouts gzipped FITS stamps of a
:class:`~astroad_nb.data.alerts.CutoutSet`. :func:`write_avro_alerts` writes them with fastavro
under a schema, by default the real one of a ZTF packet (:func:`ztf_schema`), completing
required fields the simulation does not set with typed zeros.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from pathlib import Path

import numpy as np

__all__ = ["simulate_alert_packets", "stamp_bytes", "write_avro_alerts", "ztf_schema"]

_JD_OFFSET = 2400000.5
_BAND_FID = {"g": 1, "r": 2, "i": 3}


def stamp_bytes(image, *, compresslevel=6) -> bytes:
    """A 2-D float32 image as gzipped FITS bytes (a ZTF ``stampData``).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Row 0 = lowest y (FITS order); NaN allowed.
    compresslevel : int, default=6

    Returns
    -------
    bytes
    """
    data = np.asarray(image, dtype=">f4")
    cards = ["SIMPLE  =                    T", "BITPIX  =                  -32",
             "NAXIS   =                    2", f"NAXIS1  = {data.shape[1]:>20d}",
             f"NAXIS2  = {data.shape[0]:>20d}", "END"]
    header = "".join(c.ljust(80) for c in cards)
    header = header.ljust(-(-len(header) // 2880) * 2880).encode("ascii")
    body = data.tobytes()
    body += b"\0" * (-len(body) % 2880)
    return gzip.compress(header + body, compresslevel=compresslevel, mtime=0)


def ztf_schema(path=None) -> dict:
    """The Avro schema of a ZTF alert: a real packet's, or a compact one with ZTF's names.

    Parameters
    ----------
    path : str or Path, optional
        An Avro alert file whose writer schema is returned.

    Returns
    -------
    dict
        Avro schema (``ztf.alert``-like: ``objectId``, ``candid``, ``candidate``,
        ``prv_candidates``, ``cutoutScience/Template/Difference``).
    """
    if path is not None:
        import fastavro

        with open(path, "rb") as fh:
            return fastavro.reader(fh).writer_schema
    num = [("jd", "double"), ("fid", "int"), ("pid", "long"), ("diffmaglim", "float"),
           ("programid", "int"), ("candid", "long"), ("isdiffpos", "string"),
           ("rcid", "int"), ("field", "int"), ("xpos", "float"), ("ypos", "float"),
           ("ra", "double"), ("dec", "double"), ("magpsf", "float"), ("sigmapsf", "float"),
           ("fwhm", "float"), ("elong", "float"), ("nbad", "int"), ("rb", "float"),
           ("drb", "float"), ("magnr", "float"), ("distnr", "float")]

    def record(name):
        return {"type": "record", "name": name,
                "fields": [{"name": n, "type": [t, "null"]} for n, t in num]}

    cutout = {"type": "record", "name": "cutout",
              "fields": [{"name": "fileName", "type": "string"},
                         {"name": "stampData", "type": "bytes"}]}
    return {"type": "record", "name": "alert", "namespace": "ztf",
            "fields": [{"name": "schemavsn", "type": "string"},
                       {"name": "publisher", "type": "string"},
                       {"name": "objectId", "type": "string"},
                       {"name": "candid", "type": "long"},
                       {"name": "candidate", "type": record("candidate")},
                       {"name": "prv_candidates",
                        "type": [{"type": "array", "items": record("prv_candidate")}, "null"]},
                       {"name": "cutoutScience", "type": [cutout, "null"]},
                       {"name": "cutoutTemplate", "type": ["ztf.cutout", "null"]},
                       {"name": "cutoutDifference", "type": ["ztf.cutout", "null"]}]}


def simulate_alert_packets(lightcurves, *, n_alerts=None, n_prv=30, cutouts=None,
                           n_upper_limits=0, random_state=None, rb=0.9,
                           first_candid=2_000_000_000_000_000_000, object_prefix="ZTF26sim"):
    """Alert packets from light curves: each alert is one detection and its history.

    Parameters
    ----------
    lightcurves : LightCurves
        Bands g, r (i) become ZTF ``fid`` 1, 2 (3).
    n_alerts : int, optional
        Alerts to make (objects are cycled); default one per object.
    n_prv : int, default=30
        Detections before the candidate in ``prv_candidates`` (fewer where the curve is
        shorter); the candidate is drawn among the epochs that have that many before it
        when the curve allows.
    cutouts : CutoutSet, optional
        Triplets for the cutouts (cycled; each compressed once); ``None``: no cutouts.
    n_upper_limits : int, default=0
        Non-detections (``candid`` null, ``magpsf`` null) added to each history.
    random_state : int, optional
    rb : float, default=0.9
        ``rb`` of every detection.
    first_candid : int
        ``candid`` of the first alert; the others follow (history entries get their own).
    object_prefix : str
        ``objectId`` = prefix + a 7-digit object number.

    Returns
    -------
    list of dict
        Packets as fastavro returns them.
    """
    rng = np.random.default_rng(random_state)
    ids = [i for i in lightcurves.ids if lightcurves.n_points[i] > 0]
    n_alerts = len(ids) if n_alerts is None else int(n_alerts)
    stamps = None
    if cutouts is not None:
        imgs = np.where(cutouts.mask, cutouts.images, np.nan)
        stamps = [tuple(stamp_bytes(img[c]) for c in range(3)) for img in imgs]
    frames = {}
    packets, candid = [], int(first_candid)
    for k in range(n_alerts):
        oid = ids[k % len(ids)]
        if oid not in frames:
            frame = lightcurves.get(oid).sort_values("time", kind="mergesort")
            frames[oid] = frame[frame["band"].isin(list(_BAND_FID))].to_numpy()
        rows = frames[oid]
        lo = min(n_prv, len(rows) - 1)
        j = int(rng.integers(lo, len(rows)))
        hist = rows[max(0, j - n_prv):j]
        ra, dec = float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        cand = _entry(rows[j], candid, ra, dec, rb)
        prv = [_entry(r, candid - 1000 - i, ra, dec, rb) for i, r in enumerate(hist)]
        for _ in range(n_upper_limits):
            t = float(rng.uniform(rows[0][0], rows[j][0])) if j else float(rows[j][0]) - 1
            prv.append({"jd": t + _JD_OFFSET, "fid": int(rng.integers(1, 3)), "candid": None,
                        "magpsf": None, "sigmapsf": None, "diffmaglim": 20.5, "rb": None,
                        "programid": 1, "pid": 0})
        prv.sort(key=lambda e: e["jd"])
        packet = {"schemavsn": "3.3", "publisher": "astroad_nb simulation",
                  "objectId": f"{object_prefix}{ids.index(oid):07d}", "candid": candid,
                  "candidate": cand, "prv_candidates": prv}
        for name, c in zip(("cutoutScience", "cutoutTemplate", "cutoutDifference"), range(3),
                           strict=True):
            packet[name] = None if stamps is None else {
                "fileName": f"candid{candid}_{name[6:].lower()}.fits.gz",
                "stampData": stamps[k % len(stamps)][c]}
        packets.append(packet)
        candid += 1
    return packets


def _entry(row, candid, ra, dec, rb):
    t, mag, err, band = float(row[0]), float(row[1]), float(row[2]), str(row[3])
    return {"jd": t + _JD_OFFSET, "fid": _BAND_FID[band], "candid": int(candid),
            "magpsf": mag, "sigmapsf": max(err, 1e-3), "ra": ra, "dec": dec, "rb": rb,
            "drb": rb, "isdiffpos": "t", "xpos": 1536.0, "ypos": 1540.0, "programid": 1,
            "pid": int(candid // 1000), "diffmaglim": 20.5, "fwhm": 2.0, "elong": 1.1,
            "nbad": 0, "rcid": 0, "field": 600}


def write_avro_alerts(packets, folder, *, schema=None, codec="null", alerts_per_file=1,
                      prefix="alert"):
    """Write packets as Avro container files (as ZTF does: one alert per file by default).

    Parameters
    ----------
    packets : list of dict
    folder : str or Path
        Created if needed.
    schema : dict, optional
        Default :func:`ztf_schema` ``()``; pass ``ztf_schema(real_packet)`` for the real one.
        Required fields missing from a packet are written as typed zeros (``""``, 0, 0.0).
    codec : {"null", "deflate", "snappy"}, default="null"
    alerts_per_file : int, default=1
    prefix : str
        File names ``{prefix}_{candid}.avro``.

    Returns
    -------
    list of pathlib.Path
    """
    import fastavro

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    schema = ztf_schema() if schema is None else schema
    parsed = fastavro.parse_schema(schema)
    named = {}
    _collect_named(schema, named)
    # Every file gets the same header (schema, codec, sync marker): it is written once, and
    # each file is that header plus one block of records (the Avro container layout).
    sync = hashlib.sha1(json.dumps(schema, sort_keys=True).encode()).digest()[:16]
    head = io.BytesIO()
    fastavro.writer(head, parsed, [], codec=codec, sync_marker=sync)
    header = head.getvalue()
    paths, cache = [], {}
    for start in range(0, len(packets), alerts_per_file):
        chunk = [_fill(p, schema, named, cache)
                 for p in packets[start:start + alerts_per_file]]
        body = io.BytesIO()
        for record in chunk:
            fastavro.schemaless_writer(body, parsed, record)
        block = _compress(body.getvalue(), codec)
        path = folder / f"{prefix}_{chunk[0]['candid']}.avro"
        path.write_bytes(b"".join([header, _long(len(chunk)), _long(len(block)), block, sync]))
        paths.append(path)
    return paths


def _long(n):
    """Avro zig-zag varint."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _compress(data, codec):
    if codec == "null":
        return data
    if codec == "deflate":
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()
    if codec == "snappy":
        import cramjam

        return bytes(cramjam.snappy.compress_raw(data)) + zlib.crc32(data).to_bytes(4, "big")
    raise ValueError(f"codec must be 'null', 'deflate' or 'snappy', got {codec!r}.")


def _collect_named(t, named, namespace=None):
    if isinstance(t, list):
        for x in t:
            _collect_named(x, named, namespace)
    elif isinstance(t, dict):
        if t.get("type") == "record":
            name = t["name"]
            ns = t.get("namespace", namespace)
            named[name] = t
            if ns and "." not in name:
                named[f"{ns}.{name}"] = t
            for f in t["fields"]:
                _collect_named(f["type"], named, ns)
        elif t.get("type") == "array":
            _collect_named(t["items"], named, namespace)


_ZERO = {"string": "", "bytes": b"", "int": 0, "long": 0, "float": 0.0, "double": 0.0,
         "boolean": False}


def _fill(value, t, named, cache=None):
    """Complete ``value`` for type ``t``: required record fields get typed zeros."""
    cache = {} if cache is None else cache
    if isinstance(t, str) and t in named:
        t = named[t]
    if isinstance(t, list):
        if value is None and "null" in t:
            return None
        branch = next((b for b in t if b != "null"), t[0])
        return _fill(value, branch, named, cache)
    if isinstance(t, dict) and t.get("type") == "record":
        template, nested = _template(t, named, cache)
        out = dict(template)
        for key, v in (value or {}).items():
            if key in nested:
                out[key] = _fill(v, nested[key], named, cache)
            elif key in out and (v is not None or template[key] is None):
                out[key] = v
        for key, ft in nested.items():
            if key not in (value or {}):
                out[key] = _fill(None, ft, named, cache)
        return out
    if isinstance(t, dict) and t.get("type") == "array":
        return [_fill(v, t["items"], named, cache) for v in (value or [])]
    if value is None:
        key = t if isinstance(t, str) else t.get("type")
        return _ZERO.get(key)
    return value


def _template(t, named, cache):
    """(scalar fields -> default/zero/None, complex fields -> type) of a record, cached."""
    key = id(t)
    if key not in cache:
        template, nested = {}, {}
        for f in t["fields"]:
            ft = f["type"]
            base = [b for b in (ft if isinstance(ft, list) else [ft]) if b != "null"]
            simple = len(base) == 1 and isinstance(base[0], str) and base[0] in _ZERO
            if simple:
                nullable = isinstance(ft, list) and "null" in ft
                template[f["name"]] = f.get("default", None if nullable else _ZERO[base[0]])
            else:
                nested[f["name"]] = ft
        cache[key] = (template, nested)
    return cache[key]
