"""Shared torch networks (``nn.Module``) of the deep detectors, and their fast inference path.

Networks only map tensors to tensors; losses live next to each estimator and the training loop
in :mod:`astroad_nb.training`. Architecture follows the ALeRCE anomaly detector: MLP blocks
``Linear -> BatchNorm1d -> LeakyReLU`` (512-256-128 by default) down to a latent code, and a
mirrored decoder with a linear output (features are standardised, so no sigmoid/tanh).
A Linear followed by BatchNorm carries no bias: BatchNorm subtracts the batch mean, which cancels it.
The machine-sound seed's networks are plain ``Linear -> ReLU`` blocks (``batch_norm=False``,
``activation="relu"``); :mod:`astroad_nb.models.context` builds them with the same :func:`mlp`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.01  # F.leaky_relu's default, as in the seed code


ACTIVATIONS = ("leaky_relu", "relu")


def _activation(name):
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}.")


def mlp(dims, *, batch_norm=True, affine=True, bias=True, last_activation=False,
        activation="leaky_relu"):
    """Build ``Linear(-> BatchNorm1d) -> activation`` blocks through ``dims``.

    Parameters
    ----------
    dims : sequence of int
        Layer widths ``(in, h1, ..., out)``.
    batch_norm : bool, default=True
        BatchNorm after every hidden Linear (and after the last one if ``last_activation``).
    affine : bool, default=True
        Learnable BatchNorm scale/shift.
    bias : bool, default=True
        Bias of Linear layers that are not followed by BatchNorm.
    last_activation : bool, default=False
        Whether the last Linear is followed by BatchNorm and the activation too.
    activation : {"leaky_relu", "relu"}, default="leaky_relu"
        ``LeakyReLU(0.01)`` (the ALeRCE seed) or ``ReLU`` (the machine-sound seed).

    Returns
    -------
    torch.nn.Sequential
    """
    _activation(activation)  # fail before building anything
    layers = []
    n_layers = len(dims) - 1
    for i in range(n_layers):
        act = i < n_layers - 1 or last_activation
        use_bn = batch_norm and act
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=bias and not use_bn))
        if use_bn:
            layers.append(nn.BatchNorm1d(dims[i + 1], affine=affine))
        if act:
            layers.append(_activation(activation))
    return nn.Sequential(*layers)


class AutoEncoderNet(nn.Module):
    """MLP auto-encoder: ``(n, n_features) -> (n, latent_dim) -> (n, n_features)``.

    Parameters
    ----------
    n_features : int
    hidden_dims : sequence of int
    latent_dim : int
    bias : bool, default=True
        False gives the bias-free variant used by Deep SVDD (with BatchNorm without affine shift).
    batch_norm : bool, default=True
        BatchNorm after every hidden Linear (False: plain ``Linear -> activation``).
    activation : {"leaky_relu", "relu"}, default="leaky_relu"
    latent_activation : bool, default=False
        Whether the bottleneck Linear is followed by the activation (and BatchNorm) too, as in
        the machine-sound seed's 320-64-64-8-64-64-320 auto-encoder. The output stays linear.
    """

    def __init__(self, n_features, hidden_dims, latent_dim, *, bias=True, batch_norm=True,
                 activation="leaky_relu", latent_activation=False):
        super().__init__()
        dims = [n_features, *hidden_dims, latent_dim]
        options = dict(bias=bias, affine=bias, batch_norm=batch_norm, activation=activation)
        self.encoder = mlp(dims, last_activation=latent_activation, **options)
        self.decoder = mlp(dims[::-1], **options)

    def forward(self, x):
        """Reconstruction ``x_hat`` of shape ``(n, n_features)``."""
        return self.decoder(self.encoder(x))


class VAENet(nn.Module):
    """Gaussian-encoder MLP: ``encode(x) -> (mu, log_var)``, ``decode(z) -> x_hat``.

    Parameters
    ----------
    n_features, hidden_dims, latent_dim
        As :class:`AutoEncoderNet`.
    """

    LOG_VAR_RANGE = (-12.0, 8.0)  # keeps exp(log_var) finite and away from 0

    def __init__(self, n_features, hidden_dims, latent_dim):
        super().__init__()
        self.body = mlp([n_features, *hidden_dims], last_activation=True)
        self.mu = nn.Linear(hidden_dims[-1], latent_dim)
        self.log_var = nn.Linear(hidden_dims[-1], latent_dim)
        self.decoder = mlp([latent_dim, *hidden_dims[::-1], n_features])

    def encode(self, x):
        """Return ``(mu, log_var)``, each ``(n, latent_dim)``; log_var is clamped."""
        h = self.body(x)
        return self.mu(h), self.log_var(h).clamp(*self.LOG_VAR_RANGE)

    def forward(self, x, noise=None):
        """Return ``(x_hat, mu, log_var)``; ``z = mu + noise * std`` (``z = mu`` if no noise)."""
        mu, log_var = self.encode(x)
        z = mu if noise is None else mu + noise * torch.exp(0.5 * log_var)
        return self.decoder(z), mu, log_var


class VaDENet(VAENet):
    """VAE with a learnable Gaussian-mixture prior ``p(z) = sum_k pi_k N(mu_k, diag(var_k))``.

    Parameters
    ----------
    n_features, hidden_dims, latent_dim
        As :class:`AutoEncoderNet`.
    n_components : int
        Number of mixture components K.
    """

    def __init__(self, n_features, hidden_dims, latent_dim, n_components):
        super().__init__(n_features, hidden_dims, latent_dim)
        self.pi_logits = nn.Parameter(torch.zeros(n_components))  # softmax keeps pi on simplex
        self.mu_prior = nn.Parameter(torch.zeros(n_components, latent_dim))
        self.log_var_prior = nn.Parameter(torch.zeros(n_components, latent_dim))


def init_parameters(module, generator):
    """Re-initialise every Linear of ``module`` like torch does, from a local generator.

    Parameters
    ----------
    module : torch.nn.Module
    generator : torch.Generator
        Makes initial weights repeatable without touching torch's global RNG.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    bound = 1.0 / math.sqrt(layer.in_features)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def fuse_sequential(seq):
    """Fold eval-mode BatchNorm into the preceding Linear for fast inference.

    Parameters
    ----------
    seq : torch.nn.Sequential
        Made by :func:`mlp` (Linear, optional BatchNorm1d, optional LeakyReLU or ReLU).

    Returns
    -------
    list of (weight_t, bias, slope)
        ``weight_t`` of shape ``(in, out)`` (contiguous, for ``addmm``), ``bias`` ``(out,)``,
        ``slope`` the LeakyReLU slope, 0.0 for a ReLU, or None (no activation).
    """
    fused = []
    with torch.no_grad():
        for layer in seq:
            if isinstance(layer, nn.Linear):
                w = layer.weight.detach().clone()
                b = (layer.bias.detach().clone() if layer.bias is not None
                     else torch.zeros(w.shape[0], dtype=w.dtype, device=w.device))
                fused.append([w, b, None])
            elif isinstance(layer, nn.BatchNorm1d):
                w, b, _ = fused[-1]
                scale = torch.rsqrt(layer.running_var + layer.eps)
                shift = -layer.running_mean * scale
                if layer.affine:
                    scale, shift = scale * layer.weight, shift * layer.weight + layer.bias
                fused[-1][0] = w * scale[:, None]
                fused[-1][1] = b * scale + shift
            elif isinstance(layer, nn.LeakyReLU):
                fused[-1][2] = layer.negative_slope
            elif isinstance(layer, nn.ReLU):
                fused[-1][2] = 0.0
            else:  # pragma: no cover - mlp() builds nothing else
                raise TypeError(f"cannot fuse layer {layer!r}")
    return [(w.t().contiguous(), b.contiguous(), s) for w, b, s in fused]


def run_fused(fused, x):
    """Apply layers from :func:`fuse_sequential` to ``x`` (inference only, modifies in place)."""
    for weight_t, bias, slope in fused:
        x = torch.addmm(bias, x, weight_t)
        if slope == 0.0:  # a ReLU: relu_ keeps +0.0 where leaky_relu_(x, 0) would give -0.0
            x = F.relu_(x)
        elif slope is not None:
            x = F.leaky_relu_(x, slope)
    return x
