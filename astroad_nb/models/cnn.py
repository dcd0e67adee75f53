"""Real/bogus classification of alert cutout triplets with a small residual CNN.

Three parts, as for every deep model of the package: the network (:class:`RealBogusNet`, plain
torch, with :class:`DihedralAugment` as an optional training-only front), the loss
(:class:`RealBogusLoss`, class weights as arguments) and the estimator (:class:`RealBogusCNN`,
a scikit-learn classifier) that trains them with the one fit loop of
:mod:`astroad_nb.training`.

Inputs are triplets ``(N, 3, H, W)`` (science, reference, difference; NaN where invalid), as in
:class:`astroad_nb.data.alerts.CutoutSet`;
:func:`astroad_nb.features.cutouts.normalize_triplets` turns them into ``(N, 4, H, W)`` finite
network inputs (three robustly standardised channels and a validity mask). Model selection on
a labelled evaluation set takes the metric as an argument (``fit(eval_metric=...)``), so the
model never depends on :mod:`astroad_nb.evaluation`.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from astroad_nb import io
from astroad_nb.features.cutouts import normalize_triplets
from astroad_nb.training import history_from_json, history_to_json

__all__ = [
    "DihedralAugment",
    "RealBogusCNN",
    "RealBogusLoss",
    "RealBogusNet",
    "native_bf16",
]

_PRECISIONS = ("fp32", "bf16", "auto")


def native_bf16(device="cpu") -> bool:
    """Whether ``device`` computes bfloat16 natively.

    CUDA: ``torch.cuda.is_bf16_supported()``; CPU: AVX512-BF16 or AMX-BF16 instructions (as
    ``torch.cpu.get_capabilities()`` reports them). Elsewhere bf16 is emulated, slower than fp32.

    Parameters
    ----------
    device : str or torch.device, default="cpu"

    Returns
    -------
    bool
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if dev.type != "cpu" or not hasattr(torch.cpu, "get_capabilities"):
        return False
    try:
        caps = torch.cpu.get_capabilities()
    except Exception:  # an unknown CPU: assume no native bf16
        return False
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


# --------------------------------------------------------------------------- inputs
def _as_images(X):
    """(images float32 (N, C, H, W) with NaN at invalid pixels, labels or None)."""
    from scipy import sparse

    from astroad_nb.data.alerts import CutoutSet

    if isinstance(X, CutoutSet):
        images = np.where(X.mask, X.images, np.float32(np.nan)).astype(np.float32, copy=False)
        return images, X.labels
    if sparse.issparse(X):
        raise TypeError(f"Sparse input is not supported (got a {type(X).__name__}): cutouts are "
                        "dense arrays of shape (N, C, H, W).")
    images = np.asarray(X)
    if images.dtype.kind == "c":  # float32 conversion would silently drop the imaginary part
        raise ValueError("Complex data not supported: pass real-valued pixels (N, C, H, W).")
    images = images.astype(np.float32, copy=False)
    if images.ndim != 4:
        raise ValueError(
            f"Expected a CutoutSet or an array of shape (N, C, H, W), got shape {images.shape}. "
            "Stack single cutouts with np.stack, convert channels-last arrays with "
            "np.moveaxis(a, -1, 1).")
    return images, None


def _as_labels(y):
    """Real (1) / bogus (0) labels as a 1-D int64 array holding both classes.

    A column vector is flattened with a DataConversionWarning; continuous values are refused
    instead of being truncated to int.
    """
    from sklearn.utils import assert_all_finite
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import column_or_1d

    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "f":  # NaN/inf labels: say so (type_of_target would warn first)
        assert_all_finite(y, input_name="y")
    if type_of_target(y) == "continuous":
        raise ValueError(f"Unknown label type: continuous (e.g. {y[:3].tolist()}); y must hold "
                         "1 (real) and 0 (bogus).")
    try:
        y = y.astype(np.int64)
    except (TypeError, ValueError) as exc:  # e.g. class names: numpy's message names no fix
        raise ValueError(f"Only binary classification is supported: y must hold 1 (real) and 0 "
                         f"(bogus), got {y.dtype} values such as {y[:3].tolist()}.") from exc
    values = np.unique(y).tolist()
    if not set(values) <= {0, 1}:
        raise ValueError(f"Only binary classification is supported: y must hold 1 (real) and 0 "
                         f"(bogus), got values {values[:5]}; drop unknown (-1) labels first.")
    if len(values) < 2:
        raise ValueError("y holds a single class; a real/bogus classifier needs both.")
    return y


