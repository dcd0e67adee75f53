"""System 3, Meta-DeepSets: one-class stream membership from a support set of known members.

Steps (each a public function that notebook 03 calls cell by cell):
:func:`problems` (training and validation streams: the seed's clusterbusters data or gala
simulations) and :func:`gd1_problem` -> :func:`make_model` -> :func:`meta_train` ->
:func:`validate` (fine-tune per stream, compare with the recursive random forest, metrics on
the seed's evaluation rows) -> :func:`summarise` (mean over validation streams, GD-1 table);
:func:`run` chains them.

Data sources are explicit in the preset (``source``, ``gd1_source``), so a preset's numbers do
not depend on what happens to be on disk: ``"fast"`` simulates everything (CI, Binder),
``"fast-real"`` runs the FAST sizes on the real clusterbusters fields and the Gaia DR2 GD-1
field, ``"full"`` the full sizes on real data when present (else simulations).

Differences from the seed
-------------------------
- Episodes are balanced (``positive_fraction`` 0.25, class weight "balanced", streams drawn
  uniformly, support 5-50 stars) instead of the seed's natural ratio (~2 members : 150
  foreground, positive weight 1, streams drawn in proportion to their size, support 7-150);
  ``"seed"`` uses the seed's (``positive_draw="binomial"`` so a 0.013 prior survives
  32-query episodes, ``stream_weighting="size"``), 50 epochs of ~300,000 examples.
- Model selection: ``"seed"`` keeps the epoch of best mean validation F1 as the seed does,
  on ``n_selection_streams`` training streams held out of meta-training (the seed selected
  on its validation streams, which we report: selecting on them would tune on the test).
- Learning rate: ``"seed"`` lowers it as the seed does (``ReduceLROnPlateau``, patience 5 on
  the training loss, min lr 1e-7, through ``fit_module(lr_plateau=)``); ours keeps it constant.
- The seed's "L1 1e-6" is Adam ``weight_decay`` (an L2 penalty) in its code; so is ours.
- Batched episodes (8 x 32 pairs per step, mean loss) where the seed takes one pair per
  step (summed loss); one logit + BCE where the seed has two logits + cross-entropy (the
  same function: :meth:`~astroad_nb.models.deepsets.DeepSetsOneClass.from_seed_weights`
  maps its weights exactly).
- The recursive forest scores each round's negatives out of bag (recall 0.40 -> 0.78 on a
  simulated stream); ``"seed"`` scores a held-out split (``rf_held_out``: the
  ``self_lab == False`` rows of the seed's fields, else half the field) with its 200 trees,
  depth 10, class weight 1:50, 400 negatives per member and 15 rounds.
- Real GD-1: our field (``gd1_merged.hdf5``, 3,724 stars after a proper-motion cut) has
  Pan-STARRS g, i but no Gaia G/BP/RP (none of the three GD-1 files carries
  ``phot_*_mean_mag``), so the Gaia-trained network cannot score it (the photometry guard
  refuses); a PS1 variant is trained on the GD-1 support set alone (no PS1 training
  streams exist), and truth is the heuristic ``selected2`` selection, not the seed's
  member list. The GD-1 table says so in its ``data`` / ``truth`` columns.
- The seed's own trained model (``pretrained/*_bestF1.params``) is scored on the real
  validation streams beside ours (``seed_weights``); on simulated streams it is skipped.
"""

from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import pandas as pd

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["StreamsPreset", "PRESETS", "preset", "problems", "gd1_problem", "make_model",
           "meta_train", "seed_model", "ps1_variant", "make_forest", "validate", "summarise",
           "run"]

NAME = "streams"
TITLE = "Meta-DeepSets stream membership: validation streams and the GD-1 table"
METHODS = ("DeepSets (meta-trained)", "DeepSets (fine-tuned)", "Random forest (recursive)")
SEED_METHOD = "DeepSets, seed's own weights (bestF1)"
PS1_METHOD = "DeepSets (PS1 variant, GD-1 support only)"
SEED_WEIGHTS = "deepset_D5_1_0.001_100_50_300000_1e-06_bestF1.params"


