"""System 5: contextual novelty detection with context prediction (CANDE-CP) on machine sounds.

What is normal depends on the context (which machine is heard). The seed compares detectors that
ignore the context, one detector per context, and an auto-encoder conditioned on the context by
FiLM, with the context known (oracle) or predicted by a classifier and smoothed by a voting
window over the last W files.

Steps (each a public function that notebook 05 calls cell by cell):
:func:`stage_seeds` -> :func:`simulate` (MIMII-like clips, four types x four ids x three SNRs)
-> :func:`prepare` (the seed's split, log-mel frames of train and test clips, the test stream)
-> :func:`fit_predictor` (the context predictor and its embedding, once) ->
:func:`assign_contexts` (true / per-file / windowed contexts of the test stream) -> per model
seed :func:`fit_models` (AE per context, pooled AE, FiLM one-hot, FiLM on the embedding) ->
:func:`score_files` (the seven scored variants, one score per
test file) -> :func:`cell_scores` (ROC-AUC and PR-AUC per (SNR x machine) cell) ->
:func:`comparison_table`, :func:`by_snr_table`, :func:`cells_table`,
:func:`context_accuracy_table`, :func:`orderings_table`, :func:`timeline_table`;
:func:`seed_reference` holds the seed's numbers; :func:`real_clips` asks the question of the
real clips in ``../shared/data/sounds``; :func:`run` chains them.

The seven variants (:data:`VARIANTS`): ``ae_per_context`` (one seed AE per context, scored
with the true context), ``ae_pooled`` (one AE on every context), ``film_onehot_oracle`` /
``film_onehot_window`` (FiLM on a one-hot context: the true one / the windowed prediction),
``film_embedding_oracle`` / ``film_embedding_window`` / ``film_embedding_file`` (FiLM on the
predictor's frozen embedding: true context / windowed prediction / each file's own prediction,
no window).

Differences from the seed
-------------------------
- Data: simulated clips (:func:`~astroad_nb.data.sounds.simulate_machine_sounds`), not MIMII;
  the seed's numbers (table ``seed_reference``) are not comparable value for value. ``"fast"``
  uses 1 s clips (28 vectors each instead of 309) and 48 normal / 16 abnormal clips per machine
  and SNR, so that each machine's test stream (120 files) is long enough for a window to
  settle, and scores every 2nd test vector.
- Validation: every model holds out a random 10 % of its training frames (the models' own
  ``val_fraction``); the seed took validation clips from its test half and kept them in the test
  set (:func:`~astroad_nb.data.sounds.split_mimii`'s admitted leak), so here model selection
  never sees test clips; ``leak_free`` only decides whether those clips stay in the test set.
- Frames are standardised per feature (the models' convention; the seed feeds raw dB).
- ``frame_step`` > 1 fits on every k-th training vector (stacked vectors overlap by 4 of 5
  frames, so little is lost); every test vector is scored.
- The test stream (the seed does not state its order) is machine by machine: type, id, then
  its SNRs from -6 to 6 dB, normal clips then abnormal ones, each sorted; the window runs on
  across machines as in the seed. A machine's recordings at three SNRs are one context, so
  the window is wrong only after each of the 15 machine changes, as in a long MIMII stream.
- ``"fast"`` trains the auto-encoders for 8 epochs at lr 3e-3, batch 64, and the predictor
  for 6 at 2e-3 (the seed: 100 / 50 epochs at 1e-4, batch 256 / 512).
- The context predictor (and so the embedding) is fitted once and the auto-encoders once per
  seed, as the seed's scripts do; the context accuracy therefore has no sd over seeds.
- The seed reports no FiLM one-hot result with the true context (NaN in ``seed_reference``).

What it finds (``"fast"``, table ``orderings``): ROC-AUC rises with SNR and the window raises
the context accuracy (0.63 -> 0.73), as in the seed; FiLM does *not* beat the pooled AE at
these sizes (one-hot, true context 0.684 vs 0.700). Trained longer (``frame_step=2,
ae_epochs=25``, one seed) FiLM one-hot (0.723) and the AE per context (0.742) pass the pooled AE
(0.717), the seed's ordering; the windowed FiLM variants stay below their true-context ones.
"""

from __future__ import annotations

import dataclasses
import time
import zlib

import numpy as np
import pandas as pd

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["ContextPreset", "PRESETS", "SIZE_FIELDS", "VARIANTS", "VARIANT_LABELS",
           "SEED_CONTEXT_AUC", "SEED_CONTEXT_ACCURACY", "preset", "stage_seeds", "simulate",
           "prepare", "fit_predictor", "fit_models", "assign_contexts", "score_files", "cell_scores",
           "comparison_table", "by_snr_table", "cells_table", "context_hits", "context_accuracy_table",
           "orderings_table", "timeline_table", "seed_reference", "real_clips", "run"]

NAME = "context"
TITLE = ("Contextual novelty detection on machine sounds: AE per context / pooled vs FiLM "
         "auto-encoders on true and predicted (windowed) contexts (ROC-AUC, PR-AUC per cell)")

#: The scored variants, in table order.
VARIANTS = ("ae_per_context", "ae_pooled", "film_onehot_oracle", "film_onehot_window",
            "film_embedding_oracle", "film_embedding_window", "film_embedding_file")

#: Variant -> the seed's name for it (``W`` is the preset's window).
VARIANT_LABELS = {
    "ae_per_context": "AE per context (true context)",
    "ae_pooled": "AE pooled",
    "film_onehot_oracle": "FiLM one-hot (true context)",
    "film_onehot_window": "FiLM one-hot (predicted, W{W})",
    "film_embedding_oracle": "FiLM embedding (true context)",
    "film_embedding_window": "FiLM embedding (predicted, W{W})",
    "film_embedding_file": "FiLM embedding (predicted, no window)",
}

#: The seed's mean ROC-AUC over its 48 (machine id x SNR) cells and 3 seeds (SEEDS.md §5);
#: NaN where it reports none.
SEED_CONTEXT_AUC = {"ae_per_context": 0.693, "ae_pooled": 0.639, "film_onehot_oracle": np.nan,
                    "film_onehot_window": 0.704, "film_embedding_oracle": 0.701,
                    "film_embedding_window": 0.710, "film_embedding_file": 0.686}
