"""Classic detectors built on scikit-learn: :class:`IForest` and :class:`OCSVM`; tree ensembles
as flat arrays (:func:`flat_tree_nodes`, :class:`TreeEnsembleProba`).

scikit-learn fits them; the fitted model is then reduced to plain numpy arrays (tree nodes,
support vectors) that score with numpy. That keeps scoring identical before and after
``save``/``load`` and lets ``save`` write ``.npz`` files instead of pickles.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.svm import OneClassSVM

from astroad_nb import io
from astroad_nb.features.scaling import standard_scale
from astroad_nb.models.base import BaseDetector

__all__ = ["IForest", "OCSVM", "TreeEnsembleProba", "flat_tree_nodes"]


def _average_path_length(n):
    """Average unsuccessful-search path length in a binary tree of ``n`` samples (Liu et al.)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def flat_tree_nodes(tree, offset, features=None):
    """A fitted scikit-learn tree's nodes as flat arrays for numpy scoring of a whole ensemble.

    Leaves point to themselves (so a walk may overshoot the depth safely) with threshold +inf.

    Parameters
    ----------
    tree : sklearn.tree._tree.Tree
    offset : int
        Index of this tree's root in the ensemble's concatenated node arrays.
    features : array-like of int, optional
        Maps the tree's feature indices to the ensemble's columns (IsolationForest sub-sampling).

    Returns
    -------
    left, right, feature, threshold : ndarray of shape (tree.node_count,)
    """
    idx = np.arange(tree.node_count)
    leaf = tree.children_left == -1
    split_feature = np.maximum(tree.feature, 0)
    if features is not None:
        split_feature = np.asarray(features)[split_feature]
    return (np.where(leaf, idx, tree.children_left) + offset,
            np.where(leaf, idx, tree.children_right) + offset,
            np.where(leaf, 0, split_feature),
            np.where(leaf, np.inf, tree.threshold))


