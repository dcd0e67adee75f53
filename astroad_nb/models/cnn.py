"""Real/bogus classification of alert cutout triplets with a small residual CNN.

Three parts, as for every deep model of the package: the network (:class:`RealBogusNet`, plain
torch, with :class:`DihedralAugment` as an optional training-only front), the loss
(:class:`RealBogusLoss`, class weights as arguments) and the estimator (:class:`RealBogusCNN`,
a scikit-learn classifier) that trains them with the one fit loop of
:mod:`astroad_nb.training`.

Inputs are triplets ``(N, 3, H, W)`` (science, reference, difference; NaN where invalid), as in
:class:`astroad_nb.data.alerts.CutoutSet`; :func:`normalize_triplets` turns them into
``(N, 4, H, W)`` finite network inputs (three robustly standardised channels and a validity
mask).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

import astroad_nb
from astroad_nb.models.base import CONFIG_FILE, WEIGHTS_FILE, _jsonable, _version_key
from astroad_nb.training import history_from_json, history_to_json

__all__ = [
    "DihedralAugment",
    "RealBogusCNN",
    "RealBogusLoss",
    "RealBogusNet",
    "normalize_triplets",
    "selection_scores",
]

#: Metric names of the RB-C1000 tables, in the seed's order (1 = real is the positive class).
METRICS = ("Pre", "Acc", "Rec", "F1", "MCC", "AP")

_MAD_TO_SIGMA = 1.4826  # MAD of a Gaussian times this = its standard deviation


# --------------------------------------------------------------------------- preprocessing
def normalize_triplets(images, mask=None, *, stretch=3.0):
    """Per-triplet, per-channel robust standardisation that survives NaNs.

    Each channel of each triplet has its median subtracted (the sky for science/reference) and
    is divided by a robust noise scale: 1.4826 x the median absolute deviation, falling back to
    the standard deviation and then to 1 when that is zero or undefined (constant or all-NaN
    channels). Values are then compressed by ``stretch * asinh(z / stretch)``: linear within
    +-``stretch`` sigma (faint transients keep their contrast), logarithmic beyond (a saturated
    star no longer dominates every activation). Invalid pixels (NaN, inf or ``mask == False``)
    become 0 and a last channel holds 1 where every input channel is valid, 0 elsewhere, so the
    network can tell "no data" (chip edges) from "empty sky".

    Parameters
    ----------
    images : array-like of shape (N, C, H, W)
        Pixel values in any linear unit (e-, DN); NaN where invalid.
    mask : array-like of bool of shape (N, C, H, W), optional
        ``True`` = valid pixel; combined with ``isfinite(images)``.
    stretch : float, default=3.0
        Break point of the asinh compression, in units of the robust noise scale.

    Returns
    -------
    numpy.ndarray of shape (N, C + 1, H, W), float32
        Finite values: ``C`` standardised channels (dimensionless) and the validity mask.

    Examples
    --------
    >>> x = np.full((1, 3, 5, 5), np.nan, np.float32)
    >>> out = normalize_triplets(x)
    >>> out.shape, bool(np.isfinite(out).all()), float(out[:, 3].max())
    ((1, 4, 5, 5), True, 0.0)
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}.")
    valid = torch.isfinite(x)
    if mask is not None:
        valid &= torch.as_tensor(np.asarray(mask, dtype=bool))
    x = torch.where(valid, x, torch.tensor(float("nan")))
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    med = flat.nanmedian(dim=-1).values  # (N, C); NaN for all-invalid channels
    dev = (flat - med[..., None]).abs()
    scale = _MAD_TO_SIGMA * dev.nanmedian(dim=-1).values
    # nanstd fallback: at least half the pixels equal (e.g. a flat, NaN-padded stamp)
    count = valid.reshape(n, c, -1).sum(-1).clamp(min=1)
    std = torch.sqrt(torch.nansum(dev ** 2, dim=-1) / count)
    bad = ~torch.isfinite(scale) | (scale <= 1e-12)
    scale = torch.where(bad, std, scale)
    bad = ~torch.isfinite(scale) | (scale <= 1e-12)
    scale = torch.where(bad, torch.ones_like(scale), scale)
    med = torch.nan_to_num(med, nan=0.0)
    z = (x - med[..., None, None]) / scale[..., None, None]
    z = stretch * torch.asinh(z / stretch)
    z = torch.where(valid, z, torch.zeros(()))
    all_valid = valid.all(dim=1, keepdim=True).to(torch.float32)
    return torch.cat([z, all_valid], dim=1).numpy()


