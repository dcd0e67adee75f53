"""Contextual novelty detection with context prediction (CANDE-CP, the machine-sound seed).

What is normal depends on a context (which machine is heard). Three parts per deep model, as
everywhere in :mod:`astroad_nb.models` (network, loss, estimator), all trained with
:func:`astroad_nb.training.fit_module`:

* :func:`frame_autoencoder` -- the seed's frame auto-encoder 320-64-64-8-64-64-320 (ReLU, also at
  the bottleneck, linear output) as an :class:`~astroad_nb.models.AutoEncoder`; fitted on all
  contexts at once it is the *pooled* AE; :class:`PerContextDetector` fits one per context.
* :class:`FiLMAutoEncoder` -- the same auto-encoder with FiLM at en_2, en_3, de_1 and de_2:
  ``h = ReLU(gamma * ReLU(W x + b) + beta)``, where ``gamma`` and ``beta`` are linear maps of the
  context vector: a one-hot code or a row of a frozen context embedding.
* :class:`ContextPredictor` -- an MLP 320-512-512-256-128-128-64-K classifier of the context of
  each frame (cross-entropy); ``embedding_`` is the per-context mean of its 64-d layer (before
  the ReLU) over the training frames, min-max normalised per dimension.
* :class:`ContextStream` -- the context used at test time: the majority of the frames' predicted
  contexts per file, then a vote over the last ``window`` files weighted ``decay ** age``.

**How the context is passed.** Context is side information, not a feature, so it never sits in
``X`` (a standardiser or a tree would treat it as a number). Every estimator here takes it as a
keyword: ``fit(X, y=None, *, context=None)``, ``score_samples(X, *, context=None)`` and so on,
one non-negative int per row of ``X``. Without ``context`` every row is context 0, so a model
fitted without it is an ordinary one-context detector: scikit-learn's estimator checks, clone,
``GridSearchCV`` and ``Pipeline`` (``pipe.fit(X, det__context=c)``) all work. A model fitted on
several contexts refuses to score without them. :class:`ContextPredictor` is a plain classifier:
the context is its target ``y``.

Per-file scores follow the seed: a file's score is the mean over its frames of the frame's mean
squared reconstruction error (:meth:`FiLMAutoEncoder.file_anomaly_score`, :func:`file_means`).
Files are always listed in the order of their first frame (the stream order).

Frames are standardised per feature with the training mean and scale, as every deep detector of
the package; the seed feeds raw log-mel dB values, so its squared errors weigh the mel bands by
their raw variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from astroad_nb import io
from astroad_nb.features.scaling import standard_scale
from astroad_nb.models._nets import fuse_sequential, init_parameters, mlp, run_fused
from astroad_nb.models.autoencoders import AutoEncoder, reconstruction_loss
from astroad_nb.models.base import BaseDetector, TorchDetector, _check_finite
from astroad_nb.training import (
    fit_module,
    history_from_json,
    history_to_json,
    predict_batches,
    resolve_device,
    torch_seed,
    validation_split,
)

__all__ = [
    "SEED_FRAME_AE",
    "ContextPredictor",
    "ContextPredictorNet",
    "ContextStream",
    "FiLMAutoEncoder",
    "FiLMAutoEncoderNet",
    "PerContextDetector",
    "StreamContexts",
    "context_loss",
    "file_means",
    "frame_autoencoder",
    "minmax_embedding",
]

#: The seed's frame auto-encoder and its training: Adam 1e-4, batch 256, 100 epochs, the
#: best epoch on the validation loss (no early stop), no weight decay.
SEED_FRAME_AE = dict(hidden_dims=(64, 64), latent_dim=8, activation="relu", batch_norm=False,
                     latent_activation=True, epochs=100, batch_size=256, lr=1e-4,
                     weight_decay=0.0, patience=None)


def frame_autoencoder(**params):
    """The seed's frame auto-encoder 320-64-64-8-64-64-320 as an :class:`AutoEncoder`.

    ReLU after every Linear but the last (the 8-d bottleneck included), no BatchNorm, linear
    output; trained as :data:`SEED_FRAME_AE`. Fitted on every context at once it is the seed's
    pooled AE; wrapped in :class:`PerContextDetector`, its AE per context.

    Parameters
    ----------
    **params
        Overrides of :data:`SEED_FRAME_AE` or any other :class:`AutoEncoder` parameter
        (``epochs``, ``random_state``, ``device``...).

    Returns
    -------
    AutoEncoder
        Unfitted.

    Examples
    --------
    >>> frame_autoencoder(epochs=5, random_state=0).get_params()["hidden_dims"]
    (64, 64)
    """
    return AutoEncoder(**{**SEED_FRAME_AE, **params})


# ------------------------------------------------------------------------------ helpers
def _as_context(context, n, *, name="context"):
    """Validate one non-negative int context per row; returns int64 of shape (n,)."""
    c = np.asarray(context)
    if c.ndim != 1 or c.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with one context per row of X ({n}), got shape "
                         f"{c.shape}.")
    if c.dtype.kind == "f":
        if not np.all(np.isfinite(c)) or np.any(c != np.round(c)):
            raise ValueError(f"{name} must hold integer context indices, got non-integer "
                             f"values such as {c[np.isfinite(c) & (c != np.round(c))][:3]}.")
    elif c.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer context indices (0, 1, ...), got dtype "
                         f"{c.dtype}; map labels such as 'fan_00' to ints first.")
    c = c.astype(np.int64)
    if n and c.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {c.min()}.")
    return c


def _as_context_vectors(context, n, *, name="context"):
    """Validate one finite float context vector per row; returns float32 of shape (n, K)."""
    c = np.asarray(context)
    if c.ndim != 2 or c.shape[0] != n or c.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (n_rows, K) with one context vector per row of "
                         f"X ({n}) for conditioning='vector', got shape {c.shape}.")
    if c.dtype.kind not in "iufb":
        raise ValueError(f"{name} must hold numbers (e.g. class probabilities), got dtype "
                         f"{c.dtype}.")
    c = c.astype(np.float32)
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be finite; it has {int((~np.isfinite(c)).sum())} "
                         "NaN/inf entries.")
    return c


def _file_index(files):
    """``(file_ids, inverse)``: files in the order of their first row, and each row's file."""
    files = np.asarray(files)
    if files.ndim != 1:
        raise ValueError(f"files must be 1-D (one file id per frame), got shape {files.shape}.")
    uniq, first, inverse = np.unique(files, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse.ravel()]


