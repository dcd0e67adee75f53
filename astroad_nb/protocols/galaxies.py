"""System 4: GANomaly rating galaxy images - how far are simulated galaxies from observed ones?

Steps (each a public function that notebook 04 calls cell by cell):
:func:`stage_seeds` -> :func:`simulate_observed` (galsim SDSS-like training and held-out
sets) -> :func:`simulate_variants` (every variant x strength, the held-out galaxies drawn again
with one physical departure) -> :func:`make_model` -> :func:`train` -> :func:`score_sets`
(the raw latent score A of every image, with its stellar mass, redshift and B/T) ->
:func:`score_table` (per variant and strength: n, mean / median A, AUROC vs the held-out
observed set, the seed's histogram overlap overall and per stellar-mass bin, Spearman
rho(strength, A)) and :func:`seed_reference` (the seed's published numbers);
:func:`real_galaxy_zoo` asks the same of real Galaxy Zoo images; :func:`run` chains them.

The seed trains on SDSS images only and rates NIHAO mock observations by the histogram overlap
``sum(min(h1, h2)) / sum(h1)`` of their A with the SDSS one (bins ``linspace(0, 0.1, 100)``,
:func:`~astroad_nb.evaluation.histogram_overlap`): 1 = the simulations look like the survey to
the network, 0 = nothing alike. Here the "survey" is a galsim observed set and the
"simulations" are variants that depart from it in known ways with a strength knob, so the
statistic can be checked against a known truth: it should fall, and A rise, with strength.

Differences from the seed
-------------------------
- Data: the normal set is a simulated galsim SDSS-like set
  (:func:`~astroad_nb.data.galaxies.simulate_galaxies`: bulge + disk, PSF, sky + Poisson noise,
  Lupton RGB, JPEG round trip), not the seed's 643,663 SDSS DR17 cutouts; the rated sets are
  galsim variants (shot noise, clumps, over-concentrated bulge, colour, no PSF / noise, the
  NIHAO stretch, face-on) with a strength knob, not the NIHAO AGN / NoAGN, n10 / n80, HD / UHD
  mock observations. The seed's numbers (table ``seed_reference``) are not comparable value
  for value; :func:`real_galaxy_zoo` trains on 1,350 real Galaxy Zoo JPEGs instead (not
  SDSS's own cutouts either).
- Sizes: ``"fast"`` trains at 32 px with narrow networks (ngf = ndf = 16, nz = 32) for 3
  epochs on 150 images; ``"full"`` at 64 px with the seed's widths for 15 epochs (the seed's
  default ``niter``) on thousands; ``"seed"`` has the seed's 50 epochs and fixed score bounds.
- The table uses the raw A (:meth:`~astroad_nb.models.GANomaly.raw_score`) for every
  statistic; the seed min-max scaled it by its SDSS constants (0.00077, 0.933), i.e.
  ``(A - 0.00077) / 0.932`` (so its 0 - 0.1 bins cover nearly the same range of A).
- Overlap histograms are fractions of each set (``counts / n``), so sets of different sizes
  compare; ``h1`` is the observed (reference) set. The seed's text gives only the formula.
- Spearman rho(strength, A) per variant counts the held-out observed set as strength 0.
- From the model (:class:`~astroad_nb.models.GANomaly` Notes): the discriminator is also
  re-initialised when it saturates (the seed's rule, loss < 1e-5, never fired while its D sat
  at 50), with a fresh Adam (the seed kept the old moments); D is built with ``ndf`` (the seed
  passed ``ngf``; equal in "full" and "seed"); ``D(x)`` runs once per batch instead of twice
  (same gradients); a one-image last batch is skipped rather than every partial one (the
  seed's ``drop_last``); scoring is batched (``"per_image"`` BatchNorm reproduces the seed's
  batch-1 train-mode BN to float precision) and never updates BatchNorm running statistics;
  A is min-max scaled with bounds fixed at fit time, not by the scored set's own min and max.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from astroad_nb.protocols._base import Preset, Run, resolve_preset

__all__ = ["GalaxiesPreset", "PRESETS", "SIZE_FIELDS", "preset", "stage_seeds",
           "simulate_observed", "simulate_variants", "make_model", "train", "score_sets",
           "score_table", "seed_reference", "real_galaxy_zoo", "run"]

NAME = "galaxies"
TITLE = ("GANomaly rating galaxy images: latent score A of galsim variants vs observed "
         "galaxies (AUROC, the seed's histogram overlap)")

#: The galsim variants rated by every preset (all of :data:`~astroad_nb.data.galaxies.VARIANTS`
#: but ``"observed"``).
ALL_VARIANTS = ("shot_noise", "clumps", "concentrated", "colour", "no_psf_noise",
                "nihao_stretch", "face_on")
#: Key of the held-out observed set in the dicts of :func:`simulate_variants`/:func:`score_sets`.
OBSERVED = ("observed", 0.0)


@dataclasses.dataclass(frozen=True)
class GalaxiesPreset(Preset):
    """Sizes and hyper-parameters of the galaxy GANomaly protocol.

    Attributes
    ----------
    size : int
        Image side [px] at 0.396"/px (a power of 2).
    n_train, n_test : int
        Simulated observed training galaxies; held-out galaxies (each variant draws these
        same galaxies again).
    variants : tuple of str
        Rated variants (keys of :data:`~astroad_nb.data.galaxies.VARIANTS`).
    strengths : tuple of float
        Strengths in (0, 1] of every variant.
    nz, ngf, ndf : int
        Latent size and first-layer widths of generator / discriminator.
    epochs, batch_size, lr : training (Adam, betas (0.5, 0.999)).
    bn_mode : {"per_image", "eval"}
        BatchNorm when scoring (the seed's: ``"per_image"``).
    score_bounds : "train" or (float, float)
        Min-max bounds of the scaled score (the statistics use the raw A, unaffected).
    hist_max, n_bins : float, int
        Overlap bin edges ``linspace(0, hist_max, n_bins)`` (the seed's 0.1 and 100).
    mass_edges : tuple of float
        log10 M* [Msun] bin edges of the per-bin overlap (the seed's 9, 10.29, 11.40, 12.5).
    min_count : int
        A mass bin with fewer images (in either set) gives NaN.
    real : bool
        Also run :func:`real_galaxy_zoo` (when the Galaxy Zoo folder is there).
    n_real_test : int
        Galaxy Zoo images held out of its training (the rest, up to ``n_real``, train).
    n_real : int or None
        Galaxy Zoo images read (None: all).
    """

    size: int = 32
    n_train: int = 150
    n_test: int = 40
    variants: tuple = ALL_VARIANTS
    strengths: tuple = (0.5, 1.0)
    nz: int = 32
    ngf: int = 16
    ndf: int = 16
    epochs: int = 3
    batch_size: int = 64
    lr: float = 2e-4
    bn_mode: str = "per_image"
    score_bounds: object = "train"
    hist_max: float = 0.1
    n_bins: int = 100
    mass_edges: tuple = (9.0, 10.29, 11.40, 12.5)
    min_count: int = 5
    real: bool = False
    n_real_test: int = 150
    n_real: object = None


def _seed_bounds():
    from astroad_nb.models.ganomaly import SEED_SCORE_BOUNDS

    return tuple(SEED_SCORE_BOUNDS)


PRESETS = {
    "fast": GalaxiesPreset(name="fast"),
    "full": GalaxiesPreset(name="full", size=64, n_train=4000, n_test=500,
                           strengths=(0.25, 0.5, 1.0), nz=128, ngf=64, ndf=64, epochs=15,
                           real=True),
    "seed": GalaxiesPreset(name="seed", size=64, n_train=4000, n_test=500,
                           strengths=(0.25, 0.5, 1.0), nz=128, ngf=64, ndf=64, epochs=50,
                           batch_size=64, lr=2e-4, score_bounds=_seed_bounds(), real=True),
}

#: The fields that set sizes (not the science): ``--preset seed --fast`` takes these from "fast".
SIZE_FIELDS = ("size", "n_train", "n_test", "strengths", "nz", "ngf", "ndf", "epochs", "real",
               "n_real")


def preset(name=None, **overrides) -> GalaxiesPreset:
    """A named preset (default: ``"fast"`` under ``ASTROAD_FAST``, else ``"full"``), with overrides."""
    return resolve_preset(PRESETS, name, **overrides)


def stage_seeds(random_state=0) -> dict:
    """Step 0: one seed per random step (training set, held-out set + variants, model, real)."""
    values = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=4)
    return {"train": int(values[0]), "test": int(values[1]), "model": int(values[2]),
            "real": int(values[3])}


# --------------------------------------------------------------------------- data
def simulate_observed(p: GalaxiesPreset, random_state=0) -> dict:
    """Step 1: the observed (SDSS-like) training and held-out sets.

    Parameters
    ----------
    p : GalaxiesPreset
    random_state : int or dict, default=0
        An int seeds :func:`stage_seeds`; a dict of :func:`stage_seeds` is used as it is.

    Returns
    -------
    dict
        ``train`` (``p.n_train`` images) and ``test`` (``p.n_test``), ImageSets of shape
        ``(n, 3, p.size, p.size)`` in [-1, 1]; the held-out set uses the seed ``"test"``, which
        :func:`simulate_variants` reuses so its galaxies are the same ones.
    """
    from astroad_nb.data.galaxies import simulate_galaxies

    seeds = random_state if isinstance(random_state, dict) else stage_seeds(random_state)
    return {"train": simulate_galaxies(p.n_train, "observed", size=p.size,
                                       random_state=seeds["train"]),
            "test": simulate_galaxies(p.n_test, "observed", size=p.size,
                                      random_state=seeds["test"])}


def simulate_variants(p: GalaxiesPreset, random_state=0) -> dict:
    """Step 2: every variant x strength of the preset, on the held-out galaxies.

    Parameters
    ----------
    p : GalaxiesPreset
    random_state : int or dict, default=0
        As :func:`simulate_observed` (the same value pairs the two: galaxy ``k`` of every
        variant is galaxy ``k`` of the held-out observed set, one physical change apart).

    Returns
    -------
    dict
        ``(variant, strength) -> ImageSet`` of ``p.n_test`` images, in preset order.

    Raises
    ------
    ValueError
        If a variant is not one of :data:`~astroad_nb.data.galaxies.VARIANTS` or a strength
        is outside (0, 1].
    """
    from astroad_nb.data.galaxies import VARIANTS, simulate_galaxies

    unknown = [v for v in p.variants if v not in VARIANTS or v == "observed"]
    if unknown:
        raise ValueError(f"GalaxiesPreset.variants: unknown variant(s) {unknown}; choose from "
                         f"{[v for v in VARIANTS if v != 'observed']}.")
    bad = [s for s in p.strengths if not 0 < float(s) <= 1]
    if bad:
        raise ValueError(f"GalaxiesPreset.strengths must lie in (0, 1], got {bad}.")
    seeds = random_state if isinstance(random_state, dict) else stage_seeds(random_state)
    return {(v, float(s)): simulate_galaxies(p.n_test, v, float(s), size=p.size,
                                             random_state=seeds["test"])
            for v in p.variants for s in p.strengths}


# --------------------------------------------------------------------------- model
def make_model(p: GalaxiesPreset, device="auto", verbose=0, *, random_state=0):
    """Step 3: the unfitted :class:`~astroad_nb.models.GANomaly` of the preset."""
    from astroad_nb.models import GANomaly

    bounds = p.score_bounds
    if not isinstance(bounds, str) and bounds is not None:
        bounds = tuple(float(b) for b in bounds)
    return GANomaly(isize=p.size, nz=p.nz, ngf=p.ngf, ndf=p.ndf, epochs=p.epochs,
                    batch_size=p.batch_size, lr=p.lr, bn_mode=p.bn_mode, score_bounds=bounds,
                    device=device, random_state=random_state, verbose=verbose)


def train(model, observed):
    """Step 4: fit the model on the observed training images.

    Parameters
    ----------
    model : GANomaly
        Unfitted (:func:`make_model`).
    observed : dict or ImageSet
        :func:`simulate_observed`'s dict (its ``train`` set is used) or the training images.

    Returns
    -------
    GANomaly
        The fitted model (``model`` itself).
    """
    images = observed["train"] if isinstance(observed, dict) else observed
    return model.fit(images)


_META = ("galaxy", "log_mstar", "z", "bt")


def score_sets(model, sets) -> pd.DataFrame:
    """Step 5: the raw latent score A of every image of every set.

    Parameters
    ----------
    model : GANomaly
        Fitted.
    sets : dict
        ``(variant, strength) -> ImageSet`` (e.g. :func:`simulate_variants` plus the held-out
        observed set under :data:`OBSERVED`).

    Returns
    -------
    pandas.DataFrame
        One row per image: ``variant``, ``strength``, ``id``, ``galaxy``, ``log_mstar``
        [log10 Msun], ``z``, ``bt`` (NaN where a set has no such column, e.g. real images),
        ``A`` (:meth:`~astroad_nb.models.GANomaly.raw_score`, unscaled).
    """
    frames = []
    for (variant, strength), images in sets.items():
        table = images.table
        frame = pd.DataFrame({"variant": variant, "strength": float(strength),
                              "id": table["id"].to_numpy()})
        for col in _META:
            frame[col] = table[col].to_numpy() if col in table else np.nan
        frame["A"] = model.raw_score(images)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _mass_columns(edges):
    return [f"overlap_M{lo:.2f}-{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:])]


def score_table(scores, *, reference=OBSERVED, zero=None, hist_max=0.1, n_bins=100,
                mass_edges=(9.0, 10.29, 11.40, 12.5), min_count=5) -> pd.DataFrame:
    """Step 6: per set, the score statistics against the reference (held-out observed) set.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`score_sets`'s long table.
    reference : (str, float), default=OBSERVED
        ``(variant, strength)`` of the reference set: the negatives of the AUROC, ``h1`` of
        the overlap.
    zero : (str, float), optional
        The set counted as strength 0 in the Spearman rho (default: ``reference``; the
        Galaxy Zoo table of :func:`real_galaxy_zoo` uses the galsim observed set).
    hist_max, n_bins : float, int, default=0.1, 100
        Overlap bins ``linspace(0, hist_max, n_bins)`` over A (the seed's).
    mass_edges : tuple of float, default=(9, 10.29, 11.40, 12.5)
        log10 M* bin edges of the per-bin overlap.
    min_count : int, default=5
        Fewer images in a mass bin (either set) -> NaN.

    Returns
    -------
    pandas.DataFrame
        Index (``variant``, ``strength``), the reference first; columns ``n``, ``mean_A``,
        ``median_A``, ``AUROC`` (the set as positives, the reference as negatives; NaN on
        the reference row), ``overlap`` (:func:`~astroad_nb.evaluation.histogram_overlap`
        with ``h1`` = the reference), ``overlap_M<lo>-<hi>`` per mass bin
        (:func:`~astroad_nb.evaluation.histogram_overlap_by_bin`), ``spearman_rho``
        (Spearman rho between strength and A over the variant's images and ``zero``'s at
        strength 0, the same on each row of a variant; NaN on the ``zero`` row).

    Raises
    ------
    ValueError
        If ``scores`` lacks a column or the reference set.
    """
    from scipy.stats import spearmanr

    from astroad_nb.evaluation import auroc, histogram_overlap, histogram_overlap_by_bin

    missing = sorted({"variant", "strength", "A", "log_mstar"} - set(scores.columns))
    if missing:
        raise ValueError(f"score_table: the scores table lacks columns {missing}; pass "
                         "score_sets()'s output.")
    ref_variant, ref_strength = reference[0], float(reference[1])
    is_ref = (scores["variant"] == ref_variant) & (scores["strength"] == ref_strength)
    if not is_ref.any():
        raise ValueError(f"score_table: no reference set {reference!r} among the scores' sets "
                         f"{sorted(set(zip(scores['variant'], scores['strength'])))}.")
    bins = np.linspace(0.0, float(hist_max), int(n_bins))
    edges = tuple(float(e) for e in mass_edges)
    mass_cols = _mass_columns(edges)
    ref = scores[is_ref]
    a_ref, m_ref = ref["A"].to_numpy(), ref["log_mstar"].to_numpy()
    zero = (ref_variant, ref_strength) if zero is None else (zero[0], float(zero[1]))
    is_zero = (scores["variant"] == zero[0]) & (scores["strength"] == zero[1])
    a_zero = scores.loc[is_zero, "A"].to_numpy()

    def row(part, is_reference):
        a = part["A"].to_numpy()
        out = {"n": len(a), "mean_A": float(np.mean(a)), "median_A": float(np.median(a))}
        if is_reference:
            out.update({"AUROC": np.nan, "overlap": np.nan, **dict.fromkeys(mass_cols, np.nan)})
        else:
            y = np.r_[np.zeros(len(a_ref)), np.ones(len(a))]
            out["AUROC"] = auroc(y, np.r_[a_ref, a])
            out["overlap"] = histogram_overlap(a_ref, a, bins)
            per_bin = histogram_overlap_by_bin(a_ref, a, m_ref, part["log_mstar"].to_numpy(),
                                               edges, bins, min_count=min_count)
            out.update(dict(zip(mass_cols, per_bin)))
        return out

    rows = {(ref_variant, ref_strength): {**row(ref, True), "spearman_rho": np.nan}}
    others = scores[~is_ref]
    for variant in dict.fromkeys(others["variant"]):
        of_variant = others[others["variant"] == variant]
        with_zero = variant != zero[0]
        strengths = np.r_[np.zeros(len(a_zero) if with_zero else 0),
                          of_variant["strength"].to_numpy()]
        values = np.r_[a_zero if with_zero else [], of_variant["A"].to_numpy()]
        rho = (float(spearmanr(strengths, values).statistic)
               if np.unique(strengths).size > 1 else np.nan)
        for strength in dict.fromkeys(of_variant["strength"]):
            part = of_variant[of_variant["strength"] == strength]
            rows[(variant, float(strength))] = {**row(part, False), "spearman_rho": rho}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(list(rows), names=["variant", "strength"])
    return table


#: The seed's published statistics (NIHAO mock observations vs SDSS DR17, SEEDS.md section 4).
SEED_GALAXY_OVERLAP = {
    ("NoAGN", "overlap"): 0.681, ("AGN", "overlap"): 0.718,
    ("NoAGN", "overlap_M9.00-10.29"): 0.682, ("NoAGN", "overlap_M10.29-11.40"): 0.594,
    ("NoAGN", "overlap_M11.40-12.50"): 0.628,
    ("AGN", "overlap_M9.00-10.29"): 0.622, ("AGN", "overlap_M10.29-11.40"): 0.662,
    ("AGN", "overlap_M11.40-12.50"): 0.736,
    ("n80", "mean_A"): 0.085, ("n10", "mean_A"): 0.041,
    ("UHD", "mean_A"): 0.030, ("HD", "mean_A"): 0.011,
}


def seed_reference() -> pd.DataFrame:
    """The seed's published overlap and mean-A numbers, labelled with what they rate.

    Returns
    -------
    pandas.DataFrame
        Index (``set``, ``statistic``): NIHAO runs NoAGN / AGN (overlap with SDSS overall
        and per log M* bin), n80 / n10 (star-formation threshold) and UHD / HD (resolution)
        (mean A); columns ``value`` and ``measured_on``. Not comparable value for value with
        our galsim variants (module docstring).
    """
    index = pd.MultiIndex.from_tuples(list(SEED_GALAXY_OVERLAP), names=["set", "statistic"])
    return pd.DataFrame({"value": list(SEED_GALAXY_OVERLAP.values()),
                         "measured_on": "NIHAO mock observations (20 orientations per galaxy) "
                                        "scored by a GANomaly trained on 643k SDSS DR17 "
                                        "cutouts, 64 px, 50 epochs (the seed's paper)"},
                        index=index)


# --------------------------------------------------------------------------- real data
def real_galaxy_zoo(p: GalaxiesPreset, sets=None, root=None, *, random_state=0, device="auto",
                    verbose=0):
    """Step 7 (real data): train on Galaxy Zoo images, score held-out ones and galsim's sets.

    The seed's question asked of galsim itself: how far are our simulations from real galaxies?

    Parameters
    ----------
    p : GalaxiesPreset
        ``size``, ``n_real``, ``n_real_test`` and the model's hyper-parameters are used.
    sets : dict, optional
        ``(variant, strength) -> ImageSet`` of galsim sets to score too (e.g. the held-out
        observed set under :data:`OBSERVED` and :func:`simulate_variants`); must have
        ``p.size`` px.
    root : str or os.PathLike, optional
        The folder of JPEGs; default ``real_data_path("galaxies", "galaxy_zoo")``.
    random_state : int, default=0
        Seeds the held-out split and the model.
    device : str, default="auto"
    verbose : int, default=0

    Returns
    -------
    dict or None
        None when the folder is absent; else ``model`` (fitted on the real training images),
        ``train``/``test`` (ImageSets), ``scores`` (:func:`score_sets` of the held-out real
        images, key ``("galaxy_zoo", 0.0)``, and ``sets``) and ``table``
        (:func:`score_table` with the held-out real images as the reference; no masses, so
        the per-mass-bin overlaps are NaN).

    Raises
    ------
    ValueError
        If the folder holds no more than ``p.n_real_test + 1`` images.
    """
    from astroad_nb._config import real_data_path
    from astroad_nb.data.galaxies import read_image_folder

    folder = real_data_path("galaxies", "galaxy_zoo") if root is None else root
    if folder is None:
        return None
    limit = None if p.n_real is None else int(p.n_real)
    images = read_image_folder(folder, size=p.size, limit=limit)
    n_test = int(p.n_real_test)
    if len(images) <= n_test + 1:
        raise ValueError(f"{folder}: {len(images)} images read, need more than "
                         f"n_real_test + 1 = {n_test + 1}.")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(images))
    real_train, real_test = images.subset(order[n_test:]), images.subset(order[:n_test])
    model = train(make_model(p, device, verbose, random_state=int(rng.integers(2**31 - 1))),
                  real_train)
    key = ("galaxy_zoo", 0.0)
    scores = score_sets(model, {key: real_test, **(sets or {})})
    table = score_table(scores, reference=key, zero=OBSERVED if sets and OBSERVED in sets
                        else None, hist_max=p.hist_max, n_bins=p.n_bins,
                        mass_edges=p.mass_edges, min_count=p.min_count)
    return {"model": model, "train": real_train, "test": real_test, "scores": scores,
            "table": table, "root": str(folder)}


# --------------------------------------------------------------------------- run
def run(preset=None, *, random_state=0, device="auto", n_jobs=None, verbose=0,
        **overrides) -> Run:
    """Train GANomaly on the observed galaxies; rate every variant x strength against them.

    Parameters
    ----------
    preset : {"fast", "full", "seed"} or GalaxiesPreset, optional
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
        Tables ``variants`` (headline, :func:`score_table`), ``seed_reference``, ``history``
        (per-epoch losses) and, with ``p.real`` and the data present, ``galaxy_zoo``
        (:func:`real_galaxy_zoo`'s table; otherwise ``config["galaxy_zoo"]`` says why not);
        objects ``model``, ``observed``, ``sets``, ``scores`` (and ``real``).
    """
    p = resolve_preset(PRESETS, preset, **overrides)
    seeds = stage_seeds(random_state)
    t0 = time.perf_counter()
    observed = simulate_observed(p, seeds)
    sets = {OBSERVED: observed["test"], **simulate_variants(p, seeds)}
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = train(make_model(p, device, verbose, random_state=seeds["model"]), observed)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = score_sets(model, sets)
    table = score_table(scores, hist_max=p.hist_max, n_bins=p.n_bins, mass_edges=p.mass_edges,
                        min_count=p.min_count)
    t_score = time.perf_counter() - t0
    train_a = model.raw_score(observed["train"])
    config = {"random_state": random_state, "n_train": len(observed["train"]),
              "n_test": len(observed["test"]), "n_sets": len(sets) - 1,
              "mean_A_train": float(np.mean(train_a)),
              "score_min": float(model.score_min_), "score_max": float(model.score_max_),
              "d_reinitialisations": len(getattr(model.history_, "events", None) or [])}
    tables = {"variants": table, "seed_reference": seed_reference(),
              "history": model.history_.to_frame()}
    seconds = {"simulate": t_sim, "train": t_train, "score": t_score}
    objects = {"model": model, "observed": observed, "sets": sets, "scores": scores}
    if p.real:
        t0 = time.perf_counter()
        real = real_galaxy_zoo(p, sets, random_state=seeds["real"], device=device,
                               verbose=verbose)
        if real is None:
            config["galaxy_zoo"] = "skipped: real_data_path('galaxies', 'galaxy_zoo') is absent"
        else:
            tables["galaxy_zoo"] = real["table"]
            objects["real"] = real
            config["galaxy_zoo"] = (f"{len(real['train'])} train / {len(real['test'])} "
                                    f"held-out Galaxy Zoo images at {p.size} px")
            seconds["galaxy_zoo"] = time.perf_counter() - t0
    else:
        config["galaxy_zoo"] = "skipped: preset real=False"
    title = (f"{TITLE}: {p.n_train} train / {p.n_test} held-out observed galsim galaxies, "
             f"{len(p.variants)} variants x strengths {tuple(p.strengths)}, {p.size} px, "
             f"{p.epochs} epochs, preset {p.name!r}")
    return Run(system=NAME, title=title, preset=p.to_dict(), headline="variants",
               tables=tables, config=config, seconds=seconds, objects=objects)