class IForest(BaseDetector):
    """Isolation Forest (scikit-learn's), scored from its tree arrays.

    ``score_samples`` equals scikit-learn's ``IsolationForest.score_samples``:
    ``-2 ** (-mean path length / c(max_samples))``, in [-1, 0), lower = more abnormal.

    Parameters
    ----------
    n_estimators : int, default=100
    max_samples : "auto", int or float, default="auto"
    max_features : int or float, default=1.0
    contamination : float in (0, 0.5], default=0.1
    random_state : int or None, default=None
    n_jobs : int or None, default=None
        Used by scikit-learn while fitting.

    Attributes
    ----------
    tree_left_, tree_right_ : ndarray of int64
        Children of every node of every tree (a leaf points to itself).
    tree_feature_ : ndarray of int64
        Feature index (of X) tested at each node.
    tree_threshold_ : ndarray of float64
        Split threshold; go left when ``x <= threshold``.
    tree_value_ : ndarray of float64
        At leaves: depth + average path length of the leaf's samples - 1.
    tree_roots_ : ndarray of int64
        Root node of each tree.
    path_norm_ : float
        ``n_estimators * c(max_samples)``.
    max_depth_ : int
    """

    def __init__(self, n_estimators=100, *, max_samples="auto", max_features=1.0,
                 contamination=0.1, random_state=None, n_jobs=None):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.contamination = contamination
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit(self, X, y):
        forest = IsolationForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples,
            max_features=self.max_features, random_state=self.random_state,
            n_jobs=self.n_jobs).fit(X)
        left, right, feature, threshold, value, roots = [], [], [], [], [], []
        offset, max_depth = 0, 0
        for est, features in zip(forest.estimators_, forest.estimators_features_, strict=True):
            tree = est.tree_
            n = tree.node_count
            for out, arr in zip((left, right, feature, threshold),
                                flat_tree_nodes(tree, offset, features), strict=True):
                out.append(arr)
            depths = tree.compute_node_depths()  # root has depth 1
            value.append(depths + _average_path_length(tree.n_node_samples) - 1.0)
            roots.append(offset)
            offset += n
            max_depth = max(max_depth, int(depths.max()))
        self.tree_left_ = np.concatenate(left).astype(np.int64)
        self.tree_right_ = np.concatenate(right).astype(np.int64)
        self.tree_feature_ = np.concatenate(feature).astype(np.int64)
        self.tree_threshold_ = np.concatenate(threshold).astype(np.float64)
        self.tree_value_ = np.concatenate(value).astype(np.float64)
        self.tree_roots_ = np.asarray(roots, dtype=np.int64)
        self.path_norm_ = float(len(roots) * _average_path_length([forest.max_samples_])[0])
        self.max_depth_ = max_depth

    def _score(self, X):
        X = X.astype(np.float32)  # scikit-learn compares float32 features to the thresholds
        n_trees = len(self.tree_roots_)
        depths = np.zeros(X.shape[0])
        chunk = max(1, 2**20 // max(n_trees, 1))
        for start in range(0, X.shape[0], chunk):
            x = X[start:start + chunk]
            rows = np.arange(x.shape[0])[:, None]
            node = np.broadcast_to(self.tree_roots_, (x.shape[0], n_trees)).copy()
            for _ in range(self.max_depth_):  # leaves point to themselves, so overshoot is safe
                go_left = x[rows, self.tree_feature_[node]] <= self.tree_threshold_[node]
                node = np.where(go_left, self.tree_left_[node], self.tree_right_[node])
            depths[start:start + chunk] = self.tree_value_[node].sum(axis=1)
        if self.path_norm_ == 0:  # a single training sample: scikit-learn's convention
            return -np.ones(X.shape[0])
        return -(2.0 ** (-depths / self.path_norm_))

    _ARRAYS = ("tree_left_", "tree_right_", "tree_feature_", "tree_threshold_", "tree_value_",
               "tree_roots_")

    def _get_state(self):
        state = super()._get_state()
        state["arrays"].update({k: getattr(self, k) for k in self._ARRAYS})
        state["attrs"].update(path_norm_=self.path_norm_, max_depth_=self.max_depth_)
        return state

    def _set_state(self, state):
        super()._set_state(state)
        for k in self._ARRAYS:
            setattr(self, k, state["arrays"][k])
        self.path_norm_ = float(state["attrs"]["path_norm_"])
        self.max_depth_ = int(state["attrs"]["max_depth_"])


class OCSVM(BaseDetector):
    """One-class SVM (scikit-learn's, libsvm) scored from its support vectors with numpy.

    ``score_samples(x) = sum_i alpha_i K(sv_i, x)`` as scikit-learn's
    ``OneClassSVM.score_samples`` (lower = more abnormal). Features are standardised first
    when ``standardize=True`` (RBF widths assume comparable feature scales).

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
    nu : float in (0, 1], default=0.1
        Upper bound on the fraction of training errors.
    gamma : "scale", "auto" or float, default="scale"
    degree : int, default=3
    coef0 : float, default=0.0
    tol : float, default=1e-3
    max_iter : int, default=-1
    standardize : bool, default=True
    contamination : float in (0, 0.5], default=0.1

    Attributes
    ----------
    support_vectors_ : ndarray of shape (n_sv, n_features)
        In standardised units.
    dual_coef_ : ndarray of shape (n_sv,)
    gamma_ : float
    n_iter_ : int
        libsvm iterations.
    x_mean_, x_scale_ : ndarray of shape (n_features,)
    """

    def __init__(self, kernel="rbf", *, nu=0.1, gamma="scale", degree=3, coef0=0.0, tol=1e-3,
                 max_iter=-1, standardize=True, contamination=0.1):
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.tol = tol
        self.max_iter = max_iter
        self.standardize = standardize
        self.contamination = contamination

    def _fit(self, X, y):
        if self.kernel not in ("rbf", "linear", "poly", "sigmoid"):
            raise ValueError(f"kernel must be 'rbf', 'linear', 'poly' or 'sigmoid', got "
                             f"{self.kernel!r}.")
        if self.standardize:
            self.x_mean_, self.x_scale_ = standard_scale(X)
        else:
            self.x_mean_, self.x_scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        svm = OneClassSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma, degree=self.degree,
                          coef0=self.coef0, tol=self.tol, max_iter=self.max_iter)
        svm.fit((X - self.x_mean_) / self.x_scale_)
        self.support_vectors_ = np.asarray(svm.support_vectors_, dtype=np.float64)
        self.dual_coef_ = np.asarray(svm.dual_coef_, dtype=np.float64).ravel()
        self.gamma_ = float(svm._gamma)
        self.n_iter_ = int(np.max(svm.n_iter_))

    def _kernel(self, X):
        sv = self.support_vectors_
        dot = X @ sv.T
        if self.kernel == "linear":
            return dot
        if self.kernel == "poly":
            return (self.gamma_ * dot + self.coef0) ** self.degree
        if self.kernel == "sigmoid":
            return np.tanh(self.gamma_ * dot + self.coef0)
        d2 = (X * X).sum(1)[:, None] + (sv * sv).sum(1)[None, :] - 2.0 * dot
        return np.exp(-self.gamma_ * np.maximum(d2, 0.0))

    def _score(self, X):
        Xs = (X - self.x_mean_) / self.x_scale_
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], 4096):
            out[start:start + 4096] = self._kernel(Xs[start:start + 4096]) @ self.dual_coef_
        return out

    _ARRAYS = ("support_vectors_", "dual_coef_", "x_mean_", "x_scale_")

    def _get_state(self):
        state = super()._get_state()
        state["arrays"].update({k: getattr(self, k) for k in self._ARRAYS})
        state["attrs"].update(gamma_=self.gamma_, n_iter_=self.n_iter_)
        return state

    def _set_state(self, state):
        super()._set_state(state)
        for k in self._ARRAYS:
            setattr(self, k, state["arrays"][k])
        self.gamma_ = float(state["attrs"]["gamma_"])
        self.n_iter_ = int(state["attrs"]["n_iter_"])


