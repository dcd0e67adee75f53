"""Throughput of :class:`astroad_nb.models.RealBogusCNN`: training and inference images/s.

Run as a script::

    .venv/bin/python tests/benchmarks/bench_cnn.py [n_images] [epochs]

or as a benchmark test::

    .venv/bin/python -m pytest -m benchmark -s tests/benchmarks/bench_cnn.py

Also: cutout decoding, stamps/s of :func:`astroad_nb.data.alerts.cutouts.decode_stamp`'s fast
path against astropy (the real ZTF stamps when ``../shared/data`` is there, else written ones),
and scoring alerts/s (normalisation + network) in fp32, channels-last and bf16 autocast.

Measured on CPU, and on CUDA whenever a GPU is present. Training images/s counts every image
of every epoch through the whole ``fit`` (normalisation, augmentation, forward, backward,
optimizer step); inference images/s is ``predict_proba`` on raw 3x63x63 triplets, including
the NaN-robust normalisation. CPU time (``process_time``) is reported beside wall time because
shared machines inflate wall time.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest


def measure(n_images: int = 512, epochs: int = 2, *, device: str = "cpu",
            random_state: int = 0) -> dict:
    """Time ``fit`` and ``predict_proba`` on ``n_images`` simulated-like triplets.

    Noise images with the right shape, dtype and a NaN band are used instead of the simulator
    (whose cost would dominate); throughput does not depend on pixel values.

    Returns
    -------
    dict
        ``device``, ``n``, ``train_img_s``, ``train_cpu_img_s``, ``infer_img_s``,
        ``infer_cpu_img_s``.
    """
    import torch

    from astroad_nb.models import RealBogusCNN

    rng = np.random.default_rng(random_state)
    images = rng.normal(100.0, 10.0, (n_images, 3, 63, 63)).astype(np.float32)
    images[: n_images // 20, :, :, :8] = np.nan  # chip-edge stamps
    y = np.arange(n_images) % 2
    clf = RealBogusCNN(epochs=epochs, patience=None, val_fraction=0.0, device=device,
                       random_state=random_state)
    clf.set_params(epochs=1).fit(images[:64], y[:64])  # warm-up: kernels, allocator
    clf.set_params(epochs=epochs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    clf.fit(images, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    clf.predict_proba(images[:64])
    t0, c0 = time.perf_counter(), time.process_time()
    proba = clf.predict_proba(images)
    infer_wall, infer_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert proba.shape == (n_images, 2)
    n_train = n_images * epochs
    return {"device": device, "n": n_images, "threads": torch.get_num_threads(),
            "train_img_s": n_train / train_wall, "train_cpu_img_s": n_train / train_cpu,
            "infer_img_s": n_images / infer_wall, "infer_cpu_img_s": n_images / infer_cpu}


def _stamps():
    """Gzipped-FITS cutouts: the real ZTF stamps, or 300 63x63 float32 ones written here."""
    import gzip
    import io

    from astroad_nb._config import real_data_path

    folder = real_data_path("ztf_alerts")
    if folder is not None:
        import fastavro

        stamps = []
        for path in sorted(folder.glob("*.avro")):
            with open(path, "rb") as fh:
                for record in fastavro.reader(fh):
                    stamps += [record[f]["stampData"] for f in
                               ("cutoutScience", "cutoutTemplate", "cutoutDifference")
                               if record.get(f)]
        return stamps, "real ZTF"
    from astropy.io import fits

    rng = np.random.default_rng(0)
    stamps = []
    for _ in range(300):
        buf = io.BytesIO()
        fits.PrimaryHDU(rng.normal(100, 10, (63, 63)).astype(np.float32)).writeto(buf)
        stamps.append(gzip.compress(buf.getvalue()))
    return stamps, "written"


def measure_decode(rounds: int = 3) -> dict:
    """Stamps/s of the fast decode and of astropy, best of interleaved rounds."""
    from astroad_nb.data.alerts.cutouts import decode_stamp

    stamps, kind = _stamps()
    best = {True: float("inf"), False: float("inf")}
    for _ in range(rounds):
        for fast in (True, False):
            start = time.perf_counter()
            for stamp in stamps:
                decode_stamp(stamp, fast=fast)
            best[fast] = min(best[fast], time.perf_counter() - start)
    return {"stamps": kind, "n": len(stamps), "fast_stamps_s": len(stamps) / best[True],
            "astropy_stamps_s": len(stamps) / best[False],
            "speedup": best[False] / best[True]}


def measure_precisions(n_alerts: int = 2048, rounds: int = 2, *, device: str = "cpu") -> dict:
    """Alerts/s of ``predict_proba`` (normalisation + network) per inference setting.

    Returns
    -------
    dict
        ``{setting: alerts/s}`` for fp32, channels_last, bf16 and channels_last+bf16 (best of
        interleaved rounds), ``normalize_alerts_s`` (normalisation alone), ``max_abs_diff``
        of each setting against fp32, and ``native_bf16``.
    """
    from astroad_nb.features.cutouts import normalize_triplets
    from astroad_nb.models import RealBogusCNN
    from astroad_nb.models.cnn import native_bf16

    rng = np.random.default_rng(0)
    images = rng.normal(100.0, 10.0, (n_alerts, 3, 63, 63)).astype(np.float32)
    images[: n_alerts // 20, :, :, :8] = np.nan
    y = np.arange(n_alerts) % 2
    clf = RealBogusCNN(epochs=1, patience=None, val_fraction=0.0, device=device,
                       random_state=0).fit(images[:64], y[:64])
    settings = {"fp32": {}, "channels_last": {"channels_last": True},
                "bf16": {"precision": "bf16"},
                "channels_last+bf16": {"precision": "bf16", "channels_last": True}}
    best = dict.fromkeys(settings, float("inf"))
    best["normalize"] = float("inf")
    ref, diff = None, {}
    for _ in range(rounds):
        start = time.perf_counter()
        normalize_triplets(images)
        best["normalize"] = min(best["normalize"], time.perf_counter() - start)
        for name, kwargs in settings.items():
            clf.predict_proba(images[:64], **kwargs)  # warm-up: kernels, layout copies
            start = time.perf_counter()
            proba = clf.predict_proba(images, **kwargs)
            best[name] = min(best[name], time.perf_counter() - start)
            ref = proba if name == "fp32" else ref
            diff[name] = float(np.abs(proba - ref).max())
    out = {name: n_alerts / seconds for name, seconds in best.items() if name != "normalize"}
    out.update(normalize_alerts_s=n_alerts / best["normalize"], max_abs_diff=diff,
               native_bf16=native_bf16(device), device=device, n=n_alerts)
    return out


def _precision_report(r):
    emulated = "" if r["native_bf16"] else " (bf16 emulated: no native bf16 here)"
    rates = ", ".join(f"{k} {r[k]:.0f}" for k in ("fp32", "channels_last", "bf16",
                                                  "channels_last+bf16"))
    return (f"RealBogusCNN scoring on {r['device']}, {r['n']} alerts: {rates} alerts/s; "
            f"normalisation alone {r['normalize_alerts_s']:.0f}/s; max |p - p_fp32| "
            f"{ {k: f'{v:.1e}' for k, v in r['max_abs_diff'].items()} }{emulated}")


def _devices():
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _report(r):
    return (f"RealBogusCNN on {r['device']} ({r['threads']} threads), {r['n']} images: "
            f"train {r['train_img_s']:.0f} img/s wall ({r['train_cpu_img_s']:.0f} per CPU-s), "
            f"inference {r['infer_img_s']:.0f} img/s wall ({r['infer_cpu_img_s']:.0f} per CPU-s)")


@pytest.mark.benchmark
@pytest.mark.parametrize("device", _devices())
def test_cnn_throughput(device):
    result = measure(256 if device == "cpu" else 4096, 2, device=device)
    print("\n" + _report(result))
    # floors far below what a free 2-core CPU does (~150 train / ~600 inference img/s):
    # they catch a pathological slowdown, not a busy machine
    assert result["train_img_s"] > 10
    assert result["infer_img_s"] > 50


@pytest.mark.benchmark
def test_decode_fast_vs_astropy():
    r = measure_decode()
    print(f"\ndecode {r['n']} {r['stamps']} stamps: fast {r['fast_stamps_s']:.0f} stamps/s, "
          f"astropy {r['astropy_stamps_s']:.0f} stamps/s (x{r['speedup']:.1f})")
    assert r["speedup"] > 2


@pytest.mark.benchmark
@pytest.mark.parametrize("device", _devices())
def test_cnn_inference_precisions(device):
    r = measure_precisions(2048 if device == "cpu" else 16384, device=device)
    print("\n" + _precision_report(r))
    assert r["max_abs_diff"]["channels_last"] < 1e-4
    assert r["max_abs_diff"]["bf16"] < 5e-2


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    ep = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for dev in _devices():
        print(_report(measure(n if dev == "cpu" else max(n, 4096), ep, device=dev)))
        print(_precision_report(measure_precisions(device=dev)))
    r = measure_decode()
    print(f"decode {r['n']} {r['stamps']} stamps: fast {r['fast_stamps_s']:.0f} stamps/s, "
          f"astropy {r['astropy_stamps_s']:.0f} stamps/s (x{r['speedup']:.1f})")
