"""Tests of the one torch fit loop (astroad_nb.training)."""

import numpy as np
import pandas as pd
import pytest
import torch

from astroad_nb.training import (
    EarlyStopping,
    History,
    fit_module,
    predict_batches,
    resolve_device,
    validation_split,
)


def _problem(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X @ rng.normal(size=(6, 1))).astype(np.float32)
    return X, y


def _net(seed=0):
    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16),
                              torch.nn.ReLU(), torch.nn.Linear(16, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return net


def _mse_loss(net):
    def loss(batch):
        x, y = batch
        return torch.nn.functional.mse_loss(net(x), y)

    return loss


def test_loss_decreases_and_history_is_filled():
    X, y = _problem()
    net = _net()
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=15, batch_size=32, lr=1e-2,
                      patience=None, device="cpu", random_state=0)
    assert isinstance(hist, History)
    assert hist.epochs_run == 15 and len(hist.train_loss) == 15 and len(hist.val_loss) == 15
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.device == "cpu" and hist.seconds > 0 and not hist.stopped_early
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert not net.training  # left in eval mode


def test_same_random_state_gives_identical_weights():
    X, y = _problem()
    states = []
    for _ in range(2):
        net = _net()
        fit_module(net, _mse_loss(net), (X, y), epochs=3, batch_size=32, device="cpu",
                   random_state=7)
        states.append(net.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_different_random_state_gives_different_weights():
    X, y = _problem()
    nets = []
    for seed in (1, 2):
        net = _net()
        fit_module(net, _mse_loss(net), (X, y), epochs=2, batch_size=32, device="cpu",
                   random_state=seed)
        nets.append(net)
    assert not torch.equal(nets[0][0].weight, nets[1][0].weight)


def test_global_torch_rng_is_untouched():
    X, y = _problem()
    net = _net()  # nn.Linear's own init draws from the global RNG; take the state after it
    before = torch.get_rng_state().clone()
    fit_module(net, _mse_loss(net), (X, y), epochs=2, device="cpu", random_state=0)
    assert torch.equal(before, torch.get_rng_state())


def test_early_stopping_restores_best_weights():
    X, y = _problem()
    net = _net()
    snapshots = {}

    def remember(epoch, history):
        snapshots[epoch] = {k: v.clone() for k, v in net.state_dict().items()}

    # a huge learning rate makes the validation loss worse after the first epochs
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=40, batch_size=16, lr=0.5,
                      patience=3, device="cpu", random_state=0, on_epoch_end=remember)
    assert hist.stopped_early and hist.epochs_run < 40
    assert hist.epochs_run - 1 - hist.best_epoch == 3
    best = snapshots[hist.best_epoch]
    for key, value in net.state_dict().items():
        assert torch.equal(value, best[key]), key


def test_callback_can_stop_training():
    X, y = _problem()
    net = _net()
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=10, device="cpu", random_state=0,
                      on_epoch_end=lambda epoch, h: epoch == 1)
    assert hist.epochs_run == 2


def test_params_subset_leaves_other_parameters_fixed():
    X, y = _problem()
    net = _net()
    frozen = net[3].weight.detach().clone()
    fit_module(net, _mse_loss(net), (X, y), epochs=2, params=net[0].parameters(),
               device="cpu", random_state=0)
    assert torch.equal(frozen, net[3].weight)


def test_no_validation_split_monitors_training_loss():
    X, y = _problem(n=40)
    net = _net()
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=3, val_fraction=0.0, device="cpu",
                      random_state=0)
    assert hist.val_loss == [] and len(hist.train_loss) == 3


def test_to_frame_columns():
    frame = History(train_loss=[3.0, 2.0], val_loss=[3.5, 2.5]).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["epoch", "train_loss", "val_loss"]
    assert frame["epoch"].tolist() == [0, 1] and frame["val_loss"].tolist() == [3.5, 2.5]
    assert History(train_loss=[1.0]).to_frame()["val_loss"].isna().all()


def test_non_finite_loss_raises():
    X, y = _problem()
    net = _net()
    with pytest.raises(ValueError, match="loss became"):
        fit_module(net, lambda batch: torch.tensor(float("nan"), requires_grad=True), (X, y),
                   epochs=1, device="cpu", random_state=0)


def test_mismatched_lengths_raise():
    net = _net()
    with pytest.raises(ValueError, match="same first dimension"):
        fit_module(net, _mse_loss(net), (np.zeros((5, 6)), np.zeros((4, 1))), device="cpu")


def test_progress_bar_when_verbose(capsys):
    X, y = _problem(n=50)
    net = _net()
    fit_module(net, _mse_loss(net), (X, y), epochs=2, device="cpu", verbose=1, desc="demo",
               random_state=0)
    assert "demo" in capsys.readouterr().err


