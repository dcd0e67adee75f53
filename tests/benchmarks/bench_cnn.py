"""Throughput of :class:`astroad_nb.models.RealBogusCNN`: training and inference images/s.

Run as a script::

    .venv/bin/python tests/benchmarks/bench_cnn.py [n_images] [epochs]

or as a benchmark test::

    .venv/bin/python -m pytest -m benchmark -s tests/benchmarks/bench_cnn.py

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


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    ep = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for dev in _devices():
        print(_report(measure(n if dev == "cpu" else max(n, 4096), ep, device=dev)))
