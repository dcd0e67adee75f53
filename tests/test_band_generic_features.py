"""Light-curve features in any survey's bands (issue 12, point 5): CRTS V, Gaia G/BP/RP, Rubin
ugrizy fluxes with negative values, the bands= mapping, and named errors for unknown bands."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import astroad_nb
from astroad_nb.data.bands import (
    BANDS,
    UnknownBandError,
    adjacent_band_pairs,
    canonical_band,
    sort_bands,
)
from astroad_nb.data.lightcurves import LightCurves, simulate_lightcurves
from astroad_nb.features.lightcurves import (
    FEATURE_NAMES,
    ALeRCEPreprocessor,
    extract_features,
    feature_names,
)

_COLS = ["object_id", "band", "time", "mag", "magerr"]


def _periodic(rng, object_id, band, period, *, n_nights=90, mean=16.0, amp=0.4, err=0.05):
    """A CRTS-like cadence: nights spread over 8 years, four visits 10 minutes apart."""
    nights = np.sort(rng.choice(np.arange(53_500, 56_500), n_nights, replace=False))
    t = (nights[:, None] + np.arange(4) * 0.007).ravel() + rng.uniform(0, 0.3, n_nights * 4)
    t = np.sort(t)
    m = mean + amp * np.sin(2 * np.pi * t / period) + rng.normal(0, err, t.size)
    return pd.DataFrame({"object_id": object_id, "band": band, "time": t, "mag": m,
                         "magerr": err})


@pytest.fixture(scope="module")
def crts():
    rng = np.random.default_rng(12)
    periods = {f"CSS_{k}": p for k, p in enumerate((0.31, 0.47, 0.58, 0.66))}
    frame = pd.concat([_periodic(rng, oid, "V", p) for oid, p in periods.items()])
    return LightCurves(frame), pd.Series(periods)


@pytest.fixture(scope="module")
def ztf_features():
    return extract_features(simulate_lightcurves(2, random_state=3), periodogram=False)


# ------------------------------------------------------------------ the band table
def test_band_table_spellings_and_wavelength_order():
    assert [canonical_band(b) for b in ("v", "V", "G", "g", "bp", "RP", "Y", "R", 2, "3")] == [
        "V", "V", "G", "g", "BP", "RP", "y", "r", "r", "i"]
    assert canonical_band("W1") == "w1"  # not in the table: lower-cased, as LightCurves does
    assert sort_bands(["y", "u", "RP", "G", "BP", "q"]) == ["u", "BP", "G", "RP", "y", "q"]
    assert adjacent_band_pairs(["i", "g", "r", "q"]) == [("g", "r"), ("r", "i")]
    waves = [b.wavelength_nm for b in BANDS.values()]
    assert waves == sorted(waves)
    with pytest.raises(ValueError, match="filter id"):
        canonical_band(7)


def test_feature_names_suffix_rule_and_defaults_unchanged():
    assert FEATURE_NAMES == feature_names(("g", "r"))
    assert FEATURE_NAMES[0] == "Amplitude_1" and "g-r_max" in FEATURE_NAMES
    assert "min_mag_3" in feature_names(("g", "r", "i"))  # all ZTF: fid suffixes
    assert {"Amplitude_2", "Amplitude_o"} <= set(feature_names(("g", "r", "o")))  # ZTF + ATLAS
    rubin = feature_names(tuple("ugrizy"), periodogram=False, kind="flux")
    assert {"Amplitude_u", "Amplitude_g", "max_flux_y", "z-y_mean"} <= set(rubin)
    assert not any(n.startswith("min_mag") for n in rubin)
    gaia = feature_names(("RP", "G", "BP"), periodogram=False, spm=False, drw=False)
    assert gaia[0] == "Amplitude_RP"  # per-band blocks in the order asked
    assert [n for n in gaia if "-" in n] == ["BP-G_mean", "BP-G_max", "G-RP_mean", "G-RP_max"]
    with pytest.raises(ValueError, match="bands=None"):
        feature_names(None)
    with pytest.raises(ValueError, match="kind"):
        feature_names(kind="counts")


# ------------------------------------------------------------------ CRTS V
def test_crts_v_curves_give_finite_v_features(crts):
    lcs, periods = crts
    with pytest.raises(UnknownBandError, match=r"only in band\(s\) \['V'\]") as info:
        extract_features(lcs)  # the ZTF default would be 50 NaN columns per object
    assert info.value.found == ["V"] and info.value.expected == ["g", "r"]
    assert info.value.object_ids == sorted(periods.index)
    feats = extract_features(lcs, bands=("V",), spm=False)
    assert list(feats.columns) == feature_names(("V",), spm=False)
    assert feats.attrs["bands"] == ["V"]
    assert np.isfinite(feats.to_numpy()).all()
    assert (feats["n_det_V"] == 360).all()
    ratio = feats["Multiband_period"] / periods.reindex(feats.index)
    assert ((ratio - 1).abs() < 0.01).all()
    lower = extract_features(lcs, bands=["v"], spm=False)  # any spelling of V
    pd.testing.assert_frame_equal(lower, feats)
    data_bands = extract_features(lcs, bands=None, spm=False)
    pd.testing.assert_frame_equal(data_bands, feats)


def test_real_v_band_supernova_light_curve(real_data):
    """SN 2012aw (type IIP), Johnson V from the Open Supernova Catalog's files."""
    path = real_data("lightcurves", "alerce_examples", "SN2012aw", "sn2012aw.out_V")
    table = pd.read_csv(path, sep=r"\s+", skiprows=4, header=None, usecols=[0, 1, 2],
                        names=["time", "mag", "magerr"])
    table.insert(0, "band", "V")
    table.insert(0, "object_id", "SN2012aw")
    feats = extract_features(LightCurves(table), bands=("V",))
    row = feats.loc["SN2012aw"]
    assert row["n_det_V"] == table["time"].nunique() == 109  # 111 rows, two repeated epochs
    assert np.isfinite(row.to_numpy()).mean() > 0.95
    assert row["min_mag_V"] == pytest.approx(table["mag"].min())
    assert row["SPM_tau_fall_V"] > 10  # a plateau supernova fades over months
    assert row["LinearTrend_V"] > 0  # fading: magnitudes grow


