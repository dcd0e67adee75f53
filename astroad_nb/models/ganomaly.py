"""GANomaly (Akcay et al. 2018) as the galaxy seed trains it: network, losses, estimator.

Three parts, as for every deep model of the package:

* the networks: :class:`DCGANEncoder` / :class:`DCGANDecoder` (DCGAN, no convolution bias),
  the generator :class:`GANomalyGenerator` (encoder -> decoder -> encoder) and the
  discriminator :class:`GANomalyDiscriminator` (the encoder with one output and a sigmoid,
  whose features are its last 4 x 4 map), held together by :class:`GANomalyNet`;
* the losses: :func:`generator_loss` (feature matching + contextual L1 + encoder L2, weights as
  arguments) and :func:`discriminator_loss` (binary cross-entropy), played by
  :class:`GANomalyGame` through the one fit loop (:class:`astroad_nb.training.AdversarialGame`),
  which also watches the discriminator and re-initialises it when it collapses or saturates;
* the estimator :class:`GANomaly`, a scikit-learn outlier detector on ``(N, C, H, W)`` images
  (or an :class:`astroad_nb.data.galaxies.ImageSet`).

Score: ``A = mean over nz of (z - z_hat)**2`` (latent distance between an image and its
reconstruction), min-max scaled with bounds fixed at fit time (the training set's, or given),
never the scored set's, so a score never depends on what else is scored.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from astroad_nb.models.base import BaseDetector
from astroad_nb.training import (
    AdversarialGame,
    fit_module,
    history_from_json,
    history_to_json,
    resolve_device,
    torch_seed,
)

__all__ = [
    "BN_MODES",
    "MEMORY_FORMATS",
    "DCGANDecoder",
    "DCGANEncoder",
    "GANomaly",
    "GANomalyDiscriminator",
    "GANomalyGame",
    "GANomalyGenerator",
    "GANomalyNet",
    "SEED_SCORE_BOUNDS",
    "discriminator_loss",
    "generator_loss",
    "init_dcgan",
]

#: How BatchNorm normalises when scoring: ``"per_image"`` (the seed's train-mode BN on a
#: batch of one image: each image normalised by its own per-channel pixel statistics) or
#: ``"eval"`` (the running statistics of training).
BN_MODES = ("per_image", "eval")
#: Tensor layouts of the networks: torch's default (``"contiguous"``, NCHW) or
#: ``"channels_last"`` (NHWC).
MEMORY_FORMATS = ("contiguous", "channels_last")
#: The seed paper's fixed min-max constants of A (from its SDSS run).
SEED_SCORE_BOUNDS = (0.00077, 0.933)
LEAKY_SLOPE = 0.2


def _check_isize(isize):
    if (isinstance(isize, bool) or not isinstance(isize, (int, np.integer)) or isize < 16
            or isize & (isize - 1)):
        raise ValueError(f"isize must be a power of 2 >= 16 (32, 64, ... 256), got {isize!r}.")
    return int(isize)


def _run(layers, x, per_image):
    """Apply ``layers`` to ``x``; with ``per_image`` every BatchNorm2d normalises each image by
    its own per-channel pixel mean and (biased) variance - what train-mode BatchNorm does on a
    batch of one image - with the BatchNorm's affine parameters, never touching its running
    statistics."""
    for layer in layers:
        if per_image and isinstance(layer, nn.BatchNorm2d):
            x = F.instance_norm(x, weight=layer.weight, bias=layer.bias, eps=layer.eps)
        else:
            x = layer(x)
    return x


@contextlib.contextmanager
def _no_weight_grad(module):
    """Run ``module`` without recording gradients for its parameters (inputs still get
    theirs): operations recorded inside skip those weight-gradient kernels at backward."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


