"""State and rules of the GANomaly reconstruction viewer, with no widgets: tested like any class.

:class:`ReconstructionViewerState` ranks galaxy images by anomaly score (highest first), filters
the ranking by set / variant, walks it (next, previous, jump to a rank, select an id), serves
each image's reconstruction and residual (given as arrays, or computed lazily by a fitted model
a few images at a time), places the current score in the histogram of the scores, and writes
every flag a person gives to a :class:`~astroad_nb.store.LabelStore` the moment it is given.
:class:`astroad_nb.widgets.ReconstructionViewer` only displays it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import pandas as pd

from astroad_nb.store import LabelStore

__all__ = ["FILTER_COLUMNS", "ReconstructionViewerState", "set_name"]

#: Table columns the ranking can be filtered by, in the panel's order.
FILTER_COLUMNS = ("set", "variant")
_SCORE_COLUMNS = ("score", "anomaly_score", "A")
_SCORES = ("anomaly_score", "raw")


def set_name(key) -> str:
    """Display name of a set key: a ``(variant, strength)`` pair -> ``"clumps 0.5"`` (strength
    0 -> the variant alone, e.g. ``"observed"``); anything else -> ``str(key)``."""
    if isinstance(key, tuple) and len(key) == 2:
        variant, strength = key
        return str(variant) if float(strength) == 0 else f"{variant} {float(strength):g}"
    return str(key)


def _image_array(images, where) -> np.ndarray:
    array = np.asarray(getattr(images, "images", images), dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(f"{where}: expected images of shape (N, C, H, W) or an ImageSet, got "
                         f"shape {array.shape}.")
    return array


def _as_sets(sets):
    """``[(key, ImageSet)]`` from one ImageSet, a sequence of them, or a mapping key -> set."""
    if isinstance(sets, Mapping):
        return list(sets.items())
    if hasattr(sets, "images") and hasattr(sets, "table"):
        return [(None, sets)]
    sets = list(sets)
    if not sets or not all(hasattr(s, "images") and hasattr(s, "table") for s in sets):
        raise TypeError("images / sets must be an ImageSet, an (N, C, H, W) array, a sequence "
                        f"of ImageSets or a mapping key -> ImageSet, got {type(sets).__name__}.")
    return [(None, s) for s in sets]


def _stack_sets(sets):
    """(images (N, C, H, W), table, bands) of the sets stacked, ``set`` = the key's name."""
    from astroad_nb.data.galaxies import ImageSet

    pairs = _as_sets(sets)
    parts = []
    for key, images in pairs:
        if key is not None:
            table = images.table.copy()
            table["set"] = set_name(key)
            images = ImageSet(images.images, table=table, bands=images.bands, meta=images.meta)
        parts.append(images)
    stacked = parts[0] if len(parts) == 1 else ImageSet.concat(parts)
    return stacked.images, stacked.table, stacked.bands


def _score_name(scores) -> str:
    """Axis title of given scores: a frame's ``A`` column (the protocol's raw latent score)
    or an anomaly score."""
    if isinstance(scores, pd.DataFrame):
        named = [c for c in _SCORE_COLUMNS if c in scores.columns]
        if named[:1] == ["A"]:
            return "latent score A"
    return "anomaly score"


def _scores_by_row(scores, ids, where) -> np.ndarray:
    """One float score per image from an array, a Series by id or a frame with an id column."""
    n = len(ids)
    if isinstance(scores, pd.DataFrame):
        named = [c for c in _SCORE_COLUMNS if c in scores.columns]
        if "id" not in scores.columns or not named:
            raise ValueError(f"{where}: a scores DataFrame needs an 'id' column and one of "
                             f"{_SCORE_COLUMNS}, got columns {list(scores.columns)}.")
        scores = pd.Series(scores[named[0]].to_numpy(float),
                           index=scores["id"].astype(str).to_numpy())
    if isinstance(scores, pd.Series):
        scores = scores.copy()
        scores.index = scores.index.astype(str)
        if scores.index.has_duplicates:
            dup = scores.index[scores.index.duplicated()][:3].tolist()
            raise ValueError(f"{where}: scores has duplicated image ids, e.g. {dup}.")
        if not scores.index.isin(ids).any() and n:
            raise ValueError(f"{where}: scores shares no id with the images (image ids look "
                             f"like {list(ids[:3])}, score ids like {scores.index[:3].tolist()}).")
        return scores.reindex(pd.Index(ids)).to_numpy(float)
    values = np.asarray(scores, dtype=float).reshape(-1)
    if len(values) != n:
        raise ValueError(f"{where}: {n} images but {len(values)} scores; pass one score per "
                         "image or a Series indexed by image id.")
    return values


