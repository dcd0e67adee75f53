"""Fast cutout decoding (issue 12, point 6): plain 2-D gzipped-FITS stamps read from their
header cards and big-endian pixels equal astropy's result; anything else falls back to it."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from astropy.io import fits

from astroad_nb.data.alerts.cutouts import decode_stamp

_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def _fits_bytes(hdus) -> bytes:
    buf = io.BytesIO()
    fits.HDUList(hdus).writeto(buf)
    return buf.getvalue()


@pytest.fixture
def count_astropy_opens(monkeypatch):
    """Count calls of ``astropy.io.fits.open`` (the fallback path)."""
    calls = []
    real_open = fits.open

    def counting_open(*args, **kwargs):
        calls.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(fits, "open", counting_open)
    return calls


def test_fast_decode_equals_astropy_on_real_ztf_stamps(real_data, count_astropy_opens):
    import fastavro

    stamps = []
    for path in sorted(real_data("ztf_alerts").glob("*.avro")):
        with open(path, "rb") as fh:
            for record in fastavro.reader(fh):
                stamps += [record[f]["stampData"] for f in _FIELDS if record.get(f)]
    assert len(stamps) == 294
    fast = [decode_stamp(s, name="real") for s in stamps]
    assert count_astropy_opens == []  # every real stamp took the fast path
    slow = [decode_stamp(s, fast=False) for s in stamps]
    assert len(count_astropy_opens) == len(stamps)
    shapes = set()
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit for bit, NaN included
        shapes.add(a.shape)
    assert (63, 63) in shapes and len(shapes) > 1  # edge-clipped stamps too
    assert any(np.isnan(a).any() for a in fast)


@pytest.mark.parametrize("bitpix_dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_plain_stamps_of_every_bitpix_take_the_fast_path(bitpix_dtype, count_astropy_opens):
    rng = np.random.default_rng(0)
    image = (rng.uniform(0, 200, (5, 7))).astype(bitpix_dtype)
    header = fits.Header()
    header["COMMENT"] = "a / in a comment and a long header"
    for k in range(40):  # a second header block
        header[f"KEY{k}"] = (k, "filler / card")
    raw = _fits_bytes([fits.PrimaryHDU(image, header=header)])
    out = decode_stamp(gzip.compress(raw))
    assert count_astropy_opens == []
    np.testing.assert_array_equal(out, image.astype(np.float32))
    assert out.shape == (5, 7) and out.dtype == np.float32
    np.testing.assert_array_equal(decode_stamp(raw), out)  # not gzipped


def test_non_plain_stamps_fall_back_to_astropy(count_astropy_opens):
    image = np.arange(12, dtype=np.int16).reshape(3, 4)
    scaled = fits.PrimaryHDU(image)
    scaled.header["BSCALE"], scaled.header["BZERO"] = 0.5, 100.0
    in_extension = [fits.PrimaryHDU(), fits.ImageHDU(image.astype(np.float32))]
    expected = {"scaled": image * 0.5 + 100.0, "extension": image}
    for name, hdus in (("scaled", [scaled]), ("extension", in_extension)):
        out = decode_stamp(gzip.compress(_fits_bytes(hdus)), name=name)
        np.testing.assert_array_equal(out, expected[name].astype(np.float32))
    assert len(count_astropy_opens) == 2
    plain = _fits_bytes([fits.PrimaryHDU(image.astype(np.float32))])
    two_members = gzip.compress(plain[:2880]) + gzip.compress(plain[2880:])
    np.testing.assert_array_equal(decode_stamp(two_members), image)
    cube = gzip.compress(_fits_bytes([fits.PrimaryHDU(np.zeros((2, 3, 4), np.float32))]))
    with pytest.raises(ValueError, match=r"cutoutScience holds no 2-D image"):
        decode_stamp(cube, name="cutoutScience")
    with pytest.raises((EOFError, OSError)):
        decode_stamp(gzip.compress(plain)[:-30])  # a truncated gzip stream still fails loudly


# ------------------------------------------------------------------ batched inference
def _reference_normalize(images, stretch=3.0):
    """normalize_triplets as first written (torch.nanmedian), to check the faster one."""
    import torch

    x = torch.as_tensor(images)
    valid = torch.isfinite(x)
    x = torch.where(valid, x, torch.tensor(float("nan")))
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    med = flat.nanmedian(dim=-1).values
    dev = (flat - med[..., None]).abs()
    scale = 1.4826 * dev.nanmedian(dim=-1).values
    std = torch.sqrt(torch.nansum(dev ** 2, dim=-1) / valid.reshape(n, c, -1).sum(-1).clamp(min=1))
    scale = torch.where(~torch.isfinite(scale) | (scale <= 1e-12), std, scale)
    scale = torch.where(~torch.isfinite(scale) | (scale <= 1e-12), torch.ones_like(scale), scale)
    z = (x - torch.nan_to_num(med, nan=0.0)[..., None, None]) / scale[..., None, None]
    z = torch.where(valid, stretch * torch.asinh(z / stretch), torch.zeros(()))
    return torch.cat([z, valid.all(dim=1, keepdim=True).float()], dim=1).numpy()


def test_normalize_triplets_equals_its_reference():
    from astroad_nb.features.cutouts import normalize_triplets

    rng = np.random.default_rng(4)
    x = rng.normal(100.0, 10.0, (24, 3, 21, 21)).astype(np.float32)
    x[:4, :, :, :6] = np.nan  # chip edge
    x[4, 1] = np.nan  # a missing channel
    x[5, 2] = 7.0  # a flat channel: MAD and std 0
    x[6, 0, :15] = 3.0  # most pixels equal: MAD 0, std fallback
    x[7, 0, 0, 0] = np.inf
    before = x.copy()
    out = normalize_triplets(x)
    assert out.tobytes() == _reference_normalize(x).tobytes()
    assert x.tobytes() == before.tobytes()  # the input is not modified
    assert normalize_triplets(np.zeros((0, 3, 5, 5), np.float32)).shape == (0, 4, 5, 5)


def test_cnn_inference_batched_channels_last_and_bf16():
    import torch

    from astroad_nb.models import RealBogusCNN
    from astroad_nb.models.cnn import native_bf16

    rng = np.random.default_rng(0)
    data = rng.normal(100.0, 10.0, (24, 3, 31, 31)).astype(np.float32)
    data[:3, :, :, :5] = np.nan
    y = np.arange(24) % 2
    data[y == 1, :, 13:18, 13:18] += 50.0  # a source in the "real" ones
    clf = RealBogusCNN(widths=(8, 16), epochs=2, batch_size=8, random_state=0).fit(data, y)
    ref = clf.predict_proba(data)
    np.testing.assert_array_equal(clf.predict_proba(data, batch_size=5), ref)  # batch-free
    fast = clf.predict_proba(data, channels_last=True)
    np.testing.assert_allclose(fast, ref, atol=1e-5)
    half = clf.predict_proba(data, precision="bf16", channels_last=True)
    np.testing.assert_allclose(half, ref, atol=5e-2)
    np.testing.assert_allclose(half.sum(axis=1), 1.0)
    auto = clf.predict_proba(data, precision="auto")
    if not native_bf16("cpu"):
        np.testing.assert_array_equal(auto, ref)  # no native bf16: fp32
    conv = next(m for m in clf.network_.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()  # the fitted network keeps its layout
    np.testing.assert_array_equal(clf.predict_proba(data), ref)
    with pytest.raises(ValueError, match="precision"):
        clf.predict_proba(data, precision="fp16")


def _restricted(record, fields):
    """``record`` cut down to ``fields`` (the layout of SCORING_FIELDS), by hand."""
    out = {k: v for k, v in record.items() if k in fields[""]}
    out["candidate"] = {k: v for k, v in record["candidate"].items() if k in fields["candidate"]}
    if out.get("prv_candidates") is not None:
        out["prv_candidates"] = [{k: v for k, v in e.items() if k in fields["prv_candidates"]}
                                 for e in record["prv_candidates"]]
    return out


def test_projected_avro_read_equals_the_full_read_cut_down(real_data):
    """Scoring decodes a packet through a projection of its schema: the same values as the
    whole packet restricted to SCORING_FIELDS, on the 98 real ZTF packets (ZTF 3.3 schema)."""
    from astroad_nb.scoring.sources import SCORING_FIELDS, read_avro_bytes

    n = 0
    for path in sorted(real_data("ztf_alerts").glob("*.avro")):
        data = path.read_bytes()
        whole, err_whole = read_avro_bytes(data)
        part, err_part = read_avro_bytes(data, fields=SCORING_FIELDS)
        assert err_whole is None and err_part is None, path
        assert [_restricted(r, SCORING_FIELDS) for r in whole] == part, path
        assert len(part[0]["candidate"]) == len(SCORING_FIELDS["candidate"])
        n += len(part)
    assert n == 98


def test_projection_of_other_schemas(tmp_path):
    """A simulated packet (compact schema) projects too; a record without ``candidate`` is
    read whole; a truncated file still returns what came before the damage."""
    import fastavro

    from astroad_nb.data.alerts import simulate_triplets
    from astroad_nb.data.lightcurves import simulate_lightcurves
    from astroad_nb.scoring.simulate import simulate_alert_packets, write_avro_alerts
    from astroad_nb.scoring.sources import SCORING_FIELDS, read_avro_bytes

    lcs = simulate_lightcurves(4, random_state=0)
    packets = simulate_alert_packets(lcs, n_alerts=2, n_prv=5,
                                     cutouts=simulate_triplets(2, 2, random_state=0),
                                     random_state=0)
    data = write_avro_alerts(packets, tmp_path)[0].read_bytes()
    whole, _ = read_avro_bytes(data)
    part, err = read_avro_bytes(data, fields=SCORING_FIELDS)
    assert err is None and part == [_restricted(r, SCORING_FIELDS) for r in whole]

    other = {"type": "record", "name": "other", "fields": [{"name": "a", "type": "long"},
                                                           {"name": "b", "type": "string"}]}
    buf = io.BytesIO()
    fastavro.writer(buf, other, [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    records, err = read_avro_bytes(buf.getvalue(), fields=SCORING_FIELDS)
    assert err is None and records == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    records, err = read_avro_bytes(data[: len(data) // 2], fields=SCORING_FIELDS)
    assert err is not None and "truncated" in str(err)
