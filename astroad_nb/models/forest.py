"""The seed's recursive random-forest baseline for stream membership (self-labelling).

Seed: ``ClusterBusters/Code/Random Forest/Recursive_RF_*.ipynb``. Round 0 trains a random
forest with the known members (the support set) as positives and field stars drawn at random
as negatives (``negatives_per_positive`` = 150 per positive in the seed, which treats the
unlabelled field as background); every star it predicts as a member joins the positives
(true and false positives alike: the seed carries both forward), negatives are re-drawn from
the stars still unlabelled, and the forest is re-trained. It stops when a round finds no new
member or after ``max_rounds``. The seed weights the classes with ``class_weight={0: w0,
1: w1}``, tuned over a grid; we expose ``class_weight`` with scikit-learn's meaning and default
to ``"balanced"`` (positives weighted by negatives / positives). The seed scores a held-out
test split each round (``held_out=True``); by default we score every unlabelled star, the
sampled negatives out of bag (``out_of_bag``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state

from astroad_nb import io
from astroad_nb.features.streams import problem_features
from astroad_nb.models.classic import TreeEnsembleProba

__all__ = ["RecursiveForest"]


class RecursiveForest(io.Persistent, BaseEstimator):
    """Self-labelling random forest: predicted members join the known set, round after round.

    Parameters
    ----------
    n_estimators : int, default=100
    max_depth : int or None, default=None
    min_samples_leaf : int, default=1
    negatives_per_positive : float, default=150
        Field stars drawn as negatives per positive each round (the seed's ``multiple``).
    class_weight : "balanced", dict or None, default="balanced"
        Passed to :class:`~sklearn.ensemble.RandomForestClassifier`.
    threshold : float, default=0.5
        A star becomes a member when its forest probability is >= threshold.
    max_rounds : int, default=10
        Upper bound on training rounds (round 0 included).
    out_of_bag : bool, default=True
        Score this round's training negatives with their out-of-bag probability (not in the
        seed, which scored only a held-out test set): lets hidden members among the sampled
        negatives be found. Ignored with ``held_out``.
    held_out : bool, default=False
        The seed's scheme: split the field once into a training part, from which the
        negatives of every round are drawn, and a held-out test part, the only stars scored
        (and self-labelled). The test part is the ``self_lab == False`` rows when the field
        has the seed's ``self_lab`` column, else a random ``test_fraction`` of the non-support
        stars. ``proba_`` is NaN outside the test part (``scored_`` marks it).
    test_fraction : float in (0, 1), default=0.5
        Share of non-support stars held out for scoring when ``held_out`` and no ``self_lab``.
    photometry : {'gaia', 'ps1'}, default="gaia"
    n_jobs : int or None, default=None
    random_state : int, RandomState or None

    Attributes
    ----------
    forest_ : RandomForestClassifier or TreeEnsembleProba
        The last round's forest (as flat numpy tree arrays once saved and loaded; the
        probabilities are the same).
    proba_ : pandas.Series, shape (n_stars,)
        Per field star, the highest probability over the rounds (so ``proba_ >= threshold``
        is exactly the self-labelled set, support excluded); NaN for rows with NaN features.
    members_ : pandas.Index
        Field labels labelled as members by the loop (support set not included).
    history_ : pandas.DataFrame
        One row per round: ``round``, ``n_positive`` (training positives), ``n_negative``,
        ``n_new`` (new members found).
    n_rounds_ : int
    scored_ : ndarray of bool, shape (n_stars,)
        Field stars the loop scored (every non-support star, or the held-out test part).
    """

    def __init__(self, n_estimators=100, *, max_depth=None, min_samples_leaf=1,
                 negatives_per_positive=150, class_weight="balanced", threshold=0.5,
                 max_rounds=10, out_of_bag=True, held_out=False, test_fraction=0.5,
                 photometry="gaia", n_jobs=None, random_state=None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.negatives_per_positive = negatives_per_positive
        self.class_weight = class_weight
        self.threshold = threshold
        self.max_rounds = max_rounds
        self.out_of_bag = out_of_bag
        self.held_out = held_out
        self.test_fraction = test_fraction
        self.photometry = photometry
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, problem):
        """Run the self-labelling loop on one problem (field + support set).

        Parameters
        ----------
        problem : StreamProblem
            Needs a support set (>= 1 member); ``truth`` is not used.

        Returns
        -------
        self
        """
        if problem.support is None or problem.n_support == 0:
            raise ValueError(f"RecursiveForest needs a support set of known members; "
                             f"{problem.name!r} has none (problem.draw_support(...)).")
        if int(self.max_rounds) < 1:
            raise ValueError(f"max_rounds must be >= 1, got {self.max_rounds!r}.")
        rng = check_random_state(self.random_state)
        X, _, support = problem_features(problem, photometry=self.photometry)
        if not support.any():
            raise ValueError(f"{problem.name!r}: every support member has NaN features.")
        Xa = X.to_numpy()
        positive = support.copy()  # grows with self-labelled members
        test = self._test_part(problem, X, support, rng) if self.held_out else ~support
        best = np.zeros(len(Xa))
        rows = []
        for r in range(int(self.max_rounds)):
            pool = np.flatnonzero(~positive & test)  # the stars scored this round
            train_pool = np.flatnonzero(~positive & ~test) if self.held_out else pool
            n_neg = min(len(train_pool),
                        int(round(self.negatives_per_positive * positive.sum())))
            neg = rng.choice(train_pool, size=n_neg, replace=False)
            idx = np.r_[np.flatnonzero(positive), neg]
            y = np.r_[np.ones(positive.sum(), int), np.zeros(n_neg, int)]
            forest = RandomForestClassifier(
                n_estimators=self.n_estimators, max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf, class_weight=self.class_weight,
                oob_score=self.out_of_bag and not self.held_out, n_jobs=self.n_jobs,
                random_state=rng.randint(np.iinfo(np.int32).max))
            forest.fit(Xa[idx], y)
            proba = (forest.predict_proba(Xa[pool])[:, 1] if self.held_out
                     else self._pool_proba(forest, Xa, pool, neg))
            best[pool] = np.maximum(best[pool], proba)
            new = pool[proba >= self.threshold]
            rows.append({"round": r, "n_positive": int(positive.sum()), "n_negative": n_neg,
                         "n_new": len(new)})
            positive[new] = True
            if len(new) == 0:
                break
        self.forest_ = forest
        best[~test] = np.nan  # the support set is given (and a training part not scored)
        self.proba_ = pd.Series(best, index=X.index, name="p_member").reindex(
            problem.field.index)
        self.scored_ = self.proba_.notna().to_numpy()
        self.members_ = X.index[positive & ~support]
        self.history_ = pd.DataFrame(rows)
        self.n_rounds_ = len(rows)
        self.feature_names_in_ = list(X.columns)
        return self

    def _test_part(self, problem, X, support, rng):
        """Held-out stars (bool over the rows of ``X``): ``self_lab == False``, else random."""
        if "self_lab" in problem.field.columns:
            self_lab = problem.field["self_lab"].reindex(X.index).astype(bool).to_numpy()
            return ~self_lab & ~support
        if not 0 < float(self.test_fraction) < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction!r}.")
        test = np.zeros(len(X), bool)
        free = np.flatnonzero(~support)
        test[rng.choice(free, size=int(round(self.test_fraction * len(free))),
                        replace=False)] = True
        return test

    def _pool_proba(self, forest, Xa, pool, neg):
        """Membership probability of the unlabelled pool.

        Stars that served as training negatives this round are scored out-of-bag (by the trees
        that did not see them) when ``out_of_bag``: a fully grown forest would otherwise just
        return their training label, and unknown members hidden among the negatives (the
        positive-unlabelled trap) could never be found.
        """
        proba = forest.predict_proba(Xa[pool])[:, 1]
        if self.out_of_bag and len(neg):
            oob = forest.oob_decision_function_[-len(neg):, 1]  # training rows: positives, neg
            ok = np.isfinite(oob)
            where = np.searchsorted(pool, neg)  # pool is sorted; neg is a subset of it
            proba[where[ok]] = oob[ok]
        return proba

    def fit_predict(self, problem):
        """Run the loop and return the membership of every field star.

        Parameters
        ----------
        problem : StreamProblem

        Returns
        -------
        ndarray of bool, shape (n_stars,)
            True for stars self-labelled as members (support stars: False, they are given).
        """
        self.fit(problem)
        return problem.field.index.isin(self.members_)

    def predict_proba(self, X):
        """The last round's forest probability of membership.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_stars, n_features)
            Features standardised like the fitted field (see :func:`stream_features`).

        Returns
        -------
        ndarray of shape (n_stars,), float64
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "forest_")
        X = np.asarray(X, dtype=np.float64)
        return self.forest_.predict_proba(X)[:, 1]

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "forest_")
        forest = self.forest_
        if not isinstance(forest, TreeEnsembleProba):
            forest = TreeEnsembleProba.from_forest(forest)
        arrays = {f"forest_{k}": v for k, v in forest.arrays().items()}
        arrays["forest_classes"] = np.asarray(forest.classes_)
        arrays["proba"] = self.proba_.to_numpy(np.float64)
        attrs = {"forest_max_depth": forest.max_depth, "n_rounds": int(self.n_rounds_),
                 "history": {c: self.history_[c].tolist() for c in self.history_.columns},
                 "index_name": self.proba_.index.name}
        for name, index in (("index", self.proba_.index), ("members", self.members_)):
            arrays[name], attrs[f"{name}_is_str"] = _index_values(index)
        return {"feature_names": list(map(str, self.feature_names_in_)), "attrs": attrs,
                "arrays": arrays}

    def _set_state(self, state):
        arrays, attrs = state["arrays"], state["attrs"]
        self.forest_ = TreeEnsembleProba(
            **{k[7:]: v for k, v in arrays.items()
               if k.startswith("forest_") and k != "forest_classes"},
            max_depth=int(attrs["forest_max_depth"]), classes=arrays["forest_classes"])
        index = _as_index(arrays["index"], attrs["index_is_str"], attrs["index_name"])
        self.proba_ = pd.Series(arrays["proba"], index=index, name="p_member")
        self.members_ = _as_index(arrays["members"], attrs["members_is_str"], index.name)
        self.history_ = pd.DataFrame(attrs["history"])
        self.n_rounds_ = int(attrs["n_rounds"])
        self.feature_names_in_ = list(state["feature_names"])
        self.scored_ = self.proba_.notna().to_numpy()


def _index_values(index):
    """Star labels as a pickle-free array, and whether they were strings."""
    values = np.asarray(index)
    if values.dtype.kind in "biuf":
        return values, False
    if all(isinstance(v, str) for v in values):
        return values.astype(str), True
    raise io.UnsavableError(f"Cannot save star labels of dtype {index.dtype} without pickle; "
                            "index the field by numbers or strings (e.g. source_id).")


def _as_index(values, is_str, name):
    return pd.Index(values.astype(object) if is_str else values, name=name)
