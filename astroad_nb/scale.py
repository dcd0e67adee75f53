"""Scoring large catalogues with Dask: one fitted detector, many partitions, any cluster.

The detector is fitted once (on a sample, in memory); scoring is embarrassingly parallel, so
each Dask partition is scored independently with ``map_partitions``. Works with the threaded
scheduler on a laptop and with ``dask.distributed`` on a cluster. Dask is imported lazily
(``pip install "astroad-nb[scale]"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["score_catalogue"]


def _require_dask():
    try:
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "score_catalogue needs Dask: pip install 'astroad-nb[scale]' (or 'dask[dataframe]')."
        ) from exc
    return dd


def score_catalogue(detector, catalogue, *, columns=None, preprocessor=None,
                    npartitions: int | None = None, name: str = "anomaly_score",
                    compute: bool = True):
    """Anomaly scores (higher = more anomalous) for a large table, partition by partition.

    Parameters
    ----------
    detector : fitted detector
        Any object with ``anomaly_score`` (or ``score_samples``) — e.g. a fitted ``IForest``.
    catalogue : pandas.DataFrame or dask.dataframe.DataFrame
        Rows = objects; the index (object ids) is kept in the result.
    columns : list of str, optional
        Feature columns to use, in the order the detector was trained on. Default: the
        detector's ``feature_names_in_`` when present, else every numeric column.
    preprocessor : fitted transformer, optional
        Applied to each partition before scoring (e.g. a fitted ``ALeRCEPreprocessor``).
    npartitions : int, optional
        When ``catalogue`` is a pandas DataFrame: how many partitions to cut it into
        (default: about 100,000 rows each).
    name : str
        Name of the returned Series.
    compute : bool, default=True
        False returns the lazy Dask Series.

    Returns
    -------
    pandas.Series or dask.dataframe.Series
        Scores indexed like ``catalogue``.

    Raises
    ------
    ValueError
        When a requested column is missing (names the missing columns).
    """
    dd = _require_dask()
    if isinstance(catalogue, pd.DataFrame):
        n = npartitions or max(1, int(np.ceil(len(catalogue) / 100_000)))
        catalogue = dd.from_pandas(catalogue, npartitions=n, sort=False)  # keep row order
    if columns is None:
        names = getattr(preprocessor, "feature_names_in_", None)
        if names is None:
            names = getattr(detector, "feature_names_in_", None)
        columns = list(names) if names is not None else [
            c for c, t in catalogue.dtypes.items() if np.issubdtype(t, np.number)]
    missing = [c for c in columns if c not in catalogue.columns]
    if missing:
        raise ValueError(
            f"catalogue lacks the feature columns {missing[:10]} (of {len(columns)} needed); "
            f"it has {list(catalogue.columns)[:10]}... — compute the same features first."
        )

    def _score(part: pd.DataFrame) -> pd.Series:
        X = part[columns]
        if len(X) == 0:
            return pd.Series([], index=part.index, dtype="float64", name=name)
        if preprocessor is not None:
            X = preprocessor.transform(X)
        if hasattr(detector, "anomaly_score"):
            s = detector.anomaly_score(X)
        else:
            s = -np.asarray(detector.score_samples(X))
        return pd.Series(np.asarray(s, dtype="float64"), index=part.index, name=name)

    scores = catalogue.map_partitions(_score, meta=pd.Series([], dtype="float64", name=name))
    return scores.compute() if compute else scores
