"""One module per system: presets (fast / full / seed), the protocol's steps, ``run()``.

>>> from astroad_nb import protocols
>>> sorted(protocols.REGISTRY)
['alerce', 'context', 'discovery', 'galaxies', 'realbogus', 'streams']
>>> run = protocols.get("alerce").run("fast")            # doctest: +SKIP
>>> run.table()                                          # doctest: +SKIP

The CLI (``astroad reproduce NAME --preset ...``) and the notebooks are built from
:data:`REGISTRY`; a protocol module is imported only when it is asked for.
"""

from __future__ import annotations

import importlib

from astroad_nb.protocols._base import Preset, Run, default_preset_name, resolve_preset

__all__ = ["REGISTRY", "get", "describe", "Preset", "Run", "default_preset_name",
           "resolve_preset"]

#: Protocol name -> its module (imported lazily by :func:`get`).
REGISTRY = {
    "alerce": "astroad_nb.protocols.alerce",
    "realbogus": "astroad_nb.protocols.realbogus",
    "streams": "astroad_nb.protocols.streams",
    "galaxies": "astroad_nb.protocols.galaxies",
    "context": "astroad_nb.protocols.context",
    "discovery": "astroad_nb.protocols.discovery",
}


def get(name: str):
    """The protocol module registered as ``name``.

    Raises
    ------
    KeyError
        Naming the registered protocols.
    """
    if name not in REGISTRY:
        raise KeyError(f"no protocol {name!r}; registered: {sorted(REGISTRY)}.")
    return importlib.import_module(REGISTRY[name])


def describe() -> dict:
    """Protocol name -> (title, preset names)."""
    out = {}
    for name in REGISTRY:
        module = get(name)
        out[name] = (module.TITLE, tuple(module.PRESETS))
    return out
