"""The one torch fit loop every torch model of astroad_nb uses.

:func:`fit_module` owns batching, the optimizer step (``zero_grad/backward/step``), device
placement, a local :class:`torch.Generator`, the validation split (:func:`validation_split`),
early stopping with best-weight restore (:class:`EarlyStopping`, on the validation loss or on a
caller's ``monitor`` score) and the ``tqdm.auto`` progress bar. Models only supply a network and
a loss. :func:`predict_batches` is the matching inference helper.

Speed notes (why the loop looks the way it does): the whole training set is moved to the device
once and mini-batches are cut by indexing with a per-epoch permutation, so there is no
``DataLoader``/collate overhead per batch; losses are accumulated on the device and synchronised
once per epoch; Adam uses its fused/foreach kernel.
"""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["PRECISIONS", "AdversarialGame", "BatchSource", "EarlyStopping", "History",
           "fit_module",
           "history_from_json", "history_to_json", "mixed_precision", "predict_batches",
           "resolve_device", "torch_seed", "validation_split"]


@dataclass
class History:
    """What happened during one call of :func:`fit_module`.

    Attributes
    ----------
    train_loss : list of float
        Mean training loss per epoch (weighted by batch size).
    val_loss : list of float
        Mean validation loss per epoch (empty when there was no validation split).
    best_epoch : int
        0-based epoch whose weights were kept (lowest monitored loss, or best ``monitor``
        value; -1: the weights before training, see ``monitor_initial``).
    epochs_run : int
        Number of epochs actually run.
    stopped_early : bool
        True when ``patience`` ended training before ``epochs``.
    seconds : float
        Wall-clock training time in seconds.
    device : str
        Device the module was trained on (``"cpu"``, ``"cuda:0"``...).
    desc : str or None
        Label of the stage (e.g. ``"pretrain"``), shown in the progress bar and plots.
    eval_scores : list
        What ``monitor`` returned at each epoch (a float or a dict of scores); empty without
        a monitor.
    learning_rates : list of float
        Learning rate after each epoch when ``lr_plateau`` lowers it; empty otherwise.
    stages : dict of str -> History
        Earlier stages of the same fit (e.g. Deep SVDD's ``"pretrain"``), so that a model's
        ``history_`` is always one History: its final stage, with the others attached.
    components : dict of str -> list of float
        Two-player (:class:`AdversarialGame`) fits only: the epoch mean of every loss part the
        game reports (GANomaly: ``err_d``, ``err_g``, ``adv``, ``con``, ``enc``...); empty
        otherwise.
    events : list of dict
        Two-player fits only: one ``{"epoch", "player", "action", "reason"}`` per
        re-initialised player (e.g. a collapsed or saturated discriminator); empty otherwise.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    device: str = "cpu"
    desc: str | None = None
    eval_scores: list = field(default_factory=list)
    stages: dict = field(default_factory=dict)
    learning_rates: list = field(default_factory=list)
    components: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    def to_dict(self):
        """JSON-safe dict of every attribute (extras set by a model included).

        Returns
        -------
        dict
        """
        out = {k: _jsonable_value(v) for k, v in vars(self).items() if k != "stages"}
        out["stages"] = {str(name): h.to_dict() for name, h in self.stages.items()}
        return out

    @classmethod
    def from_dict(cls, data):
        """Rebuild a history written by :meth:`to_dict`.

        Parameters
        ----------
        data : dict

        Returns
        -------
        History
        """
        names = set(cls.__dataclass_fields__) - {"stages"}
        history = cls(**{k: v for k, v in data.items() if k in names})
        history.stages = {name: cls.from_dict(h) for name, h in
                          (data.get("stages") or {}).items()}
        names.add("stages")
        for key, value in data.items():
            if key not in names:
                setattr(history, key, value)
        return history

    def to_frame(self):
        """Return the history as a DataFrame.

        Returns
        -------
        pandas.DataFrame
            Columns ``epoch`` (int, 0-based), ``train_loss``, ``val_loss`` (NaN where no
            validation split was used), then one column per entry of ``components`` (two-player
            fits); one row per epoch run.
        """
        import pandas as pd

        n = len(self.train_loss)
        val = list(self.val_loss) + [np.nan] * (n - len(self.val_loss))
        frame = pd.DataFrame(
            {"epoch": np.arange(n), "train_loss": np.asarray(self.train_loss, float),
             "val_loss": np.asarray(val, float)}
        )
        for name, values in self.components.items():
            frame[name] = np.asarray(list(values) + [np.nan] * (n - len(values)), float)[:n]
        return frame


def _jsonable_value(value):
    """Numbers, lists and dicts as plain JSON types (numpy scalars/arrays converted)."""
    if isinstance(value, dict):
        return {str(k): _jsonable_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def history_to_json(history):
    """Turn a model's ``history_`` (None or a History) into JSON-safe data.

    Parameters
    ----------
    history : None or History

    Returns
    -------
    None or dict
        ``History.to_dict()``.
    """
    if history is None:
        return None
    return history.to_dict()


def history_from_json(data):
    """Inverse of :func:`history_to_json`.

    Parameters
    ----------
    data : None or dict

    Returns
    -------
    None or History
        Folders saved before ``History.stages`` existed hold ``{"stages": {name: ...}}`` for
        two-stage models: their last stage comes back with the earlier ones in ``stages``.
    """
    if data is None:
        return None
    if "train_loss" not in data and "stages" in data:  # the earlier dict-of-stages form
        stages = {name: History.from_dict(h) for name, h in data["stages"].items()}
        last = stages.pop(list(stages)[-1])
        last.stages = stages
        return last
    return History.from_dict(data)


def resolve_device(device="auto"):
    """Turn ``"auto"`` into CUDA when available, else CPU.

    Parameters
    ----------
    device : str or torch.device, default="auto"

    Returns
    -------
    torch.device
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def torch_seed(random_state):
    """Draw a 31-bit seed for a local :class:`torch.Generator` from ``random_state``.

    Parameters
    ----------
    random_state : int, numpy.random.RandomState or None
        ``None`` gives a fresh, non-repeatable seed.

    Returns
    -------
    int
    """
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1))


