"""The contextual-novelty protocol (system 5): per-cell metrics, average rank, orderings, the
real clips, a tiny run's determinism, and the FAST run (orderings, committed-run equality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.evaluation import average_rank, per_cell_detection
from astroad_nb.protocols import REGISTRY, Run, get
from astroad_nb.protocols import context as protocol

TINY = dict(n_normal=6, n_abnormal=3, duration=1.0, snrs=(-6.0, 6.0),
            machine_types=("fan", "valve"), machine_ids=(0, 2), frame_step=2, ae_epochs=2,
            predictor_epochs=2, n_seeds=2, real=False, astro=False)


def test_registered_with_three_presets_and_the_seed_sizes():
    assert REGISTRY["context"] == "astroad_nb.protocols.context"
    assert get("context") is protocol
    assert set(protocol.PRESETS) >= {"fast", "full", "seed"}
    seed = protocol.PRESETS["seed"]
    assert (seed.scale, seed.n_normal, seed.duration, seed.window, seed.decay) == (
        1.0, None, 10.0, 50, 0.9)
    assert (seed.ae_epochs, seed.ae_batch_size, seed.ae_lr) == (100, 256, 1e-4)
    assert (seed.predictor_epochs, seed.predictor_batch_size, seed.predictor_lr) == (50, 512,
                                                                                     1e-4)
    assert seed.predictor_hidden == (512, 512, 256, 128, 128, 64) and seed.n_seeds == 3
    fast = protocol.PRESETS["fast"]
    assert fast.astro and protocol.PRESETS["full"].astro and fast.real and fast.n_seeds == 3
    assert fast.window == 50 and not fast.reset
    assert set(protocol.SIZE_FIELDS) <= {f for f in fast.to_dict()}
    with pytest.raises(TypeError, match="no field"):
        protocol.preset("fast", windw=10)


def test_per_cell_detection_ranks_each_cell_on_its_own():
    y = [0, 0, 1, 1, 0, 0, 1, 1]
    # cell b's scores are all higher than a's, yet each cell is ranked only within itself
    s = [0.1, 0.2, 0.3, 0.4, 5.0, 7.0, 6.0, 8.0]
    cells = pd.DataFrame({"snr": [0] * 8, "m": list("aaaabbbb")})
    out = per_cell_detection(y, s, cells)
    assert list(out.index) == [(0, "a"), (0, "b")] and out.index.names == ["snr", "m"]
    assert out.loc[(0, "a"), "roc_auc"] == 1.0 and out.loc[(0, "b"), "roc_auc"] == 0.75
    assert out.loc[(0, "a"), "n_abnormal"] == 2 and out.loc[(0, "b"), "n_normal"] == 2
    assert out.loc[(0, "b"), "pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    one_class = per_cell_detection([0, 0], [0.1, 0.2], ["x", "x"])
    assert np.isnan(one_class.loc["x", "roc_auc"]) and np.isnan(one_class.loc["x", "pr_auc"])
    with pytest.raises(ValueError, match="rows"):
        per_cell_detection([0, 1], [0.1, 0.2], ["x"])


def test_average_rank_over_groups_with_ties():
    t = pd.DataFrame({"v": ["a", "b", "c"] * 2, "g": [0, 0, 0, 1, 1, 1],
                      "auc": [0.9, 0.8, 0.7, 0.5, 0.6, 0.6]})
    ranks = average_rank(t, by="v", within="g")
    assert ranks.to_dict() == {"a": 2.0, "b": 1.75, "c": 2.25}
    assert average_rank(t, by="v", within="g", higher_is_better=False)["a"] == 2.0
    with pytest.raises(ValueError, match="one metric"):
        average_rank(t.assign(extra=1), by="v", within="g")


def _cells(values):
    """Long cell table: variant -> per SNR (-6, 0, 6) ROC-AUC, two cells, one seed."""
    rows = []
    for variant, aucs in values.items():
        for snr, auc in zip((-6.0, 0.0, 6.0), aucs):
            for machine_id in (0, 2):
                rows.append({"seed": 0, "variant": variant, "snr_db": snr,
                             "machine_type": "fan", "machine_id": machine_id,
                             "n_normal": 3, "n_abnormal": 2, "roc_auc": auc,
                             "pr_auc": auc - 0.1})
    return pd.DataFrame(rows)


def test_tables_and_orderings_on_hand_made_cells():
    cells = _cells({"ae_pooled": (0.5, 0.6, 0.7), "film_onehot_oracle": (0.6, 0.7, 0.8),
                    "film_embedding_window": (0.55, 0.5, 0.9)})
    comparison = protocol.comparison_table(cells, window=50)
    assert list(comparison.index) == ["ae_pooled", "film_onehot_oracle",
                                      "film_embedding_window"]
    assert comparison.loc["film_onehot_oracle", "roc_auc"] == pytest.approx(0.7)
    assert comparison.loc["film_onehot_oracle", "rank"] == pytest.approx(4 / 3)
    assert comparison.loc["film_embedding_window", "label"] == "FiLM embedding (predicted, W50)"
    assert np.isnan(comparison.loc["ae_pooled", "roc_auc_sd"])  # one seed
    assert comparison.loc["ae_pooled", "seed_roc_auc"] == 0.639
    by_snr = protocol.by_snr_table(cells)
    assert list(by_snr.columns[:3]) == ["roc_auc_-6dB", "roc_auc_0dB", "roc_auc_6dB"]
    assert by_snr.loc["mean", "roc_auc_0dB"] == pytest.approx(0.6)
    hits = [pd.DataFrame({"snr_db": [0.0, 0.0, 6.0, 6.0], "per_file": [1, 0, 0, 1],
                          "window": [1, 1, 1, 0]}).astype({"per_file": bool, "window": bool})]
    accuracy = protocol.context_accuracy_table(hits)
    assert accuracy.loc["window", "accuracy"] == 0.75 and accuracy.loc["per_file",
                                                                       "accuracy"] == 0.5
    assert accuracy.loc["window", "accuracy_6dB"] == 0.5
    orderings = protocol.orderings_table(comparison, by_snr, accuracy)
    assert orderings.loc["ROC-AUC -6dB < 0dB (mean of variants)", "holds"]
    assert orderings.loc["context accuracy: window > per file", "holds"]
    row = orderings.loc["ROC-AUC film_onehot_oracle > ae_pooled"]
    assert row["holds"] and row["required"] and (row["left"], row["right"]) == pytest.approx(
        (0.7, 0.6))
    worse = orderings.loc["ROC-AUC film_embedding_window > ae_pooled"]
    assert not worse["required"] and worse["holds"] == (worse["left"] > worse["right"])
    cells.loc[cells["variant"] == "ae_pooled", "roc_auc"] = 0.99
    flipped = protocol.orderings_table(protocol.comparison_table(cells),
                                       protocol.by_snr_table(cells), accuracy)
    assert not flipped.loc["ROC-AUC film_onehot_oracle > ae_pooled", "holds"]


def test_seed_reference_rows():
    ref = protocol.seed_reference()
    assert list(ref.index[:7]) == list(protocol.VARIANTS)
    assert ref.loc["film_embedding_window", "value"] == 0.710
    assert ref.loc["ae_pooled", "value"] == 0.639 and np.isnan(ref.loc["film_onehot_oracle",
                                                                        "value"])
    assert ref.loc["context_accuracy_window", "value"] == 0.890
    assert ref.loc["context_accuracy_per_file", "value"] == 0.769


def test_real_clips_skipped_without_data_and_ranked_on_a_folder(tmp_path, monkeypatch):
    from astroad_nb.data.sounds import simulate_clip, write_wav

    monkeypatch.setenv("ASTROAD_REAL_DATA", str(tmp_path / "absent"))
    p = protocol.preset("fast", real_epochs=2, real_segment_s=0.5)
    assert protocol.real_clips(p) is None
    root = tmp_path / "sounds"
    folder = root / "dcase_id00"
    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    for k in range(4):
        clip = simulate_clip("pump", 0, index=k, duration=2.0, random_state=1)
        write_wav(folder / "train" / f"normal_id_00_{k:08d}.wav", clip.mixture)
    bad = simulate_clip("pump", 0, label=1, index=0, duration=2.0, random_state=1)
    write_wav(folder / "test" / "anomaly_id_00_00000000.wav", bad.mixture)
    (folder / "test" / "anomaly_id_00_00000001.wav").write_bytes(b"RIFF0000")  # truncated
    out = protocol.real_clips(p, root=root)
    table = out["table"]
    assert out["read"] == {"dcase_id00": 5} and len(out["rejected"]) == 1
    assert len(table) == 1 and table.loc[0, "machine"] == "unknown_00"
    # 4 normal clips: 2 held out, 2 train; 4 segments of 0.5 s each
    assert (table.loc[0, "n_train_segments"], table.loc[0, "n_heldout"]) == (8, 8)
    assert 1 <= table.loc[0, "rank"] <= 9 and 0 <= table.loc[0, "segment_auroc"] <= 1
    assert np.isnan(table.loc[0, "clip_auroc"])  # one anomalous clip < real_min_anomalies


def test_tiny_run_is_deterministic_by_seed_and_round_trips(tmp_path):
    a = protocol.run("fast", random_state=3, **TINY)
    b = protocol.run("fast", random_state=3, **TINY)
    c = protocol.run("fast", random_state=4, **TINY)
    assert a.headline == "comparison" and list(a.table().index) == list(protocol.VARIANTS)
    pd.testing.assert_frame_equal(a.table(), b.table())
    pd.testing.assert_frame_equal(a.table("timeline"), b.table("timeline"))
    assert not np.allclose(a.table()["roc_auc"], c.table()["roc_auc"])
    assert (a.table()["n_cells"] == 8).all() and (a.table()["n_seeds"] == 2).all()
    timeline = a.table("timeline")
    from astroad_nb.widgets.context_state import TIMELINE_COLUMNS

    assert tuple(timeline.columns[:len(TIMELINE_COLUMNS)]) == TIMELINE_COLUMNS
    assert len(timeline) == a.config["n_test_clips"] and timeline["wav_path"].isna().all()
    assert timeline["vote_confidence"].between(0, 1).all()
    machines = timeline["machine_type"] + timeline["machine_id"].astype(str)
    assert (machines != machines.shift()).sum() == 4  # one block per machine (the stream)
    assert "skipped" in a.config["real_clips"] and "astro=False" in a.config["astro"]
    back = Run.from_json(a.to_json(tmp_path / "run.json"))
    pd.testing.assert_frame_equal(back.table(), a.table(), check_dtype=False)
    assert set(back.tables) == set(a.tables)


@pytest.fixture(scope="module")
def fast_run():
    """The FAST run without its light-curve tables (their own tests cover them; the machine-sound
    tables do not depend on them: every step has its own seed)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the committed run was made with one torch thread
    try:
        return protocol.run("fast", astro=False)
    finally:
        torch.set_num_threads(threads)


