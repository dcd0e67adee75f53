"""GANomaly throughput against anomalib's GANomaly torch model, side by side in one run.

Run as a benchmark test::

    .venv/bin/python -m pytest -m benchmark -s tests/benchmarks/bench_ganomaly.py

or as a script (``--rounds``, ``--train-images``, ``--score-images``, ``--threads``)::

    .venv/bin/python tests/benchmarks/bench_ganomaly.py --rounds 3

What is compared, at equal architecture (64 x 64 x 3 images, 64 features, latent 128,
batch 64, fp32, the same torch wheel and thread count):

* **ours**: training through the estimator's path (:func:`astroad_nb.training.fit_module`
  with :class:`~astroad_nb.models.ganomaly.GANomalyGame` on a
  :class:`~astroad_nb.models.ganomaly.GANomalyNet`, batches cut on the device, as
  ``GANomaly.fit`` calls it); scoring through the public ``GANomaly.anomaly_score`` on a numpy
  array (validation, batched ``inference_mode`` at the default ``score_batch_size`` of 64,
  min-max scaling), BatchNorm ``"per_image"`` (the default) and ``"eval"``;
* **anomalib** 2.x ``GanomalyModel`` with its ``GeneratorLoss`` / ``DiscriminatorLoss`` and
  its training step (see ``_ganomaly_peer.py``); scoring is its eval-mode forward under
  ``inference_mode`` at batch 64 (ours) and 32 (its data modules' default). It runs in its
  own virtual environment under the benchmark's temporary folder (anomalib pulls torchvision
  and Lightning, which clash with ours; torchvision's wheels do not load beside the CPU torch
  wheel), holding the same CPU torch wheel, timed from a worker subprocess whose rounds
  interleave with ours;
* variants ``channels_last`` (both) and bf16 autocast (both; only where the CPU has native
  bf16: AVX512-BF16 or AMX, else skipped and said so).

Rounds alternate ours / anomalib (who goes first flips every round); each number is the best
round, with the spread (min-max) of the rounds and the median of the per-round ratios, since
a shared VM drifts by +-30 %. FLOPs per image are counted (``torch.utils.flop_counter``) on
each side's own step and divided by a large convolution's FLOP/s measured in the same process
(``% of conv peak``). anomalib's first convolution has padding 4 (maps 35, 17, 8, 4 instead
of 32, 16, 8, 4), so it counts ~3 % more FLOPs per scored image for the same layers; in
training its generator step also back-propagates into the discriminator's weights, through
``D(x)`` and ``D(x_hat)`` (gradients its discriminator step then zeroes), which ours skips:
4.31 vs 3.53 GFLOP counted per training image.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

SIZE, NZ, WIDTH, BATCH = 64, 128, 64, 64
SEED_IMAGES, SEED_EPOCHS = 643_000, 50  # the seed's full protocol (SDSS), epochs of its run
ANOMALIB = "anomalib==2.7.0"
TORCH = "torch==2.13.0"  # the local CPU wheel (see /work/shared/TESTING.md)
PEER = Path(__file__).with_name("_ganomaly_peer.py")
#: anomalib's scoring batches: ours (GANomaly's default score_batch_size) and its data
#: modules' default eval_batch_size.
SCORE_BATCHES = (64, 32)
TARGETS = {"train": 1.0, "train channels_last+bf16": 1.5, "score": 2.0}


# --------------------------------------------------------------------------- machine
def cpu_bf16():
    """``(native, reason)``: whether the CPU computes bf16 natively (AVX512-BF16 or AMX)."""
    import torch

    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    found = sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"})
    capability = torch.backends.cpu.get_cpu_capability()
    if found:
        return True, f"CPU flags {', '.join(found)}; torch capability {capability}"
    return False, (f"CPU has no avx512_bf16 / amx_bf16 flag (torch capability {capability}): "
                   "bf16 autocast would be emulated, so the bf16 variants are skipped")


def conv_peak(channels_last, repeats=3):
    """Best FLOP/s of a large 3x3 convolution (64 x 128 x 32 x 32, 128 -> 128 channels),
    the same one the worker measures."""
    import torch

    x = torch.randn(64, 128, 32, 32)
    w = torch.randn(128, 128, 3, 3)
    if channels_last:
        x, w = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
    flops = 2 * 64 * 128 * 128 * 9 * 32 * 32
    torch.conv2d(x, w, padding=1)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.conv2d(x, w, padding=1)
        best = min(best, time.perf_counter() - t0)
    return flops / best


def variants(force_bf16=False):
    """The variants this machine runs, and the reason bf16 ones are left out (or None)."""
    native, reason = cpu_bf16()
    out = [{"name": "fp32", "channels_last": False, "bf16": False},
           {"name": "channels_last", "channels_last": True, "bf16": False}]
    if native or force_bf16:
        out += [{"name": "bf16", "channels_last": False, "bf16": True},
                {"name": "channels_last+bf16", "channels_last": True, "bf16": True}]
    return out, (None if native or force_bf16 else reason)


# --------------------------------------------------------------------------- ours
class Ours:
    """Our GANomaly, one warm network / estimator per variant."""

    def __init__(self):
        self.nets, self.models = {}, {}

    @staticmethod
    def _images(n):
        import torch

        g = torch.Generator().manual_seed(0)
        return (torch.rand((n, 3, SIZE, SIZE), generator=g) * 2 - 1).numpy()

    def _net(self, variant):
        import torch

        from astroad_nb.models.ganomaly import GANomalyGame, GANomalyNet, init_dcgan

        if variant["name"] not in self.nets:
            net = GANomalyNet(SIZE, 3, NZ, WIDTH, WIDTH)
            init_dcgan(net, torch.Generator().manual_seed(0))
            if variant["channels_last"]:
                net = net.to(memory_format=torch.channels_last)
            self.nets[variant["name"]] = (net, GANomalyGame(net))
        return self.nets[variant["name"]]

    def train(self, variant, n):
        """Seconds (wall, CPU) of one epoch of ``n`` images through ``fit_module``."""
        from astroad_nb.training import fit_module

        net, game = self._net(variant)
        x = self._images(n)
        t0, c0 = time.perf_counter(), time.process_time()
        history = fit_module(net, game, (x,), val_fraction=0.0, epochs=1, batch_size=BATCH,
                             lr=2e-4, weight_decay=0.0, patience=None,
                             precision="bf16" if variant["bf16"] else "fp32", device="cpu",
                             random_state=0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert all(np.isfinite(v[-1]) for v in history.components.values())
        return wall, cpu

    def model(self, variant):
        """A fitted estimator (one training batch: only its speed is measured)."""
        from astroad_nb.models import GANomaly

        if variant["name"] not in self.models:
            fmt = "channels_last" if variant["channels_last"] else "contiguous"
            self.models[variant["name"]] = GANomaly(
                isize=SIZE, nz=NZ, ngf=WIDTH, ndf=WIDTH, epochs=1, batch_size=BATCH,
                precision="bf16" if variant["bf16"] else "fp32", memory_format=fmt,
                device="cpu", random_state=0).fit(self._images(BATCH))
        return self.models[variant["name"]]

    def score(self, variant, n, bn_mode):
        """Seconds (wall, CPU) of ``anomaly_score`` on ``n`` images."""
        model = self.model(variant).set_params(bn_mode=bn_mode)
        x = self._images(n)
        t0, c0 = time.perf_counter(), time.process_time()
        scores = model.anomaly_score(x)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert scores.shape == (n,) and np.isfinite(scores).all()
        return wall, cpu

    def flops(self, variant):
        """Counted FLOPs per image of one training step and of scoring."""
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            self.train(variant, BATCH)
        train = counter.get_total_flops() / BATCH
        self.model(variant)  # fitted outside the count
        counter = FlopCounterMode(display=False)
        with counter:
            self.score(variant, BATCH, "per_image")
        return {"train": train, "score": counter.get_total_flops() / BATCH}


# --------------------------------------------------------------------------- anomalib
def peer_python(folder):
    """Python of a venv under ``folder`` with the CPU torch wheel and anomalib (no deps).

    ``ASTROAD_ANOMALIB_PYTHON`` names an existing one instead (to re-run quickly).

    Returns
    -------
    (str, float)
        The interpreter and the seconds the installation took (0 when re-used).
    """
    given = os.environ.get("ASTROAD_ANOMALIB_PYTHON")
    if given:
        return given, 0.0
    t0 = time.perf_counter()
    venv = Path(folder) / "anomalib-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    for args in ([TORCH], ["--no-deps", ANOMALIB]):
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *args], check=True, stdout=subprocess.DEVNULL)
    return python, time.perf_counter() - t0


class Peer:
    """The anomalib worker subprocess (``_ganomaly_peer.py``), one JSON line per command."""

    def __init__(self, python, threads):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.proc = subprocess.Popen([python, str(PEER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.info = self("setup", threads=threads, size=SIZE, nz=NZ, width=WIDTH)

    def __call__(self, op, **kwargs):
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the anomalib worker stopped (exit {self.proc.wait()})")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(out["error"])
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


# --------------------------------------------------------------------------- protocol
def measure(rounds=3, train_images=128, score_images=512, threads=None, force_bf16=False,
            folder=None):
    """Interleaved rounds of ours and anomalib; see the module docstring.

    Parameters
    ----------
    rounds : int
    train_images : int
        Images per timed training epoch (a multiple of the batch, 64).
    score_images : int
        Images per timed scoring call.
    threads : int, optional
        torch threads on both sides (default: torch's own choice here).
    force_bf16 : bool
        Time the bf16 variants even without native bf16.
    folder : path, optional
        Where the anomalib venv goes (default: a temporary folder).

    Returns
    -------
    dict
        ``rows`` (one per measurement: name, ours/peer img/s per round), ``flops``, ``peak``,
        ``info`` and ``skipped``.
    """
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    threads = torch.get_num_threads()
    own_tmp = None
    if folder is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="bench_ganomaly_")
        folder = own_tmp.name
    python, install_s = peer_python(folder)
    peer = Peer(python, threads)
    ours = Ours()
    todo, skipped = variants(force_bf16)
    try:
        info = {**peer.info, "install_s": install_s, "ours_threads": threads}
        flops = {v["name"]: {"ours": ours.flops(v), "anomalib": peer("flops", variant=v,
                                                                    batch_size=BATCH)}
                 for v in todo}  # also the warm-up of every network
        for v in todo:
            ours.model(v)
            ours.score(v, 64, "per_image")
            peer("score", variant=v, n=64, batch_size=64)
        rows = {}  # measurement -> img/s per round (wall, and per CPU-second)
        peak = {"ours": [], "anomalib": []}

        def record(name, n, seconds):
            row = rows.setdefault(name, {"wall": [], "cpu": []})
            row["wall"].append(n / seconds[0])
            row["cpu"].append(n / seconds[1])

        for r in range(rounds):
            sides = ("ours", "anomalib") if r % 2 == 0 else ("anomalib", "ours")
            for side in sides:
                if side == "ours":
                    peak["ours"].append(max(conv_peak(False), conv_peak(True)))
                else:
                    p = peer("peak")
                    peak["anomalib"].append(max(p["nchw"], p["channels_last"]))
            for v in todo:
                for side in sides:
                    if side == "ours":
                        record(f"ours train {v['name']}", train_images,
                               ours.train(v, train_images))
                    else:
                        t = peer("train", variant=v, n=train_images, batch_size=BATCH)
                        record(f"anomalib train {v['name']}", train_images,
                               (t["wall"], t["cpu"]))
            for v in todo:
                for side in sides:
                    if side == "ours":
                        for bn in ("per_image", "eval"):
                            record(f"ours score {v['name']} bn={bn}", score_images,
                                   ours.score(v, score_images, bn))
                    else:
                        for batch in SCORE_BATCHES:
                            t = peer("score", variant=v, n=score_images, batch_size=batch)
                            record(f"anomalib score {v['name']} batch={batch}", score_images,
                                   (t["wall"], t["cpu"]))
    finally:
        peer.close()
        if own_tmp is not None:
            own_tmp.cleanup()
    return {"rows": rows, "flops": flops, "peak": peak, "info": info, "skipped": skipped,
            "rounds": rounds, "train_images": train_images, "score_images": score_images}


def comparisons(variant_names):
    """``(label, kind, variant, our row, anomalib row)`` of every ratio the report shows."""
    out = []
    for v in variant_names:
        out.append((f"train {v}", "train", v, f"ours train {v}", f"anomalib train {v}"))
    for v in variant_names:
        for bn in ("per_image", "eval"):
            for batch in SCORE_BATCHES:
                out.append((f"score {v}: ours bn={bn} / anomalib batch {batch}", "score", v,
                            f"ours score {v} bn={bn}", f"anomalib score {v} batch={batch}"))
    return out


def summary(result):
    """Per comparison: best img/s of each side (wall and per CPU-second), the slowest round,
    the best-of ratio and the median of the per-round ratios."""
    out = []
    rows = result["rows"]
    for label, kind, variant, mine, theirs in comparisons(result["flops"]):
        if mine not in rows or theirs not in rows:
            continue
        ours, peer = rows[mine]["wall"], rows[theirs]["wall"]
        paired = [a / b for a, b in zip(ours, peer, strict=False)]
        out.append({"name": label, "kind": kind, "variant": variant,
                    "ours": max(ours), "ours_min": min(ours),
                    "anomalib": max(peer), "anomalib_min": min(peer),
                    "ours_cpu": max(rows[mine]["cpu"]), "anomalib_cpu": max(rows[theirs]["cpu"]),
                    "ratio": max(ours) / max(peer), "paired": statistics.median(paired)})
    return out


def targets(result):
    """``(what, ratio or None, target)``: the issue's targets, each against anomalib fp32
    (contiguous) on the best rounds; scoring against anomalib at our scoring batch (64) and
    at its data modules' default evaluation batch (32)."""
    rows = result["rows"]

    def best(name):
        return max(rows[name]["wall"]) if name in rows else None

    def ratio(mine, theirs):
        a, b = best(mine), best(theirs)
        return None if a is None or b is None else a / b

    out = [("training fp32 (ours / anomalib)",
            ratio("ours train fp32", "anomalib train fp32"), TARGETS["train"]),
           ("training ours channels_last+bf16 / anomalib fp32",
            ratio("ours train channels_last+bf16", "anomalib train fp32"),
            TARGETS["train channels_last+bf16"]),
           ("  (nearest measurable here: ours channels_last fp32 / anomalib fp32)",
            ratio("ours train channels_last", "anomalib train fp32"),
            TARGETS["train channels_last+bf16"])]
    for batch in SCORE_BATCHES:
        out.append((f"scoring ours default (fp32, bn=per_image) / anomalib fp32 batch {batch}",
                    ratio("ours score fp32 bn=per_image", f"anomalib score fp32 batch={batch}"),
                    TARGETS["score"]))
        mine = max((n for n in rows if n.startswith("ours score")), key=best)
        out.append((f"scoring ours best ({mine[len('ours score '):]}) / anomalib fp32 batch "
                     f"{batch}", ratio(mine, f"anomalib score fp32 batch={batch}"),
                     TARGETS["score"]))
    return out


def report(result):
    """The benchmark's printed report (a string)."""
    info, peak = result["info"], result["peak"]
    peak_ours, peak_peer = max(peak["ours"]), max(peak["anomalib"])
    lines = [
        f"GANomaly {SIZE}x{SIZE}x3, {WIDTH} features, latent {NZ}, batch {BATCH}; torch "
        f"{info['torch']}, {info['ours_threads']} threads; anomalib {info['anomalib']} "
        f"({info['import']}; encoder maps {info['encoder_maps']}); {result['rounds']} "
        f"interleaved rounds, {result['train_images']} training / {result['score_images']} "
        "scored images per round",
        f"anomalib import: {info.get('regular_import_error', 'regular')}; shim: "
        f"{'; '.join(info.get('shimmed', [])) or 'none'}",
        f"params generator/discriminator: anomalib {info['generator_params']:,} / "
        f"{info['discriminator_params']:,}",
        f"conv peak (3x3, 64x128x32x32, best of layouts and rounds): ours' process "
        f"{peak_ours / 1e9:.1f} GFLOP/s, anomalib's process {peak_peer / 1e9:.1f} GFLOP/s "
        f"(rounds {', '.join(f'{p / 1e9:.0f}' for p in peak['ours'])})",
    ]
    if result["skipped"]:
        lines.append(f"bf16: {result['skipped']}")
    lines.append(f"{'img/s: best (slowest round)':58s} {'ours':>16s} {'anomalib':>16s} "
                 f"{'best/best':>9s} {'median':>7s} {'%peak o/a':>10s}")
    for s in summary(result):
        kind, f = s["kind"], result["flops"][s["variant"]]
        pct_o = 100 * s["ours"] * f["ours"][kind] / peak_ours
        pct_a = 100 * s["anomalib"] * f["anomalib"][kind] / peak_peer
        lines.append(
            f"{s['name']:58s} {s['ours']:7.1f} ({s['ours_min']:5.1f}-) "
            f"{s['anomalib']:7.1f} ({s['anomalib_min']:5.1f}-) {s['ratio']:8.2f}x "
            f"{s['paired']:6.2f}x {pct_o:4.0f}/{pct_a:<4.0f}")
    lines.append("FLOPs per image (counted): " + "; ".join(
        f"{v}: train ours {f['ours']['train'] / 1e9:.2f} G / anomalib "
        f"{f['anomalib']['train'] / 1e9:.2f} G, score {f['ours']['score'] / 1e9:.2f} / "
        f"{f['anomalib']['score'] / 1e9:.2f} G" for v, f in result["flops"].items()))
    best = max((s for s in summary(result) if s["kind"] == "train"),
               key=lambda s: s["ours"])
    fp32 = next(s for s in summary(result) if s["name"] == "train fp32")
    total = SEED_IMAGES * SEED_EPOCHS

    def hours(rate):
        return total / rate / 3600

    lines.append(
        f"full protocol ({SEED_IMAGES:,} images x {SEED_EPOCHS} epochs = {total:,} image "
        f"steps): ours fp32 {hours(fp32['ours']):.0f} h, ours {best['name'][6:]} "
        f"{hours(best['ours']):.0f} h, anomalib fp32 {hours(fp32['anomalib']):.0f} h on this "
        "machine")
    for text, ratio, target in targets(result):
        verdict = "not measured here" if ratio is None else (
            f"{ratio:.2f}x {'met' if ratio >= target else 'MISSED'}")
        lines.append(f"target {text} >= {target}x: {verdict}")
    return "\n".join(lines)


@pytest.mark.benchmark
def test_ganomaly_against_anomalib(tmp_path):
    try:
        result = measure(folder=tmp_path)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"could not install {ANOMALIB} beside {TORCH} in a venv: {exc}")
    print("\n" + report(result))
    rows = {s["name"]: s for s in summary(result)}
    assert result["info"]["generator_params"] == 11_417_984  # anomalib's equals ours (11.4 M)
    # the fp32 training target, on the interleaved best rounds
    assert rows["train fp32"]["ratio"] >= TARGETS["train"], rows["train fp32"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=128)
    parser.add_argument("--score-images", type=int, default=512)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16", action="store_true", help="time bf16 without native bf16")
    parser.add_argument("--json", help="also write the raw result here")
    args = parser.parse_args()
    res = measure(args.rounds, args.train_images, args.score_images, args.threads, args.bf16)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