# --------------------------------------------------------------------------- network
class DihedralAugment(nn.Module):
    """Random flips and 90-degree rotations (the 8 symmetries of a square), training only.

    A real source or an artefact stays what it is under these (a bleed trail turned sideways is
    still an artefact), so they multiply the labelled set by up to 8 at no labelling cost.
    In eval mode ``forward`` returns its input unchanged.

    Parameters
    ----------
    generator : torch.Generator, optional
        CPU generator the random choices are drawn from (repeatable training); the global RNG
        is never used. Required in training mode.
    """

    def __init__(self, generator=None):
        super().__init__()
        self.generator = generator

    def forward(self, x):
        """Transform ``x`` of shape (n, C, H, H); one random symmetry per sample."""
        if not self.training:
            return x
        if self.generator is None:
            raise RuntimeError("DihedralAugment needs a torch.Generator in training mode.")
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"rot90 needs square images, got {tuple(x.shape[-2:])}.")
        code = torch.randint(0, 8, (x.shape[0],), generator=self.generator).to(x.device)
        out = torch.empty_like(x)
        for c in range(8):
            idx = (code == c).nonzero().flatten()
            if idx.numel():
                part = x.index_select(0, idx)
                if c >= 4:
                    part = part.flip(-1)
                out[idx] = torch.rot90(part, c % 4, dims=(-2, -1))
        return out


class _ResidualBlock(nn.Module):
    """``conv3x3(stride)-BN-ReLU-conv3x3-BN`` plus a (projected) shortcut, then ReLU."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class RealBogusNet(nn.Module):
    """Small ResNet for cutout stacks: ``(n, in_channels, H, W) -> (n, n_classes)`` logits.

    A 3x3 stride-2 stem (its kernel is wider than its stride, so it still sees every pixel:
    one-pixel cosmic rays and hot pixels survive), then one residual block per width, each
    halving the resolution (63 -> 32 -> 16 -> 8 -> 4 px for three widths), and a linear head
    on the concatenated global average and max pools (a compact artefact anywhere in the stamp
    can decide). About 4 M multiply-adds and 0.08 M parameters per 4x63x63 input with the
    default widths: on a shared 2-core CPU a full-resolution stem cost 4x more for no gain.

    The seed resizes 63-px stamps to 224 px for an ImageNet ResNet-18; we do not: the stamps
    hold no information beyond their native resolution, 224 px costs ~12x the compute per
    layer, and no pretrained ImageNet weights can be downloaded here anyway.

    Parameters
    ----------
    in_channels : int, default=4
        Three standardised triplet channels plus the validity mask.
    widths : sequence of int, default=(16, 32, 64)
        Channels of the stem/first block and of each further block.
    n_classes : int, default=2
    dropout : float, default=0.0
        Dropout before the head.
    """

    def __init__(self, in_channels=4, widths=(16, 32, 64), n_classes=2, dropout=0.0):
        super().__init__()
        widths = [int(w) for w in widths]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        blocks, c_in = [], widths[0]
        for w in widths:
            blocks.append(_ResidualBlock(c_in, w, stride=2))
            c_in = w
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, n_classes)

    def forward(self, x):
        """Logits of shape ``(n, n_classes)`` for ``x`` of shape ``(n, in_channels, H, W)``."""
        h = self.blocks(self.stem(x))
        pooled = torch.cat([h.mean(dim=(-2, -1)), h.amax(dim=(-2, -1))], dim=1)
        return self.head(self.dropout(pooled))


def init_cnn(module, generator):
    """Initialise convolutions (He normal, fan-out), BatchNorms (1, 0; the last BN of each
    residual branch at 0 so every block starts as the identity) and Linears from ``generator``.

    Parameters
    ----------
    module : torch.nn.Module
    generator : torch.Generator
        Makes initial weights repeatable without touching torch's global RNG.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu",
                                        generator=generator)
            elif isinstance(layer, nn.BatchNorm2d):
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        for block in module.modules():
            if isinstance(block, _ResidualBlock):
                nn.init.zeros_(block.bn2.weight)


