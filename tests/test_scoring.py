"""Saved scoring pipelines and score_alerts (issue 12): bundle round trip, every input kind,
packets without cutouts or history, damaged files, resume after SIGKILL, Dask = in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import astroad_nb
from astroad_nb.data.alerts import CutoutSet
from astroad_nb.data.lightcurves import simulate_lightcurves
from astroad_nb.io import VersionMismatchError
from astroad_nb.models import HierarchicalDetector, IForest, RealBogusCNN
from astroad_nb.scoring import (
    BROKER_FEATURES,
    REASONS,
    SCORE_COLUMNS,
    FeatureMismatchError,
    ScoringPipeline,
    read_rejects,
    read_scores,
    score_alerts,
)
from astroad_nb.scoring.packets import light_curve_rows
from astroad_nb.scoring.simulate import simulate_alert_packets, write_avro_alerts

N_ALERTS = 24


def _codes(reason):
    return [c.split("(", 1)[0] for c in str(reason).split(";") if c]


def _triplets(n, size=63):
    """Noise triplets, a point source in the science and difference images of the reals
    (numpy only: the galsim simulator costs seconds here; the CNN needs only shapes)."""
    rng = np.random.default_rng(0)
    images = rng.normal(100.0, 5.0, size=(n, 3, size, size)).astype(np.float32)
    labels = np.arange(n) % 2
    yy, xx = np.mgrid[:size, :size] - size // 2
    blob = 200.0 * np.exp(-(xx**2 + yy**2) / 8.0)
    images[labels == 1, 0] += blob
    images[labels == 1, 2] += blob
    images[:, 2] -= 100.0
    return CutoutSet(images=images, labels=labels)


@pytest.fixture(scope="module")
def trained():
    """One small bundle (fitted once), its training curves and cutouts."""
    lcs = simulate_lightcurves(8, random_state=0)
    cut = _triplets(16)
    detector = HierarchicalDetector(RandomForestClassifier(n_estimators=25, random_state=0),
                                    IForest(n_estimators=25), random_state=0)
    cnn = RealBogusCNN(widths=(8,), epochs=1, batch_size=16, random_state=0)
    bundle = ScoringPipeline(detector, realbogus=cnn, features=BROKER_FEATURES,
                             min_detections=3, random_state=0).fit(lcs, cutouts=cut)
    return bundle, lcs, cut


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    return trained[0].save(tmp_path_factory.mktemp("bundle") / "night_model")


@pytest.fixture(scope="module")
def packets(trained):
    _, lcs, cut = trained
    return simulate_alert_packets(lcs, n_alerts=N_ALERTS, cutouts=cut, n_upper_limits=2,
                                  random_state=1)


@pytest.fixture(scope="module")
def night(packets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("night")
    write_avro_alerts(packets, folder, codec="snappy")
    return folder


@pytest.fixture(scope="module")
def reference(night, trained):
    return score_alerts(night, trained[0], partition_size=7)


def _same(a, b, *, exact=True):
    """Equal score tables; ``p_real`` to 1e-6 only: the channels-last CNN's float sums depend
    on the batch (partition) size in the last bits."""
    cols = [c for c in SCORE_COLUMNS if c not in ("source", "p_real")]
    a = a.sort_values("candid").reset_index(drop=True)
    b = b.sort_values("candid").reset_index(drop=True)
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=exact, rtol=1e-6)
    np.testing.assert_allclose(a["p_real"], b["p_real"], rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------ the bundle
def test_bundle_round_trip_gives_identical_scores(trained, saved, night, reference):
    bundle, lcs, cut = trained
    loaded = astroad_nb.load(saved)
    assert isinstance(loaded, ScoringPipeline)
    assert loaded.feature_names_ == bundle.feature_names_
    feats = bundle.compute_features(lcs)
    pd.testing.assert_frame_equal(loaded.score_features(feats), bundle.score_features(feats),
                                  check_exact=True)
    np.testing.assert_array_equal(loaded.p_real(cut.images), bundle.p_real(cut.images))
    _same(score_alerts(night, saved, partition_size=7), reference)
    # the bundle's own routing is the HierarchicalDetector's anomaly score
    X = bundle.preprocessor_.transform(feats[bundle.feature_names_])
    np.testing.assert_allclose(bundle.score_features(feats)["anomaly_score"],
                               bundle.detector_.anomaly_score(X))


def test_load_checks_version_and_feature_names(saved, tmp_path, monkeypatch):
    import shutil

    from astroad_nb.features import lightcurves as flc

    copy = shutil.copytree(saved, tmp_path / "old")
    config = json.loads((copy / "config.json").read_text())
    config["astroad_nb_version"] = "9.0.0"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(VersionMismatchError, match="9.0.0"):
        astroad_nb.load(copy)
    real = flc.feature_names
    monkeypatch.setattr(flc, "feature_names",
                        lambda *a, **k: [n.replace("Skew", "Skewness") for n in real(*a, **k)])
    with pytest.raises(FeatureMismatchError, match="Skew_1"):
        astroad_nb.load(saved)


def test_default_drop_list_is_the_alerce_seed_ban():
    from astroad_nb.protocols import alerce
    from astroad_nb.scoring import DEFAULT_DROP_FEATURES

    assert set(DEFAULT_DROP_FEATURES) == set(alerce._BANNED_BASES)


def test_dict_of_detectors_and_outside_probabilities(trained):
    bundle, lcs, _ = trained
    feats = bundle.compute_features(lcs)
    per_class = ScoringPipeline({c: IForest(n_estimators=20) for c in bundle.classes_},
                                features=BROKER_FEATURES, random_state=0).fit(lcs,
                                                                              features=feats)
    own = per_class.score_features(feats)  # no classifier: the best-fitting class detector
    assert own["anomaly_score"].notna().all() and own["p_top_class"].isna().all()
    probs = pd.DataFrame(0.0, index=feats.index, columns=list(bundle.classes_))
    probs["periodic"] = 1.0
    routed = per_class.score_features(feats, probs)
    assert (routed["top_class"] == "periodic").all()
    X = per_class.preprocessor_.transform(feats[per_class.feature_names_])
    k = list(per_class.classes_).index("periodic")
    z = (per_class.detectors_["periodic"].anomaly_score(X) - per_class.score_loc_[k]) \
        / per_class.score_scale_[k]
    np.testing.assert_allclose(routed["anomaly_score"], z)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['transient'\]"):
        per_class.score_features(feats, probs.drop(columns="transient"))


def test_outside_probabilities_in_score_alerts(trained, night, reference):
    bundle = trained[0]
    probs = pd.DataFrame(0.0, index=pd.Index(reference["candid"].to_numpy(dtype=np.int64),
                                             name="candid"), columns=list(bundle.classes_))
    probs["stochastic"] = 1.0
    probs = probs.iloc[1:]  # one alert without outside probabilities: the bundle's own
    scores = score_alerts(night, bundle, class_probabilities=probs)
    scored = scores[scores["anomaly_score"].notna()]
    missing = scored["candid"] == reference["candid"].iloc[0]
    assert (scored.loc[~missing, "top_class"] == "stochastic").all()
    assert scored.loc[~missing, "p_top_class"].eq(1.0).all()
    if missing.any():
        assert "outside_probabilities_missing" in scored.loc[missing, "reason"].iloc[0]


# ------------------------------------------------------------------------------ light curves
def test_light_curve_follows_alerce_detection_rules():
    cand = {"candid": 9, "jd": 2459000.9, "fid": 2, "magpsf": 18.0, "sigmapsf": 0.05, "rb": 0.9}
    prv = [{"candid": None, "jd": 2459000.1, "fid": 1, "magpsf": None, "diffmaglim": 20.0},
           {"candid": 1, "jd": 2459000.2, "fid": 1, "magpsf": 18.1, "sigmapsf": 0.1, "rb": 0.5},
           {"candid": 2, "jd": 2459000.3, "fid": 1, "magpsf": 18.2, "sigmapsf": 1.2, "rb": 0.9},
           {"candid": 3, "jd": 2459000.4, "fid": 1, "magpsf": 18.3, "sigmapsf": 0.1, "rb": 0.9},
           {"candid": 4, "jd": 2459000.4, "fid": 1, "magpsf": 18.4, "sigmapsf": 0.1, "rb": 0.9}]
    rows = light_curve_rows(cand, prv)
    assert [r[2] for r in rows] == [18.3, 18.0]  # upper limit, bogus, noisy, duplicate out
    assert rows[0][:2] == (2459000.4 - 2400000.5, "g")
    assert len(light_curve_rows(cand, prv, rb_min=None)) == 3


def test_min_detections_counts_both_bands_together_as_alerce_code():
    """ALeRCE's enough_alerts takes len(group.fid == band): all detections, not per band."""
    from astroad_nb.scoring.packets import build_batch

    def packet(candid, n_g, n_r, n_limits=4):
        prv = [{"candid": None, "jd": 2459000.0 + k / 100, "fid": 1, "magpsf": None}
               for k in range(n_limits)]
        prv += [{"candid": 100 * candid + k, "jd": 2459001.0 + k, "fid": 1 + (k >= n_g),
                 "magpsf": 18.0, "sigmapsf": 0.1, "rb": 0.9} for k in range(n_g + n_r)]
        cand = {"candid": candid, "jd": 2459100.0, "fid": 2, "magpsf": 18.0, "sigmapsf": 0.1,
                "rb": 0.9}
        return {"objectId": f"ZTF{candid}", "candidate": cand, "prv_candidates": prv}

    # 3 g + 2 r + the r candidate = 6 detections (3 per band); 2 g + 2 r + candidate = 5
    batch = build_batch([(packet(1, 3, 2), "s", 0), (packet(2, 2, 2), "s", 1)],
                        min_detections=6)
    assert batch.table["n_det"].tolist() == [6, 5]
    assert not any(r.startswith("few_detections") for r in batch.reasons[0])
    assert "few_detections(5<6)" in batch.reasons[1]


