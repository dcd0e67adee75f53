"""Deep Support Vector Data Description (Ruff et al. 2018) and its multi-class variant.

Network: the bias-free auto-encoder of :mod:`._nets`; loss: squared distance to the centre(s);
estimator: pre-train as an auto-encoder, fix the centre(s) from the initial embeddings, then pull
the training embeddings towards them with :func:`astroad_nb.training.fit_module`.
"""

from __future__ import annotations

import numpy as np
import torch

from astroad_nb.models._nets import AutoEncoderNet, fuse_sequential, run_fused
from astroad_nb.models.autoencoders import reconstruction_loss
from astroad_nb.models.base import TorchDetector
from astroad_nb.training import fit_module, predict_batches, torch_seed

__all__ = ["DeepSVDD", "MultiClassDeepSVDD", "svdd_loss", "init_centers"]


def svdd_loss(z, centers, labels=None):
    """Mean squared distance of embeddings to their centre.

    Parameters
    ----------
    z : Tensor of shape (n, latent_dim)
    centers : Tensor of shape (n_centers, latent_dim)
    labels : LongTensor of shape (n,), optional
        Centre index of each row; None uses ``centers[0]`` for all rows.

    Returns
    -------
    Tensor, scalar
    """
    c = centers[0] if labels is None else centers.index_select(0, labels)
    return (z.float() - c).pow(2).sum(dim=1).mean()  # fp32 even under bf16 autocast


def init_centers(Z, labels, n_centers, eps=0.1):
    """Mean embedding per centre, with coordinates too close to 0 pushed to ``+-eps``.

    A coordinate at 0 can be matched by zero weights, a trivial solution (Ruff et al. 2018).

    Parameters
    ----------
    Z : ndarray of shape (n, latent_dim)
    labels : ndarray of int, shape (n,)
    n_centers : int
    eps : float, default=0.1

    Returns
    -------
    ndarray of shape (n_centers, latent_dim)
    """
    centers = np.stack([Z[labels == k].mean(axis=0) for k in range(n_centers)])
    small = np.abs(centers) < eps
    centers[small] = np.where(centers[small] < 0, -eps, eps)
    return centers


