"""The anomaly browser re-ranks by a person's flags (issue 13 item 2) and opens a scored night
of alerts (issue 12 item 7): rank movement, the ranker's top unseen next, resume from the store
(also after a kernel SIGKILL), and ``from_scores`` reading each shown alert lazily."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from astroad_nb.active.discovery import AADIForest, RelevanceBlending
from astroad_nb.store import LabelStore
from astroad_nb.widgets.browser_state import AnomalyBrowserState

N = 240


def _features(n=N, random_state=0):
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n, 4))
    X[:12] += 4.0  # a planted group the person will call interesting
    return pd.DataFrame(X, index=[f"o{i:03d}" for i in range(n)], columns=list("abcd"))


RANKERS = {"aad": lambda: AADIForest(n_estimators=30, max_samples=128, random_state=0),
           "blend": lambda: RelevanceBlending(kernel_trees=30, random_state=0)}


def _state(kind, store=None, features=None, **kwargs):
    features = _features() if features is None else features
    scores = pd.Series(np.linspace(1.0, 0.0, len(features)), index=features.index)
    return AnomalyBrowserState(scores, features=features, ranker=RANKERS[kind](), store=store,
                               n_top=10, who="ana", **kwargs)


def _answers(state, n):
    """Flag ``n`` times: the planted rows interesting, every third other one skipped."""
    for step in range(n):
        row = int(state.current[1:])
        label = ("interesting" if row < 12 else "skip" if step % 3 == 2 else "not interesting")
        state.flag(label)


@pytest.mark.parametrize("kind", sorted(RANKERS))
def test_flag_reranks_and_next_is_the_rankers_top_unseen(kind):
    state = _state(kind)
    assert state.LABELS[:3] == ("interesting", "not interesting", "skip")
    assert all(marker not in text for text, _ in state.options() for marker in "▲▼=")
    first = state.current
    order = state.ranked().index.tolist()
    state.flag("not interesting")
    ranker = state.ranker
    assert state.last_flagged == first
    assert state.current == state.scores.index[ranker.rank(1)[0]]  # top unseen
    assert first not in state.ranked().index
    assert state.ranked().index.tolist() == list(state.scores.index[ranker.rank(10)])
    moved = state.movement()
    previous = [o for o in order if o != first]
    # previous = rank among the same unseen candidates before the flag
    for object_id, row in moved.iterrows():
        if object_id in previous:
            assert row["previous"] == previous.index(object_id) + 1
    assert (moved["moved"] == moved["previous"] - moved["rank"]).all()
    markers = [text.split()[-1] for text, _ in state.options()]
    assert all(m == "=" or m[0] in "▲▼" for m in markers)
    assert moved["moved"].abs().sum() > 0  # the answer changed the order


def test_flag_vocabulary_maps_to_feedback_values():
    state = _state("blend")
    told = {}
    for label in ("interesting", "not interesting", "skip", "bogus", "known"):
        told[state.current] = label
        state.flag(label)
    rows = {o: state.features.index.get_loc(o) for o in told}
    got = {label: state.ranker.labels_[rows[o]] for o, label in told.items()}
    assert got["interesting"] == 1 and got["not interesting"] == 0
    assert got["bogus"] == 0 and got["known"] == 0 and np.isnan(got["skip"])
    assert state.ranker.seen_[[rows[o] for o in told]].all()
    assert state.labels == {o: label for o, label in told.items()}
    with pytest.raises(ValueError, match="label must be one of"):
        state.flag("cool")


@pytest.mark.parametrize("kind", sorted(RANKERS))
def test_restart_from_the_store_resumes_the_same_ranking(kind, tmp_path):
    path = tmp_path / "labels.sqlite"
    with LabelStore(path, who="ana") as store:
        state = _state(kind, store=store)
        _answers(state, 8)
        before = (state.ranker.scores_.copy(), state.ranked(), state.current,
                  state.movement())
    with LabelStore(path, who="ana") as store:
        again = _state(kind, store=store)
        np.testing.assert_array_equal(again.ranker.scores_, before[0])
        pd.testing.assert_series_equal(again.ranked(), before[1])
        assert again.current == before[2]
        pd.testing.assert_frame_equal(again.movement(), before[3])  # the last step replayed
        assert len(again.ranker.history_) == 8


def test_undo_rebuilds_the_ranking_without_the_undone_flag():
    state = _state("aad")
    _answers(state, 4)
    undone = state.store.to_frame()["item_id"].iloc[-1]
    state.undo()
    assert state.current == undone and undone in state.ranked().index
    fresh = _state("aad", store=LabelStore(":memory:"))
    for item, label in state.store.to_frame()[["item_id", "label"]].itertuples(index=False):
        fresh.select(item)
        fresh.flag(label)
    np.testing.assert_array_equal(fresh.ranker.scores_, state.ranker.scores_)


def test_ranker_lists_stay_within_the_selected_class():
    features = _features()
    top = pd.Series(np.where(np.arange(N) % 2, "periodic", "transient"), index=features.index)
    state = _state("blend", features=features, top_class=top)
    state.select_class("periodic")
    for _ in range(3):
        state.flag("not interesting")
        assert state.class_of(state.current) == "periodic"
        assert set(top[state.ranked().index]) == {"periodic"}


def test_bad_rankers_give_clear_errors():
    features = _features()
    scores = pd.Series(1.0, index=features.index)
    with pytest.raises(ValueError, match="no features were given"):
        AnomalyBrowserState(scores, ranker=AADIForest(n_estimators=5, max_samples=32))
    fitted = AADIForest(n_estimators=5, max_samples=32, random_state=0).fit(features.iloc[:50])
    with pytest.raises(ValueError, match="fitted on 50 rows"):
        AnomalyBrowserState(scores, features=features, ranker=fitted)
    with pytest.raises(ValueError, match="features lack 1"):
        AnomalyBrowserState(scores, features=features.iloc[1:], ranker=AADIForest(n_estimators=5, max_samples=32))


# ---------------------------------------------------------------------------- kernel SIGKILL
SETUP = """
import json
import numpy as np, pandas as pd
from astroad_nb.active.discovery import AADIForest
from astroad_nb.store import LabelStore
from astroad_nb.widgets.browser_state import AnomalyBrowserState

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(200, 3)), index=[f"o{{i}}" for i in range(200)])
store = LabelStore({db!r}, who="ana")
state = AnomalyBrowserState(pd.Series(0.0, index=X.index), features=X, store=store, n_top=8,
                            ranker=AADIForest(n_estimators=20, max_samples=64, random_state=0))
