"""RB-C1000 as the seed reports it (issue #9): its AP and Sum, its numbers beside ours, and
from-scratch stages that help on the *test* set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.evaluation import (
    SEED_REALBOGUS_SUM_PCT,
    average_precision,
    seed_average_precision,
    seed_scores,
)
from astroad_nb.protocols import realbogus as protocol


def test_seed_ap_is_the_precision_along_the_ranked_predicted_positives():
    y = [1, 0, 1, 1, 0]
    p = [0.9, 0.8, 0.7, 0.2, 0.6]
    # predicted real (p > 0.5), by confidence: 0.9 (hit), 0.8, 0.7 (hit), 0.6 -> (1 + 2/3) / 2
    assert seed_average_precision(y, p) == pytest.approx((1 + 2 / 3) / 2)
    # scikit-learn's AP also ranks the real predicted bogus (p = 0.2): a different number
    assert average_precision(y, p) != pytest.approx(seed_average_precision(y, p))
    assert seed_average_precision([1, 0], [0.2, 0.3]) == 0.0  # nothing predicted real
    assert seed_average_precision([0, 0], [0.9, 0.8]) == 0.0  # no predicted real is real
    assert seed_average_precision([1], [0.7]) == 1.0
    assert seed_average_precision([1, 1, 0], [0.5, 0.9, 0.1]) == 1.0  # p == 0.5 is not "> 0.5"


def test_seed_sum_is_the_six_summed_in_percent_and_ours_is_their_mean():
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.05])
    s = seed_scores(y, p)
    six = [s["Pre"], s["Acc"], s["Rec"], s["F1"], s["MCC"]]
    assert s["Sum_pct"] == pytest.approx(100 * (sum(six) + s["AP_seed"]))
    assert s["Mean"] == pytest.approx(np.mean([*six, s["AP"]]))
    assert seed_scores([1, 0], [0.9, 0.1])["Sum_pct"] == pytest.approx(600.0)


def test_the_seeds_numbers_stand_beside_ours():
    assert SEED_REALBOGUS_SUM_PCT["SSLS R=3"] == 593.5
    ours = pd.DataFrame({"Sum_pct": [400.0, 410.0], "Mean": [0.6, 0.7]},
                        index=pd.Index(["ITS", "ALS"], name="stage"))
    ref = protocol.seed_reference(ours)
    assert ref.index.tolist() == ["ITS", "ALS", *[f"SSLS R={i}" for i in range(1, 6)]]
    assert ref.loc["ITS", ["Sum_pct_seed", "Acc_pct_seed", "Rec_pct_seed"]].tolist() == [
        582.4, 97.9, 96.3]
    assert ref.loc["ALS", "Sum_pct_ours"] == 410.0 and np.isnan(ref.loc["SSLS R=1",
                                                                        "Sum_pct_ours"])


def test_every_preset_uses_the_seeds_label_budget_and_retrains_from_scratch():
    for name, p in protocol.PRESETS.items():
        assert p.validation == "from_labels" and p.val_fraction == 0.4, name
        assert p.finetune is False and p.real_fraction == 0.3, name
    parts = protocol.split(protocol.simulate(protocol.preset("fast", n_total=60, n_initial=20,
                                                            n_test=10)),
                           protocol.preset("fast", n_total=60, n_initial=20, n_test=10))
    assert set(parts) == {"test", "labelled", "pool"}  # no labels spent on a separate set


@pytest.mark.slow
def test_later_stages_are_not_worse_than_its_on_the_test_set():
    """Over 3 seeds, from-scratch retraining: ALS and SSLS not worse than ITS on average.

    Measured (issue #9; 150 real : 350 bogus, M = 150, K = 50, R = 1, 15 epochs, test 150):
    test Mean ITS 0.580, ALS 0.593, SSLS R=1 0.528. At these sizes a stage differs from ITS by
    +-0.2 from seed to seed (ALS - ITS: +0.17, -0.25, +0.12), so the mean of 3 carries ~0.1 of
    noise: a stage fails when it is more than 0.1 below ITS on average, a weak test that
    catches a broken stage (e.g. validation leaking into training, or pseudo-labels of the
    wrong sign), not a small loss; the full sizes (docs/runs) show the stage gains.
    """
    import torch

    from astroad_nb.active import ActiveLearningLoop
    from astroad_nb.data.alerts import simulate_triplets
    from astroad_nb.models import RealBogusCNN

    torch.set_num_threads(1)
    tables = []
    for seed in range(3):
        data = simulate_triplets(150, 350, random_state=100 + seed)
        parts = protocol.split_cutouts(data, n_initial=150, n_validation=0, n_test=150,
                                       random_state=seed)
        model = RealBogusCNN(widths=(8, 16, 32), epochs=15, batch_size=16, patience=None)
        loop = ActiveLearningLoop(model, n_initial=150, k=50, rounds=1, random_state=seed)
        assert loop.finetune is False  # the default: from scratch
        loop.start(parts["labelled"], parts["pool"])
        loop.run()
        tables.append(protocol.stage_table(loop, parts["test"])["Mean"])
    mean = pd.concat(tables, axis=1).mean(axis=1)
    assert mean["ALS"] >= mean["ITS"] - 0.1, mean.to_dict()
    assert mean["SSLS R=1"] >= mean["ITS"] - 0.1, mean.to_dict()