def test_silent_when_not_verbose(capsys):
    X, y = _problem(n=50)
    net = _net()
    fit_module(net, _mse_loss(net), (X, y), epochs=2, device="cpu", random_state=0)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_predict_batches_matches_single_pass():
    X, _ = _problem(n=1000)
    net = _net().eval()
    out = predict_batches(lambda x: net(x)[:, 0], X, batch_size=128, device="cpu")
    with torch.no_grad():
        ref = net(torch.from_numpy(X))[:, 0].numpy()
    assert out.dtype == np.float64 and out.shape == (1000,)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_bf16_autocast_trains_with_fp32_weights_and_grads():
    X, y = _problem()
    net = _net()
    seen = []

    def loss(batch):
        x, target = batch
        out = net(x)
        seen.append(out.dtype)
        return torch.nn.functional.mse_loss(out.float(), target)

    hist = fit_module(net, loss, (X, y), epochs=8, batch_size=32, lr=1e-2, patience=None,
                      precision="bf16", device="cpu", random_state=0)
    assert set(seen) == {torch.bfloat16}  # the Linear ran in bf16 (training and validation)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]


def test_unknown_precision_raises():
    X, y = _problem()
    net = _net()
    with pytest.raises(ValueError, match="precision must be one of"):
        fit_module(net, _mse_loss(net), (X, y), epochs=1, precision="fp16", device="cpu")


# ------------------------------------------------------------------ monitor / early stopping
def _fixed_scores(values, key=None):
    """A monitor returning ``values[epoch]`` (epoch -1 -> ``values[-1]``), as a dict if key."""
    def monitor(module, epoch):
        assert not module.training  # scored in eval mode
        value = values[epoch]
        return value if key is None else {key: value, "other": -value}

    return monitor


def test_monitor_replaces_the_loss_for_early_stopping_and_restores_best_weights():
    X, y = _problem()
    net = _net()
    snapshots = {}

    def remember(epoch, history):
        snapshots[epoch] = {k: v.clone() for k, v in net.state_dict().items()}

    scores = [0.1, 0.5, 0.4, 0.3, 0.2, 0.9, 1.0]
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=7, lr=1e-2, patience=3,
                      monitor=_fixed_scores(scores, "Sum"), monitor_key="Sum", device="cpu",
                      random_state=0, on_epoch_end=remember)
    assert hist.best_epoch == 1 and hist.epochs_run == 5 and hist.stopped_early
    assert [s["Sum"] for s in hist.eval_scores] == scores[:5]
    assert len(hist.val_loss) == 5  # the losses are still recorded
    for key, value in net.state_dict().items():
        assert torch.equal(value, snapshots[1][key]), key
    assert History.from_dict(hist.to_dict()) == hist


def test_monitor_initial_keeps_the_starting_weights_when_no_epoch_beats_them():
    X, y = _problem()
    net = _net()
    start = {k: v.clone() for k, v in net.state_dict().items()}
    scores = [0.3, 0.2, 0.1, 0.9]  # the last entry is epoch -1, the initial weights
    hist = fit_module(net, _mse_loss(net), (X, y), epochs=3, lr=1e-2, patience=None,
                      monitor=_fixed_scores(scores), monitor_initial=True, device="cpu",
                      random_state=0)
    assert hist.best_epoch == -1 and hist.eval_scores == scores[:3]
    for key, value in net.state_dict().items():
        assert torch.equal(value, start[key]), key


def test_monitor_dict_needs_a_monitor_key():
    X, y = _problem(n=40)
    net = _net()
    with pytest.raises(ValueError, match=r"\['Sum', 'other'\].*monitor_key"):
        fit_module(net, _mse_loss(net), (X, y), epochs=2, monitor=_fixed_scores([1, 2], "Sum"),
                   device="cpu", random_state=0)
    with pytest.raises(ValueError, match="needs a monitor"):
        fit_module(net, _mse_loss(net), (X, y), epochs=2, monitor_initial=True, device="cpu")


def test_early_stopping_modes_min_delta_and_nan():
    net = torch.nn.Linear(2, 1)
    low = EarlyStopping(patience=2, mode="min", min_delta=0.1)
    assert [low.update(v, net, e) for e, v in enumerate([1.0, 0.95, 0.8, float("nan")])] == [
        True, False, True, False]
    assert low.best_epoch == 2 and low.best_score == 0.8 and not low.should_stop
    assert not low.update(0.75, net, 4) and low.should_stop  # 0.75 is within min_delta
    with torch.no_grad():
        net.weight.fill_(7.0)
    assert low.restore(net) and not torch.equal(net.weight, torch.full((1, 2), 7.0))
    assert not EarlyStopping().restore(net)  # nothing recorded: weights left as they are
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")


