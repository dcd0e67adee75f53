"""What every protocol shares: named presets, the :class:`Run` it returns, its JSON form.

A protocol module (``protocols/alerce.py``, ``realbogus.py``, ``streams.py``, ...) defines a
frozen :class:`Preset` subclass with its sizes and hyper-parameters, a ``PRESETS`` dict with at
least ``"fast"`` (CI, Binder), ``"full"`` (the published sizes) and ``"seed"`` (the seed's own
hyper-parameters where they differ from ours), the protocol's steps as public functions, and
``run(preset, ...) -> Run``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Preset", "Run", "resolve_preset", "default_preset_name", "frame_to_json",
           "frame_from_json"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """Base of every protocol's sizes and hyper-parameters (frozen: presets never drift).

    Subclasses add fields with defaults; ``name`` says which named preset it came from.
    """

    name: str = "custom"

    def replace(self, **changes) -> Preset:
        """A copy with some fields changed (unknown names raise a ``TypeError`` naming them)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {unknown}; fields are "
                            f"{[f.name for f in dataclasses.fields(self)]}.")
        if changes and "name" not in changes:
            changes["name"] = self.name if self.name.endswith("*") else f"{self.name}*"
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Field name -> value (tuples as lists), ready for JSON."""
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def field_types(cls) -> dict:
        """Field name -> the Python type of its default (for command-line overrides)."""
        out = {}
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            out[f.name] = type(default) if default is not None else str
        return out


def default_preset_name() -> str:
    """``"fast"`` when ``ASTROAD_FAST`` is set (tests, Binder), else ``"full"``."""
    from astroad_nb._config import is_fast

    return "fast" if is_fast() else "full"


def resolve_preset(presets: dict, preset=None, **overrides) -> Preset:
    """Turn a preset name (or a Preset, or None) plus overrides into one Preset.

    Parameters
    ----------
    presets : dict[str, Preset]
        The protocol's named presets.
    preset : str, Preset or None
        ``None`` = :func:`default_preset_name`.
    **overrides
        Field values that replace the preset's; ``None`` values are ignored.

    Raises
    ------
    ValueError
        If the name is not one of ``presets``.
    """
    if preset is None:
        preset = default_preset_name()
    if isinstance(preset, str):
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(presets)}.")
        preset = presets[preset]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return preset.replace(**overrides) if overrides else preset


# --------------------------------------------------------------------------- tables <-> JSON
def _json_value(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if value is pd.NA or value is None:
        return None
    return value


def frame_to_json(frame: pd.DataFrame | pd.Series) -> dict:
    """A DataFrame (or Series) as a JSON-ready dict that :func:`frame_from_json` inverts.

    NaN becomes ``null``; a MultiIndex is kept (index entries as lists, with its names).
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
        series = True
    else:
        series = False
    return {
        "series": series,
        "index_names": [None if n is None else str(n) for n in frame.index.names],
        "index": [_json_value(i) for i in frame.index],
        "columns": [str(c) for c in frame.columns],
        "data": [[_json_value(v) for v in row] for row in frame.itertuples(index=False)],
    }


def frame_from_json(data: dict) -> pd.DataFrame | pd.Series:
    """Inverse of :func:`frame_to_json` (``null`` back to NaN in numeric columns)."""
    names = data["index_names"]
    if len(names) > 1:
        index = pd.MultiIndex.from_tuples([tuple(i) for i in data["index"]], names=names)
    else:
        index = pd.Index(data["index"], name=names[0])
    frame = pd.DataFrame(data["data"], index=index, columns=data["columns"])
    for col in frame.columns:
        if frame[col].dtype == object:
            converted = pd.to_numeric(frame[col], errors="coerce")
            if converted.notna().sum() == frame[col].notna().sum():
                frame[col] = converted
    if data.get("series"):
        return frame.iloc[:, 0]
    return frame


# --------------------------------------------------------------------------- the run
#: Packages whose versions decide a run's last digits (IForest/OCSVM, RNG streams, BLAS paths).
ENVIRONMENT_PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "torch", "astropy",
                        "light-curve", "galsim")


def environment() -> dict:
    """Python and :data:`ENVIRONMENT_PACKAGES` versions here (None: not installed)."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ENVIRONMENT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclasses.dataclass
class Run:
    """What a protocol's ``run()`` returns: its tables, the preset, timings, fitted objects.

    Attributes
    ----------
    system : str
        Registry name of the protocol (``"alerce"``, ``"realbogus"``, ``"streams"``, ...).
    title : str
        One line saying what was run.
    preset : dict
        The preset's fields (:meth:`Preset.to_dict`).
    tables : dict[str, pandas.DataFrame]
        Named result tables; ``headline`` names the one the paper reports.
    headline : str
    config : dict
        Facts of the run beyond the preset (data source, sizes found, selected stage, ...).
    seconds : dict
        Wall-clock time of each step, in s.
    objects : dict
        Fitted models, data and loops for a notebook to continue from (not serialised).
    environment : dict
        Versions of Python and of the numerical packages the run was made with
        (:func:`environment`); a committed run is reproducible to the last digit only there.
    """

    system: str
    title: str
    preset: dict
    tables: dict
    headline: str
    config: dict = dataclasses.field(default_factory=dict)
    seconds: dict = dataclasses.field(default_factory=dict)
    objects: dict = dataclasses.field(default_factory=dict, repr=False)
    environment: dict = dataclasses.field(default_factory=lambda: environment(), repr=False)

    def table(self, name: str | None = None) -> pd.DataFrame:
        """A result table (default: the headline one).

        Raises
        ------
        KeyError
            Naming the tables this run has.
        """
        name = self.headline if name is None else name
        if name not in self.tables:
            raise KeyError(f"{self.system} run has no table {name!r}; it has "
                           f"{sorted(self.tables)}.")
        return self.tables[name]

    def to_dict(self) -> dict:
        """JSON-ready dict (everything but ``objects``)."""
        return {"system": self.system, "title": self.title, "preset": self.preset,
                "headline": self.headline, "config": _jsonable(self.config),
                "seconds": _jsonable(self.seconds), "environment": dict(self.environment),
                "tables": {k: frame_to_json(v) for k, v in self.tables.items()}}

    def to_json(self, path=None, *, indent: int = 1) -> str:
        """The run as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, source) -> Run:
        """Read a run written by :meth:`to_json` (JSON text, or a path to a file of it).

        Raises
        ------
        ValueError
            If the text is not a run's JSON (names the missing keys).
        """
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text()
        data = json.loads(text)
        missing = sorted({"system", "preset", "tables", "headline"} - set(data))
        if missing:
            raise ValueError(f"not a protocol run's JSON: keys {missing} are missing.")
        return cls(system=data["system"], title=data.get("title", ""), preset=data["preset"],
                   tables={k: frame_from_json(v) for k, v in data["tables"].items()},
                   headline=data["headline"], config=data.get("config", {}),
                   seconds=data.get("seconds", {}), environment=data.get("environment", {}))

    def report(self, digits: int = 3) -> str:
        """Plain-text report: title, every table, timings."""
        lines = [self.title, ""]
        facts = {k: v for k, v in self.config.items() if isinstance(v, (str, int, float))}
        if facts:
            lines += [", ".join(f"{k}: {v}" for k, v in facts.items()), ""]
        for name, frame in self.tables.items():
            lines += [f"{name}:", frame.round(digits).to_string()
                      if hasattr(frame, "round") else str(frame), ""]
        if self.seconds:
            lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _jsonable(value: Any):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    converted = _json_value(value)
    if converted is not value or isinstance(converted, (float, int)):
        return converted
    return str(value)
