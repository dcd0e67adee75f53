"""Jupyter panels (ipywidgets + plotly). The only place in the package that imports ipywidgets.

Each panel keeps its state and rules in a plain class (``*_state`` modules: no widgets, tested
without a browser) and only displays it. The panels are imported when first asked for, so
``astroad_nb.widgets.stream_state`` (and friends) load on a machine without ipywidgets.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it (imported on first access, PEP 562).
_EXPORTS = {
    "AnomalyBrowser": "astroad_nb.widgets.browser",
    "AnomalyBrowserState": "astroad_nb.widgets.browser_state",
    "ContextTimeline": "astroad_nb.widgets.context_timeline",
    "ContextTimelineState": "astroad_nb.widgets.context_state",
    "LabelingPanel": "astroad_nb.widgets.labeling",
    "LabelingSession": "astroad_nb.widgets.labeling_state",
    "ReconstructionViewer": "astroad_nb.widgets.reconstruction",
    "ReconstructionViewerState": "astroad_nb.widgets.reconstruction_state",
    "StreamExplorer": "astroad_nb.widgets.streams",
    "StreamExplorerState": "astroad_nb.widgets.stream_state",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'astroad_nb.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
