"""The data floor's shared tables: ZTF bands, real/bogus labels, and the simulators' tables."""

import re

import numpy as np
import pytest

from astroad_nb.data.alerts import BOGUS_KINDS, REAL_KINDS, simulate_triplets
from astroad_nb.data.alerts.kinds import TRIPLET_KINDS
from astroad_nb.data.bands import BAND_TO_ZTF_FID, ZTF_FID_TO_BAND, band_name
from astroad_nb.data.labels import (
    REALBOGUS_TEXT,
    parse_realbogus_label,
    parse_realbogus_labels,
)
from astroad_nb.data.lightcurves import SUBCLASSES, TOP_CLASS, simulate_lightcurves
from astroad_nb.data.lightcurves.models import (
    SUBCLASS_MODELS,
    periodic_curves,
    stochastic_curves,
    transient_curves,
)


# -- bands -----------------------------------------------------------------------------------
def test_band_map_round_trips():
    assert ZTF_FID_TO_BAND == {1: "g", 2: "r", 3: "i"}
    assert {ZTF_FID_TO_BAND[fid]: fid for fid in ZTF_FID_TO_BAND} == BAND_TO_ZTF_FID
    for band, fid in BAND_TO_ZTF_FID.items():
        assert band_name(fid) == band
        assert band_name(np.int64(fid)) == band
        assert band_name(float(fid)) == band
        assert band_name(f" {fid} ") == band


@pytest.mark.parametrize("bad", [0, 4, 2.5, "x", "", None, True])
def test_band_name_rejects_unknown_ids_and_names_the_value(bad):
    with pytest.raises(ValueError, match=re.escape(f"unknown ZTF filter id {bad!r}")):
        band_name(bad)


# -- labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (1, 1), (0, 0), (True, 1), (False, 0), (np.int64(1), 1), (np.bool_(False), 0), (1.0, 1),
    ("real", 1), ("bogus", 0), ("REAL", 1), (" Bogus ", 0), ("1", 1), ("0", 0),
    ("true", 1), ("false", 0), ("T", 1), ("f", 0),
])
def test_label_parser_accepts_the_documented_values(value, expected):
    label = parse_realbogus_label(value, where="cand-7")
    assert label == expected and type(label) is int
    assert REALBOGUS_TEXT[label] == ("real" if expected else "bogus")


@pytest.mark.parametrize("value", [2, -1, 0.5, float("nan"), "maybe", "", "yes", None])
def test_label_parser_rejects_others_naming_the_item_and_the_accepted_values(value):
    with pytest.raises(ValueError) as info:
        parse_realbogus_label(value, where="cand-7")
    message = str(info.value)
    assert "'cand-7'" in message and repr(value) in message
    assert "'real'" in message and "'bogus'" in message and "'t'" in message


def test_label_parser_without_item():
    with pytest.raises(ValueError, match=r"^label must be 1/'real' or 0/'bogus', got 'x'"):
        parse_realbogus_label("x")


def test_label_column_parser_keeps_unknowns_and_names_the_source():
    labels = parse_realbogus_labels(["real", "BOGUS", "", "unknown", "t", "0"])
    assert labels.tolist() == [1, 0, -1, -1, 1, 0] and labels.dtype == np.int64
    assert parse_realbogus_labels([1.0, np.nan, 0.0, -1]).tolist() == [1, -1, 0, -1]
    with pytest.raises(ValueError, match=r"stamps\.fits\[label\].*'maybe'"):
        parse_realbogus_labels(["real", "maybe"], "stamps.fits[label]")
    with pytest.raises(ValueError, match=r"x\.npz: label values .*2\.0"):
        parse_realbogus_labels([1, 2], "x.npz")


# -- simulator tables ------------------------------------------------------------------------
def test_triplet_kind_table_covers_every_documented_kind():
    assert set(TRIPLET_KINDS) == {*REAL_KINDS, *BOGUS_KINDS}
    assert all(TRIPLET_KINDS[k].label == 1 for k in REAL_KINDS)
    assert all(TRIPLET_KINDS[k].label == 0 for k in BOGUS_KINDS)
    documented = re.findall(r"^    ``(\w+)``$", simulate_triplets.__doc__, flags=re.M)
    assert documented == list(BOGUS_KINDS)


def test_subclass_table_covers_every_subclass_with_its_top_class_model():
    assert set(SUBCLASS_MODELS) == set(TOP_CLASS)
    model_of = {"transient": transient_curves, "stochastic": stochastic_curves,
                "periodic": periodic_curves}
    for top, subclasses in SUBCLASSES.items():
        for sub in subclasses:
            assert SUBCLASS_MODELS[sub].simulate is model_of[top], sub
    assert len(SUBCLASS_MODELS) == 14  # "the 14 ALeRCE subclasses" of simulate_lightcurves


def test_every_table_row_simulates():
    lcs = simulate_lightcurves(1, random_state=0)
    assert lcs.meta["subclass"].tolist() == list(TOP_CLASS)
    cs = simulate_triplets(1, len(BOGUS_KINDS), random_state=0)
    assert sorted(cs.table["kind"]) == sorted(["real", *BOGUS_KINDS])
