"""Stream features: the seed's 10 features, per-problem standardisation, stream frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.features.streams import (
    STREAM_FEATURES,
    StreamFeatureScaler,
    great_circle_frame,
    raw_stream_features,
    stream_features,
    stream_frame_coordinates,
)


def _field(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ra": rng.uniform(140, 160, n), "dec": rng.uniform(30, 40, n),
        "pmra": rng.normal(-5, 2, n), "pmdec": rng.normal(-10, 2, n),
        "phot_g_mean_mag": rng.uniform(15, 20, n), "phot_bp_mean_mag": rng.uniform(15, 20, n),
        "phot_rp_mean_mag": rng.uniform(15, 20, n),
    }, index=pd.Index(np.arange(n) * 7, name="source_id"))


def test_ten_named_features_standardised_per_problem():
    field = _field()
    X = stream_features(field)
    assert X.columns.tolist() == list(STREAM_FEATURES) and X.shape == (50, 10)
    assert X.index.equals(field.index)
    np.testing.assert_allclose(X.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(), 1, atol=1e-12)


def test_raw_values_follow_the_seed_formulas():
    field = _field(5)
    raw = raw_stream_features(field)
    np.testing.assert_allclose(raw["g_bp"], field.phot_g_mean_mag - field.phot_bp_mean_mag)
    np.testing.assert_allclose(raw["g_rp"], field.phot_g_mean_mag - field.phot_rp_mean_mag)
    ra, dec = np.radians(field.ra), np.radians(field.dec)
    np.testing.assert_allclose(raw["ang2"], field.pmra * np.cos(dec) ** 2)
    np.testing.assert_allclose(
        raw["ang0"], -field.pmdec * np.cos(ra) - field.pmra * np.cos(dec) * np.sin(dec) * np.sin(ra))


def test_scaler_applies_field_statistics_to_support():
    field = _field()
    X, scaler = stream_features(field, return_scaler=True)
    support = raw_stream_features(field.iloc[:3])
    pd.testing.assert_frame_equal(scaler.transform(support), X.iloc[:3])
    with pytest.raises(RuntimeError, match="not fitted"):
        StreamFeatureScaler().transform(support)


def test_nan_rows_dropped_kept_or_refused():
    field = _field()
    field.iloc[4, field.columns.get_loc("pmra")] = np.nan
    X = stream_features(field)
    assert len(X) == 49 and X.attrs["n_dropped"] == 1 and field.index[4] not in X.index
    assert stream_features(field, nan_policy="keep", standardize=False).iloc[4].isna().any()
    with pytest.raises(ValueError, match="1 of 50 stars have NaN"):
        stream_features(field, nan_policy="raise")


def test_missing_columns_named():
    with pytest.raises(ValueError, match=r"\['phot_bp_mean_mag'\]"):
        stream_features(_field().drop(columns="phot_bp_mean_mag"))


def test_frame_center_unwraps_ra_across_zero():
    field = _field()
    field["ra"] = np.r_[np.full(25, 359.0), np.full(25, 1.0)]
    X = stream_features(field, frame_center=(0.0, 35.0), standardize=False)
    assert set(np.round(X["ra"], 6)) == {-1.0, 1.0}


def test_gd1_frame_coordinates_of_a_point_on_the_track():
    import astropy.units as u
    import gala.coordinates as gc
    from astropy.coordinates import SkyCoord

    point = SkyCoord(gc.GD1Koposov10(phi1=-40 * u.deg, phi2=0.5 * u.deg)).icrs
    frame = pd.DataFrame({"ra": [point.ra.deg], "dec": [point.dec.deg], "pmra": [-5.0],
                          "pmdec": [-12.0]})
    coords = stream_frame_coordinates(frame, "GD1Koposov10")
    np.testing.assert_allclose(coords[["phi1", "phi2"]].to_numpy(), [[-40.0, 0.5]], atol=1e-8)
    assert coords.columns.tolist() == ["phi1", "phi2", "pm_phi1_cosphi2", "pm_phi2"]
    with pytest.raises(ValueError, match="unknown stream frame"):
        stream_frame_coordinates(frame, "NoSuchFrame")


def test_great_circle_frame_from_endpoints_puts_them_on_equator():
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    a = SkyCoord(ra=10 * u.deg, dec=5 * u.deg)
    b = SkyCoord(ra=40 * u.deg, dec=25 * u.deg)
    frame = great_circle_frame(endpoints=(a, b))
    coords = stream_frame_coordinates(pd.DataFrame({"ra": [10.0, 40.0], "dec": [5.0, 25.0]}),
                                      frame)
    np.testing.assert_allclose(coords["phi2"], 0, atol=1e-8)