# ------------------------------------------------------------------ Gaia G/BP/RP
def test_gaia_g_bp_rp_keep_their_names_in_a_table():
    rng = np.random.default_rng(5)
    parts = []
    for band, offset in (("G", 0.0), ("BP", 0.4), ("RP", -0.6)):
        part = _periodic(rng, "gaia_1", band, 0.61, n_nights=12, mean=15 + offset)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    feats = extract_features(frame, bands=None, spm=False, drw=False)
    assert feats.attrs["bands"] == ["BP", "G", "RP"]
    row = feats.loc["gaia_1"]
    for band in ("G", "BP", "RP"):
        assert row[f"n_det_{band}"] == 48 and np.isfinite(row[f"Amplitude_{band}"])
    assert row["BP-G_mean"] == pytest.approx(row["Mean_BP"] - row["Mean_G"])
    assert row["BP-G_mean"] == pytest.approx(0.4, abs=0.05)
    assert row["G-RP_max"] == pytest.approx(row["min_mag_G"] - row["min_mag_RP"])
    assert "Amplitude_1" not in feats.columns  # Gaia G is not ZTF g


# ------------------------------------------------------------------ fluxes
def test_flux_features_on_a_hand_made_curve_with_negative_fluxes():
    t = np.arange(12.0)
    flux = np.array([-3.0, -1.0, 0.5, 2.0, 8.0, 20.0, 14.0, 9.0, 5.0, 2.0, 0.0, -2.0])
    rows = [{"object_id": "sn", "band": "g", "time": a, "flux": f, "fluxerr": 1.0}
            for a, f in zip(t, flux, strict=True)]
    rows += [{"object_id": "sn", "band": "r", "time": a + 0.5, "flux": 2 * f, "fluxerr": 1.0}
             for a, f in zip(t, flux, strict=True)]
    rows += [{"object_id": "faint", "band": b, "time": a + 0.3 * k, "flux": s, "fluxerr": 1.0}
             for k, b in enumerate("gr") for a, s in zip(t, np.tile([-1.0, 0.2], 6),
                                                         strict=True)]
    rows += [{"object_id": "sn", "band": "g", "time": 0.0, "flux": 50.0, "fluxerr": 1.0},
             {"object_id": "sn", "band": "g", "time": 30.0, "flux": np.nan, "fluxerr": 1.0}]
    feats = extract_features(pd.DataFrame(rows), periodogram=False, drw=False)
    assert feats.attrs["kind"] == "flux"
    assert feats.attrs["n_dropped"] == {"non_finite": 1, "duplicates": 1}  # first epoch kept
    assert list(feats.columns) == feature_names(periodogram=False, drw=False, kind="flux")
    sn = feats.loc["sn"]
    assert sn["Mean_1"] == pytest.approx(flux.mean())
    assert sn["Amplitude_1"] == pytest.approx((flux.max() - flux.min()) / 2)
    assert sn["max_flux_1"] == 20.0 and sn["max_flux_2"] == 40.0
    assert sn["g-r_mean"] == pytest.approx(2.5 * np.log10(2.0))  # r twice as bright
    assert sn["g-r_max"] == pytest.approx(2.5 * np.log10(2.0))
    assert np.isfinite(sn["SPM_tau_rise_1"]) and np.isfinite(sn["SPM_chi_2"])
    faint = feats.loc["faint"]  # mean flux < 0: magnitudes and relative features undefined
    assert np.isfinite(faint["Std_1"]) and faint["Mean_1"] < 0
    assert np.isnan(faint["Meanvariance_1"]) and np.isnan(faint["ExcessVar_1"])
    assert np.isnan(faint["g-r_mean"])
    assert np.isfinite(faint["g-r_max"])  # both peaks are positive


