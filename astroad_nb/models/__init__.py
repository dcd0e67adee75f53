"""Detectors and classifiers: the ALeRCE detectors, the hierarchical router, the real/bogus CNN,
the DeepSets one-class stream model, the recursive random forest, GANomaly and the contextual
(FiLM-conditioned) detectors with their context predictor.

Every detector follows scikit-learn's sign convention (``score_samples``/``decision_function``:
lower = more abnormal, ``predict`` -> +1/-1) and adds ``anomaly_score(X) = -score_samples(X)``.
"""

from astroad_nb.models.autoencoders import VAE, AutoEncoder
from astroad_nb.models.base import BaseDetector, load_detector
from astroad_nb.models.classic import OCSVM, IForest
from astroad_nb.models.cnn import RealBogusCNN
from astroad_nb.models.context import (
    ContextPredictor,
    ContextStream,
    FiLMAutoEncoder,
    PerContextDetector,
    frame_autoencoder,
)
from astroad_nb.models.deepsets import DeepSetsOneClass
from astroad_nb.models.forest import RecursiveForest
from astroad_nb.models.ganomaly import GANomaly
from astroad_nb.models.hierarchical import HierarchicalDetector
from astroad_nb.models.svdd import DeepSVDD, MultiClassDeepSVDD
from astroad_nb.models.vade import VaDE

__all__ = [
    "AutoEncoder",
    "BaseDetector",
    "ContextPredictor",
    "ContextStream",
    "DeepSVDD",
    "DeepSetsOneClass",
    "FiLMAutoEncoder",
    "GANomaly",
    "HierarchicalDetector",
    "IForest",
    "MultiClassDeepSVDD",
    "OCSVM",
    "PerContextDetector",
    "RealBogusCNN",
    "RecursiveForest",
    "VAE",
    "VaDE",
    "frame_autoencoder",
    "load_detector",
]