class BatchSource(ABC):
    """Base class of batch generators for :func:`fit_module` (episodic / meta-training).

    Subclasses implement :meth:`batches` (abstract: a subclass without it cannot be
    instantiated); ``fit_module`` calls it once per epoch with its local
    :class:`torch.Generator`, so sampled episodes are repeatable from ``random_state``.
    Any callable ``source(generator) -> iterable of batches`` is accepted as well.
    """

    @abstractmethod
    def batches(self, generator):
        """Yield the batches of one epoch.

        Parameters
        ----------
        generator : torch.Generator
            CPU generator owned by the fit loop; draw every random choice from it.

        Yields
        ------
        tuple of torch.Tensor
            One batch; the first tensor's first dimension is the batch size. Tensors may live
            on the CPU: the loop moves them to the training device.
        """

    def __call__(self, generator):
        return self.batches(generator)


def _is_source(data):
    return isinstance(data, BatchSource) or (
        callable(data) and not isinstance(data, (torch.Tensor, np.ndarray)))


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        batch = (batch,)
    return tuple(t.to(device, non_blocking=True) for t in batch)


def _as_tensors(train_data, device):
    if isinstance(train_data, (torch.Tensor, np.ndarray)):
        train_data = (train_data,)
    tensors = []
    for item in train_data:
        t = torch.as_tensor(item)
        if t.is_floating_point():
            t = t.to(dtype=torch.float32)
        tensors.append(t.to(device))
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(
            "All tensors in train_data must have the same first dimension, got "
            f"{[tuple(t.shape) for t in tensors]}.")
    return tuple(tensors), n


# --------------------------------------------------------------------------- training data
def validation_split(tensors, val_fraction, generator):
    """Hold out a random ``val_fraction`` of the rows of ``tensors`` for validation.

    Parameters
    ----------
    tensors : tuple of torch.Tensor
        Arrays sharing their first dimension ``n`` (rows), all on one device.
    val_fraction : float
        ``floor(n * val_fraction)`` rows are held out; none when that would leave fewer than
        2 training rows (BatchNorm needs 2 rows per training batch).
    generator : torch.Generator
        CPU generator the permutation of the rows is drawn from (one ``randperm(n)`` draw,
        whether or not rows are held out).

    Returns
    -------
    train : tuple of torch.Tensor
        The remaining rows, in permuted order.
    val : tuple of torch.Tensor or None
        The held-out rows; None when none are held out.
    """
    n = tensors[0].shape[0]
    n_val = int(np.floor(n * val_fraction)) if val_fraction else 0
    if n - n_val < 2:
        n_val = 0
    order = torch.randperm(n, generator=generator).to(tensors[0].device)
    val_idx, train_idx = order[:n_val], order[n_val:]
    val = tuple(t.index_select(0, val_idx) for t in tensors) if n_val else None
    return tuple(t.index_select(0, train_idx) for t in tensors), val