#: The seed's context accuracy on its test files: per file (no window) and windowed (W = 50).
SEED_CONTEXT_ACCURACY = {"per_file": 0.769, "window": 0.890}

_SEED_DATA = ("MIMII (16 kHz, 10 s, channel 0), 14,719 normal / 3,300 abnormal files per SNR, "
              "seed's split; 3 seeds (the seed's paper)")


@dataclasses.dataclass(frozen=True)
class ContextPreset(Preset):
    """Sizes and hyper-parameters of the contextual-novelty protocol.

    Attributes
    ----------
    scale : float
        Fraction of MIMII's clip counts per machine and SNR (used when ``n_normal`` is None).
    n_normal, n_abnormal : int or None
        Clips per machine and SNR instead of ``scale``.
    duration : float
        Seconds per clip (10 s = 309 stacked vectors).
    snrs : tuple of float
        dB.
    machine_types : tuple of str
    machine_ids : tuple of int
    anomaly_strength, context_jitter : float
        Simulator knobs (1 = the tuned defaults).
    leak_free : bool
        Drop the seed's validation clips from the test set (they are never used to select a
        model here).
    frame_step : int
        Fit on every ``frame_step``-th training vector.
    test_frame_step : int
        Score (and predict the context of) every ``test_frame_step``-th test vector of a clip.
    ae_epochs, ae_batch_size, ae_lr : training of every auto-encoder (Adam).
    predictor_epochs, predictor_batch_size, predictor_lr : training of the context predictor.
    predictor_hidden : tuple of int
        The predictor's hidden widths (the seed's 512-512-256-128-128-64; the last is the
        embedding).
    window, decay : int, float
        The voting window W and the weight ``decay ** age``.
    reset : bool
        Empty the window when the machine changes (the seed does not).
    n_seeds : int
        Model seeds (the data are the same for all).
    real : bool
        Run :func:`real_clips` on ``../shared/data/sounds`` when it is there.
    real_segment_s : float
        Length [s] of the units the real clips are cut into.
    real_epochs : int
        Epochs of each real machine's AE.
    real_min_anomalies : int
        Anomalous clips a machine needs for a clip-level AUROC.
    astro : bool
        Add the astronomy-context tables (light curves) when that module is installed.
    """

    scale: float = 0.02
    n_normal: object = 48
    n_abnormal: object = 16
    duration: float = 1.0
    snrs: tuple = (-6.0, 0.0, 6.0)
    machine_types: tuple = ("fan", "pump", "slider", "valve")
    machine_ids: tuple = (0, 2, 4, 6)
    anomaly_strength: float = 1.0
    context_jitter: float = 1.0
    leak_free: bool = False
    frame_step: int = 4
    test_frame_step: int = 2
    ae_epochs: int = 8
    ae_batch_size: int = 64
    ae_lr: float = 3e-3
    predictor_epochs: int = 6
    predictor_batch_size: int = 256
    predictor_lr: float = 2e-3
    predictor_hidden: tuple = (512, 512, 256, 128, 128, 64)
    window: int = 50
    decay: float = 0.9
    reset: bool = False
    n_seeds: int = 3
    real: bool = True
    real_segment_s: float = 2.0
    real_epochs: int = 10
    real_min_anomalies: int = 5
    astro: bool = True


PRESETS = {
    "fast": ContextPreset(name="fast"),
    "full": ContextPreset(name="full", scale=0.05, n_normal=None, n_abnormal=None,
                          duration=10.0, frame_step=2, test_frame_step=1, ae_epochs=50, ae_batch_size=256,
                          ae_lr=1e-3, predictor_epochs=25, predictor_batch_size=512,
                          predictor_lr=1e-3, real_epochs=50),
    "seed": ContextPreset(name="seed", scale=1.0, n_normal=None, n_abnormal=None,
                          duration=10.0, frame_step=1, test_frame_step=1, ae_epochs=100, ae_batch_size=256,
                          ae_lr=1e-4, predictor_epochs=50, predictor_batch_size=512,
                          predictor_lr=1e-4, window=50, decay=0.9, real_epochs=100,
                          astro=False),
}

#: The fields that set sizes (not the science): ``--preset seed --fast`` takes these from "fast".
SIZE_FIELDS = ("scale", "n_normal", "n_abnormal", "duration", "frame_step", "test_frame_step",
               "ae_epochs",
               "ae_batch_size", "ae_lr", "predictor_epochs", "predictor_batch_size",
               "predictor_lr", "real_epochs")


def preset(name=None, **overrides) -> ContextPreset:
    """A named preset (default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``), with overrides."""
    return resolve_preset(PRESETS, name, **overrides)


def _sub_seed(random_state, key: str) -> int:
    """A seed for one named random step (zlib-derived, the same in every process)."""
    state = np.random.SeedSequence([int(random_state), zlib.crc32(key.encode())])
    return int(state.generate_state(1)[0] % (2**31 - 1))


def stage_seeds(random_state=0, n_seeds=3) -> dict:
    """Step 0: one seed per random step.

    Parameters
    ----------
    random_state : int, default=0
    n_seeds : int, default=3

    Returns
    -------
    dict
        ``data`` (the simulator), ``models`` (list of ``n_seeds`` auto-encoder seeds),
        ``predictor``, ``real`` and ``astro``.
    """
    return {"data": _sub_seed(random_state, "data"),
            "models": [_sub_seed(random_state, f"models/{k}") for k in range(int(n_seeds))],
            "predictor": _sub_seed(random_state, "predictor"),
            "real": _sub_seed(random_state, "real"), "astro": _sub_seed(random_state, "astro")}