def file_means(values, files):
    """Mean of per-frame values over each file's frames.

    Parameters
    ----------
    values : array-like of shape (n_frames,)
        E.g. frame anomaly scores.
    files : array-like of shape (n_frames,)
        File id of each frame (any sortable labels).

    Returns
    -------
    file_ids : ndarray of shape (n_files,)
        In the order of each file's first frame (the stream order).
    means : ndarray of shape (n_files,), float64

    Examples
    --------
    >>> file_means([1.0, 3.0, 10.0], ["b", "b", "a"])
    (array(['b', 'a'], dtype='<U1'), array([ 2., 10.]))
    """
    values = np.asarray(values, dtype=np.float64)
    file_ids, inverse = _file_index(files)
    if values.shape != inverse.shape:
        raise ValueError(f"values {values.shape} and files {inverse.shape} must have one entry "
                         "per frame each.")
    sums = np.bincount(inverse, weights=values, minlength=len(file_ids))
    return file_ids, sums / np.bincount(inverse, minlength=len(file_ids))


def minmax_embedding(embedding):
    """Min-max normalise each column of a context embedding over the contexts.

    A column equal for every context maps to 0 (the seed divides by 0 there and gets NaN).

    Parameters
    ----------
    embedding : array-like of shape (n_contexts, dim)

    Returns
    -------
    ndarray of shape (n_contexts, dim), float64, in [0, 1]
    """
    E = np.asarray(embedding, dtype=np.float64)
    lo, span = E.min(axis=0), np.ptp(E, axis=0)
    return np.divide(E - lo, span, out=np.zeros_like(E), where=span > 0)


class _ContextScoring:
    """``score_samples`` / ``decision_function`` / ``predict`` / ``anomaly_score`` with a
    ``context`` keyword, and per-file scores, for detectors implementing
    ``_score_context(X, context)`` and ``_default_context(n)``."""

    def _context_for(self, context, n, method):
        if context is not None:
            return self._check_known(_as_context(context, n))
        if self.n_contexts_ > 1:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.n_contexts_} contexts: pass "
                f"{method}(X, context=c) with one context index per row.")
        return self._default_context(n)

    def score_samples(self, X, *, context=None):
        """Normality score: lower = more abnormal (scikit-learn convention).

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        context : array-like of int, shape (n_frames,), optional
            Context of each row (true or predicted, e.g. ``ContextStream`` output); may be
            omitted only for a model fitted on a single context.

        Returns
        -------
        ndarray of shape (n_frames,), float64
        """
        check_is_fitted(self, "offset_")
        X = self._validate(X, reset=False)
        ctx = self._context_for(context, X.shape[0], "score_samples")
        return np.asarray(self._score_context(X, ctx), dtype=np.float64)

    def decision_function(self, X, *, context=None):
        """``score_samples(X, context=context) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        context : array-like of int, shape (n_frames,), optional

        Returns
        -------
        ndarray of shape (n_frames,), float64
        """
        return self.score_samples(X, context=context) - self.offset_

    def predict(self, X, *, context=None):
        """+1 for inliers, -1 for outliers (``decision_function < 0``).

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        context : array-like of int, shape (n_frames,), optional

        Returns
        -------
        ndarray of shape (n_frames,), int
        """
        return np.where(self.decision_function(X, context=context) < 0, -1, 1)

    def anomaly_score(self, X, *, context=None):
        """``-score_samples(X, context=context)``: higher = more anomalous, per frame.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        context : array-like of int, shape (n_frames,), optional

        Returns
        -------
        ndarray of shape (n_frames,), float64
        """
        return -self.score_samples(X, context=context)

    def file_anomaly_score(self, X, files, *, context=None):
        """Per-file score: the mean over a file's frames of ``anomaly_score / n_features``.

        For reconstruction detectors this is the seed's file score, the mean frame MSE.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        files : array-like of shape (n_frames,)
            File id of each frame.
        context : array-like of int, shape (n_frames,), optional

        Returns
        -------
        ndarray of shape (n_files,), float64
            Files in the order of their first frame (``file_means(..., files)[0]``).
        """
        scores = self.anomaly_score(X, context=context) / self.n_features_in_
        return file_means(scores, files)[1]

    def fit_predict(self, X, y=None, **fit_params):
        """``fit(X, y, **fit_params).predict(X, context=...)`` with the same context.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        y : ignored
        **fit_params
            ``context`` (and ``embedding``) as :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_frames,), int
        """
        return self.fit(X, y, **fit_params).predict(X, context=fit_params.get("context"))

    def _score(self, X):  # BaseDetector's hook: the single-context path
        return self._score_context(X, self._context_for(None, X.shape[0], "score_samples"))


