"""Readers of alert cutout triplets: ZTF Avro packets, RB-C1000 stamp tables, npy/npz.

The Avro packets are written here with fastavro in a minimal but faithful ZTF 3.3-style
schema (named records ``ztf.alert.candidate``/``prv_candidate``/``cutout``, nullable optional
fields, cutouts as gzipped FITS made with astropy).
"""

from __future__ import annotations

import gzip
import io

import fastavro
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astroad_nb.data.alerts import (
    CHANNELS,
    CutoutSet,
    read_alerts,
    read_stamp_table,
    read_triplet_array,
)

# ---------------------------------------------------------------------------------------------
# a ZTF 3.3-style schema and packet builder
# ---------------------------------------------------------------------------------------------
_CANDIDATE_FIELDS = [
    ("jd", "double"), ("fid", "int"), ("pid", "long"), ("diffmaglim", ["float", "null"]),
    ("programid", "int"), ("candid", "long"), ("isdiffpos", "string"),
    ("field", ["int", "null"]), ("rcid", ["int", "null"]),
    ("xpos", ["float", "null"]), ("ypos", ["float", "null"]), ("ra", "double"),
    ("dec", "double"), ("magpsf", "float"), ("sigmapsf", "float"), ("fwhm", ["float", "null"]),
    ("elong", ["float", "null"]), ("nbad", ["int", "null"]), ("rb", ["float", "null"]),
    ("drb", ["float", "null"]), ("drbversion", ["string", "null"]),
]


def _field(name, avro_type):
    spec = {"name": name, "type": avro_type}
    if isinstance(avro_type, list) and avro_type[-1] == "null":
        spec["type"] = ["null", *avro_type[:-1]]  # Avro: default null needs null first
        spec["default"] = None
    return spec


def _schema(*, drop=(), extra_candidate=(), extra_top=()):
    cand_fields = [_field(n, t) for n, t in _CANDIDATE_FIELDS if n not in drop]
    cand_fields += [_field(n, t) for n, t in extra_candidate]
    candidate = {"namespace": "ztf.alert", "type": "record", "name": "candidate",
                 "fields": cand_fields}
    prv = {"namespace": "ztf.alert", "type": "record", "name": "prv_candidate",
           "fields": [_field(n, t) for n, t in _CANDIDATE_FIELDS[:8]]}
    cutout = {"namespace": "ztf.alert", "type": "record", "name": "cutout",
              "fields": [{"name": "fileName", "type": "string"},
                         {"name": "stampData", "type": "bytes"}]}
    fields = [
        {"name": "schemavsn", "type": "string"},
        {"name": "publisher", "type": "string"},
        {"name": "objectId", "type": "string"},
        {"name": "candid", "type": "long"},
        {"name": "candidate", "type": candidate},
        {"name": "prv_candidates", "type": ["null", {"type": "array", "items": prv}],
         "default": None},
        {"name": "cutoutScience", "type": ["null", cutout], "default": None},
        {"name": "cutoutTemplate", "type": ["null", "ztf.alert.cutout"], "default": None},
        {"name": "cutoutDifference", "type": ["null", "ztf.alert.cutout"], "default": None},
    ]
    fields += [_field(n, t) for n, t in extra_top]
    return fastavro.parse_schema({"namespace": "ztf", "type": "record", "name": "alert",
                                  "version": "3.3", "fields": fields})


def _stamp(data):
    """Gzipped FITS bytes of a 2-D array, as ZTF ships them."""
    buf = io.BytesIO()
    fits.PrimaryHDU(np.asarray(data, np.float32)).writeto(buf)
    return gzip.compress(buf.getvalue())