class TreeEnsembleProba:
    """``predict_proba`` of a fitted tree-ensemble classifier from flat node arrays (numpy).

    Built from scikit-learn / imbalanced-learn forests (``estimators_`` of decision trees, or
    pipelines ending in one); the class probabilities are the mean of the trees' leaf class
    fractions, exactly as scikit-learn computes them.
    """

    def __init__(self, left, right, feature, threshold, proba, roots, max_depth, classes):
        self.left, self.right, self.feature = left, right, feature
        self.threshold, self.proba, self.roots = threshold, proba, roots
        self.max_depth, self.classes_ = int(max_depth), classes

    @classmethod
    def from_forest(cls, forest):
        """Flatten a fitted forest (``estimators_`` of trees, ``classes_``).

        Parameters
        ----------
        forest : fitted RandomForestClassifier, ExtraTreesClassifier or
            BalancedRandomForestClassifier

        Returns
        -------
        TreeEnsembleProba

        Raises
        ------
        astroad_nb.io.UnsavableError
            (a TypeError) if ``forest`` is not a fitted tree ensemble.
        """
        trees = getattr(forest, "estimators_", None)
        if trees is None:
            raise io.UnsavableError(
                f"Only tree-ensemble classifiers (random forests, extra trees, balanced random "
                f"forests) can be saved without pickling; got {type(forest).__name__}.")
        left, right, feature, threshold, proba, roots = [], [], [], [], [], []
        offset, max_depth = 0, 0
        for est in trees:
            est = est[-1] if hasattr(est, "steps") else est
            tree = est.tree_
            n = tree.node_count
            for out, arr in zip((left, right, feature, threshold), flat_tree_nodes(tree, offset),
                                strict=True):
                out.append(arr)
            value = tree.value[:, 0, :].astype(np.float64)
            proba.append(value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300))
            roots.append(offset)
            offset += n
            max_depth = max(max_depth, int(tree.max_depth))
        return cls(np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64),
                   np.concatenate(feature).astype(np.int64),
                   np.concatenate(threshold).astype(np.float64), np.concatenate(proba),
                   np.asarray(roots, dtype=np.int64), max_depth, forest.classes_)

    def arrays(self):
        """The node arrays by name (``left, right, feature, threshold, proba, roots``)."""
        return {"left": self.left, "right": self.right, "feature": self.feature,
                "threshold": self.threshold, "proba": self.proba, "roots": self.roots}

    def predict_proba(self, X):
        """Class probabilities, as the forest's ``predict_proba``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
            Columns in the order of ``classes_``.
        """
        X = np.asarray(X, dtype=np.float32)  # scikit-learn compares float32 features
        out = np.zeros((X.shape[0], self.proba.shape[1]))
        chunk = max(1, 2**20 // max(len(self.roots), 1))
        for start in range(0, X.shape[0], chunk):
            x = X[start:start + chunk]
            rows = np.arange(x.shape[0])[:, None]
            node = np.broadcast_to(self.roots, (x.shape[0], len(self.roots))).copy()
            for _ in range(self.max_depth):  # leaves point to themselves
                go_left = x[rows, self.feature[node]] <= self.threshold[node]
                node = np.where(go_left, self.left[node], self.right[node])
            out[start:start + chunk] = self.proba[node].mean(axis=1)
        return out
