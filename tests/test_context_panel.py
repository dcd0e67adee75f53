"""ContextTimeline through its public widget API: plotly's click message path, buttons, the
key widget's comm message path, the threshold slider, the detail view (log-mel PNG, frame
errors, WAV bytes) and flags in the LabelStore. No browser here:
``tests/browser/test_context_timeline_lab.py`` proves the panel in JupyterLab.
"""

from __future__ import annotations

import io
import sqlite3

import numpy as np
import pytest
from PIL import Image
from test_context_state import MeanSquare, _clip, _table

from astroad_nb.store import LabelStore
from astroad_nb.widgets.context_state import ContextTimelineState
from astroad_nb.widgets.context_timeline import (
    SHORTCUTS,
    ContextTimeline,
    logmel_png,
    timeline_figure,
)


def _panel(tmp_path=None, **kwargs):
    clips = {f"f{i}": _clip(i) for i in range(8)}  # f8, f9: no samples
    store = LabelStore(":memory:" if tmp_path is None else tmp_path / "labels.sqlite",
                       who="tester")
    return ContextTimeline(_table(), sounds=clips, model=MeanSquare(), store=store,
                           contexts=["fan_00", "pump_02"], threshold=0.5, **kwargs)


def _click(figure, trace_index, point_index):
    """Deliver a click on a point the way plotly.js does: a comm update of the figure's
    points-callback attribute."""
    trace = figure.data[trace_index]
    event = {"event_type": "plotly_click",
             "points": {"trace_indexes": [trace_index], "point_indexes": [point_index],
                        "xs": [float(trace.x[point_index])],
                        "ys": [float(trace.y[point_index])]},
             "device_state": None, "selector": None}
    figure.comm.handle_msg({"content": {"data": {"method": "update", "state": {
        "_js2py_pointsCallback": event}, "buffer_paths": []}}, "buffers": []})


def _key(widget, key):
    """Deliver a key press the way the browser does: a custom comm message to the widget."""
    widget.comm.handle_msg({"content": {"data": {"method": "custom",
                                                 "content": {"event": "key", "key": key}}},
                            "buffers": []})


def test_figure_colours_by_window_context_and_marks_truth():
    state = ContextTimelineState(_table(), contexts=["fan_00", "pump_02"], threshold=0.5)
    fig = timeline_figure(state)
    names = [t.name for t in fig.data]
    assert names == ["fan_00", "pump_02", "flagged", "true context", "file context",
                     "window vote", "vote confidence"]
    fan, pump = fig.data[0], fig.data[1]
    assert list(fan.x) == [0, 1, 2, 3, 4, 5] and list(pump.customdata) == [6, 7, 8, 9]
    assert fan.marker.color != pump.marker.color
    assert list(fan.marker.symbol).count("diamond") == 1 and pump.marker.symbol[2] == "diamond"
    assert fig.layout.shapes[0].y0 == 0.5 and fig.layout.yaxis2.ticktext == ("fan_00",
                                                                            "pump_02")
    no_truth = ContextTimelineState(_table().drop(columns="true_context"))
    assert "true context" not in [t.name for t in timeline_figure(no_truth).data]


def test_click_opens_a_file_with_logmel_errors_and_audio():
    panel = _panel()
    _click(panel.figure, 1, 1)  # pump_02 trace, its second point: stream position 7
    assert panel.state.current == "f7"
    assert "f7" in panel.info.value and panel.figure.layout.shapes[1].x0 == 7
    png = Image.open(io.BytesIO(panel.logmel.value))
    assert png.size == (1 + len(_clip(7)) // 512, 64)
    assert panel.audio.value[:4] == b"RIFF" and panel.audio.layout.display is None
    errors = panel.error_figure.data[0]
    assert len(errors.y) == len(errors.x) == png.size[0] - 4
    assert "pump_02" in panel.error_figure.layout.title.text  # scored with the window's vote
    _click(panel.figure, 4, 9)  # the context row works too: f9 has no samples
    assert panel.state.current == "f9"
    assert panel.audio.layout.display == "none" and "no samples" in panel.audio_note.value
    assert panel.logmel.layout.display == "none" and len(panel.error_figure.data[0].y) == 0


def test_buttons_keys_and_flags(tmp_path):
    panel = _panel(tmp_path)
    assert panel.buttons["previous"].disabled
    panel.buttons["next_above"].click()
    assert panel.state.current == "f3"
    _key(panel.keys, "a")
    assert panel.state.current == "f4"  # advanced
    assert panel.state.labels == {"f3": "anomalous"}
    assert list(panel.flag_trace.x) == [3] and "f3: anomalous" in panel.flag_trace.text[0]
    panel.keys.press("]")
    assert panel.state.current == "f8"
    panel.buttons["skip"].click()
    panel.press("u")
    assert panel.state.current == "f8" and "undid skip" in panel.message.value
    panel.press("Home")
    assert panel.state.current == "f0"
    panel.press("j")
    panel.press("N")  # letters are matched in lower case
    with sqlite3.connect(tmp_path / "labels.sqlite") as con:
        rows = con.execute("SELECT item_id, label, active FROM labels ORDER BY id").fetchall()
    assert rows == [("f3", "anomalous", 1), ("f8", "skip", 0), ("f1", "normal", 1)]
    assert set(SHORTCUTS.values()) >= {"next", "previous", "anomalous", "normal", "skip", "undo"}
    restarted = _panel(tmp_path)  # a restarted kernel shows the flags again
    assert list(restarted.flag_trace.x) == [1, 3] and restarted.state.label_of("f1") == "normal"


def test_threshold_slider_moves_line_counts_and_walk():
    panel = _panel()
    assert "<b>2</b> of 10 files" in panel.status.value
    panel.threshold_slider.value = 0.35
    assert panel.state.threshold == pytest.approx(0.35)
    assert panel.figure.layout.shapes[0].y0 == pytest.approx(0.35)
    assert "<b>3</b> of 10 files" in panel.status.value
    panel.next_above()
    assert panel.state.current == "f3"
    panel.set_threshold(0.85)
    assert panel.threshold_slider.value == pytest.approx(0.85, abs=panel.threshold_slider.step)
    panel.next_above()
    assert panel.state.current == "f3" and "no later file" in panel.message.value


def test_constructor_forms_and_logmel_png():
    state = ContextTimelineState(_table())
    panel = ContextTimeline(state)
    assert panel.state is state and panel.audio.layout.display == "none"
    with pytest.raises(TypeError, match="only apply when a table"):
        ContextTimeline(state, threshold=0.3)
    png = Image.open(io.BytesIO(logmel_png(np.arange(64 * 5, dtype=float).reshape(64, 5))))
    assert png.size == (5, 64) and png.mode == "P"
    rgb = np.asarray(png.convert("RGB"))
    assert not np.array_equal(rgb[0, 0], rgb[-1, 0])  # high mels (top) differ from low
    with pytest.raises(ValueError, match="n_mels, n_times"):
        logmel_png(np.zeros(3))
