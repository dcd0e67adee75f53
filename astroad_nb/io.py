"""The one persistence layer: :func:`save` an astroad_nb object to a folder, :func:`load` it back.

Nothing is ever unpickled. A saved object is a folder::

    model/
      config.json          kind, package version, params, feature names, small learned
                           attributes, the sha256 of every file below, a checksum of itself
      <array>.npy          numpy arrays (read with ``allow_pickle=False``)
      <state dict>.pt      torch state dicts (read with ``torch.load(weights_only=True)``)
      <child>/             nested objects (a hierarchical detector's class detectors, the
                           steps of a Pipeline), each a folder of the same layout

``kind`` is the class path of the object, looked up in a fixed table of known classes
(:data:`KINDS`): a folder can never make :func:`load` import or build anything else.

Every saveable class speaks one small protocol, plain dicts so that lower floors (features)
need not import this module::

    obj._get_state() -> {"feature_names": list of str or None, "attrs": JSON-able dict,
                         "arrays": {name: ndarray}, "state_dicts": {name: torch state dict},
                         "children": {name: saveable object}}     (every key optional)
    cls(**params)._set_state(state)                             (every key present)

``params`` are ``get_params(deep=False)``, stored as JSON (tuples, dicts with non-string keys
and unfitted estimators of known kinds keep their type). Folders written by astroad_nb before
this layout (``arrays.npz`` + ``weights.pt``, no checksums) still load, with a
:class:`LegacyFormatWarning`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "KINDS",
    "CorruptFileError",
    "KindMismatchError",
    "LegacyFormatWarning",
    "MissingConfigError",
    "PersistenceError",
    "Persistent",
    "UnknownKindError",
    "UnsavableError",
    "VersionMismatchError",
    "load",
    "register",
    "save",
]

CONFIG_FILE = "config.json"
FORMAT, FORMAT_VERSION = "astroad_nb", 2

#: Kinds :func:`load` builds: class path -> (module, class name). Nothing else is ever imported.
KINDS: dict[str, tuple[str, str]] = {
    f"{module}.{name}": (module, name) for module, name in [
        ("astroad_nb.models.classic", "IForest"),
        ("astroad_nb.models.classic", "OCSVM"),
        ("astroad_nb.models.autoencoders", "AutoEncoder"),
        ("astroad_nb.models.autoencoders", "VAE"),
        ("astroad_nb.models.svdd", "DeepSVDD"),
        ("astroad_nb.models.svdd", "MultiClassDeepSVDD"),
        ("astroad_nb.models.vade", "VaDE"),
        ("astroad_nb.models.hierarchical", "HierarchicalDetector"),
        ("astroad_nb.models.cnn", "RealBogusCNN"),
        ("astroad_nb.models.ganomaly", "GANomaly"),
        ("astroad_nb.models.deepsets", "DeepSetsOneClass"),
        ("astroad_nb.models.forest", "RecursiveForest"),
        ("astroad_nb.models.context", "FiLMAutoEncoder"),
        ("astroad_nb.models.context", "PerContextDetector"),
        ("astroad_nb.models.context", "ContextPredictor"),
        ("astroad_nb.features.lightcurves", "ALeRCEPreprocessor"),
        ("astroad_nb.features.streams", "StreamFeatureScaler"),
        ("astroad_nb.scoring.pipeline", "ScoringPipeline"),
        ("sklearn.pipeline", "Pipeline"),
    ]
}
#: Estimators stored only as unfitted templates (hyper-parameters), e.g. the classifier a
#: HierarchicalDetector clones; their fitted form would need pickle.
_TEMPLATE_KINDS: dict[str, tuple[str, str]] = {
    "sklearn.ensemble.RandomForestClassifier": ("sklearn.ensemble", "RandomForestClassifier"),
    "sklearn.ensemble.ExtraTreesClassifier": ("sklearn.ensemble", "ExtraTreesClassifier"),
    "imblearn.ensemble.BalancedRandomForestClassifier": ("imblearn.ensemble",
                                                         "BalancedRandomForestClassifier"),
}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


# ---------------------------------------------------------------------------------- errors
class PersistenceError(Exception):
    """Base class of every save/load error of astroad_nb."""


class MissingConfigError(PersistenceError, FileNotFoundError):
    """The folder has no ``config.json``: it was not written by :func:`save` (or not fully)."""


class VersionMismatchError(PersistenceError, ValueError):
    """The folder was written by an incompatible astroad_nb version or file format."""


class UnknownKindError(PersistenceError, ValueError):
    """``config.json`` names a kind outside :data:`KINDS` (tampered, or a newer package)."""


class KindMismatchError(PersistenceError, ValueError):
    """``load(path, expected=Cls)`` found another kind of object."""


class CorruptFileError(PersistenceError, ValueError):
    """A file is missing, truncated, modified, or not what ``config.json`` says."""


class UnsavableError(PersistenceError, TypeError):
    """The object (or a hyper-parameter) cannot be written without pickle."""


class LegacyFormatWarning(UserWarning):
    """A folder of the pre-checksum layout was loaded; re-save it to add checksums."""


# ---------------------------------------------------------------------------------- kinds
def register(cls):
    """Make a class saveable (it must implement ``_get_state``/``_set_state``).

    Parameters
    ----------
    cls : type

    Returns
    -------
    type
        ``cls`` (usable as a decorator).
    """
    KINDS[_path_of(cls)] = (cls.__module__, cls.__qualname__)
    return cls


def _path_of(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _resolve(kind, table, where):
    if not isinstance(kind, str) or kind not in table:
        known = ", ".join(sorted(k.rsplit(".", 1)[-1] for k in table))
        raise UnknownKindError(
            f"{where}: unknown kind {kind!r}; astroad_nb only loads its own kinds ({known}). "
            "The config was modified or written by a newer astroad_nb.")
    module, name = table[kind]
    return getattr(importlib.import_module(module), name)


def _kind_of(obj):
    kind = _path_of(type(obj))
    if kind not in KINDS:
        raise UnsavableError(
            f"Cannot save a {type(obj).__name__}: astroad_nb saves only its own kinds "
            f"({', '.join(sorted(k.rsplit('.', 1)[-1] for k in KINDS))}) and Pipelines of them; "
            "a class of your own that implements _get_state/_set_state can be added with "
            "astroad_nb.io.register(cls).")
    return kind


def _template_kind(cls):
    """Kind of an estimator stored by its hyper-parameters only (None if not allowed)."""
    if _path_of(cls) in KINDS:
        return _path_of(cls)
    for kind, (module, name) in _TEMPLATE_KINDS.items():
        # public path vs. defining module (sklearn.ensemble._forest): compare the class itself
        if cls.__name__ == name and cls.__module__.split(".")[0] == module.split(".")[0] \
                and getattr(importlib.import_module(module), name, None) is cls:
            return kind
    return None


def _is_pipeline(cls):
    return _path_of(cls) == "sklearn.pipeline.Pipeline"


# ---------------------------------------------------------------------------------- JSON
def _encode(value, name):
    """JSON form of a hyper-parameter or attribute; tuples, int-keyed dicts, estimators tagged."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{name}[{k!r}]") for k, v in value.items()}
        return {"__items__": [[_encode(k, name), _encode(v, name)] for k, v in value.items()]}
    kind = _template_kind(type(value))
    if kind is not None and hasattr(value, "get_params"):
        return {"__estimator__": kind,
                "params": {k: _encode(v, f"{name}.{k}")
                           for k, v in value.get_params(deep=False).items()}}
    raise UnsavableError(
        f"Cannot save {name}={value!r}: config.json stores None, numbers, strings, lists, "
        "dicts and unfitted astroad_nb estimators or tree-ensemble classifiers "
        "(RandomForestClassifier, ExtraTreesClassifier, BalancedRandomForestClassifier). "
        "Pass an int random_state (not a RandomState).")