@dataclasses.dataclass(frozen=True)
class StreamsPreset(Preset):
    """Sizes, sources and hyper-parameters of the stream-membership protocol.

    Attributes
    ----------
    source : {"simulated", "clusterbusters", "auto"}
        Training / validation streams ("auto": clusterbusters when present, else simulated).
    gd1_source : {"simulated", "dr2", "auto"}
        GD-1: a gala simulation, or the real Gaia DR2 field with its heuristic selection as
        proxy truth.
    epochs, steps_per_epoch, fine_tune_epochs, fine_tune_steps, lr, positive_fraction,
    class_weight, support_size, stream_weighting, positive_draw, selection :
        DeepSetsOneClass training (``class_weight`` None = positive weight 1).
    n_selection_streams : int
        Training streams held out of meta-training to select the epoch (``selection="f1"``).
    lr_plateau : dict or None
        ``ReduceLROnPlateau`` keywords for meta-training (the seed: patience 5, min lr 1e-7).
    seed_weights : bool
        Score the seed's own trained model on the validation streams (real data only).
    n_sim_train, n_sim_val, sim_members, sim_foreground, gd1_members : simulated data sizes.
    rf_trees, rf_max_depth, rf_class_weight, rf_negatives, rf_rounds, rf_held_out :
        recursive forest (``rf_held_out``: the seed's held-out scoring, else out of bag).
    """

    source: str = "simulated"
    gd1_source: str = "simulated"
    epochs: int = 12
    steps_per_epoch: int = 60
    fine_tune_epochs: int = 6
    fine_tune_steps: int = 20
    lr: float = 1e-3
    positive_fraction: float = 0.25
    class_weight: object = "balanced"
    support_size: tuple = (5, 50)
    stream_weighting: str = "uniform"
    positive_draw: str = "fixed"
    selection: object = None
    n_selection_streams: int = 0
    lr_plateau: object = None
    seed_weights: bool = True
    n_sim_train: int = 8
    n_sim_val: int = 3
    sim_members: tuple = (30, 200)
    sim_foreground: float = 50.0
    gd1_members: int = 150
    rf_trees: int = 100
    rf_max_depth: object = None
    rf_class_weight: object = "balanced"
    rf_negatives: int = 150
    rf_rounds: int = 10
    rf_held_out: bool = False


PRESETS = {
    "fast": StreamsPreset(name="fast"),
    "fast-real": StreamsPreset(name="fast-real", source="clusterbusters", gd1_source="dr2"),
    "full": StreamsPreset(name="full", source="auto", gd1_source="auto", epochs=60,
                          steps_per_epoch=150, fine_tune_epochs=15, fine_tune_steps=40,
                          n_sim_train=40, n_sim_val=5, sim_members=(30, 1000),
                          sim_foreground=150.0, gd1_members=500, rf_trees=300),
    "seed": StreamsPreset(name="seed", source="auto", gd1_source="auto", epochs=50,
                          steps_per_epoch=1172, fine_tune_epochs=15, fine_tune_steps=40,
                          positive_fraction=0.013, class_weight=None, support_size=(7, 150),
                          stream_weighting="size", positive_draw="binomial", selection="f1",
                          n_selection_streams=3, lr_plateau={"patience": 5, "min_lr": 1e-7},
                          rf_held_out=True, n_sim_train=40,
                          n_sim_val=5, sim_members=(30, 1000), sim_foreground=150.0,
                          gd1_members=500, rf_trees=200, rf_max_depth=10,
                          rf_class_weight={0: 1.0, 1: 50.0}, rf_negatives=400, rf_rounds=15),
}


#: The fields that set sizes (not the science): ``--preset seed --fast`` takes these from "fast".
SIZE_FIELDS = ("source", "gd1_source", "epochs", "steps_per_epoch", "fine_tune_epochs",
               "fine_tune_steps", "n_sim_train", "n_sim_val", "sim_members", "sim_foreground",
               "gd1_members", "rf_trees")


def preset(name=None, **overrides) -> StreamsPreset:
    """A named preset (default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``), with overrides."""
    return resolve_preset(PRESETS, name, **overrides)


