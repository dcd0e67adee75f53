"""``score_alerts``: a night of alerts through a bundle, in-process or on Dask, into a resumable
Parquet dataset.

Output layout (``out="night.parquet"``)::

    night.parquet/
      part-<sha1 of the partition key>.parquet   one file per input partition (no ``rank``)
      _rejects/part-<...>.parquet                that partition's rejected packets
      _manifest.jsonl                            a header line, then one line per partition
                                                 finished (key, file, counts)
      _bundle/                                   the bundle used, when it was given in memory
    night.rejects.parquet                        every rejected packet, beside the output

A partition is written to a temporary name and renamed (atomic), its rejects first and its
scores last, then appended to the manifest. A run that is killed (even ``kill -9``) and
started again skips every partition in the manifest, adopts a partition whose files were
renamed but whose manifest line was lost (its key is stored in the file), and redoes the
rest: the same rows, none twice, none missing. ``pandas.read_parquet("night.parquet")`` reads
the dataset (files and folders starting with ``_`` are ignored); :func:`read_scores` adds the
night's ``rank``, which needs every partition and so is not stored in them.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.scoring.packets import build_batch
from astroad_nb.scoring.sources import Partition, iter_partitions, read_partition

__all__ = ["SCORE_COLUMNS", "REJECT_COLUMNS", "read_rejects", "read_scores", "score_alerts",
           "score_partition", "summarize"]

#: Columns of the scores (``rank`` is added by :func:`read_scores` / :func:`score_alerts`).
SCORE_COLUMNS = ["objectId", "candid", "jd", "fid", "ra", "dec", "magpsf", "n_det", "p_real",
                 "top_class", "p_top_class", "anomaly_score", "rank", "reason", "source"]
#: Columns of the rejects table.
REJECT_COLUMNS = ["source", "index", "objectId", "candid", "reason", "detail"]
MANIFEST = "_manifest.jsonl"
_FORMAT = "astroad_nb.scores"
_KEY_META = b"astroad_partition"


# ------------------------------------------------------------------------------ one partition
def score_partition(part: Partition, bundle, *, class_probabilities=None, n_jobs=-1,
                    timings=None):
    """Read and score one partition.

    Parameters
    ----------
    part : Partition
    bundle : ScoringPipeline
    class_probabilities : DataFrame, optional
        Outside top-class probabilities indexed by ``candid`` (index name ``candid``) or by
        ``objectId``; a column per top class of the bundle.
    n_jobs : int, default=-1
        Threads of the feature code.
    timings : dict, optional
        Seconds per stage are added to it (``read``, ``decode``, ``features``, ``cnn``,
        ``detectors``).

    Returns
    -------
    scores : DataFrame
        :data:`SCORE_COLUMNS` less ``rank``.
    rejects : DataFrame
        :data:`REJECT_COLUMNS`.
    n_read : int
        Alerts met (scored or rejected).
    """
    clock = _Clock(timings)
    raw = read_partition(part)
    clock("read")
    if raw.features is not None:  # a feature table: no packets, no cutouts
        frame = raw.features
        scored = bundle.score_features(frame, _aligned(class_probabilities, frame.index, None))
        clock("detectors")
        n = len(frame)
        scores = pd.DataFrame({
            "objectId": frame.index.astype(str), "candid": pd.array([pd.NA] * n, "Int64"),
            "jd": np.nan, "fid": pd.array([pd.NA] * n, "Int64"), "ra": np.nan, "dec": np.nan,
            "magpsf": np.nan, "n_det": pd.array([pd.NA] * n, "Int64"), "p_real": np.nan,
            "top_class": scored["top_class"].to_numpy(dtype=object),
            "p_top_class": scored["p_top_class"].to_numpy(),
            "anomaly_score": scored["anomaly_score"].to_numpy(),
            "reason": scored["reason"].to_numpy(dtype=object), "source": part.source})
        return _typed(scores), _rejects_frame([]), raw.n_read
    size = bundle.cutout_size
    batch = build_batch(raw.packets, bands=bundle.bands, rb_min=bundle.rb_min,
                        max_sigma=bundle.max_sigma, min_detections=bundle.min_detections,
                        cutout_size=size)
    clock("decode")
    table = batch.table
    n = len(table)
    keys = table["candid"].astype(str).to_numpy()
    few = np.array([any(r.startswith("few_detections") for r in why) for why in batch.reasons],
                   dtype=bool)
    scored = pd.DataFrame({"top_class": pd.Series([None] * n, dtype=object),
                           "p_top_class": np.full(n, np.nan), "anomaly_score": np.full(n, np.nan),
                           "reason": [""] * n})
    if (~few).any():
        feats = bundle.compute_features(batch.lightcurves.subset(keys[~few]), n_jobs=n_jobs)
        clock("features")
        feats = feats.reindex(keys[~few])
        outside = _aligned(class_probabilities, table["candid"].to_numpy()[~few],
                           table["objectId"].to_numpy()[~few])
        if outside is not None:
            outside.index = feats.index
        part_scores = bundle.score_features(feats, outside)
        rows = np.flatnonzero(~few)
        for col in scored.columns:
            scored.iloc[rows, scored.columns.get_loc(col)] = part_scores[col].to_numpy()
        clock("detectors")
    p_real = np.full(n, np.nan)
    if size is not None and batch.has_images.any():
        p_real[batch.has_images] = bundle.p_real(batch.images[batch.has_images])
        clock("cnn")
    reasons = []
    for i, why in enumerate(batch.reasons):
        extra = [scored.at[i, "reason"]] if scored.at[i, "reason"] else []
        if size is None:
            extra.append("no_realbogus_model")
        reasons.append(";".join([*why, *extra]))
    scores = table.assign(p_real=p_real,
                          top_class=scored["top_class"].to_numpy(dtype=object),
                          p_top_class=scored["p_top_class"].to_numpy(dtype=np.float64),
                          anomaly_score=scored["anomaly_score"].to_numpy(dtype=np.float64),
                          reason=reasons)
    return _typed(scores), _rejects_frame(batch.rejects + raw.rejects), raw.n_read


def _aligned(outside, candids, object_ids):
    """Rows of the outside probabilities for these alerts (by candid, else by objectId)."""
    if outside is None:
        return None
    if not isinstance(outside, pd.DataFrame):
        raise TypeError(f"class_probabilities must be a DataFrame indexed by candid or "
                        f"objectId, got {type(outside).__name__}.")
    if outside.index.name == "candid" or object_ids is None:
        index = pd.Index(np.asarray(candids)).astype(outside.index.dtype) \
            if outside.index.name == "candid" else pd.Index(candids)
    else:
        index = pd.Index(np.asarray(object_ids, dtype=object))
    if not outside.index.is_unique:
        raise ValueError(f"class_probabilities has duplicate {outside.index.name or 'index'} "
                         "values; keep one row per alert (or per object).")
    return outside.reindex(index)


def _typed(scores):
    out = pd.DataFrame({
        "objectId": scores["objectId"].astype(object),
        "candid": pd.array(scores["candid"], dtype="Int64"),
        "jd": scores["jd"].astype(np.float64), "fid": pd.array(scores["fid"], dtype="Int64"),
        "ra": scores["ra"].astype(np.float64), "dec": scores["dec"].astype(np.float64),
        "magpsf": scores["magpsf"].astype(np.float64),
        "n_det": pd.array(scores["n_det"], dtype="Int64"),
        "p_real": scores["p_real"].astype(np.float64),
        "top_class": scores["top_class"].astype(object),
        "p_top_class": scores["p_top_class"].astype(np.float64),
        "anomaly_score": scores["anomaly_score"].astype(np.float64),
        "reason": scores["reason"].astype(object), "source": scores["source"].astype(object)})
    return out.reset_index(drop=True)


def _rejects_frame(rows):
    frame = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    frame["index"] = pd.array(frame["index"], dtype="Int64")
    frame["candid"] = pd.array(frame["candid"], dtype="Int64")
    for col in ("source", "objectId", "reason", "detail"):
        frame[col] = frame[col].astype(object)
    return frame


class _Clock:
    def __init__(self, timings):
        self.timings, self.t = timings, time.perf_counter()

    def __call__(self, stage):
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.t
        self.t = now


# ------------------------------------------------------------------------------ the dataset
def _arrow(frame, key, extra=None):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_KEY_META] = json.dumps({"key": key, **(extra or {})}).encode()
    return table.replace_schema_metadata(meta)


def _write_atomic(table, path):
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_partition(out: Path, part: Partition, scores, rejects, n_read) -> dict:
    """Write one partition's files (rejects, then scores), atomically; its manifest entry."""
    stem = part.file_stem
    counts = {"n_rows": int(len(scores)), "n_rejects": int(len(rejects)), "n_read": int(n_read),
              "n_scored": int(np.isfinite(scores["anomaly_score"].to_numpy(float)).sum())}
    (out / "_rejects").mkdir(parents=True, exist_ok=True)
    _write_atomic(_arrow(rejects, part.key), out / "_rejects" / f"{stem}.parquet")
    _write_atomic(_arrow(scores, part.key, counts), out / f"{stem}.parquet")
    return {"key": part.key, "file": f"{stem}.parquet", **counts}