# ------------------------------------------------------------------------------ networks
class FiLMAutoEncoderNet(nn.Module):
    """The seed's frame auto-encoder with FiLM-conditioned hidden layers.

    ``encoder``/``decoder`` are exactly :class:`~astroad_nb.models._nets.AutoEncoderNet`'s
    (``batch_norm=False, activation="relu", latent_activation=True``: same modules, same
    state-dict keys). Every activated layer but the first (for 320-64-64-8-64-64-320: en_2,
    en_3, de_1, de_2) is then modulated, ``h <- ReLU(gamma_c * h + beta_c)``, with
    ``gamma_c = G_l c + g_l`` and ``beta_c = B_l c + b_l`` linear maps of the context vector
    ``c`` (a row of ``contexts``). With ``gamma = 1`` and ``beta = 0`` it is the plain AE.

    Parameters
    ----------
    n_features : int
    hidden_dims : sequence of int
    latent_dim : int
    contexts : array-like of shape (n_contexts, context_dim)
        Context vectors, fixed (a buffer, not trained): the identity for one-hot contexts, a
        frozen embedding otherwise.
    """

    def __init__(self, n_features, hidden_dims, latent_dim, contexts):
        super().__init__()
        dims = [n_features, *hidden_dims, latent_dim]
        options = dict(batch_norm=False, activation="relu")
        self.encoder = mlp(dims, last_activation=True, **options)
        self.decoder = mlp(dims[::-1], **options)
        widths = [*dims[2:], *dims[::-1][1:-1]]
        contexts = torch.as_tensor(np.asarray(contexts, dtype=np.float32))
        self.register_buffer("contexts", contexts, persistent=False)  # saved as contexts_
        self.gammas = nn.ModuleList(nn.Linear(contexts.shape[1], w) for w in widths)
        self.betas = nn.ModuleList(nn.Linear(contexts.shape[1], w) for w in widths)

    def film_tables(self):
        """``(gammas, betas)``: per FiLM layer a tensor ``(n_contexts, width)``."""
        return ([g(self.contexts) for g in self.gammas],
                [b(self.contexts) for b in self.betas])

    def forward(self, x, context):
        """Reconstruction of ``x`` (n, n_features) under ``context``.

        ``context`` is (n,) int64 indices into ``contexts``, or (n, context_dim) floating
        context vectors (``conditioning="vector"``), mapped row by row.
        """
        if context.is_floating_point() and context.ndim == 2:
            gammas = [g(context) for g in self.gammas]
            betas = [b(context) for b in self.betas]
            context = torch.arange(len(x), device=x.device)  # row i takes modulation row i
        else:
            gammas, betas = self.film_tables()
        h, k = x, -1
        for layer in (*self.encoder, *self.decoder):
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                if k >= 0:  # the first layer (en_1) is not modulated
                    h = F.relu(gammas[k][context] * h + betas[k][context])
                k += 1
        return h


class ContextPredictorNet(nn.Module):
    """MLP context classifier ``n_features -> hidden_dims -> n_classes`` (ReLU, logits out).

    Parameters
    ----------
    n_features : int
    hidden_dims : sequence of int
        The seed's (512, 512, 256, 128, 128, 64); the last is the embedding layer.
    n_classes : int
    """

    def __init__(self, n_features, hidden_dims, n_classes):
        super().__init__()
        self.body = mlp([n_features, *hidden_dims, n_classes], batch_norm=False,
                        activation="relu")

    def forward(self, x):
        """Logits of shape (n, n_classes)."""
        return self.body(x)


def context_loss(logits, target):
    """Cross-entropy of context logits (n, n_classes) against int64 targets (n,); scalar."""
    return F.cross_entropy(logits.float(), target)  # fp32 even under bf16 autocast