# --------------------------------------------------------------------------- data
def simulate(p: ContextPreset, random_state=0):
    """Step 1: MIMII-like clips of every machine type x id x SNR of the preset.

    Parameters
    ----------
    p : ContextPreset
    random_state : int or dict, default=0
        An int seeds :func:`stage_seeds`; a dict of :func:`stage_seeds` is used as it is.

    Returns
    -------
    SoundSet
        Lazy (clips rendered when asked); contexts = sorted ``<type>_<id>``.
    """
    from astroad_nb.data.sounds import simulate_machine_sounds

    seeds = random_state if isinstance(random_state, dict) else stage_seeds(random_state)
    return simulate_machine_sounds(
        float(p.scale), snrs=tuple(float(s) for s in p.snrs),
        machine_types=tuple(p.machine_types), machine_ids=tuple(int(i) for i in p.machine_ids),
        n_normal=None if p.n_normal is None else int(p.n_normal),
        n_abnormal=None if p.n_abnormal is None else int(p.n_abnormal),
        duration=float(p.duration), anomaly_strength=float(p.anomaly_strength),
        context_jitter=float(p.context_jitter), random_state=seeds["data"])


def prepare(p: ContextPreset, sounds, *, batch_size=32) -> dict:
    """Step 2: the seed's split, the log-mel vectors of the train and test clips, the stream.

    Parameters
    ----------
    p : ContextPreset
        ``leak_free``, ``frame_step`` and ``test_frame_step`` are used.
    sounds : SoundSet
        Labelled clips with known contexts (e.g. :func:`simulate`).
    batch_size : int, default=32
        Clips per log-mel pass.

    Returns
    -------
    dict
        ``split`` (:class:`~astroad_nb.data.sounds.SoundSplit`), ``train`` / ``test``
        (SoundSets of the train clips and of the test clips in stream order: by machine
        type, id, SNR, label), ``X_train``
        (fitted vectors, every ``frame_step``-th), ``context_train`` (their true contexts),
        ``test_frames`` (:class:`~astroad_nb.features.sounds.SoundFrames` of the test clips,
        every vector), ``X_test`` (the scored vectors: every ``test_frame_step``-th of each
        clip), ``files`` (test clip position of each scored vector), ``context_test`` (its true
        context), ``machines`` (its machine name),
        ``test_table`` (one row per test file, stream order), ``contexts`` (names).

    Raises
    ------
    ValueError
        If a clip has no context or label, or a machine has no training clip.
    """
    from astroad_nb.data.sounds import split_mimii
    from astroad_nb.features.sounds import sound_frames

    table = sounds.table
    bad = table[(table["context"] < 0) | (table["label"] < 0)]
    if len(bad):
        raise ValueError(f"prepare: {len(bad)} clips have no context or label (e.g. "
                         f"{bad['id'].iloc[0]!r}); the protocol needs both for every clip.")
    split = split_mimii(table, leak_free=bool(p.leak_free))
    # the stream: machine by machine (type, id), each machine's SNRs in turn, normal clips then
    # abnormal ones, in the split's (sorted) order
    test_rows = table.iloc[split.test]
    order = np.lexsort((np.arange(len(test_rows)), test_rows["label"].to_numpy(),
                        test_rows["snr_db"].to_numpy(), test_rows["machine_id"].to_numpy(),
                        test_rows["machine_type"].to_numpy()))
    train, test = sounds.subset(split.train), sounds.subset(split.test[order])
    missing = sorted(set(table["context_name"]) - set(train.table["context_name"]))
    if missing:
        raise ValueError(f"prepare: no training clip for contexts {missing}; simulate at "
                         "least 2 normal clips per machine.")
    f_train = sound_frames(train, batch_size=batch_size)
    f_test = sound_frames(test, batch_size=batch_size)
    step, test_step = max(1, int(p.frame_step)), max(1, int(p.test_frame_step))
    c_train = train.table["context"].to_numpy(np.int64)[f_train.clip_index]
    t = test.table.reset_index(drop=True)
    # every test_step-th vector of each clip (its first included, so no clip is left out)
    keep = (np.arange(len(f_test)) - f_test.offsets[f_test.clip_index]) % test_step == 0
    files = f_test.clip_index[keep]
    return {"split": split, "train": train, "test": test,
            "X_train": f_train.frames[::step], "context_train": c_train[::step],
            "test_frames": f_test, "X_test": f_test.frames[keep], "files": files,
            "context_test": t["context"].to_numpy(np.int64)[files],
            "machines": t["context_name"].to_numpy()[files],
            "test_table": t, "contexts": tuple(sounds.contexts)}


# --------------------------------------------------------------------------- models
def fit_predictor(p: ContextPreset, data: dict, *, random_state=0, device="auto",
                  verbose=0):
    """Step 3: the context predictor, fitted once on the training vectors and their contexts.

    The seed trains its predictor (and so its embedding) once and its auto-encoders once per
    seed; so does :func:`run`.

    Parameters
    ----------
    p : ContextPreset
        ``predictor_hidden``, ``predictor_epochs``, ``predictor_batch_size``, ``predictor_lr``.
    data : dict
        :func:`prepare`'s output.
    random_state : int, default=0
    device : str, default="auto"
    verbose : int, default=0

    Returns
    -------
    ContextPredictor
        Fitted; ``embedding_`` (n_contexts, 64) is the FiLM embedding.
    """
    from astroad_nb.models.context import ContextPredictor

    predictor = ContextPredictor(tuple(int(h) for h in p.predictor_hidden),
                                 epochs=int(p.predictor_epochs),
                                 batch_size=int(p.predictor_batch_size),
                                 lr=float(p.predictor_lr), device=device,
                                 random_state=int(random_state), verbose=verbose)
    return predictor.fit(data["X_train"], data["context_train"])


