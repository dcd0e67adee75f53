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
- Episodes are balanced (``positive_fraction`` 0.25, class weight "balanced") instead of the
  seed's natural ratio (~2 members : 150 foreground) with ``weight_imbalance``; ``"seed"`` uses
  the natural ratio, weight 1, 50 epochs of ~300,000 examples.
- L2 weight decay 1e-6 where the seed uses an L1 penalty 1e-6.
- The recursive forest scores each round's negatives out of bag (recall 0.40 -> 0.78 on a
  simulated stream); ``"seed"`` keeps its 200 trees, depth 10, class weight 1:50, 400
  negatives per member and 15 rounds.
"""

from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import pandas as pd

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["StreamsPreset", "PRESETS", "preset", "problems", "gd1_problem", "make_model",
           "meta_train", "make_forest", "validate", "summarise", "run"]

NAME = "streams"
TITLE = "Meta-DeepSets stream membership: validation streams and the GD-1 table"
METHODS = ("DeepSets (meta-trained)", "DeepSets (fine-tuned)", "Random forest (recursive)")


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
    class_weight : DeepSetsOneClass training.
    n_sim_train, n_sim_val, sim_members, sim_foreground, gd1_members : simulated data sizes.
    rf_trees, rf_max_depth, rf_class_weight, rf_negatives, rf_rounds : recursive forest.
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


PRESETS = {
    "fast": StreamsPreset(name="fast"),
    "fast-real": StreamsPreset(name="fast-real", source="clusterbusters", gd1_source="dr2"),
    "full": StreamsPreset(name="full", source="auto", gd1_source="auto", epochs=60,
                          steps_per_epoch=150, fine_tune_epochs=15, fine_tune_steps=40,
                          n_sim_train=40, n_sim_val=5, sim_members=(30, 1000),
                          sim_foreground=150.0, gd1_members=500, rf_trees=300),
    "seed": StreamsPreset(name="seed", source="auto", gd1_source="auto", epochs=50,
                          steps_per_epoch=1172, fine_tune_epochs=15, fine_tune_steps=40,
                          positive_fraction=0.013, class_weight=None, n_sim_train=40,
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
def make_model(p: StreamsPreset, *, device="auto", random_state=0, verbose=0):
    """Step 3: an unfitted :class:`~astroad_nb.models.deepsets.DeepSetsOneClass`."""
    from astroad_nb.models.deepsets import DeepSetsOneClass

    return DeepSetsOneClass(epochs=p.epochs, steps_per_epoch=p.steps_per_epoch,
                            fine_tune_epochs=p.fine_tune_epochs,
                            fine_tune_steps=p.fine_tune_steps, lr=p.lr,
                            positive_fraction=p.positive_fraction, class_weight=p.class_weight,
                            device=device, random_state=random_state, verbose=verbose)


def meta_train(model, train):
    """Step 4: meta-train the model on many streams (returns the model)."""
    return model.meta_fit(train)


def make_forest(p: StreamsPreset, *, photometry="gaia", random_state=0):
    """The seed's baseline, an unfitted :class:`~astroad_nb.models.forest.RecursiveForest`."""
    from astroad_nb.models.forest import RecursiveForest

    return RecursiveForest(n_estimators=p.rf_trees, max_depth=p.rf_max_depth,
                           class_weight=p.rf_class_weight, negatives_per_positive=p.rf_negatives,
                           max_rounds=p.rf_rounds, photometry=photometry,
                           random_state=random_state)


def validate(model, problems, p: StreamsPreset, *, photometry=None, random_state=0):
    """Step 5: per stream, the meta-trained and fine-tuned model and the recursive forest.

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

    Returns
    -------
    table, table_query : pandas.DataFrame
        Index (stream, method); :data:`~astroad_nb.evaluation.STREAM_METRICS` + n_stars,
        n_members. ``table`` on the seed's evaluation rows (``self_lab == False`` query stars
        of its validation fields, else every query star), ``table_query`` on every query star.
    probas : dict
        (stream, method) -> p(member) of every field star.
    fitted : dict
        Stream name -> {"DeepSets (fine-tuned)": network, "Random forest (recursive)": forest}.
    """
    from astroad_nb.evaluation import evaluate_stream

    photometry = photometry or {}
    records, records_q, probas, fitted = [], [], {}, {}
    for problem in problems:
        phot = photometry.get(problem.name, "gaia")
        meta = copy.deepcopy(model).set_params(photometry=phot)
        found = {METHODS[0]: meta.score_problem(problem)}
        tuned = meta.fine_tune(problem) if problem.n_support >= 2 else meta
        found[METHODS[1]] = tuned.score_problem(problem)
        forest = make_forest(p, photometry=phot, random_state=random_state).fit(problem)
        found[METHODS[2]] = forest.proba_
        fitted[problem.name] = {METHODS[1]: tuned, METHODS[2]: forest}  # tuned is meta, tuned
        seed_rows = "self_lab" in problem.field.columns
        for method, proba in found.items():
            key = {"stream": problem.name, "method": method}
            q = evaluate_stream(problem, proba, rows="query")
            records_q.append({**key, **q})
            records.append({**key, **(evaluate_stream(problem, proba, rows="seed_test")
                                      if seed_rows else q)})
            probas[(problem.name, method)] = proba
    return (pd.DataFrame(records).set_index(["stream", "method"]),
            pd.DataFrame(records_q).set_index(["stream", "method"]), probas, fitted)


def summarise(table, validation_names, gd1_name):
    """Step 6: mean over the validation streams, and the seed's GD-1 table layout.

    Returns
    -------
    means : pandas.DataFrame
        Index method; the stream metrics averaged over ``validation_names``.
    gd1 : pandas.DataFrame
        :func:`~astroad_nb.evaluation.gd1_table` of the GD-1 rows, the seed's rows appended.
    """
    from astroad_nb.evaluation import STREAM_METRICS, gd1_table

    means = table.loc[list(validation_names)].groupby(level="method", sort=False)[
        list(STREAM_METRICS)].mean()
    return means, gd1_table(table, stream=gd1_name)


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
        Tables ``means`` (headline: mean over validation streams, index method), ``gd1``,
        ``table`` (per stream on the seed's rows), ``table_query``; objects ``model``,
        ``train``, ``validation``, ``gd1``, ``probas``.
    """
    p = resolve_preset(PRESETS, preset, **overrides)
    seconds = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(random_state)
    train, validation, source = problems(p, rng, data_root=data_root)
    gd1, gd1_photometry = gd1_problem(p, rng, gd1_root=gd1_root)
    seconds["data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = meta_train(make_model(p, device=device, random_state=random_state,
                                  verbose=verbose), train)
    seconds["meta_train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table, table_query, probas, fitted = validate(model, list(validation) + [gd1], p,
                                          photometry={gd1.name: gd1_photometry},
                                          random_state=random_state)
    seconds["validate"] = time.perf_counter() - t0
    val_names = [q.name for q in validation]
    means, gd1_tab = summarise(table, val_names, gd1.name)
    config = {"source": source, "random_state": random_state, "n_train_streams": len(train),
              "validation_streams": val_names, "gd1": gd1.name}
    title = (f"{TITLE}: {source} streams ({len(train)} for meta-training), {gd1.name}, "
             f"preset {p.name!r}")
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="means",
               tables={"means": means, "gd1": gd1_tab, "table": table,
                       "table_query": table_query},
               config=config, seconds=seconds,
               objects={"model": model, "train": train, "validation": validation, "gd1": gd1,
                        "probas": probas, "fitted": fitted})