# --------------------------------------------------------------------------- loss
class RealBogusLoss:
    """Class-weighted cross-entropy of a classifier network on ``(x, y)`` batches.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x`` (n, C, H, W) to logits (n, n_classes); may start with a
        :class:`DihedralAugment` (active in training mode only).
    class_weight : array-like of shape (n_classes,), optional
        Weight of each class in the loss (``None``: all 1).
    label_smoothing : float, default=0.0
    """

    def __init__(self, model, class_weight=None, label_smoothing=0.0):
        self.model = model
        self.class_weight = (None if class_weight is None
                             else torch.as_tensor(np.asarray(class_weight, np.float32)))
        self.label_smoothing = float(label_smoothing)

    def __call__(self, batch):
        """Mean weighted loss of ``batch = (x, y)``; ``y`` int64 of shape (n,)."""
        x, y = batch
        logits = self.model(x)
        weight = None if self.class_weight is None else self.class_weight.to(logits.device)
        return F.cross_entropy(logits, y.long(), weight=weight,
                               label_smoothing=self.label_smoothing)


def _neg_log_loss(y_true, p_real):
    """Minus the mean binary log-loss of ``p_real``: the default ``eval_metric`` (higher = better).

    Kept here so that model selection on an ``eval_set`` needs no metric from a higher floor.
    """
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.clip(np.asarray(p_real, dtype=float).ravel(), 1e-12, 1.0 - 1e-12)
    return float(np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def _use_bf16(precision, device) -> bool:
    return precision == "bf16" or (precision == "auto" and native_bf16(device))


# --------------------------------------------------------------------------- estimator
class RealBogusCNN(io.Persistent, ClassifierMixin, BaseEstimator):
    """Real/bogus classifier of cutout triplets (scikit-learn estimator, torch inside).

    ``fit(X, y)`` normalises every triplet with :func:`normalize_triplets`, builds a
    :class:`RealBogusNet`, and trains it with :func:`astroad_nb.training.fit_module` on a
    class-weighted cross-entropy (:class:`RealBogusLoss`) with random flips/rot90
    (:class:`DihedralAugment`, training only, from a generator seeded by ``random_state``).
    With ``eval_set`` the epoch kept is the one with the best ``eval_metric`` on that labelled
    validation set (the seed's model selection) instead of the lowest validation loss: the
    metric is a callable the caller passes in (the active-learning loop passes
    :func:`astroad_nb.evaluation.selection_scores`), scored through ``fit_module(monitor=)``.

    Parameters
    ----------
    widths : tuple of int, default=(16, 32, 64)
        Network widths (see :class:`RealBogusNet`).
    epochs : int, default=30
    batch_size : int, default=32
    lr : float, default=2e-3
        Adam learning rate.
    weight_decay : float, default=1e-4
    patience : int or None, default=8
        Early-stopping patience in epochs (on the validation loss, or on ``eval_metric`` with
        an ``eval_set``).
    val_fraction : float, default=0.1
        Random share of the training rows that monitors early stopping when no ``eval_set``
        is given.
    augment : bool, default=True
        Random flips / 90-degree rotations during training.
    class_weight : "balanced", None or dict, default="balanced"
        ``"balanced"`` weighs each class by ``n / (2 n_class)`` (matters when unbalanced);
        a dict maps class (0 bogus, 1 real) to weight.
    dropout : float, default=0.0
    warm_start : bool, default=False
        When True and already fitted on cutouts of the same shape, ``fit`` continues from the
        current weights (fine-tuning: the active-learning loop's later stages); with an
        ``eval_set`` the starting weights are then a candidate too, so the kept model never
        scores worse on it than the one fine-tuning started from.
    device : str, default="auto"
        ``"auto"``: CUDA when present, else CPU.
    random_state : int, RandomState or None
        Seeds weight initialisation, batch order, the validation split and augmentation.
    verbose : int, default=0
        1 shows a progress bar over epochs.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: bogus, real (column order of :meth:`predict_proba`).
    network_ : RealBogusNet
        Trained network, in eval mode, on ``device_``.
    history_ : astroad_nb.training.History
        Losses per epoch; with ``eval_set``, ``history_.eval_scores`` holds what
        ``eval_metric`` returned at each epoch (a dict of scores for
        :func:`astroad_nb.evaluation.selection_scores`) and ``best_epoch`` the kept one (-1: the
        warm start's weights were kept).
    n_channels_in_ : int
        Input channels (3 for triplets).
    image_shape_ : tuple of int
        ``(H, W)`` of the training cutouts in pixels.
    device_ : str

    Examples
    --------
    >>> from astroad_nb.data.alerts import simulate_triplets
    >>> data = simulate_triplets(20, 20, random_state=0)
    >>> clf = RealBogusCNN(epochs=1, random_state=0).fit(data)
    >>> clf.predict_proba(data).shape
    (40, 2)
    """

    def __init__(self, widths=(16, 32, 64), *, epochs=30, batch_size=32, lr=2e-3,
                 weight_decay=1e-4, patience=8, val_fraction=0.1, augment=True,
                 class_weight="balanced", dropout=0.0, warm_start=False, device="auto",
                 random_state=None, verbose=0):
        self.widths = widths
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.augment = augment
        self.class_weight = class_weight
        self.dropout = dropout
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks invalid pixels (see normalize_triplets)
        tags.classifier_tags.multi_class = False  # real (1) / bogus (0) only
        return tags

    # ------------------------------------------------------------------ helpers
    def _check_params(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if not len(self.widths) or any(int(w) < 1 for w in self.widths):
            raise ValueError(f"widths must be positive ints, got {self.widths!r}.")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}.")

    def _class_weights(self, y):
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            return [float(self.class_weight.get(c, 1.0)) for c in (0, 1)]
        if self.class_weight == "balanced":
            counts = np.bincount(y, minlength=2).astype(float)
            return (len(y) / (2.0 * np.maximum(counts, 1.0))).tolist()
        raise ValueError(f"class_weight must be 'balanced', None or a dict, got "
                         f"{self.class_weight!r}.")

    def _build_network(self, n_channels, generator):
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            net = RealBogusNet(n_channels + 1, self.widths, 2, self.dropout)
        if generator is not None:
            init_cnn(net, generator)
        return net

    def _inputs(self, X):
        images, _ = _as_images(X)
        if images.shape[1:2] != (self.n_channels_in_,) or images.shape[2:] != tuple(
                self.image_shape_):
            raise ValueError(
                f"{type(self).__name__} was fitted on cutouts of shape "
                f"({self.n_channels_in_}, {self.image_shape_[0]}, {self.image_shape_[1]}), got "
                f"{images.shape[1:]}.")
        return images

    # ------------------------------------------------------------------ contract
    def fit(self, X, y=None, *, eval_set=None, eval_metric=None, eval_key="Sum"):
        """Train on labelled cutouts.

        Parameters
        ----------
        X : CutoutSet or array-like of shape (n_samples, C, H, W)
            Triplets (NaN where invalid; a CutoutSet's mask is applied).
        y : array-like of int of shape (n_samples,), optional
            1 = real, 0 = bogus. Default: ``X.labels`` of a CutoutSet.
        eval_set : (X_val, y_val), optional
            Labelled validation cutouts; each epoch is scored on them by ``eval_metric`` and
            the best epoch is kept (early stopping with ``patience`` on that score). Without
            it, ``val_fraction`` of the rows monitor the loss.
        eval_metric : callable, optional
            ``eval_metric(y_val, p_real) -> float or dict of float``, higher = better, where
            ``p_real`` (n_val,) is the predicted probability of "real"; e.g.
            :func:`astroad_nb.evaluation.selection_scores` (the RB-C1000 metrics). Default:
            minus the mean log-loss of ``p_real`` (computed here).
        eval_key : str, default="Sum"
            Entry of the dict ``eval_metric`` returns that selects the epoch (ignored when it
            returns a float); with ``selection_scores``: Pre, Acc, Rec, F1, MCC, AP or Sum.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If labels are missing, continuous, not 0/1, or hold only one class; if shapes are
            wrong or pixels complex; if ``eval_metric`` returns a dict without ``eval_key``.
        TypeError
            If ``eval_metric`` is not callable (for a metric name such as ``"MCC"`` pass
            ``eval_metric=selection_scores, eval_key="MCC"``); if ``X`` is a sparse matrix.

        Examples
        --------
        >>> from astroad_nb.data.alerts import simulate_triplets
        >>> from astroad_nb.evaluation import selection_scores
        >>> train, val = (simulate_triplets(10, 10, random_state=s) for s in (0, 1))
        >>> clf = RealBogusCNN(widths=(8,), epochs=2, random_state=0).fit(
        ...     train, eval_set=(val, val.labels), eval_metric=selection_scores, eval_key="MCC")
        >>> sorted(clf.history_.eval_scores[0])
        ['AP', 'Acc', 'F1', 'MCC', 'Pre', 'Rec', 'Sum']
        """
        from astroad_nb.training import fit_module, resolve_device, torch_seed

        self._check_params()
        if y is None and getattr(X, "labels", None) is None:  # scikit-learn's wording
            raise ValueError("RealBogusCNN requires y to be passed, but the target y is None: "
                             "pass y (1 real, 0 bogus) or a labelled CutoutSet.")
        if y is not None:  # label errors first: they do not depend on the images
            y = _as_labels(y)
        images, labels = _as_images(X)
        if y is None:
            y = _as_labels(labels)
        if len(y) != len(images):
            raise ValueError(f"X has {len(images)} cutouts but y has {len(y)} labels.")
        if eval_metric is not None and not callable(eval_metric):
            raise TypeError(
                f"eval_metric must be a callable (y_true, p_real) -> float or dict, got "
                f"{eval_metric!r}; for the RB-C1000 metrics pass eval_metric=astroad_nb."
                f"evaluation.selection_scores and eval_key={eval_metric!r} (Pre, Acc, Rec, F1, "
                "MCC, AP or Sum).")
        rng = check_random_state(self.random_state)
        init_seed = torch_seed(rng)
        warm = (self.warm_start and getattr(self, "network_", None) is not None
                and self.n_channels_in_ == images.shape[1]
                and tuple(self.image_shape_) == tuple(images.shape[2:]))
        self.classes_ = np.array([0, 1])
        self.n_channels_in_ = int(images.shape[1])
        self.image_shape_ = (int(images.shape[2]), int(images.shape[3]))
        self.device_ = str(resolve_device(self.device))
        net = (self.network_ if warm else
               self._build_network(self.n_channels_in_, torch.Generator().manual_seed(init_seed)))
        augment = DihedralAugment(torch.Generator().manual_seed(torch_seed(rng)))
        model = nn.Sequential(augment, net) if self.augment else net
        loss = RealBogusLoss(model, self._class_weights(y))
        Xn = normalize_triplets(images)

        monitor = None
        if eval_set is not None:
            Xv = normalize_triplets(self._inputs(eval_set[0]))
            y_val = np.asarray(eval_set[1]).astype(int).ravel()
            metric = _neg_log_loss if eval_metric is None else eval_metric

            def monitor(module, epoch):
                scores = metric(y_val, self._proba_normalized(Xv, net=net)[:, 1])
                if isinstance(scores, dict) and eval_key not in scores:
                    raise ValueError(f"eval_metric returned the scores {sorted(scores)}; pass "
                                     f"one of them as eval_key= (got {eval_key!r}).")
                return scores

        history = fit_module(
            model, loss, (Xn, y), val_fraction=0.0 if eval_set is not None else
            self.val_fraction, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, patience=self.patience, monitor=monitor,
            monitor_key=eval_key if monitor is not None else None,
            # fine-tuning: the starting weights compete too ("epoch -1")
            monitor_initial=warm and monitor is not None,
            device=self.device_, random_state=rng, verbose=self.verbose, desc="RealBogusCNN")
        self.network_ = net.eval()
        self.history_ = history
        return self

    def _proba_normalized(self, Xn, batch_size=256, *, net=None, precision="fp32",
                          channels_last=False):
        net = self.network_ if net is None else net
        bf16 = _use_bf16(precision, self.device_)
        if channels_last:  # a converted copy: the fitted network keeps its layout
            net = copy.deepcopy(net).to(memory_format=torch.channels_last)
        was_training = net.training
        net.eval()
        device_type = torch.device(self.device_).type
        out = []
        with torch.inference_mode():
            for s in range(0, len(Xn), batch_size):
                chunk = torch.from_numpy(Xn[s:s + batch_size]).to(self.device_)
                if channels_last:
                    chunk = chunk.contiguous(memory_format=torch.channels_last)
                cast = (torch.autocast(device_type=device_type, dtype=torch.bfloat16) if bf16
                        else contextlib.nullcontext())  # fp32: no autocast at all
                with cast:
                    logits = net(chunk)
                out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        net.train(was_training)
        return (np.concatenate(out).astype(np.float64) if out
                else np.zeros((0, 2), np.float64))

    def predict_proba(self, X, *, batch_size=256, precision="fp32", channels_last=False):
        """Class probabilities, scored in batches without autograd (``torch.inference_mode``).

        Parameters
        ----------
        X : CutoutSet or array-like of shape (n_samples, C, H, W)
        batch_size : int, default=256
            Cutouts per forward pass; normalisation runs on chunks of ``4 * batch_size``
            (bounds memory).
        precision : {"fp32", "bf16", "auto"}, default="fp32"
            ``"fp32"``: full precision, the reference results. ``"bf16"``: bfloat16 autocast
            (probabilities within ~1e-2 of fp32; emulated, hence slower, on a CPU without
            native bf16). ``"auto"``: bf16 where the device has it natively
            (:func:`native_bf16`), else fp32.
        channels_last : bool, default=False
            Run a ``torch.channels_last`` copy of the network on channels-last inputs (oneDNN's
            faster convolutions on CPU; results equal fp32's to ~1e-7, not bit for bit).

        Returns
        -------
        ndarray of shape (n_samples, 2), float64
            Columns follow ``classes_``: p(bogus), p(real); rows sum to 1.

        Raises
        ------
        ValueError
            For an unknown ``precision`` or cutouts of another shape than in ``fit``.
        """
        check_is_fitted(self, "network_")
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}.")
        images = self._inputs(X)
        chunk = 4 * batch_size
        parts = [self._proba_normalized(normalize_triplets(images[s:s + chunk]), batch_size,
                                        precision=precision, channels_last=channels_last)
                 for s in range(0, len(images), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.float64)

    def predict(self, X):
        """Predicted class: 1 = real, 0 = bogus (``p(real) >= 0.5``).

        Parameters
        ----------
        X : CutoutSet or array-like of shape (n_samples, C, H, W)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "network_")
        return {"attrs": {"n_channels_in": self.n_channels_in_,
                          "image_shape": list(self.image_shape_),
                          "history": history_to_json(self.history_)},
                "state_dicts": {"network": self.network_.state_dict()}}

    def _set_state(self, state):
        from astroad_nb.training import resolve_device

        attrs = state["attrs"]
        self.classes_ = np.array([0, 1])
        self.n_channels_in_ = int(attrs["n_channels_in"])
        self.image_shape_ = tuple(int(v) for v in attrs["image_shape"])
        self.device_ = str(resolve_device(self.device))
        net = self._build_network(self.n_channels_in_, None)
        net.load_state_dict(state["state_dicts"]["network"])
        self.network_ = net.to(self.device_).eval()
        self.history_ = history_from_json(attrs.get("history"))