def test_p_real_fast_path_equals_fp32(trained):
    """The scorer's CNN call (precision="auto", channels_last) equals fp32 on a CPU without
    native bf16 (within 1e-5); with native bf16 it is bf16 autocast (within 1e-2)."""
    from astroad_nb.models.cnn import native_bf16

    bundle, _, cut = trained
    fast = bundle.p_real(cut.images)
    ref = bundle.realbogus_.predict_proba(cut.images, precision="fp32")[:, 1]
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-2 if native_bf16() else 1e-5)
    np.testing.assert_array_equal(bundle.p_real(cut.images, precision="fp32",
                                                channels_last=False), ref)


# ------------------------------------------------------------------------------ inputs
def test_every_alert_gets_a_row_with_named_reasons(reference):
    assert len(reference) == N_ALERTS and not reference.attrs["rejects"]
    assert list(reference.columns) == SCORE_COLUMNS
    assert reference["candid"].is_unique
    scored = reference["anomaly_score"].notna()
    assert scored.sum() >= N_ALERTS - 4
    assert reference.loc[scored, "rank"].tolist() == list(range(1, scored.sum() + 1))
    assert reference["p_real"].between(0, 1).all()
    assert reference.loc[~scored, "reason"].str.len().gt(0).all()


def test_real_ztf_alerts_end_to_end(real_data, trained):
    folder = real_data("ztf_alerts")
    scores = score_alerts(folder, trained[0], partition_size=50)
    rejects = scores.attrs["rejects"]
    assert len(scores) + len(rejects) == 98 == scores.attrs["summary"]["n_read"]
    for reason in scores["reason"]:
        assert set(_codes(reason)) <= set(REASONS)
    unscored = scores["anomaly_score"].isna()
    assert scores.loc[unscored, "reason"].map(lambda r: "few_detections" in r
                                              or "no_features" in r).all()
    assert scores["anomaly_score"].notna().sum() >= 5
    assert scores["p_real"].notna().sum() == len(scores)  # every real packet has 3 cutouts
    assert scores["candid"].is_unique


