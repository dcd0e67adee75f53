"""One detector per top class, routed by a classifier's probabilities (ALeRCE anomaly detector).

A classifier predicts the top class (e.g. transient / stochastic / periodic); each top class has
its own anomaly detector fitted on that class's training objects only. An object is scored by the
detector of its most probable class (``mode="max"``) or by the probability-weighted mean of all
class detectors (``mode="weighted"``). Raw scores of different detectors are not comparable, so
each class detector's anomaly score is standardised by its own training distribution:
``z = (s - median) / (1.4826 * MAD)`` (robust z-score; the MAD is replaced by the standard
deviation, then by 1, when it is 0).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from astroad_nb.features.scaling import robust_location_scale
from astroad_nb.models.base import BaseDetector
from astroad_nb.models.classic import IForest, TreeEnsembleProba
from astroad_nb.models.svdd import MultiClassDeepSVDD

__all__ = ["HierarchicalDetector", "default_classifier"]


def default_classifier(random_state=None):
    """imbalanced-learn's ``BalancedRandomForestClassifier``, else a balanced random forest.

    Parameters
    ----------
    random_state : int or None

    Returns
    -------
    sklearn classifier (unfitted)
    """
    try:
        from imblearn.ensemble import BalancedRandomForestClassifier
    except ImportError:  # imbalanced-learn is a dependency, but keep a fallback
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=300, class_weight="balanced_subsample",
                                      random_state=random_state)
    return BalancedRandomForestClassifier(n_estimators=300, random_state=random_state)


class HierarchicalDetector(BaseDetector):
    """Classifier-routed per-class anomaly detection.

    Parameters
    ----------
    classifier : sklearn classifier with predict_proba, optional
        Top-class classifier; default :func:`default_classifier`.
    detector : BaseDetector, optional
        Template cloned for every top class; default ``IForest``.
    detectors : dict, optional
        ``{top_class: detector}`` overriding ``detector`` for some classes. A
        ``MultiClassDeepSVDD`` is fitted with the sub-class labels ``y_sub`` of its class.
    mode : {"max", "weighted"}, default="max"
        "max": score with the detector of the most probable class; "weighted": probability-
        weighted mean of every class detector's standardised score.
    contamination : float in (0, 0.5], default=0.1
    random_state : int or None, default=None
        Seeds the default classifier and detectors whose own ``random_state`` is None.

    Attributes
    ----------
    classifier_ : fitted classifier
    classes_ : ndarray of shape (n_classes,)
        Top classes, in the column order of :meth:`predict_proba`.
    detectors_ : dict
        Fitted detector per top class.
    score_loc_, score_scale_ : ndarray of shape (n_classes,)
        Median and robust scale of each class detector's training anomaly scores.
    offset_ : float
    """

    def __init__(self, classifier=None, detector=None, detectors=None, *, mode="max",
                 contamination=0.1, random_state=None):
        self.classifier = classifier
        self.detector = detector
        self.detectors = detectors
        self.mode = mode
        self.contamination = contamination
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y_top, y_sub=None):
        """Fit the classifier on all rows and one detector per top class on its rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y_top : array-like of shape (n_samples,)
            Top-class label of each row.
        y_sub : array-like of shape (n_samples,), optional
            Sub-class labels; required when a class detector is a ``MultiClassDeepSVDD``.

        Returns
        -------
        self
        """
        self._check_contamination()
        if self.mode not in ("max", "weighted"):
            raise ValueError(f"mode must be 'max' or 'weighted', got {self.mode!r}.")
        if y_top is None:  # wording of scikit-learn's message, which its checks look for
            raise ValueError("HierarchicalDetector requires y to be passed, but the target y is "
                             "None: pass the top-class labels, fit(X, y_top).")
        X = self._validate(X, reset=True)
        y_top = np.asarray(y_top)
        if y_top.shape != (X.shape[0],):
            raise ValueError(f"y_top must have shape ({X.shape[0]},), got {y_top.shape}.")
        if y_sub is not None:
            y_sub = np.asarray(y_sub)
            if y_sub.shape != (X.shape[0],):
                raise ValueError(f"y_sub must have shape ({X.shape[0]},), got {y_sub.shape}.")
        rng = check_random_state(self.random_state)
        clf = (clone(self.classifier) if self.classifier is not None
               else default_classifier(int(rng.randint(2**31 - 1))))
        self.classifier_ = clf.fit(X, y_top)
        self.classes_ = self.classifier_.classes_
        overrides = self.detectors or {}
        unknown = set(overrides) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"detectors has classes {sorted(map(str, unknown))} absent from "
                             f"y_top (classes: {self.classes_.tolist()}).")
        self.detectors_, locs, scales = {}, [], []
        for cls in self.classes_:
            template = overrides.get(cls, self.detector)
            det = clone(template) if template is not None else IForest()
            seed = int(rng.randint(2**31 - 1))
            if "random_state" in det.get_params() and det.get_params()["random_state"] is None:
                det.set_params(random_state=seed)
            mask = y_top == cls
            if isinstance(det, MultiClassDeepSVDD):
                if y_sub is None:
                    raise ValueError(f"The detector of class {cls!r} is a MultiClassDeepSVDD: "
                                     "pass the sub-class labels, fit(X, y_top, y_sub).")
                det.fit(X[mask], y_sub[mask])
            else:
                det.fit(X[mask])
            scores = det.anomaly_score(X[mask])
            loc, scale = robust_location_scale(scores)
            self.detectors_[cls] = det
            locs.append(loc)
            scales.append(scale)
        self.score_loc_, self.score_scale_ = np.asarray(locs), np.asarray(scales)
        self.offset_ = float(np.quantile(self._score(X), self.contamination))
        return self

    def fit_predict(self, X, y_top, y_sub=None):
        """``fit(X, y_top, y_sub).predict(X)``: +1 inlier / -1 outlier for the training rows.

        ``OutlierMixin.fit_predict`` would drop the labels (it calls ``fit(X)``), so it is
        overridden to pass them on.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y_top : array-like of shape (n_samples,)
        y_sub : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples,), int
        """
        return self.fit(X, y_top, y_sub).predict(X)

    def predict_proba(self, X):
        """Top-class probabilities.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "offset_")
        return self.classifier_.predict_proba(self._validate(X, reset=False))

    def class_scores(self, X):
        """Standardised anomaly score of every sample under every class detector.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Higher = more anomalous for that class; columns in the order of ``classes_``.
        """
        check_is_fitted(self, "offset_")
        return self._class_scores(self._validate(X, reset=False))

    def _class_scores(self, X):
        raw = np.column_stack([self.detectors_[c].anomaly_score(X) for c in self.classes_])
        return (raw - self.score_loc_) / self.score_scale_

    def _score(self, X):
        proba = self.classifier_.predict_proba(X)
        z = self._class_scores(X)
        if self.mode == "weighted":
            anomaly = (proba * z).sum(axis=1)
        else:
            anomaly = z[np.arange(len(z)), proba.argmax(axis=1)]
        return -anomaly

    # ------------------------------------------------------------------ persistence
    # Saved without pickle (astroad_nb.io): the tree-ensemble classifier as flat node arrays
    # (scored with numpy, as scikit-learn does), each class detector as a child folder
    # detectors/<i>; the unfitted templates (classifier, detector, detectors) as hyper-parameters.

    def _get_state(self):
        state = super()._get_state()
        clf = self.classifier_
        if not isinstance(clf, TreeEnsembleProba):
            clf = TreeEnsembleProba.from_forest(clf)
        state["arrays"].update({f"clf_{k}": v for k, v in clf.arrays().items()})
        state["arrays"].update(score_loc=self.score_loc_, score_scale=self.score_scale_,
                               classes=np.asarray(self.classes_).astype(str))
        state["attrs"].update(classes_kind=np.asarray(self.classes_).dtype.kind,
                              clf_max_depth=clf.max_depth)
        state["children"].update({f"detectors/{i}": self.detectors_[c]
                                  for i, c in enumerate(self.classes_)})
        return state

    def _set_state(self, state):
        super()._set_state(state)
        arrays, attrs = state["arrays"], state["attrs"]
        kind = attrs.get("classes_kind", "U")
        classes = arrays["classes"]
        self.classes_ = (classes.astype(np.int64) if kind in "iu" else
                         classes.astype(np.float64) if kind == "f" else classes.astype(object))
        self.classifier_ = TreeEnsembleProba(
            **{k[4:]: v for k, v in arrays.items() if k.startswith("clf_")},
            max_depth=int(attrs["clf_max_depth"]), classes=self.classes_)
        self.score_loc_ = arrays["score_loc"]
        self.score_scale_ = arrays["score_scale"]
        self.detectors_ = {c: state["children"][f"detectors/{i}"]
                           for i, c in enumerate(self.classes_)}