def _real_root(p, field, allowed, folder, given):
    """The real-data folder a preset's ``field`` asks for (None: simulate instead).

    Raises ValueError for an unknown source and FileNotFoundError when the preset insists on
    real data (neither "simulated" nor "auto") that is absent.
    """
    from astroad_nb._config import real_data_path

    value = getattr(p, field)
    if value not in allowed:
        raise ValueError(f"preset field {field}={value!r}; expected one of {allowed}.")
    if value == "simulated":
        return None
    root = given if given is not None else real_data_path("streams", folder)
    if root is None and value != "auto":
        raise FileNotFoundError(f"preset {field}={value!r} needs ../shared/data/streams/{folder} "
                                f"(or ASTROAD_REAL_DATA); use {field}='simulated'.")
    return root


# --------------------------------------------------------------------------- data steps
def problems(p: StreamsPreset, rng, *, data_root=None):
    """Step 1: training and validation streams.

    Parameters
    ----------
    p : StreamsPreset
    rng : numpy.random.Generator
        Draws the simulations (shared with :func:`gd1_problem`, in this order).
    data_root : path, optional
        The clusterbusters folder (default ``real_data_path("streams", "clusterbusters")``).

    Returns
    -------
    train, validation : list of StreamProblem
    source : str
        ``"clusterbusters"`` or ``"simulated"``.

    Raises
    ------
    FileNotFoundError
        ``source="clusterbusters"`` and the folder is absent.
    """
    from astroad_nb.data.streams import read_clusterbusters, simulate_stream_problems

    root = _real_root(p, "source", ("simulated", "clusterbusters", "auto"), "clusterbusters",
                      data_root)
    if root is not None:
        cb = read_clusterbusters(root)
        return cb.train, cb.validation, "clusterbusters"
    sims = simulate_stream_problems(p.n_sim_train + p.n_sim_val, random_state=rng,
                                    n_support=(5, 30), n_members=p.sim_members,
                                    foreground_factor=p.sim_foreground)
    return sims[:p.n_sim_train], sims[p.n_sim_train:], "simulated"


def gd1_problem(p: StreamsPreset, rng, *, gd1_root=None):
    """Step 2: the GD-1 problem of the preset (simulated, or real DR2 with proxy truth).

    Returns
    -------
    problem : StreamProblem
    photometry : {"gaia", "ps1"}
        The photometric system its features use.
    """
    from astroad_nb.data.streams import gd1_problem_from_selection, simulate_gd1_problem

    root = _real_root(p, "gd1_source", ("simulated", "dr2", "auto"), "gd1_gaia_dr2", gd1_root)
    if root is not None:
        return gd1_problem_from_selection(root, random_state=rng), "ps1"
    return simulate_gd1_problem(n_members=p.gd1_members, foreground_factor=p.sim_foreground,
                                random_state=rng), "gaia"


# --------------------------------------------------------------------------- model steps
def make_model(p: StreamsPreset, *, photometry="gaia", device="auto", random_state=0,
               verbose=0):
    """Step 3: an unfitted :class:`~astroad_nb.models.deepsets.DeepSetsOneClass`."""
    from astroad_nb.models.deepsets import DeepSetsOneClass

    return DeepSetsOneClass(epochs=p.epochs, steps_per_epoch=p.steps_per_epoch,
                            fine_tune_epochs=p.fine_tune_epochs,
                            fine_tune_steps=p.fine_tune_steps, lr=p.lr,
                            positive_fraction=p.positive_fraction, class_weight=p.class_weight,
                            support_size=tuple(p.support_size),
                            stream_weighting=p.stream_weighting, positive_draw=p.positive_draw,
                            selection=p.selection, lr_plateau=p.lr_plateau,
                            photometry=photometry, device=device,
                            random_state=random_state, verbose=verbose)


def meta_train(model, train, selection=None):
    """Step 4: meta-train the model on many streams (returns the model).

    Parameters
    ----------
    model : DeepSetsOneClass
    train : list of StreamProblem
    selection : list of StreamProblem, optional
        Streams with support sets whose mean F1 selects the epoch (``selection="f1"``).
    """
    return model.meta_fit(train, validation=selection or None)


