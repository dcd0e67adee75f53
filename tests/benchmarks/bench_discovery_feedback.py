"""Flag -> next candidate through the anomaly browser's state at 100,000 objects (issue 13).

Target: <= 100 ms per feedback step (median) for :class:`~astroad_nb.active.discovery.AADIForest`
and :class:`~astroad_nb.active.discovery.RelevanceBlending`. One step is what a click costs in
the panel minus the drawing: :meth:`AnomalyBrowserState.flag` (the SQLite commit, the ranker's
``tell``, the next candidate) plus :meth:`AnomalyBrowserState.options` (the re-ranked list with
its movement markers).

Measured on 2026-12-03, 2-core CPU (OMP_NUM_THREADS=1), 100,000 objects, 40 steps::

    AADIForest         fit + replay 3.6 s   median 25.0 ms   p95 29.0 ms   max 31.6 ms   (met)
    RelevanceBlending  fit + replay 5.6 s   median 21.1 ms   p95 22.3 ms   max 29.4 ms   (met)

Run as a script::

    OMP_NUM_THREADS=1 .venv/bin/python tests/benchmarks/bench_discovery_feedback.py [n] [steps]

or as a benchmark test::

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -m benchmark -s \
        tests/benchmarks/bench_discovery_feedback.py
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pytest

TARGET_MS = 100.0
N_OBJECTS = 100_000
N_STEPS = 40


def _candidates(n, n_features=10, random_state=0):
    """Gaussian features with 1 % planted outliers (half of them the 'interesting' ones)."""
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n, n_features))
    planted = rng.choice(n, size=max(2, n // 100), replace=False)
    X[planted] += rng.normal(4.0, 1.0, size=(planted.size, n_features))
    interesting = np.zeros(n, dtype=bool)
    interesting[planted[: planted.size // 2]] = True
    ids = pd.Index([f"obj{i:06d}" for i in range(n)])
    return pd.DataFrame(X, index=ids, columns=[f"f{j}" for j in range(n_features)]), interesting


def measure(ranker, n=N_OBJECTS, steps=N_STEPS, *, store_path=":memory:") -> dict:
    """Fit ``ranker`` on ``n`` candidates and time ``steps`` flags answered from the truth.

    Returns
    -------
    dict
        ``fit_s``, ``median_ms``, ``p95_ms``, ``max_ms`` per step, ``n``, ``steps``.
    """
    from astroad_nb.store import LabelStore
    from astroad_nb.widgets.browser_state import AnomalyBrowserState

    X, interesting = _candidates(n)
    truth = pd.Series(interesting, index=X.index)
    t0 = time.perf_counter()
    ranker.fit(X.to_numpy())
    scores = pd.Series(ranker.scores_, index=X.index)
    state = AnomalyBrowserState(scores, features=X, ranker=ranker,
                                store=LabelStore(store_path, who="bench"))
    fit_s = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        label = "interesting" if truth[state.current] else "not interesting"
        t = time.perf_counter()
        state.flag(label)
        state.options()
        times.append(1e3 * (time.perf_counter() - t))
    times = np.asarray(times)
    return {"n": n, "steps": steps, "fit_s": fit_s, "median_ms": float(np.median(times)),
            "p95_ms": float(np.percentile(times, 95)), "max_ms": float(times.max())}


def _rankers():
    from astroad_nb.active.discovery import AADIForest, RelevanceBlending

    return {"AADIForest": AADIForest(random_state=0),
            "RelevanceBlending": RelevanceBlending(random_state=0)}


def _report(name, result):
    print(f"{name:>18}: n={result['n']:,} fit+replay {result['fit_s']:.1f} s | flag -> next "
          f"candidate median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
          f"max {result['max_ms']:.1f} ms over {result['steps']} steps (target <= "
          f"{TARGET_MS:.0f} ms)")


@pytest.mark.benchmark
@pytest.mark.parametrize("name", ["AADIForest", "RelevanceBlending"])
def test_feedback_step_within_100ms_at_100k(name, tmp_path):
    result = measure(_rankers()[name], store_path=tmp_path / "labels.sqlite")
    _report(name, result)
    assert result["median_ms"] <= TARGET_MS


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_OBJECTS
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else N_STEPS
    for name, ranker in _rankers().items():
        _report(name, measure(ranker, n, steps))