class _Manifest:
    """Append-only JSON-lines manifest; a torn last line (a kill mid-write) is ignored."""

    def __init__(self, out: Path, header: dict, *, resume: bool):
        self.path = out / MANIFEST
        self.done: dict[str, dict] = {}
        if self.path.exists() and resume:
            lines = self.path.read_text().splitlines()
            entries = []
            for line in lines:
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # torn by a kill: the partition is adopted or redone
            old = entries[0].get("header", {}) if entries else {}
            for field in ("bundle", "partition_size"):
                if entries and old.get(field) != header[field]:
                    raise ValueError(
                        f"{out} was written with another {field} ({old.get(field)!r}, now "
                        f"{header[field]!r}); resume with the same model and partition size, "
                        "or write to a new --out (or pass resume=False to start over).")
            self.done = {e["key"]: e for e in entries[1:] if "key" in e}
            if not entries:
                self._write_header(header)
            elif lines and not lines[-1].endswith("}"):
                self._rewrite(header)
        else:
            self._write_header(header)

    def _write_header(self, header):
        self.path.write_text(json.dumps({"header": header}) + "\n")

    def _rewrite(self, header):  # drop a torn line so that later appends stay parseable
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(json.dumps(x) + "\n" for x in
                               [{"header": header}, *self.done.values()]))
        os.replace(tmp, self.path)

    def add(self, entry):
        with open(self.path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done[entry["key"]] = entry


def _adopt(out: Path, part: Partition):
    """The manifest entry of a partition whose files exist but whose line was lost."""
    import pyarrow.parquet as pq

    path = out / f"{part.file_stem}.parquet"
    if not path.exists() or not (out / "_rejects" / path.name).exists():
        return None
    try:
        meta = json.loads(pq.read_schema(path).metadata[_KEY_META])
    except Exception:  # unreadable or foreign: redo it
        return None
    if meta.get("key") != part.key:
        return None
    return {"key": part.key, "file": path.name,
            **{k: meta[k] for k in ("n_rows", "n_rejects", "n_read", "n_scored")}}


def _clean_tmp(out: Path):
    for tmp in [*out.glob("*.tmp"), *out.glob("_rejects/*.tmp")]:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ entry point
def score_alerts(paths_or_packets, bundle, *, out=None, partition_size=1000, workers=None,
                 scheduler=None, class_probabilities=None, resume=True, progress=False,
                 n_jobs=-1, timings=None, max_in_flight=None) -> pd.DataFrame:
    """Score a night of alerts: light-curve features, real/bogus CNN, detectors, ranks.

    Parameters
    ----------
    paths_or_packets : path, list of paths, list of packet dicts, or DataFrame
        ZTF Avro files, folders of them, nightly ``.tar.gz`` of Avro files (read as a stream),
        broker Parquet exports (nested ``candidate``, ``prv_candidates``,
        ``cutoutScience.stampData``), packets as fastavro returns them, or feature tables
        (a DataFrame or a Parquet/CSV file without a ``candidate`` column, index = object
        id: what ``score_catalogue`` did).
    bundle : ScoringPipeline or path
        A fitted bundle, or the folder it was saved to.
    out : path, optional
        Parquet dataset folder to write (see the module docstring): resumable. Without it the
        scores are only returned (in-process only).
    partition_size : int, default=1000
        Alerts per partition: the unit of work, of output files and of memory.
    workers : int, optional
        Score on a local Dask cluster of this many worker processes (127.0.0.1). Needs
        ``out``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see the
        input files, ``out`` and the bundle folder. Needs ``out``.
    class_probabilities : DataFrame, optional
        A broker's own top-class probabilities, indexed by ``candid`` (index name
        ``"candid"``) or by ``objectId``, one column per top class of the bundle; alerts
        without a row use the bundle's own (reason ``outside_probabilities_missing``).
    resume : bool, default=True
        Skip partitions already in ``out``'s manifest; False starts over.
    progress : bool or callable, default=False
        True: a tqdm bar in alerts/s; a callable gets ``(n_alerts_done_in_this_step, entry)``.
    n_jobs : int, default=-1
        Threads of the feature code in-process (workers use one each).
    timings : dict, optional
        Filled with seconds per stage (in-process only).
    max_in_flight : int, optional
        Dask: partitions submitted but not finished (default 2 per worker): bounds the memory
        of streamed tarballs.

    Returns
    -------
    pandas.DataFrame
        One row per alert scored, columns :data:`SCORE_COLUMNS`, sorted by ``rank``
        (1 = most anomalous of the night; ties by ``candid``; no rank where
        ``anomaly_score`` is NaN). ``attrs["rejects"]``: the rejected packets as a list of
        dicts (:data:`REJECT_COLUMNS`); ``attrs["summary"]``: :func:`summarize`'s dict.

    Raises
    ------
    FileNotFoundError
        An input path does not exist.
    ValueError
        ``workers`` and ``scheduler`` both given, Dask without ``out``, or an ``out`` written
        by another bundle or partition size.

    Examples
    --------
    >>> scores = score_alerts("ztf_public_20181107.tar.gz", "models/night",
    ...                       out="night.parquet", workers=2)  # doctest: +SKIP
    >>> scores.head(10)[["objectId", "anomaly_score", "top_class", "p_real"]]  # doctest: +SKIP
    """
    from astroad_nb.scoring.pipeline import ScoringPipeline

    if workers is not None and scheduler is not None:
        raise ValueError("pass workers=N (a local cluster) or scheduler=ADDRESS, not both.")
    distributed = workers is not None or scheduler is not None
    if distributed and out is None:
        raise ValueError("scoring on Dask writes a dataset: pass out='night.parquet'.")
    bundle_path = None
    if not isinstance(bundle, ScoringPipeline):
        bundle_path = Path(bundle)
        bundle = ScoringPipeline.load(bundle_path)
    parts = iter_partitions(paths_or_packets, partition_size=partition_size)
    bar = _progress(progress)
    if out is None:
        results = []
        for part in parts:
            scores, rejects, n_read = score_partition(
                part, bundle, class_probabilities=class_probabilities, n_jobs=n_jobs,
                timings=timings)
            results.append((scores, rejects))
            bar(len(scores) + len(rejects), {"key": part.key, "n_read": n_read})
        bar.close()
        scores = pd.concat([r[0] for r in results], ignore_index=True) if results else \
            _typed(pd.DataFrame(columns=SCORE_COLUMNS))
        rejects = pd.concat([r[1] for r in results], ignore_index=True) if results else \
            _rejects_frame([])
        return _finish(scores, rejects)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clean_tmp(out)
    if bundle_path is None:  # the model that made the scores, kept beside them
        bundle_path = out / "_bundle"
        bundle.save(bundle_path)
    fingerprint = json.loads((bundle_path / "config.json").read_text())["checksum"]
    import astroad_nb

    header = {"format": _FORMAT, "version": 1, "bundle": fingerprint,
              "partition_size": int(partition_size), "astroad_nb_version": astroad_nb.__version__}
    manifest = _Manifest(out, header, resume=resume)
    todo = _pending(parts, manifest, out, bar)
    if distributed:
        try:
            from astroad_nb.scoring.distributed import run_on_dask
        except ModuleNotFoundError as err:
            raise ModuleNotFoundError(
                f"score_alerts(workers={workers!r}, scheduler={scheduler!r}) runs on "
                f"dask.distributed, which is not installed ({err.name!r} is missing): "
                "pip install 'astroad_nb[scale]', or leave workers and scheduler unset to score "
                "in this process") from err

        run_on_dask(todo, out, bundle_path, manifest, bar, workers=workers, scheduler=scheduler,
                    class_probabilities=class_probabilities, max_in_flight=max_in_flight)
    else:
        for part in todo:
            scores, rejects, n_read = score_partition(
                part, bundle, class_probabilities=class_probabilities, n_jobs=n_jobs,
                timings=timings)
            clock = time.perf_counter()
            entry = write_partition(out, part, scores, rejects, n_read)
            manifest.add(entry)
            if timings is not None:
                timings["write"] = timings.get("write", 0.0) + time.perf_counter() - clock
            bar(entry["n_read"], entry)
    bar.close()
    scores, rejects = _read_dataset(out, manifest.done)
    _write_rejects(out, rejects)
    return _finish(scores, rejects)


def _pending(parts, manifest, out, bar):
    """Partitions not yet in the manifest (adopting those whose line was lost)."""
    for part in parts:
        if part.key in manifest.done:
            bar(manifest.done[part.key]["n_read"], None)
            continue
        entry = _adopt(out, part)
        if entry is not None:
            manifest.add(entry)
            bar(entry["n_read"], None)
            continue
        yield part


def _read_dataset(out: Path, done: dict):
    import pyarrow.parquet as pq

    frames, rejects = [], []
    for entry in done.values():
        frames.append(pq.read_table(out / entry["file"]).to_pandas())
        rejects.append(pq.read_table(out / "_rejects" / entry["file"]).to_pandas())
    scores = _typed(pd.concat(frames, ignore_index=True)) if frames else \
        _typed(pd.DataFrame(columns=SCORE_COLUMNS))
    rej = _rejects_frame(pd.concat(rejects, ignore_index=True).to_dict("records")) \
        if rejects else _rejects_frame([])
    return scores, rej


def _write_rejects(out: Path, rejects):
    import pyarrow as pa

    path = out.with_name(out.name.removesuffix(".parquet") + ".rejects.parquet")
    _write_atomic(pa.Table.from_pandas(rejects, preserve_index=False), path)


def _finish(scores, rejects):
    scores = _ranked(scores)
    scores.attrs["rejects"] = rejects.astype(object).where(rejects.notna(), None).to_dict(
        "records")
    scores.attrs["summary"] = summarize(scores, rejects)
    return scores


def _ranked(scores):
    s = scores["anomaly_score"].to_numpy(dtype=np.float64)
    finite = np.isfinite(s)
    cand = scores["candid"].fillna(-1).to_numpy(dtype=np.int64)
    order = np.lexsort((cand, -np.where(finite, s, -np.inf)))  # NaN last, ties by candid
    scores = scores.iloc[order].reset_index(drop=True)
    rank = np.where(np.isfinite(scores["anomaly_score"].to_numpy(float)),
                    np.arange(1, len(scores) + 1), 0)
    scores.insert(SCORE_COLUMNS.index("rank"), "rank",
                  pd.array(np.where(rank > 0, rank, pd.NA), dtype="Int64"))
    return scores[SCORE_COLUMNS]


def read_scores(out) -> pd.DataFrame:
    """The scores of a finished (or interrupted) run in ``out``, ranked.

    Parameters
    ----------
    out : path
        The dataset folder written by :func:`score_alerts`.

    Returns
    -------
    pandas.DataFrame
        As :func:`score_alerts` returns (partitions listed in the manifest only).

    Raises
    ------
    FileNotFoundError
        When ``out`` has no manifest.
    """
    out = Path(out)
    if not (out / MANIFEST).exists():
        raise FileNotFoundError(f"{out}: no {MANIFEST}; is it a folder written by "
                                "score_alerts(out=...) / astroad score?")
    manifest = _Manifest.__new__(_Manifest)
    entries = []
    for line in (out / MANIFEST).read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    manifest.done = {e["key"]: e for e in entries[1:] if "key" in e}
    scores, rejects = _read_dataset(out, manifest.done)
    return _finish(scores, rejects)


def read_rejects(out) -> pd.DataFrame:
    """The rejects table of a run (``<out>.rejects.parquet``, else from its partitions)."""
    out = Path(out)
    beside = out.with_name(out.name.removesuffix(".parquet") + ".rejects.parquet")
    if beside.exists():
        return pd.read_parquet(beside)
    return pd.DataFrame(read_scores(out).attrs["rejects"], columns=REJECT_COLUMNS)


def summarize(scores, rejects) -> dict:
    """Counts of a run: read, scored, rejected by reason, and the top 10.

    Parameters
    ----------
    scores : DataFrame
        Ranked scores.
    rejects : DataFrame or list of dict

    Returns
    -------
    dict
        ``n_read`` (rows + rejects), ``n_rows``, ``n_scored`` (finite anomaly score),
        ``n_rejected``, ``reasons`` (code -> count, over rows and rejects),
        ``top`` (list of dicts of the 10 best-ranked rows).
    """
    rejects = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    reasons = Counter()
    for text in scores["reason"].fillna(""):
        for code in filter(None, str(text).split(";")):
            reasons[code.split("(", 1)[0]] += 1
    for code in rejects["reason"]:
        reasons[str(code)] += 1
    finite = np.isfinite(scores["anomaly_score"].to_numpy(dtype=np.float64))
    top = scores[finite].head(10)[["rank", "objectId", "candid", "anomaly_score", "top_class",
                                   "p_top_class", "p_real"]]
    return {"n_read": int(len(scores) + len(rejects)), "n_rows": int(len(scores)),
            "n_scored": int(finite.sum()), "n_rejected": int(len(rejects)),
            "reasons": dict(sorted(reasons.items())),
            "top": top.astype(object).where(top.notna(), None).to_dict("records")}


class _NoBar:
    def __init__(self, callback=None):
        self.callback = callback

    def __call__(self, n, entry):
        if self.callback is not None:
            self.callback(n, entry)

    def close(self):
        pass


class _Bar:
    def __init__(self):
        from tqdm.auto import tqdm

        self.bar = tqdm(unit=" alerts", unit_scale=True, desc="scoring", smoothing=0.1)

    def __call__(self, n, entry):
        self.bar.update(n)

    def close(self):
        self.bar.close()


def _progress(progress):
    if progress is True:
        return _Bar()
    if callable(progress):
        return _NoBar(progress)
    return _NoBar()