class _RowData:
    """Arrays moved to the device once; each epoch cuts batches from a fresh permutation.

    With ``sample_weight`` each epoch instead draws ``n_train`` rows with replacement, with
    probabilities proportional to the weights (a weighted random sampler); the weights are
    split with the rows, so the validation rows stay the unweighted ones.
    """

    def __init__(self, train_data, *, val_fraction, batch_size, generator, device,
                 sample_weight=None):
        tensors, n = _as_tensors(train_data, device)
        if n == 0:
            raise ValueError("train_data has no rows; fit needs at least 2 samples.")
        self.weights = None
        if sample_weight is not None:
            w = torch.as_tensor(np.asarray(sample_weight, dtype=np.float64))
            if w.ndim != 1 or w.shape[0] != n:
                raise ValueError(f"sample_weight must have one weight per row of train_data "
                                 f"({n}), got shape {tuple(w.shape)}.")
            if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
                raise ValueError("sample_weight must be finite, >= 0 and not all zero.")
            tensors = (*tensors, w.to(tensors[0].device))
        # the same single randperm draw with or without weights: the split is unchanged
        self.train, self.val = validation_split(tensors, val_fraction, generator)
        if sample_weight is not None:
            self.weights = self.train[-1].cpu()
            self.train = self.train[:-1]
            self.val = None if self.val is None else self.val[:-1]
            if float(self.weights.sum()) <= 0:
                raise ValueError("sample_weight is zero on every training row after the "
                                 "validation split.")
        self.n_train = self.train[0].shape[0]
        self.batch_size = max(1, min(int(batch_size), self.n_train))

    def batches(self, generator):
        """The training batches of one epoch (a 1-row remainder is skipped: BatchNorm)."""
        if self.weights is not None:
            perm = torch.multinomial(self.weights, self.n_train, replacement=True,
                                     generator=generator).to(self.train[0].device)
        else:
            perm = torch.randperm(self.n_train, generator=generator).to(self.train[0].device)
        size = self.batch_size
        return (tuple(t.index_select(0, idx) for t in self.train)
                for idx in (perm[s:s + size] for s in range(0, self.n_train, size))
                if idx.numel() >= 2 or self.n_train < 2)

    def val_loss(self, module, loss_fn):
        """Mean validation loss, or None without a validation split."""
        if self.val is None:
            return None
        return _evaluate(module, loss_fn, self.val, batch_size=max(self.batch_size, 4096))


class _SourceData:
    """A BatchSource sampling fresh batches each epoch; validation batches drawn once."""

    def __init__(self, source, val_data, *, seed, device):
        self.source, self.device = source, device
        if val_data is not None and _is_source(val_data):  # same validation batches each epoch
            val_data = val_data(torch.Generator(device="cpu").manual_seed(seed + 1))
        self.val = None if val_data is None else [_to_device(b, device) for b in val_data]

    def batches(self, generator):
        """The training batches of one epoch, moved to the device."""
        return (_to_device(b, self.device) for b in self.source(generator))

    def val_loss(self, module, loss_fn):
        """Mean validation loss, or None without validation batches."""
        if self.val is None:
            return None
        return _evaluate_batches(module, loss_fn, self.val)


def _adam(params, lr, weight_decay, **options):
    kwargs = {"lr": lr, "weight_decay": weight_decay, **options}  # options: a game's betas
    try:  # fused Adam: one kernel per step instead of one per parameter
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **kwargs)