# ------------------------------------------------------------------------------ FiLM AE
class FiLMAutoEncoder(_ContextScoring, TorchDetector):
    """FiLM-conditioned frame auto-encoder; anomaly score = squared reconstruction error.

    The frame score is the squared error summed over the (standardised) features, exactly as
    :class:`~astroad_nb.models.AutoEncoder`; :meth:`file_anomaly_score` gives the seed's file
    score (mean frame MSE). γ and β keep torch's default initialisation of their linear maps,
    as the seed.

    Parameters
    ----------
    hidden_dims : tuple of int, default=(64, 64)
    latent_dim : int, default=8
    conditioning : {"onehot", "embedding", "vector"}, default="onehot"
        Context vector of context k: the k-th one-hot code, or the k-th row of the frozen
        embedding given to :meth:`fit` (e.g. ``ContextPredictor.embedding_``). ``"vector"``:
        ``context`` is itself an (n, K) float array per row (e.g. a classifier's class
        probabilities) and γ, β are linear maps of that row; a one-hot row gives exactly the
        ``"onehot"`` model's modulation of that context.
    n_contexts : int or None, default=None
        Size of the one-hot code (None: largest training context + 1); with
        ``"vector"``, the expected K (None: the training context's width).
    epochs : int, default=100
    batch_size : int, default=256
    lr : float, default=1e-4
        Adam, as the seed.
    weight_decay : float, default=0.0
    patience : int or None, default=None
        None: every epoch runs and the best one on the validation loss is kept (the seed).
    val_fraction : float, default=0.1
        Random validation rows held out of ``X`` (the seed takes them from its test half).
    contamination : float in (0, 0.5], default=0.1
    precision : {"fp32", "bf16"}, default="fp32"
    device : str, default="auto"
    random_state : int or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    network_ : FiLMAutoEncoderNet
    contexts_ : ndarray of shape (n_contexts, context_dim), float32
        The context vectors (one-hot identity or the embedding; with ``"vector"`` the
        K x K identity, the one-hot corners of the context space).
    n_contexts_ : int
        Number of contexts (``"vector"``: K, the width of a context row).
    history_ : History
    offset_ : float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, c = rng.normal(size=(200, 12)), rng.integers(0, 3, 200)
    >>> film = FiLMAutoEncoder((8,), 2, epochs=2, random_state=0).fit(X, context=c)
    >>> film.anomaly_score(X, context=c).shape, film.n_contexts_
    ((200,), 3)
    """

    _extra_arrays = ("contexts_",)
    _CONDITIONINGS = ("onehot", "embedding", "vector")

    def __init__(self, hidden_dims=(64, 64), latent_dim=8, *, conditioning="onehot",
                 n_contexts=None, epochs=100, batch_size=256, lr=1e-4, weight_decay=0.0,
                 patience=None, val_fraction=0.1, contamination=0.1, precision="fp32",
                 device="auto", random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.conditioning = conditioning
        self.n_contexts = n_contexts
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.contamination = contamination
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build_network(self, n_features):
        return FiLMAutoEncoderNet(n_features, tuple(self.hidden_dims), self.latent_dim,
                                  self.contexts_)

    def _context_table(self, ctx, embedding):
        if self.conditioning not in self._CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {self._CONDITIONINGS}, got "
                             f"{self.conditioning!r}.")
        k = self.n_contexts
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer))
                              or k < 1):
            raise ValueError(f"n_contexts must be a positive int or None, got {k!r}.")
        if self.conditioning == "vector":
            if embedding is not None:
                raise ValueError("embedding is only used with conditioning='embedding'; this "
                                 "FiLMAutoEncoder takes context vectors (n, K) directly.")
            if k is not None and ctx.shape[1] != k:
                raise ValueError(f"context has {ctx.shape[1]} columns but n_contexts={k}.")
            return np.eye(ctx.shape[1], dtype=np.float32)
        if self.conditioning == "onehot":
            if embedding is not None:
                raise ValueError("embedding is only used with conditioning='embedding'; this "
                                 "FiLMAutoEncoder uses one-hot contexts.")
            table = np.eye(int(ctx.max()) + 1 if k is None else int(k))
        else:
            if embedding is None:
                raise ValueError("conditioning='embedding' needs fit(X, context=c, "
                                 "embedding=E), E of shape (n_contexts, dim), e.g. "
                                 "ContextPredictor().fit(X, c).embedding_.")
            table = np.asarray(embedding, dtype=np.float64)
            if table.ndim != 2 or not table.size:
                raise ValueError(f"embedding must be 2-D (n_contexts, dim), got shape "
                                 f"{table.shape}.")
            _check_finite(table)
            if k is not None and table.shape[0] != k:
                raise ValueError(f"embedding has {table.shape[0]} rows but n_contexts={k}.")
        if ctx.max() >= table.shape[0]:
            raise ValueError(f"context {ctx.max()} is outside the {table.shape[0]} contexts "
                             f"(0..{table.shape[0] - 1}); set n_contexts or pass a larger "
                             "embedding.")
        return table.astype(np.float32)

    def fit(self, X, y=None, *, context=None, embedding=None):
        """Fit on (normal) frames and their contexts.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        y : ignored
        context : array-like of int, shape (n_frames,), optional
            Context index of each frame; None: all frames are context 0. With
            ``conditioning="vector"``: floats of shape (n_frames, K), e.g. class
            probabilities (None: one context, every row ``[1.0]``).
        embedding : array-like of shape (n_contexts, dim), optional
            The frozen context vectors, only with ``conditioning="embedding"``.

        Returns
        -------
        self
        """
        self._check_contamination()
        X = self._validate(X, reset=True)
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to fit, got "
                             f"n_samples = {n}.")
        if self.conditioning == "vector":
            ctx = (np.ones((n, 1), dtype=np.float32) if context is None
                   else _as_context_vectors(context, n))
        else:
            ctx = np.zeros(n, dtype=np.int64) if context is None else _as_context(context, n)
        self.contexts_ = self._context_table(ctx, embedding)
        self.n_contexts_ = int(self.contexts_.shape[0])
        self._check_params()
        self.x_mean_, self.x_scale_ = standard_scale(X)
        self.device_ = str(resolve_device(self.device))
        rng = check_random_state(self.random_state)
        net = self._new_network(X.shape[1], rng)
        self.network_ = net

        def loss(batch):
            x, c = batch
            return reconstruction_loss(net(x, c), x)

        self.history_ = fit_module(net, loss, (self._standardize(X), torch.as_tensor(ctx)),
                                   **self._fit_kwargs(torch_seed(rng), "fit"))
        self.offset_ = float(np.quantile(self._score_context(X, ctx), self.contamination))
        return self

    def _default_context(self, n):
        if self.conditioning == "vector":
            return np.ones((n, 1), dtype=np.float32)
        return np.zeros(n, dtype=np.int64)

    def _context_for(self, context, n, method):
        if self.conditioning != "vector" or context is None:
            return super()._context_for(context, n, method)
        ctx = _as_context_vectors(context, n)
        if ctx.shape[1] != self.n_contexts_:
            raise ValueError(f"context has {ctx.shape[1]} columns; this FiLMAutoEncoder was "
                             f"fitted on context vectors of width {self.n_contexts_}.")
        return ctx

    def _check_known(self, ctx):
        if len(ctx) and ctx.max() >= self.n_contexts_:
            raise ValueError(f"context {ctx.max()} is outside the {self.n_contexts_} contexts "
                             f"this {type(self).__name__} was fitted on.")
        return ctx

    def _score_context(self, X, ctx):
        Xs = self._standardize(X)
        net = self.network_
        layers = fuse_sequential(net.encoder) + fuse_sequential(net.decoder)
        with torch.inference_mode():
            tables = net.film_tables()
        d = Xs.shape[1]
        vector = ctx.ndim == 2

        def score(xc):
            x = xc[:, :d].contiguous()
            if vector:  # the context vectors ride as the last K columns
                v = xc[:, d:]
                gammas = [g(v) for g in net.gammas]
                betas = [b(v) for b in net.betas]
                c = torch.arange(len(x), device=x.device)
            else:
                gammas, betas = tables
                c = xc[:, d].long()  # the context rides as a float32 column (exact < 2**24)
            h, k = x, -1
            for layer in layers:  # run_fused layer by layer: the plain AE's arithmetic
                h = run_fused([layer], h)
                if layer[2] is not None:
                    if k >= 0:
                        h = F.relu_(h.mul_(gammas[k][c]).add_(betas[k][c]))
                    k += 1
            return -(h - x).pow(2).sum(dim=1)

        column = ctx if vector else ctx[:, None]
        xc = np.concatenate([Xs, column.astype(np.float32)], axis=1)
        return predict_batches(score, xc, device=self.device_)

    def _set_state(self, state):
        super()._set_state(state)
        self.n_contexts_ = int(self.contexts_.shape[0])


