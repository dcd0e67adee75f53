"""The detector contract shared by every anomaly detector of :mod:`astroad_nb.models`.

One sign convention, exactly scikit-learn's: ``score_samples`` and ``decision_function`` are
lower for more abnormal samples, ``decision_function`` is 0 at the ``contamination`` quantile of
the training scores, ``predict`` gives +1 (inlier) / -1 (outlier). ``anomaly_score(X)`` is
``-score_samples(X)``: higher = more anomalous; metrics, tables, plots and panels use it.

Persistence writes a folder holding ``config.json`` (package version, class, hyper-parameters,
feature names, offset), ``arrays.npz`` (numpy arrays, read with ``allow_pickle=False``) and, for
torch models, ``weights.pt`` (a state dict, read with ``torch.load(..., weights_only=True)``).
Nothing is ever unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

import astroad_nb

__all__ = ["BaseDetector", "load_detector", "TorchDetector"]

CONFIG_FILE, ARRAYS_FILE, WEIGHTS_FILE = "config.json", "arrays.npz", "weights.pt"
_REGISTRY: dict[str, type] = {}


def _version_key(version):
    """Compatibility key of a version string: major, plus minor while major is 0 (semver)."""
    parts = [int(p) for p in str(version).split(".")[:2] if p.isdigit()]
    parts += [0] * (2 - len(parts))
    return (parts[0], parts[1]) if parts[0] == 0 else (parts[0],)


def _jsonable(value, name):
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(
        f"Cannot save hyper-parameter {name}={value!r}: only None, numbers, strings and lists "
        "are stored in config.json. Pass an int random_state (not a RandomState) to save.")


def _check_finite(X, feature_names=None):
    """Raise a ValueError naming the first non-finite cell of a validated float array."""
    bad = ~np.isfinite(X)
    if bad.any():
        rows, cols = np.nonzero(bad)
        col = feature_names[cols[0]] if feature_names is not None else f"column {cols[0]}"
        kind = "NaN" if np.isnan(X[rows[0], cols[0]]) else "infinity"
        raise ValueError(
            f"Input X contains NaN or infinity in {len(np.unique(rows))} row(s) (first: row "
            f"{rows[0]}, {col!s} is {kind}). Detectors need finite features: impute or drop "
            "them first, e.g. with the package's feature preprocessor or "
            "sklearn.impute.SimpleImputer in a Pipeline.")


class BaseDetector(OutlierMixin, BaseEstimator):
    """Base class of every astroad_nb anomaly detector (scikit-learn ``OutlierMixin``).

    Subclasses implement ``_fit(X, y)`` and ``_score(X)`` on validated float64 arrays (and, to be
    saved, ``_get_state``/``_set_state``); the base does validation, the threshold and I/O.

    Attributes
    ----------
    offset_ : float
        Training ``score_samples`` quantile at ``contamination``; ``decision_function`` subtracts it.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls  # load_detector only instantiates classes of this package

    # ------------------------------------------------------------------ validation
    def _validate(self, X, *, reset):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=reset)
        _check_finite(X, getattr(self, "feature_names_in_", None))
        return X

    def _check_contamination(self):
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float, np.floating)) or not 0 < c <= 0.5:
            raise ValueError(f"contamination must be a float in (0, 0.5], got {c!r}.")

    # ------------------------------------------------------------------ contract
    def fit(self, X, y=None):
        """Fit the detector on (mostly normal) samples.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Finite features; DataFrame column names are kept in ``feature_names_in_``.
        y : array-like of shape (n_samples,), optional
            Ignored by unsupervised detectors; sub-class labels for ``MultiClassDeepSVDD``.

        Returns
        -------
        self
        """
        self._check_contamination()
        X = self._validate(X, reset=True)
        if X.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to fit, got n_samples = "
                f"{X.shape[0]}.")
        self._fit(X, y)
        self.offset_ = float(np.quantile(self._score(X), self.contamination))
        return self

    def score_samples(self, X):
        """Normality score: lower = more abnormal (scikit-learn convention).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        check_is_fitted(self, "offset_")
        X = self._validate(X, reset=False)
        return np.asarray(self._score(X), dtype=np.float64)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers (``decision_function < 0``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def anomaly_score(self, X):
        """``-score_samples(X)``: higher = more anomalous (what metrics and plots use).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        return -self.score_samples(X)

    # ------------------------------------------------------------------ hooks
    def _fit(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _get_state(self):  # pragma: no cover - abstract
        """Return ``(arrays: dict[str, ndarray], state_dict or None, attrs: dict)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _get_state to be saved.")

    def _set_state(self, arrays, state_dict, attrs):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted detector to the folder ``path`` (created if needed).

        Parameters
        ----------
        path : str or Path
            Folder receiving ``config.json``, ``arrays.npz`` and (torch models) ``weights.pt``.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        check_is_fitted(self, "offset_")
        path = Path(path)
        arrays, state_dict, attrs = self._get_state()
        config = {
            "astroad_nb_version": astroad_nb.__version__,
            "class": type(self).__name__,
            "params": self._config_params(),
            "feature_names_in": (list(map(str, self.feature_names_in_))
                                 if hasattr(self, "feature_names_in_") else None),
            "n_features_in": int(self.n_features_in_),
            "offset": float(self.offset_),
            "attrs": attrs,
        }
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / ARRAYS_FILE, **arrays)
        if state_dict is not None:
            import torch

            torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, path / WEIGHTS_FILE)
        self._save_extra(path)
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return path

    def _config_params(self):
        """Hyper-parameters stored in config.json (all of them, JSON-safe)."""
        return {k: _jsonable(v, k) for k, v in self.get_params(deep=False).items()}

    def _save_extra(self, path):
        """Hook: write parts that are not arrays or a state dict (e.g. nested detectors)."""

    def _load_extra(self, path):
        """Hook: read what :meth:`_save_extra` wrote."""

    @classmethod
    def load(cls, path, *, feature_names=None):
        """Read a detector written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            Folder written by :meth:`save`.
        feature_names : sequence of str, optional
            Columns the caller will score; checked against the saved ones (same names, same
            order).

        Returns
        -------
        BaseDetector
            A fitted detector of the saved class (must be ``cls`` or a subclass of it).

        Raises
        ------
        FileNotFoundError
            If ``config.json`` is missing.
        ValueError
            If the file was written by an incompatible astroad_nb version, names another class,
            or ``feature_names`` differ from the saved feature names.
        """
        path = Path(path)
        config_path = path / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path} not found: is {path} a folder written by "
                                    "detector.save()?")
        config = json.loads(config_path.read_text())
        saved = config.get("astroad_nb_version", "?")
        if _version_key(saved) != _version_key(astroad_nb.__version__):
            raise ValueError(
                f"{path} was saved by astroad_nb {saved}, incompatible with the installed "
                f"{astroad_nb.__version__}; refit the detector or install astroad_nb=={saved}.")
        name = config.get("class")
        klass = _REGISTRY.get(name)
        if klass is None or not issubclass(klass, cls):
            raise ValueError(f"{path} holds a {name!r}, not a {cls.__name__}.")
        saved_names = config.get("feature_names_in")
        if feature_names is not None:
            feature_names = [str(f) for f in feature_names]
            if saved_names is None:
                if len(feature_names) != config["n_features_in"]:
                    raise ValueError(f"{path} was fitted on {config['n_features_in']} unnamed "
                                     f"features, got {len(feature_names)} feature names.")
            elif feature_names != saved_names:
                missing = [f for f in saved_names if f not in feature_names]
                extra = [f for f in feature_names if f not in saved_names]
                raise ValueError(
                    f"Feature names differ from those {path} was fitted on: missing {missing}, "
                    f"unexpected {extra}" + ("" if missing or extra else ", order differs")
                    + ". Select and order the columns as saved in config.json.")
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
        model = klass(**params)
        model.n_features_in_ = int(config["n_features_in"])
        if saved_names is not None:
            model.feature_names_in_ = np.asarray(saved_names, dtype=object)
        model.offset_ = float(config["offset"])
        with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        state_dict = None
        if (path / WEIGHTS_FILE).is_file():
            import torch

            state_dict = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model._set_state(arrays, state_dict, config.get("attrs", {}))
        model._load_extra(path)
        return model


def load_detector(path, *, feature_names=None):
    """Read any detector written by ``detector.save(path)``.

    Parameters
    ----------
    path : str or Path
    feature_names : sequence of str, optional
        See :meth:`BaseDetector.load`.

    Returns
    -------
    BaseDetector
    """
    return BaseDetector.load(path, feature_names=feature_names)


class TorchDetector(BaseDetector):
    """Shared machinery of the deep detectors (standardisation, fit-loop arguments, I/O).

    Subclasses define ``__init__`` (explicit keyword hyper-parameters), ``_build_network``,
    ``_train(Xs, y, rng)`` on standardised float32 rows, and ``_score_standardized``.
    """

    _extra_arrays: tuple = ()  # fitted tensors/arrays saved besides the state dict

    def _check_params(self):
        for name in ("epochs", "batch_size", "latent_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if not len(self.hidden_dims) or any(int(h) < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive ints, got {self.hidden_dims!r}.")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}.")
        from astroad_nb.training import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")

    def _fit_kwargs(self, seed, desc, epochs=None):
        return dict(val_fraction=self.val_fraction, epochs=epochs or self.epochs,
                    batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                    patience=self.patience, precision=self.precision, device=self.device,
                    random_state=seed,
                    verbose=self.verbose, desc=f"{type(self).__name__} {desc}")

    def _fit(self, X, y):
        from sklearn.utils import check_random_state

        from astroad_nb.training import resolve_device

        self._check_params()
        self.x_mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.x_scale_ = np.where(scale > 1e-12, scale, 1.0)  # constant columns pass unscaled
        self.device_ = str(resolve_device(self.device))
        self._train(self._standardize(X), y, check_random_state(self.random_state))

    def _new_network(self, n_features, rng):
        """Build the network and initialise it from ``rng`` without touching torch's global RNG."""
        import torch

        from astroad_nb.models._nets import init_parameters
        from astroad_nb.training import torch_seed

        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            net = self._build_network(n_features)
        init_parameters(net, torch.Generator().manual_seed(torch_seed(rng)))
        return net

    def _standardize(self, X):
        """``(X - x_mean_) / x_scale_`` as float32; centred in float64, in torch (multi-threaded,
        one pass, ~5x faster than the numpy expression on the benchmark table)."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        centred = torch.sub(x, torch.from_numpy(np.asarray(self.x_mean_, dtype=np.float64)))
        centred.mul_(torch.from_numpy(1.0 / np.asarray(self.x_scale_, dtype=np.float64)))
        return centred.to(torch.float32).numpy()

    def _score(self, X):
        return self._score_standardized(self._standardize(X))

    def _get_state(self):
        from astroad_nb.training import history_to_json

        arrays = {"x_mean_": self.x_mean_, "x_scale_": self.x_scale_}
        for name in self._extra_arrays:
            arrays[name] = np.asarray(getattr(self, name))
        return arrays, self.network_.state_dict(), {
            "history": history_to_json(getattr(self, "history_", None))}

    def _set_state(self, arrays, state_dict, attrs):
        from astroad_nb.training import resolve_device

        for name, value in arrays.items():
            setattr(self, name, value)
        self.device_ = str(resolve_device(self.device))
        import torch

        with torch.random.fork_rng(devices=[]):
            self.network_ = self._build_network(self.n_features_in_)
        self.network_.load_state_dict(state_dict)
        self.network_.to(self.device_).eval()
        from astroad_nb.training import history_from_json

        self.history_ = history_from_json(attrs.get("history"))
