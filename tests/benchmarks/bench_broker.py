"""Benchmark: a Rubin-visit burst of alerts scored end to end (issue 12).

40,000 simulated alerts, one Avro file each (as ZTF publishes them), written with fastavro
under the real ZTF 3.3 schema taken from a real packet of ``../shared/data/ztf_alerts`` (a
compact ZTF-named schema when that folder is absent), each with ~30 ``prv_candidates`` and
three 63 x 63 gzipped-FITS cutouts. Printed:

* the decode-only rates on the same files: ``fastavro.reader`` (the ceiling a broker quotes)
  and the scorer's own reader (schema cached);
* the end-to-end rate in-process (read + decode + features + CNN + detectors + write) and the
  share of time per stage;
* 1 vs 2 Dask workers (rates between the first and the last finished partition, so the
  cluster start is not counted) and the speedup;
* the peak RSS of each worker for 10,000 and 100,000 alerts.

Measured on 2026-12-03, 2-core CPU, 40,000-alert burst (65.8 kB per alert, real ZTF 3.3
schema), RSS over 10,000 and 100,000 alerts::

    decode only, 1 process    fastavro.reader 551 alerts/s, the scorer's reader 843 alerts/s
    in-process end to end     349 alerts/s: read 44 %, decode 19 %, features 3 %,
                              detectors 5 %, cnn 28 %, write 0 %
    Dask, 1 worker            262 alerts/s (after the first partition; 250 with cluster start)
    Dask, 2 workers           520 alerts/s (443 with cluster start): speedup x1.98 (target 1.8)
    peak RSS per worker       866 / 877 MiB at 10,000, 869 / 887 MiB at 100,000: +0.8 %

The 670 alerts/s target is not met (520). Reading is the floor: fastavro alone needs 1.81 ms
per alert on one core (551/s), more than the 1.49 ms one core would have at 670/s, so the target
needs both cores, and on each the Avro read + stamp inflation (zlib) take ~1.1 ms of a
worker's ~3.8 ms per alert; the rest is the CNN's normalisation and convolutions (single-threaded
on a worker). Throughput on this VM drifts by +-15 % between runs (the same code measured 492
alerts/s in-process on 2026-12-02).

Run as a script (``BENCH_BROKER_N=4000`` for a quick look, ``BENCH_BROKER_RSS=10000,40000``
for smaller RSS sizes)::

    python tests/benchmarks/bench_broker.py

or as a test (asserts the 670 alerts/s target of the issue)::

    python -m pytest tests/benchmarks/bench_broker.py -m benchmark -q -s
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

N_BURST = int(os.environ.get("BENCH_BROKER_N", 40_000))
RSS_SIZES = tuple(int(x) for x in os.environ.get("BENCH_BROKER_RSS", "10000,100000").split(","))
TARGET = 670.0  # alerts/s: the 40,000-alert burst in 60 s
PARTITION = 1000
N_PRV = 30


def _real_schema():
    from astroad_nb._config import real_data_path
    from astroad_nb.scoring.simulate import ztf_schema

    folder = real_data_path("ztf_alerts")
    if folder is None:
        return ztf_schema(), "compact ZTF-named schema (real packets absent)"
    import fastavro

    for path in sorted(folder.glob("*.avro")):
        with open(path, "rb") as fh:
            schema = fastavro.reader(fh).writer_schema
        if schema.get("name") == "ztf.alert":
            return schema, f"real ZTF {schema.get('version')} schema of {path.name}"
    return ztf_schema(), "compact ZTF-named schema (no ztf.alert packet found)"


def _write_chunk(args):
    lcs_frame, meta, start, n, folder, schema, pool_images, seed = args
    from astroad_nb.data.alerts import CutoutSet
    from astroad_nb.data.lightcurves import LightCurves
    from astroad_nb.scoring.simulate import simulate_alert_packets, write_avro_alerts

    lcs = LightCurves(lcs_frame, meta)
    packets = simulate_alert_packets(lcs, n_alerts=n, n_prv=N_PRV,
                                     cutouts=CutoutSet(images=pool_images),
                                     n_upper_limits=2, random_state=seed,
                                     first_candid=2_000_000_000_000_000_000 + start)
    return [str(p) for p in write_avro_alerts(packets, folder, schema=schema)]


def make_night(folder, n_alerts, lcs, pool, schema, *, processes=2):
    """Write ``n_alerts`` Avro files into ``folder`` (in ``processes`` processes)."""
    step = -(-n_alerts // (4 * processes))
    jobs = [(lcs.data, lcs.meta, s, min(step, n_alerts - s), str(folder), schema, pool.images,
             s) for s in range(0, n_alerts, step)]
    with get_context("spawn").Pool(processes) as workers:
        paths = [p for chunk in workers.map(_write_chunk, jobs) for p in chunk]
    return sorted(paths)


def _bundle(tmp):
    from astroad_nb.data.alerts import simulate_triplets
    from astroad_nb.data.lightcurves import simulate_lightcurves
    from astroad_nb.models import HierarchicalDetector, IForest, RealBogusCNN
    from astroad_nb.scoring import BROKER_FEATURES, ScoringPipeline

    lcs = simulate_lightcurves(60, random_state=0)
    keep = [i for i, n in lcs.n_points.items() if n > N_PRV]
    lcs = lcs.subset(keep)
    triplets = simulate_triplets(64, 64, random_state=0)
    cnn = RealBogusCNN(epochs=2, random_state=0).fit(triplets)  # inference cost, not skill
    detector = HierarchicalDetector(detector=IForest(n_estimators=100), random_state=0)
    bundle = ScoringPipeline(detector, realbogus=cnn, features=BROKER_FEATURES,
                             random_state=0).fit(lcs)  # fit_default's parts, CNN fitted above
    path = bundle.save(Path(tmp) / "bundle")
    return bundle, path, lcs, triplets


def decode_rates(paths):
    """(fastavro.reader alerts/s, the scorer's reader alerts/s) over the same files."""
    import fastavro

    from astroad_nb.scoring.sources import read_avro_bytes

    blobs = [Path(p).read_bytes() for p in paths]
    t = time.perf_counter()
    n = sum(len(list(fastavro.reader(io.BytesIO(b)))) for b in blobs)
    plain = n / (time.perf_counter() - t)
    t = time.perf_counter()
    n = sum(len(read_avro_bytes(b)[0]) for b in blobs)
    return plain, n / (time.perf_counter() - t)


def _dask_rate(paths, bundle_path, out, workers):
    """Alerts/s between the first and the last finished partition, and the wall time."""
    from astroad_nb.scoring import score_alerts

    stamps = []

    def progress(n, entry):
        stamps.append((time.perf_counter(), n))

    t0 = time.perf_counter()
    score_alerts(paths, bundle_path, out=out, workers=workers, partition_size=PARTITION,
                 progress=progress)
    wall = time.perf_counter() - t0
    (t_first, _), (t_last, _) = stamps[0], stamps[-1]
    n_after_first = sum(n for _, n in stamps[1:])
    return n_after_first / max(t_last - t_first, 1e-9), wall


def _peak_rss(paths, bundle_path, out):
    """Peak RSS (MiB) of each of 2 workers of a fresh cluster scoring ``paths``."""
    from distributed import Client, LocalCluster

    from astroad_nb.scoring import score_alerts

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, env={"OMP_NUM_THREADS": "1"}) as cluster:
        score_alerts(paths, bundle_path, out=out, scheduler=cluster.scheduler_address,
                     partition_size=PARTITION)
        with Client(cluster) as client:
            peaks = client.run(_vm_hwm)
    return sorted(v / 1024 for v in peaks.values())