def test_tar_of_avro_files_is_read_from_the_stream(night, trained, reference, tmp_path):
    tar_path = tmp_path / "ztf_public_20260101.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for path in sorted(night.glob("*.avro")):
            tar.add(path, arcname=f"20260101/{path.name}")
    scores = score_alerts(tar_path, trained[0], partition_size=5)
    _same(scores, reference)
    assert scores["source"].str.startswith(f"{tar_path}:20260101/").all()


def test_broker_parquet_export(night, trained, reference, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from astroad_nb.scoring.sources import read_avro_bytes

    decoded = [r for p in sorted(night.glob("*.avro")) for r in read_avro_bytes(p.read_bytes())[0]]
    rows = [dict(p, cdsxmatch="Unknown") for p in decoded]  # a broker's own column
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "fink.parquet", row_group_size=5)
    table = pq.read_table(tmp_path / "fink.parquet")
    assert pa.types.is_struct(table.schema.field("candidate").type)
    assert pa.types.is_binary(table.schema.field("cutoutScience").type.field("stampData").type)
    _same(score_alerts(tmp_path / "fink.parquet", trained[0], partition_size=8), reference)


def test_packets_without_cutouts_are_scored_from_their_light_curve(packets, trained,
                                                                   reference):
    bare = [dict(p, cutoutScience=None, cutoutTemplate=None, cutoutDifference=None)
            if i % 5 == 0 else p for i, p in enumerate(packets)]
    scores = score_alerts(bare, trained[0]).sort_values("candid").reset_index(drop=True)
    ref = reference.sort_values("candid").reset_index(drop=True)
    no_cut = np.arange(len(bare)) % 5 == 0
    assert scores.loc[no_cut, "p_real"].isna().all()
    assert scores.loc[no_cut, "reason"].map(lambda r: "no_cutouts" in _codes(r)).all()
    np.testing.assert_array_equal(scores["anomaly_score"], ref["anomaly_score"])
    np.testing.assert_array_equal(scores.loc[~no_cut, "p_real"], ref.loc[~no_cut, "p_real"])


