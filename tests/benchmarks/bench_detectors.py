"""Benchmark: our AutoEncoder / DeepSVDD against PyOD's, same data, widths, batch, epochs, lr.

Run as a script (``python tests/benchmarks/bench_detectors.py [--epochs 3] [--batch-size 256]``)
or with ``pytest -m benchmark tests/benchmarks/bench_detectors.py -s``. Prints fit seconds per
epoch, scoring rows/s and AUROC for both libraries and their ratios, this machine's fp32 matmul
peak (GFLOP/s) and our scoring throughput as a percentage of it (forward FLOPs = 2 * sum(in*out)
per row). Thread count is whatever torch picked (``torch.set_num_threads`` is left to the user).

Targets: training >= 2x PyOD's speed, scoring >= 80 % of the matmul peak, AUROC within 0.01 of
PyOD or better.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from astroad_nb.models import AutoEncoder, DeepSVDD

HIDDEN = (512, 256, 128)
LATENT = 32


def simulate_table(n_rows=20_000, n_features=152, anomaly_fraction=0.02, seed=0):
    """Gaussian mixture on an 8-d manifold in ``n_features`` dims, plus injected anomalies.

    Returns
    -------
    X : ndarray (n_rows, n_features), float64
    y : ndarray (n_rows,), 1 for injected anomalies
    """
    rng = np.random.default_rng(seed)
    n_anom = int(n_rows * anomaly_fraction)
    n_in = n_rows - n_anom
    k = rng.integers(0, 5, n_in)
    means = 2.0 * rng.normal(size=(5, 8))
    latent = means[k] + rng.normal(size=(n_in, 8)) * 0.7
    mixing = rng.normal(size=(8, n_features)) / np.sqrt(8)
    inliers = np.tanh(latent @ mixing) + 0.05 * rng.normal(size=(n_in, n_features))
    # anomalies: inlier-like points pushed off the manifold in a few random features
    anomalies = np.tanh((means[rng.integers(0, 5, n_anom)] + rng.normal(size=(n_anom, 8)))
                        @ mixing)
    cols = rng.random((n_anom, n_features)) < 0.1
    anomalies = anomalies + cols * rng.normal(scale=0.7, size=(n_anom, n_features))
    X = np.vstack([inliers, anomalies])
    y = np.r_[np.zeros(n_in), np.ones(n_anom)]
    order = rng.permutation(n_rows)
    return X[order], y[order]


def matmul_peak_gflops(n=2048, repeats=10):
    """Best fp32 ``torch.mm`` throughput of square ``n x n`` matrices, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best / 1e9


def forward_flops_per_row(dims):
    """2 * sum(in * out) over the Linear layers ``dims[0] -> dims[1] -> ...``."""
    return 2 * sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))


def _best_time(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _measure(fit, score, X, y, epochs):
    t = time.perf_counter()
    model = fit()
    fit_s = time.perf_counter() - t
    scores = score(model, X)
    score_s = _best_time(lambda: score(model, X))
    return {"s_per_epoch": fit_s / epochs, "rows_per_s": len(X) / score_s,
            "auroc": roc_auc_score(y, scores)}


def run_benchmark(n_rows=20_000, n_features=152, epochs=3, batch_size=256, lr=1e-3, seed=0):
    """Train and score both libraries side by side; return a dict of results."""
    from pyod.models.auto_encoder import AutoEncoder as PyodAE
    from pyod.models.deep_svdd import DeepSVDD as PyodSVDD

    X, y = simulate_table(n_rows, n_features, seed=seed)
    common = dict(hidden_dims=HIDDEN, latent_dim=LATENT, epochs=epochs, batch_size=batch_size,
                  lr=lr, weight_decay=1e-6, patience=None, val_fraction=0.0, device="cpu",
                  random_state=seed)
    widths = [*HIDDEN, LATENT]
    results = {}

    results["AutoEncoder"] = {
        "ours": _measure(lambda: AutoEncoder(**common).fit(X),
                         lambda m, X: m.anomaly_score(X), X, y, epochs),
        "pyod": _measure(lambda: PyodAE(
            hidden_neuron_list=widths, hidden_activation_name="leaky_relu", batch_norm=True,
            dropout_rate=0.0, epoch_num=epochs, batch_size=batch_size, lr=lr,
            optimizer_params={"weight_decay": 1e-6}, device="cpu", random_state=seed,
            verbose=0).fit(X), lambda m, X: m.decision_function(X), X, y, epochs),
        "flops_per_row": forward_flops_per_row([n_features, *widths, *widths[-2::-1],
                                                n_features]),
    }
    # Same work for both: no auto-encoder pre-training for ours (PyOD has none).
    results["DeepSVDD"] = {
        "ours": _measure(lambda: DeepSVDD(pretrain_epochs=0, **common).fit(X),
                         lambda m, X: m.anomaly_score(X), X, y, epochs),
        "pyod": _measure(lambda: PyodSVDD(
            n_features=n_features, hidden_neurons=widths, hidden_activation="leaky_relu",
            dropout_rate=0.0, epochs=epochs, batch_size=batch_size, learning_rate=lr,
            l2_regularizer=1e-6, validation_size=0.0, verbose=0,
            random_state=seed).fit(X), lambda m, X: m.decision_function(X), X, y, epochs),
        "flops_per_row": forward_flops_per_row([n_features, *widths]),
    }
    results["matmul_peak_gflops"] = matmul_peak_gflops()
    results["config"] = dict(n_rows=n_rows, n_features=n_features, epochs=epochs,
                             batch_size=batch_size, lr=lr, threads=torch.get_num_threads())
    return results


def report(results):
    """Format :func:`run_benchmark` results as a text table."""
    peak = results["matmul_peak_gflops"]
    lines = [f"config: {results['config']}", f"fp32 matmul peak: {peak:.1f} GFLOP/s"]
    head = (f"{'model':<12}{'lib':<6}{'s/epoch':>9}{'rows/s':>12}{'AUROC':>8}"
            f"{'GFLOP/s':>9}{'% peak':>8}")
    lines.append(head)
    for name in ("AutoEncoder", "DeepSVDD"):
        r = results[name]
        for lib in ("ours", "pyod"):
            m = r[lib]
            gflops = m["rows_per_s"] * r["flops_per_row"] / 1e9
            lines.append(f"{name:<12}{lib:<6}{m['s_per_epoch']:>9.3f}{m['rows_per_s']:>12.0f}"
                         f"{m['auroc']:>8.4f}{gflops:>9.1f}{100 * gflops / peak:>7.1f}%")
        o, p = r["ours"], r["pyod"]
        lines.append(f"{'':<12}ratio: training speed x{p['s_per_epoch'] / o['s_per_epoch']:.2f}, "
                     f"scoring x{o['rows_per_s'] / p['rows_per_s']:.2f}, "
                     f"AUROC diff {o['auroc'] - p['auroc']:+.4f}")
    return "\n".join(lines)


@pytest.mark.benchmark
def test_benchmark_against_pyod():
    pytest.importorskip("pyod")
    results = run_benchmark()
    print("\n" + report(results))
    for name in ("AutoEncoder", "DeepSVDD"):
        ours, pyod = results[name]["ours"], results[name]["pyod"]
        assert ours["auroc"] >= pyod["auroc"] - 0.01, name
        assert pyod["s_per_epoch"] / ours["s_per_epoch"] >= 2.0, name


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for this run (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(report(run_benchmark(args.rows, epochs=args.epochs, batch_size=args.batch_size,
                               lr=args.lr)))
