"""Active / semi-supervised loop (RB-C1000): query rules, pseudo-labels, stages, label store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from astroad_nb.active import (
    ActiveLearningLoop,
    balanced_pseudo_labels,
    select_hardest,
    uncertainty,
)
from astroad_nb.data.alerts import simulate_triplets
from astroad_nb.models import RealBogusCNN
from astroad_nb.protocols import realbogus as protocol
from astroad_nb.protocols.realbogus import split_cutouts
from astroad_nb.store import LabelStore

TINY = dict(widths=(8, 16), epochs=1, batch_size=16)


# ------------------------------------------------------------------ pure rules (exact)
def test_binary_strategies_pick_the_probabilities_nearest_one_half():
    p_real = np.array([0.99, 0.52, 0.10, 0.45, 0.70, 0.50, 0.03])
    for strategy in ("least_confidence", "margin", "entropy"):
        assert select_hardest(p_real, 3, strategy).tolist() == [5, 1, 3]
    np.testing.assert_allclose(uncertainty(p_real), 1 - np.maximum(p_real, 1 - p_real))


def test_three_class_strategies_differ_as_defined():
    proba = np.array([[0.5, 0.5, 0.0],    # tie between two classes: smallest margin
                      [0.4, 0.3, 0.3],    # flattest: least confident, highest entropy
                      [0.9, 0.05, 0.05]])
    assert select_hardest(proba, 1, "least_confidence").tolist() == [1]
    assert select_hardest(proba, 1, "margin").tolist() == [0]
    assert select_hardest(proba, 1, "entropy").tolist() == [1]
    np.testing.assert_allclose(uncertainty(proba, "margin"), [0.0, -0.1, -0.85])


def test_random_strategy_is_seeded_and_k_is_capped():
    a = select_hardest(np.full(10, 0.9), 4, "random", random_state=0)
    assert a.tolist() == select_hardest(np.full(10, 0.9), 4, "random", random_state=0).tolist()
    assert len(select_hardest(np.full(3, 0.5), 10)) == 3
    with pytest.raises(ValueError, match="strategy"):
        uncertainty([0.5], "coin")


def test_pseudo_labels_follow_the_labelled_ratio_exactly():
    # 10 confident real, 40 confident bogus, 5 unsure; labelled ratio real:bogus = 1:2
    p = np.r_[np.linspace(0.96, 0.999, 10), np.linspace(0.001, 0.04, 40), np.full(5, 0.6)]
    idx, labels = balanced_pseudo_labels(p, 0.95, ratio=0.5)
    assert (labels == 1).sum() == 10 and (labels == 0).sum() == 20  # real is the limit
    assert set(idx[labels == 1]) == set(range(10))
    bogus = idx[labels == 0]
    assert (p[bogus] <= np.sort(p[10:50])[19]).all()  # the 20 most confident bogus
    # bogus is the limit: 30 real candidates, 40 bogus -> 40 bogus and 20 real
    p2 = np.r_[np.full(30, 0.99), np.full(40, 0.01)]
    idx2, labels2 = balanced_pseudo_labels(p2, 0.95, ratio=0.5)
    assert (labels2 == 1).sum() == 20 and (labels2 == 0).sum() == 40
    # a cap keeps the ratio; one class without candidates gives nothing
    _, labels3 = balanced_pseudo_labels(p2, 0.95, ratio=0.5, max_total=30)
    assert (labels3 == 1).sum() == 10 and (labels3 == 0).sum() == 20
    assert len(balanced_pseudo_labels(np.full(5, 0.99), 0.95)[0]) == 0


def test_split_sizes_and_disjoint_ids():
    data = simulate_triplets(20, 20, random_state=0)
    parts = split_cutouts(data, n_initial=10, n_validation=5, n_test=8, random_state=0)
    assert [len(parts[k]) for k in ("labelled", "validation", "test", "pool")] == [10, 5, 8, 17]
    ids = np.concatenate([parts[k].ids for k in parts])
    assert len(set(ids)) == 40
    with pytest.raises(ValueError, match="leaves no pool"):
        split_cutouts(data, n_initial=20, n_validation=10, n_test=10)


# ------------------------------------------------------------------ the loop, step by step
@pytest.fixture(scope="module")
def tiny_parts():
    data = simulate_triplets(40, 40, random_state=5)
    return split_cutouts(data, n_initial=24, n_validation=16, n_test=16, random_state=0)


def _tiny_loop(store=None, **kw):
    return ActiveLearningLoop(RealBogusCNN(**TINY), n_initial=20, k=6, rounds=1,
                              random_state=0, store=store, **kw)


def test_teach_from_store_reads_the_panels_labels(tiny_parts):
    store = LabelStore(":memory:", who="ana")
    loop = _tiny_loop(store)
    loop.start(tiny_parts["labelled"], tiny_parts["pool"])
    # n_initial=20 of 24 labelled: the 4 others went back to the pool
    assert len(loop.labelled_) == 20 and len(loop.pool_) == len(tiny_parts["pool"]) + 4
    q = loop.query()
    assert len(q) == 6 and loop.round_ == 1
    assert (np.diff(q["uncertainty"]) <= 0).all()  # hardest first
    ids = list(q["id"])
    store.add(ids[0], "real", context="realbogus", round=1)     # what the panel writes
    store.add(ids[1], "bogus", context="realbogus", round=1)
    store.add(ids[2], "skip", context="realbogus", round=1)     # not a label: stays in pool
    store.add(ids[3], "real", context="other-task")             # another context: ignored
    taught = loop.teach_from_store()
    assert taught == {ids[0]: 1, ids[1]: 0}
    assert len(store) == 4  # nothing written twice
    loop.retrain()
    assert protocol.stage_table(loop).loc["ALS", "n_labelled"] == 22
    assert ids[0] not in set(loop.query()["id"])  # taught triplets are never re-queried


def test_teach_validates_ids_and_labels(tiny_parts):
    loop = _tiny_loop()
    loop.start(tiny_parts["labelled"], tiny_parts["pool"])
    with pytest.raises(KeyError, match="not in the pool"):
        loop.teach({"nope": 1})
    pool_id = str(tiny_parts["pool"].ids[0])
    with pytest.raises(ValueError, match="real"):
        loop.teach({pool_id: "maybe"})
    assert loop.teach([pool_id], ["bogus"]) == {pool_id: 0}
    with pytest.raises(RuntimeError, match="not an SSLS"):
        loop.pseudo_label()


def test_person_answers_win_over_the_dataset_oracle(tiny_parts):
    loop = _tiny_loop()
    loop.start(tiny_parts["labelled"], tiny_parts["pool"])
    first = loop.query()["id"].iloc[0]
    loop.teach({first: "real"})
    assert loop.step() == "ALS"
    truth = int(loop.pool_.labels[list(loop.pool_.ids).index(first)])
    assert loop.taught_[first] == 1 and len(loop.taught_) == 6
    assert truth in (0, 1)
    assert loop.step() == "SSLS R=1" and loop.step() is None


def test_callable_oracle(tiny_parts):
    loop = _tiny_loop()
    loop.start(tiny_parts["labelled"], tiny_parts["pool"])
    seen = {}

    def oracle(ids, cutouts):
        seen["n"] = len(cutouts)
        assert (cutouts.labels == -1).all()  # a person labels blind
        return {i: "bogus" for i in ids}

    loop.step(oracle)
    assert seen["n"] == 6 and set(loop.taught_.values()) == {0}


# ------------------------------------------------------------------ the loop on simulations
@pytest.fixture(scope="module")
def small_run():
    store = LabelStore(":memory:", who="ana")
    # the mechanics on an easy mix (three bright bogus kinds): a model of 60 training labels
    # is then confident enough to pseudo-label every round
    data = simulate_triplets(220, 220, random_state=2,
                             bogus_kinds=("hot_pixel", "saturated", "bad_subtraction"))
    parts = split_cutouts(data, n_initial=100, n_validation=80, n_test=120, random_state=0)
    model = RealBogusCNN(epochs=8, batch_size=16, patience=None)
    loop = ActiveLearningLoop(model, n_initial=100, k=40, rounds=3, max_pseudo=100,
                              pseudo_threshold=0.9, random_state=0, store=store)
    loop.start(parts["labelled"], parts["pool"])  # validation: 6:4 out of the labels
    assert loop.run(oracle="dataset") == loop.stages[1:]  # ITS ran in start()
    table = protocol.stage_table(loop, parts["test"])
    return loop, table, store, parts


def test_stage_table_rows_columns_and_counts(small_run):
    loop, table, _, _ = small_run
    assert table.index.tolist() == ["ITS", "ALS", "SSLS R=1", "SSLS R=2", "SSLS R=3"]
    assert {"Pre", "Acc", "Rec", "F1", "MCC", "AP", "AP_seed", "Sum_pct", "Mean", "n_labelled",
            "n_train", "n_validation", "n_pseudo"} <= set(table.columns)
    # every label given counts, validation included: M, then M + K (re-split 6:4)
    assert table["n_labelled"].tolist() == [100, 140, 140, 140, 140]
    assert table["n_validation"].tolist() == [40, 56, 56, 56, 56]
    assert (table["n_train"] + table["n_validation"] == table["n_labelled"]).all()
    assert table.loc["ITS", "n_pseudo"] == 0 and table.loc["ALS", "n_pseudo"] == 0
    assert (table.loc[["SSLS R=1", "SSLS R=2", "SSLS R=3"], "n_pseudo"] > 0).all()
    six = table[["Pre", "Acc", "Rec", "F1", "MCC", "AP"]].mean(axis=1)
    np.testing.assert_allclose(table["Mean"], six)
    seed_six = table[["Pre", "Acc", "Rec", "F1", "MCC", "AP_seed"]].sum(axis=1) * 100
    np.testing.assert_allclose(table["Sum_pct"], seed_six)


def test_validation_is_carved_from_the_given_labels_and_resplit(small_run):
    loop, _, _, parts = small_run
    given = set(map(str, loop.labelled_.ids)) | set(loop.taught_)
    pseudo = set(loop.pseudo_["id"])
    splits = [set(r["validation_ids"]) for r in loop.stages_]
    assert all(v <= given and not v & pseudo for v in splits)
    assert not splits[1] <= set(map(str, loop.labelled_.ids))  # the K taught joined it
    assert splits[1] != splits[2]  # re-split at every stage, as the seed
    assert not given & set(map(str, parts["test"].ids))


def test_oracle_answers_are_in_the_store(small_run):
    loop, _, store, parts = small_run
    frame = store.to_frame(context="realbogus")
    assert len(frame) == 40 and set(frame["who"]) == {"oracle"}
    assert set(frame["round"]) == {1}
    truth = dict(zip(parts["pool"].ids, parts["pool"].labels, strict=True))
    assert all({"real": 1, "bogus": 0}[lab] == truth[i]
               for i, lab in zip(frame["item_id"], frame["label"], strict=True))
    assert set(frame["item_id"]) == set(loop.taught_)


def test_pseudo_labels_are_balanced_and_mostly_right(small_run):
    # 60 training labels and 8 epochs: a weak model, whose confident calls are mostly right
    loop, _, _, _ = small_run
    pseudo = loop.pseudo_
    assert len(pseudo) and (pseudo["confidence"] >= loop.pseudo_threshold).all()
    labels = pseudo["label"].to_numpy()
    known = np.r_[loop.labelled_.labels, list(loop.taught_.values())]
    ratio = (known == 1).sum() / (known == 0).sum()
    assert abs((labels == 1).sum() - ratio * (labels == 0).sum()) <= 1 or (
        (labels == 1).sum() == round(ratio * (labels == 0).sum()))
    truth = dict(zip(loop.pool_.ids, loop.pool_.labels, strict=True))
    assert np.mean([truth[i] == lab for i, lab in zip(pseudo["id"], labels, strict=True)]) > 0.75
    assert not set(pseudo["id"]) & set(loop.taught_)


def test_learning_curves_and_per_kind(small_run):
    loop, _, _, parts = small_run
    curves = protocol.learning_curves(loop)
    assert curves["stage"].unique().tolist() == loop.stages
    assert {"epoch", "train_loss", "val_Sum"} <= set(curves.columns)
    per_kind = protocol.per_kind(loop, parts["test"])
    assert "real" in per_kind.index and per_kind["n"].sum() == 120
    assert loop.best_stage_ in loop.stages


def test_reproduce_realbogus_tiny_and_cli(tmp_path, capsys):
    from astroad_nb.cli import main
    from astroad_nb.protocols import Run

    out = tmp_path / "rb.json"
    code = main(["reproduce", "realbogus", "--preset", "fast", "--set", "n_total=160",
                 "--set", "n_initial=40", "--set", "k=8", "--set", "rounds=1", "--set",
                 "n_validation=20", "--set", "n_test=40", "--set", "epochs=1", "--set",
                 "finetune_epochs=1", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "SSLS R=1" in text and "Sum" in text and "per_kind" in text
    run = Run.from_json(out)
    assert run.table().index.tolist() == ["ITS", "ALS", "SSLS R=1"]
    assert run.preset["n_initial"] == 40 and run.preset["name"] == "fast*"
    assert json.loads(out.read_text())["system"] == "realbogus"
    ref = run.table("seed_reference")
    assert ref.loc["SSLS R=3", "Sum_pct_seed"] == 593.5 and ref.loc["ITS", "Sum_pct_seed"] == 582.4
    assert np.isfinite(ref.loc["ITS", "Sum_pct_ours"])


def test_seed_preset_at_fast_sizes_from_the_cli(tmp_path):
    from astroad_nb.cli import main
    from astroad_nb.protocols import Run

    out = tmp_path / "seed.json"
    tiny = ["n_total=120", "n_initial=30", "k=6", "rounds=1", "n_test=30", "epochs=1"]
    code = main(["reproduce", "realbogus", "--preset", "seed", "--fast", "--json", str(out),
                 *[a for kv in tiny for a in ("--set", kv)]])
    assert code == 0
    run = Run.from_json(out)
    seed = protocol.PRESETS["seed"]
    assert run.preset["lr"] == seed.lr == 2e-4 and run.preset["finetune"] is False
    assert run.preset["validation"] == "from_labels" and run.preset["n_total"] == 120
    assert run.table().loc["ITS", "n_labelled"] == 30


def test_the_loop_needs_a_model(tiny_parts):
    with pytest.raises(TypeError, match="needs the classifier"):
        ActiveLearningLoop(None).start(tiny_parts["labelled"], tiny_parts["pool"])


def test_separate_validation_and_warm_starts_are_options(tiny_parts):
    loop = _tiny_loop(validation="separate", finetune=True, finetune_epochs=1)
    with pytest.raises(ValueError, match="needs a labelled validation set"):
        loop.start(tiny_parts["labelled"], tiny_parts["pool"])
    loop.start(tiny_parts["labelled"], tiny_parts["pool"], tiny_parts["validation"])
    loop.run()
    val = protocol.stage_table(loop)  # no test set: the validation metrics
    # the separate validation labels count too
    assert val["n_labelled"].tolist() == [20 + 16, 26 + 16, 26 + 16]
    assert (val["n_validation"] == 16).all()
    # warm starts keep the starting weights as a candidate: on one validation set the
    # selection score never falls (which is why it cannot test that stages help)
    assert (np.diff(val["val_score"].to_numpy()) >= -1e-12).all()
    with pytest.raises(ValueError, match="from_labels"):
        _tiny_loop().start(tiny_parts["labelled"], tiny_parts["pool"], tiny_parts["validation"])


@pytest.mark.slow
def test_fast_reproduction_improves_over_its():
    table = protocol.run("fast", random_state=0).table()
    assert table.loc["ALS", "Mean"] >= table.loc["ITS", "Mean"]
    assert table.loc["SSLS R=3", "Mean"] >= table.loc["ITS", "Mean"]