def fit_models(p: ContextPreset, data: dict, embedding, *, random_state=0, device="auto",
               verbose=0) -> dict:
    """Step 4: fit the auto-encoders of one model seed on the training vectors.

    Parameters
    ----------
    p : ContextPreset
        ``ae_epochs``, ``ae_batch_size``, ``ae_lr``.
    data : dict
        :func:`prepare`'s output.
    embedding : array-like of shape (n_contexts, dim)
        The frozen context embedding (``fit_predictor(...).embedding_``).
    random_state : int, default=0
        One model seed (each model derives its own from it).
    device : str, default="auto"
    verbose : int, default=0

    Returns
    -------
    dict
        Fitted ``ae_per_context`` (:class:`~astroad_nb.models.PerContextDetector` of the
        seed's AE), ``ae_pooled`` (:func:`~astroad_nb.models.context.frame_autoencoder`),
        ``film_onehot`` and ``film_embedding`` (:class:`~astroad_nb.models.FiLMAutoEncoder`).
    """
    from astroad_nb.models.context import FiLMAutoEncoder, PerContextDetector, frame_autoencoder

    X, c = data["X_train"], data["context_train"]
    n_contexts = len(data["contexts"])
    ae = dict(epochs=int(p.ae_epochs), batch_size=int(p.ae_batch_size), lr=float(p.ae_lr),
              device=device, verbose=verbose)
    seed = int(random_state)
    out = {}
    out["ae_per_context"] = PerContextDetector(
        frame_autoencoder(**ae), random_state=_sub_seed(seed, "ae_per_context")).fit(X, context=c)
    out["ae_pooled"] = frame_autoencoder(random_state=_sub_seed(seed, "ae_pooled"),
                                         **ae).fit(X)
    out["film_onehot"] = FiLMAutoEncoder(n_contexts=n_contexts,
                                         random_state=_sub_seed(seed, "film_onehot"),
                                         **ae).fit(X, context=c)
    out["film_embedding"] = FiLMAutoEncoder(
        conditioning="embedding", random_state=_sub_seed(seed, "film_embedding"),
        **ae).fit(X, context=c, embedding=embedding)
    return out


def assign_contexts(p: ContextPreset, predictor, data: dict) -> dict:
    """Step 5: the contexts of the test stream: true, each file's own prediction, windowed.

    Parameters
    ----------
    p : ContextPreset
        ``window``, ``decay`` and ``reset``.
    predictor : fitted ContextPredictor
    data : dict
        :func:`prepare`'s output.

    Returns
    -------
    dict
        ``oracle``, ``file``, ``window``: :class:`~astroad_nb.models.context.StreamContexts`
        (one batched prediction of every test vector, shared by the three).
    """
    from astroad_nb.models.context import ContextStream

    frame_pred = predictor.predict(data["X_test"])
    n = len(data["contexts"])
    kw = dict(files=data["files"], true_context=data["context_test"])
    out = {}
    for mode in ("oracle", "file", "window"):
        stream = ContextStream(int(p.window), float(p.decay), mode=mode, reset=bool(p.reset),
                               n_contexts=n)
        out[mode] = stream.assign(frame_pred, machines=data["machines"] if p.reset else None,
                                  **kw)
    return out


def score_files(models: dict, streams: dict, data: dict) -> pd.DataFrame:
    """Step 6: one anomaly score per test file and variant (the seed's mean frame MSE).

    Parameters
    ----------
    models : dict
        :func:`fit_models`'s output.
    streams : dict
        :func:`assign_contexts`'s output.
    data : dict
        :func:`prepare`'s output.

    Returns
    -------
    pandas.DataFrame
        One row per test file (stream order), one column per :data:`VARIANTS` entry.
    """
    from astroad_nb.models.context import file_means

    X, files = data["X_test"], data["files"]
    oracle, window, own = (streams[m].frame_context for m in ("oracle", "window", "file"))
    pooled = models["ae_pooled"]
    scores = {
        "ae_per_context": models["ae_per_context"].file_anomaly_score(X, files,
                                                                      context=oracle),
        "ae_pooled": file_means(pooled.anomaly_score(X) / pooled.n_features_in_, files)[1],
        "film_onehot_oracle": models["film_onehot"].file_anomaly_score(X, files,
                                                                       context=oracle),
        "film_onehot_window": models["film_onehot"].file_anomaly_score(X, files,
                                                                       context=window),
        "film_embedding_oracle": models["film_embedding"].file_anomaly_score(X, files,
                                                                             context=oracle),
        "film_embedding_window": models["film_embedding"].file_anomaly_score(X, files,
                                                                             context=window),
        "film_embedding_file": models["film_embedding"].file_anomaly_score(X, files,
                                                                           context=own),
    }
    return pd.DataFrame(scores, columns=list(VARIANTS))


_CELL = ["snr_db", "machine_type", "machine_id"]


def cell_scores(file_scores: pd.DataFrame, test_table: pd.DataFrame, *, seed=0) -> pd.DataFrame:
    """Step 7: ROC-AUC and PR-AUC of each variant in each (SNR x machine type x id) cell.

    Parameters
    ----------
    file_scores : pandas.DataFrame
        :func:`score_files`'s output.
    test_table : pandas.DataFrame
        One row per test file (``prepare(...)["test_table"]``): ``label`` and the cell columns.
    seed : int, default=0
        Written in the ``seed`` column.

    Returns
    -------
    pandas.DataFrame
        Long table: ``seed``, ``variant``, ``snr_db``, ``machine_type``, ``machine_id``,
        ``n_normal``, ``n_abnormal``, ``roc_auc``, ``pr_auc``
        (:func:`~astroad_nb.evaluation.per_cell_detection`).
    """
    from astroad_nb.evaluation import per_cell_detection

    frames = []
    for variant in file_scores.columns:
        cells = per_cell_detection(test_table["label"], file_scores[variant],
                                   test_table[_CELL]).reset_index()
        cells.insert(0, "variant", variant)
        cells.insert(0, "seed", int(seed))
        frames.append(cells)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- tables
def _labels(window):
    return {v: VARIANT_LABELS[v].format(W=int(window)) for v in VARIANTS}