# --------------------------------------------------------------------------- networks
class DCGANEncoder(nn.Module):
    """DCGAN encoder: ``(n, C, isize, isize) -> (n, n_out, 1, 1)``.

    ``Conv(C -> width, k4 s2 p1) + LeakyReLU(0.2)``, then ``Conv k4 s2 p1 + BatchNorm +
    LeakyReLU(0.2)`` doubling the channels until the map is 4 x 4 (``features``), then
    ``Conv(-> n_out, k4 s1 p0)`` (``head``). No convolution has a bias.

    Parameters
    ----------
    isize : int
        Image side [px], a power of 2 >= 16.
    n_channels : int
    n_out : int
        Output channels (``nz`` for the generator's encoders, 1 for the discriminator).
    width : int
        Channels of the first convolution (``ngf`` / ``ndf``).
    """

    def __init__(self, isize, n_channels, n_out, width):
        super().__init__()
        size, c = _check_isize(isize) // 2, int(width)
        layers = [nn.Conv2d(int(n_channels), c, 4, 2, 1, bias=False),
                  nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]
        while size > 4:
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c),
                       nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]
            c, size = 2 * c, size // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, int(n_out), 4, 1, 0, bias=False)
        self.feature_channels = c

    def forward(self, x, per_image=False):
        """Code of shape ``(n, n_out, 1, 1)``; ``per_image``: see :data:`BN_MODES`."""
        return self.head(_run(self.features, x, per_image))


