"""The galaxy GANomaly protocol (system 4): overlap statistics, the score table, a tiny run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.evaluation import (
    SEED_OVERLAP_BINS,
    histogram_overlap,
    histogram_overlap_by_bin,
)
from astroad_nb.protocols import REGISTRY, Run, get
from astroad_nb.protocols import galaxies as protocol

BINS = SEED_OVERLAP_BINS


def test_overlap_of_identical_and_disjoint_sets():
    a = np.random.default_rng(0).uniform(0.01, 0.09, 200)
    assert histogram_overlap(a, a) == pytest.approx(1.0)
    assert histogram_overlap(a, a[:100]) == pytest.approx(1.0, abs=0.35)
    assert histogram_overlap([0.01, 0.02, 0.03], [0.07, 0.08]) == 0.0
    # half of b in a's only bin: the normalised histograms share 0.5 of a's
    assert histogram_overlap([0.0105] * 4, [0.0105, 0.0805]) == pytest.approx(0.5)


def test_overlap_is_asymmetric_when_a_set_leaves_the_bins():
    a = np.full(10, 0.05)
    b = np.r_[np.full(5, 0.05), np.full(5, 0.5)]  # half of b above the last edge (0.1)
    assert histogram_overlap(a, b) == pytest.approx(0.5)  # share of a's histogram
    assert histogram_overlap(b, a) == pytest.approx(1.0)  # b's in-range part is all shared
    # raw counts: sizes matter too
    assert histogram_overlap([0.05] * 2, [0.05] * 10, normalize=False) == pytest.approx(1.0)
    assert histogram_overlap([0.05] * 10, [0.05] * 2, normalize=False) == pytest.approx(0.2)
    assert np.isnan(histogram_overlap([0.5], [0.05]))  # nothing of a inside the bins
    with pytest.raises(ValueError, match="increasing"):
        histogram_overlap([0.1], [0.1], bins=[0.1, 0.0])


def test_overlap_per_mass_bin_and_its_minimum_count():
    a = np.r_[np.full(6, 0.02), np.full(6, 0.05)]
    mass_a = np.r_[np.full(6, 9.5), np.full(6, 11.0)]
    b = np.r_[np.full(6, 0.02), np.full(6, 0.08), np.full(3, 0.05)]
    mass_b = np.r_[np.full(6, 9.5), np.full(6, 11.0), np.full(3, 12.5)]  # 12.5: last bin, closed
    out = histogram_overlap_by_bin(a, b, mass_a, mass_b)
    assert out.shape == (3,)
    assert out[0] == pytest.approx(1.0) and out[1] == 0.0 and np.isnan(out[2])
    out = histogram_overlap_by_bin(a, b, mass_a, mass_b, min_count=7)
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match="length"):
        histogram_overlap_by_bin(a, b, mass_a[:3], mass_b)


def test_score_table_on_a_hand_made_scores_frame():
    rng = np.random.default_rng(1)
    n = 30
    frames = [pd.DataFrame({"variant": v, "strength": s, "A": a, "log_mstar": rng.uniform(9, 12, n)})
              for v, s, a in (("observed", 0.0, rng.normal(0.03, 0.005, n)),
                              ("blur", 0.5, rng.normal(0.05, 0.005, n)),
                              ("blur", 1.0, rng.normal(0.08, 0.005, n)))]
    table = protocol.score_table(pd.concat(frames, ignore_index=True))
    assert list(table.index) == [("observed", 0.0), ("blur", 0.5), ("blur", 1.0)]
    assert table.loc[("blur", 1.0), "AUROC"] == 1.0
    assert table.loc[("blur", 0.5), "spearman_rho"] > 0.8
    assert table.loc[("blur", 1.0), "overlap"] == 0.0 and np.isnan(table["AUROC"].iloc[0])
    with pytest.raises(ValueError, match="reference"):
        protocol.score_table(frames[1])


def test_registered_with_three_presets():
    assert REGISTRY["galaxies"] == "astroad_nb.protocols.galaxies"
    assert get("galaxies") is protocol
    assert set(protocol.PRESETS) >= {"fast", "full", "seed"}
    from astroad_nb.models.ganomaly import SEED_SCORE_BOUNDS

    seed = protocol.PRESETS["seed"]
    assert (seed.size, seed.ngf, seed.ndf, seed.nz, seed.batch_size, seed.epochs, seed.lr) == (
        64, 64, 64, 128, 64, 50, 2e-4)
    assert tuple(seed.score_bounds) == tuple(SEED_SCORE_BOUNDS)
    assert not protocol.PRESETS["fast"].real
    with pytest.raises(ValueError, match="unknown variant"):
        protocol.simulate_variants(protocol.preset("fast", variants=("warp",)))


def test_tiny_run_table_json_round_trip_and_strongest_variant(tmp_path):
    run = protocol.run("fast", random_state=0, n_train=64, n_test=24, epochs=2,
                       variants=("shot_noise", "colour"), strengths=(0.5, 1.0))
    table = run.table()
    assert run.headline == "variants" and table.index.names == ["variant", "strength"]
    assert list(table.index) == [("observed", 0.0), ("shot_noise", 0.5), ("shot_noise", 1.0),
                                 ("colour", 0.5), ("colour", 1.0)]
    assert list(table.columns) == ["n", "mean_A", "median_A", "AUROC", "overlap",
                                   "overlap_M9.00-10.29", "overlap_M10.29-11.40",
                                   "overlap_M11.40-12.50", "spearman_rho"]
    assert (table["n"] == 24).all()
    assert table.loc[("shot_noise", 1.0), "AUROC"] > 0.7  # measured 0.83-0.96 over 4 seeds
    assert table.loc[("shot_noise", 1.0), "spearman_rho"] > 0
    assert "galaxy_zoo" not in run.tables and "real=False" in run.config["galaxy_zoo"]
    assert run.table("seed_reference").loc[("NoAGN", "overlap"), "value"] == 0.681
    # the held-out galaxies are the variants' galaxies
    sets = run.objects["sets"]
    assert (sets[protocol.OBSERVED].table["log_mstar"].to_numpy()
            == sets[("shot_noise", 1.0)].table["log_mstar"].to_numpy()).all()
    back = Run.from_json(run.to_json(tmp_path / "run.json"))
    pd.testing.assert_frame_equal(back.table(), table, check_dtype=False)
    assert set(back.tables) == set(run.tables)


def test_real_galaxy_zoo_is_skipped_without_data_and_runs_on_a_folder(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("ASTROAD_REAL_DATA", str(tmp_path / "absent"))
    p = protocol.preset("fast", size=32, n_real_test=4, epochs=1, nz=8, ngf=8, ndf=8)
    assert protocol.real_galaxy_zoo(p) is None
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.jpg")
    out = protocol.real_galaxy_zoo(p, root=tmp_path)
    assert len(out["train"]) == 8 and len(out["test"]) == 4
    assert list(out["table"].index) == [("galaxy_zoo", 0.0)]
    with pytest.raises(ValueError, match="n_real_test"):
        protocol.real_galaxy_zoo(protocol.preset("fast", n_real_test=20), root=tmp_path)


def test_galaxies_fast_equals_the_committed_run():
    import torch
    from protocol_runs import assert_same_table, committed_run

    want = committed_run("galaxies")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the committed run was made with one torch thread
    try:
        got = protocol.run("fast")
    finally:
        torch.set_num_threads(threads)
    assert want.system == "galaxies" and want.preset == got.preset
    assert_same_table(got.table(), want.table())