def _alert(candid, *, shape=(63, 63), xpos=1500.0, ypos=1500.0, science=None, drop=()):
    rng = np.random.default_rng(candid % 2**32)
    cand = {"jd": 2459000.5 + candid % 100, "fid": 1 + candid % 2, "pid": 111, "diffmaglim": 20.5,
            "programid": 1, "candid": candid, "isdiffpos": "t", "field": 600, "rcid": 40,
            "xpos": xpos, "ypos": ypos, "ra": 150.0, "dec": 2.5, "magpsf": 18.25,
            "sigmapsf": 0.05, "fwhm": 2.2, "elong": 1.1, "nbad": 0, "rb": 0.8, "drb": 0.9,
            "drbversion": "d6_m7"}
    for name in drop:
        cand.pop(name, None)
    images = [rng.normal(100.0 * (c + 1), 1.0, shape) for c in range(3)]  # 100/200/300
    if science is not None:
        images[0] = science
    cutouts = {name: {"fileName": f"{name}.fits.gz", "stampData": _stamp(img)}
               for name, img in zip(("cutoutScience", "cutoutTemplate", "cutoutDifference"),
                                    images, strict=True)}
    prv = [{k: cand.get(k) for k, _ in _CANDIDATE_FIELDS[:8]}]
    return {"schemavsn": "3.3", "publisher": "ZTF (www.ztf.caltech.edu)",
            "objectId": f"ZTF20aaa{candid % 1000:04d}", "candid": candid, "candidate": cand,
            "prv_candidates": prv, **cutouts}


def _write(path, records, *, codec="null", schema=None, sync_interval=16000):
    with open(path, "wb") as fh:
        fastavro.writer(fh, schema or _schema(), records, codec=codec,
                        sync_interval=sync_interval)
    return path


# ---------------------------------------------------------------------------------------------
# ZTF Avro reader
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_reads_multi_alert_container_in_every_codec(tmp_path, codec):
    candids = [1234567890123456789, 1234567890123456790, 42]
    path = _write(tmp_path / f"alerts_{codec}.avro", [_alert(c) for c in candids], codec=codec)
    alerts = read_alerts(path)
    assert isinstance(alerts, CutoutSet)
    assert len(alerts) == 3 and alerts.skipped == []
    assert alerts.images.shape == (3, 3, 63, 63) and alerts.images.dtype == np.float32
    # channel order science, template, difference (written as ~100, ~200, ~300)
    np.testing.assert_allclose(np.nanmean(alerts.images, axis=(0, 2, 3)), [100, 200, 300],
                               atol=1.0)
    assert alerts.ids.tolist() == [str(c) for c in candids]  # 19-digit candids stay exact
    table = alerts.table
    assert table["candid"].tolist() == candids
    np.testing.assert_allclose(table["mjd"], table["jd"] - 2400000.5)
    assert table["band"].tolist() == ["r", "g", "g"]  # fid 2, 1, 1
    assert table["isdiffpos"].tolist() == [1.0, 1.0, 1.0]
    assert table["n_prv_candidates"].tolist() == [1, 1, 1]
    assert set(table["file"]) == {str(path)}
    assert not alerts.clipped.any() and alerts.mask.all()
    assert alerts.labels is None and alerts.meta["channels"] == CHANNELS


