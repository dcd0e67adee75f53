"""Learning with a person in the loop: the active-learning loop of system 2 and active anomaly
discovery (feedback re-ranking).

Modules: :mod:`~astroad_nb.active.loop` (:class:`ActiveLearningLoop`, RB-C1000's
ITS -> ALS -> SSLS stages and its query rules) and :mod:`~astroad_nb.active.discovery`
(:class:`AADIForest`, :class:`RelevanceBlending`, :class:`StaticRanker` and
:func:`oracle_session`: a person's flags re-rank the candidates).
"""

from astroad_nb.active.discovery import (
    FEEDBACK_VALUES,
    AADIForest,
    RelevanceBlending,
    StaticRanker,
    feedback_value,
    oracle_session,
)
from astroad_nb.active.loop import (
    STRATEGIES,
    VALIDATION_MODES,
    ActiveLearningLoop,
    balanced_pseudo_labels,
    select_hardest,
    uncertainty,
)

__all__ = [
    "ActiveLearningLoop",
    "STRATEGIES",
    "VALIDATION_MODES",
    "balanced_pseudo_labels",
    "select_hardest",
    "uncertainty",
    "AADIForest",
    "FEEDBACK_VALUES",
    "RelevanceBlending",
    "StaticRanker",
    "feedback_value",
    "oracle_session",
]
