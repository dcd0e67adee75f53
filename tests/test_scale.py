"""Dask scoring gives exactly the in-memory scores, ids kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

pytest.importorskip("dask.dataframe")

from astroad_nb.scale import score_catalogue  # noqa: E402


def _catalogue(n=5000):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"),
                         index=pd.Index([f"obj{i}" for i in range(n)], name="object_id"))
    frame["label"] = "x"  # a non-numeric column is ignored
    return frame


def test_matches_in_memory_scores():
    cat = _catalogue()
    prep = StandardScaler().fit(cat[list("abcd")])
    det = IsolationForest(random_state=0).fit(prep.transform(cat[list("abcd")]))
    out = score_catalogue(det, cat, preprocessor=prep, npartitions=7)
    expected = -det.score_samples(prep.transform(cat[list("abcd")]))
    assert list(out.index) == list(cat.index)
    np.testing.assert_allclose(out.to_numpy(), expected)


def test_lazy_and_missing_columns():
    import dask.dataframe as dd

    cat = _catalogue(1000)
    det = IsolationForest(random_state=0).fit(cat[list("abcd")].to_numpy())
    lazy = score_catalogue(det, dd.from_pandas(cat, npartitions=3), columns=list("abcd"),
                           compute=False)
    assert isinstance(lazy, dd.Series)
    assert len(lazy.compute()) == 1000
    with pytest.raises(ValueError, match=r"lacks the feature columns \['zz'\]"):
        score_catalogue(det, cat, columns=["a", "zz"])