def _train_epoch(module, loss_fn, batches, optimizer, params, *, autocast, clip_grad_norm,
                 device):
    """One pass of optimizer steps over ``batches``; mean training loss (batch-size weighted)."""
    module.train()
    total = torch.zeros((), device=device)  # summed on the device: one sync per epoch
    seen = 0
    for batch in batches:
        rows = batch[0].shape[0]
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(batch)
        loss.backward()
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        total += loss.detach() * rows
        seen += rows
    return float(total) / max(seen, 1)


# --------------------------------------------------------------------------- two players
class AdversarialGame(ABC):
    """Base class of a two-player (adversarial) loss for :func:`fit_module`.

    Pass an instance as ``loss_fn``: the loop then keeps one Adam optimizer per player and,
    for every batch, calls :meth:`forward` once and then, player after player (in
    :attr:`players` order), ``zero_grad`` -> :meth:`loss` -> ``backward`` -> ``step``, so a
    later player's loss sees the earlier players' updated weights only through what it
    recomputes. After each epoch :meth:`end_epoch` (the re-initialisation hook) may name
    players to restart: the loop calls :meth:`reinitialize` with its generator, gives that
    player a fresh optimizer (no stale Adam moments) and records the event in
    ``History.events``. Every loss part a player reports is averaged per epoch into
    ``History.components``; ``History.train_loss`` is the first player's loss.

    Subclasses set :attr:`players` and implement the abstract :meth:`parameters`,
    :meth:`forward`, :meth:`loss` and :meth:`reinitialize` (an incomplete subclass cannot be
    instantiated). Calling the game on a batch (validation) returns the first player's loss.

    Attributes
    ----------
    players : tuple of str
        Player names, in update order.
    restore_best : bool
        False (default): the last epoch's weights are kept, since adversarial losses do not
        measure model quality; True restores the epoch with the lowest first-player loss,
        as for ordinary losses.
    """

    players: tuple = ("generator", "discriminator")
    restore_best: bool = False

    @abstractmethod
    def parameters(self, player):
        """Parameters the optimizer of ``player`` updates (an iterable of Parameter)."""

    def optimizer_options(self, player):
        """Extra keyword arguments of ``player``'s ``torch.optim.Adam`` (e.g. ``betas``)."""
        return {}

    @abstractmethod
    def forward(self, batch):
        """Forward pass shared by the players' losses of one batch (any object)."""

    @abstractmethod
    def loss(self, player, batch, shared):
        """``(scalar tensor, dict of name -> scalar tensor)``: ``player``'s loss and its parts."""

    def end_epoch(self, epoch, components):
        """Re-initialisation hook, called after each epoch.

        Parameters
        ----------
        epoch : int
            0-based.
        components : dict of str -> float
            This epoch's means of the loss parts.

        Returns
        -------
        dict of str -> str
            ``{player: reason}`` for each player to re-initialise (default: none).
        """
        return {}

    @abstractmethod
    def reinitialize(self, player, generator):
        """Draw fresh weights for ``player`` from the CPU ``generator``."""

    def __call__(self, batch):
        shared = self.forward(batch)
        return self.loss(self.players[0], batch, shared)[0]


def _play_epoch(game, module, batches, optimizers, *, autocast, clip_grad_norm):
    """One epoch of alternating player steps; (mean loss per player, mean loss parts)."""
    module.train()
    totals, parts_total, seen = {}, {}, 0
    for batch in batches:
        rows = batch[0].shape[0]
        with autocast():
            shared = game.forward(batch)
        for player in game.players:
            optimizers[player].zero_grad(set_to_none=True)
            with autocast():
                loss, parts = game.loss(player, batch, shared)
            loss.backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(list(game.parameters(player)), clip_grad_norm)
            optimizers[player].step()
            totals[player] = totals.get(player, 0.0) + loss.detach().float() * rows
            for name, value in parts.items():
                parts_total[name] = parts_total.get(name, 0.0) + value.detach().float() * rows
        seen += rows
    seen = max(seen, 1)
    return ({k: float(v) / seen for k, v in totals.items()},
            {k: float(v) / seen for k, v in parts_total.items()})


def _game_optimizers(game, lr, weight_decay, players=None):
    return {p: _adam(list(game.parameters(p)), lr, weight_decay, **game.optimizer_options(p))
            for p in (game.players if players is None else players)}