def comparison_table(cells: pd.DataFrame, *, window=50) -> pd.DataFrame:
    """The seed's comparison: mean over cells, mean +- sd over seeds, average rank.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cell_scores` of every seed, concatenated.
    window : int, default=50
        For the variants' labels.

    Returns
    -------
    pandas.DataFrame
        Index ``variant`` (:data:`VARIANTS` order); ``label``, ``roc_auc`` / ``roc_auc_sd``
        and ``pr_auc`` / ``pr_auc_sd`` (per seed the mean over the cells, then mean and sample
        sd over seeds; sd NaN with one seed), ``rank`` (mean rank by ROC-AUC among the variants
        over every cell and seed, 1 = best,
        :func:`~astroad_nb.evaluation.average_rank`), ``n_cells`` (cells with both classes, per
        seed), ``n_seeds`` and
        ``seed_roc_auc`` (the seed's number, :data:`SEED_CONTEXT_AUC`).
    """
    from astroad_nb.evaluation import average_rank

    per_seed = cells.groupby(["variant", "seed"], sort=False)[["roc_auc", "pr_auc"]].mean()
    stats = per_seed.groupby(level="variant", sort=False).agg(["mean", "std"])
    ranks = average_rank(cells[["variant", "seed", *_CELL, "roc_auc"]], by="variant",
                         within=["seed", *_CELL])
    variants = [v for v in VARIANTS if v in stats.index]
    labels = _labels(window)
    n_cells = cells.groupby("variant")["roc_auc"].apply(lambda s: int(s.notna().sum()))
    n_seeds = cells.groupby("variant")["seed"].nunique()
    table = pd.DataFrame({
        "label": [labels[v] for v in variants],
        "roc_auc": [stats.loc[v, ("roc_auc", "mean")] for v in variants],
        "roc_auc_sd": [stats.loc[v, ("roc_auc", "std")] for v in variants],
        "pr_auc": [stats.loc[v, ("pr_auc", "mean")] for v in variants],
        "pr_auc_sd": [stats.loc[v, ("pr_auc", "std")] for v in variants],
        "rank": [float(ranks[v]) for v in variants],
        "n_cells": [int(n_cells[v]) // int(n_seeds[v]) for v in variants],
        "n_seeds": [int(n_seeds[v]) for v in variants],
        "seed_roc_auc": [SEED_CONTEXT_AUC[v] for v in variants],
    }, index=pd.Index(variants, name="variant"))
    return table


def by_snr_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean ROC-AUC and PR-AUC of each variant per SNR (over the cells and seeds).

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cell_scores` of every seed.

    Returns
    -------
    pandas.DataFrame
        Index ``variant``; columns ``roc_auc_<snr>dB`` then ``pr_auc_<snr>dB`` per SNR
        (ascending), and a last row ``mean`` over the variants.
    """
    snrs = sorted(cells["snr_db"].unique())
    mean = cells.groupby(["variant", "snr_db"], sort=False)[["roc_auc", "pr_auc"]].mean()
    variants = [v for v in VARIANTS if v in mean.index.get_level_values(0)]
    out = {}
    for metric in ("roc_auc", "pr_auc"):
        for snr in snrs:
            out[f"{metric}_{snr:g}dB"] = [mean.loc[(v, snr), metric] for v in variants]
    table = pd.DataFrame(out, index=pd.Index(variants, name="variant"))
    table.loc["mean"] = table.mean(axis=0)
    return table


def cells_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (variant, SNR, machine type, id) cell: ROC-AUC and PR-AUC, mean and sd over seeds.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cell_scores` of every seed.

    Returns
    -------
    pandas.DataFrame
        Index (``variant``, ``snr_db``, ``machine_type``, ``machine_id``); columns
        ``n_normal``, ``n_abnormal``, ``roc_auc``, ``roc_auc_sd``, ``pr_auc``, ``pr_auc_sd``.
    """
    keys = ["variant", *_CELL]
    g = cells.groupby(keys, sort=False)
    table = pd.DataFrame({"n_normal": g["n_normal"].first(), "n_abnormal": g["n_abnormal"].first(),
                          "roc_auc": g["roc_auc"].mean(), "roc_auc_sd": g["roc_auc"].std(),
                          "pr_auc": g["pr_auc"].mean(), "pr_auc_sd": g["pr_auc"].std()})
    order = {v: k for k, v in enumerate(VARIANTS)}
    return table.sort_index(level=[1, 2, 3], sort_remaining=False).sort_index(
        level=0, key=lambda s: s.map(order), sort_remaining=False)


def context_hits(streams: dict, test_table: pd.DataFrame) -> pd.DataFrame:
    """Whether each test file's context was right, per file and windowed.

    Parameters
    ----------
    streams : dict
        :func:`assign_contexts`'s output.
    test_table : pandas.DataFrame
        One row per test file (``prepare(...)["test_table"]``).

    Returns
    -------
    pandas.DataFrame
        One row per test file: ``snr_db``, ``per_file`` and ``window`` (bool).
    """
    true = streams["window"].true_context
    return pd.DataFrame({"snr_db": test_table["snr_db"].to_numpy(),
                         "per_file": streams["file"].file_context == true,
                         "window": streams["window"].context == true})


def context_accuracy_table(hits: list) -> pd.DataFrame:
    """Context accuracy of the test files, per file (no window) vs windowed.

    Parameters
    ----------
    hits : list of pandas.DataFrame
        Per seed, one row per test file: ``snr_db``, ``per_file`` and ``window`` (bool: the
        context was right) (what :func:`run` collects).

    Returns
    -------
    pandas.DataFrame
        Index ``mode`` (``per_file``, ``window``); ``accuracy`` / ``accuracy_sd`` (over seeds),
        ``accuracy_<snr>dB`` per SNR, ``seed_accuracy`` (:data:`SEED_CONTEXT_ACCURACY`).
    """
    rows = {}
    for mode in ("per_file", "window"):
        per_seed = np.array([h[mode].mean() for h in hits], dtype=float)
        row = {"accuracy": per_seed.mean(),
               "accuracy_sd": per_seed.std(ddof=1) if len(per_seed) > 1 else np.nan}
        allhits = pd.concat(hits, ignore_index=True)
        for snr, part in allhits.groupby("snr_db", sort=True):
            row[f"accuracy_{snr:g}dB"] = float(part[mode].mean())
        row["seed_accuracy"] = SEED_CONTEXT_ACCURACY[mode]
        rows[mode] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "mode"
    return table


def orderings_table(comparison: pd.DataFrame, by_snr: pd.DataFrame,
                    accuracy: pd.DataFrame) -> pd.DataFrame:
    """The seed's orderings, each with its two numbers and whether it holds here.

    ``required`` marks the orderings the protocol issue expects on the simulator (AUROC
    -6 < 0 < 6 dB over all variants, windowed context accuracy > per file, FiLM one-hot with
    the true context > pooled AE); the others are the seed's further claims, reported as found.

    Parameters
    ----------
    comparison, by_snr, accuracy : pandas.DataFrame
        :func:`comparison_table`, :func:`by_snr_table`, :func:`context_accuracy_table`.

    Returns
    -------
    pandas.DataFrame
        Index ``ordering`` (``"a < b"`` / ``"a > b"``); ``left``, ``right`` (numbers),
        ``holds`` (bool), ``required`` (bool).
    """
    auc = comparison["roc_auc"]
    snr_cols = [c for c in by_snr.columns if c.startswith("roc_auc_")]
    snr_cols = sorted(snr_cols, key=lambda c: float(c[len("roc_auc_"):-2]))
    rows = []
    mean = by_snr.loc["mean"]
    for lo, hi in zip(snr_cols[:-1], snr_cols[1:]):
        rows.append((f"ROC-AUC {lo[8:]} < {hi[8:]} (mean of variants)", mean[lo], mean[hi],
                     "<", True))
    rows.append(("context accuracy: window > per file", accuracy.loc["window", "accuracy"],
                 accuracy.loc["per_file", "accuracy"], ">", True))
    pairs = [("film_onehot_oracle", "ae_pooled", True),
             ("film_embedding_oracle", "ae_pooled", False),
             ("film_onehot_window", "ae_pooled", False),
             ("film_embedding_window", "ae_pooled", False),
             ("ae_per_context", "ae_pooled", False),
             ("film_embedding_window", "film_embedding_file", False),
             ("film_embedding_window", "film_embedding_oracle", False)]
    for a, b, required in pairs:
        if a in auc.index and b in auc.index:
            rows.append((f"ROC-AUC {a} > {b}", auc[a], auc[b], ">", required))
    table = pd.DataFrame(
        [{"ordering": name, "left": float(x), "right": float(y),
          "holds": bool(x < y) if op == "<" else bool(x > y), "required": req}
         for name, x, y, op, req in rows]).set_index("ordering")
    return table


def timeline_table(data: dict, streams: dict, file_scores: pd.DataFrame, *,
                   variant="film_embedding_window") -> pd.DataFrame:
    """Per test file (stream order) what the context timeline panel shows.

    Parameters
    ----------
    data : dict
        :func:`prepare`'s output.
    streams : dict
        :func:`assign_contexts`'s output (one seed).
    file_scores : pandas.DataFrame
        :func:`score_files`'s output (the same seed).
    variant : str, default="film_embedding_window"
        The score shown.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`astroad_nb.widgets.context_state.TIMELINE_COLUMNS`:
        ``file_id`` (the clip's ``id``), ``machine_type``, ``machine_id``, ``snr_db`` (dB),
        ``true_context``, ``file_context`` (majority of the file's frames),
        ``window_context`` (the windowed vote the detector used), ``vote_confidence`` (the
        winner's share of the window's weight), ``anomaly_score`` (``variant``'s mean frame
        MSE, 7 significant digits), ``label`` (0 / 1), ``wav_path`` (None for simulated
        clips); then ``file_share`` (share of the file's frames voting for ``file_context``)
        and ``anomaly`` (the simulated kind, ``""`` for normals). Index ``position`` (0-based
        stream position). Contexts index ``data["contexts"]``.
    """
    t = data["test_table"]
    window = streams["window"]
    frame = pd.DataFrame({
        "file_id": t["id"].astype(str).to_numpy(),
        "machine_type": t["machine_type"].to_numpy(),
        "machine_id": t["machine_id"].to_numpy(np.int64),
        "snr_db": t["snr_db"].to_numpy(float),
        "true_context": window.true_context,
        "file_context": window.file_context,
        "window_context": window.context,
        "vote_confidence": window.confidence,
        "anomaly_score": file_scores[variant].to_numpy(float),
        "label": t["label"].to_numpy(np.int64),
        "wav_path": [None if p is None or (isinstance(p, float) and np.isnan(p)) else str(p)
                     for p in t["path"]],
        "file_share": np.asarray(streams["file"].confidence, dtype=float),
        "anomaly": t["anomaly"].to_numpy() if "anomaly" in t else "",
    }, index=pd.RangeIndex(len(t), name="position"))
    # 7 significant digits are plenty for a plot and keep the run's JSON small
    for col in ("anomaly_score", "vote_confidence", "file_share"):
        frame[col] = [float(f"{v:.7g}") for v in frame[col]]
    return frame


def seed_reference() -> pd.DataFrame:
    """The seed's published numbers (SEEDS.md §5), labelled with what they were measured on.

    Returns
    -------
    pandas.DataFrame
        Index ``row``: each variant of :data:`VARIANTS` (``statistic`` = mean ROC-AUC over 48
        cells; ``film_onehot_oracle`` NaN, not reported) then ``context_accuracy_per_file`` and
        ``context_accuracy_window``; columns ``label``, ``statistic``, ``value``,
        ``measured_on``.
    """
    labels = _labels(50)
    rows = [{"row": v, "label": labels[v], "statistic": "mean ROC-AUC over 48 cells",
             "value": SEED_CONTEXT_AUC[v], "measured_on": _SEED_DATA} for v in VARIANTS]
    rows += [{"row": f"context_accuracy_{mode}", "label": f"context accuracy ({mode})",
              "statistic": "share of test files", "value": value, "measured_on": _SEED_DATA}
             for mode, value in SEED_CONTEXT_ACCURACY.items()]
    return pd.DataFrame(rows).set_index("row")


# --------------------------------------------------------------------------- real clips
_REAL_SOURCES = (("dcase_id00", "dcase"), ("mimii_valve_6dB", "mimii"),
                 ("mimii_types", "mimii"))


def _segments(waveform, n_seg):
    return [s for s in np.array_split(np.asarray(waveform, np.float32), n_seg)]


def real_clips(p: ContextPreset, root=None, *, random_state=0, device="auto",
               verbose=0) -> dict | None:
    """Step 8 (real data): per real machine, fit the seed's AE on normal clips and rank each
    real anomaly among held-out normal ones.

    Every clip is cut into ``round(duration / p.real_segment_s)`` equal segments (the units
    scored: a segment's score is its mean frame MSE). Per machine (source folder x type x id),
    the normal clips sorted by id: with 2 or more, the first half (at least one clip) is held
    out and the rest train, as the seed splits; with a single normal clip its first half of
    segments is held out and the rest train. An anomalous clip's score is the mean of its
    segments' scores; ``rank`` is 1 + the number of held-out normal segments scored above it,
    ``segment_auroc`` the AUROC of its segments against the held-out normal segments (the
    segments of one clip are not independent). A clip-level AUROC needs
    ``p.real_min_anomalies`` anomalous clips of a machine (none of the shared machines has).

    Parameters
    ----------
    p : ContextPreset
        ``real_segment_s``, ``real_epochs``, ``ae_batch_size``, ``ae_lr``,
        ``real_min_anomalies``.
    root : path, optional
        Default ``real_data_path("sounds")``.
    random_state : int, default=0
    device : str, default="auto"
    verbose : int, default=0

    Returns
    -------
    dict or None
        None when the folder is absent; else ``table`` (one row per anomalous clip: ``source``,
        ``machine``, ``file_id``, ``n_train_segments``, ``n_heldout``, ``score``,
        ``median_normal``, ``rank``, ``percentile`` (share of held-out normal segments scored
        below it), ``segment_auroc``, ``clip_auroc`` (NaN below ``real_min_anomalies``)),
        ``machines`` (one row per machine: clip counts and what was done), ``read`` (clips read
        per source), ``rejected`` (files skipped by the readers), ``root``.
    """
    from astroad_nb._config import real_data_path
    from astroad_nb.data.sounds import read_dcase, read_mimii
    from astroad_nb.evaluation import auroc
    from astroad_nb.features.sounds import sound_frames
    from astroad_nb.models.context import frame_autoencoder

    folder = real_data_path("sounds") if root is None else root
    if folder is None:
        return None
    from pathlib import Path

    folder = Path(folder)
    rows, machines, read, rejected = [], [], {}, []
    for sub, layout in _REAL_SOURCES:
        if not (folder / sub).is_dir():
            continue
        sounds = (read_dcase if layout == "dcase" else read_mimii)(folder / sub)
        read[sub] = len(sounds)
        rejected += [{"source": sub, **r} for r in sounds.rejected.to_dict("records")]
        t = sounds.table
        key = (t["machine_type"].astype(str) + "_" + t["machine_id"].astype(int).map(
            lambda i: "id?" if i < 0 else f"{i:02d}"))
        for machine in sorted(key.unique()):
            rows_m = t[key == machine]
            normal = rows_m[rows_m["label"] == 0].sort_values("id", kind="stable")
            abnormal = rows_m[rows_m["label"] == 1].sort_values("id", kind="stable")
            info = {"source": sub, "machine": machine, "n_normal": len(normal),
                    "n_abnormal": len(abnormal)}
            if normal.empty or abnormal.empty:
                machines.append({**info, "done": "skipped: needs normal and anomalous clips"})
                continue
            pos = {i: k for k, i in enumerate(t["id"])}
            waves = {i: sounds.load([pos[i]])[0] for i in rows_m["id"]}
            n_seg = max(1, int(round(len(next(iter(waves.values())))
                                     / sounds.sample_rate / float(p.real_segment_s))))
            segs = {i: _segments(w, n_seg) for i, w in waves.items()}
            ids = normal["id"].tolist()
            if len(ids) >= 2:
                held_ids, train_ids = ids[:max(1, len(ids) // 2)], ids[max(1, len(ids) // 2):]
                held = [s for i in held_ids for s in segs[i]]
                train = [s for i in train_ids for s in segs[i]]
            else:
                half = max(1, n_seg // 2)
                held, train = segs[ids[0]][:half], segs[ids[0]][half:]
            if not train:
                machines.append({**info, "done": "skipped: one normal clip of one segment"})
                continue
            f_train = sound_frames(train)
            model = frame_autoencoder(epochs=int(p.real_epochs),
                                      batch_size=int(p.ae_batch_size), lr=float(p.ae_lr),
                                      device=device, verbose=verbose,
                                      random_state=_sub_seed(random_state, machine)).fit(
                f_train.frames)

            def seg_scores(parts, model=model):
                f = sound_frames(parts)
                return f.per_clip(model.anomaly_score(f.frames) / model.n_features_in_)

            s_held = seg_scores(held)
            clip_scores = []
            for i in abnormal["id"]:
                s_anom = seg_scores(segs[i])
                score = float(s_anom.mean())
                clip_scores.append(score)
                y = np.r_[np.zeros(len(s_held)), np.ones(len(s_anom))]
                rows.append({"source": sub, "machine": machine, "file_id": str(i),
                             "n_train_segments": len(train), "n_heldout": len(s_held),
                             "score": score, "median_normal": float(np.median(s_held)),
                             "rank": int(1 + (s_held > score).sum()),
                             "percentile": float((s_held < score).mean()),
                             "segment_auroc": auroc(y, np.r_[s_held, s_anom]),
                             "clip_auroc": np.nan})
            if len(abnormal) >= int(p.real_min_anomalies):
                y = np.r_[np.zeros(len(s_held)), np.ones(len(clip_scores))]
                value = auroc(y, np.r_[s_held, clip_scores])
                for r in rows:
                    if r["source"] == sub and r["machine"] == machine:
                        r["clip_auroc"] = value
            machines.append({**info, "done": f"{len(train)} train / {len(held)} held-out normal "
                                             f"segments of {n_seg} per clip"})
    table = pd.DataFrame(rows, columns=["source", "machine", "file_id", "n_train_segments",
                                        "n_heldout", "score", "median_normal", "rank",
                                        "percentile", "segment_auroc", "clip_auroc"])
    return {"table": table, "machines": pd.DataFrame(machines), "read": read,
            "rejected": pd.DataFrame(rejected, columns=["source", "path", "reason"]),
            "root": str(folder)}


# --------------------------------------------------------------------------- run
def _astro_tables(p, random_state, verbose):
    """The light-curve context tables (``_context_astro``), or why there are none."""
    if not p.astro:
        return {}, "skipped: preset astro=False"
    try:
        from astroad_nb.protocols._context_astro import lightcurve_context_tables
    except ImportError as exc:
        return {}, f"skipped: astroad_nb.protocols._context_astro is not available ({exc})"
    tables = lightcurve_context_tables(p, random_state=random_state, verbose=verbose)
    out = {(k if str(k).startswith("astro") else f"astro_{k}"): v for k, v in tables.items()}
    return out, f"{len(out)} tables: {sorted(out)}"


def run(preset=None, *, random_state=0, device="auto", n_jobs=None, verbose=0,
        **overrides) -> Run:
    """Simulate machine sounds; fit and score the seven variants over ``n_seeds`` model seeds.

    Parameters
    ----------
    preset : {"fast", "full", "seed"} or ContextPreset, optional
        Default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``.
    random_state : int, default=0
        Seeds every step (:func:`stage_seeds`).
    device : str, default="auto"
    n_jobs : ignored (kept for the CLI).
    verbose : int, default=0
    **overrides
        Preset fields to change.

    Returns
    -------
    Run
        Tables ``comparison`` (headline, :func:`comparison_table`), ``by_snr``, ``cells``,
        ``context_accuracy`` (one predictor, so ``accuracy_sd`` is NaN), ``orderings`` (:func:`orderings_table`: checked, not asserted),
        ``seed_reference``, ``timeline`` (:func:`timeline_table` of the first model seed),
        with the real clips ``real_clips`` and ``real_machines`` (else ``config["real_clips"]``
        says why not), and the light-curve context tables ``astro_*`` when that module is
        there (``config["astro"]`` says what happened). Objects: ``sounds``, ``data``,
        ``models`` / ``streams`` / ``file_scores`` (first seed), ``cells`` (long table),
        ``timeline`` (what :class:`~astroad_nb.widgets.ContextTimeline` needs: ``table``,
        ``sounds`` (test clips, stream order), ``frames``, ``model``, ``contexts``), ``real``.
    """
    p = resolve_preset(PRESETS, preset, **overrides)
    seeds = stage_seeds(random_state, p.n_seeds)
    seconds = {}
    t0 = time.perf_counter()
    sounds = simulate(p, seeds)
    data = prepare(p, sounds)
    seconds["simulate_and_features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictor = fit_predictor(p, data, random_state=seeds["predictor"], device=device,
                              verbose=verbose)
    seconds["fit_predictor"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    streams = assign_contexts(p, predictor, data)
    hits = [context_hits(streams, data["test_table"])]
    seconds["assign_contexts"] = time.perf_counter() - t0
    all_cells, first = [], None
    t_fit = t_score = 0.0
    for k, seed in enumerate(seeds["models"]):
        t0 = time.perf_counter()
        models = fit_models(p, data, predictor.embedding_, random_state=seed, device=device,
                            verbose=verbose)
        t_fit += time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = score_files(models, streams, data)
        all_cells.append(cell_scores(scores, data["test_table"], seed=k))
        t_score += time.perf_counter() - t0
        if first is None:
            first = ({**models, "predictor": predictor}, scores)
    seconds["fit_autoencoders"], seconds["score"] = t_fit, t_score
    cells = pd.concat(all_cells, ignore_index=True)
    comparison = comparison_table(cells, window=p.window)
    by_snr = by_snr_table(cells)
    accuracy = context_accuracy_table(hits)
    models, scores = first
    timeline = timeline_table(data, streams, scores)
    tables = {"comparison": comparison, "by_snr": by_snr, "cells": cells_table(cells),
              "context_accuracy": accuracy,
              "orderings": orderings_table(comparison, by_snr, accuracy),
              "seed_reference": seed_reference(), "timeline": timeline}
    t = data["test_table"]
    config = {"random_state": random_state, "model_seeds": seeds["models"],
              "n_clips": len(sounds), "n_train_clips": len(data["train"]),
              "n_test_clips": len(t), "n_train_vectors": int(len(data["X_train"])),
              "n_test_vectors": int(len(data["X_test"])), "contexts": list(data["contexts"]),
              "timeline_variant": "film_embedding_window", "timeline_seed": 0}
    objects = {"sounds": sounds, "data": data, "models": models, "streams": streams,
               "file_scores": scores, "cells": cells,
               "timeline": {"table": timeline, "sounds": data["test"],
                            "frames": data["test_frames"], "model": models["film_embedding"],
                            "contexts": data["contexts"]}}
    if p.real:
        t0 = time.perf_counter()
        real = real_clips(p, random_state=seeds["real"], device=device, verbose=verbose)
        if real is None:
            config["real_clips"] = "skipped: real_data_path('sounds') is absent"
        else:
            tables["real_clips"] = real["table"]
            tables["real_machines"] = real["machines"]
            objects["real"] = real
            config["real_clips"] = (f"{sum(real['read'].values())} clips read from "
                                    f"{real['root']} ({real['read']}), "
                                    f"{len(real['rejected'])} rejected")
            seconds["real_clips"] = time.perf_counter() - t0
    else:
        config["real_clips"] = "skipped: preset real=False"
    t0 = time.perf_counter()
    astro, config["astro"] = _astro_tables(p, seeds["astro"], verbose)
    tables.update(astro)
    if astro:
        seconds["astro"] = time.perf_counter() - t0
    title = (f"{TITLE}: {len(sounds)} simulated clips of {p.duration:g} s "
             f"({len(data['train'])} train / {len(t)} test), {len(data['contexts'])} contexts x "
             f"{len(p.snrs)} SNRs, W={p.window}, {p.n_seeds} seeds, preset {p.name!r}")
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="comparison",
               tables=tables, config=config, seconds=seconds, objects=objects)