def test_fast_orderings(fast_run):
    orderings = fast_run.table("orderings")
    for name in ("ROC-AUC -6dB < 0dB (mean of variants)", "ROC-AUC 0dB < 6dB (mean of variants)",
                 "context accuracy: window > per file"):
        assert orderings.loc[name, "holds"], orderings.loc[name]
    assert (orderings["holds"] == np.where(orderings.index.str.contains(" < "),
                                           orderings["left"] < orderings["right"],
                                           orderings["left"] > orderings["right"])).all()
    comparison = fast_run.table()
    assert (comparison["n_cells"] == 48).all() and (comparison["n_seeds"] == 3).all()
    assert comparison["roc_auc"].between(0.6, 0.8).all(), comparison["roc_auc"]
    accuracy = fast_run.table("context_accuracy")
    assert 0.55 <= accuracy.loc["per_file", "accuracy"] <= 0.85  # the simulator's tuning


def test_fast_real_clips(fast_run, real_data):
    real_data("sounds")
    table = fast_run.table("real_clips")
    assert len(table) == 5  # the dcase anomaly, MIMII valve id_06 and the 3 typed clips
    dcase = table[table["source"] == "dcase_id00"].iloc[0]
    assert dcase["n_heldout"] == 37 * 5 and dcase["percentile"] > 0.5


def test_fast_equals_the_committed_run(fast_run):
    from protocol_runs import assert_same_table, committed_run

    want = committed_run("context")
    assert want.system == "context" and want.preset["name"] == "fast"
    assert {k: v for k, v in want.preset.items() if k not in ("name", "astro")} == {
        k: v for k, v in fast_run.preset.items() if k not in ("name", "astro")}
    for name in ("comparison", "by_snr", "context_accuracy", "orderings", "cells"):
        assert_same_table(fast_run.table(name), want.table(name))