def _game_epoch(game, module, batches, optimizers, history, epoch, generator, *, lr,
                weight_decay, autocast, clip_grad_norm):
    """Play one epoch, record its loss parts, run the re-initialisation hook; first loss."""
    losses, parts = _play_epoch(game, module, batches, optimizers, autocast=autocast,
                                clip_grad_norm=clip_grad_norm)
    for name, value in parts.items():
        history.components.setdefault(name, []).append(value)
    for player, reason in (game.end_epoch(epoch, parts) or {}).items():
        game.reinitialize(player, generator)
        optimizers.update(_game_optimizers(game, lr, weight_decay, [player]))
        history.events.append({"epoch": epoch, "player": player, "action": "reinitialized",
                               "reason": str(reason)})
    return losses[game.players[0]]


# --------------------------------------------------------------------------- the loop
class EarlyStopping:
    """Track the best score of a run, its epoch and a copy of its weights; say when to stop.

    Parameters
    ----------
    patience : int or None, default=10
        :attr:`should_stop` becomes True after this many updates in a row without
        improvement; None never stops.
    mode : {"min", "max"}, default="min"
        ``"min"``: lower is better (a loss); ``"max"``: higher is better (a score).
    min_delta : float, default=0.0
        An improvement must beat the best score by more than this.

    Attributes
    ----------
    best_score : float
        Best score so far (``inf`` for "min" / ``-inf`` for "max" before any improvement).
    best_epoch : int or None
        Epoch of ``best_score``; None before any improvement.
    best_state : dict or None
        Deep copy of the module's ``state_dict()`` at ``best_epoch``.
    bad_epochs : int
        Updates since the last improvement.

    Examples
    --------
    >>> stopper = EarlyStopping(patience=2, mode="max")
    >>> net = torch.nn.Linear(2, 1)
    >>> [stopper.update(s, net, epoch) for epoch, s in enumerate([0.5, 0.7, 0.6, 0.7])]
    [True, True, False, False]
    >>> stopper.best_epoch, stopper.should_stop
    (1, True)
    """

    def __init__(self, patience=10, *, mode="min", min_delta=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        self.patience = patience
        self.mode = mode
        self.min_delta = float(min_delta)
        self.best_score = np.inf if mode == "min" else -np.inf
        self.best_epoch = None
        self.best_state = None
        self.bad_epochs = 0

    def improves(self, score):
        """Whether ``score`` beats the best one by more than ``min_delta`` (NaN never does)."""
        if self.mode == "min":
            return score < self.best_score - self.min_delta
        return score > self.best_score + self.min_delta

    def update(self, score, module, epoch):
        """Record the score of ``epoch``; keep a copy of ``module``'s weights if it is the best.

        Parameters
        ----------
        score : float
        module : torch.nn.Module
        epoch : int
            0-based; -1 stands for the weights before training.

        Returns
        -------
        bool
            True when ``score`` improved on the best one.
        """
        if not self.improves(score):
            self.bad_epochs += 1
            return False
        self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
        self.best_state = copy.deepcopy(module.state_dict())
        return True

    @property
    def should_stop(self):
        """True once ``patience`` updates in a row brought no improvement."""
        return self.patience is not None and self.bad_epochs >= self.patience

    def restore(self, module):
        """Load the best weights into ``module`` (nothing when no update improved).

        Returns
        -------
        bool
            True when weights were loaded.
        """
        if self.best_state is None:
            return False
        module.load_state_dict(self.best_state)
        return True


def _monitored_value(value, key, desc):
    """The float that early stopping compares in a monitor's return value."""
    if not isinstance(value, dict):
        return float(value)
    if key is None or key not in value:
        raise ValueError(
            f"{desc or 'fit_module'}: the monitor returned scores {sorted(value)}; name the one "
            f"to monitor with monitor_key= (got {key!r}).")
    return float(value[key])


def fit_module(
    module: torch.nn.Module,
    loss_fn: Callable[[tuple], torch.Tensor],
    train_data,
    *,
    val_fraction: float = 0.1,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-6,
    patience: int | None = 10,
    params: Iterable[torch.nn.Parameter] | None = None,
    on_epoch_end: Callable[[int, History], bool | None] | None = None,
    clip_grad_norm: float | None = None,
    val_data=None,
    sample_weight=None,
    monitor: Callable[[torch.nn.Module, int], float | dict] | None = None,
    monitor_key: str | None = None,
    monitor_initial: bool = False,
    min_delta: float = 0.0,
    lr_plateau: dict | None = None,
    precision: str = "fp32",
    device="auto",
    random_state=None,
    verbose: int = 0,
    desc: str | None = None,
) -> History:
    """Train ``module`` by minimising ``loss_fn`` over mini-batches of ``train_data``.

    Parameters
    ----------
    module : torch.nn.Module
        Network to train; it is moved to ``device`` and left in eval mode with the best weights.
    loss_fn : callable
        ``loss_fn(batch) -> scalar tensor`` where ``batch`` is a tuple of tensors, one per item
        of ``train_data``, each of shape ``(batch, ...)``, already on the device. It should use
        ``module`` (typically a closure) and may check ``module.training`` to behave
        deterministically on the validation split. Anything that must stay fixed (a Deep SVDD
        centre) belongs in a buffer or a closure variable, not in ``params``.
        Or an :class:`AdversarialGame` (two-player training, e.g. GANomaly): one optimizer
        per player, the players' steps in turn on every batch, its re-initialisation hook
        after every epoch, loss parts in ``History.components`` and re-initialisations in
        ``History.events``; ``params`` must then be None.
    train_data : array-like, tensor, sequence of them, or BatchSource
        ``(n_samples, ...)`` arrays sharing their first dimension (e.g. ``(X,)`` or ``(X, y)``).
        Floating arrays are cast to float32. Or a :class:`BatchSource` (or any callable
        ``source(generator) -> iterable of batches``) that samples fresh batches each epoch
        (episodic meta-training); ``batch_size`` and ``val_fraction`` are then ignored.
    val_fraction : float, default=0.1
        Fraction of rows held out (at random, :func:`validation_split`) to monitor early
        stopping. When it gives fewer than one row, the training loss is monitored instead.
    epochs : int, default=100
        Maximum number of passes over the training rows.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=1e-6
        Adam L2 penalty.
    patience : int or None, default=10
        Stop after this many epochs without improvement of the monitored value; None disables.
        The weights of the best epoch are restored either way.
    params : iterable of Parameter, optional
        Parameters to optimise (default: every parameter of ``module`` that requires grad).
        Lets multi-stage models (VaDE pre-training) train a sub-set with the same loop.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, history)`` called after each epoch; returning True stops training.
    clip_grad_norm : float, optional
        Rescale the gradients so that their global L2 norm is at most this value before each
        optimizer step (``torch.nn.utils.clip_grad_norm_``); None (default) does not clip.
    val_data : BatchSource, callable or sequence of batches, optional
        Only with a ``BatchSource`` ``train_data``: validation batches, drawn once (from a
        generator seeded by ``random_state``) and re-used every epoch to monitor early stopping.
        Without it the training loss is monitored.
    sample_weight : array-like of shape (n_samples,), optional
        Only with array ``train_data``: a weighted random sampler. Each epoch draws as many
        rows as the training split holds, with replacement, each with probability
        proportional to its weight, from the fit loop's generator (as torch's
        ``WeightedRandomSampler``; inverse class frequencies balance classes). None
        (default): every row once per epoch in a random order.
    monitor : callable, optional
        ``monitor(module, epoch) -> float or dict of float``, called at the end of each epoch
        with ``module`` in eval mode; **higher is better**. It replaces the (validation) loss
        as the early-stopping criterion (``patience``, best-weight restore); the losses are
        still recorded. Its return values are kept in ``History.eval_scores``. Typically a
        closure scoring a labelled evaluation set with a task metric.
    monitor_key : str, optional
        Which entry of a dict returned by ``monitor`` is monitored (required then; ignored for
        a float).
    monitor_initial : bool, default=False
        Also score the weights ``module`` has before training (as epoch -1, not recorded in
        ``eval_scores``): they are kept when no epoch beats them, so fine-tuning never ends
        worse on the monitor than it began. Needs ``monitor``.
    min_delta : float, default=0.0
        Smallest change of the monitored value that counts as an improvement.
    lr_plateau : dict, optional
        Lower the learning rate when the epoch's training loss stops falling:
        :class:`torch.optim.lr_scheduler.ReduceLROnPlateau` with these keywords (e.g. the
        stream seed's ``{"patience": 5, "min_lr": 1e-7}``), stepped on the training loss as the
        seed does; the rates land in ``History.learning_rates``. None (default): a constant rate.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the forward passes (training and validation) under
        :func:`torch.autocast` with bfloat16: matrix products in bf16 with fp32 accumulation,
        weights, gradients and optimizer state stay fp32 (mixed precision). About 1.5x faster
        on CPUs with AVX512-BF16 / AMX and on recent GPUs; losses should cast network outputs
        to fp32 before reducing them.
    device : str or torch.device, default="auto"
        ``"auto"`` picks CUDA when present, else CPU.
    random_state : int, RandomState or None
        Seeds the local generator used for the split and the batch order (never the global one).
    verbose : int, default=0
        0 is silent; 1 shows a ``tqdm.auto`` bar over epochs with the current losses.
    desc : str, optional
        Label of this stage (progress bar and ``History.desc``).

    Returns
    -------
    History
        Per-epoch losses (and monitor values), best epoch, run time and device.

    Raises
    ------
    ValueError
        If ``train_data`` is empty or its arrays disagree in length, a loss is not finite,
        ``monitor_initial`` is set without ``monitor``, or ``monitor`` returns a dict
        without ``monitor_key``.

    Examples
    --------
    Early stopping on a task score instead of the loss (here minus the mean absolute error
    of a fixed evaluation set):

    >>> X = torch.randn(64, 3); y = X.sum(1, keepdim=True)
    >>> net = torch.nn.Linear(3, 1)
    >>> def mse(batch):
    ...     return ((net(batch[0]) - batch[1]) ** 2).mean()
    >>> def score(module, epoch):
    ...     with torch.no_grad():
    ...         return {"neg_mae": -float((module(X) - y).abs().mean())}
    >>> hist = fit_module(net, mse, (X, y), epochs=5, lr=0.1, monitor=score,
    ...                   monitor_key="neg_mae", device="cpu", random_state=0)
    >>> len(hist.eval_scores), hist.epochs_run
    (5, 5)
    """
    start = time.perf_counter()
    device = resolve_device(device)
    autocast = mixed_precision(device, precision)
    if monitor_initial and monitor is None:
        raise ValueError("monitor_initial=True needs a monitor to score the initial weights.")
    module.to(device)
    source = train_data if _is_source(train_data) else None
    if source is None and val_data is not None:
        raise ValueError("val_data is only used with a BatchSource train_data; for arrays use "
                         "val_fraction.")
    if source is not None and sample_weight is not None:
        raise ValueError("sample_weight is only used with array train_data; a BatchSource "
                         "samples its own batches.")
    seed = torch_seed(random_state)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if source is None:
        data = _RowData(train_data, val_fraction=val_fraction, batch_size=batch_size,
                        generator=generator, device=device, sample_weight=sample_weight)
    else:
        data = _SourceData(source, val_data, seed=seed, device=device)
    game = loss_fn if isinstance(loss_fn, AdversarialGame) else None
    if game is not None:
        if params is not None:
            raise ValueError("params is not used with an AdversarialGame loss; its "
                             "parameters(player) names each player's parameters.")
        optimizers = _game_optimizers(game, lr, weight_decay)
    else:
        params = ([p for p in module.parameters() if p.requires_grad] if params is None
                  else list(params))
        optimizer = _adam(params, lr, weight_decay)

    scheduler = None
    if lr_plateau is not None:
        if game is not None:
            raise ValueError("lr_plateau is not used with an AdversarialGame loss.")
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min",
                                                               **dict(lr_plateau))
    history = History(device=str(device), desc=desc)
    stopper = EarlyStopping(patience, mode="min" if monitor is None else "max",
                            min_delta=min_delta)
    if monitor_initial:
        module.eval()
        stopper.update(_monitored_value(monitor(module, -1), monitor_key, desc), module, -1)
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=desc or "fit", leave=True)

    for epoch in range(epochs):
        if game is None:
            train_loss = _train_epoch(module, loss_fn, data.batches(generator), optimizer,
                                      params, autocast=autocast,
                                      clip_grad_norm=clip_grad_norm, device=device)
        else:
            train_loss = _game_epoch(game, module, data.batches(generator), optimizers,
                                     history, epoch, generator, lr=lr,
                                     weight_decay=weight_decay, autocast=autocast,
                                     clip_grad_norm=clip_grad_norm)
        if not np.isfinite(train_loss):
            raise ValueError(
                f"{desc or 'training'}: loss became {train_loss} at epoch {epoch}; lower lr or "
                "standardise the features.")
        history.train_loss.append(train_loss)
        if scheduler is not None:  # on the training loss, as the stream seed steps its own
            scheduler.step(train_loss)
            history.learning_rates.append(float(optimizer.param_groups[0]["lr"]))
        with autocast():
            val_loss = data.val_loss(module, loss_fn)
        if val_loss is not None:
            history.val_loss.append(val_loss)
        history.epochs_run = epoch + 1

        if monitor is None:
            monitored = train_loss if val_loss is None else val_loss
        else:
            module.eval()
            value = monitor(module, epoch)
            history.eval_scores.append(value)
            monitored = _monitored_value(value, monitor_key, desc)
        if game is not None and not game.restore_best:
            history.best_epoch = epoch  # adversarial losses: keep the last weights
        elif stopper.update(monitored, module, epoch):
            history.best_epoch = epoch
        if bar is not None:
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4g}",
                            **{"val" if monitor is None else "monitor": f"{monitored:.4g}"})
        stop = on_epoch_end is not None and bool(on_epoch_end(epoch, history))
        if stopper.should_stop and epoch + 1 < epochs:
            history.stopped_early = True
            stop = True
        if stop:
            break

    if bar is not None:
        bar.close()
    if stopper.best_epoch is not None:
        history.best_epoch = stopper.best_epoch  # -1 when the initial weights were kept
    stopper.restore(module)
    module.eval()
    history.seconds = time.perf_counter() - start
    return history