# ------------------------------------------------------------------------------ AE per context
class PerContextDetector(_ContextScoring, BaseDetector):
    """One detector per context, each fitted on its context's frames only (the seed's AE per
    context); a frame is scored by the detector of its (true or predicted) context.

    Scores of different contexts' detectors are not put on one scale: the seed evaluates each
    (machine id x SNR) cell on its own.

    Parameters
    ----------
    detector : BaseDetector, optional
        Template cloned for every context; default :func:`frame_autoencoder`.
    contamination : float in (0, 0.5], default=0.1
    random_state : int or None, default=None
        Seeds each clone whose own ``random_state`` is None, from
        ``SeedSequence([random_state, context])`` (independent of which contexts exist).

    Attributes
    ----------
    contexts_ : ndarray of int, shape (n_contexts,)
        The training contexts, sorted.
    detectors_ : list of BaseDetector
        Fitted detector of each context, in the order of ``contexts_``.
    n_contexts_ : int
    offset_ : float
    """

    def __init__(self, detector=None, *, contamination=0.1, random_state=None):
        self.detector = detector
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X, y=None, *, context=None):
        """Fit one detector per context.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        y : ignored
        context : array-like of int, shape (n_frames,), optional
            None: one context (a single detector on every row).

        Returns
        -------
        self
        """
        self._check_contamination()
        X = self._validate(X, reset=True)
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to fit, got "
                             f"n_samples = {n}.")
        ctx = np.zeros(n, dtype=np.int64) if context is None else _as_context(context, n)
        self.contexts_, counts = np.unique(ctx, return_counts=True)
        if counts.min() < 2:
            raise ValueError(f"context {self.contexts_[counts.argmin()]} has "
                             f"{counts.min()} frame; each context needs at least 2.")
        self.n_contexts_ = len(self.contexts_)
        self.detectors_ = []
        for k in self.contexts_:
            det = clone(self.detector) if self.detector is not None else frame_autoencoder()
            params = det.get_params()
            if self.random_state is not None and params.get("random_state", 0) is None:
                seq = np.random.SeedSequence([int(self.random_state), int(k)])
                det.set_params(random_state=int(seq.generate_state(1)[0] >> 1))
            self.detectors_.append(det.fit(X[ctx == k]))
        self.offset_ = float(np.quantile(self._score_context(X, ctx), self.contamination))
        return self

    def _default_context(self, n):
        return np.full(n, self.contexts_[0], dtype=np.int64)

    def _check_known(self, ctx):
        unknown = np.setdiff1d(ctx, self.contexts_)
        if unknown.size:
            raise ValueError(f"contexts {unknown[:5].tolist()} have no detector; this "
                             f"PerContextDetector was fitted on {self.contexts_.tolist()}.")
        return ctx

    def _score_context(self, X, ctx):
        out = np.empty(X.shape[0], dtype=np.float64)
        for k, det in zip(self.contexts_, self.detectors_):
            rows = ctx == k
            if rows.any():
                out[rows] = det.score_samples(X[rows])
        return out

    def _get_state(self):
        state = super()._get_state()
        state["arrays"]["contexts"] = np.asarray(self.contexts_, dtype=np.int64)
        state["children"].update({f"detectors/{i}": det
                                  for i, det in enumerate(self.detectors_)})
        return state

    def _set_state(self, state):
        super()._set_state(state)
        self.contexts_ = state["arrays"]["contexts"].astype(np.int64)
        self.n_contexts_ = len(self.contexts_)
        self.detectors_ = [state["children"][f"detectors/{i}"]
                           for i in range(self.n_contexts_)]