def test_rubin_elasticc_fluxes_with_negative_values(real_data):
    """Real ELAsTiCC (simulated Rubin) forced photometry: FLUXCAL in ugrizY, 39 % negative."""
    path = real_data("lightcurves", "alerce_examples", "lc_sample_wo_nev_comp.parquet")
    table = pd.read_parquet(path).reset_index()
    keep = table["SNID"].isin(pd.unique(table["SNID"])[:60])
    frame = table[keep].rename(columns={"SNID": "object_id", "BAND": "band", "MJD": "time",
                                        "FLUXCAL": "flux", "FLUXCALERR": "fluxerr"})
    assert (frame["flux"] < 0).mean() > 0.3
    feats = extract_features(frame, bands=None, periodogram=False)
    assert feats.attrs["bands"] == ["u", "g", "r", "i", "z", "y"]  # ELAsTiCC's Y is Rubin y
    assert list(feats.columns) == feature_names(tuple("ugrizy"), periodogram=False, kind="flux")
    assert len(feats) == 60 and not np.isinf(feats.to_numpy()).any()
    counts = frame.groupby(["object_id", "band"]).size().unstack(fill_value=0)
    observed = feats["n_det_r"] >= 2
    assert observed.mean() >= 0.85  # measured 0.9
    assert (feats.loc[observed, "n_det_r"] == counts.loc[feats.index[observed], "r"]).all()
    for name in ("Amplitude_r", "Std_r", "StetsonK_r", "max_flux_r", "ReducedChi2_r"):
        assert feats.loc[observed, name].notna().mean() > 0.9, name
    negative = observed & (feats["Mean_r"] <= 0)
    assert negative.any() and feats.loc[negative, "Amplitude_r"].notna().all()
    assert feats.loc[negative, "Meanvariance_r"].isna().all()
    both = (feats["Mean_g"] > 0) & (feats["Mean_r"] > 0)
    expected = -2.5 * np.log10(feats.loc[both, "Mean_g"] / feats.loc[both, "Mean_r"])
    np.testing.assert_allclose(feats.loc[both, "g-r_mean"], expected)
    enough = feats["n_det_i"] >= 8
    assert feats.loc[enough, "SPM_chi_i"].notna().mean() > 0.8