PRECISIONS = ("fp32", "bf16")


def mixed_precision(device, precision="fp32"):
    """Return a factory of autocast contexts for ``precision`` on ``device``.

    Parameters
    ----------
    device : torch.device
    precision : {"fp32", "bf16"}

    Returns
    -------
    callable
        ``autocast()`` gives a context manager: :func:`torch.autocast` with bfloat16 for
        ``"bf16"``, a disabled one for ``"fp32"``.

    Raises
    ------
    ValueError
        For another precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    device = torch.device(device)
    enabled = precision == "bf16"

    def autocast():
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)

    return autocast


def _evaluate(module, loss_fn, data, batch_size):
    """Mean loss over ``data`` in eval mode, without gradients."""
    module.eval()
    n = data[0].shape[0]
    total = 0.0
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            batch = tuple(t[start:start + batch_size] for t in data)
            total += float(loss_fn(batch)) * batch[0].shape[0]
    return total / n


def _evaluate_batches(module, loss_fn, batches):
    """Mean loss (weighted by batch size) over a list of ready batches, in eval mode."""
    module.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for batch in batches:
            total += float(loss_fn(batch)) * batch[0].shape[0]
            n += batch[0].shape[0]
    return total / max(n, 1)


def predict_batches(fn, X, batch_size=8192, device="cpu"):
    """Apply ``fn`` to row chunks of ``X`` under :func:`torch.inference_mode`.

    Parameters
    ----------
    fn : callable
        ``fn(x) -> tensor`` of shape ``(chunk, ...)`` for a float32 tensor ``x`` on ``device``.
    X : array-like or tensor of shape (n_samples, n_features)
    batch_size : int, default=8192
        Rows per chunk; large chunks keep the matrix products efficient.
    device : str or torch.device, default="cpu"

    Returns
    -------
    numpy.ndarray of shape (n_samples, ...), dtype float64
    """
    device = resolve_device(device)
    x_all = torch.as_tensor(np.asarray(X, dtype=np.float32) if not isinstance(X, torch.Tensor)
                            else X.float())
    outs = []
    with torch.inference_mode():
        for start in range(0, x_all.shape[0], batch_size):
            chunk = x_all[start:start + batch_size].to(device, non_blocking=True)
            outs.append(fn(chunk).detach().to("cpu", torch.float64))
    if not outs:
        return np.zeros((0,), dtype=np.float64)
    return torch.cat(outs).numpy()

