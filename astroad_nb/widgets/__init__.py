"""Jupyter panels (ipywidgets + plotly). The only place in the package that imports ipywidgets.

Each panel keeps its state and rules in a plain class (no widgets, tested without a browser)
and only displays it.
"""

from astroad_nb.widgets.browser import AnomalyBrowser
from astroad_nb.widgets.browser_state import AnomalyBrowserState
from astroad_nb.widgets.labeling import LabelingPanel
from astroad_nb.widgets.labeling_state import LabelingSession

__all__ = ["AnomalyBrowser", "AnomalyBrowserState", "LabelingPanel", "LabelingSession"]
from astroad_nb.widgets.stream_state import StreamExplorerState  # noqa: E402
from astroad_nb.widgets.streams import StreamExplorer  # noqa: E402

__all__ += ["StreamExplorer", "StreamExplorerState"]