class ReconstructionViewerState:
    """Galaxy images ranked by anomaly score, their reconstructions, a filter, flags.

    Parameters
    ----------
    images : ImageSet, ndarray of shape (N, C, H, W), or several ImageSets
        The galaxies, pixels in [-1, 1] (the seed's transform). An ImageSet gives the ids,
        bands and metadata table; a list of ImageSets or a mapping key -> ImageSet is stacked
        in order, each image's ``set`` being its key's :func:`set_name` (ids must be unique
        across the sets).
    scores : array_like of shape (N,), pandas.Series or pandas.DataFrame, optional
        Anomaly score per image, higher = more anomalous: an array aligned with ``images``, a
        Series indexed by image id, or a frame with an ``id`` column and a ``score``,
        ``anomaly_score`` or ``A`` column (:func:`~astroad_nb.protocols.galaxies.score_sets`).
        Images without a finite score are left out of the ranking. Default: the model's
        ``anomaly_score(images)`` (``score="raw"``: its ``raw_score``).
    reconstructions : ndarray, shape (N, C, H, W), optional
        The model's reconstructions of ``images`` (:meth:`~astroad_nb.models.GANomaly.reconstruct`).
    residuals : ndarray, shape (N, C, H, W), optional
        Signed residuals; default ``images - reconstructions``.
    model : fitted GANomaly, optional
        Anything with ``reconstruct(X) -> (n, C, H, W)``. Used when ``reconstructions`` is
        omitted: an image's reconstruction is computed the first time it is asked for,
        together with the next ``batch_size - 1`` not yet computed images of the ranking (the
        ones a person looks at next), and cached.
    table : pandas.DataFrame, optional
        One row per image (default: the ImageSet's table): ``id`` (unique; default ``"0"``
        ... ``"N-1"``), ``set`` / ``variant`` (what :meth:`filter` selects on) and metadata.
    bands : sequence of str, optional
        Channel names (default: the ImageSet's, else ``c0``, ``c1``, ...).
    store : LabelStore, optional
        Where flags are committed, each at once. Without one they live in an in-memory store
        and are lost with the kernel: pass ``LabelStore(path)`` to keep them. Flags already in
        the store for these ids and this ``context`` are shown (a restarted viewer resumes).
    context : str, default="galaxies"
        Context written with each flag; flags of other contexts are not shown or undone.
    who : str, optional
        Labeller written with each flag (default: the store's ``who``).
    batch_size : int, default=32
        Images per lazy reconstruction call.
    cache_size : int, default=4096
        Lazily computed reconstructions kept (least recently used dropped first).
    score : {"anomaly_score", "raw"}, default="anomaly_score"
        Which model score ranks the images when ``scores`` is omitted.

    Attributes
    ----------
    images : ndarray of float32, shape (N, C, H, W)
    ids : list of str, length N
    scores : ndarray of float, shape (N,)
    table : pandas.DataFrame
        N rows, ``id`` first.
    bands : tuple of str
    filters : dict
        Column -> tuple of accepted values; empty = every image.
    score_name : str
        What the scores are, for axis titles: ``"latent score A"`` (a frame's ``A`` column or
        ``score="raw"``) or ``"anomaly score"``.
    n_reconstructed : int
        Images the model has reconstructed so far (0 with given reconstructions).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, (3, 3, 8, 8)).astype(np.float32)
    >>> state = ReconstructionViewerState(x, [0.2, 0.9, 0.5], reconstructions=0.5 * x)
    >>> state.current, state.rank, len(state)
    ('1', 1, 3)
    >>> state.next(); state.current
    True
    '2'
    >>> state.flag("interesting")
    1
    >>> state.labels
    {'2': 'interesting'}
    """

    LABELS = ("interesting", "normal", "artefact")

    def __init__(self, images, scores=None, *, reconstructions=None, residuals=None, model=None,
                 table=None, bands=None, store=None, context="galaxies", who=None,
                 batch_size=32, cache_size=4096, score="anomaly_score"):
        where = type(self).__name__
        if isinstance(images, (Mapping, list, tuple)):  # several ImageSets: stack them
            images, set_table, set_bands = _stack_sets(images)
            table = set_table if table is None else table
            bands = set_bands if bands is None else bands
        self.images = _image_array(images, where)
        n = len(self.images)
        if table is None:
            table = getattr(images, "table", None)
        table = (pd.DataFrame(index=range(n)) if table is None
                 else pd.DataFrame(table).reset_index(drop=True))
        if len(table) != n:
            raise ValueError(f"{where}: {n} images but {len(table)} table rows.")
        if "id" not in table:
            table.insert(0, "id", [str(i) for i in range(n)])
        table["id"] = table["id"].astype(str)
        if table["id"].duplicated().any():
            dup = table.loc[table["id"].duplicated(), "id"].head(3).tolist()
            raise ValueError(f"{where}: image ids must be unique; duplicated: {dup}. Give each "
                             "set distinct ids (e.g. table['id'] = 'test/' + table['id']).")
        self.table = table[["id"] + [c for c in table.columns if c != "id"]]
        self.ids = self.table["id"].tolist()
        bands = getattr(images, "bands", None) if bands is None else bands
        self.bands = (tuple(f"c{i}" for i in range(self.images.shape[1])) if bands is None
                      else tuple(str(b) for b in bands))
        if len(self.bands) != self.images.shape[1]:
            raise ValueError(f"{where}: {self.images.shape[1]} channels but {len(self.bands)} "
                             f"band names {self.bands}.")
        if int(batch_size) < 1 or int(cache_size) < 1:
            raise ValueError(f"{where}: batch_size and cache_size must be positive, got "
                             f"{batch_size!r} and {cache_size!r}.")
        self.batch_size, self.cache_size = int(batch_size), int(cache_size)
        self.model = model
        self._recon = self._checked(reconstructions, "reconstructions")
        self._resid = self._checked(residuals, "residuals")
        if self._recon is None and model is None:
            raise ValueError(f"{where}: pass reconstructions= (arrays of the images' shape) or "
                             "model= (a fitted GANomaly) to show reconstructions.")
        if self._recon is None and not callable(getattr(model, "reconstruct", None)):
            raise TypeError(f"{where}: model must have reconstruct(X), got "
                            f"{type(model).__name__}.")
        if scores is None:
            if score not in _SCORES:
                raise ValueError(f"{where}: score must be one of {_SCORES}, got {score!r}.")
            if model is None:
                raise ValueError(f"{where}: pass scores= or a fitted model= to score the images.")
            scores = model.raw_score(self.images) if score == "raw" else model.anomaly_score(
                self.images)
            self.score_name = "latent score A" if score == "raw" else "anomaly score"
        else:
            self.score_name = _score_name(scores)
        self.scores = _scores_by_row(scores, self.ids, where)
        if not isinstance(store, (LabelStore, type(None))):
            raise TypeError(f"{where}: store must be an astroad_nb.store.LabelStore, got "
                            f"{type(store).__name__}; use LabelStore(path) (or ':memory:').")
        self.store = store if store is not None else LabelStore(":memory:", who=who)
        self.context = context
        self.who = who or self.store.who
        self.n_reconstructed = 0
        self._cache: OrderedDict = OrderedDict()  # row -> lazily computed reconstruction
        self._row_of = {item: k for k, item in enumerate(self.ids)}
        finite = np.isfinite(self.scores)
        # highest first; ties keep the input order
        order = np.argsort(-np.where(finite, self.scores, 0.0), kind="stable")
        self._order_all = order[finite[order]]
        self.filters: dict = {}
        self._cursor = 0
        self._apply_filter()

    def _checked(self, array, name):
        if array is None:
            return None
        array = np.asarray(array, dtype=np.float32)
        if array.shape != self.images.shape:
            raise ValueError(f"{type(self).__name__}: {name} have shape {array.shape}, the "
                             f"images {self.images.shape}.")
        return array

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_model(cls, model, sets, *, score="anomaly_score", **kwargs):
        """A viewer of ``sets`` scored and (lazily) reconstructed by a fitted GANomaly.

        Parameters
        ----------
        model : GANomaly
            Fitted.
        sets : ImageSet, sequence of ImageSet or mapping key -> ImageSet
            The images; with a mapping (e.g. :func:`~astroad_nb.protocols.galaxies.simulate_variants`'s
            ``(variant, strength) -> ImageSet``) each image's ``set`` is its key's
            :func:`set_name`. Ids must be unique across the sets.
        score : {"anomaly_score", "raw"}, default="anomaly_score"
            ``model.anomaly_score`` (min-max scaled A) or ``model.raw_score`` (A).
        **kwargs
            Passed to the constructor (``store``, ``context``, ``who``, ``batch_size``, ...).

        Returns
        -------
        ReconstructionViewerState
        """
        return cls(sets, None, model=model, score=score, **kwargs)

    @classmethod
    def from_scores(cls, scores, sets, *, model=None, reconstructions=None, **kwargs):
        """A viewer of the protocol's score table (:func:`~astroad_nb.protocols.galaxies.score_sets`).

        Parameters
        ----------
        scores : pandas.DataFrame
            One row per image: ``id`` and ``A`` (or ``score`` / ``anomaly_score``); its
            ``variant`` / ``strength`` columns, when present, name each image's set
            (:func:`set_name`) and every other column joins the metadata. Its rows, in its
            order, are the viewer's images.
        sets : ImageSet, sequence of ImageSet or mapping key -> ImageSet
            Images holding every id of ``scores`` (``Run.objects["sets"]``).
        model : GANomaly, optional
            Reconstructs lazily (as in the constructor).
        reconstructions : ndarray, shape (len(scores), C, H, W), optional
            Reconstructions in ``scores`` row order.
        **kwargs
            Passed to the constructor.

        Returns
        -------
        ReconstructionViewerState

        Raises
        ------
        ValueError
            If a score's id is not among the images'.
        """
        frame = pd.DataFrame(scores).reset_index(drop=True)
        if "id" not in frame:
            raise ValueError(f"from_scores: the scores table needs an 'id' column, got "
                             f"{list(frame.columns)}.")
        images, table, bands = _stack_sets(sets)
        position = pd.Index(table["id"].astype(str))
        if position.has_duplicates:
            dup = position[position.duplicated()][:3].tolist()
            raise ValueError(f"from_scores: image ids must be unique across the sets; "
                             f"duplicated: {dup}.")
        rows = position.get_indexer(frame["id"].astype(str))
        if (rows < 0).any():
            missing = frame.loc[rows < 0, "id"].head(3).tolist()
            raise ValueError(f"from_scores: ids {missing} of the scores are not among the "
                             f"images (ids look like {position[:3].tolist()}).")
        merged = table.iloc[rows].reset_index(drop=True)
        for col in frame.columns:
            merged[col] = frame[col].to_numpy()
        if {"variant", "strength"} <= set(frame.columns):
            merged["set"] = [set_name((v, s)) for v, s in
                             zip(frame["variant"], frame["strength"], strict=True)]
        return cls(images[rows], frame, reconstructions=reconstructions, model=model,
                   table=merged, bands=bands, **kwargs)

    @classmethod
    def from_run(cls, run, **kwargs):
        """A viewer of a :func:`astroad_nb.protocols.galaxies.run` result: its score table,
        sets and fitted model (``run.objects``)."""
        missing = [k for k in ("scores", "sets", "model") if k not in run.objects]
        if missing:
            raise ValueError(f"from_run: the run has no objects {missing}; pass the Run of "
                             "protocols.galaxies.run().")
        return cls.from_scores(run.objects["scores"], run.objects["sets"],
                               model=run.objects["model"], **kwargs)

    # ------------------------------------------------------------------ ranking and filter
    def __len__(self) -> int:
        """Images in the (filtered) ranking."""
        return len(self._ranking)

    def __repr__(self) -> str:
        return (f"ReconstructionViewerState({len(self.ids)} images, {len(self)} ranked, "
                f"filters={self.filters}, rank={self.rank}, context={self.context!r})")

    @property
    def filter_columns(self) -> list[str]:
        """The columns of :data:`FILTER_COLUMNS` that the table has."""
        return [c for c in FILTER_COLUMNS if c in self.table]

    def options(self, column) -> list:
        """Distinct values of a filter column, in table order."""
        if column not in self.table:
            raise ValueError(f"no column {column!r} to filter by; the table has "
                             f"{self.filter_columns}.")
        return list(dict.fromkeys(self.table[column].tolist()))

    def filter(self, **conditions) -> None:
        """Rank only the images whose columns hold the given values (replaces every filter).

        Parameters
        ----------
        **conditions
            Column -> value or list of values, e.g. ``filter(set="clumps 1")`` or
            ``filter(variant=["clumps", "colour"])``; ``None`` or ``"all"`` drops the
            condition, ``filter()`` shows every image.

        The current image stays current when it passes, else the new top image is.

        Raises
        ------
        ValueError
            For a column the table lacks or a value it does not hold.
        """
        filters = {}
        for column, value in conditions.items():
            if value is None or (isinstance(value, str) and value == "all"):
                continue
            values = (tuple(value) if isinstance(value, (list, tuple, set, np.ndarray))
                      and not isinstance(value, str) else (value,))
            known = self.options(column)
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ValueError(f"{column} has no value {unknown[0]!r}; it has {known}.")
            filters[column] = values
        current = self.current
        self.filters = filters
        self._apply_filter()
        self._cursor = self._rank_of.get(self._row_of.get(current, -1), 0)

    def _apply_filter(self) -> None:
        keep = np.ones(len(self.ids), dtype=bool)
        for column, values in self.filters.items():
            keep &= self.table[column].isin(values).to_numpy()
        self._ranking = self._order_all[keep[self._order_all]]
        self._rank_of = {int(row): k for k, row in enumerate(self._ranking)}

    def ranked(self, n=None) -> pd.DataFrame:
        """The (filtered) ranking: columns ``rank`` (1 = highest score), ``id``, ``score``,
        ``set`` (when the table has one) and ``label`` (the flag, or None); ``n`` rows at most."""
        rows = self._ranking if n is None else self._ranking[: int(n)]
        labels = self.labels
        frame = pd.DataFrame({"rank": np.arange(1, len(rows) + 1), "id": [self.ids[r] for r in rows],
                              "score": self.scores[rows]})
        if "set" in self.table:
            frame["set"] = self.table["set"].to_numpy()[rows]
        frame["label"] = [labels.get(i) for i in frame["id"]]
        return frame

    def top(self, n=16) -> list[str]:
        """Ids of the ``n`` highest-scored images of the (filtered) ranking."""
        return [self.ids[r] for r in self._ranking[: int(n)]]

    def page(self, size=16, rank=None) -> list[str]:
        """Ids of the grid page of ``size`` images holding ``rank`` (default: the current one):
        ranks ``k * size + 1`` ... ``(k + 1) * size``; the top ``size`` at rank 1."""
        size = int(size)
        if size < 1:
            raise ValueError(f"size must be a positive number of images, got {size!r}.")
        rank = self.rank if rank is None else int(rank)
        start = max(rank - 1, 0) // size * size
        return [self.ids[r] for r in self._ranking[start:start + size]]

    # ------------------------------------------------------------------ walking the ranking
    @property
    def rank(self) -> int:
        """1-based rank of the current image in the (filtered) ranking; 0 when it is empty."""
        return self._cursor + 1 if len(self._ranking) else 0

    @property
    def current(self) -> str | None:
        """Id of the current image (None when the filtered ranking is empty)."""
        return self.ids[self._ranking[self._cursor]] if len(self._ranking) else None

    @property
    def current_row(self) -> int | None:
        """Position of the current image in :attr:`images` (None when there is none)."""
        return int(self._ranking[self._cursor]) if len(self._ranking) else None

    def next(self, step=1) -> bool:
        """Move ``step`` ranks down (towards lower scores); False at the end (nothing moves)."""
        return self._move(int(step))

    def previous(self, step=1) -> bool:
        """Move ``step`` ranks up (towards higher scores); False at rank 1."""
        return self._move(-int(step))

    def _move(self, step) -> bool:
        target = min(max(self._cursor + step, 0), max(len(self._ranking) - 1, 0))
        moved = target != self._cursor
        self._cursor = target
        return moved

    def jump(self, rank) -> None:
        """Make the image at 1-based ``rank`` current.

        Raises
        ------
        ValueError
            Outside ``1 ... len(self)``.
        """
        rank = int(rank)
        if not 1 <= rank <= len(self._ranking):
            raise ValueError(f"rank must lie in 1 ... {len(self._ranking)}, got {rank}.")
        self._cursor = rank - 1

    def select(self, image_id) -> None:
        """Make an image current by id.

        Raises
        ------
        KeyError
            When the id is unknown, has no finite score, or is filtered out.
        """
        row = self._row_of.get(str(image_id))
        if row is None:
            raise KeyError(f"{image_id!r} is not an image of this viewer.")
        if row not in self._rank_of:
            why = "has no finite score" if not np.isfinite(self.scores[row]) else (
                f"is filtered out by {self.filters}; filter() to show it")
            raise KeyError(f"image {image_id!r} {why}.")
        self._cursor = self._rank_of[row]

    def rank_of(self, image_id) -> int | None:
        """1-based rank of an image in the (filtered) ranking; None when it is not ranked."""
        k = self._rank_of.get(self._row_of.get(str(image_id), -1))
        return None if k is None else k + 1

    def score_of(self, image_id=None) -> float:
        """Score of an image (default: the current one); NaN when there is none."""
        row = self._row(image_id)
        return np.nan if row is None else float(self.scores[row])

    def metadata_of(self, image_id=None) -> dict:
        """Table row of an image (default: the current one) as a dict; empty when none."""
        row = self._row(image_id)
        return {} if row is None else self.table.iloc[row].to_dict()

    def _row(self, image_id) -> int | None:
        if image_id is None:
            return self.current_row
        row = self._row_of.get(str(image_id))
        if row is None:
            raise KeyError(f"{image_id!r} is not an image of this viewer.")
        return row

    # ------------------------------------------------------------------ images
    def image(self, image_id=None) -> np.ndarray:
        """The original image (default: the current one), shape (C, H, W)."""
        return self.images[self._require_row(image_id)]

    def reconstruction(self, image_id=None) -> np.ndarray:
        """The model's reconstruction of an image (default: the current one), shape (C, H, W)."""
        row = self._require_row(image_id)
        if self._recon is not None:
            return self._recon[row]
        if row not in self._cache:
            self._compute(self._batch_from(row))
        self._cache.move_to_end(row)
        return self._cache[row]

    def residual(self, image_id=None) -> np.ndarray:
        """Signed residual, image minus reconstruction (default: the current one), (C, H, W)."""
        row = self._require_row(image_id)
        if self._resid is not None:
            return self._resid[row]
        return self.images[row] - self.reconstruction(self.ids[row])

    def prefetch(self, ids) -> int:
        """Compute the reconstructions of these ids now, in batches; returns how many were
        computed (0 with given reconstructions or when all are cached)."""
        if self._recon is not None:
            return 0
        rows = [self._require_row(i) for i in ids]
        missing = list(dict.fromkeys(r for r in rows if r not in self._cache))
        for start in range(0, len(missing), self.batch_size):
            self._compute(missing[start:start + self.batch_size])
        return len(missing)

    def _batch_from(self, row) -> list[int]:
        """``row`` and the next not-yet-computed images of the ranking, ``batch_size`` at most."""
        batch = [row]
        k = self._rank_of.get(row)
        if k is not None:
            for other in self._ranking[k + 1:]:
                if len(batch) >= self.batch_size:
                    break
                if int(other) not in self._cache:
                    batch.append(int(other))
        return batch

    def _compute(self, rows) -> None:
        rows = list(rows)
        out = np.asarray(self.model.reconstruct(self.images[rows]), dtype=np.float32)
        if out.shape != (len(rows), *self.images.shape[1:]):
            raise ValueError(f"model.reconstruct returned shape {out.shape} for "
                             f"{len(rows)} images of shape {self.images.shape[1:]}.")
        self.n_reconstructed += len(rows)
        for row, recon in zip(rows, out, strict=True):
            self._cache[row] = recon
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _require_row(self, image_id) -> int:
        row = self._row(image_id)
        if row is None:
            raise RuntimeError("no current image: the filtered ranking is empty.")
        return row

    # ------------------------------------------------------------------ histogram
    def histogram(self, bins=30) -> dict:
        """Score histogram of every ranked image and of the filtered ones, on shared edges.

        Parameters
        ----------
        bins : int or array_like, default=30
            Number of bins over the range of every finite score, or the edges.

        Returns
        -------
        dict
            ``edges`` (ndarray, shape (n_bins + 1,)), ``all`` and ``shown`` (int counts, shape
            (n_bins,)): every image with a finite score / the filtered ranking.
        """
        values = self.scores[self._order_all]
        edges = (np.histogram_bin_edges(values if values.size else [0.0, 1.0], bins=int(bins))
                 if np.ndim(bins) == 0 else np.asarray(bins, dtype=float))
        return {"edges": edges, "all": np.histogram(values, edges)[0],
                "shown": np.histogram(self.scores[self._ranking], edges)[0]}

    def score_position(self, edges=None) -> dict:
        """Where the current image sits among the filtered scores (for the histogram marker).

        Parameters
        ----------
        edges : array_like, optional
            Histogram edges (e.g. ``histogram()["edges"]``) to find the current image's bin in.

        Returns
        -------
        dict
            ``id``, ``score``, ``rank`` (1-based), ``n`` (ranked images), ``percentile``
            (100 x the fraction of ranked images scoring at most as high) and, with
            ``edges``, ``bin`` (its 0-based bin; the last bin includes its right edge).
            Empty ranking: ``score`` NaN, ``rank`` 0, ``percentile`` NaN, ``bin`` None.
        """
        n = len(self._ranking)
        out = {"id": self.current, "score": self.score_of(), "rank": self.rank, "n": n,
               "percentile": np.nan, "bin": None}
        if not n:
            return out
        shown = self.scores[self._ranking]
        out["percentile"] = 100.0 * float(np.mean(shown <= out["score"]))
        if edges is not None:
            edges = np.asarray(edges, dtype=float)
            k = int(np.searchsorted(edges, out["score"], side="right")) - 1
            if out["score"] == edges[-1]:
                k = len(edges) - 2
            out["bin"] = k if 0 <= k < len(edges) - 1 else None
        return out

    # ------------------------------------------------------------------ flags
    @property
    def labels(self) -> dict:
        """Image id -> latest active flag in this context (from the store)."""
        latest = self.store.latest(self.context)
        return {k: v for k, v in latest.items() if k in self._row_of}

    def label_of(self, image_id=None) -> str | None:
        """The flag of an image (default: the current one), or None."""
        row = self._row(image_id)
        return None if row is None else self.labels.get(self.ids[row])

    def flag(self, label, *, advance=False) -> int:
        """Flag the current image; the store commits it at once.

        Parameters
        ----------
        label : str
            One of :attr:`LABELS`.
        advance : bool, default=False
            Move to the next rank afterwards (the panel's flow through a ranking).

        Returns
        -------
        int
            The store row id; its note holds the score and set.

        Raises
        ------
        ValueError
            For a label not in :attr:`LABELS`.
        RuntimeError
            When there is no current image.
        """
        if label not in self.LABELS:
            raise ValueError(f"label must be one of {self.LABELS}, got {label!r}.")
        row = self.current_row
        if row is None:
            raise RuntimeError("no current image to flag: the filtered ranking is empty.")
        note = f"score={self.scores[row]:.6g}"
        if "set" in self.table:
            note += f"; set={self.table['set'].iat[row]}"
        row_id = self.store.add(self.ids[row], label, who=self.who, context=self.context,
                                note=note)
        if advance:
            self.next()
        return row_id

    def undo(self) -> dict | None:
        """Undo the latest flag of this context and labeller (kept in the store as inactive).

        Returns the undone row as a dict, or ``None`` when there is nothing to undo. The undone
        image becomes current when it is in the filtered ranking.
        """
        row = self.store.undo(context=self.context, who=self.who)
        if row is not None and self.rank_of(row["item_id"]) is not None:
            self.select(row["item_id"])
        return row
