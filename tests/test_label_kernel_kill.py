"""No label is lost when the kernel dies: label n items in a real Jupyter kernel, SIGKILL it,
start a new kernel, reopen the store and the panel, and find exactly n labels and the panel at
item n + 1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import textwrap

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

N_LABELED = 3
SETUP = """
import json
import numpy as np
from astroad_nb.data.alerts import CutoutSet
from astroad_nb.store import LabelStore
from astroad_nb.widgets import LabelingPanel

rng = np.random.default_rng(0)
cutouts = CutoutSet(rng.normal(100, 5, (8, 3, 63, 63)).astype("float32"),
                    ids=[f"alert-{{i}}" for i in range(8)])
store = LabelStore({db!r}, who="ana")
panel = LabelingPanel(cutouts, np.linspace(0.4, 0.6, 8), store=store, round=1)
"""
STATE = """
print(json.dumps({"position": panel.session.position, "current": panel.session.current,
                  "answers": panel.answers(), "progress": panel.progress.value,
                  "pid": __import__("os").getpid()}))
"""


def _run(client, code) -> str:
    """Execute ``code`` in the kernel; return its stdout, fail with its traceback on error."""
    out, errors = [], []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=120, output_hook=hook)
    assert reply["content"]["status"] == "ok", "\n".join(errors)
    return "".join(out)


def _start_kernel():
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, "ASTROAD_FAST": "1"})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    return manager, client


def test_labels_survive_sigkill_of_the_kernel(tmp_path):
    db = str(tmp_path / "labels.sqlite")
    setup = textwrap.dedent(SETUP.format(db=db))

    manager, client = _start_kernel()
    try:
        clicks = "\n".join(f"panel.buttons[{name!r}].click()"
                           for name in ("real", "bogus", "real")[:N_LABELED])
        before = json.loads(_run(client, setup + clicks + "\n" + STATE))
        assert before["position"] == N_LABELED + 1
        os.kill(manager.provisioner.pid, signal.SIGKILL)  # no close, no atexit, no flush
        manager.provisioner.process.wait(timeout=30)
        assert manager.provisioner.process.returncode == -signal.SIGKILL
    finally:
        client.stop_channels()
        manager.cleanup_resources()

    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT item_id, label, round, active FROM labels ORDER BY id").fetchall()
    assert rows == [("alert-0", "real", 1, 1), ("alert-1", "bogus", 1, 1), ("alert-2", "real", 1, 1)]

    manager, client = _start_kernel()
    try:
        after = json.loads(_run(client, setup + STATE))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert after["pid"] != before["pid"]
    assert after["answers"] == {"alert-0": 1, "alert-1": 0, "alert-2": 1}
    assert (after["position"], after["current"], after["progress"]) == (
        N_LABELED + 1, f"alert-{N_LABELED}", N_LABELED)
