"""Light-curve container, readers and simulator (astroad_nb.data.lightcurves)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.lightcurves import (
    SUBCLASSES,
    TOP_CLASS,
    LightCurves,
    read_detections,
    read_lightcurve_folder,
    simulate_lightcurves,
)


@pytest.fixture(scope="module")
def sim():
    return simulate_lightcurves(6, random_state=7)


def _detections(oid_col="objectId"):
    return pd.DataFrame({
        oid_col: ["ZTF1", "ZTF1", "ZTF1", "ZTF2", "ZTF2"],
        "fid": [1, 2, 1, 2, 2],
        "mjd": [59000.1, 59000.2, 59001.1, 59002.0, 59003.0],
        "magpsf": [18.0, 17.5, 18.2, 19.0, 19.1],
        "sigmapsf": [0.05, 0.04, 0.06, 0.1, 0.1],
    })


# ------------------------------------------------------------------ classes
def test_subclass_tables_are_consistent():
    assert sum(len(v) for v in SUBCLASSES.values()) == 14
    assert TOP_CLASS["RRL"] == "periodic"
    assert TOP_CLASS["CV/Nova"] == "stochastic"
    assert TOP_CLASS["SLSN"] == "transient"


# ------------------------------------------------------------------ simulator
def test_simulator_shapes_classes_and_bands(sim):
    assert len(sim) == 14 * 6
    assert sorted(sim.meta["subclass"].unique()) == sorted(TOP_CLASS)
    assert (sim.meta["top_class"] == sim.meta["subclass"].map(TOP_CLASS)).all()
    assert sim.bands == ["g", "r"]
    assert list(sim.data.columns) == ["object_id", "band", "time", "mag", "magerr"]
    assert sim.data["time"].dtype == np.float64
    assert sim.ids == sorted(sim.ids)
    assert list(sim.meta.index) == sim.ids
    # every object has detections in both bands with these brightness ranges
    assert (sim.n_points > 0).all()


def test_simulator_is_reproducible():
    a = simulate_lightcurves(2, random_state=3)
    b = simulate_lightcurves(2, random_state=3)
    c = simulate_lightcurves(2, random_state=4)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.meta, b.meta)
    assert not a.data["mag"].equals(c.data["mag"])


def test_simulator_periods_in_ranges(sim):
    meta = sim.meta
    ranges = {"RRL": (0.3, 0.9), "CEP": (1.0, 50.0), "DSCT": (0.05, 0.25),
              "E": (0.2, 10.0), "LPV": (100.0, 1000.0)}
    for sub, (lo, hi) in ranges.items():
        period = meta.loc[meta["subclass"] == sub, "period"]
        assert period.between(lo, hi).all(), sub
    assert meta.loc[meta["top_class"] != "periodic", "period"].isna().all()


def test_simulator_errors_grow_with_magnitude(sim):
    data = sim.data
    bins = pd.cut(data["mag"], [10, 17, 18.5, 19.5, 20.2, 22])
    medians = data.groupby(bins, observed=True)["magerr"].median().to_numpy()
    assert np.all(np.diff(medians) > 0)
    assert data["magerr"].min() >= 0.015
    assert data["mag"].max() < 21.3  # detections only: brighter than the limiting mag


def test_simulator_transients_cover_the_event_window(sim):
    span = sim.data.groupby("object_id")["time"].agg(lambda t: t.max() - t.min())
    top = sim.meta["top_class"]
    assert span[top == "transient"].max() < 460
    assert span[top == "periodic"].median() > 300


def test_simulator_subset_of_subclasses_and_dict():
    lcs = simulate_lightcurves({"RRL": 2, "SNIa": 1}, random_state=0, bands=("g", "r", "i"))
    assert lcs.meta["subclass"].tolist() == ["RRL", "RRL", "SNIa"]
    assert lcs.bands == ["g", "i", "r"]
    with pytest.raises(ValueError, match="unknown subclass"):
        simulate_lightcurves(1, subclasses=["Nova"], random_state=0)


# ------------------------------------------------------------------ container
def test_container_access(sim):
    oid = sim.ids[0]
    assert oid in sim and "nope" not in sim
    assert list(iter(sim))[:2] == sim.ids[:2]
    frame = sim.get(oid)
    assert list(frame.columns) == ["time", "mag", "magerr", "band"]
    t, m, e = sim.arrays(oid, "g")
    assert t.dtype == np.float64 and t.size == (frame["band"] == "g").sum()
    assert np.all(np.diff(t) > 0)
    assert sim.arrays(oid, "u")[0].size == 0
    with pytest.raises(KeyError, match="nope"):
        sim.get("nope")
    sub = sim.subset(sim.ids[3:5])
    assert sub.ids == sim.ids[3:5]
    assert len(sub.to_frame()) == sim.n_points.iloc[3:5].sum()
    assert "84 objects" in repr(sim)


def test_object_without_detections_stays_as_empty_curve():
    data = pd.DataFrame({"object_id": ["a"], "band": ["g"], "time": [1.0], "mag": [18.0],
                         "magerr": [0.1]})
    meta = pd.DataFrame({"label": ["x", "y"]}, index=["a", "b"])
    lcs = LightCurves(data, meta)
    assert lcs.ids == ["a", "b"]
    assert lcs.get("b").empty
    assert lcs.n_points.tolist() == [1, 0]


def test_band_names_are_normalised():
    data = pd.DataFrame({"object_id": ["a", "a", "a"], "band": ["R", "g", "1"],
                         "time": [1.0, 2.0, 3.0], "mag": [18.0, 18.0, 18.0],
                         "magerr": [0.1, 0.1, 0.1]})
    assert LightCurves(data).bands == ["g", "r"]


# ------------------------------------------------------------------ read_detections
@pytest.mark.parametrize("oid_col", ["objectId", "oid"])
def test_read_detections_csv(tmp_path, oid_col):
    path = tmp_path / "det.csv"
    _detections(oid_col).to_csv(path, index=False)
    lcs = read_detections(path)
    assert lcs.ids == ["ZTF1", "ZTF2"]
    assert lcs.bands == ["g", "r"]
    t, m, _ = lcs.arrays("ZTF1", "g")
    assert t.tolist() == [59000.1, 59001.1] and m.tolist() == [18.0, 18.2]
    assert lcs.meta["n_det"].tolist() == [3, 2]


def test_read_detections_parquet_and_jd(tmp_path):
    frame = _detections().rename(columns={"mjd": "jd"})
    frame["jd"] += 2400000.5
    path = tmp_path / "det.parquet"
    frame.to_parquet(path)
    lcs = read_detections(path, bands=["r"])
    assert lcs.bands == ["r"]
    assert lcs.arrays("ZTF2", "r")[0] == pytest.approx([59002.0, 59003.0])


def test_read_detections_missing_column_names_it(tmp_path):
    path = tmp_path / "bad.csv"
    _detections().drop(columns="magpsf").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"bad\.csv.*'mag'.*magpsf.*columns found"):
        read_detections(path)


def test_read_detections_unknown_fid_is_an_error():
    frame = _detections()
    frame.loc[0, "fid"] = 7
    with pytest.raises(ValueError, match=r"unknown ZTF filter id\(s\) \[7\]"):
        read_detections(frame)


def test_read_detections_duplicates_and_nan_are_dropped_and_counted():
    frame = pd.concat([_detections(), _detections().iloc[[0]]], ignore_index=True)
    frame.loc[4, "magpsf"] = np.nan
    lcs = read_detections(frame)
    assert lcs.n_dropped == {"non_finite": 1, "duplicates": 1}
    assert len(lcs.to_frame()) == 4
    assert any("duplicate" in note for note in lcs.notes)


def test_read_detections_corrected_falls_back_per_curve():
    frame = _detections()
    frame["magpsf_corr"] = [15.0, 15.5, 15.1, np.nan, 16.0]
    frame["sigmapsf_corr"] = [0.01, 100.0, 0.01, np.nan, 0.02]
    lcs = read_detections(frame, use_corrected=True)
    assert lcs.arrays("ZTF1", "g")[1].tolist() == [15.0, 15.1]  # usable: corrected
    assert lcs.arrays("ZTF1", "r")[1].tolist() == [17.5]  # 100-mag placeholder: fallback
    assert lcs.arrays("ZTF2", "r")[1].tolist() == [19.0, 19.1]  # NaN: fallback
    assert "2 object/band curve(s)" in lcs.notes[0]
    plain = read_detections(_detections(), use_corrected=True)
    assert "no magpsf_corr" in plain.notes[0]


def test_read_detections_empty_and_one_point_curves():
    frame = _detections().iloc[[0]]
    lcs = read_detections(frame)
    assert lcs.n_points.tolist() == [1]
    empty = read_detections(_detections(), bands=["i"])
    assert empty.ids == ["ZTF1", "ZTF2"] and empty.n_points.tolist() == [0, 0]


# ------------------------------------------------------------------ read_lightcurve_folder
def _write_curve(path, n=5, band="g"):
    pd.DataFrame({"time": np.arange(n, dtype=float) + 58000, "mag": np.full(n, 18.0),
                  "magerr": np.full(n, 0.1), "band": [band] * n}).to_csv(path, index=False)


def test_read_folder_and_skip_bad_files(tmp_path):
    _write_curve(tmp_path / "obj1.csv")
    _write_curve(tmp_path / "obj2.csv", band="R")
    (tmp_path / "broken.csv").write_text("time,mag\n1,2\n")
    with pytest.raises(ValueError, match=r"broken\.csv.*magerr"):
        read_lightcurve_folder(tmp_path)
    lcs = read_lightcurve_folder(tmp_path, on_error="skip")
    assert lcs.ids == ["obj1", "obj2"]
    assert lcs.bands == ["g", "r"]
    assert [name for name, _ in lcs.skipped] == ["broken.csv"]
    assert lcs.meta["file"].tolist() == ["obj1.csv", "obj2.csv"]
    only = read_lightcurve_folder(tmp_path, pattern="obj1*.csv")
    assert only.ids == ["obj1"]


def test_read_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file matches"):
        read_lightcurve_folder(tmp_path)
    with pytest.raises(ValueError, match="on_error"):
        read_lightcurve_folder(tmp_path, on_error="ignore")


# ------------------------------------------------------------------ real data
def test_real_ztf_sn_ia_folder_subset(real_data):
    folder = real_data("lightcurves", "ztf_sn_ia", "light-curves")
    lcs = read_lightcurve_folder(folder, pattern="ZTF18aa*.csv")
    assert len(lcs) > 10 and not lcs.skipped
    assert {"g", "r"} <= set(lcs.bands)  # ZTF 'R' normalised
    assert (lcs.n_points > 0).all()


def test_real_sdss_rr_lyrae_folder_subset(real_data):
    folder = real_data("lightcurves", "sdss_rr_lyrae", "light-curves")
    lcs = read_lightcurve_folder(folder, pattern="10*.csv")
    assert lcs.bands == ["g", "i", "r", "u", "z"]
    assert lcs.n_points.median() > 200


def test_real_alerce_sne_detections(real_data):
    folder = real_data("lightcurves", "alerce_examples")
    lcs = read_detections(folder / "30_sne_detections_corr.csv", use_corrected=True)
    labels = pd.read_csv(folder / "30_sne_labels.csv", index_col="objectId")
    assert lcs.ids == sorted(labels.index)
    assert lcs.bands == ["g", "r"]
    assert lcs.data["mag"].between(12, 23).all()


@pytest.mark.slow
def test_real_full_folders(real_data):
    ztf = read_lightcurve_folder(real_data("lightcurves", "ztf_sn_ia", "light-curves"))
    sdss = read_lightcurve_folder(real_data("lightcurves", "sdss_rr_lyrae", "light-curves"))
    assert (len(ztf), len(sdss)) == (2289, 483)
    assert not ztf.skipped and not sdss.skipped
