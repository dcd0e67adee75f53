"""Benchmark: light-curve features for 10,000 simulated two-band (g, r) ZTF-like curves.

Run as a script (prints seconds and curves/s for each periodogram setting)::

    python tests/benchmarks/bench_features.py [n_curves]

or as a test (asserts the 10 s target for the default settings)::

    python -m pytest tests/benchmarks/bench_features.py -m benchmark -q -s
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from astroad_nb.data.lightcurves import SUBCLASSES, simulate_lightcurves
from astroad_nb.features.lightcurves import extract_features

N_CURVES = 10_000
TARGET_S = 10.0


def _simulate(n_curves=N_CURVES, random_state=0):
    n_classes = sum(len(v) for v in SUBCLASSES.values())
    start = time.perf_counter()
    lcs = simulate_lightcurves(-(-n_curves // n_classes), random_state=random_state)
    lcs = lcs.subset(lcs.ids[:n_curves])
    return lcs, time.perf_counter() - start


def time_features(lcs, **kwargs):
    """Wall-clock seconds to run ``extract_features(lcs, **kwargs)``."""
    return time_features_cpu(lcs, **kwargs)[0]


def time_features_cpu(lcs, **kwargs):
    """(wall seconds, CPU seconds of all threads) for ``extract_features(lcs, **kwargs)``.

    On a shared machine the wall time depends on the load; CPU seconds / cores estimates
    the wall time on an idle machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    extract_features(lcs, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(n_curves=N_CURVES):
    lcs, sim_s = _simulate(n_curves)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"simulate_lightcurves: {len(lcs)} curves, {len(lcs.data)} points in {sim_s:.2f} s")
    for label, kwargs in [("no periodogram", {"periodogram": False}),
                          ("default without SPM and DRW", {"spm": False, "drw": False}),
                          ("default (multiband periodogram)", {}),
                          ("periodogram='full'", {"periodogram": "full"})]:
        seconds, cpu = time_features_cpu(lcs, **kwargs)
        print(f"extract_features {label:32s}: {seconds:6.2f} s wall, {cpu:6.2f} s CPU, "
              f"{len(lcs) / seconds:8.0f} curves/s")


@pytest.mark.benchmark
def test_features_for_10k_curves_under_target():
    lcs, _ = _simulate()
    seconds = time_features(lcs)
    print(f"\n{len(lcs)} curves: {seconds:.2f} s ({len(lcs) / seconds:.0f} curves/s)")
    assert seconds <= TARGET_S


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_CURVES)
