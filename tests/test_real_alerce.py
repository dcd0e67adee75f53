"""The ALeRCE pipeline on real survey data (skipped when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.lightcurves import read_detections, read_lightcurve_folder
from astroad_nb.evaluation import auroc
from astroad_nb.features.lightcurves import ALeRCEPreprocessor, extract_features
from astroad_nb.models import IForest
from astroad_nb.protocols import alerce

pytestmark = pytest.mark.realdata


def test_real_alerce_feature_table_through_every_detector(real_data):
    path = real_data("lightcurves", "alerce_examples", "100_objects_features.csv")
    labels = pd.read_csv(path.parent / "100_objects_labels.csv").set_index("objectId")
    features = pd.read_csv(path).set_index("objectId")
    assert features.shape == (98, 178)
    X = ALeRCEPreprocessor().fit_transform(features)
    assert np.isfinite(X.to_numpy()).all()
    y = labels.loc[features.index, "classALeRCE"].to_numpy()
    for name, est in alerce.methods(alerce.preset("fast"), random_state=0).items():
        if "epochs" in est.get_params():
            est.set_params(epochs=3)
        scores = est.fit(X, y).anomaly_score(X)
        assert scores.shape == (98,), name
        assert np.isfinite(scores).all(), name


def test_rr_lyrae_detector_finds_sne_ia_anomalous(real_data):
    """Train on half of the SDSS RR Lyrae (g, r of ugriz); held-out RR Lyrae vs ZTF SNe Ia."""
    rrl = read_lightcurve_folder(real_data("lightcurves", "sdss_rr_lyrae", "light-curves"))
    sne = read_lightcurve_folder(real_data("lightcurves", "ztf_sn_ia", "light-curves"))
    rrl = rrl.subset(rrl.ids[:160])
    sne = sne.subset(sne.ids[:160])
    f_rrl, f_sne = extract_features(rrl), extract_features(sne)
    train, test = f_rrl.iloc[:80], f_rrl.iloc[80:]
    prep = ALeRCEPreprocessor().fit(train)
    det = IForest(random_state=0).fit(prep.transform(train))
    scores = np.r_[det.anomaly_score(prep.transform(test)), det.anomaly_score(prep.transform(f_sne))]
    y = np.r_[np.zeros(len(test), int), np.ones(len(f_sne), int)]
    value = auroc(y, scores)
    print(f"AUROC(ZTF SN Ia vs held-out SDSS RR Lyrae) = {value:.3f}")
    assert value > 0.95


def test_real_sne_detections_features(real_data):
    folder = real_data("lightcurves", "alerce_examples")
    lcs = read_detections(folder / "30_sne_detections_corr.csv")
    labels = pd.read_csv(folder / "30_sne_labels.csv").set_index("objectId")
    assert set(lcs.ids) == set(labels.index)
    features = extract_features(lcs)
    assert len(features) == 30
    assert np.isfinite(features.to_numpy()).mean() > 0.85
