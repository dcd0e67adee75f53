"""A saved scoring pipeline: light-curve feature settings, the fitted preprocessor, the
detector(s) and optionally a real/bogus CNN, in one folder (:mod:`astroad_nb.io`, no pickle).

``anomaly_score`` of a bundle is a robust z-score of the detector that scores the alert
(higher = more anomalous): a :class:`~astroad_nb.models.HierarchicalDetector` standardises each
top-class detector by its own training scores, and so does the bundle for a dict of detectors
or a single detector, so scores of different classes and nights can be ranked together.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from astroad_nb import io
from astroad_nb.features.scaling import robust_location_scale

__all__ = ["BROKER_FEATURES", "DEFAULT_DROP_FEATURES", "FeatureMismatchError",
           "ScoringPipeline"]

#: Brightness-like features left out of the detectors' inputs (per band): the ALeRCE seed's
#: ban as :data:`astroad_nb.protocols.alerce.BANNED_FEATURES` maps it to our names (that module
#: sits a floor above this one; a test keeps the two equal). ``n_det`` and ``Duration`` also
#: measure how long an alert's 30-day history is, not what the source is.
DEFAULT_DROP_FEATURES = ("Mean", "min_mag", "n_det", "Duration", "Median", "WeightedMean")

#: Feature settings for broker speed (:func:`~astroad_nb.features.lightcurves.extract_features`
#: keywords): no periodogram and no SN parametric fit, the two costly families (~6,000
#: two-band 30-point curves/s on 2 cores against ~1,000/s with them).
BROKER_FEATURES = {"periodogram": False, "spm": False}


class FeatureMismatchError(io.PersistenceError, ValueError):
    """A bundle's saved feature names differ from what the installed features compute."""


def _feature_api():
    from astroad_nb.features import lightcurves as flc

    return flc.extract_features, flc.feature_names


