"""Per-stream evaluation, the GD-1 table, the streams protocol and its CLI."""


import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.streams import StreamProblem
from astroad_nb.evaluation import SEED_GD1, evaluate_stream, gd1_table


@pytest.fixture
def hand_made():
    # 10 stars: rows 0-1 support, rows 2-5 members to find, rows 6-9 field stars.
    field = pd.DataFrame({"ra": np.arange(10.0),
                          "self_lab": [False] * 2 + [False, True, False, False]
                          + [False, True, False, False]})
    truth = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], bool)
    return StreamProblem(field=field, truth=truth, support=[0, 1], name="toy")


def test_evaluate_stream_on_a_hand_made_example(hand_made):
    proba = np.array([np.nan, np.nan, 0.9, 0.8, 0.6, 0.1, 0.7, 0.2, np.nan, 0.0])
    m = evaluate_stream(hand_made, proba)  # query rows 2..9: TP 3, FN 1, FP 1, TN 3
    assert (m["n_stars"], m["n_members"]) == (8, 4)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    assert m["f2"] == pytest.approx(3 / 4)
    assert m["balanced_accuracy"] == pytest.approx(3 / 4)
    assert m["mcc"] == pytest.approx(0.5)
    # scores (NaN -> 0): members 0.9 0.8 0.6 0.1 vs field 0.7 0.2 0 0: 13 of 16 pairs won
    assert m["auroc"] == pytest.approx(13 / 16)


def test_seed_test_rows_drop_the_self_labelling_half(hand_made):
    proba = np.array([np.nan, np.nan, 0.9, 0.8, 0.6, 0.1, 0.7, 0.2, np.nan, 0.0])
    m = evaluate_stream(hand_made, proba, rows="seed_test")  # rows 2,4,5,6,8,9
    assert (m["n_stars"], m["n_members"]) == (6, 3)
    assert m["recall"] == pytest.approx(2 / 3) and m["precision"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="proba has 3"):
        evaluate_stream(hand_made, [0.1, 0.2, 0.3])


def test_series_input_is_aligned_by_index(hand_made):
    proba = pd.Series([0.9, 0.8, 0.6, 0.1, 0.7, 0.2, 0.0], index=[2, 3, 4, 5, 6, 7, 9])
    assert evaluate_stream(hand_made, proba.iloc[::-1])["mcc"] == pytest.approx(0.5)


def test_gd1_table_layout():
    results = {"Mine": {"recall": 0.9, "balanced_accuracy": 0.95, "precision": 0.5,
                        "mcc": 0.6, "f1": 0.1}}
    table = gd1_table(results, data="toy field", truth="toy truth")
    assert list(table.columns) == ["R", "BA", "P", "MCC", "data", "truth"]
    assert list(table.index) == ["Mine", *SEED_GD1]
    assert table.loc["DeepSets fine-tuned (seed paper)", "R"] == 0.981
    assert table.loc["Mine", "P"] == 0.5
    assert table.loc["Mine", "truth"] == "toy truth"


def test_reproduce_streams_small_on_simulations(tmp_path, capsys):
    from astroad_nb.cli import main
    from astroad_nb.protocols import Run

    tiny = ["epochs=2", "steps_per_epoch=5", "fine_tune_epochs=1", "fine_tune_steps=3",
            "n_sim_train=2", "n_sim_val=1", "sim_members=30,50", "sim_foreground=10",
            "gd1_members=60", "rf_trees=10"]
    out = tmp_path / "streams.json"
    args = ["reproduce", "streams", "--preset", "fast", "--json", str(out)]
    for pair in tiny:
        args += ["--set", pair]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "simulated streams" in text and "GD-1 (simulated)" in text
    run = Run.from_json(out)
    assert set(run.table("table").index.get_level_values("method")) == {
        "DeepSets (meta-trained)", "DeepSets (fine-tuned)", "Random forest (recursive)"}
    assert set(run.table("gd1").index) >= set(SEED_GD1)
    assert run.preset["sim_members"] == [30, 50]


# Measured (random_state=0, FAST): fine-tuned DeepSets mean recall 0.867, balanced accuracy 0.930,
# precision 0.500, MCC 0.634, AUROC 0.996 on the seed's test rows of the 3 validation streams.
FLOORS = {"recall": 0.7, "ba": 0.85, "auroc": 0.95}


@pytest.mark.slow
def test_real_clusterbusters_validation_streams(real_data):
    """Meta-train on the 23 seed training streams, report the 3 validation streams (FAST)."""
    from astroad_nb.protocols import streams

    root = real_data("streams", "clusterbusters")
    run = streams.run("fast-real", random_state=0, data_root=root,
                      gd1_root=real_data("streams", "gd1_gaia_dr2"))
    print(run.report())
    tuned = run.table().loc["DeepSets (fine-tuned)"]
    forest = run.table().loc["Random forest (recursive)"]
    # floors measured with random_state=0 (see the report in the commit message), with margin
    assert tuned["recall"] > FLOORS["recall"] and tuned["balanced_accuracy"] > FLOORS["ba"]
    assert tuned["auroc"] > FLOORS["auroc"]
    assert forest["balanced_accuracy"] > 0.6
    # issue 9: the seed's own weights beside ours; real GD-1 scored by the PS1 variant only
    seed = run.table().loc[streams.SEED_METHOD]
    assert seed["auroc"] > 0.98 and run.config["seed_weights"].startswith("scored")
    gd1 = run.table("gd1")
    assert streams.PS1_METHOD in gd1.index and "DeepSets (fine-tuned)" not in gd1.index
    assert gd1.loc[streams.PS1_METHOD, "truth"].startswith("selected2")
