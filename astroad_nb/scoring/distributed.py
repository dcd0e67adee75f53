"""``score_alerts`` on ``dask.distributed``: a local cluster or a running scheduler.

Each worker loads the bundle once, from its folder, through a :class:`BundlePlugin`; tasks
carry partitions (file paths, or the bytes of a tarball chunk), never the model. Workers
write their partitions' files themselves; the client appends the manifest as tasks finish
(one writer), and keeps at most ``max_in_flight`` partitions submitted, so the memory of a
run is bounded by the partition size, not by the night. Imported only when Dask is asked for.
"""

from __future__ import annotations

import hashlib
import logging
from itertools import islice
from pathlib import Path

from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

__all__ = ["BundlePlugin", "run_on_dask"]


class BundlePlugin(WorkerPlugin):
    """Load a saved :class:`~astroad_nb.scoring.ScoringPipeline` once per worker.

    Parameters
    ----------
    path : str
        The bundle folder (seen by every worker).
    """

    def __init__(self, path):
        self.path = str(path)
        self.name = "astroad-bundle-" + hashlib.sha1(self.path.encode()).hexdigest()[:12]
        self.bundle = None

    def setup(self, worker):
        """Load the bundle; one torch thread (a worker is one core)."""
        import torch

        from astroad_nb.scoring.pipeline import ScoringPipeline

        torch.set_num_threads(1)
        self.bundle = ScoringPipeline.load(self.path)


def _task(part, out, plugin_name, class_probabilities):
    from astroad_nb.scoring.run import score_partition, write_partition

    bundle = get_worker().plugins[plugin_name].bundle
    scores, rejects, n_read = score_partition(part, bundle,
                                              class_probabilities=class_probabilities, n_jobs=1)
    return write_partition(Path(out), part, scores, rejects, n_read)


def run_on_dask(parts, out, bundle_path, manifest, bar, *, workers=None, scheduler=None,
                class_probabilities=None, max_in_flight=None):
    """Score ``parts`` on Dask; append each finished partition to ``manifest``.

    Parameters
    ----------
    parts : iterator of Partition
    out : Path
        Dataset folder (seen by every worker).
    bundle_path : Path
        Saved bundle folder (seen by every worker).
    manifest : object with ``add(entry)``
    bar : callable ``(n_alerts, entry)`` with ``close()``
    workers : int, optional
        Worker processes of a new ``LocalCluster`` on 127.0.0.1, one thread each.
    scheduler : str, optional
        Address of a running scheduler.
    class_probabilities : DataFrame, optional
        Broadcast once to every worker.
    max_in_flight : int, optional
        Default: 2 per worker.
    """
    cluster = None
    if scheduler is None:
        if workers is None or int(workers) < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}.")
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR,
                               env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        plugin = BundlePlugin(Path(bundle_path).resolve())
        client.register_plugin(plugin)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = int(max_in_flight or 2 * n_workers)
        probs = (client.scatter(class_probabilities, broadcast=True)
                 if class_probabilities is not None else None)
        parts = iter(parts)
        pending = as_completed()
        for part in islice(parts, limit):
            pending.add(client.submit(_task, part, str(out), plugin.name, probs, pure=False))
        for future in pending:
            entry = future.result()  # a failing task raises here, naming its partition
            future.release()
            manifest.add(entry)
            bar(entry["n_read"], entry)
            nxt = next(parts, None)
            if nxt is not None:
                pending.add(client.submit(_task, nxt, str(out), plugin.name, probs, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
