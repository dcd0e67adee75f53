"""Stream readers, the StreamProblem container and the gala simulator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from astroad_nb.data.streams import (
    GAIA_COLUMNS,
    StreamProblem,
    gaia_errors,
    missing_astrometry,
    read_clusterbusters,
    read_gaia,
    read_gd1_dr2,
    simulate_foreground,
    simulate_gd1,
    simulate_stream,
    simulate_stream_problem,
    simulate_stream_problems,
)

warnings.filterwarnings("ignore", message=".*MilkyWayPotential2022.*")


def _gaia_frame(n=20, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "source_id": np.arange(n, dtype=np.int64) + 4_000_000_000_000_000_000,
        "ra": rng.uniform(100, 120, n), "dec": rng.uniform(10, 20, n),
        "parallax": rng.normal(0.2, 0.1, n), "pmra": rng.normal(-5, 1, n),
        "pmdec": rng.normal(-10, 1, n), "phot_g_mean_mag": rng.uniform(15, 20, n),
        "phot_bp_mean_mag": rng.uniform(15, 20, n), "phot_rp_mean_mag": rng.uniform(15, 20, n),
        "pmra_error": rng.uniform(0.1, 1, n),
    })
    frame.loc[3, ["parallax", "pmra", "pmdec"]] = np.nan  # a 2-parameter solution
    return frame


def _write(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".h5":
        frame.to_hdf(path, key="gaia")
    else:
        Table.from_pandas(frame).write(path, format="votable" if path.suffix == ".vot" else "fits")


@pytest.mark.parametrize("suffix", [".csv", ".fits", ".vot", ".h5"])
def test_read_gaia_formats_keep_ids_and_nan_rows(tmp_path, suffix):
    frame = _gaia_frame()
    path = tmp_path / f"gaia{suffix}"
    _write(frame, path)
    stars = read_gaia(path)
    assert stars.index.name == "source_id" and stars.index.dtype == np.int64
    assert stars.index.tolist() == frame["source_id"].tolist()
    assert len(stars) == 20 and "pmra_error" in stars.columns
    np.testing.assert_allclose(stars["pmdec"].to_numpy(), frame["pmdec"].to_numpy())
    report = missing_astrometry(stars)
    assert report["parallax"] == 1 and report["any"] == 1 and report["n_rows"] == 20


def test_read_gaia_format_argument_overrides_suffix(tmp_path):
    path = tmp_path / "gaia.dat"
    _gaia_frame().to_csv(path, index=False)
    assert len(read_gaia(path, format="csv")) == 20


def test_read_gaia_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "nopm.csv"
    _gaia_frame().drop(columns="pmdec").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"nopm\.csv.*\['pmdec'\].*found.*'pmra'"):
        read_gaia(path)


def test_read_gaia_uppercase_columns_and_unknown_suffix(tmp_path):
    path = tmp_path / "upper.csv"
    _gaia_frame().rename(columns=str.upper).to_csv(path, index=False)
    assert set(GAIA_COLUMNS) - {"source_id"} <= set(read_gaia(path).columns)
    with pytest.raises(ValueError, match="unknown format"):
        read_gaia(path, format="parquet")
    bad = tmp_path / "x.weird"
    bad.write_text("a,b\n")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_gaia(bad)


def test_read_gaia_missing_file():
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_gaia("nothere.csv")


# -- StreamProblem ------------------------------------------------------------------------------
def _problem(**kwargs):
    field = _gaia_frame().set_index("source_id")
    truth = np.zeros(len(field), bool)
    truth[:5] = True
    return StreamProblem(field=field, truth=truth, name="toy", **kwargs)


def test_support_of_one_is_allowed_and_views_agree():
    problem = _problem(support=[_gaia_frame()["source_id"][2]])
    assert problem.n_support == 1 and problem.n_members == 5
    assert problem.support_frame().index.tolist() == [problem.field.index[2]]
    assert problem.support_mask.sum() == 1 and problem.query_mask.sum() == 19


def test_support_of_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="support set is empty.*draw_support"):
        _problem(support=[])
    with pytest.raises(ValueError, match="support set is empty"):
        _problem(support=np.zeros(20, bool))


def test_support_must_be_in_field():
    with pytest.raises(ValueError, match="not in the field index"):
        _problem(support=[123])


def test_truth_length_and_unique_index_are_checked():
    field = _gaia_frame()
    with pytest.raises(ValueError, match=r"truth has shape \(3,\), expected \(20,\)"):
        StreamProblem(field=field, truth=np.ones(3, bool))
    with pytest.raises(ValueError, match="index must be unique"):
        StreamProblem(field=pd.concat([field, field]))


def test_draw_support_is_seeded_and_subset_keeps_support():
    problem = _problem()
    a = problem.draw_support(3, random_state=1)
    b = problem.draw_support(3, random_state=1)
    assert a.support.equals(b.support) and a.truth[a.support_mask].all()
    with pytest.raises(ValueError, match=r"n_support must be in \[1, 5\]"):
        problem.draw_support(6)
    sub = a.subset(np.arange(20) < 10)
    assert sub.n_stars == 10 and sub.n_support == 3


# -- the seed's layouts ---------------------------------------------------------------------------
def test_read_clusterbusters_layout(real_data):
    data = read_clusterbusters(real_data("streams", "clusterbusters"))
    assert len(data.train) == 23 and len(data.validation) == 3
    assert len(data.members_only) == 23
    assert data.unmatched["backgrounds_without_stream"] == ["stream-522", "stream-3696"]
    for problem in data.train:
        assert problem.support is None
        ratio = (problem.n_stars - problem.n_members) / problem.n_members
        assert 70 <= ratio <= 150  # foreground = 100x or 150x the members (72x for stream-5711)
    val = {p.name: p for p in data.validation}
    assert set(val) == {"stream-1667", "stream-1698", "stream-3775"}
    p = val["stream-1667"]
    assert p.n_support == 10 and p.truth[p.support_mask].all()
    assert (p.field.loc[p.support, "origin"] == "known").all()
    assert p.n_members == 94 + 10 and p.n_stars == 15694 + 10
    assert p.field["self_lab"].dtype == bool


def test_read_gd1_dr2(real_data):
    problem = read_gd1_dr2(real_data("streams", "gd1_gaia_dr2"))
    assert problem.truth is None and problem.n_support == 454 and problem.n_stars == 3724
    assert problem.field.index.dtype == np.int64
    assert problem.field["g_mean_psf_mag"].max() < 50  # PS1 1e20 sentinels became NaN
    assert "not ground truth" in problem.meta["support"]


# -- simulator ------------------------------------------------------------------------------------
def test_gaia_errors_grow_with_magnitude():
    err = gaia_errors([15, 20, 21])
    assert np.all(np.diff(err["parallax_error"]) > 0)
    assert 0.3 < err["parallax_error"][1] < 1.0
    assert np.all(gaia_errors([20], release="dr2")["pmra_error"] > err["pmra_error"][1])


def test_simulate_stream_shapes_seeding_and_limit():
    kw = dict(n_particles=60, distance=12.0, t_integrate=800.0, g_limit=20.5)
    a = simulate_stream(random_state=3, **kw)
    b = simulate_stream(random_state=3, **kw)
    c = simulate_stream(random_state=4, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ra"], c["ra"])
    assert a.shape[0] == 60 and {"ra", "dec", "pmra", "pmdec", "parallax", "radial_velocity",
                                 "phot_bp_mean_mag", "parallax_error"} <= set(a.columns)
    assert a["phot_g_mean_mag"].max() < 20.5 + 0.05  # limit applied to true G; noise is small
    assert a[["ra", "dec", "pmra", "pmdec"]].notna().all().all()


def test_simulated_gd1_lies_on_known_track():
    from astroad_nb.features.streams import stream_frame_coordinates

    stars = simulate_gd1(n_particles=300, random_state=0)
    coords = stream_frame_coordinates(stars, "GD1Koposov10")
    on = coords["phi1"].between(-90, 10)
    assert on.mean() > 0.8
    assert np.median(np.abs(coords.loc[on, "phi2"])) < 1.0
    assert 6 < np.median(stars["distance"]) < 11


def test_simulate_foreground_model_and_resampling():
    fg = simulate_foreground(500, (100, 110, 20, 30), 0)
    assert len(fg) == 500 and fg["ra"].between(100, 110).all() and fg["dec"].between(20, 30).all()
    assert set(fg["component"].unique()) <= {"thin_disc", "thick_disc", "halo"}
    assert fg["phot_g_mean_mag"].max() < 20.8
    pd.testing.assert_frame_equal(fg, simulate_foreground(500, (100, 110, 20, 30), 0))
    real = _gaia_frame(50).dropna()
    res = simulate_foreground(200, None, 1, background=real)
    assert len(res) == 200 and abs(res["pmra"].mean() - real["pmra"].mean()) < 0.5
    wrapped = simulate_foreground(100, (355, 365, 0, 5), 2)
    assert ((wrapped["ra"] >= 355) | (wrapped["ra"] <= 5)).all()
    with pytest.raises(ValueError, match="footprint"):
        simulate_foreground(10, None, 0)


def test_simulate_stream_problem_is_small_fast_and_consistent():
    problem = simulate_stream_problem(n_members=40, n_support=5, foreground_factor=20,
                                      distance=10.0, t_integrate=800.0, random_state=7)
    assert problem.n_members == 40 and problem.n_support == 5 and problem.n_stars == 40 * 21
    assert problem.truth[problem.support_mask].all()
    assert (problem.field.loc[problem.truth, "origin"] == "stream").all()


@pytest.mark.slow
def test_simulate_stream_problems_vary():
    problems = simulate_stream_problems(3, random_state=0, n_members=(10, 200),
                                        foreground_factor=10)
    sizes = [p.n_members for p in problems]
    assert len(set(sizes)) == 3 and all(10 <= s <= 200 for s in sizes)
