"""The ``astroad`` command.

Examples
--------
::

    astroad reproduce --list                   # the registered protocols and their presets
    astroad reproduce alerce --preset fast     # Table 1 on simulated light curves (~1 minute)
    astroad reproduce alerce --json table1.json --set n_splits=3
    astroad notebooks --execute --output notebooks/outputs
    astroad score night/ --model models/night --out night.parquet --workers 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _parse_value(text, default):
    """A ``--set key=value`` value, typed like the preset field's default."""
    if text.lower() in ("none", "null"):
        return None
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(default, tuple):
        parts = [t.strip() for t in text.split(",") if t.strip()]
        sample = default[0] if default else ""
        return tuple(type(sample)(t) if not isinstance(sample, str) else t for t in parts)
    if isinstance(default, (int, float)):
        return type(default)(float(text)) if isinstance(default, int) else float(text)
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _overrides(module, pairs):
    base = module.PRESETS[next(iter(module.PRESETS))]
    fields = {f: getattr(base, f) for f in base.to_dict()}
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields or key == "name":
            raise SystemExit(f"--set {pair!r}: expected FIELD=VALUE with FIELD one of "
                             f"{sorted(k for k in fields if k != 'name')}")
        out[key] = _parse_value(value.strip(), fields[key])
    return out


def _cmd_reproduce(args) -> int:
    from astroad_nb import protocols

    if args.list or not args.system:
        for name, (title, presets) in protocols.describe().items():
            print(f"{name:<10} {title}  [presets: {', '.join(presets)}]")
        return 0 if args.list else 2
    try:
        module = protocols.get(args.system)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    preset_name = args.preset or ("fast" if args.fast else "full")
    if preset_name not in module.PRESETS:
        print(f"{args.system} has no preset {preset_name!r}; choose from "
              f"{list(module.PRESETS)}", file=sys.stderr)
        return 2
    overrides = {}
    if args.fast and preset_name != "fast":  # e.g. --preset seed --fast: its science, FAST sizes
        fast = module.PRESETS["fast"]
        overrides = {f: getattr(fast, f) for f in module.SIZE_FIELDS}
    overrides.update(_overrides(module, args.set))
    t0 = time.perf_counter()
    run = module.run(preset_name, random_state=args.seed, device=args.device,
                     n_jobs=None if args.jobs == 1 else args.jobs, verbose=int(args.progress),
                     **overrides)
    with _WidePandas():
        print(run.report())
    print(f"total {time.perf_counter() - t0:.1f} s")
    if args.json:
        run.to_json(args.json)
        print(f"wrote {args.json}")
    return 0


class _WidePandas:
    """Wide pandas printing for reports (a context manager)."""

    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context("display.width", 250, "display.max_columns", 60)
        self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


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


def _cmd_score(args) -> int:
    import pandas as pd

    from astroad_nb.scoring import score_alerts

    probs = None
    if args.class_probabilities:
        path = Path(args.class_probabilities)
        probs = (pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
                 else pd.read_csv(path, index_col=0))
    t0 = time.perf_counter()
    try:
        scores = score_alerts(args.inputs, args.model, out=args.out,
                              partition_size=args.partition_size, workers=args.workers,
                              scheduler=args.scheduler, class_probabilities=probs,
                              resume=not args.restart, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"astroad score: {exc}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - t0
    summary = scores.attrs["summary"]
    out = Path(args.out)
    rejects = out.with_name(out.name.removesuffix(".parquet") + ".rejects.parquet")
    print(f"read {summary['n_read']} alert(s), scored {summary['n_scored']} "
          f"({summary['n_rows']} row(s)), rejected {summary['n_rejected']} "
          f"in {wall:.1f} s ({summary['n_read'] / max(wall, 1e-9):.0f} alerts/s)")
    if summary["reasons"]:
        print("reasons (rows and rejects):")
        for code, count in summary["reasons"].items():
            print(f"  {code:<32} {count}")
    if summary["top"]:
        print("top 10:")
        with _WidePandas():
            print(pd.DataFrame(summary["top"]).to_string(index=False))
    print(f"wrote {out} and {rejects}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="astroad", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("reproduce", help="reproduce a published system's results",
                         description="Run a registered protocol (astroad reproduce --list).")
    rep.add_argument("system", nargs="?", help="protocol name (see --list)")
    rep.add_argument("--list", action="store_true", help="list the protocols and presets")
    rep.add_argument("--preset", default=None,
                     help="named preset: fast (CI/Binder), full (published sizes, default), "
                          "seed (the seed's own hyper-parameters), ...")
    rep.add_argument("--fast", action="store_true",
                     help="alias of --preset fast; with another --preset, that preset at the "
                          "FAST sizes (e.g. --preset seed --fast)")
    rep.add_argument("--set", action="append", metavar="FIELD=VALUE",
                     help="change one preset field, e.g. --set n_per_class=20 (repeatable)")
    rep.add_argument("--json", metavar="FILE", help="also write the run (tables) as JSON")
    rep.add_argument("--jobs", type=int, default=-1,
                     help="worker processes where the protocol has parallel parts")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--device", default="auto")
    rep.add_argument("--progress", action="store_true", help="show progress bars")
    rep.set_defaults(func=_cmd_reproduce)

    nbs = sub.add_parser("notebooks", help="list or execute the demo notebooks")
    nbs.add_argument("--folder", default="notebooks")
    nbs.add_argument("--execute", action="store_true")
    nbs.add_argument("--output", default="notebooks/outputs")
    nbs.add_argument("--timeout", type=int, default=3600)
    nbs.set_defaults(func=_cmd_notebooks)

    sco = sub.add_parser("score", help="score a night of alerts with a saved bundle",
                         description="Score alerts (Avro files or folders, nightly .tar.gz, "
                                     "broker Parquet exports) with a saved ScoringPipeline; "
                                     "writes a resumable Parquet dataset and a rejects "
                                     "table beside it.")
    sco.add_argument("inputs", nargs="+", metavar="INPUT")
    sco.add_argument("--model", required=True, metavar="DIR",
                     help="folder of a saved ScoringPipeline (bundle.save(DIR))")
    sco.add_argument("--out", required=True, metavar="OUT.parquet",
                     help="output dataset folder (rerun the same command to resume)")
    where = sco.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="score on a local Dask cluster of N worker processes")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="score on a running Dask scheduler (e.g. tcp://127.0.0.1:8786)")
    sco.add_argument("--partition-size", type=int, default=1000,
                     help="alerts per partition and output file (default 1000)")
    sco.add_argument("--class-probabilities", default=None, metavar="FILE",
                     help="Parquet/CSV of outside top-class probabilities indexed by candid "
                          "or objectId")
    sco.add_argument("--restart", action="store_true",
                     help="ignore a previous run in --out and start over")
    sco.add_argument("--quiet", action="store_true", help="no progress bar")
    sco.set_defaults(func=_cmd_score)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
