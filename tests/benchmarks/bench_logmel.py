"""Benchmark: the seed's log-mel vectors (64 mels, 5 frames -> 309 x 320 per 10 s clip) in
torch against librosa on the same clips, and the machine-sound simulator's speed.

Rounds interleave the two implementations so that a change in machine load hits both alike.
The clips are the real ones of ``../shared/data/sounds`` (86 clips) when present, else 32
simulated ones. Run as a script (prints vectors/s and the ratio)::

    python tests/benchmarks/bench_logmel.py [rounds]

or as a test::

    python -m pytest tests/benchmarks/bench_logmel.py -m benchmark -q -s
"""

from __future__ import annotations

import os
import sys
import time

# librosa's numba would otherwise keep worker threads spinning between rounds, which slows
# the torch rounds down (by ~1/3 on 2 cores); melspectrogram needs no numba threads.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import pytest

from astroad_nb._config import real_data_path
from astroad_nb.data.sounds import SoundSet, read_dcase, read_mimii, simulate_machine_sounds
from astroad_nb.features.sounds import sound_frames

ROUNDS = 5
SIM_TARGET_MS = 20.0  # per 10 s clip, one core, idle machine


def _clips():
    parts = []
    for name, reader in (("mimii_valve_6dB", read_mimii), ("mimii_types", read_mimii),
                         ("dcase_id00", read_dcase)):
        root = real_data_path("sounds", name)
        if root is not None:
            parts.append(reader(root))
    if parts:
        return SoundSet.concat(parts).load(), "real clips of ../shared/data/sounds"
    sim = simulate_machine_sounds(n_normal=2, n_abnormal=0, snrs=(0.0,))
    return sim.load(), "simulated clips"


def librosa_vectors(clips, librosa):
    """The MIMII baseline's loop: librosa per clip, then 10 log10 and the 5-frame stack."""
    out = []
    for y in clips:
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=512,
                                             n_mels=64, power=2.0, pad_mode="reflect")
        log = 10.0 * np.log10(mel + sys.float_info.epsilon)
        size = log.shape[1] - 5 + 1
        vec = np.empty((size, 320), np.float32)
        for t in range(5):
            vec[:, 64 * t:64 * (t + 1)] = log[:, t:t + size].T
        out.append(vec)
    return np.concatenate(out)


def compare(rounds=ROUNDS):
    """Vectors per second of torch (batched) and librosa (per clip) on the same clips."""
    import librosa

    clips, what = _clips()
    librosa_vectors(clips[:2], librosa)  # numba warm-up
    sound_frames(clips[:2])
    ours, theirs = [], []
    n_vec = None
    for _ in range(rounds):
        t = time.perf_counter()
        n_vec = len(sound_frames(clips).frames)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = librosa_vectors(clips, librosa)
        theirs.append(time.perf_counter() - t)
    assert len(ref) == n_vec
    return {"clips": len(clips), "what": what, "vectors": n_vec,
            "torch_vec_per_s": n_vec / float(np.median(ours)),
            "librosa_vec_per_s": n_vec / float(np.median(theirs)),
            "ratio": float(np.median(theirs) / np.median(ours))}


def simulator_ms_per_clip(n_clips=64):
    """CPU milliseconds per simulated 10 s clip (one SNR, so every clip is rendered)."""
    s = simulate_machine_sounds(n_normal=n_clips // 16, n_abnormal=0, snrs=(0.0,),
                                random_state=11)
    cpu = time.process_time()
    s.load()
    return 1e3 * (time.process_time() - cpu) / len(s)


def main(rounds=ROUNDS):
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, torch threads "
          f"{__import__('torch').get_num_threads()}")
    r = compare(rounds)
    print(f"log-mel vectors on {r['clips']} {r['what']} ({r['vectors']} vectors), median of "
          f"{rounds} interleaved rounds: torch {r['torch_vec_per_s']:,.0f} vectors/s, librosa "
          f"{r['librosa_vec_per_s']:,.0f} vectors/s, ratio {r['ratio']:.2f}x")
    print(f"simulate_machine_sounds: {simulator_ms_per_clip():.1f} ms CPU per 10 s clip")


@pytest.mark.benchmark
def test_torch_logmel_is_faster_than_librosa():
    pytest.importorskip("librosa")
    r = compare()
    print(f"\ntorch {r['torch_vec_per_s']:,.0f} vectors/s vs librosa "
          f"{r['librosa_vec_per_s']:,.0f} vectors/s ({r['ratio']:.2f}x) on {r['clips']} "
          f"{r['what']}")
    assert r["ratio"] > 1.0


@pytest.mark.benchmark
def test_simulator_speed():
    ms = simulator_ms_per_clip()
    print(f"\nsimulate_machine_sounds: {ms:.1f} ms CPU per 10 s clip")
    assert ms < 2 * SIM_TARGET_MS  # x2: the shared machine is rarely idle


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
