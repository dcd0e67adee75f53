"""Issue 11 item 8: FiLM on ALeRCE features conditioned on the predicted top class."""

from __future__ import annotations

import types

import numpy as np
import pytest

import astroad_nb
from astroad_nb.models import FiLMAutoEncoder
from astroad_nb.protocols import _context_astro as ca


def _data(n=240, d=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, k, n)
    X = rng.normal(size=(n, d)) + 2.0 * c[:, None]
    return X, c, np.eye(k)[c], rng.dirichlet(np.ones(k), n)


def _film(**kw):
    return FiLMAutoEncoder((8,), 2, epochs=3, random_state=0, device="cpu", **kw)


def test_vector_mode_with_onehot_rows_is_the_onehot_model():
    X, c, onehot, _ = _data()
    a = _film().fit(X, context=c)
    b = _film(conditioning="vector").fit(X, context=onehot)
    np.testing.assert_array_equal(a.anomaly_score(X, context=c),
                                  b.anomaly_score(X, context=onehot))
    assert b.n_contexts_ == 3 and b.contexts_.shape == (3, 3)


def test_vector_mode_soft_context_is_linear_in_the_vector():
    X, c, onehot, soft = _data()
    film = _film(conditioning="vector").fit(X, context=onehot)
    s_soft = film.anomaly_score(X, context=soft)
    assert s_soft.shape == (len(X),) and np.isfinite(s_soft).all()
    assert not np.allclose(s_soft, film.anomaly_score(X, context=onehot))
    # the batched scoring path equals the training forward pass, gamma/beta = linear(row)
    import torch

    x = torch.as_tensor(film._standardize(X))
    with torch.no_grad():
        recon = film.network_(x, torch.as_tensor(soft, dtype=torch.float32))
    np.testing.assert_allclose(s_soft, (recon - x).pow(2).sum(dim=1).numpy(), rtol=1e-5,
                               atol=1e-5)


def test_vector_mode_save_load_and_errors(tmp_path):
    X, c, onehot, soft = _data()
    film = _film(conditioning="vector").fit(X, context=onehot)
    astroad_nb.save(film, tmp_path / "film")
    back = astroad_nb.load(tmp_path / "film")
    assert back.conditioning == "vector" and back.n_contexts_ == 3
    np.testing.assert_array_equal(back.anomaly_score(X, context=soft),
                                  film.anomaly_score(X, context=soft))
    with pytest.raises(ValueError, match="width 3"):
        film.anomaly_score(X, context=soft[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        film.anomaly_score(X, context=c)
    with pytest.raises(ValueError, match="pass score_samples"):
        film.anomaly_score(X)
    bad = soft.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        _film(conditioning="vector").fit(X, context=bad)
    with pytest.raises(ValueError, match="n_contexts=4"):
        _film(conditioning="vector", n_contexts=4).fit(X, context=onehot)


def test_vector_mode_deterministic():
    X, _, onehot, soft = _data()
    a = _film(conditioning="vector").fit(X, context=onehot).anomaly_score(X, context=soft)
    b = _film(conditioning="vector").fit(X, context=onehot).anomaly_score(X, context=soft)
    np.testing.assert_array_equal(a, b)


def test_context_comparison_deterministic_and_complete():
    from astroad_nb.protocols import alerce

    lcs = alerce.simulate(alerce.preset("fast", n_per_class=6), random_state=1)
    feats = alerce.features(lcs)
    feats = feats[alerce.feature_columns(feats)]
    meta = lcs.meta.loc[feats.index]
    args = (feats, meta["subclass"].to_numpy(), meta["top_class"].to_numpy())
    kw = dict(n_splits=2, n_folds=1, epochs=2, trees=10, seeds=(0,), random_state=3)
    a, acc_a = ca.context_comparison(*args, **kw)
    b, acc_b = ca.context_comparison(*args, **kw)
    assert a.equals(b) and acc_a.equals(acc_b)
    assert set(a["method"]) == set(ca.ASTRO_METHODS)
    assert a["held_out"].nunique() == 14  # every subclass held out once
    assert a["auroc"].between(0, 1).all()
    assert 0 <= float(acc_a["accuracy"].iloc[0]) <= 1


def test_tables_shapes_and_real_skip(monkeypatch, tmp_path):
    monkeypatch.setenv("ASTROAD_REAL_DATA", str(tmp_path))  # empty: the real table is absent
    assert isinstance(ca.real_alerce_table(), str)
    preset = types.SimpleNamespace(name="fast", n_seeds=2, astro_n_per_class=6,
                                   astro_epochs=2, astro_trees=10, astro_real=True)
    out = ca.lightcurve_context_tables(preset, random_state=0)
    assert {"astro_auroc", "astro_summary", "astro_verdict"} <= set(out)
    auroc = out["astro_auroc"]
    assert set(auroc["top_class"]) == {"transient", "stochastic", "periodic", "overall"}
    assert len(auroc) == 4 * len(ca.ASTRO_METHODS)
    assert (auroc["n_seeds"] == 2).all() and (auroc["sd"] >= 0).all()
    summary = out["astro_summary"]
    assert summary.shape[0] == len(ca.ASTRO_METHODS)
    assert summary["classifier_accuracy"].between(0, 1).all()
    verdict = out["astro_verdict"]
    skipped = verdict[verdict["dataset"] == "real"]
    assert len(skipped) == 1 and skipped["verdict"].iloc[0].startswith("skipped:")
    sim = verdict[verdict["dataset"] == "simulated"]
    assert len(sim) == 3
    assert sim["verdict"].str.contains("helps|hurts|does not help").all()


@pytest.mark.realdata
def test_real_alerce_table_through_the_comparison(real_data):
    real_data("lightcurves", "alerce_examples", "100_objects_features.csv")
    real = ca.real_alerce_table()
    assert not isinstance(real, str), real
    feats, sub, top = real
    assert feats.shape[0] == 98 and set(top) == {"periodic", "stochastic"}
    assert "mean_mag_1" not in feats.columns
    per_sub, acc = ca.context_comparison(feats, sub, top, n_splits=2, n_folds=1, epochs=2,
                                         trees=10, seeds=(0,))
    assert set(per_sub["method"]) == set(ca.ASTRO_METHODS)
    assert per_sub["auroc"].between(0, 1).all() and 0 < acc["accuracy"].iloc[0] <= 1
