"""Benchmark: our AutoEncoder / DeepSVDD against PyOD's, same data, widths, batch, epochs, lr.

Run as a script (``python tests/benchmarks/bench_detectors.py [--epochs 3] [--batch-size 256]``)
or with ``pytest -m benchmark tests/benchmarks/bench_detectors.py -s``. Prints fit seconds per
epoch, scoring rows/s and AUROC for both libraries and their ratios, this machine's fp32 matmul
peak (GFLOP/s) and our scoring throughput as a percentage of it (forward FLOPs = 2 * sum(in*out)
per row). Thread count is whatever torch picked (``torch.set_num_threads`` is left to the user).

Targets: training >= 2x PyOD's speed, scoring >= 80 % of the matmul peak, AUROC within 0.01 of
PyOD or better. In fp32 both libraries run the same matrix products, so our gain is loop
overhead only, bounded by a bare loop of the same network (the "floor" row, timed here too);
the 2x training target is reachable only with ``precision="bf16"`` (mixed precision, the
"bf16" row: x1.6-x2.15 over six runs on a 2-core VM) at an unchanged AUROC.
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


SCORE_REPEATS = 7  # best-of-N for both the matmul peak and scoring, so % of peak is fair


def matmul_peak_gflops(n=2048, repeats=SCORE_REPEATS):
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


def _interleaved_fit_times(fits, epochs, rounds):
    """Per-epoch and fixed fit seconds of several fitters, timed in interleaved rounds.

    Parameters
    ----------
    fits : dict of name -> callable
        ``fit(n_epochs, seed) -> fitted model``; or ``floor(n_epochs) -> seconds per epoch``
        for names starting with ``"floor"``.
    epochs : int
    rounds : int
        Each round times every fitter once for 1 and once for ``1 + epochs`` epochs; the best
        time over the rounds is kept. Interleaving spreads slow spells of a shared (virtual)
        machine over all fitters instead of one, so ratios stay meaningful.

    Returns
    -------
    dict of name -> (s_per_epoch, fixed_s)
        ``s_per_epoch`` is the slope ``(t(1 + epochs) - t(1)) / epochs``, so one-off parts
        of ``fit`` (scaling, centre initialisation, scoring the training rows for the
        threshold) do not count as epochs; they are ``fixed_s``.
    """
    for name, fit in fits.items():  # warm-up: oneDNN kernel choice, allocator, lazy imports
        fit(1) if name.startswith("floor") else fit(1, 0)
    best = {name: [np.inf, np.inf] for name in fits}
    for _ in range(rounds):
        for name, fit in fits.items():
            if name.startswith("floor"):
                best[name][1] = min(best[name][1], fit(epochs))
                continue
            for slot, n_epochs in enumerate((1, 1 + epochs)):
                t = time.perf_counter()
                fit(n_epochs, 0)
                best[name][slot] = min(best[name][slot], time.perf_counter() - t)
    out = {}
    for name, (t_one, t_many) in best.items():
        if name.startswith("floor"):
            out[name] = (t_many, 0.0)
        else:
            per_epoch = max(t_many - t_one, 1e-9) / epochs
            out[name] = (per_epoch, max(t_one - per_epoch, 0.0))
    return out


def _score_and_auroc(fit, score, X, y, epochs, auroc_seeds):
    """Scoring rows/s (best of ``SCORE_REPEATS``) and AUROC mean/std over seeds.

    AUROC comes from ``1 + epochs``-epoch fits.

    A single short run of Deep SVDD swings by +-0.1 AUROC with the seed, so one run says
    little about quality.
    """
    model = fit(1 + epochs, 0)
    score_s = _best_time(lambda: score(model, X), repeats=SCORE_REPEATS)
    aurocs = [roc_auc_score(y, score(model, X))]
    aurocs += [roc_auc_score(y, score(fit(1 + epochs, s), X)) for s in range(1, auroc_seeds)]
    return {"rows_per_s": len(X) / score_s, "auroc": float(np.mean(aurocs)),
            "auroc_std": float(np.std(aurocs))}


def bare_loop_s_per_epoch(net, loss_fn, X, epochs, batch_size, lr, seed=0):
    """Seconds per epoch of the leanest possible fp32 loop for ``net``.

    No validation split, no early stopping, no progress bar, no scoring: shuffled index
    batches, ``zero_grad / backward / fused Adam step``. This is the floor any implementation
    of the same network, batch size and optimizer pays on this machine; ``PyOD / floor`` is the
    largest speed-up over PyOD that removing loop overhead can give.
    """
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.as_tensor(X, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-6, fused=True)
    net.train()
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x_all), generator=gen)
        for start in range(0, len(x_all), batch_size):
            x = x_all.index_select(0, perm[start:start + batch_size])
            opt.zero_grad(set_to_none=True)
            loss_fn(net, x).backward()
            opt.step()
    return (time.perf_counter() - t) / epochs


def _floor_fitters(X, n_features, batch_size, lr, seed):
    """Bare-loop timers of our AE network and our Deep SVDD encoder (``floor(epochs)``)."""
    from astroad_nb.models._nets import AutoEncoderNet, mlp

    Xs = (X - X.mean(0)) / X.std(0)
    torch.manual_seed(seed)
    ae = AutoEncoderNet(n_features, HIDDEN, LATENT)
    encoder = mlp([n_features, *HIDDEN, LATENT], bias=False, affine=False)
    with torch.no_grad():
        center = encoder.eval()(torch.as_tensor(Xs[:2048], dtype=torch.float32)).mean(0)

    def ae_loss(net, x):
        return torch.nn.functional.mse_loss(net(x), x)

    def svdd_loss(net, x):
        return (net(x) - center).pow(2).sum(1).mean()

    return {
        "AutoEncoder": lambda e: bare_loop_s_per_epoch(ae, ae_loss, Xs, e, batch_size, lr, seed),
        "DeepSVDD": lambda e: bare_loop_s_per_epoch(encoder, svdd_loss, Xs, e, batch_size, lr,
                                                    seed),
    }


def run_benchmark(n_rows=20_000, n_features=152, epochs=5, batch_size=256, lr=1e-3, seed=0,
                  rounds=3, auroc_seeds=5):
    """Train and score both libraries side by side; return a dict of results.

    ``seed`` seeds the table; models use seeds ``0 .. auroc_seeds - 1``. Fit times come from
    :func:`_interleaved_fit_times`, scoring and AUROC from :func:`_score_and_auroc`.
    """
    from pyod.models.auto_encoder import AutoEncoder as PyodAE
    from pyod.models.deep_svdd import DeepSVDD as PyodSVDD

    X, y = simulate_table(n_rows, n_features, seed=seed)
    common = dict(hidden_dims=HIDDEN, latent_dim=LATENT, batch_size=batch_size,
                  lr=lr, weight_decay=1e-6, patience=None, val_fraction=0.0, device="cpu")
    widths = [*HIDDEN, LATENT]

    def ours(cls, **kw):
        return lambda e, rs: cls(epochs=e, random_state=rs, **kw, **common).fit(X)

    def ours_score(m, X):
        return m.anomaly_score(X)

    def pyod_score(m, X):
        return m.decision_function(X)

    # Same work for both Deep SVDDs: no auto-encoder pre-training for ours (PyOD has none).
    variants = {
        "AutoEncoder": {
            "ours": (ours(AutoEncoder), ours_score),
            "bf16": (ours(AutoEncoder, precision="bf16"), ours_score),
            "pyod": (lambda e, rs: PyodAE(
                hidden_neuron_list=widths, hidden_activation_name="leaky_relu",
                batch_norm=True, dropout_rate=0.0, epoch_num=e, batch_size=batch_size, lr=lr,
                optimizer_params={"weight_decay": 1e-6}, device="cpu", random_state=rs,
                verbose=0).fit(X), pyod_score),
        },
        "DeepSVDD": {
            "ours": (ours(DeepSVDD, pretrain_epochs=0), ours_score),
            "bf16": (ours(DeepSVDD, pretrain_epochs=0, precision="bf16"), ours_score),
            "pyod": (lambda e, rs: PyodSVDD(
                n_features=n_features, hidden_neurons=widths, hidden_activation="leaky_relu",
                dropout_rate=0.0, epochs=e, batch_size=batch_size, learning_rate=lr,
                l2_regularizer=1e-6, validation_size=0.0, verbose=0,
                random_state=rs).fit(X), pyod_score),
        },
    }
    floors = _floor_fitters(X, n_features, batch_size, lr, seed)
    flops = {"AutoEncoder": forward_flops_per_row([n_features, *widths, *widths[-2::-1],
                                                   n_features]),
             "DeepSVDD": forward_flops_per_row([n_features, *widths])}
    results = {}
    for name, libs in variants.items():
        fits = {lib: fit for lib, (fit, _) in libs.items()}
        fits["floor"] = floors[name]
        times = _interleaved_fit_times(fits, epochs, rounds)
        results[name] = {"flops_per_row": flops[name],
                         "floor_s_per_epoch": times["floor"][0]}
        for lib, (fit, score) in libs.items():
            results[name][lib] = {"s_per_epoch": times[lib][0], "fit_fixed_s": times[lib][1],
                                  **_score_and_auroc(fit, score, X, y, epochs, auroc_seeds)}
    results["matmul_peak_gflops"] = matmul_peak_gflops()
    results["config"] = dict(n_rows=n_rows, n_features=n_features, epochs=epochs,
                             batch_size=batch_size, lr=lr, rounds=rounds,
                             auroc_seeds=auroc_seeds, threads=torch.get_num_threads())
    return results


def report(results):
    """Format :func:`run_benchmark` results as a text table."""
    peak = results["matmul_peak_gflops"]
    lines = [f"config: {results['config']}", f"fp32 matmul peak: {peak:.1f} GFLOP/s"]
    head = (f"{'model':<12}{'lib':<6}{'s/epoch':>9}{'fixed s':>9}{'rows/s':>12}{'AUROC':>15}"
            f"{'GFLOP/s':>9}{'% peak':>8}")
    lines.append(head)
    for name in ("AutoEncoder", "DeepSVDD"):
        r = results[name]
        for lib in ("ours", "bf16", "pyod"):
            m = r[lib]
            gflops = m["rows_per_s"] * r["flops_per_row"] / 1e9
            lines.append(f"{name:<12}{lib:<6}{m['s_per_epoch']:>9.3f}{m['fit_fixed_s']:>9.3f}"
                         f"{m['rows_per_s']:>12.0f}"
                         f"{m['auroc']:>8.4f} ±{m['auroc_std']:.3f}{gflops:>9.1f}"
                         f"{100 * gflops / peak:>7.1f}%")
        o, p, floor = r["ours"], r["pyod"], r["floor_s_per_epoch"]
        train_gflops = 3 * r["flops_per_row"] * results["config"]["n_rows"] / floor / 1e9
        lines.append(f"{name:<12}{'floor':<6}{floor:>9.3f}{'':>9}  (bare fp32 loop of our network: "
                     f"{train_gflops:.0f} GFLOP/s, {100 * train_gflops / peak:.0f} % of peak)")
        b = r["bf16"]
        lines.append(f"{'':<12}ratio: training speed fp32 x{p['s_per_epoch'] / o['s_per_epoch']:.2f} "
                     f"(an fp32 loop can reach at most x{p['s_per_epoch'] / floor:.2f}; ours = "
                     f"{o['s_per_epoch'] / floor:.2f} x floor), bf16 mixed precision "
                     f"x{p['s_per_epoch'] / b['s_per_epoch']:.2f}; "
                     f"scoring x{o['rows_per_s'] / p['rows_per_s']:.2f}; "
                     f"AUROC diff fp32 {o['auroc'] - p['auroc']:+.4f}, "
                     f"bf16 {b['auroc'] - p['auroc']:+.4f}")
    return "\n".join(lines)


@pytest.mark.benchmark
def test_benchmark_against_pyod():
    pytest.importorskip("pyod")
    results = run_benchmark()
    print("\n" + report(results))
    peak = results["matmul_peak_gflops"]
    for name in ("AutoEncoder", "DeepSVDD"):
        r = results[name]
        ours, bf16, pyod = r["ours"], r["bf16"], r["pyod"]
        assert ours["auroc"] >= pyod["auroc"] - 0.01, name
        assert bf16["auroc"] >= pyod["auroc"] - 0.01, name
        # fp32: both libraries run the same matrix products, so the gain is loop overhead,
        # bounded by the bare loop (floor). The 2x is only reachable with bf16 mixed
        # precision, and on a 2-core VM not in every run (x1.6-x2.15 measured).
        assert pyod["s_per_epoch"] / ours["s_per_epoch"] >= 1.25, name
        assert ours["s_per_epoch"] <= 1.25 * r["floor_s_per_epoch"], name
        assert pyod["s_per_epoch"] / bf16["s_per_epoch"] >= 2.0, name
        assert ours["rows_per_s"] * r["flops_per_row"] / 1e9 >= 0.8 * peak, name


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for this run (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(report(run_benchmark(args.rows, epochs=args.epochs, batch_size=args.batch_size,
                               lr=args.lr)))
