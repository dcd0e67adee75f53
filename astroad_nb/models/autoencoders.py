"""Reconstruction-based detectors: :class:`AutoEncoder` and :class:`VAE`.

Each is three parts (anomalib style): a network from :mod:`._nets`, a loss function below, and the
estimator, which trains with :func:`astroad_nb.training.fit_module`.
"""

from __future__ import annotations

import numpy as np
import torch

from astroad_nb.models._nets import (
    ACTIVATIONS,
    AutoEncoderNet,
    VAENet,
    fuse_sequential,
    run_fused,
)
from astroad_nb.models.base import TorchDetector
from astroad_nb.training import fit_module, predict_batches, torch_seed

__all__ = ["AutoEncoder", "VAE", "reconstruction_loss", "vae_loss"]


def reconstruction_loss(x_hat, x):
    """Mean over samples of the squared error summed over features, divided by n_features.

    Parameters
    ----------
    x_hat, x : Tensor of shape (n, n_features)

    Returns
    -------
    Tensor, scalar (the usual ``mse_loss``)
    """
    return torch.nn.functional.mse_loss(x_hat.float(), x)  # fp32 even under bf16 autocast


def gaussian_kl(mu, log_var):
    """KL( N(mu, exp(log_var)) || N(0, I) ) per sample, shape ``(n,)``."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)


def vae_loss(x_hat, x, mu, log_var, beta=1.0):
    """Negative ELBO per sample (Gaussian decoder with unit variance), averaged over samples.

    Parameters
    ----------
    x_hat, x : Tensor of shape (n, n_features)
    mu, log_var : Tensor of shape (n, latent_dim)
    beta : float, default=1.0
        Weight of the KL term.

    Returns
    -------
    Tensor, scalar
    """
    x_hat, mu, log_var = x_hat.float(), mu.float(), log_var.float()  # fp32 under autocast
    rec = 0.5 * (x_hat - x).pow(2).sum(dim=1)
    return (rec + beta * gaussian_kl(mu, log_var)).mean()


class AutoEncoder(TorchDetector):
    """MLP auto-encoder; anomaly score = squared reconstruction error.

    Parameters
    ----------
    hidden_dims : tuple of int, default=(512, 256, 128)
        Encoder widths (the decoder mirrors them).
    latent_dim : int, default=32
    activation : {"leaky_relu", "relu"}, default="leaky_relu"
        Hidden-layer activation (``LeakyReLU(0.01)``, the ALeRCE seed's, or ``ReLU``).
    batch_norm : bool, default=True
        BatchNorm after every hidden Linear; False gives plain ``Linear -> activation`` blocks.
    latent_activation : bool, default=False
        Also apply the activation (and BatchNorm) to the bottleneck. The machine-sound seed's
        frame auto-encoder 320-64-64-8-64-64-320 is ``hidden_dims=(64, 64), latent_dim=8,
        activation="relu", batch_norm=False, latent_activation=True``
        (:func:`astroad_nb.models.context.frame_autoencoder`).
    epochs : int, default=100
    batch_size : int, default=256
    lr : float, default=1e-3
    weight_decay : float, default=1e-6
    patience : int or None, default=10
        Early-stopping patience on the validation loss.
    val_fraction : float, default=0.1
    contamination : float in (0, 0.5], default=0.1
    precision : {"fp32", "bf16"}, default="fp32"
        Training arithmetic: ``"bf16"`` trains with bfloat16 mixed precision (about 1.5x
        faster on CPUs with AVX512-BF16 / AMX and on recent GPUs); scores are always fp32.
    balanced : bool, default=False
        When ``fit`` gets labels ``y``: draw training batches with a weighted random sampler
        that balances the labels (inverse label frequency, the ALeRCE seed's subclass-balanced
        sampler). False: every row once per epoch.
    device : str, default="auto"
        CUDA when available, else CPU.
    random_state : int or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    network_ : AutoEncoderNet
    history_ : History
    offset_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from astroad_nb.models import AutoEncoder
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=2, random_state=0).fit(X)
    >>> ae.anomaly_score(X).shape
    (200,)
    """

    def __init__(self, hidden_dims=(512, 256, 128), latent_dim=32, *, activation="leaky_relu",
                 batch_norm=True, latent_activation=False, epochs=100, batch_size=256,
                 lr=1e-3, weight_decay=1e-6, patience=10, val_fraction=0.1, contamination=0.1,
                 precision="fp32", balanced=False, device="auto", random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.activation = activation
        self.batch_norm = batch_norm
        self.latent_activation = latent_activation
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

    def _check_params(self):
        super()._check_params()
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got "
                             f"{self.activation!r}.")

    def _build_network(self, n_features):
        return AutoEncoderNet(n_features, tuple(self.hidden_dims), self.latent_dim,
                              batch_norm=bool(self.batch_norm), activation=self.activation,
                              latent_activation=bool(self.latent_activation))

    def _train(self, Xs, y, rng):
        net = self._new_network(Xs.shape[1], rng)
        self.network_ = net

        def loss(batch):
            (x,) = batch
            return reconstruction_loss(net(x), x)

        self.history_ = fit_module(net, loss, (Xs,),
                                   **self._fit_kwargs(torch_seed(rng), "fit", y=y))

    def _score_standardized(self, Xs):
        layers = fuse_sequential(self.network_.encoder) + fuse_sequential(self.network_.decoder)

        def score(x):
            return -(run_fused(layers, x) - x).pow(2).sum(dim=1)

        return predict_batches(score, Xs, device=self.device_)


class VAE(TorchDetector):
    """Variational auto-encoder; anomaly score = negative ELBO (default) or reconstruction error.

    ``score_type="elbo"`` (ours): ``0.5 * ||x - decoder(mu(x))||^2 + KL(q(z|x) || N(0, I))``, at the
    posterior mean, no sampling. ``score_type="reconstruction"`` (the ALeRCE seed's):
    ``||x - decoder(z_s)||^2`` averaged over ``n_score_samples`` draws
    ``z_s = mu(x) + eps_s * std(x)``; the ``eps_s`` are drawn once from a fixed seed and shared
    by every row, so scores stay deterministic and independent of batching. Either way
    repeated calls and saved models give identical scores.

    Parameters
    ----------
    hidden_dims : tuple of int, default=(512, 256, 128)
    latent_dim : int, default=32
    beta : float, default=1.0
        KL weight in the training loss and the ``"elbo"`` score.
    score_type : {"elbo", "reconstruction"}, default="elbo"
        Anomaly score (see above). Not named ``score``: that name is scikit-learn's
        ``score`` method, which estimator checks call.
    n_score_samples : int, default=10
        Latent draws averaged by ``score_type="reconstruction"``.
    epochs, batch_size, lr, weight_decay, patience, val_fraction, contamination, precision,
    balanced, device, random_state, verbose
        As :class:`AutoEncoder`.

    Attributes
    ----------
    network_ : VAENet
    history_ : History
    offset_ : float
    """

    def __init__(self, hidden_dims=(512, 256, 128), latent_dim=32, *, beta=1.0, score_type="elbo",
                 n_score_samples=10, epochs=100, batch_size=256, lr=1e-3, weight_decay=1e-6,
                 patience=10, val_fraction=0.1, contamination=0.1, precision="fp32",
                 balanced=False, device="auto", random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.beta = beta
        self.score_type = score_type
        self.n_score_samples = n_score_samples
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
        return VAENet(n_features, tuple(self.hidden_dims), self.latent_dim)

    _SCORES = ("elbo", "reconstruction")
    _SCORE_SEED = 20230913  # fixed: the score's latent draws never depend on the fit

    def _check_params(self):
        super()._check_params()
        if self.score_type not in self._SCORES:
            raise ValueError(f"VAE score_type must be one of {self._SCORES}, got "
                             f"{self.score_type!r}.")
        n = self.n_score_samples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_score_samples must be a positive int, got {n!r}.")

    def _train(self, Xs, y, rng):
        net = self._new_network(Xs.shape[1], rng)
        self.network_ = net
        noise_gen = torch.Generator(device=self.device_).manual_seed(torch_seed(rng))

        def loss(batch):
            (x,) = batch
            noise = None
            if net.training:  # reparameterisation noise from a local generator
                noise = torch.randn(x.shape[0], self.latent_dim, generator=noise_gen,
                                    device=x.device)
            x_hat, mu, log_var = net(x, noise)
            return vae_loss(x_hat, x, mu, log_var, self.beta)

        self.history_ = fit_module(net, loss, (Xs,),
                                   **self._fit_kwargs(torch_seed(rng), "fit", y=y))

    def _score_standardized(self, Xs):
        net = self.network_
        body, decoder = fuse_sequential(net.body), fuse_sequential(net.decoder)
        lo, hi = net.LOG_VAR_RANGE

        eps = None
        if self.score_type == "reconstruction":
            gen = torch.Generator().manual_seed(self._SCORE_SEED)
            eps = torch.randn(int(self.n_score_samples), 1, self.latent_dim, generator=gen)
            eps = eps.to(self.device_)

        def score(x):
            h = run_fused(body, x)
            mu, log_var = net.mu(h), net.log_var(h).clamp(lo, hi)
            if eps is not None:  # mean over the shared draws of the squared error
                std = torch.exp(0.5 * log_var)
                err = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
                for e in eps:
                    err += (run_fused(decoder, mu + e * std) - x).pow(2).sum(dim=1)
                return -err / len(eps)
            rec = 0.5 * (run_fused(decoder, mu) - x).pow(2).sum(dim=1)
            return -(rec + self.beta * gaussian_kl(mu, log_var))

        return predict_batches(score, Xs, device=self.device_)