def _check_settings(settings):
    extract, _ = _feature_api()
    allowed = set(inspect.signature(extract).parameters) - {"lcs", "n_jobs"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ValueError(f"features has unknown keyword(s) {unknown}; extract_features "
                         f"takes {sorted(allowed)}.")


class ScoringPipeline(io.Persistent, BaseEstimator):
    """Features + preprocessor + detector(s) + optional real/bogus CNN: one scoring bundle.

    Parameters
    ----------
    detector : estimator or dict, optional
        A :class:`~astroad_nb.models.HierarchicalDetector` (its classifier gives the top-class
        probabilities and routes each alert to its class detector), a dict
        ``{top_class: detector}`` (one detector per top class, routed by outside class
        probabilities, else by the class whose detector finds the alert most normal), or one
        detector for every alert. Default: ``HierarchicalDetector(detector=IForest())``.
        Cloned and fitted by :meth:`fit`.
    preprocessor : transformer, optional
        Default :class:`~astroad_nb.features.lightcurves.ALeRCEPreprocessor`; cloned.
    realbogus : RealBogusCNN, optional
        A fitted CNN is kept as it is; an unfitted one is fitted on ``fit(cutouts=...)``.
        ``None``: ``p_real`` is NaN.
    features : dict, optional
        Keywords of :func:`~astroad_nb.features.lightcurves.extract_features` (``bands``,
        ``periodogram``, ``spm``, ``drw``, ...); default its defaults. See
        :data:`BROKER_FEATURES`.
    drop_features : tuple of str, default=DEFAULT_DROP_FEATURES
        Feature bases (the name without the band suffix) left out.
    rb_min : float or None, default=0.55
    max_sigma : float, default=1.0
    min_detections : int, default=6
        Detection rules of the alerts' light curves (:mod:`astroad_nb.scoring.packets`);
        ``min_detections`` counts all bands together, as ALeRCE's ``enough_alerts`` code does.
    random_state : int or None, default=None
        Seeds the default detector and classifier (and templates whose own is None).

    Attributes
    ----------
    feature_names_ : list of str
        Feature columns the preprocessor takes, in order.
    preprocessor_ : fitted transformer
    detector_ : fitted HierarchicalDetector or detector, or None for a dict
    detectors_ : dict or None
        ``{top_class: fitted detector}`` for a dict of detectors.
    classes_ : ndarray or None
        Top classes (None for a single detector).
    score_loc_, score_scale_ : ndarray
        Robust location/scale of each class detector's training scores (dict or single).
    realbogus_ : RealBogusCNN or None
    n_train_ : int

    Examples
    --------
    >>> from astroad_nb.data.lightcurves import simulate_lightcurves
    >>> lcs = simulate_lightcurves(20, random_state=0)
    >>> bundle = ScoringPipeline(features=BROKER_FEATURES, random_state=0).fit(lcs)
    >>> bundle.save("night_model")  # doctest: +SKIP
    >>> astroad_nb.load("night_model").score_features(bundle.compute_features(lcs))  # doctest: +SKIP
    """

    def __init__(self, detector=None, *, preprocessor=None, realbogus=None, features=None,
                 drop_features=DEFAULT_DROP_FEATURES, rb_min=0.55, max_sigma=1.0,
                 min_detections=6, random_state=None):
        self.detector = detector
        self.preprocessor = preprocessor
        self.realbogus = realbogus
        self.features = features
        self.drop_features = drop_features
        self.rb_min = rb_min
        self.max_sigma = max_sigma
        self.min_detections = min_detections
        self.random_state = random_state

    # ------------------------------------------------------------------ features
    @property
    def feature_settings(self) -> dict:
        """The ``extract_features`` keywords of this bundle (a copy)."""
        return dict(self.features or {})

    @property
    def bands(self) -> list:
        """Data bands the features read (the keys of a ``bands`` mapping; ``extract_features``'
        default when not set); an alert's detections in other bands are left out."""
        bands = self.feature_settings.get("bands")
        if bands is None:
            extract, _ = _feature_api()
            bands = inspect.signature(extract).parameters["bands"].default
        return [str(b).lower() for b in bands]  # a mapping iterates over its data bands

    def _columns(self, names):
        drop = set(self.drop_features or ())
        return [str(c) for c in names if str(c).rsplit("_", 1)[0] not in drop]

    def expected_feature_names(self) -> list:
        """Columns the installed feature code gives for these settings, less the dropped.

        Returns
        -------
        list of str
        """
        _, names = _feature_api()
        params = inspect.signature(names).parameters
        kwargs = {k: v for k, v in self.feature_settings.items() if k in params}
        return self._columns(names(**kwargs))

    def compute_features(self, lightcurves, *, n_jobs=-1) -> pd.DataFrame:
        """Light-curve features of ``lightcurves`` with the bundle's settings.

        Parameters
        ----------
        lightcurves : LightCurves
        n_jobs : int, default=-1
            Threads of the feature code.

        Returns
        -------
        pandas.DataFrame of shape (n_objects, n_features)
            Every feature :func:`extract_features` returns, indexed by object id.
        """
        extract, _ = _feature_api()
        _check_settings(self.feature_settings)
        return extract(lightcurves, n_jobs=n_jobs, **self.feature_settings)

    # ------------------------------------------------------------------ fit
    def fit(self, lightcurves=None, y_top=None, *, features=None, y_sub=None, cutouts=None):
        """Fit the preprocessor and the detector(s) on light curves (and the CNN on cutouts).

        Parameters
        ----------
        lightcurves : LightCurves, optional
            Training curves; their ``meta`` gives ``top_class`` (and ``subclass``) when
            ``y_top`` is not passed. May be omitted when ``features`` is given.
        y_top : array-like of shape (n_objects,), optional
            Top class of each object, in ``features`` (or ``lightcurves.ids``) order.
        features : DataFrame, optional
            Precomputed features (e.g. a notebook's ``extract_features(lcs)``); must hold
            every column these settings give.
        y_sub : array-like, optional
            Sub-classes, for a ``MultiClassDeepSVDD`` inside a HierarchicalDetector.
        cutouts : CutoutSet, optional
            Labelled triplets to fit an unfitted ``realbogus``.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Missing feature columns (named), missing class labels, an unfitted ``realbogus``
            without ``cutouts``, or unknown feature settings.
        """
        from astroad_nb.features.lightcurves import ALeRCEPreprocessor
        from astroad_nb.models import HierarchicalDetector, IForest

        _check_settings(self.feature_settings)
        if features is None:
            if lightcurves is None:
                raise ValueError("ScoringPipeline.fit needs lightcurves or features.")
            features = self.compute_features(lightcurves)
        columns = self.expected_feature_names()
        missing = [c for c in columns if c not in features.columns]
        if missing:
            raise ValueError(f"features lack {len(missing)} column(s) these settings give, e.g. "
                             f"{missing[:5]}; compute them with bundle.compute_features(lcs).")
        rng = check_random_state(self.random_state)
        pre = clone(self.preprocessor) if self.preprocessor is not None else ALeRCEPreprocessor()
        X = pre.fit_transform(features[columns])
        template = self.detector
        if template is None:
            template = HierarchicalDetector(detector=IForest(), random_state=self.random_state)
        needs_labels = isinstance(template, (dict, HierarchicalDetector))
        meta = getattr(lightcurves, "meta", None)
        if y_top is None and needs_labels:
            if meta is None or "top_class" not in meta.columns:
                raise ValueError("fit needs the top class of each object: pass y_top, or light "
                                 "curves whose meta has a 'top_class' column.")
            y_top = meta["top_class"].reindex(features.index.astype(str)).to_numpy()
        if y_sub is None and meta is not None and "subclass" in meta.columns:
            y_sub = meta["subclass"].reindex(features.index.astype(str)).to_numpy()
        self.detector_, self.detectors_, self.classes_ = None, None, None
        if isinstance(template, HierarchicalDetector):
            det = clone(template)
            if det.random_state is None:
                det.set_params(random_state=int(rng.randint(2**31 - 1)))
            self.detector_ = det.fit(X, np.asarray(y_top), y_sub)
            self.classes_ = np.asarray(det.classes_)
            self.score_loc_ = np.zeros(len(self.classes_))
            self.score_scale_ = np.ones(len(self.classes_))
        elif isinstance(template, dict):
            y_top = np.asarray(y_top).astype(str)
            unknown = sorted(set(map(str, template)) - set(y_top))
            if unknown:
                raise ValueError(f"detector has classes {unknown} absent from y_top "
                                 f"(classes: {sorted(set(y_top))}).")
            self.classes_ = np.asarray(sorted(map(str, template)), dtype=object)
            self.detectors_, locs, scales = {}, [], []
            for cls in self.classes_:
                det = _seeded(clone(template[cls]), rng)
                rows = X[y_top == cls]
                det.fit(rows)
                loc, scale = robust_location_scale(det.anomaly_score(rows))
                self.detectors_[cls] = det
                locs.append(loc)
                scales.append(scale)
            self.score_loc_, self.score_scale_ = np.asarray(locs), np.asarray(scales)
        else:
            det = _seeded(clone(template), rng).fit(X)
            loc, scale = robust_location_scale(det.anomaly_score(X))
            self.detector_ = det
            self.score_loc_, self.score_scale_ = np.asarray([loc]), np.asarray([scale])
        self.realbogus_ = self._fit_realbogus(cutouts)
        self.preprocessor_ = pre
        self.feature_names_ = list(columns)
        self.n_train_ = int(len(features))
        return self

    def _fit_realbogus(self, cutouts):
        cnn = self.realbogus
        if cnn is None:
            return None
        if getattr(cnn, "network_", None) is not None:
            return cnn  # fitted in a notebook: kept as it is
        if cutouts is None:
            raise ValueError("realbogus is not fitted: pass labelled cutouts, fit(..., "
                             "cutouts=CutoutSet), or a fitted RealBogusCNN.")
        return clone(cnn).fit(cutouts)

    @classmethod
    def fit_default(cls, lightcurves, *, random_state=0, features=None, cutouts=None,
                    n_estimators=100):
        """A complete bundle from a light-curve set: default features, ALeRCE preprocessor,
        one IForest per top class routed by a balanced random forest.

        Parameters
        ----------
        lightcurves : LightCurves
            With ``meta["top_class"]`` (e.g. :func:`simulate_lightcurves`).
        random_state : int, default=0
        features : dict, optional
            Feature settings (default: ``extract_features``' defaults; :data:`BROKER_FEATURES`
            for broker speed).
        cutouts : CutoutSet, optional
            Labelled triplets: also fits a :class:`~astroad_nb.models.RealBogusCNN`
            (5 epochs under ``ASTROAD_FAST``, else 30).
        n_estimators : int, default=100
            Trees of each class's IForest.

        Returns
        -------
        ScoringPipeline
            Fitted.
        """
        from astroad_nb._config import is_fast
        from astroad_nb.models import HierarchicalDetector, IForest, RealBogusCNN

        detector = HierarchicalDetector(detector=IForest(n_estimators=n_estimators),
                                        random_state=random_state)
        cnn = None
        if cutouts is not None:
            cnn = RealBogusCNN(epochs=5 if is_fast() else 30, random_state=random_state)
        return cls(detector, realbogus=cnn, features=features,
                   random_state=random_state).fit(lightcurves, cutouts=cutouts)

    @classmethod
    def from_fitted(cls, preprocessor, detector, *, realbogus=None, features=None, **params):
        """A bundle from objects already fitted in a notebook (nothing is refitted).

        Parameters
        ----------
        preprocessor : fitted transformer with ``feature_names_in_``
        detector : fitted HierarchicalDetector or detector
            A single detector's scores are used as they are (no standardisation).
        realbogus : fitted RealBogusCNN, optional
        features : dict, optional
            The feature settings the preprocessor's columns were computed with.
        **params
            Other constructor parameters (``rb_min``, ``min_detections``, ...).

        Returns
        -------
        ScoringPipeline
        """
        from astroad_nb.models import HierarchicalDetector

        check_is_fitted(preprocessor)
        bundle = cls(detector, preprocessor=preprocessor, realbogus=realbogus,
                     features=features, **params)
        bundle.preprocessor_ = preprocessor
        bundle.feature_names_ = [str(c) for c in preprocessor.feature_names_in_]
        bundle.detector_, bundle.detectors_ = detector, None
        if isinstance(detector, HierarchicalDetector):
            bundle.classes_ = np.asarray(detector.classes_)
            n = len(bundle.classes_)
        else:
            bundle.classes_, n = None, 1
        bundle.score_loc_, bundle.score_scale_ = np.zeros(n), np.ones(n)
        bundle.realbogus_ = realbogus
        bundle.n_train_ = -1
        return bundle

    # ------------------------------------------------------------------ scoring
    def score_features(self, features, class_probabilities=None) -> pd.DataFrame:
        """Top class, its probability and the anomaly score of each row of a feature table.

        Parameters
        ----------
        features : DataFrame of shape (n, n_features)
            Holding every column of ``feature_names_`` (others are ignored).
        class_probabilities : DataFrame of shape (n, n_classes), optional
            Outside top-class probabilities, same index as ``features``, a column per class
            of the bundle; rows that are all NaN fall back to the bundle's own.

        Returns
        -------
        pandas.DataFrame
            Index of ``features``; columns ``top_class`` (str or None), ``p_top_class``,
            ``anomaly_score`` (robust z, higher = more anomalous; NaN where every feature is
            undefined), ``reason`` (``""``, ``"no_features"`` or
            ``"outside_probabilities_missing"``).

        Raises
        ------
        ValueError
            When a feature column or a class column is missing (named).
        """
        check_is_fitted(self, "feature_names_")
        missing = [c for c in self.feature_names_ if c not in features.columns]
        if missing:
            raise ValueError(f"features lack {len(missing)} column(s) the bundle was fitted on, "
                             f"e.g. {missing[:5]}; compute them with bundle.compute_features.")
        F = features[self.feature_names_]
        n = len(F)
        out = pd.DataFrame({"top_class": pd.Series([None] * n, dtype=object),
                            "p_top_class": np.full(n, np.nan),
                            "anomaly_score": np.full(n, np.nan),
                            "reason": [""] * n}, index=features.index)
        defined = F.notna().any(axis=1).to_numpy()
        out.loc[~defined, "reason"] = "no_features"
        if not defined.any():
            return out
        X = self.preprocessor_.transform(F[defined])
        proba, fallback = self._probabilities(X, class_probabilities, features.index[defined])
        z = self._class_z(X)
        top, p_top, score = self._route(z, proba)
        idx = np.flatnonzero(defined)
        out.iloc[idx, 0] = top
        out.iloc[idx, 1] = p_top
        out.iloc[idx, 2] = score
        if fallback is not None and fallback.any():
            out.iloc[idx[fallback], 3] = "outside_probabilities_missing"
        return out

    def _class_z(self, X):
        from astroad_nb.models import HierarchicalDetector

        if isinstance(self.detector_, HierarchicalDetector):
            return self.detector_.class_scores(X)
        if self.detectors_ is not None:
            raw = np.column_stack([self.detectors_[c].anomaly_score(X) for c in self.classes_])
        else:
            raw = np.asarray(self.detector_.anomaly_score(X), dtype=np.float64)[:, None]
        return (raw - self.score_loc_) / self.score_scale_

    def _probabilities(self, X, outside, index):
        """(n, n_classes) probabilities or None, and which rows fell back to the bundle's."""
        from astroad_nb.models import HierarchicalDetector

        own = isinstance(self.detector_, HierarchicalDetector)
        if outside is None:
            return (self.detector_.predict_proba(X) if own else None), None
        if self.classes_ is None:
            raise ValueError("class_probabilities were passed but the bundle has a single "
                             "detector (no top classes).")
        cols = [c for c in self.classes_ if c not in outside.columns
                and str(c) not in outside.columns]
        if cols:
            raise ValueError(f"class_probabilities lacks column(s) {list(map(str, cols))}; the "
                             f"bundle's top classes are {list(map(str, self.classes_))}.")
        names = [c if c in outside.columns else str(c) for c in self.classes_]
        proba = outside.reindex(index)[names].to_numpy(dtype=np.float64)
        fallback = ~np.isfinite(proba).any(axis=1)
        if fallback.any():
            if own:
                proba[fallback] = self.detector_.predict_proba(X[fallback])
            else:
                proba[fallback] = np.nan
        proba = np.nan_to_num(proba, nan=0.0)
        if not own:  # rows without any probability are routed by their best-fitting detector
            proba[fallback] = np.nan
        return proba, fallback

    def _route(self, z, proba):
        """(top class, its probability, anomaly score) per row."""
        if self.classes_ is None:
            return [None] * len(z), np.full(len(z), np.nan), z[:, 0]
        mode = getattr(self.detector_, "mode", "max")
        top_idx = np.empty(len(z), dtype=np.int64)
        p_top = np.full(len(z), np.nan)
        score = np.empty(len(z))
        have = np.zeros(len(z), bool) if proba is None else np.isfinite(proba).all(axis=1)
        if have.any():
            p = proba[have]
            top_idx[have] = p.argmax(axis=1)
            p_top[have] = p.max(axis=1)
            if mode == "weighted":
                score[have] = (p * z[have]).sum(axis=1)
            else:
                score[have] = z[have][np.arange(have.sum()), top_idx[have]]
        if (~have).any():  # no probabilities: the class whose detector finds it most normal
            top_idx[~have] = z[~have].argmin(axis=1)
            score[~have] = z[~have].min(axis=1)
        top = [str(self.classes_[i]) for i in top_idx]
        return top, p_top, score

    def p_real(self, images, *, batch_size=256, precision="auto",
               channels_last=True) -> np.ndarray:
        """Probability that each triplet is real (NaN when the bundle has no CNN).

        Parameters
        ----------
        images : ndarray of shape (n, 3, H, W)
            Cutout triplets (NaN where invalid).
        batch_size : int, default=256
        precision : {"auto", "fp32", "bf16"}, default="auto"
            Passed to :meth:`RealBogusCNN.predict_proba`: ``"auto"`` is bf16 only where the CPU
            has it natively, else fp32 (then equal to ``"fp32"`` within 1e-7).
        channels_last : bool, default=True
            oneDNN's channels-last convolutions (equal to the default layout within ~1e-7).

        Returns
        -------
        ndarray of shape (n,), float64
        """
        images = np.asarray(images)
        if self.realbogus_ is None or len(images) == 0:
            return np.full(len(images), np.nan)
        return self.realbogus_.predict_proba(images, batch_size=batch_size, precision=precision,
                                             channels_last=channels_last)[:, 1]

    @property
    def cutout_size(self):
        """Side (px) of the CNN's training cutouts, or None without a CNN."""
        cnn = getattr(self, "realbogus_", None)
        return None if cnn is None else int(cnn.image_shape_[0])

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "feature_names_")
        import astroad_nb

        children = {"preprocessor": self.preprocessor_}
        if self.detectors_ is not None:
            children.update({f"detectors/{i}": self.detectors_[c]
                             for i, c in enumerate(self.classes_)})
        else:
            children["detector"] = self.detector_
        if self.realbogus_ is not None:
            children["realbogus"] = self.realbogus_
        arrays = {"score_loc": self.score_loc_, "score_scale": self.score_scale_}
        if self.classes_ is not None:
            arrays["classes"] = np.asarray(self.classes_).astype(str)
        try:
            import light_curve

            lc_version = light_curve.__version__
        except ImportError:  # pragma: no cover - a dependency
            lc_version = None
        return {"feature_names": list(self.feature_names_),
                "attrs": {"n_train": int(self.n_train_), "fitted_with": astroad_nb.__version__,
                          "light_curve_version": lc_version,
                          "has_classes": self.classes_ is not None},
                "arrays": arrays, "children": children}

    def _set_state(self, state):
        attrs, arrays, children = state["attrs"], state["arrays"], state["children"]
        saved = [str(c) for c in state["feature_names"]]
        expected = self.expected_feature_names()
        if saved != expected:
            missing = [c for c in saved if c not in expected]
            extra = [c for c in expected if c not in saved]
            raise FeatureMismatchError(
                f"this bundle was fitted on {len(saved)} features that the installed "
                f"astroad_nb does not compute for its settings {self.feature_settings}: "
                f"saved but not computed {missing[:5]}, computed but not saved {extra[:5]}"
                + ("" if missing or extra else " (order differs)")
                + ". Refit the bundle with this version (ScoringPipeline.fit) and save it "
                "again.")
        pre = children["preprocessor"]
        if [str(c) for c in pre.feature_names_in_] != saved:
            raise FeatureMismatchError("the saved preprocessor takes other columns than the "
                                       "bundle's feature names; the folder is inconsistent.")
        self.feature_names_ = saved
        self.preprocessor_ = pre
        self.n_train_ = int(attrs["n_train"])
        self.score_loc_ = arrays["score_loc"]
        self.score_scale_ = arrays["score_scale"]
        self.classes_ = arrays["classes"].astype(object) if attrs["has_classes"] else None
        dets = {k: v for k, v in children.items() if k.startswith("detectors/")}
        if dets:
            self.detectors_ = {c: dets[f"detectors/{i}"] for i, c in enumerate(self.classes_)}
            self.detector_ = None
        else:
            self.detectors_ = None
            self.detector_ = children["detector"]
            if hasattr(self.detector_, "classes_"):
                self.classes_ = np.asarray(self.detector_.classes_)
        self.realbogus_ = children.get("realbogus")


def _seeded(det, rng):
    params = det.get_params()
    if "random_state" in params and params["random_state"] is None:
        det.set_params(random_state=int(rng.randint(2**31 - 1)))
    return det
