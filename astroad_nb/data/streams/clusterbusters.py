"""Reader of the seed's stream data (the ``clusterbusters`` layout) into :class:`StreamProblem` s."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.data.streams.containers import StreamProblem
from astroad_nb.data.streams.gaia import _check_columns, _read_csv

__all__ = ["ClusterBusters", "read_clusterbusters"]

@dataclasses.dataclass
class ClusterBusters:
    """The seed repository's stream data, as :func:`read_clusterbusters` finds it.

    Attributes
    ----------
    train : list of StreamProblem
        Members joined with their foreground field; truth = member mask; support ``None``
        (draw it with :meth:`StreamProblem.draw_support`).
    validation : list of StreamProblem
        Labelled fields with the known members appended (support = those rows).
    members_only : dict of str -> pandas.DataFrame
        Training streams that have no foreground file (members only).
    unmatched : dict of str -> list of str
        Files that could not be paired (backgrounds without stream, known sets without field).
    """

    train: list
    validation: list
    members_only: dict
    unmatched: dict


def _stream_name(path: Path) -> str:
    match = re.search(r"stream-\d+", path.name)
    if match is None:
        raise ValueError(f"{path}: expected a file name containing 'stream-<number>'.")
    return match.group(0)


def _read_seed_csv(path: Path) -> pd.DataFrame:
    # The seed wrote CSVs with and without the pandas index column; drop those columns.
    frame = _read_csv(path)
    return frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed")]]


def _with_source(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["origin"] = origin
    return frame


def _read_train_problem(name, stream_path, background_path) -> StreamProblem:
    members = _read_seed_csv(stream_path)
    background = _read_seed_csv(background_path).drop(columns=["stream_mask"], errors="ignore")
    for path, frame in ((stream_path, members), (background_path, background)):
        _check_columns(frame, ("ra", "dec", "pmra", "pmdec", "phot_g_mean_mag",
                               "phot_bp_mean_mag", "phot_rp_mean_mag"), path)
    field = pd.concat([_with_source(members, "stream"), _with_source(background, "background")],
                      ignore_index=True, sort=False)
    if "source_id" in field.columns:
        field["source_id"] = field["source_id"].astype("Int64")
    field.index.name = "row"
    truth = np.r_[np.ones(len(members), bool), np.zeros(len(background), bool)]
    return StreamProblem(field=field, truth=truth, support=None, name=name,
                         meta={"split": "train", "stream_file": str(stream_path),
                               "background_file": str(background_path)})


def _read_validation_problem(name, field_path, known_path) -> StreamProblem:
    stars = _read_seed_csv(field_path)
    _check_columns(stars, ("ra", "dec", "pmra", "pmdec", "stream_mask", "self_lab"), field_path)
    known = _read_seed_csv(known_path)
    _check_columns(known, ("ra", "dec", "pmra", "pmdec", "phot_g_mean_mag"), known_path)
    # The seed's derived columns are recomputed by the features module; drop them here.
    stars = stars.drop(columns=[c for c in stars.columns
                                if c in ("ra_rad", "dec_rad") or c.startswith("ang_coord")])
    stars["self_lab"] = stars["self_lab"].astype(bool)
    known["self_lab"] = False
    truth_col = stars.pop("stream_mask").astype(bool)
    field = pd.concat([_with_source(stars, "field"), _with_source(known, "known")],
                      ignore_index=True, sort=False)
    field.index.name = "row"
    truth = np.r_[truth_col.to_numpy(), np.ones(len(known), bool)]
    support = field.index[len(stars):]
    return StreamProblem(
        field=field, truth=truth, support=support, name=name,
        meta={"split": "validation", "field_file": str(field_path),
              "known_file": str(known_path),
              "support_mapping": "known members are separate stars appended to the field "
                                 "(origin == 'known'); they are not rows of the seed's field file",
              "self_lab": "seed flag: True rows were used to supplement training; metrics are "
                          "computed on self_lab == False rows"})


def read_clusterbusters(root) -> ClusterBusters:
    """Read the seed's stream data (``train/`` and ``validation/`` folders).

    Layout (as shipped with the seed of *Meta-Learning One-Class Classification with DeepSets*):

    - ``train/stream/stream-N_intelligent_cut.csv``: members of stream N (7 or 12 columns);
    - ``train/background/stream-N_mul_150_total_noise.csv``: foreground for stream N, 100x or
      150x the members despite the name (72x for stream-5711); 23 of the 46 streams have one,
      and two backgrounds (stream-522, stream-3696) have no stream file;
    - ``validation/fields/validation_stream-N.csv``: a labelled field (``stream_mask`` = truth,
      ``self_lab`` = the seed's split flag, plus its derived ``ra_rad``/``ang_coord_*``, dropped);
    - ``validation/known/stream-N_known_to_model.csv``: the support set for stream N.

    How the known members map onto the field: they do **not** match field rows by index
    (the seed's field files have duplicated index values), nor in general by coordinates (for
    stream-1667 none matches within 0.05 deg, for stream-1698 only the sky position matches while
    proper motions and magnitudes differ). They are separate stars of the same stream, so this
    reader appends them to the field (``origin == 'known'``, truth ``True``) and makes them the
    support set; score ``problem.query_mask`` rows only.

    Parameters
    ----------
    root : str or path-like
        The folder holding ``train/`` and ``validation/``.

    Returns
    -------
    ClusterBusters
        ``train`` (23 problems in the shipped copy), ``validation`` (3), ``members_only``
        (23 streams without foreground), ``unmatched`` (files that could not be paired).
        Field index = a fresh RangeIndex named ``row``; ``origin`` says where a row came from.

    Raises
    ------
    FileNotFoundError
        If ``root`` lacks the ``train`` or ``validation`` folder.
    """
    root = Path(root)
    for sub in ("train", "validation"):
        if not (root / sub).is_dir():
            raise FileNotFoundError(
                f"{root}: expected a '{sub}' folder (the seed's clusterbusters layout); found "
                f"{sorted(p.name for p in root.iterdir()) if root.is_dir() else 'no folder'}.")
    streams = {_stream_name(p): p for p in sorted((root / "train" / "stream").glob("*.csv"))}
    backgrounds = {_stream_name(p): p
                   for p in sorted((root / "train" / "background").glob("*.csv"))}
    fields = {_stream_name(p): p
              for p in sorted((root / "validation" / "fields").glob("*stream-*.csv"))}
    knowns = {_stream_name(p): p for p in sorted((root / "validation" / "known").glob("*.csv"))}

    def order(name):
        return int(name.split("-")[1])

    train = [_read_train_problem(n, streams[n], backgrounds[n])
             for n in sorted(set(streams) & set(backgrounds), key=order)]
    validation = [_read_validation_problem(n, fields[n], knowns[n])
                  for n in sorted(set(fields) & set(knowns), key=order)]
    members_only = {n: _read_seed_csv(streams[n])
                    for n in sorted(set(streams) - set(backgrounds), key=order)}
    unmatched = {
        "backgrounds_without_stream": sorted(set(backgrounds) - set(streams), key=order),
        "known_without_field": sorted(set(knowns) - set(fields), key=order),
        "fields_without_known": sorted(set(fields) - set(knowns), key=order),
    }
    return ClusterBusters(train=train, validation=validation, members_only=members_only,
                          unmatched=unmatched)