def _vm_hwm():
    """Peak RSS (kB) of this process. Not ru_maxrss: Linux keeps that across fork + exec,
    so a worker would report the peak of the process that started the cluster."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(n_burst=N_BURST, rss_sizes=RSS_SIZES):
    """Run every measurement; returns a dict of the numbers printed."""
    from astroad_nb.scoring import score_alerts

    tmp = Path(tempfile.mkdtemp(prefix="bench_broker_"))
    res = {"n_burst": n_burst}
    try:
        t = time.perf_counter()
        bundle, bundle_path, lcs, triplets = _bundle(tmp)
        schema, schema_note = _real_schema()
        n_files = max(n_burst, *rss_sizes)
        paths = make_night(tmp / "night", n_files, lcs, triplets, schema)
        burst = paths[:n_burst]
        size = sum(Path(p).stat().st_size for p in burst) / len(burst)
        print(f"setup {time.perf_counter() - t:.0f} s: {n_files} Avro files ({schema_note}), "
              f"{size / 1024:.1f} kB per alert, {N_PRV} prv_candidates + 2 upper limits, "
              f"3 cutouts 63x63; bundle: {len(bundle.feature_names_)} features "
              f"({bundle.feature_settings}), HierarchicalDetector (3 x IForest 100 trees, "
              "balanced RF 300 trees), RealBogusCNN (16, 32, 64)")
        plain, ours = decode_rates(burst)
        res.update(decode_fastavro=plain, decode_ours=ours)
        print(f"decode only (1 process): fastavro.reader {plain:.0f} alerts/s, scorer's reader "
              f"(schema cached) {ours:.0f} alerts/s")
        timings = {}
        t = time.perf_counter()
        score_alerts(burst, bundle_path, out=tmp / "inproc.parquet", partition_size=PARTITION,
                     timings=timings)
        wall = time.perf_counter() - t
        res.update(inprocess=n_burst / wall, inprocess_wall=wall, stages=timings)
        total = sum(timings.values())
        shares = ", ".join(f"{k} {v / total:.0%} ({n_burst / v:.0f}/s)"
                           for k, v in timings.items())
        print(f"end to end in-process: {n_burst} alerts in {wall:.1f} s = "
              f"{n_burst / wall:.0f} alerts/s; stages: {shares}")
        for workers in (1, 2):
            rate, wall = _dask_rate(burst, bundle_path, tmp / f"dask{workers}.parquet", workers)
            res[f"dask{workers}"], res[f"dask{workers}_wall"] = rate, wall
            print(f"Dask {workers} worker(s): {rate:.0f} alerts/s after the first partition, "
                  f"{n_burst / wall:.0f} alerts/s with the cluster start ({wall:.1f} s)")
        res["speedup"] = res["dask2"] / res["dask1"]
        print(f"speedup 1 -> 2 workers: {res['speedup']:.2f}x")
        for n in rss_sizes:
            peaks = _peak_rss(paths[:n], bundle_path, tmp / f"rss{n}.parquet")
            res[f"rss{n}"] = peaks
            print(f"peak RSS per worker, {n} alerts: "
                  + ", ".join(f"{p:.0f} MiB" for p in peaks))
        if len(rss_sizes) >= 2:
            a, b = np.mean(res[f"rss{rss_sizes[0]}"]), np.mean(res[f"rss{rss_sizes[-1]}"])
            res["rss_change"] = b / a - 1
            print(f"RSS change {rss_sizes[0]} -> {rss_sizes[-1]} alerts: {b / a - 1:+.1%}")
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.benchmark
def test_burst_rate():
    pytest.importorskip("distributed")
    res = run()
    assert res["dask2"] >= TARGET or res["inprocess"] >= TARGET, res


if __name__ == "__main__":
    run()