# ------------------------------------------------------------------------------ predictor
class ContextPredictor(io.Persistent, ClassifierMixin, BaseEstimator):
    """Frame context classifier (MLP, cross-entropy) and the context embedding it defines.

    The best epoch is the one with the highest accuracy on a random validation split, as the
    seed selects it (``val_fraction=0``: the lowest training loss).

    Parameters
    ----------
    hidden_dims : tuple of int, default=(512, 512, 256, 128, 128, 64)
        The last width is the embedding dimension.
    epochs : int, default=50
    batch_size : int, default=512
    lr : float, default=1e-4
    weight_decay : float, default=0.0
    patience : int or None, default=None
        Early-stopping patience on the validation accuracy (None: run every epoch).
    val_fraction : float, default=0.1
    precision : {"fp32", "bf16"}, default="fp32"
    device : str, default="auto"
    random_state : int or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The contexts, sorted; columns of :meth:`predict_proba` and rows of ``embedding_``.
    embedding_ : ndarray of shape (n_classes, hidden_dims[-1]), float64
        Per-context mean of the last hidden layer (before its ReLU) over the training frames,
        min-max normalised per dimension (:func:`minmax_embedding`).
    raw_embedding_ : ndarray of shape (n_classes, hidden_dims[-1])
        The same means before normalisation.
    network_ : ContextPredictorNet
    history_ : History
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = rng.integers(0, 3, 300)
    >>> X = rng.normal(size=(300, 6)) + 3 * c[:, None]
    >>> cp = ContextPredictor((16, 8), epochs=20, lr=1e-2, random_state=0).fit(X, c)
    >>> cp.embedding_.shape, float(cp.score(X, c)) > 0.9
    ((3, 8), True)
    """

    def __init__(self, hidden_dims=(512, 512, 256, 128, 128, 64), *, epochs=50, batch_size=512,
                 lr=1e-4, weight_decay=0.0, patience=None, val_fraction=0.1, precision="fp32",
                 device="auto", random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if not len(self.hidden_dims) or any(int(h) < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive ints, got {self.hidden_dims!r}.")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}.")

    def _build_network(self, n_features, n_classes):
        return ContextPredictorNet(n_features, tuple(int(h) for h in self.hidden_dims),
                                   n_classes)

    def _standardize(self, X):
        return ((X - self.x_mean_) / self.x_scale_).astype(np.float32)

    def fit(self, X, y):
        """Fit the classifier on frames ``X`` and their contexts ``y``; set ``embedding_``.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        y : array-like of shape (n_frames,)
            Context of each frame.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, target = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds one class (context {self.classes_[0]!r}); a context "
                             "predictor needs at least 2.")
        self.x_mean_, self.x_scale_ = standard_scale(X)
        self.device_ = str(resolve_device(self.device))
        rng = check_random_state(self.random_state)
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            net = self._build_network(X.shape[1], len(self.classes_))
        init_parameters(net, torch.Generator().manual_seed(torch_seed(rng)))
        self.network_ = net
        Xs = torch.from_numpy(self._standardize(X))
        target = torch.as_tensor(target.ravel(), dtype=torch.int64)
        split = torch.Generator().manual_seed(torch_seed(rng))
        train, val = validation_split((Xs, target), self.val_fraction, split)
        monitor = None
        if val is not None:
            x_val, t_val = (t.to(self.device_) for t in val)

            def monitor(module, epoch):  # the seed keeps the epoch of best val accuracy
                with torch.inference_mode():
                    return float((module(x_val).argmax(dim=1) == t_val).float().mean())

        self.history_ = fit_module(
            net, lambda batch: context_loss(net(batch[0]), batch[1]), train, val_fraction=0.0,
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, patience=self.patience, monitor=monitor,
            precision=self.precision, device=self.device_, random_state=torch_seed(rng),
            verbose=self.verbose, desc="ContextPredictor fit")
        Z = self._embed_standardized(Xs.numpy())
        counts = np.bincount(target.numpy(), minlength=len(self.classes_))
        sums = torch.zeros(len(self.classes_), Z.shape[1], dtype=torch.float64)
        sums.index_add_(0, target, torch.from_numpy(Z))
        self.raw_embedding_ = sums.numpy() / counts[:, None]
        self.embedding_ = minmax_embedding(self.raw_embedding_)
        return self

    def _layers(self):
        return fuse_sequential(self.network_.body)

    def _embed_standardized(self, Xs):
        layers = self._layers()
        w, b, _ = layers[-2]
        return predict_batches(lambda x: run_fused([*layers[:-2], (w, b, None)], x), Xs,
                               device=self.device_)

    def _checked(self, X):
        check_is_fitted(self, "network_")
        return self._standardize(validate_data(self, X, dtype=np.float64, reset=False))

    def embed(self, X):
        """The last hidden layer (before its ReLU) of each frame.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)

        Returns
        -------
        ndarray of shape (n_frames, hidden_dims[-1]), float64
        """
        return self._embed_standardized(self._checked(X))

    def predict_proba(self, X):
        """Softmax probability of each context.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)

        Returns
        -------
        ndarray of shape (n_frames, n_classes), float64
            Columns follow ``classes_``.
        """
        Xs = self._checked(X)
        layers = self._layers()
        return predict_batches(lambda x: torch.softmax(run_fused(layers, x), dim=1), Xs,
                               device=self.device_)

    def predict(self, X):
        """Most probable context of each frame.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)

        Returns
        -------
        ndarray of shape (n_frames,)
            Values of ``classes_``.
        """
        Xs = self._checked(X)
        layers = self._layers()
        index = predict_batches(lambda x: run_fused(layers, x).argmax(dim=1), Xs,
                                device=self.device_)
        return self.classes_[index.astype(np.int64)]

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "network_")
        names = getattr(self, "feature_names_in_", None)
        classes = np.asarray(self.classes_)
        return {"feature_names": None if names is None else [str(n) for n in names],
                "attrs": {"n_features_in": int(self.n_features_in_),
                          "classes_kind": classes.dtype.kind,
                          "history": history_to_json(self.history_)},
                "arrays": {"x_mean": self.x_mean_, "x_scale": self.x_scale_,
                           "classes": classes if classes.dtype.kind in "iufb"
                           else classes.astype(str),
                           "raw_embedding": self.raw_embedding_},
                "state_dicts": {"network": self.network_.state_dict()}}

    def _set_state(self, state):
        attrs, arrays = state["attrs"], state["arrays"]
        self.n_features_in_ = int(attrs["n_features_in"])
        if state["feature_names"] is not None:
            self.feature_names_in_ = np.asarray(state["feature_names"], dtype=object)
        classes = arrays["classes"]
        self.classes_ = classes if attrs["classes_kind"] in "iufbU" else classes.astype(object)
        self.x_mean_, self.x_scale_ = arrays["x_mean"], arrays["x_scale"]
        self.raw_embedding_ = arrays["raw_embedding"]
        self.embedding_ = minmax_embedding(self.raw_embedding_)
        self.device_ = str(resolve_device(self.device))
        with torch.random.fork_rng(devices=[]):
            net = self._build_network(self.n_features_in_, len(self.classes_))
        net.load_state_dict(state["state_dicts"]["network"])
        self.network_ = net.to(self.device_).eval()
        self.history_ = history_from_json(attrs.get("history"))


# ------------------------------------------------------------------------------ stream
@dataclass
class StreamContexts:
    """The contexts a :class:`ContextStream` assigned to a stream of files.

    Attributes
    ----------
    files : ndarray of shape (n_files,)
        File ids in stream order (order of each file's first frame).
    file_context : ndarray of int, shape (n_files,)
        Majority of the frames' predicted contexts per file (-1 where no prediction was given).
    context : ndarray of int, shape (n_files,)
        The context used for each file (window vote, per-file majority, or the true one).
    confidence : ndarray of shape (n_files,), float64
        Window mode: the winner's share of the window's total weight; file mode: the share
        of the file's frames voting for it; oracle mode: 1.
    frame_context : ndarray of int, shape (n_frames,)
        ``context`` of each frame's file: what a conditioned detector is scored with.
    true_context : ndarray of int, shape (n_files,) or None
        The true context per file when it was given.
    """

    files: np.ndarray
    file_context: np.ndarray
    context: np.ndarray
    confidence: np.ndarray
    frame_context: np.ndarray
    true_context: np.ndarray | None = None


class ContextStream(BaseEstimator):
    """Context used for each file of a stream: the seed's weighted voting window.

    A file's own context is the majority of its frames' predicted contexts (ties: the lowest
    context). With ``mode="window"`` the context used for file t is the argmax over contexts k
    of ``sum_{a=0}^{min(t, window-1)} decay**a * [file_context[t - a] == k]`` (age 0 = file t
    itself; ties: the lowest context), summed oldest first as the seed does, so the votes are
    the seed's to the last bit. The window runs on across machines (the seed never empties
    it); ``reset=True`` empties it whenever the machine changes. ``mode="file"`` uses each
    file's own majority (no window); ``mode="oracle"`` the true context.

    Everything is vectorised: the frame majority is one ``bincount`` and the window a sum of
    ``window`` shifted copies of the one-hot file votes, so a whole test set costs one pass.

    Parameters
    ----------
    window : int, default=50
        W, the number of past files (the current one included) that vote.
    decay : float, default=0.9
        Weight of a vote of age a is ``decay ** a`` (the seed's ``(1 - decay_factor) ** a``
        with ``decay_factor=0.1``).
    mode : {"window", "file", "oracle"}, default="window"
    reset : bool, default=False
        Empty the window when the machine changes (needs ``machines``).
    n_contexts : int or None, default=None
        Number of contexts (None: largest context seen + 1).

    Examples
    --------
    >>> stream = ContextStream(window=3)
    >>> stream.vote(np.array([0, 1, 1, 0, 2]))[0]
    array([0, 1, 1, 1, 2])
    """

    MODES = ("window", "file", "oracle")

    def __init__(self, window=50, decay=0.9, *, mode="window", reset=False, n_contexts=None):
        self.window = window
        self.decay = decay
        self.mode = mode
        self.reset = reset
        self.n_contexts = n_contexts

    def _check_params(self):
        w = self.window
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"window must be a positive int, got {w!r}.")
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {self.decay!r}.")
        if self.mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {self.mode!r}.")

    def _n_contexts(self, *arrays):
        seen = max((int(a.max()) + 1 for a in arrays if a is not None and a.size), default=1)
        if self.n_contexts is None:
            return seen
        if seen > self.n_contexts:
            raise ValueError(f"context {seen - 1} is outside n_contexts={self.n_contexts}.")
        return int(self.n_contexts)

    def file_contexts(self, frame_context, files):
        """Majority of the frames' predicted contexts per file (ties: the lowest context).

        Parameters
        ----------
        frame_context : array-like of int, shape (n_frames,), or (n_frames, n_contexts)
            Predicted context of each frame, or per-context scores / probabilities (argmax).
        files : array-like of shape (n_frames,)

        Returns
        -------
        file_ids : ndarray of shape (n_files,)
            Stream order.
        file_context : ndarray of int64, shape (n_files,)
        share : ndarray of shape (n_files,), float64
            Fraction of the file's frames that voted for ``file_context``.
        """
        pred = self._frame_predictions(frame_context)
        file_ids, inverse = _file_index(files)
        if inverse.shape != pred.shape:
            raise ValueError(f"frame_context {pred.shape} and files {inverse.shape} must "
                             "have one entry per frame each.")
        k = self._n_contexts(pred)
        counts = np.bincount(inverse * k + pred, minlength=len(file_ids) * k)
        counts = counts.reshape(len(file_ids), k)
        best = counts.argmax(axis=1)
        share = counts[np.arange(len(best)), best] / counts.sum(axis=1)
        return file_ids, best, share

    @staticmethod
    def _frame_predictions(frame_context):
        pred = np.asarray(frame_context)
        if pred.ndim == 2:
            return pred.argmax(axis=1).astype(np.int64)
        return _as_context(pred, pred.shape[0] if pred.ndim == 1 else -1,
                           name="frame_context")

    def vote(self, file_context, machines=None):
        """The windowed vote over a stream of per-file contexts.

        Parameters
        ----------
        file_context : array-like of int, shape (n_files,)
            Each file's own (predicted) context, in stream order.
        machines : array-like of shape (n_files,), optional
            Machine of each file; with ``reset=True`` the window empties where it changes.

        Returns
        -------
        context : ndarray of int64, shape (n_files,)
        confidence : ndarray of shape (n_files,), float64
            The winner's share of the window's total weight.
        """
        self._check_params()
        votes = _as_context(file_context, np.asarray(file_context).shape[0],
                            name="file_context")
        n, k = len(votes), self._n_contexts(votes)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), votes] = 1.0
        position = np.arange(n)  # age of the oldest vote allowed in each file's window
        if self.reset:
            if machines is None:
                raise ValueError("reset=True needs machines (one per file) to know where "
                                 "the window empties.")
            machines = np.asarray(machines)
            if machines.shape != (n,):
                raise ValueError(f"machines must have shape ({n},), got {machines.shape}.")
            change = np.r_[True, machines[1:] != machines[:-1]]
            position = position - np.maximum.accumulate(np.where(change, position, 0))
        scores = np.zeros((n, k))
        weights = [float(self.decay) ** a for a in range(int(self.window))]
        for age in range(min(int(self.window), n) - 1, -1, -1):  # oldest first, as the seed
            part = weights[age] * onehot[:n - age]
            if self.reset:
                part = part * (position[age:] >= age)[:, None]
            scores[age:] += part
        context = scores.argmax(axis=1)
        confidence = scores[np.arange(n), context] / scores.sum(axis=1)
        return context, confidence

    def assign(self, frame_context, files, *, true_context=None, machines=None):
        """Contexts of a stream of frames, per file and per frame.

        Parameters
        ----------
        frame_context : array-like of int (n_frames,) or (n_frames, n_contexts), or None
            Predicted context (or per-context scores) of each frame, in stream order; may be
            None only with ``mode="oracle"``.
        files : array-like of shape (n_frames,)
            File id of each frame; files are ordered by their first frame.
        true_context : array-like of int, shape (n_frames,), optional
            True context of each frame (constant within a file); needed by ``mode="oracle"``.
        machines : array-like of shape (n_frames,), optional
            Machine of each frame (constant within a file); needed by ``reset=True``.

        Returns
        -------
        StreamContexts
        """
        self._check_params()
        file_ids, inverse = _file_index(files)
        n_files = len(file_ids)
        true = None
        if true_context is not None:
            true = self._per_file(_as_context(true_context, len(inverse), name="true_context"),
                                  inverse, n_files, "true_context")
        if frame_context is not None:
            _, own, share = self.file_contexts(frame_context, files)
        elif self.mode != "oracle":
            raise ValueError(f"mode={self.mode!r} needs frame_context (the predicted context "
                             "of each frame); only mode='oracle' uses the true context alone.")
        else:
            own, share = np.full(n_files, -1, dtype=np.int64), np.zeros(n_files)
        if self.mode == "oracle":
            if true is None:
                raise ValueError("mode='oracle' needs true_context.")
            context, confidence = true, np.ones(n_files)
        elif self.mode == "file":
            context, confidence = own, share
        else:
            per_file = None
            if machines is not None:
                per_file = self._per_file(np.asarray(machines), inverse, n_files, "machines")
            context, confidence = self.vote(own, per_file)
        return StreamContexts(files=file_ids, file_context=own, context=context,
                              confidence=confidence, frame_context=context[inverse],
                              true_context=true)

    @staticmethod
    def _per_file(values, inverse, n_files, name):
        if values.shape != inverse.shape:
            raise ValueError(f"{name} must have one entry per frame ({inverse.shape[0]}), got "
                             f"shape {values.shape}.")
        _, first = np.unique(inverse, return_index=True)  # each file's first frame
        per_file = values[first]
        if np.any(per_file[inverse] != values):
            bad = int(np.flatnonzero(per_file[inverse] != values)[0])
            raise ValueError(f"{name} must be constant within a file; frame {bad} differs from "
                             "its file's first frame.")
        return per_file

    def predict(self, predictor, X, files, *, true_context=None, machines=None):
        """Predict every frame's context with ``predictor`` (one batched pass), then assign.

        Parameters
        ----------
        predictor : fitted classifier with ``predict``
            E.g. :class:`ContextPredictor`; its classes must be the context indices.
        X : array-like of shape (n_frames, n_features)
        files, true_context, machines
            As :meth:`assign`.

        Returns
        -------
        StreamContexts
        """
        return self.assign(predictor.predict(X), files, true_context=true_context,
                           machines=machines)