# ------------------------------------------------------------------ bands= mapping
def test_bands_mapping_treats_one_band_as_another():
    rng = np.random.default_rng(8)
    ztf = pd.concat([_periodic(rng, "star", b, 0.5, n_nights=10) for b in ("g", "r")])
    atlas = _periodic(rng, "star", "o", 0.5, n_nights=10)
    clash = ztf[ztf["band"] == "r"].iloc[:1].assign(band="o", mag=99.0)  # same time as an r
    lcs = LightCurves(pd.concat([ztf, atlas, clash], ignore_index=True))
    merged = extract_features(lcs, bands={"g": "g", "r": "r", "o": "r"}, periodogram=False,
                              spm=False, drw=False)
    assert list(merged.columns) == feature_names(periodogram=False, spm=False, drw=False)
    assert merged.loc["star", "n_det_2"] == 40 + 41 - 1  # the clashing o point is dropped
    assert merged.loc["star", "min_mag_2"] < 99  # ...and r, listed first, won
    assert merged.loc["star", "Duration_2"] >= merged.loc["star", "Duration_1"] - 3000
    alone = extract_features(lcs, bands={"o": "r"}, periodogram=False, spm=False, drw=False)
    plain = extract_features(lcs, bands=("o",), periodogram=False, spm=False, drw=False)
    assert plain.columns[0] == "Amplitude_o" and alone.columns[0] == "Amplitude_2"
    np.testing.assert_array_equal(alone.to_numpy(), plain.to_numpy())


def test_table_and_container_give_identical_ztf_features():
    lcs = simulate_lightcurves(2, random_state=9)
    from_container = extract_features(lcs, drw=False)
    from_table = extract_features(lcs.to_frame(), drw=False)
    pd.testing.assert_frame_equal(from_container, from_table, check_exact=True)


# ------------------------------------------------------------------ unknown bands
def test_unknown_band_objects_raise_or_are_reported():
    rng = np.random.default_rng(3)
    frame = pd.concat([_periodic(rng, "ztf", "g", 0.4, n_nights=6),
                       _periodic(rng, "crts", "V", 0.4, n_nights=6),
                       pd.DataFrame([("single", "r", 1.0, 17.0, 0.1)], columns=_COLS)])
    lcs = LightCurves(frame)
    with pytest.raises(UnknownBandError) as info:
        extract_features(lcs, periodogram=False)
    assert info.value.object_ids == ["crts"] and "crts" in str(info.value)
    with pytest.warns(UserWarning, match="only outside the bands"):
        feats = extract_features(lcs, periodogram=False, on_unknown_band="nan")
    assert feats.attrs["unknown_band_objects"] == {"crts": ["V"]}
    assert feats.loc["crts"].isna().all() and feats.loc["ztf"].notna().any()
    with pytest.raises(ValueError, match="on_unknown_band"):
        extract_features(lcs, on_unknown_band="skip")


def test_preprocessor_refuses_bands_it_was_not_fitted_on(crts, ztf_features):
    lcs, _ = crts
    pre = ALeRCEPreprocessor().fit(ztf_features)
    assert pre.bands_ == ["g", "r"]
    v_feats = extract_features(lcs, bands=("V",), periodogram=False)
    with pytest.raises(UnknownBandError, match=r"fitted on .*\['g', 'r'\].*\['V'\] only"):
        pre.transform(v_feats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        nan_rows = extract_features(lcs, periodogram=False, on_unknown_band="nan")
    with pytest.raises(UnknownBandError, match="detections only in band") as info:
        pre.transform(nan_rows)
    assert info.value.object_ids == list(nan_rows.index)
    mixed = pd.concat([ztf_features, v_feats.iloc[:1]])  # a V-only row beside ZTF rows
    with pytest.raises(UnknownBandError, match="only in band") as info:
        pre.transform(mixed)
    assert info.value.object_ids == [v_feats.index[0]]
    assert pre.transform(ztf_features).shape[0] == len(ztf_features)  # own bands: fine
    assert ALeRCEPreprocessor().fit(ztf_features.to_numpy()).bands_ == []


def test_preprocessor_bands_survive_save_and_load(tmp_path, ztf_features):
    pre = ALeRCEPreprocessor().fit(ztf_features)
    back = astroad_nb.load(astroad_nb.save(pre, tmp_path / "pre"))
    assert back.bands_ == ["g", "r"]
    np.testing.assert_array_equal(back.transform(ztf_features), pre.transform(ztf_features))