def test_truncated_file_is_skipped_and_reported(tmp_path):
    folder = tmp_path / "alerts"
    folder.mkdir()
    good = _write(folder / "good.avro", [_alert(1), _alert(2)], codec="snappy")
    whole = _write(tmp_path / "whole.avro", [_alert(3)], codec="snappy").read_bytes()
    bad = folder / "truncated.avro"
    bad.write_bytes(whole[: len(whole) // 2])
    alerts = read_alerts(folder)  # a folder: every *.avro below it
    assert sorted(alerts.ids.tolist()) == ["1", "2"]
    assert [f for f, _ in alerts.skipped] == [str(bad)]
    assert "unreadable" in alerts.skipped[0][1]
    assert str(good) in set(alerts.table["file"])
    only_bad = read_alerts(bad)  # nothing readable: an empty set, not a crash
    assert len(only_bad) == 0 and only_bad.images.shape == (0, 3, 63, 63)
    assert len(only_bad.skipped) == 1 and "candid" in only_bad.table
    with pytest.raises(ValueError, match="truncated.avro") as info:
        read_alerts([good, bad], on_error="raise")
    assert info.value.__cause__ is not None  # chained with `from exc`


def test_alerts_before_a_truncation_are_kept(tmp_path):
    # sync_interval=1: one Avro block per alert, so the damage hits only the last one
    path = _write(tmp_path / "three.avro", [_alert(c) for c in (1, 2, 3)], codec="deflate",
                  sync_interval=1)
    path.write_bytes(path.read_bytes()[:-200])
    alerts = read_alerts(path)
    assert alerts.ids.tolist() == ["1", "2"]
    assert alerts.skipped[0][0] == str(path)
    assert alerts.skipped[0][1].startswith("unreadable after 2 alert(s)")


def test_corrupt_cutout_skips_only_that_alert(tmp_path):
    broken = _alert(2)
    broken["cutoutDifference"]["stampData"] = b"\x1f\x8b not really gzip"
    path = _write(tmp_path / "mixed.avro", [_alert(1), broken, _alert(3)])
    alerts = read_alerts(path)
    assert alerts.ids.tolist() == ["1", "3"]
    assert len(alerts.skipped) == 1 and alerts.skipped[0][0] == str(path)
    assert alerts.skipped[0][1].startswith("alert 1")
    with pytest.raises(ValueError, match="mixed.avro.*alert 1"):
        read_alerts(path, on_error="raise")


def test_nan_filled_cutout_is_kept_and_masked(tmp_path):
    path = _write(tmp_path / "nan.avro", [_alert(7, science=np.full((63, 63), np.nan))])
    alerts = read_alerts(path)
    assert np.isnan(alerts.images[0, 0]).all() and not alerts.mask[0, 0].any()
    assert alerts.mask[0, 1:].all() and np.isfinite(alerts.images[0, 1:]).all()
    assert not alerts.clipped[0]


def test_clipped_cutout_is_padded_on_the_chip_edge_side(tmp_path):
    records = [
        _alert(1, shape=(48, 63), ypos=16.4),  # bottom edge: 15 rows missing below
        _alert(2, shape=(63, 54), xpos=3049.6),  # right edge of a 3072-px quadrant
        _alert(3, shape=(48, 63), xpos=None, ypos=None),  # position unknown: centre
    ]
    alerts = read_alerts(_write(tmp_path / "edge.avro", records))
    assert alerts.images.shape == (3, 3, 63, 63) and alerts.clipped.all()
    t = alerts.table
    assert (t.loc[0, ["pad_y0", "pad_y1", "pad_x0", "pad_x1"]].tolist() == [15, 0, 0, 0])
    assert (t.loc[1, ["pad_y0", "pad_y1", "pad_x0", "pad_x1"]].tolist() == [0, 0, 0, 9])
    assert (t.loc[2, ["pad_y0", "pad_y1", "pad_x0", "pad_x1"]].tolist() == [7, 8, 0, 0])
    assert t["pad_rule"].tolist() == ["edge", "edge", "centre"]
    assert not alerts.mask[0, :, :15].any() and alerts.mask[0, :, 15:].all()
    assert not alerts.mask[1, :, :, 54:].any() and alerts.mask[1, :, :, :54].all()
    assert np.isnan(t.loc[2, "xpos"]) and np.isnan(t.loc[2, "ypos"])


def test_unknown_fields_are_ignored_and_missing_optional_fields_are_nan(tmp_path):
    schema = _schema(drop=("drb", "drbversion", "elong"),
                     extra_candidate=[("brand_new_score", ["float", "null"])],
                     extra_top=[("fp_hists", ["string", "null"])])
    record = _alert(5, drop=("drb", "drbversion", "elong"))
    record["candidate"]["brand_new_score"] = 0.5
    record["fp_hists"] = "not a cutout"
    alerts = read_alerts(_write(tmp_path / "v34.avro", [record], codec="deflate",
                                schema=schema))
    assert len(alerts) == 1 and alerts.skipped == []
    assert np.isnan(alerts.table.loc[0, "drb"]) and np.isnan(alerts.table.loc[0, "elong"])
    assert alerts.table.loc[0, "rb"] == pytest.approx(0.8)
    assert alerts.table.loc[0, "brand_new_score"] == pytest.approx(0.5)  # scalar: kept


def test_missing_cutout_leaves_nan_channel(tmp_path):
    record = _alert(9)
    record["cutoutTemplate"] = None  # optional in the 3.x schema
    alerts = read_alerts(_write(tmp_path / "nocut.avro", [record]))
    assert not alerts.mask[0, 1].any() and alerts.mask[0, [0, 2]].all()
    assert alerts.table.loc[0, "n_missing_cutouts"] == 1


def test_paths_globs_and_errors(tmp_path):
    _write(tmp_path / "a.avro", [_alert(1)])
    _write(tmp_path / "b.avro", [_alert(2)])
    assert read_alerts(str(tmp_path / "*.avro")).ids.tolist() == ["1", "2"]
    assert len(read_alerts([tmp_path / "a.avro", tmp_path / "b.avro"])) == 2
    with pytest.raises(FileNotFoundError, match="nowhere.avro"):
        read_alerts(tmp_path / "nowhere.avro")
    with pytest.raises(FileNotFoundError, match="no file"):
        read_alerts(str(tmp_path / "*.nothing"))
    with pytest.raises(ValueError, match="on_error"):
        read_alerts(tmp_path, on_error="ignore")


def test_cutout_set_subset_and_concat(tmp_path):
    alerts = read_alerts(_write(tmp_path / "x.avro", [_alert(c) for c in (1, 2, 3, 4)]))
    part = alerts.subset([3, 1])
    assert part.ids.tolist() == ["4", "2"] and part.table["candid"].tolist() == [4, 2]
    np.testing.assert_array_equal(part.images, alerts.images[[3, 1]])
    assert len(alerts.subset(alerts.table["candid"].to_numpy() > 2)) == 2
    both = CutoutSet.concat([alerts, part])
    assert len(both) == 6 and both.labels is None
    labelled = alerts.with_labels(["real", "bogus", np.nan, 1])
    assert labelled.labels.tolist() == [1, 0, -1, 1] and alerts.labels is None
    assert CutoutSet.concat([labelled, part]).labels.tolist() == [1, 0, -1, 1, -1, -1]
    with pytest.raises(ValueError, match="length 2, expected N=4"):
        alerts.with_labels([1, 0])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        CutoutSet(images=np.zeros((2, 63, 63, 3)))


# ---------------------------------------------------------------------------------------------
# the 98 real ZTF alerts
# ---------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_reads_all_real_ztf_alerts(real_data):
    folder = real_data("ztf_alerts")
    alerts = read_alerts(folder)
    n_files = len(list(folder.glob("*.avro")))
    assert alerts.skipped == []
    assert len(alerts) == n_files == 98
    assert alerts.images.shape == (98, 3, 63, 63)
    assert len(set(alerts.ids)) == 98 and alerts.table["objectId"].nunique() == 87
    # 8 stamps are cut by a chip edge (43-49 rows or 54/59 columns); each is padded on the
    # edge side, so the candidate sits at the stamp centre like every other alert.
    assert int(alerts.clipped.sum()) == 8
    assert set(alerts.table.loc[alerts.clipped, "pad_rule"]) == {"edge"}
    for i in np.flatnonzero(alerts.clipped):
        diff = np.nan_to_num(alerts.images[i, 2])
        peak = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
        assert max(abs(peak[0] - 31), abs(peak[1] - 31)) <= 2, (alerts.ids[i], peak)
    finite = ["jd", "mjd", "ra", "dec", "magpsf", "sigmapsf", "diffmaglim", "xpos", "ypos",
              "rb", "fwhm", "elong", "isdiffpos", "nbad"]
    for col in finite:
        assert np.isfinite(alerts.table[col].to_numpy(float)).all(), col
    assert alerts.table["candid"].notna().all() and alerts.table["fid"].isin([1, 2, 3]).all()
    assert set(alerts.table["schemavsn"]) == {"3.0", "3.1", "3.2", "3.3"}
    # masked (NaN) pixels are False in the mask and only there
    np.testing.assert_array_equal(alerts.mask, np.isfinite(alerts.images))
    assert alerts.mask.mean() > 0.9


# ---------------------------------------------------------------------------------------------
# RB-C1000 stamp table and numpy triplets
# ---------------------------------------------------------------------------------------------
def _stamps(n, rng, shape=(63, 63, 3)):
    return rng.normal(size=(n, *shape)).astype(np.float32)


def test_reads_rb_c1000_stamp_table(tmp_path):
    rng = np.random.default_rng(0)
    stamps = _stamps(5, rng)
    path = tmp_path / "rbc1000.fits"
    Table({"star_stamp": stamps, "label": np.array([1, 0, 1, -1, 0], np.int16),
           "candid": np.arange(100, 105, dtype=np.int64),
           "rb": rng.uniform(size=5).astype(np.float32)}).write(path)
    cs = read_stamp_table(path)
    assert cs.images.shape == (5, 3, 63, 63)
    np.testing.assert_array_equal(cs.images[:, 2], stamps[..., 2])  # channels-last moved
    assert cs.labels.tolist() == [1, 0, 1, -1, 0]
    assert cs.ids.tolist() == ["100", "101", "102", "103", "104"]
    assert "rb" in cs.table and "star_stamp" not in cs.table


def test_stamp_table_errors_name_file_shape_and_fix(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "nostamp.fits"
    Table({"stamps": _stamps(2, rng), "label": [1, 0]}).write(path)
    with pytest.raises(ValueError, match=r"nostamp.fits.*'star_stamp'.*stamps.*column="):
        read_stamp_table(path)
    flat = tmp_path / "flat.fits"
    Table({"star_stamp": rng.normal(size=(4, 63, 63))}).write(flat)
    with pytest.raises(ValueError, match=r"flat.fits.*\(4, 63, 63\).*\(N, 3, H, W\)"):
        read_stamp_table(flat)
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"SIMPLE  = nonsense")
    with pytest.raises(ValueError, match="junk.fits"):
        read_stamp_table(junk)


def test_reads_npz_and_npy_triplets_in_either_layout(tmp_path):
    rng = np.random.default_rng(2)
    last = _stamps(4, rng, (31, 31, 3))
    np.savez(tmp_path / "t.npz", images=last, labels=np.array([1.0, 0.0, np.nan, 1.0]),
             ids=np.array(["a", "b", "c", "d"]))
    cs = read_triplet_array(tmp_path / "t.npz")
    assert cs.images.shape == (4, 3, 31, 31)
    np.testing.assert_array_equal(cs.images[:, 1], last[..., 1])
    assert cs.labels.tolist() == [1, 0, -1, 1] and cs.ids.tolist() == ["a", "b", "c", "d"]
    first = np.moveaxis(last, -1, 1)
    np.save(tmp_path / "t.npy", first)
    cs2 = read_triplet_array(tmp_path / "t.npy")
    np.testing.assert_array_equal(cs2.images, cs.images)
    assert cs2.labels is None and cs2.ids.tolist() == ["0", "1", "2", "3"]


def test_triplet_array_errors(tmp_path):
    rng = np.random.default_rng(3)
    np.save(tmp_path / "bad.npy", rng.normal(size=(4, 2, 31, 31)))
    with pytest.raises(ValueError, match=r"bad.npy.*\(4, 2, 31, 31\).*\(N, 3, H, W\)"):
        read_triplet_array(tmp_path / "bad.npy")
    np.savez(tmp_path / "lab.npz", images=_stamps(3, rng), labels=[1, 0])
    with pytest.raises(ValueError, match=r"lab.npz.*labels.*\(2,\).*\(3,\)"):
        read_triplet_array(tmp_path / "lab.npz")
    np.savez(tmp_path / "odd.npz", images=_stamps(2, rng), labels=[1, 7])
    with pytest.raises(ValueError, match=r"odd.npz.*7"):
        read_triplet_array(tmp_path / "odd.npz")
    with pytest.raises(ValueError, match=r"\.fits"):
        read_triplet_array(tmp_path / "x.fits")
    np.savez(tmp_path / "nokey.npz", a=np.zeros(3), b=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"nokey.npz.*keys.*'a'"):
        read_triplet_array(tmp_path / "nokey.npz")

