"""Jupyter panels (ipywidgets + plotly). The only place in the package that imports ipywidgets.

Each panel keeps its state and rules in a plain class (no widgets, tested without a browser)
and only displays it.
"""

from astroad_nb.widgets.browser import AnomalyBrowser
from astroad_nb.widgets.browser_state import AnomalyBrowserState

__all__ = ["AnomalyBrowser", "AnomalyBrowserState"]
