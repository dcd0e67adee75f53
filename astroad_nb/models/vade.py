"""Variational Deep Embedding (VaDE; Jiang et al. 2017) as an anomaly detector.

Network: :class:`._nets.VaDENet` (a VAE whose prior is a learnable Gaussian mixture);
loss: :func:`vade_loss` (negative ELBO, written with log-sum-exp and clamped variances so it stays
finite); estimator: :class:`VaDE` -- auto-encoder pre-training, Gaussian-mixture initialisation of
the prior on the pre-trained embeddings, then ELBO training, every stage through
:func:`astroad_nb.training.fit_module`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.mixture import GaussianMixture

from astroad_nb.models._nets import VaDENet, fuse_sequential, run_fused
from astroad_nb.models.autoencoders import reconstruction_loss
from astroad_nb.models.base import TorchDetector
from astroad_nb.training import fit_module, predict_batches, torch_seed

__all__ = ["VaDE", "vade_loss"]

PRIOR_LOG_VAR_RANGE = (-10.0, 10.0)


def _responsibilities(z, log_pi, mu_prior, log_var_prior):
    """``log q(c|x) = log p(c|z)`` of shape (n, K), normalised with log-sum-exp."""
    log_pzc = -0.5 * (((z[:, None, :] - mu_prior) ** 2) / log_var_prior.exp()
                      + log_var_prior + math.log(2 * math.pi)).sum(dim=2)
    return F.log_softmax(log_pi + log_pzc, dim=1)


def vade_loss(x_hat, x, mu, log_var, z, pi_logits, mu_prior, log_var_prior):
    """Negative ELBO of VaDE per sample (Gaussian decoder with unit variance).

    ``0.5 ||x - x_hat||^2 + sum_c q(c|x) KL(q(z|x) || p(z|c)) + KL(q(c|x) || p(c))``
    with ``q(c|x) = p(c|z)`` at the sampled ``z``.

    Parameters
    ----------
    x_hat, x : Tensor of shape (n, n_features)
    mu, log_var : Tensor of shape (n, latent_dim)
        Gaussian posterior ``q(z|x)``.
    z : Tensor of shape (n, latent_dim)
        Sample of ``q(z|x)`` (``mu`` for a deterministic score).
    pi_logits : Tensor of shape (K,)
        Mixture weights before softmax.
    mu_prior, log_var_prior : Tensor of shape (K, latent_dim)
        Mixture means and log-variances (clamped to ``PRIOR_LOG_VAR_RANGE``).

    Returns
    -------
    Tensor of shape (n,)
    """
    # network outputs in fp32 (they are bf16 under autocast): the mixture terms need the range
    x_hat, mu, log_var, z = x_hat.float(), mu.float(), log_var.float(), z.float()
    log_pi = F.log_softmax(pi_logits, dim=0)
    lvp = log_var_prior.clamp(*PRIOR_LOG_VAR_RANGE)
    log_gamma = _responsibilities(z, log_pi, mu_prior, lvp)
    gamma = log_gamma.exp()
    rec = 0.5 * (x_hat - x).pow(2).sum(dim=1)
    kl_zc = 0.5 * ((lvp - log_var[:, None, :] + (log_var[:, None, :] - lvp).exp()
                    + (mu[:, None, :] - mu_prior) ** 2 / lvp.exp() - 1.0).sum(dim=2))
    kl_z = (gamma * kl_zc).sum(dim=1)
    kl_c = (gamma * (log_gamma - log_pi)).sum(dim=1)
    return rec + kl_z + kl_c


class VaDE(TorchDetector):
    """VaDE anomaly detector: a VAE with a Gaussian-mixture prior in latent space.

    Anomaly score = negative ELBO evaluated at the posterior mean (``z = mu(x)``, no sampling),
    an upper bound on ``-log p(x)`` up to constants; deterministic, so saved models score alike.

    Parameters
    ----------
    hidden_dims : tuple of int, default=(512, 256, 128)
    latent_dim : int, default=32
    n_components : int, default=5
        Mixture components of the prior (capped at the number of training samples).
    pretrain_epochs : int or None, default=None
        Auto-encoder pre-training epochs (None: same as ``epochs``).
    epochs, batch_size, lr, weight_decay, patience, val_fraction, contamination, precision,
    device, random_state, verbose
        As :class:`~astroad_nb.models.AutoEncoder`.

    Attributes
    ----------
    network_ : VaDENet
    n_components_ : int
    history_ : History
        The ``"fit"`` stage; ``history_.stages["pretrain"]`` the auto-encoder pre-training
        (absent with ``pretrain_epochs=0``).
    offset_ : float
    """

    _extra_arrays = ("n_components_",)

    def __init__(self, hidden_dims=(512, 256, 128), latent_dim=32, *, n_components=5,
                 pretrain_epochs=None, epochs=100, batch_size=256, lr=1e-3, weight_decay=1e-6,
                 patience=10, val_fraction=0.1, contamination=0.1, precision="fp32", device="auto",
                 random_state=None, verbose=0):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.n_components = n_components
        self.pretrain_epochs = pretrain_epochs
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
        k = int(getattr(self, "n_components_", self.n_components))
        return VaDENet(n_features, tuple(self.hidden_dims), self.latent_dim, k)

    def _train(self, Xs, y, rng):
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be a positive int, got {self.n_components!r}.")
        self.n_components_ = int(min(self.n_components, Xs.shape[0]))
        net = self._new_network(Xs.shape[1], rng)
        self.network_ = net
        stages = {}

        # 1. deterministic auto-encoder through the mean head
        def ae_loss(batch):
            (x,) = batch
            return reconstruction_loss(net.decoder(net.mu(net.body(x))), x)

        pre = self.epochs if self.pretrain_epochs is None else self.pretrain_epochs
        ae_params = [*net.body.parameters(), *net.mu.parameters(), *net.decoder.parameters()]
        seed = torch_seed(rng)
        if pre:
            stages["pretrain"] = fit_module(
                net, ae_loss, (Xs,), params=ae_params, **self._fit_kwargs(seed, "pretrain", pre))
        net.to(self.device_).eval()

        # 2. Gaussian-mixture prior initialised on the pre-trained embeddings
        body = fuse_sequential(net.body)
        Z = predict_batches(lambda x: net.mu(run_fused(body, x)), Xs, device=self.device_)
        gmm = GaussianMixture(self.n_components_, covariance_type="diag", reg_covar=1e-4,
                              random_state=int(rng.randint(2**31 - 1))).fit(Z)
        with torch.no_grad():
            net.pi_logits.copy_(torch.as_tensor(np.log(gmm.weights_ + 1e-12)))
            net.mu_prior.copy_(torch.as_tensor(gmm.means_))
            net.log_var_prior.copy_(torch.as_tensor(np.log(gmm.covariances_)))
            # start q(z|x) narrow, so the first ELBO steps do not undo pre-training
            net.log_var.weight.zero_()
            net.log_var.bias.fill_(float(np.log(np.mean(gmm.covariances_)) - 2.0))

        # 3. ELBO training of everything
        noise_gen = torch.Generator(device=self.device_).manual_seed(torch_seed(rng))

        def loss(batch):
            (x,) = batch
            mu, log_var = net.encode(x)
            z = mu
            if net.training:
                z = mu + torch.randn(mu.shape, generator=noise_gen, device=mu.device) * (
                    0.5 * log_var).exp()
            return vade_loss(net.decoder(z), x, mu, log_var, z, net.pi_logits, net.mu_prior,
                             net.log_var_prior).mean()

        self.history_ = fit_module(net, loss, (Xs,), **self._fit_kwargs(torch_seed(rng), "fit"))
        self.history_.stages = stages

    def _score_standardized(self, Xs):
        net = self.network_
        body, decoder = fuse_sequential(net.body), fuse_sequential(net.decoder)
        lo, hi = net.LOG_VAR_RANGE

        def score(x):
            h = run_fused(body, x)
            mu, log_var = net.mu(h), net.log_var(h).clamp(lo, hi)
            return -vade_loss(run_fused(decoder, mu), x, mu, log_var, mu, net.pi_logits,
                              net.mu_prior, net.log_var_prior)

        return predict_batches(score, Xs, device=self.device_)

    def predict_cluster(self, X):
        """Most probable mixture component ``argmax_c q(c|x)`` of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of int, shape (n_samples,)
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "offset_")
        net = self.network_
        body = fuse_sequential(net.body)
        Xs = self._standardize(self._validate(X, reset=False))

        def resp(x):
            mu = net.mu(run_fused(body, x))
            return _responsibilities(mu, F.log_softmax(net.pi_logits, 0), net.mu_prior,
                                     net.log_var_prior.clamp(*PRIOR_LOG_VAR_RANGE))

        return predict_batches(resp, Xs, device=self.device_).argmax(axis=1)