class DCGANDecoder(nn.Module):
    """DCGAN decoder mirroring :class:`DCGANEncoder`: ``(n, nz, 1, 1) -> (n, C, isize, isize)``.

    ``ConvTranspose(nz -> c, k4 s1 p0) + BatchNorm + ReLU`` (4 x 4, ``c = width * isize / 8``),
    then ``ConvTranspose k4 s2 p1 + BatchNorm + ReLU`` halving the channels until
    ``isize / 2``, then ``ConvTranspose(-> C, k4 s2 p1) + Tanh``: images in [-1, 1].

    Parameters
    ----------
    isize, n_channels : int
    nz : int
        Latent channels.
    width : int
        Channels before the output layer (``ngf``).
    """

    def __init__(self, isize, n_channels, nz, width):
        super().__init__()
        isize = _check_isize(isize)
        c = int(width) * isize // 8
        layers = [nn.ConvTranspose2d(int(nz), c, 4, 1, 0, bias=False), nn.BatchNorm2d(c),
                  nn.ReLU(inplace=True)]
        size = 4
        while size < isize // 2:
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
            c, size = c // 2, 2 * size
        layers += [nn.ConvTranspose2d(c, int(n_channels), 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z, per_image=False):
        """Images of shape ``(n, C, isize, isize)`` in [-1, 1]."""
        return _run(self.main, z, per_image)


class GANomalyGenerator(nn.Module):
    """Encoder -> decoder -> encoder: ``x -> (x_hat, z, z_hat)``.

    Parameters
    ----------
    isize, n_channels, nz, ngf : int
    """

    def __init__(self, isize, n_channels, nz, ngf):
        super().__init__()
        self.encoder1 = DCGANEncoder(isize, n_channels, nz, ngf)
        self.decoder = DCGANDecoder(isize, n_channels, nz, ngf)
        self.encoder2 = DCGANEncoder(isize, n_channels, nz, ngf)

    def forward(self, x, per_image=False):
        """``x_hat`` (n, C, isize, isize), ``z`` and ``z_hat`` (n, nz, 1, 1)."""
        z = self.encoder1(x, per_image)
        x_hat = self.decoder(z, per_image)
        return x_hat, z, self.encoder2(x_hat, per_image)


class GANomalyDiscriminator(nn.Module):
    """The encoder with one output: ``x -> (p_real, features)``.

    ``p_real`` (n,) is a sigmoid probability; ``features`` the last 4 x 4 map
    (n, ndf * isize / 8, 4, 4), e.g. 512 x 4 x 4 at 64 px with ndf = 64.

    Parameters
    ----------
    isize, n_channels, ndf : int
    """

    def __init__(self, isize, n_channels, ndf):
        super().__init__()
        self.encoder = DCGANEncoder(isize, n_channels, 1, ndf)

    def forward(self, x):
        """``(p_real of shape (n,), features of shape (n, c, 4, 4))``."""
        features = self.encoder.features(x)
        return torch.sigmoid(self.encoder.head(features)).flatten(), features


class GANomalyNet(nn.Module):
    """Both players, as one module (what :func:`fit_module` moves and switches train/eval).

    Parameters
    ----------
    isize, n_channels, nz, ngf, ndf : int
    """

    def __init__(self, isize, n_channels, nz=128, ngf=64, ndf=64):
        super().__init__()
        self.generator = GANomalyGenerator(isize, n_channels, nz, ngf)
        self.discriminator = GANomalyDiscriminator(isize, n_channels, ndf)

    def forward(self, x, per_image=False):
        """The generator's ``(x_hat, z, z_hat)``."""
        return self.generator(x, per_image)


def init_dcgan(module, generator):
    """DCGAN initialisation: (transposed) convolutions N(0, 0.02), BatchNorm weight N(1, 0.02),
    bias 0, running statistics reset; drawn from the CPU ``generator`` only.

    Parameters
    ----------
    module : torch.nn.Module
    generator : torch.Generator
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                w = torch.randn(m.weight.shape, generator=generator) * 0.02
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.02 * torch.randn(m.weight.shape, generator=generator))
                m.bias.zero_()
                m.reset_running_stats()


# --------------------------------------------------------------------------- losses
def generator_loss(x, x_hat, z, z_hat, features_real, features_fake, *, w_adv=1.0,
                   w_con=50.0, w_enc=1.0):
    """The generator's loss: ``w_adv * adv + w_con * con + w_enc * enc``.

    Parameters
    ----------
    x, x_hat : Tensor of shape (n, C, H, W)
        Images and their reconstructions.
    z, z_hat : Tensor of shape (n, nz, 1, 1)
        Codes of ``x`` and of ``x_hat``.
    features_real, features_fake : Tensor of shape (n, c, 4, 4)
        Discriminator features of ``x`` and ``x_hat`` (feature matching; the real ones are
        a target: pass them detached).
    w_adv, w_con, w_enc : float
        Weights (the seed's 1, 50, 1).

    Returns
    -------
    total : Tensor, scalar
    parts : dict
        ``adv`` = mean squared feature difference, ``con`` = mean absolute pixel difference,
        ``enc`` = mean squared code difference (scalar tensors, fp32).
    """
    adv = (features_real.float() - features_fake.float()).pow(2).mean()
    con = (x_hat.float() - x.float()).abs().mean()
    enc = (z_hat.float() - z.float()).pow(2).mean()
    return w_adv * adv + w_con * con + w_enc * enc, {"adv": adv, "con": con, "enc": enc}


def discriminator_loss(p_real, p_fake):
    """``0.5 * (BCE(p_real, 1) + BCE(p_fake, 0))`` on sigmoid probabilities.

    As torch's ``BCELoss`` (the seed's), each log is clamped at -100, so a discriminator
    pinned at the wrong answer reads 50: the seed's "saturated" value.

    Parameters
    ----------
    p_real, p_fake : Tensor of shape (n,)

    Returns
    -------
    Tensor, scalar (fp32)
    """
    p_real, p_fake = p_real.float(), p_fake.float()
    return 0.5 * (F.binary_cross_entropy(p_real, torch.ones_like(p_real))
                  + F.binary_cross_entropy(p_fake, torch.zeros_like(p_fake)))


class GANomalyGame(AdversarialGame):
    """GANomaly's two players for :func:`astroad_nb.training.fit_module`.

    Per batch, as the seed: the generator step on ``w_adv * adv + w_con * con + w_enc * enc``,
    then the discriminator step on :func:`discriminator_loss` of the real images and the
    (detached) reconstructions. ``D(x)`` is computed once per batch and shared: the
    generator's feature target is detached (it does not depend on the generator), so the
    gradients equal the seed's, which ran D on ``x`` twice; in the generator step D's own
    weight gradients (which its optimizer would discard) are not computed.

    After each epoch the discriminator is watched (:meth:`end_epoch`):

    * **collapse**: the epoch's mean ``err_d`` < ``d_collapse`` (the seed's rule, 1e-5; the seed
      checked each batch);
    * **saturation**: for ``d_patience`` epochs in a row, ``err_d`` > ``d_saturation`` or D's
      mean outputs on real and on reconstructed images both within ``pin`` of 1 (or both of 0)
      - D pinned, its sigmoid flat, no gradient to either player (the seed's own run: err_d
      stuck at 50 from epoch 4, which its rule never caught).

    Either re-initialises D (:func:`init_dcgan`, a fresh Adam), recorded in
    ``History.events``.

    Parameters
    ----------
    net : GANomalyNet
    w_adv, w_con, w_enc : float, default=1, 50, 1
    betas : tuple of float, default=(0.5, 0.999)
        Adam betas of both players.
    reinit_d : bool, default=True
        Watch and re-initialise the discriminator.
    d_collapse : float, default=1e-5
    d_saturation : float, default=10.0
        A BCE of 10 means p ~ 5e-5 on the wrong side for one of the two classes.
    d_patience : int, default=2
    pin : float, default=1e-3

    Attributes
    ----------
    players : ("generator", "discriminator")
    """

    players = ("generator", "discriminator")
    restore_best = False

    def __init__(self, net, *, w_adv=1.0, w_con=50.0, w_enc=1.0, betas=(0.5, 0.999),
                 reinit_d=True, d_collapse=1e-5, d_saturation=10.0, d_patience=2, pin=1e-3):
        self.net = net
        self.w_adv, self.w_con, self.w_enc = float(w_adv), float(w_con), float(w_enc)
        self.betas = tuple(float(b) for b in betas)
        self.reinit_d = bool(reinit_d)
        self.d_collapse, self.d_saturation = float(d_collapse), float(d_saturation)
        self.d_patience, self.pin = int(d_patience), float(pin)
        self.saturated_epochs = 0

    def parameters(self, player):
        """Generator or discriminator parameters."""
        return getattr(self.net, player).parameters()

    def optimizer_options(self, player):
        """Adam ``betas`` (the seed's (0.5, 0.999)) for both players."""
        return {"betas": self.betas}

    def forward(self, batch):
        """``(x, x_hat, z, z_hat, p_real, features_real)`` for a batch ``(x,)``."""
        x = batch[0]
        x_hat, z, z_hat = self.net.generator(x)
        p_real, f_real = self.net.discriminator(x)
        return x, x_hat, z, z_hat, p_real, f_real

    def loss(self, player, batch, shared):
        """The generator's (``err_g``, ``adv``, ``con``, ``enc``) or the discriminator's
        (``err_d``, ``d_real``, ``d_fake``: mean D outputs) loss and parts."""
        x, x_hat, z, z_hat, p_real, f_real = shared
        if player == "generator":
            # D's weight gradients from this step would be discarded (its optimizer zeroes
            # them before its own step): not computing them gives the same updates, faster
            with _no_weight_grad(self.net.discriminator):
                _, f_fake = self.net.discriminator(x_hat)
            total, parts = generator_loss(x, x_hat, z, z_hat, f_real.detach(), f_fake,
                                          w_adv=self.w_adv, w_con=self.w_con, w_enc=self.w_enc)
            return total, {"err_g": total, **parts}
        p_fake, _ = self.net.discriminator(x_hat.detach())
        err_d = discriminator_loss(p_real, p_fake)
        return err_d, {"err_d": err_d, "d_real": p_real.float().mean(),
                       "d_fake": p_fake.float().mean()}

    def end_epoch(self, epoch, components):
        """``{"discriminator": reason}`` when D collapsed or stayed saturated (see above)."""
        if not self.reinit_d:
            return {}
        err_d, d_real, d_fake = (components[k] for k in ("err_d", "d_real", "d_fake"))
        if err_d < self.d_collapse:
            self.saturated_epochs = 0
            return {"discriminator": f"collapse: err_d {err_d:.3g} < {self.d_collapse:g}"}
        pinned = min(d_real, d_fake) > 1 - self.pin or max(d_real, d_fake) < self.pin
        if err_d > self.d_saturation or pinned:
            self.saturated_epochs += 1
        else:
            self.saturated_epochs = 0
        if self.saturated_epochs >= self.d_patience:
            self.saturated_epochs = 0
            return {"discriminator": (
                f"saturation: err_d {err_d:.3g}, mean D(real) {d_real:.3g}, mean D(fake) "
                f"{d_fake:.3g} for {self.d_patience} epochs")}
        return {}

    def reinitialize(self, player, generator):
        """Fresh DCGAN weights for ``player`` (:func:`init_dcgan`)."""
        init_dcgan(getattr(self.net, player), generator)


# --------------------------------------------------------------------------- estimator
def _as_images(X, where):
    """float32 array (N, C, H, W) from an array, a tensor or an ImageSet."""
    images = getattr(X, "images", X)
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.dtype.kind not in "fiub":
        raise ValueError(f"{where}: expected real-valued pixels, got dtype {images.dtype}.")
    images = images.astype(np.float32, copy=False)
    if images.ndim != 4:
        raise ValueError(
            f"{where}: expected images of shape (N, C, H, W) or an ImageSet, got shape "
            f"{images.shape}. Stack single images with np.stack; convert channels-last arrays "
            "with np.moveaxis(a, -1, 1).")
    if not np.isfinite(images).all():
        raise ValueError(f"{where}: images contain NaN or infinity; replace them first "
                         "(astroad_nb.data.galaxies.replace_nan).")
    return images


class GANomaly(BaseDetector):
    """GANomaly image anomaly detector (the galaxy seed's network, losses and score).

    Trained on (mostly) normal images; the anomaly score is the latent distance between an
    image and its reconstruction, ``A = mean over nz of (z - z_hat)**2``, min-max scaled by
    bounds fixed at fit time.

    Parameters
    ----------
    isize : int, default=64
        Image side [px]: a power of 2 (32, 64, 128, 256); images must be ``isize x isize``.
    nz : int, default=128
        Latent size.
    ngf, ndf : int, default=64
        First-layer channels of the generator / discriminator (the seed builds its
        discriminator with ngf; equal by default).
    epochs : int, default=15
        The seed's default ``niter`` (its SDSS run used 50).
    batch_size : int, default=64
    lr : float, default=2e-4
    beta1 : float, default=0.5
        Adam ``betas = (beta1, 0.999)`` for both players.
    w_adv, w_con, w_enc : float, default=1, 50, 1
        Loss weights (:func:`generator_loss`).
    bn_mode : {"per_image", "eval"}, default="per_image"
        BatchNorm when scoring (:data:`BN_MODES`). ``"per_image"`` is the seed's (train-mode
        BN on batches of one), computed batched and without touching running statistics.
    score_bounds : "train", (float, float) or None, default="train"
        Min-max bounds of A: ``"train"`` = min and max of A over the training images; a pair
        (e.g. :data:`SEED_SCORE_BOUNDS`); None: raw A.
    reinit_d : bool, default=True
        Re-initialise a collapsed or saturated discriminator (:class:`GANomalyGame`).
    d_collapse, d_saturation : float, default=1e-5, 10.0
    d_patience : int, default=2
    precision : {"fp32", "bf16"}, default="fp32"
        Training arithmetic; scores are always fp32.
    score_batch_size : int, default=64
        Images per forward pass when scoring (scores do not depend on it: the same bits from
        16 to 256 here). 64 scored fastest on a 2-core CPU (its activations stay in cache;
        256 was 15-40 % slower); raise it on a GPU.
    memory_format : {"contiguous", "channels_last"}, default="contiguous"
        Layout of the networks' weights and activations (:data:`MEMORY_FORMATS`).
        ``"channels_last"`` (NHWC) runs oneDNN's convolutions without layout reorders (see
        ``tests/benchmarks/bench_ganomaly.py`` for the speed-up measured). Its convolutions sum
        in another order: each step differs from ``"contiguous"`` at float32 rounding level,
        which adversarial training amplifies, so fits are repeatable within a layout but not
        bit-equal across layouts (the default keeps every published run reproducible).
    device : str, default="auto"
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
    contamination : float in (0, 0.5], default=0.1

    Attributes
    ----------
    network_ : GANomalyNet
    history_ : History
        Per-epoch ``err_d``, ``err_g``, ``adv``, ``con``, ``enc``, ``d_real``, ``d_fake`` in
        ``history_.components``; discriminator re-initialisations in ``history_.events``.
    n_channels_ : int
    score_min_, score_max_ : float
        Bounds of A (0 and 1 for ``score_bounds=None``).
    offset_ : float

    Notes
    -----
    Differences from the seed (sound choices): the discriminator is also re-initialised when
    it saturates (the seed's rule, loss < 1e-5, never fired while its D sat at 50), with a
    fresh Adam (the seed kept the old moments); D is built with ``ndf`` (the seed passed
    ``ngf``; equal by default); ``D(x)`` runs once per batch instead of twice (same
    gradients); a one-image last batch is skipped rather than every partial one (the seed's
    ``drop_last``); scoring is batched (``"per_image"`` reproduces its batch-1 train-mode BN
    to float precision) and never updates BatchNorm running statistics; A is min-max scaled
    with bounds fixed at fit time, not by the scored set's own min and max.

    Examples
    --------
    >>> from astroad_nb.data.galaxies import simulate_galaxies  # doctest: +SKIP
    >>> train = simulate_galaxies(200, size=32, random_state=0)  # doctest: +SKIP
    >>> model = GANomaly(isize=32, epochs=2, random_state=0).fit(train)  # doctest: +SKIP
    >>> model.anomaly_score(train).shape  # doctest: +SKIP
    (200,)
    """

    def __init__(self, isize=64, nz=128, ngf=64, ndf=64, *, epochs=15, batch_size=64, lr=2e-4,
                 beta1=0.5, w_adv=1.0, w_con=50.0, w_enc=1.0, bn_mode="per_image",
                 score_bounds="train", reinit_d=True, d_collapse=1e-5, d_saturation=10.0,
                 d_patience=2, precision="fp32", score_batch_size=64,
                 memory_format="contiguous", device="auto", random_state=None, verbose=0,
                 contamination=0.1):
        self.isize = isize
        self.nz = nz
        self.ngf = ngf
        self.ndf = ndf
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta1 = beta1
        self.w_adv = w_adv
        self.w_con = w_con
        self.w_enc = w_enc
        self.bn_mode = bn_mode
        self.score_bounds = score_bounds
        self.reinit_d = reinit_d
        self.d_collapse = d_collapse
        self.d_saturation = d_saturation
        self.d_patience = d_patience
        self.precision = precision
        self.score_batch_size = score_batch_size
        self.memory_format = memory_format
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        _check_isize(self.isize)
        for name in ("nz", "ngf", "ndf", "epochs", "batch_size", "score_batch_size",
                     "d_patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"GANomaly {name} must be a positive int, got {value!r}.")
        if self.bn_mode not in BN_MODES:
            raise ValueError(f"GANomaly bn_mode must be one of {BN_MODES}, got {self.bn_mode!r}.")
        if self.memory_format not in MEMORY_FORMATS:
            raise ValueError(f"GANomaly memory_format must be one of {MEMORY_FORMATS}, got "
                             f"{self.memory_format!r}.")
        b = self.score_bounds
        if not (b is None or (isinstance(b, str) and b == "train")):
            if len(b) != 2 or not float(b[0]) < float(b[1]):
                raise ValueError("GANomaly score_bounds must be 'train', None or (min, max) "
                                 f"with min < max, got {b!r}.")
        from astroad_nb.training import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")

    def _images(self, X, *, reset):
        images = _as_images(X, f"{type(self).__name__}.{'fit' if reset else 'score'}")
        size = int(self.isize)
        if images.shape[2:] != (size, size):
            raise ValueError(
                f"GANomaly(isize={size}) needs {size} x {size} images, got "
                f"{images.shape[2]} x {images.shape[3]}; read or simulate them at that size "
                f"(read_image_folder(size={size}), simulate_galaxies(size={size})) or set "
                "isize.")
        if reset:
            self.n_channels_ = images.shape[1]
        elif images.shape[1] != self.n_channels_:
            raise ValueError(f"GANomaly was fitted on {self.n_channels_}-channel images, got "
                             f"{images.shape[1]} channels.")
        return images

    def _build_network(self, n_channels):
        return GANomalyNet(int(self.isize), int(n_channels), int(self.nz), int(self.ngf),
                           int(self.ndf))

    def _layout(self, net):
        """``net`` in :attr:`memory_format` (convolutions then keep that layout)."""
        if self.memory_format == "channels_last":
            return net.to(memory_format=torch.channels_last)
        return net

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Train on (mostly normal) images.

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet
            Pixels in [-1, 1] (the seed's transform).
        y : ignored

        Returns
        -------
        self
        """
        self._check_contamination()
        self._check_params()
        images = self._images(X, reset=True)
        if images.shape[0] < 2:
            raise ValueError(f"GANomaly needs at least 2 images to fit, got {images.shape[0]}.")
        rng = check_random_state(self.random_state)
        self.device_ = str(resolve_device(self.device))
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            net = self._build_network(self.n_channels_)
        init_dcgan(net, torch.Generator().manual_seed(torch_seed(rng)))
        net = self._layout(net)
        self.network_ = net
        game = GANomalyGame(net, w_adv=self.w_adv, w_con=self.w_con, w_enc=self.w_enc,
                            betas=(self.beta1, 0.999), reinit_d=self.reinit_d,
                            d_collapse=self.d_collapse, d_saturation=self.d_saturation,
                            d_patience=self.d_patience)
        self.history_ = fit_module(
            net, game, (images,), val_fraction=0.0, epochs=int(self.epochs),
            batch_size=int(self.batch_size), lr=self.lr, weight_decay=0.0, patience=None,
            precision=self.precision, device=self.device_, random_state=torch_seed(rng),
            verbose=self.verbose, desc="GANomaly")
        raw = self.raw_score(images)
        if self.score_bounds is None:
            self.score_min_, self.score_max_ = 0.0, 1.0
        elif isinstance(self.score_bounds, str):
            self.score_min_, self.score_max_ = float(raw.min()), float(raw.max())
            if not self.score_max_ > self.score_min_:
                self.score_max_ = self.score_min_ + 1.0  # every training A equal
        else:
            self.score_min_, self.score_max_ = (float(v) for v in self.score_bounds)
        self.offset_ = float(np.quantile(-self._scale(raw), self.contamination))
        return self

    # ------------------------------------------------------------------ inference
    def _infer(self, X, fn):
        """``fn(x_hat, z, z_hat, x)`` over chunks of ``X`` (float64 numpy), in inference mode;
        weights and BatchNorm running statistics are never changed."""
        check_is_fitted(self, "network_")
        images = self._images(X, reset=False)
        net = self.network_.generator
        net.eval()
        per_image = self.bn_mode == "per_image"
        size = int(self.score_batch_size)
        outs = []
        with torch.inference_mode():
            for start in range(0, images.shape[0], size):
                x = torch.from_numpy(images[start:start + size]).to(self.device_)
                x_hat, z, z_hat = net(x, per_image)
                outs.append(fn(x_hat, z.flatten(1), z_hat.flatten(1), x).to("cpu"))
        if not outs:
            return np.zeros((0,), dtype=np.float64)
        return torch.cat(outs).numpy()

    def raw_score(self, X):
        """``A = mean over nz of (z - z_hat)**2``, unscaled: higher = more anomalous.

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet

        Returns
        -------
        ndarray of shape (N,), float64
        """
        return self._infer(X, lambda x_hat, z, z_hat, x: (z - z_hat).pow(2).mean(1).double())

    def _scale(self, raw):
        return (raw - self.score_min_) / (self.score_max_ - self.score_min_)

    def score_samples(self, X):
        """Minus the min-max scaled A: lower = more abnormal (scikit-learn convention).

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet

        Returns
        -------
        ndarray of shape (N,), float64
        """
        check_is_fitted(self, "offset_")
        return -self._scale(self.raw_score(X))

    def reconstruct(self, X):
        """The generator's reconstructions ``x_hat``, in [-1, 1].

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet

        Returns
        -------
        ndarray of shape (N, C, isize, isize), float32
        """
        return self._infer(X, lambda x_hat, z, z_hat, x: x_hat.float())

    def residuals(self, X):
        """``X - reconstruct(X)`` (signed).

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet

        Returns
        -------
        ndarray of shape (N, C, isize, isize), float32
        """
        return self._infer(X, lambda x_hat, z, z_hat, x: (x - x_hat).float())

    def latent(self, X, *, of="input"):
        """Latent codes: ``z`` of the images (``of="input"``) or ``z_hat`` of their
        reconstructions (``of="reconstruction"``).

        Parameters
        ----------
        X : ndarray of shape (N, C, isize, isize) or ImageSet
        of : {"input", "reconstruction"}, default="input"

        Returns
        -------
        ndarray of shape (N, nz), float32
        """
        if of not in ("input", "reconstruction"):
            raise ValueError(f"of must be 'input' or 'reconstruction', got {of!r}.")
        if of == "input":
            return self._infer(X, lambda x_hat, z, z_hat, x: z.float())
        return self._infer(X, lambda x_hat, z, z_hat, x: z_hat.float())

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "offset_")
        return {"feature_names": None,
                "attrs": {"n_channels": int(self.n_channels_), "offset": float(self.offset_),
                          "score_min": float(self.score_min_),
                          "score_max": float(self.score_max_),
                          "history": history_to_json(getattr(self, "history_", None))},
                "arrays": {}, "state_dicts": {"network": self.network_.state_dict()},
                "children": {}}

    def _set_state(self, state):
        attrs = state["attrs"]
        self.n_channels_ = int(attrs["n_channels"])
        self.offset_ = float(attrs["offset"])
        self.score_min_, self.score_max_ = float(attrs["score_min"]), float(attrs["score_max"])
        self.device_ = str(resolve_device(self.device))
        with torch.random.fork_rng(devices=[]):
            self.network_ = self._build_network(self.n_channels_)
        self.network_.load_state_dict(state["state_dicts"]["network"])
        self.network_ = self._layout(self.network_.to(self.device_)).eval()
        self.history_ = history_from_json(attrs.get("history"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # images (N, C, H, W)
        tags.input_tags.three_d_array = True
        return tags