def test_validation_split_holds_out_a_fraction_of_the_rows():
    x = torch.arange(20.0)[:, None]
    y = torch.arange(20)
    train, val = validation_split((x, y), 0.25, torch.Generator().manual_seed(0))
    assert train[0].shape[0] == 15 and val[0].shape[0] == 5
    assert torch.equal(train[0][:, 0].long(), train[1]) and torch.equal(val[0][:, 0].long(), val[1])
    assert sorted(torch.cat([train[1], val[1]]).tolist()) == list(range(20))
    train, val = validation_split((x[:2],), 0.5, torch.Generator().manual_seed(0))
    assert val is None and train[0].shape[0] == 2  # BatchNorm needs 2 training rows


# ---------------------------------------------------------------- weighted sampler (issue 9)
def _label_recorder(net, seen):
    def loss(batch):
        x, y, lab = batch
        if net.training:
            seen.append(lab.clone())
        return torch.nn.functional.mse_loss(net(x), y)

    return loss


def test_sample_weight_balances_the_labels_drawn():
    """Inverse-frequency weights: a 9:1 imbalanced set is drawn about 1:1 (with replacement)."""
    X, y = _problem(n=1000)
    lab = np.r_[np.zeros(900), np.ones(100)].astype(np.int64)
    weights = 1.0 / np.bincount(lab)[lab]
    net, seen = _net(), []
    fit_module(net, _label_recorder(net, seen), (X, y, lab), sample_weight=weights, epochs=3,
               batch_size=100, patience=None, val_fraction=0.0, device="cpu", random_state=0)
    drawn = torch.cat(seen).numpy()
    assert drawn.size == 3 * 1000
    assert 0.45 < drawn.mean() < 0.55  # class 1 is 10 % of the rows, ~50 % of the draws


def test_sample_weight_keeps_the_validation_split_and_is_repeatable():
    X, y = _problem()
    rows = np.arange(300)

    def run(**kw):
        net, train_rows, val_rows = _net(), [], []

        def loss(batch):
            x, t, r = batch
            (train_rows if net.training else val_rows).append(r.clone())
            return torch.nn.functional.mse_loss(net(x), t)

        fit_module(net, loss, (X, y, rows), epochs=2, batch_size=50, device="cpu",
                   random_state=4, **kw)
        return torch.cat(train_rows), torch.cat(val_rows)

    t1, v1 = run(sample_weight=1.0 + rows % 3)
    t2, v2 = run(sample_weight=1.0 + rows % 3)
    t0, v0 = run()
    assert torch.equal(t1, t2) and torch.equal(v1, v2)  # repeatable
    assert torch.equal(v0, v1)  # same validation rows with or without the sampler
    assert not torch.equal(t0, t1)  # the training draws differ (with replacement)


def test_sample_weight_errors():
    X, y = _problem()
    with pytest.raises(ValueError, match="one weight per row"):
        fit_module(_net(), _mse_loss(_net()), (X, y), sample_weight=np.ones(5), epochs=1,
                   device="cpu")
    with pytest.raises(ValueError, match="finite"):
        fit_module(_net(), _mse_loss(_net()), (X, y), sample_weight=-np.ones(300), epochs=1,
                   device="cpu")


def test_lr_plateau_lowers_the_rate_when_the_training_loss_stalls():
    """fit_module(lr_plateau=) is the stream seed's ReduceLROnPlateau on the training loss."""
    X = torch.zeros(64, 3)  # a loss that cannot fall: the rate must drop after `patience`
    net = torch.nn.Linear(3, 1)

    def loss(batch):
        return (net(batch[0]) * 0.0).sum() + 1.0

    hist = fit_module(net, loss, (X,), epochs=6, lr=0.1, val_fraction=0.0, patience=None,
                      lr_plateau={"patience": 1, "factor": 0.5}, device="cpu", random_state=0)
    assert hist.learning_rates[0] == pytest.approx(0.1)
    assert hist.learning_rates[-1] < 0.1 and sorted(hist.learning_rates, reverse=True) == \
        hist.learning_rates
    plain = fit_module(torch.nn.Linear(3, 1), loss, (X,), epochs=2, device="cpu",
                       val_fraction=0.0, random_state=0)
    assert plain.learning_rates == []


def test_incomplete_batch_sources_and_games_cannot_be_built():
    """The hooks are abstract: a subclass that forgets one fails when built, not mid-fit."""
    from astroad_nb.training import AdversarialGame, BatchSource

    class NoBatches(BatchSource):
        pass

    class NoLoss(AdversarialGame):
        def parameters(self, player):
            return []

        def forward(self, batch):
            return None

        def reinitialize(self, player, generator):
            pass

    with pytest.raises(TypeError, match="batches"):
        NoBatches()
    with pytest.raises(TypeError, match="loss"):
        NoLoss()
