"""LabelingSession / GridPage: the labelling panel's rules, with exact assertions, no widgets."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from astroad_nb.store import LabelStore
from astroad_nb.widgets.labeling_state import GridPage, LabelingSession

IDS = ["a", "b", "c", "d"]
P_REAL = [0.48, 0.51, 0.55, 0.40]


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite", who="ana") as store:
        yield store


def _rows(store, **kw):
    frame = store.to_frame(include_undone=True, **kw)
    return list(zip(frame["item_id"], frame["label"], frame["who"], frame["round"],
                    frame["context"], frame["note"], frame["active"], strict=True))


def test_starts_at_first_item(store):
    session = LabelingSession(IDS, P_REAL, store=store, round=2)
    assert (session.current, session.index, session.position, len(session)) == ("a", 0, 1, 4)
    assert session.current_p_real == 0.48
    assert not session.done and not session.can_undo
    assert session.answers() == {}


def test_label_commits_row_with_who_round_context_and_note(store):
    session = LabelingSession(IDS, P_REAL, store=store, round=2, context="rb")
    assert session.label("real") == 1
    assert session.label(0) == 2  # 1 / 0 work like "real" / "bogus"
    assert _rows(store) == [("a", "real", "ana", 2, "rb", "p_real=0.4800", 1),
                            ("b", "bogus", "ana", 2, "rb", "p_real=0.5100", 1)]
    assert (session.current, session.position, session.n_labelled) == ("c", 3, 2)


def test_skip_writes_nothing_and_is_excluded_from_answers(store):
    session = LabelingSession(IDS, P_REAL, store=store)
    session.label("bogus")
    session.skip()
    session.label("real")
    session.label("real")
    assert session.done and session.current is None and session.position == 5
    assert session.answers() == {"a": 0, "c": 1, "d": 1}
    assert session.labels == {"a": "bogus", "c": "real", "d": "real"}
    assert [session.status(i) for i in IDS] == ["bogus", "skipped", "real", "real"]
    assert (session.n_labelled, session.n_skipped, session.n_decided) == (3, 1, 4)
    assert len(store) == 3


def test_undo_label_marks_row_undone_and_goes_back(store):
    session = LabelingSession(IDS, P_REAL, store=store, round=0)
    session.label("real")
    session.label("bogus")
    undone = session.undo()
    assert undone == {"action": "label", "item_id": "b", "label": "bogus", "row_id": 2,
                      "who": "ana"}
    assert session.current == "b" and session.answers() == {"a": 1}
    assert _rows(store) == [("a", "real", "ana", 0, "realbogus", "p_real=0.4800", 1),
                            ("b", "bogus", "ana", 0, "realbogus", "p_real=0.5100", 0)]


def test_undo_skip_then_label_then_nothing(store):
    session = LabelingSession(IDS, P_REAL, store=store)
    session.label("real")
    session.skip()
    assert session.undo() == {"action": "skip", "item_id": "b"}
    assert session.current == "b" and session.n_skipped == 0
    assert session.undo()["item_id"] == "a"
    assert session.current == "a"
    assert session.undo() is None
    assert _rows(store)[0][-1] == 0  # undone, kept


def test_label_when_done_or_bad_choice_raises(store):
    session = LabelingSession(["a"], store=store)
    with pytest.raises(ValueError, match="must be 1/'real' or 0/'bogus', got 'maybe'"):
        session.label("maybe")
    session.label("real")
    with pytest.raises(RuntimeError, match="all 1 items are decided"):
        session.label("real")
    with pytest.raises(RuntimeError, match="all 1 items are decided"):
        session.skip()


def test_missing_p_real_is_nan_in_note(store):
    session = LabelingSession(["a"], store=store)
    assert math.isnan(session.current_p_real)
    session.label("real")
    assert store.to_frame()["note"].tolist() == ["p_real=nan"]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"ids": ["a", "a"]}, ValueError, "unique; duplicated: \\['a'\\]"),
    ({"p_real": [0.5]}, ValueError, "4 ids but 1 p_real"),
    ({"metadata": pd.DataFrame({"x": [1]})}, ValueError, "4 ids but 1 metadata"),
    ({"store": "labels.sqlite"}, TypeError, "LabelStore"),
])
def test_bad_arguments_name_the_problem(store, kwargs, error, match):
    args = {"ids": IDS, "store": store, **kwargs}
    with pytest.raises(error, match=match):
        LabelingSession(args.pop("ids"), **args)


def test_resume_continues_at_first_unlabelled_item(tmp_path):
    path = tmp_path / "labels.sqlite"
    with LabelStore(path, who="ana") as store:
        session = LabelingSession(IDS, P_REAL, store=store, round=1)
        session.label("real")
        session.label("bogus")
    with LabelStore(path, who="ana") as store:  # as after a kernel restart
        session = LabelingSession(IDS, P_REAL, store=store, round=1)
        assert (session.current, session.position) == ("c", 3)
        assert session.answers() == {"a": 1, "b": 0}
        assert session.undo()["item_id"] == "b"  # labels before the restart can be undone
        assert session.current == "b" and store.latest() == {"a": "real"}


def test_resume_ignores_other_rounds_contexts_items_and_undone_rows(store):
    store.add("a", "real", round=0, context="realbogus")   # another round
    store.add("a", "real", round=1, context="alerce")     # another context
    store.add("z", "real", round=1, context="realbogus")  # not an item here
    store.add("a", "real", round=1, context="realbogus")
    store.undo(context="realbogus")                       # undone
    store.add("b", "bogus", round=1, context="realbogus", who="bo")  # another labeller counts
    session = LabelingSession(IDS, store=store, round=1)
    assert session.answers() == {"b": 0}
    assert session.current == "a"
    session.label("real")
    assert session.current == "c"  # b was labelled before: passed over


def test_resume_latest_relabel_wins(store):
    store.add("a", "real", round=0, context="realbogus")
    store.add("a", "bogus", round=0, context="realbogus")
    session = LabelingSession(IDS, store=store)
    assert session.answers() == {"a": 0} and session.current == "b"
    assert session.undo()["row_id"] == 2


def test_undo_refuses_when_another_panel_labelled_since(store):
    session = LabelingSession(IDS, store=store)
    session.label("real")
    store.add("x", "bogus", context="realbogus")  # another panel, same person and context
    with pytest.raises(RuntimeError, match="another panel labelled since"):
        session.undo()
    assert session.answers() == {"a": 1}
    assert store.latest() == {"a": "real", "x": "bogus"}  # nothing was undone


def test_metadata_and_p_real_by_id(store):
    meta = pd.DataFrame({"snr": [5.0, 6.0, 7.0, 8.0]}, index=[10, 11, 12, 13])
    session = LabelingSession(IDS, P_REAL, store=store, metadata=meta)
    assert session.metadata_of("c") == {"snr": 7.0}
    assert session.p_real_of("d") == 0.40 and session.index_of("d") == 3
    with pytest.raises(KeyError, match="'q' is not an item"):
        session.status("q")


def test_page_lists_next_undecided(store):
    session = LabelingSession(list("abcdef"), store=store)
    session.label("real")
    assert session.page(3) == ["b", "c", "d"]
    assert session.label_page({"b": "bogus", "c": None, "d": "real"}) == 2
    assert session.current == "e" and session.answers() == {"a": 1, "b": 0, "d": 1}
    assert session.status("c") == "skipped"
    with pytest.raises(ValueError, match="not consecutive"):
        session.label_page({"f": "real"})
    with pytest.raises(ValueError, match="not waiting for a label"):
        session.label_page({"a": "real"})


def test_grid_page_toggle_fill_submit(store):
    session = LabelingSession(list("abcde"), store=store, round=3)
    grid = GridPage(session, size=3)
    assert grid.ids == ["a", "b", "c"] and grid.choices == {"a": None, "b": None, "c": None}
    assert [grid.toggle("b") for _ in range(4)] == ["real", "bogus", None, "real"]
    grid.set("c", 0)
    assert grid.fill("real") == 1
    assert grid.choices == {"a": "real", "b": "real", "c": "bogus"}
    assert grid.submit() == 3
    assert grid.ids == ["d", "e"]
    assert _rows(store) == [("a", "real", "ana", 3, "realbogus", "p_real=nan", 1),
                            ("b", "real", "ana", 3, "realbogus", "p_real=nan", 1),
                            ("c", "bogus", "ana", 3, "realbogus", "p_real=nan", 1)]
    assert session.undo()["item_id"] == "c"  # a page is undone one item at a time


def test_grid_page_undecided_items_are_skipped(store):
    session = LabelingSession(list("abc"), store=store)
    grid = GridPage(session, size=16)
    grid.set("b", "bogus")
    assert grid.submit() == 1
    assert session.done and session.answers() == {"b": 0}
    assert grid.ids == []
    with pytest.raises(KeyError, match="not on this page"):
        grid.toggle("a")
