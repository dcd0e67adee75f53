"""The ``astroad`` command.

Examples
--------
::

    astroad reproduce alerce --fast            # Table 1 on simulated light curves (~minutes)
    astroad reproduce alerce --json table1.json
    astroad notebooks --execute --output notebooks/outputs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _cmd_reproduce_alerce(args) -> int:
    from astroad_nb.reproduce import reproduce_alerce

    if args.fast:
        os.environ["ASTROAD_FAST"] = "1"
    from astroad_nb.reproduce import alerce_methods

    methods = None
    if args.methods:
        available = alerce_methods(fast=args.fast or None, device=args.device,
                                   random_state=args.seed)
        wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in wanted if m not in available]
        if unknown:
            print(f"unknown method(s) {unknown}; choose from {list(available)}", file=sys.stderr)
            return 2
        methods = {m: available[m] for m in wanted}
    t0 = time.perf_counter()
    run = reproduce_alerce(fast=args.fast or None, n_per_class=args.n_per_class,
                           n_splits=args.folds, methods=methods, random_state=args.seed,
                           device=args.device, verbose=int(args.progress),
                           n_jobs=None if args.jobs == 1 else args.jobs)
    total = time.perf_counter() - t0
    cfg = run.config
    print(f"ALeRCE anomaly detector: leave-one-subclass-out AUROC (mean ± std over "
          f"{cfg['n_splits']} folds), {cfg['n_objects']} simulated objects, "
          f"{cfg['n_features']} features, {'FAST' if cfg['fast'] else 'full'} mode")
    print(run.result)
    print()
    print("Mean AUROC per top class:")
    print(run.result.by_top_class().round(3).to_string())
    print("\ntime: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
          + f", total {total:.1f} s")
    if args.json:
        payload = {"config": cfg, "seconds": run.seconds, **run.result.to_json_dict()}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def _cmd_reproduce_streams(args) -> int:
    from astroad_nb.stream_protocol import reproduce_streams

    if args.fast:
        os.environ["ASTROAD_FAST"] = "1"
    t0 = time.perf_counter()
    run = reproduce_streams(fast=args.fast or None, random_state=args.seed, device=args.device,
                            verbose=int(args.progress))
    cfg = run.config
    print(f"Meta-DeepSets stream membership: {cfg['source']} streams "
          f"({cfg['n_train_streams']} for meta-training), {'FAST' if cfg['fast'] else 'full'} mode")
    print(run.table.round(3).to_string())
    print("\nMean over validation streams:")
    print(run.means.round(3).to_string())
    print(f"\n{cfg['gd1']} (R, BA, P, MCC):")
    print(run.gd1.to_string())
    print("\ntime: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
          + f", total {time.perf_counter() - t0:.1f} s")
    if args.json:
        payload = {"config": cfg, "seconds": run.seconds,
                   "table": run.table.reset_index().to_dict(orient="records"),
                   "means": run.means.to_dict(orient="index"),
                   "gd1": run.gd1.to_dict(orient="index")}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def _cmd_reproduce_realbogus(args) -> int:
    from astroad_nb.active import reproduce_realbogus

    if args.fast:
        os.environ["ASTROAD_FAST"] = "1"
    t0 = time.perf_counter()
    run = reproduce_realbogus(fast=args.fast or None, random_state=args.seed,
                              n_total=args.n_total, n_initial=args.n_initial, k=args.k,
                              rounds=args.rounds, epochs=args.epochs,
                              finetune_epochs=args.finetune_epochs, strategy=args.strategy,
                              device=args.device, verbose=int(args.progress))
    cfg = run.config
    print(f"RB-C1000 real/bogus with few labels on {cfg['n_total']} simulated triplets "
          f"(M={cfg['n_initial']}, K={cfg['k']}, R={cfg['rounds']}, test {cfg['n_test']}), "
          f"{'FAST' if cfg['fast'] else 'full'} mode; Sum = mean of the six metrics")
    print(run.table.round(3).to_string())
    print(f"\nbest stage on validation ({cfg['selection_metric']}): {cfg['best_stage']}")
    print("Test set per kind (best stage):")
    print(run.per_kind.round(3).to_string())
    print(f"\ntime: simulate {run.seconds['simulate']:.1f} s, loop {run.seconds['loop']:.1f} s, "
          f"total {time.perf_counter() - t0:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(run.to_json_dict(), indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def _cmd_notebooks(args) -> int:
    import nbformat
    from nbclient import NotebookClient

    folder = Path(args.folder)
    notebooks = sorted(folder.glob("[0-9]*.ipynb"))
    if not notebooks:
        print(f"no notebooks found in {folder}", file=sys.stderr)
        return 2
    if not args.execute:
        for nb in notebooks:
            print(nb)
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in notebooks:
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(folder.resolve())}},
                                store_widget_state=False)
        try:
            client.execute()
            status = "ok"
        except Exception as exc:  # report and go on with the other notebooks
            status = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[-1] if str(exc) else ''}"
            failed.append(path.name)
        nbformat.write(nb, out / path.name)
        print(f"{path.name}: {status} ({time.perf_counter() - t0:.0f} s) -> {out / path.name}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="astroad", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("reproduce", help="reproduce a published system's results")
    rep_sub = rep.add_subparsers(dest="system", required=True)
    alerce = rep_sub.add_parser("alerce", help="ALeRCE anomaly detector, Table 1")
    alerce.add_argument("--fast", action="store_true", help="small sizes (≤ 5 min on 2 cores)")
    alerce.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    alerce.add_argument("--n-per-class", type=int, default=None)
    alerce.add_argument("--folds", type=int, default=None)
    alerce.add_argument("--methods", help="comma-separated subset, e.g. 'IForest,Deep SVDD'")
    alerce.add_argument("--seed", type=int, default=0)
    alerce.add_argument("--device", default="auto")
    alerce.add_argument("--jobs", type=int, default=-1,
                        help="worker processes for the folds (default: all cores)")
    alerce.add_argument("--progress", action="store_true", help="show progress bars")
    alerce.set_defaults(func=_cmd_reproduce_alerce)
    streams = rep_sub.add_parser("streams", help="Meta-DeepSets stream membership, GD-1 table")
    streams.add_argument("--fast", action="store_true", help="small sizes (~3 min on 2 cores)")
    streams.add_argument("--json", metavar="FILE", help="also write the tables as JSON")
    streams.add_argument("--seed", type=int, default=0)
    streams.add_argument("--device", default="auto")
    streams.add_argument("--progress", action="store_true", help="show progress bars")
    streams.set_defaults(func=_cmd_reproduce_streams)
    rb = rep_sub.add_parser("realbogus", help="RB-C1000 real/bogus with 1000 labels (ITS/ALS/SSLS)")
    rb.add_argument("--fast", action="store_true", help="small sizes (~3 min on 2 cores)")
    rb.add_argument("--json", metavar="FILE", help="also write the stage table as JSON")
    rb.add_argument("--seed", type=int, default=0)
    rb.add_argument("--n-total", type=int, default=None, help="simulated triplets")
    rb.add_argument("--n-initial", type=int, default=None, help="M, initially labelled")
    rb.add_argument("--k", type=int, default=None, help="K, queried for labels")
    rb.add_argument("--rounds", type=int, default=3, help="R, semi-supervised rounds")
    rb.add_argument("--epochs", type=int, default=None)
    rb.add_argument("--finetune-epochs", type=int, default=None)
    rb.add_argument("--strategy", default="least_confidence",
                    choices=["least_confidence", "margin", "entropy", "random"])
    rb.add_argument("--device", default="auto")
    rb.add_argument("--progress", action="store_true", help="show progress bars")
    rb.set_defaults(func=_cmd_reproduce_realbogus)

    nbs = sub.add_parser("notebooks", help="list or execute the demo notebooks")
    nbs.add_argument("--folder", default="notebooks")
    nbs.add_argument("--execute", action="store_true")
    nbs.add_argument("--output", default="notebooks/outputs")
    nbs.add_argument("--timeout", type=int, default=3600)
    nbs.set_defaults(func=_cmd_notebooks)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
