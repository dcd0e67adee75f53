"""Score a night of alerts: saved scoring pipelines and :func:`score_alerts`, in-process or on
Dask distributed.

* :class:`ScoringPipeline` (:mod:`~astroad_nb.scoring.pipeline`): light-curve feature settings,
  the fitted preprocessor, the detector(s) and optionally a real/bogus CNN, saved to one folder
  (``bundle.save(path)`` / ``astroad_nb.load(path)``, no pickle; the package version and the
  feature names are checked on load).
* :func:`score_alerts` (:mod:`~astroad_nb.scoring.run`): Avro files and folders, nightly
  ``.tar.gz``, broker Parquet exports, packets in memory or feature tables
  (:mod:`~astroad_nb.scoring.sources`) -> one row per alert with ``objectId, candid, jd, fid,
  p_real, top_class, p_top_class, anomaly_score, rank, reason``; with ``out=`` a resumable
  Parquet dataset and a rejects table; with ``workers=``/``scheduler=`` on Dask
  (:mod:`~astroad_nb.scoring.distributed`, imported only then).
* The light curve of an alert and the reason codes: :mod:`~astroad_nb.scoring.packets`.

Examples
--------
>>> from astroad_nb.data.lightcurves import simulate_lightcurves
>>> bundle = ScoringPipeline.fit_default(simulate_lightcurves(50, random_state=0),
...                                      features=BROKER_FEATURES)  # doctest: +SKIP
>>> bundle.save("models/night")  # doctest: +SKIP
>>> scores = score_alerts("alerts/", "models/night", out="night.parquet")  # doctest: +SKIP
"""

from astroad_nb.scoring.packets import REASONS
from astroad_nb.scoring.pipeline import (
    BROKER_FEATURES,
    DEFAULT_DROP_FEATURES,
    FeatureMismatchError,
    ScoringPipeline,
)
from astroad_nb.scoring.run import (
    REJECT_COLUMNS,
    SCORE_COLUMNS,
    read_rejects,
    read_scores,
    score_alerts,
    summarize,
)

__all__ = [
    "BROKER_FEATURES",
    "DEFAULT_DROP_FEATURES",
    "REASONS",
    "REJECT_COLUMNS",
    "SCORE_COLUMNS",
    "FeatureMismatchError",
    "ScoringPipeline",
    "read_rejects",
    "read_scores",
    "score_alerts",
    "summarize",
]