class DeepSVDD(TorchDetector):
    """One-class Deep SVDD: anomaly score = squared distance of the embedding to the centre c.

    Bias-free Linear layers and BatchNorm without affine shift, so no layer can emit a learned
    constant and the collapse of every input onto c stays excluded (Ruff et al. 2018, Prop. 2).

    Parameters
    ----------
    hidden_dims : tuple of int, default=(512, 256, 128)
    latent_dim : int, default=32
    pretrain_epochs : int or None, default=None
        Auto-encoder pre-training epochs (None: same as ``epochs``; 0: no pre-training).
    eps : float, default=0.1
        Minimum absolute value of each centre coordinate (the ALeRCE seed: 0.01).
    bias : bool, default=False
        False (ours): bias-free network as above. True (the ALeRCE seed's): learned BatchNorm
        scale/shift and biases in the hidden layers; the last (latent) Linear stays bias-free,
        as a bias there could emit c for every input.
    balanced : bool, default=False
        As :class:`~astroad_nb.models.AutoEncoder` (pre-training and SVDD stage alike).
    epochs, batch_size, lr, weight_decay, patience, val_fraction, contamination, precision,
    device, random_state, verbose
        As :class:`~astroad_nb.models.AutoEncoder`.

    Attributes
    ----------
    network_ : AutoEncoderNet
        Bias-free auto-encoder; only its encoder scores.
    centers_ : ndarray of shape (1, latent_dim)
    history_ : History
        The ``"fit"`` stage; ``history_.stages["pretrain"]`` the auto-encoder pre-training
        (absent with ``pretrain_epochs=0``).
    offset_ : float
    """

    _extra_arrays = ("centers_",)

    def __init__(self, hidden_dims=(512, 256, 128), latent_dim=32, *, pretrain_epochs=None,
                 eps=0.1, bias=False, balanced=False, epochs=100, batch_size=256, lr=1e-3,
                 weight_decay=1e-6, patience=10, val_fraction=0.1, contamination=0.1,
                 precision="fp32", device="auto", random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrain_epochs = pretrain_epochs
        self.eps = eps
        self.bias = bias
        self.balanced = balanced
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
        net = AutoEncoderNet(n_features, tuple(self.hidden_dims), self.latent_dim,
                             bias=bool(self.bias))
        if self.bias:  # hidden layers keep their biases / BatchNorm shift; the latent one not
            last = net.encoder[-1]
            net.encoder[-1] = torch.nn.Linear(last.in_features, last.out_features, bias=False)
        return net

    def _labels(self, y, n):
        """Centre index of each training row and the number of centres."""
        return np.zeros(n, dtype=np.int64), 1

    def _train(self, Xs, y, rng):
        labels, n_centers = self._labels(y, Xs.shape[0])
        net = self._new_network(Xs.shape[1], rng)
        self.network_ = net
        stages = {}
        pre = self.epochs if self.pretrain_epochs is None else self.pretrain_epochs
        if pre:
            def ae_loss(batch):
                (x,) = batch
                return reconstruction_loss(net(x), x)

            stages["pretrain"] = fit_module(
                net, ae_loss, (Xs,), **self._fit_kwargs(torch_seed(rng), "pretrain", pre, y=y))
        else:
            torch_seed(rng)  # keep the seed stream aligned whatever pretrain_epochs is
            net.to(self.device_).eval()
        Z = self._embed(Xs)
        self.centers_ = init_centers(Z, labels, n_centers, self.eps).astype(np.float32)
        centers = torch.as_tensor(self.centers_, device=self.device_)  # fixed, not a parameter

        def loss(batch):
            x, lab = batch
            return svdd_loss(net.encoder(x), centers, lab if n_centers > 1 else None)

        self.history_ = fit_module(
            net, loss, (Xs, torch.as_tensor(labels)), params=net.encoder.parameters(),
            **self._fit_kwargs(torch_seed(rng), "fit", y=y))
        self.history_.stages = stages

    def _embed(self, Xs):
        encoder = fuse_sequential(self.network_.encoder)
        return predict_batches(lambda x: run_fused(encoder, x), Xs, device=self.device_)

    def _score_standardized(self, Xs):
        encoder = fuse_sequential(self.network_.encoder)
        centers = torch.as_tensor(self.centers_, dtype=torch.float32, device=self.device_)

        def score(x):
            z = run_fused(encoder, x)
            if len(centers) == 1:
                return -(z - centers[0]).pow(2).sum(dim=1)
            return -(z[:, None, :] - centers[None]).pow(2).sum(dim=2).min(dim=1).values

        return predict_batches(score, Xs, device=self.device_)


class MultiClassDeepSVDD(DeepSVDD):
    """Deep SVDD with one centre per inlier sub-class; score = distance to the nearest centre.

    ``fit(X, y)`` needs the sub-class labels ``y`` of the (inlier) training samples; each
    sub-class's centre is the mean of its initial embeddings.

    Parameters
    ----------
    As :class:`DeepSVDD`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sub-class labels, in the order of ``centers_``.
    centers_ : ndarray of shape (n_classes, latent_dim)
    """

    _extra_arrays = ("centers_", "classes_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _labels(self, y, n):
        if y is None:
            raise ValueError("MultiClassDeepSVDD requires y to be passed, but the target y is None: "
                             "it needs the sub-class label of every training "
                             "sample: call fit(X, y). For unlabelled data use DeepSVDD.")
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must be 1-D with one label per row of X ({n}), got shape "
                             f"{y.shape}.")
        self.classes_, labels = np.unique(y, return_inverse=True)
        if self.classes_.dtype == object:
            self.classes_ = self.classes_.astype(str)  # savable without pickle
        return labels.astype(np.int64), len(self.classes_)

    def nearest_class(self, X):
        """Sub-class whose centre is nearest to each sample's embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "offset_")
        Xs = self._standardize(self._validate(X, reset=False))
        Z = self._embed(Xs)
        d2 = ((Z[:, None, :] - self.centers_[None].astype(np.float64)) ** 2).sum(-1)
        return self.classes_[d2.argmin(axis=1)]
