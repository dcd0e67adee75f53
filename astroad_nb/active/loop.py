"""Active and semi-supervised learning for real/bogus classification (RB-C1000, system 2).

The seed trains a classifier on few labels in three stages:

ITS (initial training stage)
    train on ``M`` labelled triplets (``n_initial``, 900 in the seed);
ALS (active learning stage)
    the classifier ranks the unlabelled pool, the ``K`` hardest (least confident; 100 in the
    seed, so M + K = 1000 labels) go to an oracle (a person, or the data set's own labels in
    simulations), and the classifier is retrained on M + K;
SSLS (semi-supervised learning stage)
    pool triplets predicted with confidence >= 0.95 get pseudo-labels, class-balanced to the
    labelled real:bogus ratio, and the classifier is retrained on labels + pseudo-labels;
    repeated for R = 3 rounds, each round pseudo-labelling afresh with the latest model.

:class:`ActiveLearningLoop` holds that stage machine; a notebook drives it step by step
(``query`` -> labelling panel -> ``teach``/``teach_from_store`` -> ``retrain`` ->
``pseudo_label``) or calls ``run()``. It only runs stages and keeps, per stage, the fitted
classifier and its validation scores; the protocol (:mod:`astroad_nb.protocols.realbogus`)
builds the data, the model and the stage tables around it.

Label budget, as the seed: with ``validation="from_labels"`` (the default) the validation set
that selects each stage's epoch is carved out of the labels a person gave (6:4 train :
validation), re-split at every stage once the K queried labels have joined, so M + K labels are
all the labels used; ``validation="separate"`` keeps a labelled validation set apart (ours
before the fidelity issue, #9), whose labels then count in ``n_labelled`` too.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import check_random_state

from astroad_nb.data.labels import REALBOGUS_FROM_TEXT, REALBOGUS_TEXT, parse_realbogus_label
from astroad_nb.evaluation import metric_key, selection_scores

__all__ = [
    "ActiveLearningLoop",
    "STRATEGIES",
    "VALIDATION_MODES",
    "balanced_pseudo_labels",
    "select_hardest",
    "uncertainty",
]

#: Query strategies of :func:`uncertainty` (``"random"`` is the passive baseline).
STRATEGIES = ("least_confidence", "margin", "entropy", "random")

#: Where the validation set comes from (see :class:`ActiveLearningLoop`).
VALIDATION_MODES = ("from_labels", "separate")



# --------------------------------------------------------------------------- pure rules
def uncertainty(proba, strategy="least_confidence"):
    """How hard each sample is for the classifier: higher = more worth labelling.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Class probabilities (rows sum to 1); a 1-D array is read as p(positive) of two classes.
    strategy : {"least_confidence", "margin", "entropy"}
        ``least_confidence``: 1 - max_c p_c (the seed's); ``margin``: -(p_(1) - p_(2)), minus
        the gap between the two most probable classes; ``entropy``: -sum_c p_c log p_c.
        With two classes all three are decreasing functions of |p - 0.5|, so they rank samples
        identically; they differ from three classes on.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> uncertainty([0.9, 0.5, 0.2]).round(2).tolist()
    [0.1, 0.5, 0.2]
    """
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = np.stack([1 - p, p], axis=1)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must have shape (n_samples, n_classes>=2), got {p.shape}.")
    if strategy == "least_confidence":
        return 1.0 - p.max(axis=1)
    if strategy == "margin":
        top = np.sort(p, axis=1)
        return -(top[:, -1] - top[:, -2])
    if strategy == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES[:3]}.")


def select_hardest(proba, k, strategy="least_confidence", *, random_state=None):
    """Indices of the ``k`` samples to label, hardest first.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        See :func:`uncertainty`.
    k : int
        Number to pick (all when larger than ``n_samples``).
    strategy : {"least_confidence", "margin", "entropy", "random"}
        ``"random"`` picks ``k`` at random (the passive-learning baseline).
    random_state : int, RandomState or None
        Only used by ``"random"``.

    Returns
    -------
    ndarray of int of shape (min(k, n_samples),)
        Ties keep the input order (stable sort).
    """
    p = np.asarray(proba, dtype=float)
    k = min(int(k), len(p))
    if strategy == "random":
        return np.sort(check_random_state(random_state).choice(len(p), k, replace=False))
    score = uncertainty(p, strategy)
    return np.argsort(-score, kind="stable")[:k]


def balanced_pseudo_labels(p_real, threshold=0.95, *, ratio=1.0, max_total=None):
    """Pick confident pseudo-labels with a real:bogus ratio of ``ratio``.

    Candidates are samples whose confidence ``max(p, 1 - p)`` is at least ``threshold``,
    labelled 1 (real) when ``p >= 0.5``. Of ``a`` real and ``b`` bogus candidates, all ``b``
    bogus and ``round(ratio * b)`` real are kept when ``a >= ratio * b``; otherwise all ``a``
    real and ``min(b, round(a / ratio))`` bogus. The most confident of each class go first.
    ``max_total`` then scales both counts down in proportion. If one class has no candidate,
    nothing is kept (a one-class set would teach the classifier a bias).

    Parameters
    ----------
    p_real : array-like of shape (n_samples,)
        Predicted p(real) of the unlabelled pool.
    threshold : float, default=0.95
        Minimum confidence (the seed's 0.95).
    ratio : float, default=1.0
        Wanted n_real / n_bogus (the labelled set's).
    max_total : int, optional
        Cap on the number of pseudo-labels.

    Returns
    -------
    indices : ndarray of int
        Selected positions in ``p_real`` (real ones first, each class by decreasing confidence).
    labels : ndarray of int64
        Their pseudo-labels (1 real, 0 bogus).

    Examples
    --------
    >>> idx, lab = balanced_pseudo_labels([0.99, 0.98, 0.01, 0.5], ratio=1.0)
    >>> idx.tolist(), lab.tolist()
    ([0, 2], [1, 0])
    """
    p = np.asarray(p_real, dtype=float).ravel()
    if not 0.5 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0.5, 1], got {threshold!r}.")
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio!r}.")
    conf = np.maximum(p, 1 - p)
    real = np.flatnonzero((p >= 0.5) & (conf >= threshold))
    bogus = np.flatnonzero((p < 0.5) & (conf >= threshold))
    real = real[np.argsort(-conf[real], kind="stable")]
    bogus = bogus[np.argsort(-conf[bogus], kind="stable")]
    a, b = len(real), len(bogus)
    if a == 0 or b == 0:
        n_r = n_b = 0
    elif a >= ratio * b:
        n_b, n_r = b, min(a, int(round(ratio * b)))
    else:
        n_r, n_b = a, min(b, int(round(a / ratio)))
    if max_total is not None and n_r + n_b > max_total:
        scale = max_total / (n_r + n_b)
        n_r, n_b = int(np.floor(n_r * scale)), int(np.floor(n_b * scale))
    idx = np.concatenate([real[:n_r], bogus[:n_b]]).astype(np.intp)
    labels = np.concatenate([np.ones(n_r, np.int64), np.zeros(n_b, np.int64)])
    return idx, labels


# --------------------------------------------------------------------------- the loop
class ActiveLearningLoop:
    """The seed's ITS -> ALS -> SSLS x R stage machine around a real/bogus classifier.

    Parameters
    ----------
    model : classifier
        Template estimator (``fit(X, y, eval_set=, eval_metric=, eval_key=)``,
        ``predict_proba``), e.g.
        :class:`~astroad_nb.models.RealBogusCNN`; it is cloned, never fitted in place.
    n_initial : int, default=900
        M: labelled triplets of the initial training stage (a random subset of ``labelled``
        when it holds more; the rest go back to the pool).
    k : int, default=100
        K: triplets queried per active-learning round.
    rounds : int, default=3
        R: semi-supervised rounds.
    al_rounds : int, default=1
        Active-learning rounds before them (the seed: one, so that M + K = 1000 labels).
    strategy : {"least_confidence", "margin", "entropy", "random"}, default="least_confidence"
        Query strategy (:func:`uncertainty`); the seed's is least confidence.
    pseudo_threshold : float, default=0.95
        Minimum confidence of a pseudo-label.
    max_pseudo : int, optional
        Cap on pseudo-labels per round.
    selection_metric : str, default="sum"
        Validation metric that selects the epoch within a stage and the best stage: one of
        Pre, Acc, Rec, F1, MCC, AP or Sum, the mean of the six
        (:func:`astroad_nb.evaluation.selection_scores`).
    validation : {"from_labels", "separate"}, default="from_labels"
        ``"from_labels"`` (the seed's): each stage splits every label a person gave (the M
        initial and the taught ones) at random, stratified by class, into training and
        validation (``val_fraction`` of them); :meth:`start` then takes no validation set.
        ``"separate"``: a labelled validation set passed to :meth:`start` selects every
        stage, and all its labels are trained on never.
    val_fraction : float, default=0.4
        Validation share of the labels under ``"from_labels"`` (the seed's 6:4 split).
    scorer : callable, optional
        ``scorer(y_true, p_real) -> dict`` of validation metrics, holding the
        ``selection_metric``; default :func:`astroad_nb.evaluation.selection_scores`.
    finetune : bool, default=False
        False (the seed's): every stage trains a fresh classifier from scratch. True: stages
        after ITS continue from the previous stage's weights (``warm_start``), for
        ``finetune_epochs``, and the starting weights compete as "epoch -1", so the validation
        score of a warm-started stage cannot fall below its start (on the same validation set).
    finetune_epochs : int, optional
        Epochs of those stages (default: the model's ``epochs``).
    random_state : int, RandomState or None
        Seeds every stage's training and the ``"random"`` strategy.
    store : LabelStore, optional
        Every oracle answer given to :meth:`teach` is written there (context ``context``,
        round = the active-learning round).
    context : str, default="realbogus"

    Attributes
    ----------
    stages_ : list of dict
        One record per completed stage: ``stage``, ``n_labelled`` (every label given: the M
        initial, the taught ones and, under ``"separate"``, the validation set's),
        ``n_train`` (labels trained on), ``n_validation``, ``n_pseudo``, ``val`` (validation
        metrics), ``validation_ids``, ``history``, ``seconds``.
    validation_ : CutoutSet
        The latest stage's validation set.
    model_ : classifier
        The latest stage's fitted classifier (the one that queries and pseudo-labels).
    stage_models_ : dict
        Stage name -> its fitted classifier.
    queried_ : pandas.DataFrame
        The last query: ``id``, ``p_real``, ``uncertainty``, hardest first.
    taught_ : dict
        Id -> label (1/0) of every oracle answer so far.
    pseudo_ : pandas.DataFrame
        The last round's pseudo-labels: ``id``, ``label``, ``confidence``.

    Examples
    --------
    >>> from astroad_nb.data.alerts import simulate_triplets
    >>> from astroad_nb.models import RealBogusCNN
    >>> from astroad_nb.protocols.realbogus import split_cutouts
    >>> parts = split_cutouts(simulate_triplets(60, 60, random_state=0), n_initial=40,
    ...                       n_validation=0, n_test=20, random_state=0)
    >>> loop = ActiveLearningLoop(RealBogusCNN(epochs=1), n_initial=40, k=5, rounds=1,
    ...                           random_state=0)
    >>> loop.start(parts["labelled"], parts["pool"]).stages
    ['ITS', 'ALS', 'SSLS R=1']
    >>> loop.run()  # the stages after ITS, which start() ran
    ['ALS', 'SSLS R=1']
    """

    def __init__(self, model, *, n_initial=900, k=100, rounds=3, al_rounds=1,
                 strategy="least_confidence", pseudo_threshold=0.95, max_pseudo=None,
                 selection_metric="sum", scorer=None, validation="from_labels",
                 val_fraction=0.4, finetune=False, finetune_epochs=None, random_state=None,
                 store=None, context="realbogus"):
        self.model = model
        self.n_initial = n_initial
        self.k = k
        self.rounds = rounds
        self.al_rounds = al_rounds
        self.strategy = strategy
        self.pseudo_threshold = pseudo_threshold
        self.max_pseudo = max_pseudo
        self.selection_metric = selection_metric
        self.scorer = scorer
        self.validation = validation
        self.val_fraction = val_fraction
        self.finetune = finetune
        self.finetune_epochs = finetune_epochs
        self.random_state = random_state
        self.store = store
        self.context = context

    # ------------------------------------------------------------------ stage machine
    @property
    def stages(self):
        """Names of every stage in order: ``ITS``, ``ALS`` (or ``ALS R=i``), ``SSLS R=1..R``."""
        als = (["ALS"] if self.al_rounds == 1
               else [f"ALS R={i}" for i in range(1, self.al_rounds + 1)])
        return ["ITS", *als, *[f"SSLS R={i}" for i in range(1, self.rounds + 1)]]

    @property
    def next_stage(self):
        """Name of the next stage to run, or None when all are done."""
        done = len(getattr(self, "stages_", []))
        return self.stages[done] if done < len(self.stages) else None

    @property
    def round_(self):
        """Current active-learning round (1-based; 0 before the first query)."""
        return getattr(self, "_al_round", 0)

    def _check_params(self):
        if self.model is None or not hasattr(self.model, "fit"):
            raise TypeError("ActiveLearningLoop needs the classifier to train, e.g. "
                            f"ActiveLearningLoop(RealBogusCNN(), ...); got {self.model!r}.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        for name in ("n_initial", "k"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if int(self.rounds) < 0 or int(self.al_rounds) < 0:
            raise ValueError("rounds and al_rounds must be >= 0.")
        if self.validation not in VALIDATION_MODES:
            raise ValueError(f"validation must be one of {VALIDATION_MODES}, got "
                             f"{self.validation!r}.")
        if not 0.0 < float(self.val_fraction) < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}.")
        metric_key(self.selection_metric)

    def start(self, labelled, pool, validation=None):
        """Take the data and run the initial training stage (ITS).

        Parameters
        ----------
        labelled : CutoutSet
            Labelled triplets (1 real / 0 bogus); ``n_initial`` of them are used (under
            ``validation="from_labels"``, ``val_fraction`` of those validate).
        pool : CutoutSet
            Unlabelled triplets to query and pseudo-label; labels (if any) are only read by
            the ``"dataset"`` oracle.
        validation : CutoutSet, optional
            Labelled triplets for model selection; required with ``validation="separate"``,
            refused with ``"from_labels"`` (whose validation comes out of ``labelled``).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a labelled part has missing labels, or ``validation`` does not match the mode.
        """
        from astroad_nb.data.alerts import CutoutSet

        self._check_params()
        if self.validation == "separate" and validation is None:
            raise ValueError("validation='separate' needs a labelled validation set: "
                             "start(labelled, pool, validation).")
        if self.validation == "from_labels" and validation is not None:
            raise ValueError("validation='from_labels' takes its validation set out of the "
                             "labelled triplets; pass start(labelled, pool) or build the loop "
                             "with validation='separate'.")
        checked = [("labelled", labelled)] + ([("validation", validation)]
                                             if validation is not None else [])
        for name, part in checked:
            if part.labels is None or (part.labels < 0).any():
                raise ValueError(f"{name} must be fully labelled (1 real / 0 bogus).")
        self._rng = check_random_state(self.random_state)
        self._seeds = self._rng.randint(0, 2**31 - 1, size=len(self.stages))
        extra = None
        if len(labelled) > self.n_initial:
            pick = np.sort(self._rng.choice(len(labelled), self.n_initial, replace=False))
            rest = np.setdiff1d(np.arange(len(labelled)), pick)
            extra, labelled = labelled.subset(rest), labelled.subset(pick)
        self.labelled_ = labelled
        self.pool_ = pool if extra is None else CutoutSet.concat([pool, extra])
        self._separate_validation = validation
        self.validation_ = validation
        self._pool_index = {str(i): j for j, i in enumerate(self.pool_.ids)}
        self.stages_, self.stage_models_, self.taught_ = [], {}, {}
        self.queried_ = pd.DataFrame(columns=["id", "p_real", "uncertainty"])
        self.pseudo_ = pd.DataFrame(columns=["id", "label", "confidence"])
        self._al_round = 0
        self._train("ITS")
        return self

    def _scorer(self):
        return selection_scores if self.scorer is None else self.scorer

    def _check_started(self):
        if not hasattr(self, "stages_"):
            raise RuntimeError("Call start(labelled, pool) first.")

    def _available(self):
        """Positions of pool triplets not yet taught."""
        taught = np.array([self._pool_index[i] for i in self.taught_], dtype=np.intp)
        keep = np.ones(len(self.pool_), bool)
        keep[taught] = False
        return np.flatnonzero(keep)

    def _taught_set(self):
        ids = list(self.taught_)
        idx = np.array([self._pool_index[i] for i in ids], dtype=np.intp)
        return self.pool_.subset(idx).with_labels([self.taught_[i] for i in ids])

    def _given_labels(self):
        """Every triplet a person (or the oracle) labelled for training: M initial + taught."""
        from astroad_nb.data.alerts import CutoutSet

        return (CutoutSet.concat([self.labelled_, self._taught_set()]) if self.taught_
                else self.labelled_)

    def _split_labels(self, given, seed):
        """Train / validation parts of the given labels for one stage (stratified 6:4)."""
        if self.validation == "separate":
            return given, self._separate_validation
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(given))
        counts = np.bincount(given.labels, minlength=2)
        stratify = given.labels if counts.min() >= 2 else None
        train, val = train_test_split(idx, test_size=float(self.val_fraction),
                                      random_state=seed, stratify=stratify)
        return given.subset(np.sort(train)), given.subset(np.sort(val))

    def _train(self, stage, pseudo=None):
        from astroad_nb.data.alerts import CutoutSet

        t0 = time.perf_counter()
        seed = int(self._seeds[self.stages.index(stage)])
        given = self._given_labels()
        train_set, validation = self._split_labels(given, seed)
        n_pseudo = 0 if pseudo is None else len(pseudo)
        if n_pseudo:
            train_set = CutoutSet.concat([train_set, pseudo])
        self.validation_ = validation
        if self.finetune and stage != "ITS":
            est = copy.deepcopy(self.model_)
            params = {"warm_start": True, "random_state": seed}
            if self.finetune_epochs is not None:
                params["epochs"] = int(self.finetune_epochs)
            est.set_params(**params)
        else:
            est = clone(self.model).set_params(random_state=seed)
        est.fit(train_set, train_set.labels, eval_set=(validation, validation.labels),
                eval_metric=self._scorer(), eval_key=metric_key(self.selection_metric))
        self.model_ = est
        self.stage_models_[stage] = est
        n_val = len(validation)
        record = {"stage": stage,
                  "n_labelled": int(len(given) + (n_val if self.validation == "separate"
                                                  else 0)),
                  "n_train": int(len(train_set) - n_pseudo), "n_validation": int(n_val),
                  "n_pseudo": int(n_pseudo), "validation_ids": [str(i) for i in validation.ids],
                  "history": getattr(est, "history_", None)}
        p_val = est.predict_proba(validation)[:, 1]
        record["val"] = self._scorer()(validation.labels, p_val)
        record["seconds"] = time.perf_counter() - t0
        self.stages_.append(record)
        return record

    # ------------------------------------------------------------------ ALS
    def query(self, k=None):
        """Rank the pool and return the ``k`` hardest triplets (the seed: least confident).

        Parameters
        ----------
        k : int, optional
            Default: the loop's ``k``.

        Returns
        -------
        pandas.DataFrame
            ``id`` (str), ``p_real`` (float), ``uncertainty`` (float), hardest first; also kept
            in ``queried_``. Triplets already taught are never queried again.
        """
        self._check_started()
        k = self.k if k is None else int(k)
        avail = self._available()
        proba = self.model_.predict_proba(self.pool_.subset(avail))
        pick = select_hardest(proba, k, self.strategy, random_state=self._rng)
        self._al_round += 1
        self.queried_ = pd.DataFrame({
            "id": [str(i) for i in self.pool_.ids[avail[pick]]],
            "p_real": proba[pick, 1],
            "uncertainty": uncertainty(proba[pick], "least_confidence"
                                       if self.strategy == "random" else self.strategy)})
        return self.queried_

    def queried_cutouts(self):
        """The last query's triplets as a CutoutSet (what a labelling panel shows).

        Returns
        -------
        CutoutSet
            In the order of ``queried_``; labels removed (-1) so a person labels blind.
        """
        self._check_started()
        idx = np.array([self._pool_index[i] for i in self.queried_["id"]], dtype=np.intp)
        sub = self.pool_.subset(idx)
        return sub.with_labels(np.full(len(sub), -1))

    def teach(self, ids, labels=None, *, who=None, record=True):
        """Give oracle labels for pool triplets (usually the last query's).

        Parameters
        ----------
        ids : dict or sequence of str
            ``{id: label}`` (what the labelling panel hands back), or ids with ``labels``.
        labels : sequence, optional
            1 / "real" or 0 / "bogus" per id.
        who : str, optional
            Labeller, written to the store (default: the store's own ``who``).
        record : bool, default=True
            Write the labels to ``store`` (False when the panel has already written them).

        Returns
        -------
        dict
            ``{id: 1 or 0}`` taught by this call.

        Raises
        ------
        KeyError
            If an id is not in the pool.
        ValueError
            If a label is not real/bogus.
        """
        self._check_started()
        if isinstance(ids, dict):
            items = list(ids.items())
        else:
            ids = [ids] if isinstance(ids, str) else list(ids)
            labels = list(np.atleast_1d(labels)) if labels is not None else None
            if labels is None or len(labels) != len(ids):
                raise ValueError("pass a dict {id: label} or ids with as many labels.")
            items = list(zip(ids, labels, strict=True))
        taught = {}
        for item, value in items:
            item = str(item)
            if item not in self._pool_index:
                raise KeyError(f"{item!r} is not in the pool; query() gives the ids to label.")
            taught[item] = parse_realbogus_label(value, where=item)
        self.taught_.update(taught)
        if record and self.store is not None and taught:
            self.store.add_many(list(taught), [REALBOGUS_TEXT[v] for v in taught.values()],
                                who=who, round=self.round_, context=self.context)
        return taught

    def teach_from_store(self, store=None, *, context=None):
        """Teach the queried triplets the labels a person gave in the store (labelling panel).

        Parameters
        ----------
        store : LabelStore, optional
            Default: the loop's ``store``.
        context : str, optional
            Default: the loop's ``context``.

        Returns
        -------
        dict
            ``{id: 1 or 0}`` read; queried ids without a real/bogus label (unlabelled yet, or
            "skip") are left out and stay in the pool.
        """
        store = self.store if store is None else store
        if store is None:
            raise ValueError("No LabelStore: pass store= here or to the loop.")
        latest = store.latest(self.context if context is None else context)
        found = {}
        for item in self.queried_["id"]:
            value = latest.get(str(item))
            if value is not None and str(value).strip().lower() in REALBOGUS_FROM_TEXT:
                found[str(item)] = value
        return self.teach(found, record=False)

    def _oracle_answer(self, oracle):
        ids = [i for i in self.queried_["id"] if i not in self.taught_]  # a person's answers win
        if not ids:
            return {}
        if oracle == "dataset":
            idx = np.array([self._pool_index[i] for i in ids], dtype=np.intp)
            labels = None if self.pool_.labels is None else self.pool_.labels[idx]
            if labels is None or (labels < 0).any():
                raise ValueError("oracle='dataset' needs pool labels; label the queried "
                                 "triplets with teach() or a callable oracle instead.")
            return self.teach(ids, labels, who="oracle")
        if callable(oracle):
            answer = oracle(ids, self.queried_cutouts().subset(
                np.flatnonzero(np.isin(self.queried_["id"].to_numpy(), ids))))
            if isinstance(answer, dict):
                return self.teach(answer, who="oracle")
            return self.teach(ids, list(answer), who="oracle")
        raise ValueError(f"oracle must be 'dataset' or a callable(ids, cutouts), got {oracle!r}.")

    def retrain(self):
        """Run the active-learning stage: retrain on the M labelled plus every taught triplet
        (under ``"from_labels"``, their training share after a fresh 6:4 split).

        Returns
        -------
        dict
            The stage record (see ``stages_``).
        """
        self._check_started()
        stage = self.next_stage
        if stage is None or not stage.startswith("ALS"):
            raise RuntimeError(f"The next stage is {stage!r}, not an ALS stage.")
        return self._train(stage)

    # ------------------------------------------------------------------ SSLS
    def pseudo_label(self):
        """Run one semi-supervised round: pseudo-label confident pool triplets, retrain.

        Pseudo-labels are drawn afresh each round by the latest model from the pool triplets
        not taught, with confidence >= ``pseudo_threshold`` and the labelled real:bogus ratio
        (:func:`balanced_pseudo_labels`). They only ever train: the validation set is made of
        given labels (re-split this round under ``"from_labels"``, as the seed).

        Returns
        -------
        dict
            The stage record (see ``stages_``); the pseudo-labels are in ``pseudo_``.
        """
        self._check_started()
        stage = self.next_stage
        if stage is None or not stage.startswith("SSLS"):
            raise RuntimeError(f"The next stage is {stage!r}, not an SSLS stage.")
        avail = self._available()
        p = self.model_.predict_proba(self.pool_.subset(avail))[:, 1]
        known = np.concatenate([self.labelled_.labels,
                                np.fromiter(self.taught_.values(), np.int64)])
        ratio = max(int((known == 1).sum()), 1) / max(int((known == 0).sum()), 1)
        idx, labels = balanced_pseudo_labels(p, self.pseudo_threshold, ratio=ratio,
                                             max_total=self.max_pseudo)
        self.pseudo_ = pd.DataFrame({"id": [str(i) for i in self.pool_.ids[avail[idx]]],
                                     "label": labels,
                                     "confidence": np.maximum(p[idx], 1 - p[idx])})
        pseudo = self.pool_.subset(avail[idx]).with_labels(labels) if len(idx) else None
        return self._train(stage, pseudo)

    # ------------------------------------------------------------------ driving
    def step(self, oracle="dataset"):
        """Run the next stage (for ALS: query, ask ``oracle`` for the untaught, retrain).

        Parameters
        ----------
        oracle : "dataset" or callable
            ``"dataset"``: the pool's own labels (simulations, benchmarks); a callable
            ``oracle(ids, cutouts) -> labels or {id: label}`` otherwise.

        Returns
        -------
        str or None
            The stage just run, or None when every stage was already done.
        """
        self._check_started()
        stage = self.next_stage
        if stage is None:
            return None
        if stage.startswith("ALS"):
            if len(self.queried_) == 0 or self.round_ < self.stages.index(stage):
                self.query()
            self._oracle_answer(oracle)
            self.retrain()
        else:
            self.pseudo_label()
        return stage

    def run(self, oracle="dataset"):
        """Run every remaining stage; return the names of the stages run by this call."""
        done = []
        while (stage := self.step(oracle)) is not None:
            done.append(stage)
        return done

    # ------------------------------------------------------------------ results
    @property
    def best_stage_(self):
        """Stage with the best validation ``selection_metric`` (earliest on ties).

        Under ``"from_labels"`` each stage has its own validation split, so this compares
        scores on different (overlapping) sets, as the seed's stage choice does.
        """
        self._check_started()
        key = metric_key(self.selection_metric)
        scores = [r["val"][key] for r in self.stages_]
        return self.stages_[int(np.argmax(scores))]["stage"]