def _decode(value, where):
    if isinstance(value, list):
        return [_decode(v, where) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, where) for v in value["__tuple__"])
    if "__items__" in value:
        return {_decode(k, where): _decode(v, where) for k, v in value["__items__"]}
    if "__estimator__" in value:
        cls = _resolve(value["__estimator__"], {**KINDS, **_TEMPLATE_KINDS}, where)
        return cls(**_decode(value["params"], where))
    return {k: _decode(v, where) for k, v in value.items()}


def _canonical(config):
    body = {k: v for k, v in config.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _compatible(saved, installed):
    """Same major version (and, while the major is 0, the same minor: semver's rule)."""
    def key(version):
        parts = [int(p) for p in str(version).split(".")[:2] if p.isdigit()]
        parts += [0] * (2 - len(parts))
        return (parts[0], parts[1]) if parts[0] == 0 else (parts[0],)

    try:
        return key(saved) == key(installed)
    except (ValueError, IndexError):
        return False


# ---------------------------------------------------------------------------------- state
def _state_of(obj):
    if _is_pipeline(type(obj)):
        return _pipeline_state(obj)
    if not hasattr(obj, "_get_state"):
        raise UnsavableError(f"{type(obj).__name__} does not implement _get_state.")
    state = obj._get_state()
    return {"feature_names": state.get("feature_names"), "attrs": state.get("attrs", {}),
            "arrays": state.get("arrays", {}), "state_dicts": state.get("state_dicts", {}),
            "children": state.get("children", {})}


def _params_of(obj):
    if not hasattr(obj, "get_params"):
        return {}
    params = obj.get_params(deep=False)
    if _is_pipeline(type(obj)):
        params.pop("steps")
    return params


def _build(cls, params, state):
    if _is_pipeline(cls):
        return _pipeline_build(cls, params, state)
    obj = cls(**params)
    obj._set_state(state)
    return obj


def _pipeline_state(pipe):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(pipe)
    names, children = [], {}
    for i, (name, step) in enumerate(pipe.steps):
        names.append(name)
        if step is None or step == "passthrough":
            continue
        children[f"steps/{i}"] = step
    return {"feature_names": None, "attrs": {"step_names": names}, "arrays": {},
            "state_dicts": {}, "children": children}


def _pipeline_build(cls, params, state):
    steps = [(name, state["children"].get(f"steps/{i}", "passthrough"))
             for i, name in enumerate(state["attrs"]["step_names"])]
    return cls(steps, **params)


# ---------------------------------------------------------------------------------- save
class Persistent:
    """Mixin: ``obj.save(path)`` and ``cls.load(path)`` for a class that speaks this module's
    protocol (``_get_state`` / ``_set_state``); one home for every saveable class's two methods."""

    def save(self, path):
        """Write the fitted object to the folder ``path`` (see :func:`astroad_nb.io.save`).

        Parameters
        ----------
        path : str or Path
            Folder (created if needed).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        return save(self, path)

    @classmethod
    def load(cls, path, *, feature_names=None, device=None):
        """Read an object written by :meth:`save`; it continues where the saved one stopped.

        Parameters
        ----------
        path : str or Path
        feature_names : sequence of str, optional
            Columns the caller will score; checked against the saved ones (names and order).
        device : str, optional
            Overrides the saved ``device`` of torch models (e.g. ``"cpu"`` for a GPU-trained one).

        Returns
        -------
        object
            A fitted object of the saved class (``cls`` or a subclass of it).

        Raises
        ------
        astroad_nb.io.MissingConfigError
            If ``config.json`` is missing (a FileNotFoundError).
        astroad_nb.io.PersistenceError
            Version mismatch, unknown or other kind, corrupt files (ValueErrors).
        ValueError
            If ``feature_names`` differ from the saved feature names.
        """
        return load(path, expected=cls, feature_names=feature_names, device=device)


def save(obj, path):
    """Write a fitted astroad_nb object (or a Pipeline of them) to the folder ``path``.

    Parameters
    ----------
    obj : object of a kind in :data:`KINDS`
        Fitted detector, classifier, preprocessor, scaler or ``sklearn.pipeline.Pipeline``.
    path : str or Path
        Folder, created if needed; a previous save there is replaced.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    UnsavableError
        If the object, a hyper-parameter or an array needs pickle.
    sklearn.exceptions.NotFittedError
        If the object is not fitted.

    Examples
    --------
    >>> save(IForest(n_estimators=10).fit(X), "iforest")  # doctest: +SKIP
    >>> astroad_nb.load("iforest").anomaly_score(X)  # doctest: +SKIP
    """
    folder = Path(path)
    kind = _kind_of(obj)
    state = _state_of(obj)  # before the params: it names the fitted part that cannot be saved
    params = {k: _encode(v, f"{type(obj).__name__}.{k}") for k, v in _params_of(obj).items()}
    attrs = {k: _encode(v, f"{type(obj).__name__} attribute {k}")
             for k, v in state["attrs"].items()}
    import astroad_nb

    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).unlink(missing_ok=True)  # a save cut short leaves no valid folder
    files, arrays, state_dicts, children = {}, {}, {}, {}
    for name, value in state["arrays"].items():
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise UnsavableError(f"Cannot save {type(obj).__name__} array {name!r} of dtype "
                                 "object without pickle; convert it to str or numbers.")
        arrays[name] = _check_name(name) + ".npy"
        np.save(folder / arrays[name], arr, allow_pickle=False)
    if state["state_dicts"]:
        import torch

        for name, sd in state["state_dicts"].items():
            state_dicts[name] = _check_name(name) + ".pt"
            torch.save({k: v.detach().cpu() for k, v in sd.items()}, folder / state_dicts[name])
    for name, child in state["children"].items():
        save(child, folder / _check_name(name))
        children[name] = _kind_of(child)
        files[f"{name}/{CONFIG_FILE}"] = _sha256(folder / name / CONFIG_FILE)
    for file in [*arrays.values(), *state_dicts.values()]:
        files[file] = _sha256(folder / file)
    feature_names = state["feature_names"]
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "astroad_nb_version": astroad_nb.__version__, "kind": kind, "params": params,
        "feature_names_in": None if feature_names is None else [str(f) for f in feature_names],
        "attrs": attrs, "arrays": arrays, "state_dicts": state_dicts, "children": children,
        "files": files,
    }
    config["checksum"] = hashlib.sha256(_canonical(config)).hexdigest()
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=1, allow_nan=True))
    os.replace(tmp, folder / CONFIG_FILE)
    return folder


def _check_name(name):
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise UnsavableError(f"{name!r} is not a safe file name for a saved part.")
    return name


# ---------------------------------------------------------------------------------- load
def load(path, *, expected=None, feature_names=None, device=None):
    """Read any object written by :func:`save` (also ``astroad_nb.load``).

    Parameters
    ----------
    path : str or Path
        Folder written by :func:`save` (or by ``obj.save(path)``).
    expected : type, optional
        Raise :class:`KindMismatchError` unless the folder holds an instance of this class
        (or of a subclass).
    feature_names : sequence of str, optional
        Columns the caller will score; checked against the saved ones (same names, order).
    device : str, optional
        Overrides the saved ``device`` hyper-parameter of torch models (and their children),
        e.g. ``"cpu"`` to read a model trained on a GPU.

    Returns
    -------
    object
        The fitted object, of the saved class.

    Raises
    ------
    MissingConfigError
        ``config.json`` is missing (a FileNotFoundError).
    VersionMismatchError
        Written by another major version of astroad_nb or a newer file format.
    UnknownKindError
        The kind is not one astroad_nb builds (a tampered or foreign config).
    KindMismatchError
        The object is not an ``expected``.
    CorruptFileError
        A file is missing, truncated or modified (sha256 mismatch), or the config was edited.
    ValueError
        ``feature_names`` differ from the saved feature names.
    """
    folder = Path(path)
    config = _read_config(folder)
    legacy = config.get("format") != FORMAT
    where = folder / CONFIG_FILE
    _check_version(folder, config, legacy)
    if legacy:
        cls = _legacy_class(folder, config)
    else:
        cls = _resolve(config.get("kind"), KINDS, str(where))
    if expected is not None and not (isinstance(cls, type) and issubclass(cls, expected)):
        raise KindMismatchError(
            f"{folder} holds a {cls.__name__!r}, not a {expected.__name__} "
            f"({_path_of(cls)}); read it with astroad_nb.load(path) or "
            f"{cls.__name__}.load(path).")
    if legacy:
        params, state = _read_legacy(folder, config, device)
    else:
        params, state = _read_state(folder, config, device)
    if device is not None and "device" in params:
        params["device"] = device
    _check_feature_names(folder, state, feature_names)
    return _build(cls, params, state)


def _read_config(folder):
    where = folder / CONFIG_FILE
    if not where.is_file():
        raise MissingConfigError(
            f"{where} not found: is {folder} a folder written by save() / obj.save(path)?")
    try:
        config = json.loads(where.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{where} is not valid JSON ({exc}); the folder is damaged: "
                               "save the object again.") from exc
    if not isinstance(config, dict):
        raise CorruptFileError(f"{where} holds a {type(config).__name__}, expected an object.")
    return config


def _check_version(folder, config, legacy):
    import astroad_nb

    saved = config.get("astroad_nb_version", "?")
    if not _compatible(saved, astroad_nb.__version__):
        raise VersionMismatchError(
            f"{folder} was saved by astroad_nb {saved}, incompatible with the installed "
            f"{astroad_nb.__version__}; refit and save it again, or install "
            f"astroad_nb=={saved} to read it.")
    if not legacy and config.get("format_version") != FORMAT_VERSION:
        raise VersionMismatchError(
            f"{folder / CONFIG_FILE} has format_version {config.get('format_version')!r}; this "
            f"astroad_nb reads format {FORMAT_VERSION}. Save it again with this version.")


def _read_state(folder, config, device):
    where = folder / CONFIG_FILE
    if config.get("checksum") != hashlib.sha256(_canonical(config)).hexdigest():
        raise CorruptFileError(
            f"{where} was modified after it was written (its checksum does not match its "
            "content); save the object again rather than editing config.json.")
    files = config["files"]
    for name, digest in files.items():
        file = folder / _checked(name, where)
        if not file.is_file():
            raise CorruptFileError(f"{file} is missing; {where} lists it. Copy the whole "
                                   "folder, or save the object again.")
        if _sha256(file) != digest:
            raise CorruptFileError(
                f"{file} does not match the sha256 recorded in {where} (truncated or "
                f"modified; expected {digest[:12]}..., size now {file.stat().st_size} bytes). "
                "Save the object again.")
    arrays = {}
    for name, file in config["arrays"].items():
        arrays[name] = _read_npy(folder / _listed(file, files, where))
    state_dicts = {}
    if config["state_dicts"]:
        import torch

        for name, file in config["state_dicts"].items():
            path = folder / _listed(file, files, where)
            try:
                state_dicts[name] = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # torch raises RuntimeError/UnpicklingError variants
                raise CorruptFileError(f"{path} is not a readable torch state dict "
                                       f"({exc}).") from exc
    children = {}
    for name, kind in config["children"].items():
        _listed(f"{name}/{CONFIG_FILE}", files, where)
        child = load(folder / _checked(name, where), device=device)
        if _path_of(type(child)) != kind:
            raise CorruptFileError(f"{folder / name} holds a {_path_of(type(child))}, "
                                   f"{where} expects a {kind}.")
        children[name] = child
    params = _decode(config["params"], str(where))
    state = {"feature_names": config.get("feature_names_in"),
             "attrs": _decode(config["attrs"], str(where)), "arrays": arrays,
             "state_dicts": state_dicts, "children": children}
    return params, state


def _checked(name, where):
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise CorruptFileError(f"{where} names an unsafe path {name!r}.")
    return name


def _listed(file, files, where):
    if file not in files:
        raise CorruptFileError(f"{where}: {file!r} has no recorded sha256 (modified config).")
    return _checked(file, where)


def _read_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{path} is not a readable .npy array without pickle "
                               f"({exc}).") from exc


def _check_feature_names(folder, state, feature_names):
    if feature_names is None:
        return
    feature_names = [str(f) for f in feature_names]
    saved = state["feature_names"]
    if saved is None:
        n = state["attrs"].get("n_features_in")
        if n is not None and len(feature_names) != n:
            raise ValueError(f"{folder} was fitted on {n} unnamed features, got "
                             f"{len(feature_names)} feature names.")
    elif feature_names != list(saved):
        missing = [f for f in saved if f not in feature_names]
        extra = [f for f in feature_names if f not in saved]
        raise ValueError(
            f"Feature names differ from those {folder} was fitted on: missing {missing}, "
            f"unexpected {extra}" + ("" if missing or extra else ", order differs")
            + ". Select and order the columns as saved in config.json.")


# ---------------------------------------------------------------------------------- legacy
# The layout before this module: config.json {"astroad_nb_version", "class" (short name),
# "params", "attrs", and class-specific top-level entries}, arrays.npz, weights.pt, and
# sub-folders (a HierarchicalDetector's detectors/<i>). Same names as the protocol's attrs.
_LEGACY_META = ("astroad_nb_version", "class", "params", "attrs", "feature_names_in")


def _legacy_class(folder, config):
    name = config.get("class")
    matches = [kind for kind in KINDS if kind.rsplit(".", 1)[-1] == name]
    if "class" not in config or len(matches) != 1:
        raise UnknownKindError(
            f"{folder / CONFIG_FILE}: neither a kind of this layout nor a known class of the "
            f"earlier one (class {name!r}); astroad_nb only loads its own kinds.")
    return _resolve(matches[0], KINDS, str(folder / CONFIG_FILE))


def _read_legacy(folder, config, device):
    warnings.warn(f"{folder} uses the earlier astroad_nb layout (no checksums); load it and "
                  "save it again to upgrade.", LegacyFormatWarning, stacklevel=3)
    arrays, state_dicts = {}, {}
    if (folder / "arrays.npz").is_file():
        try:
            with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError) as exc:
            raise CorruptFileError(f"{folder / 'arrays.npz'} is not readable without pickle "
                                   f"({exc}).") from exc
    if (folder / "weights.pt").is_file():
        import torch

        try:
            state_dicts["network"] = torch.load(folder / "weights.pt", map_location="cpu",
                                                weights_only=True)
        except Exception as exc:
            raise CorruptFileError(f"{folder / 'weights.pt'} is not a readable torch state "
                                   f"dict ({exc}).") from exc
    children = {}
    for sub in sorted(p for p in folder.rglob(CONFIG_FILE) if p.parent != folder):
        rel = sub.parent.relative_to(folder)
        if not any((folder / parent / CONFIG_FILE).is_file() for parent in rel.parents
                   if parent != Path(".")):
            children[rel.as_posix()] = load(sub.parent, device=device)
    attrs = {k: v for k, v in config.items() if k not in _LEGACY_META}
    attrs.update(config.get("attrs") or {})
    params = {k: tuple(v) if isinstance(v, list) else v
              for k, v in (config.get("params") or {}).items()}
    state = {"feature_names": config.get("feature_names_in"), "attrs": attrs,
             "arrays": arrays, "state_dicts": state_dicts, "children": children}
    return params, state
