"""LabelStore: every label committed at once, reopened and resumed, never lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from astroad_nb.store import LabelStore


def test_add_commits_and_latest(tmp_path):
    path = tmp_path / "labels.sqlite"
    store = LabelStore(path, who="ana")
    assert store.add("ZTF1", "interesting", context="alerce") == 1
    store.add("ZTF2", "bogus", context="alerce", round=2)
    store.add("ZTF1", "known", context="alerce")  # a later label of the same item wins
    # Read with a second, independent connection: the rows are already on disk.
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT item_id, label, who, round FROM labels ORDER BY id").fetchall()
    assert rows == [("ZTF1", "interesting", "ana", None), ("ZTF2", "bogus", "ana", 2),
                    ("ZTF1", "known", "ana", None)]
    assert store.latest("alerce") == {"ZTF1": "known", "ZTF2": "bogus"}
    assert len(store) == 3


def test_wal_mode(tmp_path):
    store = LabelStore(tmp_path / "l.sqlite")
    mode = store._con.execute("PRAGMA journal_mode").fetchone()[0]  # noqa: SLF001 - schema check
    assert mode == "wal"


def test_undo_keeps_history(tmp_path):
    store = LabelStore(tmp_path / "l.sqlite", who="bo")
    store.add("a", "real", context="rb")
    store.add("b", "bogus", context="rb")
    store.add("c", "member", context="streams")
    undone = store.undo(context="rb")
    assert undone["item_id"] == "b" and undone["active"] == 0
    assert store.latest("rb") == {"a": "real"}
    full = store.to_frame(include_undone=True)
    assert list(full["item_id"]) == ["a", "b", "c"]
    assert list(full["active"]) == [1, 0, 1]
    assert list(store.to_frame()["item_id"]) == ["a", "c"]
    assert store.undo(context="nothing-here") is None


def test_reopen_resumes(tmp_path):
    path = tmp_path / "sub" / "labels.sqlite"  # folder is created
    with LabelStore(path) as store:
        store.add_many(["x", "y", "z"], ["real", "bogus", "real"], who="oracle", round=1)
    store = LabelStore(path)
    assert store.latest() == {"x": "real", "y": "bogus", "z": "real"}
    frame = store.to_frame()
    assert set(frame["who"]) == {"oracle"} and list(frame["round"]) == [1, 1, 1]
    assert str(frame["created"].dt.tz) == "UTC"


@pytest.mark.parametrize("item_id, label", [("", "real"), (None, "real"), ("a", ""), ("a", 3)])
def test_bad_labels_rejected(tmp_path, item_id, label):
    store = LabelStore(tmp_path / "l.sqlite")
    with pytest.raises(ValueError, match="item_id|label"):
        store.add(item_id, label)
    assert len(store) == 0


def test_not_a_database_named(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="notes.sqlite"):
        LabelStore(bad)
    assert bad.read_bytes().startswith(b"this is not sqlite")  # never overwritten


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_no_label_lost_on_sigkill(tmp_path):
    """A process that labels n items and is killed with SIGKILL loses none of them."""
    path = tmp_path / "labels.sqlite"
    script = textwrap.dedent(f"""
        import sys, time
        from astroad_nb.store import LabelStore
        store = LabelStore({str(path)!r}, who="ana")
        for i in range(7):
            store.add(f"obj{{i}}", "interesting", context="alerce")
        print("labelled", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "labelled"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = LabelStore(path)
    assert store.latest("alerce") == {f"obj{i}": "interesting" for i in range(7)}


def test_undo_exact_row(tmp_path):
    store = LabelStore(tmp_path / "l.sqlite")
    first = store.add("a", "real", context="rb")
    store.add("b", "bogus", context="rb")
    assert store.undo(row_id=first)["item_id"] == "a"
    assert store.undo(row_id=first) is None  # already undone
    assert store.latest("rb") == {"b": "bogus"}