def _as_images(X):
    """(images float32 (N, C, H, W) with NaN at invalid pixels, labels or None)."""
    from astroad_nb.data.alerts import CutoutSet

    if isinstance(X, CutoutSet):
        images = np.where(X.mask, X.images, np.float32(np.nan)).astype(np.float32, copy=False)
        return images, X.labels
    images = np.asarray(X, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"Expected a CutoutSet or an array of shape (N, C, H, W), got shape {images.shape}. "
            "Stack single cutouts with np.stack, convert channels-last arrays with "
            "np.moveaxis(a, -1, 1).")
    return images, None


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


# --------------------------------------------------------------------------- metrics
def selection_scores(y_true, p_real, *, threshold=0.5):
    """The RB-C1000 metrics of ``p(real)`` against true labels (1 = real is positive).

    Parameters
    ----------
    y_true : array-like of int of shape (n,)
        1 = real, 0 = bogus.
    p_real : array-like of float of shape (n,)
        Predicted probability of "real".
    threshold : float, default=0.5
        ``p_real >= threshold`` is predicted real (Pre, Acc, Rec, F1, MCC); AP uses the scores.

    Returns
    -------
    dict
        ``Pre``, ``Acc``, ``Rec``, ``F1``, ``MCC``, ``AP`` and ``Sum``. ``Sum`` is the seed's
        single model-selection number: the mean of the six metrics (NaN ones count as 0).
    """
    from astroad_nb import evaluation as ev

    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(p_real, dtype=float).ravel()
    pred = (p >= threshold).astype(int)
    out = {"Pre": ev.precision(y, pred), "Acc": ev.accuracy(y, pred), "Rec": ev.recall(y, pred),
           "F1": ev.f1(y, pred), "MCC": ev.mcc(y, pred), "AP": ev.average_precision(y, p)}
    out["Sum"] = float(np.mean([0.0 if not np.isfinite(v) else v for v in out.values()]))
    return out


_METRIC_KEYS = {m.lower(): m for m in (*METRICS, "Sum")}
_METRIC_KEYS.update({"precision": "Pre", "accuracy": "Acc", "recall": "Rec",
                     "average_precision": "AP"})


def metric_key(name):
    """Canonical metric name (``"sum"`` -> ``"Sum"``, ``"precision"`` -> ``"Pre"``, ...)."""
    key = _METRIC_KEYS.get(str(name).lower())
    if key is None:
        raise ValueError(f"unknown metric {name!r}; choose from {[*METRICS, 'Sum']}.")
    return key


