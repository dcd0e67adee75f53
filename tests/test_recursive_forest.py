"""RecursiveForest: the seed's self-labelling random-forest baseline."""

import numpy as np
import pytest
from sklearn.base import clone

from astroad_nb.data.streams import simulate_stream_problem
from astroad_nb.evaluation import evaluate_stream
from astroad_nb.models import RecursiveForest


@pytest.fixture(scope="module")
def problem():
    return simulate_stream_problem(n_members=80, n_support=20, foreground_factor=40,
                                   random_state=5)


def test_recovers_a_simulated_stream(problem):
    forest = RecursiveForest(n_estimators=50, random_state=0)
    members = forest.fit_predict(problem)
    q = problem.query_mask
    recall = (members & problem.truth)[q].sum() / problem.truth[q].sum()
    print(f"recall {recall:.3f}, rounds {forest.n_rounds_}\n{forest.history_}")
    assert recall > 0.7
    assert not members[problem.support_mask].any()  # the support set is given, not predicted
    scores = evaluate_stream(problem, forest.proba_)
    assert scores["recall"] == pytest.approx(recall)


def test_self_labelling_grows_the_positives_until_nothing_new(problem):
    forest = RecursiveForest(n_estimators=30, max_rounds=6, random_state=1).fit(problem)
    h = forest.history_
    assert h["n_positive"].iloc[0] == problem.n_support
    np.testing.assert_array_equal(h["n_positive"].to_numpy()[1:],
                                  (h["n_positive"] + h["n_new"]).to_numpy()[:-1])
    assert forest.n_rounds_ == 6 or h["n_new"].iloc[-1] == 0
    assert set(forest.members_) == set(problem.field.index[forest.proba_.to_numpy() >= 0.5])


def test_is_repeatable_and_clonable(problem):
    a = RecursiveForest(n_estimators=20, max_rounds=2, random_state=3).fit(problem)
    b = clone(a).fit(problem)
    np.testing.assert_array_equal(a.proba_.to_numpy(), b.proba_.to_numpy())
    assert a.predict_proba(np.zeros((2, 10))).shape == (2,)


def test_needs_a_support_set(problem):
    import dataclasses

    with pytest.raises(ValueError, match="support set"):
        RecursiveForest().fit(dataclasses.replace(problem, support=None))