"""
STATE = """
print(json.dumps({"ranked": state.ranked().index.tolist(), "current": state.current,
                  "scores": state.ranker.scores_.tolist(), "pid": __import__("os").getpid()}))
"""


def test_ranking_resumes_after_sigkill_of_the_kernel(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    from tests.test_label_kernel_kill import _run, _start_kernel

    db = str(tmp_path / "labels.sqlite")
    setup = textwrap.dedent(SETUP.format(db=db))
    manager, client = _start_kernel()
    try:
        flags = "\n".join(f"state.flag({label!r})"
                          for label in ("interesting", "not interesting", "skip", "interesting"))
        before = json.loads(_run(client, setup + flags + "\n" + STATE))
        os.kill(manager.provisioner.pid, signal.SIGKILL)  # no close, no flush
        manager.provisioner.process.wait(timeout=30)
        assert manager.provisioner.process.returncode == -signal.SIGKILL
    finally:
        client.stop_channels()
        manager.cleanup_resources()
    assert jupyter_client is not None
    manager, client = _start_kernel()
    try:
        after = json.loads(_run(client, setup + STATE))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert after["pid"] != before["pid"]
    assert (after["ranked"], after["current"]) == (before["ranked"], before["current"])
    assert after["scores"] == before["scores"]  # bit for bit


# ---------------------------------------------------------------------------- a night of alerts
@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """24 simulated alerts with cutouts, written as Avro and scored in-process."""
    from astroad_nb.data.alerts import CutoutSet
    from astroad_nb.data.lightcurves import simulate_lightcurves
    from astroad_nb.models import HierarchicalDetector, IForest
    from astroad_nb.scoring import BROKER_FEATURES, ScoringPipeline, score_alerts
    from astroad_nb.scoring.simulate import simulate_alert_packets, write_avro_alerts

    lcs = simulate_lightcurves(6, random_state=0)
    rng = np.random.default_rng(0)
    cut = CutoutSet(rng.normal(100.0, 5.0, (6, 3, 63, 63)).astype(np.float32))
    detector = HierarchicalDetector(RandomForestClassifier(n_estimators=15, random_state=0),
                                    IForest(n_estimators=15), random_state=0)
    bundle = ScoringPipeline(detector, features=BROKER_FEATURES, min_detections=3,
                             random_state=0).fit(lcs)
    packets = simulate_alert_packets(lcs, n_alerts=24, cutouts=cut, random_state=1)
    root = tmp_path_factory.mktemp("night")
    write_avro_alerts(packets, root / "avro")
    out = root / "scores.parquet"
    scores = score_alerts(root / "avro", bundle, out=out)
    return {"packets": {int(p["candid"]): p for p in packets}, "avro": root / "avro",
            "out": out, "scores": scores, "cut": cut, "root": root}


def test_from_scores_opens_the_ranked_night_with_cutouts_and_lightcurves(night, tmp_path):
    from astroad_nb.scoring.packets import light_curve_rows

    scored = night["scores"].dropna(subset=["anomaly_score"])
    avro = shutil.copytree(night["avro"], tmp_path / "avro")
    last = int(scored["candid"].iloc[-1])  # never shown with top=5: its file may be broken
    (avro / f"alert_{last}.avro").write_bytes(b"Obj\x01 truncated")
    table = night["scores"].copy()
    table["source"] = [str(avro / Path(s).name) for s in table["source"]]  # moved files
    store = LabelStore(tmp_path / "labels.sqlite", who="ana")
    state = AnomalyBrowserState.from_scores(table, alerts=avro, store=store, top=5, n_top=5)
    assert AnomalyBrowserState.from_scores(night["out"]).scores.equals(
        AnomalyBrowserState.from_scores(night["scores"]).scores)  # the Parquet dataset
    assert len(state.scores) == 5
    top5 = scored.sort_values(["anomaly_score", "candid"], ascending=[False, True]).head(5)
    assert list(state.scores.index) == top5["candid"].tolist()
    for candid in state.scores.index:
        packet = night["packets"][candid]
        frame = state.lightcurve(candid)
        rows = light_curve_rows(packet["candidate"], packet["prv_candidates"], rb_min=None)
        assert len(frame) == len(rows)  # prv_candidates + candidate, detections only
        assert frame["time"].max() == pytest.approx(packet["candidate"]["jd"] - 2400000.5)
        triplet = state.triplet(candid)
        assert triplet.shape == (3, 63, 63) and np.isfinite(triplet).all()
    assert state.table.loc[state.current, "objectId"] == night["packets"][state.current][
        "objectId"]
    state.flag("interesting")
    assert store.latest("alerce") == {str(top5["candid"].iloc[0]): "interesting"}


def test_from_scores_reads_a_tarball_and_finds_a_named_error(night, tmp_path):
    from astroad_nb.scoring.packets import light_curve_rows

    tar_path = tmp_path / "night.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for path in sorted(night["avro"].glob("*.avro")):
            tar.add(path, arcname=path.name)
    table = night["scores"].drop(columns="source")
    state = AnomalyBrowserState.from_scores(table, alerts=tar_path, top=3)
    candid = state.scores.index[2]
    packet = night["packets"][candid]
    rows = light_curve_rows(packet["candidate"], packet["prv_candidates"], rb_min=None)
    frame = state.lightcurve(candid)  # read from the tar stream, no source hint
    assert sorted(frame["mag"]) == pytest.approx(sorted(r[2] for r in rows))
    with pytest.raises(KeyError, match="in none of the 1 alert file"):
        state.lightcurves.get(123)
    with pytest.raises(ValueError, match="lacks column"):
        AnomalyBrowserState.from_scores(table.drop(columns="anomaly_score"))


def test_panel_from_scores_shows_the_triplet_and_reranks(night):
    from astroad_nb.widgets import AnomalyBrowser

    scored = night["scores"].dropna(subset=["anomaly_score"]).set_index("candid")
    features = scored[["magpsf", "n_det", "anomaly_score"]].astype(float)
    panel = AnomalyBrowser.from_scores(night["scores"], alerts=night["avro"], top=12,
                                       features=features, n_top=12,
                                       ranker=RelevanceBlending(kernel_trees=20, random_state=0))
    assert [b.description for b in panel.flag_buttons][:3] == ["interesting", "not interesting",
                                                              "skip"]
    assert all(image.value[:8] == b"\x89PNG\r\n\x1a\n" for image in panel.cutouts)
    assert len(panel.figure.data[0].x) + len(panel.figure.data[1].x) > 0
    first = panel.state.current
    next(b for b in panel.flag_buttons if b.description == "interesting").click()
    assert panel.state.current != first and panel.ranked_list.value == panel.state.current
    assert any(m in text for text, _ in panel.ranked_list.options for m in "▲▼=")
    assert "Re-ranked" in panel.message.value