# --------------------------------------------------------------------------- estimator
class RealBogusCNN(ClassifierMixin, BaseEstimator):
    """Real/bogus classifier of cutout triplets (scikit-learn estimator, torch inside).

    ``fit(X, y)`` normalises every triplet with :func:`normalize_triplets`, builds a
    :class:`RealBogusNet`, and trains it with :func:`astroad_nb.training.fit_module` on a
    class-weighted cross-entropy (:class:`RealBogusLoss`) with random flips/rot90
    (:class:`DihedralAugment`, training only, from a generator seeded by ``random_state``).
    With ``eval_set`` the epoch kept is the one with the best ``eval_metric`` on that labelled
    validation set (the seed's model selection) instead of the lowest validation loss.

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
        Early-stopping patience in epochs (on the validation loss, or on ``eval_metric``).
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
        Losses per epoch; with ``eval_set``, ``history_.eval_scores`` holds the
        :func:`selection_scores` of each epoch and ``best_epoch`` the kept one (-1: the warm
        start's weights were kept).
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
    def fit(self, X, y=None, *, eval_set=None, eval_metric="sum"):
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
        eval_metric : str, default="sum"
            One of Pre, Acc, Rec, F1, MCC, AP, Sum (see :func:`selection_scores`).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If labels are missing, not 0/1, or hold only one class; if shapes are wrong.
        """
        from astroad_nb.training import fit_module, resolve_device, torch_seed

        self._check_params()
        images, labels = _as_images(X)
        y = labels if y is None else y
        if y is None:
            raise ValueError("fit needs labels: pass y (1 real, 0 bogus) or a labelled "
                             "CutoutSet.")
        y = np.asarray(y).astype(np.int64).ravel()
        if len(y) != len(images):
            raise ValueError(f"X has {len(images)} cutouts but y has {len(y)} labels.")
        if not set(np.unique(y).tolist()) <= {0, 1}:
            raise ValueError(f"y must hold 1 (real) and 0 (bogus), got values "
                             f"{sorted(set(np.unique(y).tolist()))[:5]}; drop unknown (-1) "
                             "labels first.")
        if len(np.unique(y)) < 2:
            raise ValueError("y holds a single class; a real/bogus classifier needs both.")
        key = metric_key(eval_metric)
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

        callback, best = None, {"score": -np.inf, "state": None, "bad": 0, "scores": []}
        if eval_set is not None:
            X_val = self._inputs(eval_set[0])
            Xv = normalize_triplets(X_val)
            y_val = np.asarray(eval_set[1]).astype(int).ravel()

            def callback(epoch, history):
                self.network_ = net
                scores = selection_scores(y_val, self._proba_normalized(Xv)[:, 1])
                best["scores"].append(scores)
                if scores[key] > best["score"]:
                    best.update(score=scores[key], bad=0, epoch=epoch,
                                state=copy.deepcopy(net.state_dict()))
                else:
                    best["bad"] += 1
                return self.patience is not None and best["bad"] >= self.patience

            if warm:  # the weights fine-tuning starts from compete too ("epoch -1")
                self.network_ = net.to(self.device_)
                start = selection_scores(y_val, self._proba_normalized(Xv)[:, 1])
                best.update(score=start[key], epoch=-1, state=copy.deepcopy(net.state_dict()))

        history = fit_module(
            model, loss, (Xn, y), val_fraction=0.0 if eval_set is not None else
            self.val_fraction, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay,
            patience=None if eval_set is not None else self.patience,
            on_epoch_end=callback, device=self.device_, random_state=rng,
            verbose=self.verbose, desc="RealBogusCNN")
        if best["state"] is not None:
            net.load_state_dict(best["state"])
            history.best_epoch = best["epoch"]
            history.stopped_early = history.epochs_run < self.epochs
        history.eval_scores = best["scores"]
        self.network_ = net.eval()
        self.history_ = history
        return self

    def _proba_normalized(self, Xn, batch_size=256):
        net = self.network_
        was_training = net.training
        net.eval()
        out = []
        with torch.inference_mode():
            for s in range(0, len(Xn), batch_size):
                chunk = torch.from_numpy(Xn[s:s + batch_size]).to(self.device_)
                out.append(torch.softmax(net(chunk).float(), dim=1).cpu().numpy())
        net.train(was_training)
        return (np.concatenate(out).astype(np.float64) if out
                else np.zeros((0, 2), np.float64))

    def predict_proba(self, X, *, batch_size=256):
        """Class probabilities.

        Parameters
        ----------
        X : CutoutSet or array-like of shape (n_samples, C, H, W)
        batch_size : int, default=256
            Cutouts normalised and scored per chunk (bounds memory).

        Returns
        -------
        ndarray of shape (n_samples, 2), float64
            Columns follow ``classes_``: p(bogus), p(real); rows sum to 1.
        """
        check_is_fitted(self, "network_")
        images = self._inputs(X)
        chunk = 4 * batch_size
        parts = [self._proba_normalized(normalize_triplets(images[s:s + chunk]), batch_size)
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
    def save(self, path):
        """Write the fitted classifier to the folder ``path`` (``config.json`` + ``weights.pt``).

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        pathlib.Path
        """
        check_is_fitted(self, "network_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        params = {k: _jsonable(v, k) for k, v in self.get_params(deep=False).items()}
        config = {"astroad_nb_version": astroad_nb.__version__, "class": type(self).__name__,
                  "params": params, "n_channels_in": self.n_channels_in_,
                  "image_shape": list(self.image_shape_),
                  "history": history_to_json(self.history_)}
        torch.save({k: v.detach().cpu() for k, v in self.network_.state_dict().items()},
                   path / WEIGHTS_FILE)
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, path, *, device=None):
        """Read a classifier written by :meth:`save` (weights read with ``weights_only=True``).

        Parameters
        ----------
        path : str or Path
        device : str, optional
            Overrides the saved ``device`` parameter.

        Returns
        -------
        RealBogusCNN

        Raises
        ------
        FileNotFoundError
            If ``config.json`` is missing.
        ValueError
            If it was saved by an incompatible version or holds another class.
        """
        from astroad_nb.training import resolve_device

        path = Path(path)
        if not (path / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{path / CONFIG_FILE} not found: is {path} a folder "
                                    "written by RealBogusCNN.save()?")
        config = json.loads((path / CONFIG_FILE).read_text())
        saved = config.get("astroad_nb_version", "?")
        if _version_key(saved) != _version_key(astroad_nb.__version__):
            raise ValueError(f"{path} was saved by astroad_nb {saved}, incompatible with the "
                             f"installed {astroad_nb.__version__}; retrain the classifier.")
        if config.get("class") != cls.__name__:
            raise ValueError(f"{path} holds a {config.get('class')!r}, not a {cls.__name__}.")
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in config["params"].items()}
        if device is not None:
            params["device"] = device
        model = cls(**params)
        model.classes_ = np.array([0, 1])
        model.n_channels_in_ = int(config["n_channels_in"])
        model.image_shape_ = tuple(int(v) for v in config["image_shape"])
        model.device_ = str(resolve_device(model.device))
        net = model._build_network(model.n_channels_in_, None)
        net.load_state_dict(torch.load(path / WEIGHTS_FILE, map_location="cpu",
                                       weights_only=True))
        model.network_ = net.to(model.device_).eval()
        model.history_ = history_from_json(config.get("history"))
        return model
