"""Active anomaly discovery (issue 13): AAD leaf-weight updates, relevance blending, seeds,
save/load, bad input, the ``discovery`` protocol (tiny run, committed FAST run, real data) and
its curve plot.

Sizes are small on purpose (the whole file runs in well under a minute on one thread).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from protocol_runs import assert_same_table, committed_run
from sklearn.exceptions import NotFittedError

from astroad_nb.active import AADIForest, RelevanceBlending, StaticRanker, oracle_session
from astroad_nb.protocols import REGISTRY, get
from astroad_nb.protocols import discovery as protocol

pytest.importorskip("coniferest")  # the protocol's peer (a dev dependency)


# ------------------------------------------------------------------ hand-made data
def _two_groups(random_state=0):
    """200 Gaussian points and two planted groups of 6 far from them: A at (5, 5), B at (-5, -5)."""
    rng = np.random.default_rng(random_state)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal([5, 5], 0.3, size=(6, 2)),
                   rng.normal([-5, -5], 0.3, size=(6, 2))])
    return X, np.arange(200, 206), np.arange(206, 212)


def _positions(ranker, rows):
    """0-based position of each row in the full ranking (seen rows included)."""
    order = ranker.rank(include_seen=True)
    where = np.empty(order.size, dtype=int)
    where[order] = np.arange(order.size)
    return where[rows]


def _tiny_aad(**kw):
    return AADIForest(n_estimators=30, max_samples=64, random_state=0, **kw)


# ------------------------------------------------------------------ AAD on a tiny forest
def test_aad_uniform_weights_give_the_isolation_forest_ranking():
    X, _, _ = _two_groups()
    aad = _tiny_aad().fit(X)
    np.testing.assert_allclose(aad.weights_, 1 / np.sqrt(aad.weights_.size))
    iforest = -aad.forest_.score_samples(X)
    assert aad.rank().tolist() == np.lexsort((np.arange(len(X)), -iforest)).tolist()
    assert np.isnan(aad.threshold_)


def _groups_by_rank(aad, group_a, group_b):
    """(the group holding the top row, the other group)."""
    top = int(aad.rank(1)[0])
    assert top in group_a or top in group_b  # the planted groups are the most isolated
    return (group_a, group_b) if top in group_a else (group_b, group_a)


def test_aad_not_interesting_pushes_its_leaves_and_its_group_down():
    X, group_a, group_b = _two_groups()
    aad = _tiny_aad().fit(X)
    dull, _ = _groups_by_rank(aad, group_a, group_b)
    shown = int(aad.rank(1)[0])
    before = aad.leaf_contributions(shown)
    others = np.setdiff1d(dull, [shown])
    pos_before, score_before = _positions(aad, others), aad.scores_[shown]
    aad.tell(shown, "not interesting")
    after = aad.leaf_contributions(shown)
    # leaf values are minus path lengths (< 0): a leaf pulls a row up by its contribution w*v,
    # so "its leaves move down" means their contributions fall (their weights grow)
    assert (after["leaf"] == before["leaf"]).all() and (before["value"] < 0).all()
    assert (after["contribution"] <= before["contribution"] + 1e-12).mean() >= 0.9
    assert after["contribution"].sum() < before["contribution"].sum()
    assert aad.scores_[shown] < score_before and np.isfinite(aad.threshold_)
    assert aad.scores_[shown] == pytest.approx(after["contribution"].sum())
    pos_after = _positions(aad, others)
    assert pos_after.sum() > pos_before.sum()  # the rest of its group sinks
    assert _positions(aad, [shown])[0] > 0  # no longer the top row


def test_aad_interesting_lifts_its_leaves_and_the_row_itself():
    X, group_a, group_b = _two_groups()
    aad = _tiny_aad().fit(X)
    dull, wanted = _groups_by_rank(aad, group_a, group_b)
    aad.tell(int(aad.rank(1)[0]), "not interesting")  # the top row, as above
    low = int(wanted[np.argmax(_positions(aad, wanted))])  # lowest of the other group
    assert _positions(aad, [low])[0] >= max(1, round(aad.tau * len(X)))  # below the tau row
    pos_before = _positions(aad, wanted)
    before, score_before = aad.leaf_contributions(low), aad.scores_[low]
    aad.tell(low, "interesting")
    after = aad.leaf_contributions(low)
    assert (after["contribution"] >= before["contribution"] - 1e-12).mean() >= 0.9
    assert after["contribution"].sum() > before["contribution"].sum()
    assert aad.scores_[low] > score_before
    pos_after = _positions(aad, wanted)
    assert pos_after.sum() < pos_before.sum()  # the group rises
    assert _positions(aad, [low])[0] < pos_before[list(wanted).index(low)]
    assert aad.n_labels_ == 2 and aad.labels_[low] == 1


def test_aad_same_answer_twice_and_skip_change_nothing():
    X, _, _ = _two_groups()
    aad = _tiny_aad().fit(X)
    first = int(aad.rank(1)[0])
    aad.tell(first, 0)
    scores = aad.scores_.copy()
    aad.tell(first, "not interesting")       # same answer again
    aad.tell(int(aad.rank(1)[0]), "skip")    # seen, no feedback
    np.testing.assert_array_equal(aad.scores_, scores)
    assert aad.n_labels_ == 1 and aad.seen_.sum() == 2
    assert [v for _, v in aad.history_] == [0, 0, None]
    aad.reset()
    assert aad.n_labels_ == 0 and not aad.seen_.any()


# ------------------------------------------------------------------ relevance blending
def _cluster_and_ring(random_state=1):
    """300 Gaussian points, 8 in a tight cluster at (3.5, 0) (the interesting ones) and 12 on
    a ring of radius 7 (more unusual to a detector, and dull)."""
    rng = np.random.default_rng(random_state)
    angle = rng.uniform(0, 2 * np.pi, 12)
    X = np.vstack([rng.normal(size=(300, 2)), rng.normal([3.5, 0.0], 0.25, size=(8, 2)),
                   np.c_[7 * np.cos(angle), 7 * np.sin(angle)]])
    truth = np.zeros(len(X), dtype=bool)
    truth[300:308] = True
    return X, truth


def test_relevance_blending_shows_a_labelled_interesting_cluster_next():
    X, truth = _cluster_and_ring()
    session = oracle_session(RelevanceBlending(kernel_trees=50, random_state=0).fit(X),
                             truth, 20)
    hits = session["interesting"].to_numpy()
    first = int(np.argmax(hits))
    assert hits.sum() == 8  # the whole cluster within 20 labels
    assert hits[first:first + 8].all()  # and, once one is found, the other 7 come next
    static = oracle_session(StaticRanker(random_state=0).fit(X), truth, 20)
    assert static["found"].iloc[-1] <= 2  # the detector alone shows the ring first


def test_relevance_blending_one_label_lifts_its_region():
    X, truth = _cluster_and_ring()
    ranker = RelevanceBlending(kernel_trees=50, random_state=0).fit(X)
    cluster = np.flatnonzero(truth)
    before = _positions(ranker, cluster[1:])
    ranker.tell(int(cluster[0]), "interesting")
    after = _positions(ranker, cluster[1:])
    assert np.median(after) < np.median(before) and after.sum() < before.sum()
    assert (ranker.relevance_[cluster[1:]] == 1.0).all()
    assert (ranker.uncertainty_[cluster[1:]] < 1.0).all()
    assert np.isnan(ranker.relevance_[ranker.evidence_ == 0]).all()


# ------------------------------------------------------------------ determinism
RANKERS = {
    "static": lambda seed: StaticRanker(random_state=seed),
    "aad": lambda seed: AADIForest(n_estimators=30, max_samples=64, random_state=seed),
    "relevance": lambda seed: RelevanceBlending(kernel_trees=30, random_state=seed),
}
ANSWERS = ("not interesting", "interesting", "skip", "not interesting", "interesting")


def _told(ranker, X):
    ranker.fit(X)
    for label in ANSWERS:
        ranker.tell(int(ranker.rank(1)[0]), label)
    return ranker


@pytest.mark.parametrize("kind", sorted(RANKERS))
def test_rerank_is_determined_by_the_seed(kind):
    X, _, _ = _two_groups()
    a, b = _told(RANKERS[kind](3), X), _told(RANKERS[kind](3), X)
    assert a.rank().tolist() == b.rank().tolist()
    np.testing.assert_array_equal(a.scores_, b.scores_)
    other = _told(RANKERS[kind](4), X)  # another forest: other scores (the order may differ)
    assert not np.array_equal(other.scores_, a.scores_)


# ------------------------------------------------------------------ save / load
@pytest.mark.parametrize("kind", sorted(RANKERS))
def test_save_load_resumes_the_identical_ranking_and_keeps_telling(kind, tmp_path):
    X, _, _ = _two_groups()
    ranker = _told(RANKERS[kind](0), X)
    ranker.save(tmp_path / "ranker")
    back = type(ranker).load(tmp_path / "ranker")
    assert type(back) is type(ranker)
    assert back.rank().tolist() == ranker.rank().tolist()
    np.testing.assert_array_equal(back.scores_, ranker.scores_)
    np.testing.assert_array_equal(back.labels_, ranker.labels_)
    assert back.history_ == ranker.history_
    for label in ("interesting", "not interesting"):
        row = int(ranker.rank(1)[0])
        assert int(back.rank(1)[0]) == row
        ranker.tell(row, label)
        back.tell(row, label)
    np.testing.assert_array_equal(back.scores_, ranker.scores_)
    assert back.rank().tolist() == ranker.rank().tolist()


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", sorted(RANKERS))
def test_bad_input_errors_name_what_was_wrong(kind):
    X, _, _ = _two_groups()
    with pytest.raises(NotFittedError, match="not fitted"):
        RANKERS[kind](0).tell(0, "interesting")
    ranker = RANKERS[kind](0).fit(X)
    with pytest.raises(ValueError, match=r"label must be .*got 'maybe'"):
        ranker.tell(0, "maybe")
    with pytest.raises(ValueError, match="got 2"):
        ranker.tell(0, 2)
    with pytest.raises(IndexError, match=r"index 212 is not a row of the 212 rows"):
        ranker.tell(len(X), "interesting")
    with pytest.raises(IndexError, match="index -1"):
        ranker.tell(-1, 0)
    with pytest.raises(TypeError, match="index must be an integer row"):
        ranker.tell(1.0, 0)
    assert ranker.n_labels_ == 0 and not ranker.seen_.any()  # nothing was recorded
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"row 5, column 1"):
        RANKERS[kind](0).fit(bad)


def test_bad_hyper_parameters_are_named():
    X, _, _ = _two_groups()
    with pytest.raises(ValueError, match="tau must be in"):
        AADIForest(tau=1.5).fit(X)
    with pytest.raises(ValueError, match="kernel must be"):
        RelevanceBlending(kernel="cosine").fit(X)
    with pytest.raises(ValueError, match="budget must be >= 0"):
        oracle_session(_tiny_aad().fit(X), np.zeros(len(X), bool), -1)


# ------------------------------------------------------------------ the protocol
def test_registered_with_three_presets():
    assert REGISTRY["discovery"] == "astroad_nb.protocols.discovery"
    assert get("discovery") is protocol
    assert {"fast", "full", "seed"} <= set(protocol.PRESETS)
    full = protocol.PRESETS["full"]
    assert (full.budget, full.n_seeds, full.datasets) == (50, 10, protocol.DATASETS)
    assert protocol.PRESETS["seed"].relevance_regressor == "random_forest"
    assert set(protocol.SIZE_FIELDS) <= set(full.to_dict())
    with pytest.raises(TypeError, match="no field"):
        protocol.preset("fast", budgett=3)
    with pytest.raises(ValueError, match="unknown data set"):
        protocol.load_datasets(protocol.preset("fast", datasets=("mars",)))
    with pytest.raises(ValueError, match="unknown method"):
        protocol.rankers(protocol.preset("fast", methods=("oracle",)), 0)


def test_ratio_table_on_a_hand_made_table():
    index = pd.MultiIndex.from_product([["a", "b"], protocol.METHOD_ORDER],
                                       names=["dataset", "method"])
    found = pd.DataFrame({"found@5_mean": [1, 2, 3, 4, 1, 0, 1, 1, 2, 0]}, index=index)
    ratio = protocol.ratio_table(found, 5)
    assert ratio.loc["a"].to_dict() == {
        "ours_best": 3.0, "ours_method": "relevance", "peer_best": 4.0,
        "peer_method": "coniferest AADForest", "ratio": 0.75, "target_met": False}
    assert ratio.loc["b", "ours_best"] == 1.0 and ratio.loc["b", "peer_best"] == 2.0
    assert ratio.loc["b", "ours_method"] == "AAD" and ratio.loc["b", "ratio"] == 0.5


TINY = dict(sim_n_per_class=20, n_seeds=2, budget=12, n_estimators=30, max_samples=64)


@pytest.fixture(scope="module")
def tiny_run():
    return protocol.run("fast", **TINY)


def test_tiny_run_has_the_curve_tables(tiny_run):
    run = tiny_run
    assert run.system == "discovery" and run.headline == "found"
    assert run.preset["name"] == "fast*" and run.preset["budget"] == 12
    found = run.table("found")
    assert list(found.index) == [("simulated", m) for m in protocol.METHOD_ORDER]
    assert list(found.columns) == [f"found@{k}_{s}" for k in (10, 12)
                                   for s in ("mean", "std", "min", "max")] + ["n_seeds"]
    assert (found["n_seeds"] == 2).all()
    curves = run.table("curves")
    assert curves.index.names == ["dataset", "method", "labels"]
    assert list(curves.columns) == ["mean", "std", "n_interesting"]
    assert len(curves) == len(protocol.METHOD_ORDER) * 12
    n_int = run.config["n_interesting"]["simulated"]
    assert n_int == run.table("datasets").loc["simulated", "n_interesting"] >= 2
    for method in protocol.METHOD_ORDER:
        arr = run.objects["curves"][("simulated", method)]
        assert arr.shape == (2, 12) and (np.diff(arr, axis=1) >= 0).all()
        assert arr.max() <= n_int and (np.diff(arr, axis=1) <= 1).all()
        rows = curves.reset_index().query("method == @method")
        np.testing.assert_allclose(rows["mean"], arr.mean(0))
    np.testing.assert_allclose(found["found@12_mean"],
                               [run.objects["curves"][("simulated", m)][:, -1].mean()
                                for m in protocol.METHOD_ORDER])
    ratio = run.table("ratio")
    assert list(ratio.columns) == ["ours_best", "ours_method", "peer_best", "peer_method",
                                   "ratio", "target_met"]
    assert ratio.loc["simulated", "ours_method"] in protocol.OURS
    assert set(run.table("datasets").columns) >= {"n_objects", "n_interesting", "fraction"}


def test_tiny_run_is_deterministic_and_round_trips_json(tiny_run, tmp_path):
    again = protocol.run("fast", **TINY)
    from astroad_nb.protocols import Run

    back = Run.from_json(tiny_run.to_json(tmp_path / "tiny.json"))
    for name in ("found", "curves", "ratio", "datasets"):
        assert_same_table(again.table(name), tiny_run.table(name), atol=0)
        assert_same_table(back.table(name), tiny_run.table(name))


@pytest.fixture
def one_torch_thread():
    """The committed run was made with one thread (as tests/test_protocols.py's runs)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_fast_equals_the_committed_run(one_torch_thread):
    run = protocol.run("fast", random_state=0)
    want = committed_run("discovery")
    assert run.preset == want.preset
    for name in ("found", "curves", "ratio", "datasets"):
        assert_same_table(run.table(name), want.table(name))


# ------------------------------------------------------------------ real data
def test_ztf_sne_hides_the_alerce_sne_among_the_ia(real_data):
    real_data("lightcurves", "ztf_sn_ia", "light-curves")
    real_data("lightcurves", "alerce_examples")
    data = protocol.ztf_sne_data(protocol.preset("fast", n_real=30))
    hidden = data.group[data.group != "SNIa (BTS)"]
    # the first 30 BTS SNe Ia share no object with the 30 ALeRCE SNe: all 30 are hidden
    assert (data.group == "SNIa (BTS)").sum() == 30 and len(hidden) == 30
    interesting = hidden.isin(["SNIbc", "SNII", "SLSN"])
    assert data.interesting.sum() == interesting.sum() >= 11
    assert (data.interesting[hidden.index] == interesting).all()
    assert data.features.index.is_unique
    X, truth = data.draw(0)
    assert np.isfinite(X.to_numpy()).all() and truth.sum() == interesting.sum()
    assert len(X) == 60


def test_rr_lyrae_draws_a_few_type_c_per_seed(real_data):
    real_data("lightcurves", "sdss_rr_lyrae")
    data = protocol.rr_lyrae_data(protocol.preset("fast"))
    assert data.summary()["n_interesting"] == data.n_interesting_drawn == 8
    (X0, t0), (X1, t1) = data.draw(0), data.draw(1)
    assert t0.sum() == t1.sum() == 8 and len(X0) == len(X1) == (~data.interesting).sum() + 8
    assert list(X0.index[t0]) != list(X1.index[t1])  # another seed, other type-c stars
    assert list(data.draw(0)[0].index) == list(X0.index)


# ------------------------------------------------------------------ the plot
def test_plot_discovery_curves_one_panel_per_data_set(tiny_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from astroad_nb.plotting import plot_discovery_curves

    curves = dict(tiny_run.objects["curves"])
    curves.update({("other", m): a[:, :5] for (_, m), a in tiny_run.objects["curves"].items()})
    fig = plot_discovery_curves(curves, methods=["static", "relevance"])
    assert [ax.get_title() for ax in fig.axes] == ["simulated", "other"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["static", "relevance"]
    mean = curves[("simulated", "relevance")].mean(axis=0)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), mean)
    assert len(fig.axes[1].collections) == 2  # one band per method
    plt.close(fig)
    # the long table of a run read back from JSON works too, with the ceiling line
    fig, ax = plt.subplots()
    assert plot_discovery_curves(tiny_run.table("curves"), ax=ax) is fig
    assert len(ax.lines) == len(protocol.METHOD_ORDER) + 1
    assert ax.lines[-1].get_ydata()[0] == tiny_run.config["n_interesting"]["simulated"]
    with pytest.raises(ValueError, match="one axes per data set"):
        plot_discovery_curves(curves, ax=ax)
    with pytest.raises(ValueError, match=r"\['mars'\]"):
        plot_discovery_curves(curves, datasets=["mars"])
    plt.close(fig)