def test_truncated_packet_and_packet_without_history(packets, trained, tmp_path):
    no_prv = dict(packets[0], prv_candidates=None)
    paths = write_avro_alerts([no_prv, *packets[1:6]], tmp_path / "in", codec="deflate")
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[:len(data) // 2])  # a partial download
    not_alert = tmp_path / "in" / "zz_not_an_alert.avro"
    not_alert.write_bytes(b"not avro at all")
    scores = score_alerts(tmp_path / "in", trained[0], out=tmp_path / "out.parquet")
    rejects = read_rejects(tmp_path / "out.parquet")
    assert len(scores) == 5 and len(rejects) == 2
    assert set(rejects["reason"]) == {"unreadable_file"}
    assert {os.path.basename(s) for s in rejects["source"]} == {paths[3].name, not_alert.name}
    row = scores[scores["candid"] == no_prv["candid"]].iloc[0]
    assert {"no_prv_candidates", "few_detections"} <= set(_codes(row["reason"]))
    assert np.isnan(row["anomaly_score"]) and row["p_real"] >= 0
    assert scores["anomaly_score"].notna().sum() == 4
    summary = scores.attrs["summary"]
    assert summary["n_read"] == 7 and summary["reasons"]["unreadable_file"] == 2


def test_feature_tables_are_one_more_input_kind(trained, tmp_path):
    """What score_catalogue did: precomputed features, ids kept, in memory or from a file."""
    bundle, lcs, _ = trained
    feats = bundle.compute_features(lcs)
    expected = bundle.score_features(feats)
    scores = score_alerts(feats, bundle, partition_size=30).set_index("objectId")
    np.testing.assert_array_equal(scores.loc[feats.index, "anomaly_score"],
                                  expected["anomaly_score"])
    assert scores["p_real"].isna().all() and scores["candid"].isna().all()
    feats.to_parquet(tmp_path / "features.parquet")
    again = score_alerts(tmp_path / "features.parquet", bundle).set_index("objectId")
    np.testing.assert_array_equal(again.loc[feats.index, "anomaly_score"],
                                  expected["anomaly_score"])
    with pytest.raises(ValueError, match="lack"):
        bundle.score_features(feats.drop(columns=bundle.feature_names_[0]))


# ------------------------------------------------------------------------------ runs
def test_resume_after_sigkill_gives_the_same_rows(night, saved, trained, reference,
                                                  tmp_path):
    out = tmp_path / "night.parquet"
    cmd = [sys.executable, "-m", "astroad_nb.cli", "score", str(night), "--model", str(saved),
           "--out", str(out), "--partition-size", "1", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    manifest = out / "_manifest.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 4:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(manifest.read_text().splitlines()) - 1
    assert 3 <= done < N_ALERTS, f"the run was not cut mid-way ({done} partitions done)"
    # the rerun also shows that the in-process path never imports Dask
    code = ("import sys\nfrom astroad_nb.cli import main\nrc = main(sys.argv[1:])\n"
            "print('dask modules:', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))\nsys.exit(rc)")
    rerun = subprocess.run([sys.executable, "-c", code, *cmd[3:-1]], env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "dask modules: []" in rerun.stdout
    assert f"read {N_ALERTS} alert(s)" in rerun.stdout and "top 10:" in rerun.stdout
    final = read_scores(out)
    _same(final, reference)
    lines = manifest.read_text().splitlines()[1:]
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys)) == N_ALERTS
    assert len(list(out.glob("part-*.parquet"))) == N_ALERTS
    assert (tmp_path / "night.rejects.parquet").exists()


def test_two_dask_workers_equal_the_in_process_result(night, saved, reference, tmp_path):
    pytest.importorskip("distributed")
    scores = score_alerts(night, saved, out=tmp_path / "dask.parquet", partition_size=6,
                          workers=2)
    _same(scores, reference, exact=False)
    assert read_scores(tmp_path / "dask.parquet")["candid"].is_unique


def test_workers_without_dask_say_which_extra_to_install(night, saved, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without [scale] sees
    monkeypatch.delitem(sys.modules, "astroad_nb.scoring.distributed", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"astroad_nb\[scale\]"):
        score_alerts(night, saved, out=tmp_path / "nodask.parquet", partition_size=6, workers=2)
