"""The one torch fit loop every torch model of astroad_nb uses.

:func:`fit_module` owns batching, the optimizer step (``zero_grad/backward/step``), device
placement, a local :class:`torch.Generator`, the validation split, early stopping with best-weight
restore and the ``tqdm.auto`` progress bar. Models only supply a network and a loss.
:func:`predict_batches` is the matching inference helper.

Speed notes (why the loop looks the way it does): the whole training set is moved to the device
once and mini-batches are cut by indexing with a per-epoch permutation, so there is no
``DataLoader``/collate overhead per batch; losses are accumulated on the device and synchronised
once per epoch; Adam uses its fused/foreach kernel.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["PRECISIONS", "BatchSource", "History", "fit_module", "history_from_json",
           "history_to_json", "mixed_precision", "predict_batches", "resolve_device", "torch_seed"]


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
        0-based epoch whose weights were kept (lowest monitored loss).
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
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    device: str = "cpu"
    desc: str | None = None

    def to_dict(self):
        """JSON-safe dict of every attribute (extras such as ``eval_scores`` included).

        Returns
        -------
        dict
        """
        return {k: _jsonable_value(v) for k, v in vars(self).items()}

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
        names = set(cls.__dataclass_fields__)
        history = cls(**{k: v for k, v in data.items() if k in names})
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
            validation split was used); one row per epoch run.
        """
        import pandas as pd

        n = len(self.train_loss)
        val = list(self.val_loss) + [np.nan] * (n - len(self.val_loss))
        return pd.DataFrame(
            {"epoch": np.arange(n), "train_loss": np.asarray(self.train_loss, float),
             "val_loss": np.asarray(val, float)}
        )


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
    """Turn a model's ``history_`` (None, a History or a dict of them) into JSON-safe data.

    Parameters
    ----------
    history : None, History or dict of str -> History

    Returns
    -------
    None or dict
        ``{"stages": {name: History.to_dict()}}`` for a dict, ``History.to_dict()`` otherwise.
    """
    if history is None:
        return None
    if isinstance(history, dict):
        return {"stages": {name: h.to_dict() for name, h in history.items()}}
    return history.to_dict()


def history_from_json(data):
    """Inverse of :func:`history_to_json`.

    Parameters
    ----------
    data : None or dict

    Returns
    -------
    None, History or dict of str -> History
    """
    if data is None:
        return None
    if "stages" in data:
        return {name: History.from_dict(h) for name, h in data["stages"].items()}
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


class BatchSource:
    """Base class of batch generators for :func:`fit_module` (episodic / meta-training).

    Subclasses implement :meth:`batches`; ``fit_module`` calls it once per epoch with its local
    :class:`torch.Generator`, so sampled episodes are repeatable from ``random_state``.
    Any callable ``source(generator) -> iterable of batches`` is accepted as well.
    """

    def batches(self, generator):  # pragma: no cover - abstract
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
        raise NotImplementedError

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
    train_data : array-like, tensor, sequence of them, or BatchSource
        ``(n_samples, ...)`` arrays sharing their first dimension (e.g. ``(X,)`` or ``(X, y)``).
        Floating arrays are cast to float32. Or a :class:`BatchSource` (or any callable
        ``source(generator) -> iterable of batches``) that samples fresh batches each epoch
        (episodic meta-training); ``batch_size`` and ``val_fraction`` are then ignored.
    val_fraction : float, default=0.1
        Fraction of rows held out (at random) to monitor early stopping. When it gives fewer
        than one row, the training loss is monitored instead.
    epochs : int, default=100
        Maximum number of passes over the training rows.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=1e-6
        Adam L2 penalty.
    patience : int or None, default=10
        Stop after this many epochs without improvement of the monitored loss; None disables.
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
        Per-epoch losses, best epoch, run time and device.

    Raises
    ------
    ValueError
        If ``train_data`` is empty or its arrays disagree in length, or a loss is not finite.
    """
    start = time.perf_counter()
    device = resolve_device(device)
    autocast = mixed_precision(device, precision)
    module.to(device)
    source = train_data if _is_source(train_data) else None
    if source is None and val_data is not None:
        raise ValueError("val_data is only used with a BatchSource train_data; for arrays use "
                         "val_fraction.")
    seed = torch_seed(random_state)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if source is None:
        tensors, n = _as_tensors(train_data, device)
        if n == 0:
            raise ValueError("train_data has no rows; fit needs at least 2 samples.")
        n_val = int(np.floor(n * val_fraction)) if val_fraction else 0
        if n - n_val < 2:  # BatchNorm needs 2 rows per training batch
            n_val = 0
        order = torch.randperm(n, generator=generator).to(device)
        val_idx, train_idx = order[:n_val], order[n_val:]
        n_train = n - n_val
        val_data = tuple(t.index_select(0, val_idx) for t in tensors) if n_val else None
        train_tensors = tuple(t.index_select(0, train_idx) for t in tensors)
        batch_size = max(1, min(int(batch_size), n_train))
    elif val_data is not None:
        if _is_source(val_data):  # draw the validation episodes once: same batches each epoch
            val_data = val_data(torch.Generator(device="cpu").manual_seed(seed + 1))
        val_data = [_to_device(b, device) for b in val_data]

    if params is None:
        params = [p for p in module.parameters() if p.requires_grad]
    else:
        params = list(params)
    opt_kwargs = {"lr": lr, "weight_decay": weight_decay}
    try:  # fused Adam: one kernel per step instead of one per parameter
        optimizer = torch.optim.Adam(params, fused=True, **opt_kwargs)
    except (RuntimeError, TypeError):
        optimizer = torch.optim.Adam(params, **opt_kwargs)

    history = History(device=str(device), desc=desc)
    best_loss, best_state, bad_epochs = np.inf, None, 0
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=desc or "fit", leave=True)

    for epoch in range(epochs):
        module.train()
        total = torch.zeros((), device=device)
        seen = 0
        if source is None:
            perm = torch.randperm(n_train, generator=generator).to(device)
            batches = (perm[s:s + batch_size] for s in range(0, n_train, batch_size))
        else:
            batches = iter(source(generator))
        for item in batches:
            if source is None:
                idx = item
                if idx.numel() < 2 and n_train >= 2:  # a 1-row batch breaks BatchNorm; skip
                    continue
                batch = tuple(t.index_select(0, idx) for t in train_tensors)
            else:
                batch = _to_device(item, device)
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
        train_loss = float(total) / max(seen, 1)
        if not np.isfinite(train_loss):
            raise ValueError(
                f"{desc or 'training'}: loss became {train_loss} at epoch {epoch}; lower lr or "
                "standardise the features.")
        history.train_loss.append(train_loss)

        monitored = train_loss
        if val_data is not None:
            with autocast():
                monitored = (_evaluate(module, loss_fn, val_data, batch_size=max(batch_size, 4096))
                             if source is None else _evaluate_batches(module, loss_fn, val_data))
            history.val_loss.append(monitored)
        history.epochs_run = epoch + 1

        if monitored < best_loss:
            best_loss, bad_epochs, history.best_epoch = monitored, 0, epoch
            best_state = copy.deepcopy(module.state_dict())
        else:
            bad_epochs += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4g}", val=f"{monitored:.4g}")
        stop = on_epoch_end is not None and bool(on_epoch_end(epoch, history))
        if patience is not None and bad_epochs >= patience and epoch + 1 < epochs:
            history.stopped_early = True
            stop = True
        if stop:
            break

    if bar is not None:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
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