def _selection_split(p: StreamsPreset, train, rng):
    """Hold ``n_selection_streams`` training streams out for model selection (with support)."""
    n = int(p.n_selection_streams) if p.selection else 0
    if n <= 0:
        return list(train), []
    if n >= len(train):
        raise ValueError(f"n_selection_streams={n} leaves no training stream of {len(train)}.")
    held = []
    for problem in train[-n:]:
        members = int(np.sum(problem.truth))
        k = max(1, min(p.support_size[1], members // 2))
        held.append(problem if problem.n_support else problem.draw_support(k, random_state=rng))
    return list(train[:-n]), held


def seed_model(p: StreamsPreset, *, data_root=None, device="auto", random_state=0):
    """The seed's own trained Meta-DeepSets (its bestF1 weights), or None when absent.

    Parameters
    ----------
    p : StreamsPreset
        ``seed_weights=False`` returns None.
    data_root : path, optional
        The clusterbusters folder (its ``pretrained/`` holds the weights).

    Returns
    -------
    DeepSetsOneClass or None
    """
    from astroad_nb._config import real_data_path
    from astroad_nb.models.deepsets import DeepSetsOneClass

    if not p.seed_weights:
        return None
    root = data_root if data_root is not None else real_data_path("streams", "clusterbusters")
    if root is None:
        return None
    from pathlib import Path

    path = Path(root) / "pretrained" / SEED_WEIGHTS
    if not path.is_file():
        return None
    return DeepSetsOneClass.from_seed_weights(path, device=device, random_state=random_state)


def ps1_variant(p: StreamsPreset, problem, *, device="auto", random_state=0):
    """A DeepSets on Pan-STARRS features, trained on one problem's support set alone.

    No training stream carries PS1 photometry, so this variant cannot be meta-trained; it is
    trained as the seed fine-tunes on GD-1: the known members are the positives (each scored
    against a support set of other known members), field stars the negatives, first with the
    meta-training settings (``epochs`` x ``steps_per_epoch``), then with the fine-tuning ones.

    Parameters
    ----------
    p : StreamsPreset
    problem : StreamProblem
        With PS1 columns and a support set (>= 2 members).

    Returns
    -------
    DeepSetsOneClass
        ``photometry_ == "ps1"``.
    """
    import dataclasses as dc

    known = dc.replace(problem, truth=problem.support_mask)
    model = make_model(p, photometry="ps1", device=device, random_state=random_state)
    model.set_params(selection=None, stream_weighting="uniform")
    return model.meta_fit([known]).fine_tune(problem)


def make_forest(p: StreamsPreset, *, photometry="gaia", random_state=0):
    """The seed's baseline, an unfitted :class:`~astroad_nb.models.forest.RecursiveForest`."""
    from astroad_nb.models.forest import RecursiveForest

    return RecursiveForest(n_estimators=p.rf_trees, max_depth=p.rf_max_depth,
                           class_weight=p.rf_class_weight, negatives_per_positive=p.rf_negatives,
                           max_rounds=p.rf_rounds, held_out=p.rf_held_out,
                           photometry=photometry, random_state=random_state)


def validate(model, problems, p: StreamsPreset, *, photometry=None, random_state=0,
             extra_models=None):
    """Step 5: per stream, the meta-trained and fine-tuned model and the recursive forest.

    A problem whose photometric system differs from the model's (real GD-1: PS1) is never fed
    to the model (the photometry guard would refuse it): a PS1 variant
    (:func:`ps1_variant`) takes the DeepSets row instead.

    Parameters
    ----------
    model : DeepSetsOneClass
        Meta-trained (copied per stream, never changed).
    problems : list of StreamProblem
        With truth.
    p : StreamsPreset
    photometry : dict, optional
        Stream name -> photometric system (default "gaia").
    random_state : int
    extra_models : dict, optional
        Row name -> fitted DeepSetsOneClass scored as is (no fine-tuning) on the problems of
        its photometric system (the seed's own weights).

    Returns
    -------
    table, table_query : pandas.DataFrame
        Index (stream, method); :data:`~astroad_nb.evaluation.STREAM_METRICS` + n_stars,
        n_members. ``table`` on the seed's evaluation rows (``self_lab == False`` query stars
        of its validation fields, else every query star; a held-out forest: the stars it
        scored), ``table_query`` on every query star (the same for a held-out forest).
    probas : dict
        (stream, method) -> p(member) of every field star.
    fitted : dict
        Stream name -> {"DeepSets (fine-tuned)": network, "Random forest (recursive)": forest}.
    """
    import dataclasses as dc

    from astroad_nb.evaluation import evaluate_stream

    photometry = photometry or {}
    extra_models = extra_models or {}
    records, records_q, probas, fitted = [], [], {}, {}
    for problem in problems:
        phot = photometry.get(problem.name, "gaia")
        found, rows_of = {}, {}
        if phot == model.photometry_:
            meta = copy.deepcopy(model)
            found[METHODS[0]] = meta.score_problem(problem)
            tuned = meta.fine_tune(problem) if problem.n_support >= 2 else meta
            found[METHODS[1]] = tuned.score_problem(problem)
            fitted[problem.name] = {METHODS[1]: tuned}
        else:
            tuned = ps1_variant(p, problem, device=model.device, random_state=random_state)
            found[PS1_METHOD] = tuned.score_problem(problem)
            fitted[problem.name] = {PS1_METHOD: tuned}
        for name, extra in extra_models.items():
            if extra.photometry_ == phot:
                found[name] = extra.score_problem(problem)
        forest = make_forest(p, photometry=phot, random_state=random_state).fit(problem)
        found[METHODS[2]] = forest.proba_
        fitted[problem.name][METHODS[2]] = forest
        seed_rows = "self_lab" in problem.field.columns
        if p.rf_held_out and not seed_rows:  # score the forest on the stars it held out
            held = problem.field.assign(self_lab=~forest.scored_)
            rows_of[METHODS[2]] = (dc.replace(problem, field=held), "seed_test", "seed_test")
        for method, proba in found.items():
            key = {"stream": problem.name, "method": method}
            prob, rows, rows_q = rows_of.get(
                method, (problem, "seed_test" if seed_rows else "query", "query"))
            records_q.append({**key, **evaluate_stream(prob, proba, rows=rows_q)})
            records.append({**key, **evaluate_stream(prob, proba, rows=rows)})
            probas[(problem.name, method)] = proba
    return (pd.DataFrame(records).set_index(["stream", "method"]),
            pd.DataFrame(records_q).set_index(["stream", "method"]), probas, fitted)


def gd1_labels(gd1, photometry):
    """What our GD-1 rows were measured on: ``(data, truth)`` strings for the GD-1 table.

    Parameters
    ----------
    gd1 : StreamProblem
    photometry : {"gaia", "ps1"}

    Returns
    -------
    data, truth : str
    """
    if "simulated" in gd1.name:
        return ("simulated (gala mock GD-1 in a simulated foreground, Gaia G/BP/RP)",
                "simulation truth")
    system = {"gaia": "Gaia G/BP/RP", "ps1": "PS1 g/i"}[photometry]
    return (f"Gaia DR2 GD-1 field (gd1_merged, {gd1.n_stars} stars), {system} features",
            "selected2 heuristic selection (PM + CMD polygon), not ground truth")


def summarise(table, validation_names, gd1_name, *, gd1_data=None, gd1_truth=None):
    """Step 6: mean over the validation streams, and the seed's GD-1 table layout.

    Parameters
    ----------
    table : pandas.DataFrame
        Of :func:`validate`.
    validation_names : list of str
    gd1_name : str
    gd1_data, gd1_truth : str, optional
        What our GD-1 rows were measured on (:func:`gd1_labels`).

    Returns
    -------
    means : pandas.DataFrame
        Index method; the stream metrics averaged over ``validation_names``.
    gd1 : pandas.DataFrame
        :func:`~astroad_nb.evaluation.gd1_table` of the GD-1 rows, the seed's rows appended,
        each row with the ``data`` and ``truth`` it was measured on.
    """
    from astroad_nb.evaluation import STREAM_METRICS, gd1_table

    means = table.loc[list(validation_names)].groupby(level="method", sort=False)[
        list(STREAM_METRICS)].mean()
    return means, gd1_table(table, stream=gd1_name, data=gd1_data, truth=gd1_truth)


def run(preset=None, *, random_state=0, device="auto", n_jobs=None, verbose=0, data_root=None,
        gd1_root=None, **overrides) -> Run:
    """Meta-train DeepSets, fine-tune per validation stream, compare with the recursive forest.

    Parameters
    ----------
    preset : {"fast", "fast-real", "full", "seed"} or StreamsPreset, optional
        Default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``.
    random_state : int, default=0
    device : str, default="auto"
    n_jobs : ignored (streams are validated one after the other; kept for the CLI).
    verbose : int, default=0
    data_root, gd1_root : path, optional
        Real data folders (default: under ``real_data_path()``).
    **overrides
        Preset fields to change.

    Returns
    -------
    Run
        Tables ``means`` (headline: mean over validation streams, index method; with real
        clusterbusters data also the seed's own weights), ``gd1`` (with ``data``/``truth``
        columns), ``table`` (per stream on the seed's rows), ``table_query``,
        ``seed_reference`` (the seed paper's GD-1 rows); objects ``model``, ``train``,
        ``validation``, ``gd1``, ``probas``, ``fitted``, ``seed_model``.
    """
    p = resolve_preset(PRESETS, preset, **overrides)
    seconds = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(random_state)
    train, validation, source = problems(p, rng, data_root=data_root)
    gd1, gd1_photometry = gd1_problem(p, rng, gd1_root=gd1_root)
    train, selection = _selection_split(p, train, rng)
    seconds["data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = meta_train(make_model(p, device=device, random_state=random_state,
                                  verbose=verbose), train, selection)
    seconds["meta_train"] = time.perf_counter() - t0
    extra, seed_note = {}, "skipped: simulated streams (the seed's model was trained on the " \
        "clusterbusters fields)"
    if source == "clusterbusters":
        seed = seed_model(p, data_root=data_root, device=device, random_state=random_state)
        if seed is not None:
            extra = {SEED_METHOD: seed}
            seed_note = f"scored: {SEED_WEIGHTS} on the validation streams"
        else:
            seed_note = "skipped: preset seed_weights=False or pretrained/ absent"
    t0 = time.perf_counter()
    table, table_query, probas, fitted = validate(model, list(validation), p,
                                                  random_state=random_state,
                                                  extra_models=extra)
    g_table, g_query, g_probas, g_fitted = validate(model, [gd1], p,
                                                    photometry={gd1.name: gd1_photometry},
                                                    random_state=random_state)
    table, table_query = pd.concat([table, g_table]), pd.concat([table_query, g_query])
    probas.update(g_probas)
    fitted.update(g_fitted)
    seconds["validate"] = time.perf_counter() - t0
    val_names = [q.name for q in validation]
    gd1_data, gd1_truth = gd1_labels(gd1, gd1_photometry)
    means, gd1_tab = summarise(table, val_names, gd1.name, gd1_data=gd1_data,
                               gd1_truth=gd1_truth)
    from astroad_nb.evaluation import SEED_GD1

    seed_reference = pd.DataFrame(SEED_GD1).T
    seed_reference.index.name = "method"
    config = {"source": source, "random_state": random_state, "n_train_streams": len(train),
              "selection_streams": [q.name for q in selection],
              "validation_streams": val_names, "gd1": gd1.name,
              "gd1_photometry": gd1_photometry, "seed_weights": seed_note}
    title = (f"{TITLE}: {source} streams ({len(train)} for meta-training), {gd1.name}, "
             f"preset {p.name!r}")
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="means",
               tables={"means": means, "gd1": gd1_tab, "table": table,
                       "table_query": table_query, "seed_reference": seed_reference},
               config=config, seconds=seconds,
               objects={"model": model, "train": train, "validation": validation, "gd1": gd1,
                        "probas": probas, "fitted": fitted, "seed_model": extra.get(SEED_METHOD)})
