"""Contextual novelty detection (system 5): FiLM auto-encoder, context predictor, voting window.

Synthetic contexts: context k's normal frames lie on its own random 2-d plane of R^16; a
contextual anomaly is a normal frame of another context presented as context k. A pooled AE
reconstructs every plane whatever the context and cannot see these anomalies; a FiLM AE
conditioned on the context can.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import astroad_nb
from astroad_nb import io
from astroad_nb.models.context import (
    SEED_FRAME_AE,
    ContextPredictor,
    ContextStream,
    FiLMAutoEncoder,
    PerContextDetector,
    file_means,
    frame_autoencoder,
    minmax_embedding,
)

K, D, FRAMES = 3, 16, 10  # contexts, features, frames per file
TRAIN = dict(hidden_dims=(32,), latent_dim=4, epochs=15, batch_size=64, lr=3e-3,
             random_state=0, device="cpu")


def simulate(seed=0, n_train=200, n_test_files=30):
    """Training frames with their contexts; a test stream of files (FRAMES frames each)."""
    rng = np.random.default_rng(seed)
    planes = rng.normal(size=(K, 2, D))

    def frames(k):
        z = rng.normal(size=(len(k), 2))
        return np.einsum("nk,nkd->nd", z, planes[k]) + 0.05 * rng.normal(size=(len(k), D))

    c_train = np.repeat(np.arange(K), n_train)
    # test stream: runs of files per machine (as MIMII directories), every third anomalous
    file_ctx = np.repeat(np.arange(K), n_test_files)
    anomalous = np.tile(np.arange(n_test_files) % 3 == 0, K)
    source = np.where(anomalous, (file_ctx + rng.integers(1, K, len(file_ctx))) % K, file_ctx)
    ctx = np.repeat(file_ctx, FRAMES)
    return {"X": frames(c_train), "c": c_train, "Xt": frames(np.repeat(source, FRAMES)),
            "ct": ctx, "files": np.repeat(np.arange(len(file_ctx)), FRAMES),
            "file_ctx": file_ctx, "y_file": anomalous.astype(int)}


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def fitted(data):
    X, c = data["X"], data["c"]
    predictor = ContextPredictor((64, 32), epochs=10, batch_size=64, lr=3e-3, random_state=0,
                                 device="cpu").fit(X, c)
    film_kw = {k: v for k, v in TRAIN.items()}
    return {
        "film": FiLMAutoEncoder(**film_kw).fit(X, context=c),
        "film_embed": FiLMAutoEncoder(conditioning="embedding", **film_kw).fit(
            X, context=c, embedding=predictor.embedding_),
        "pooled": frame_autoencoder(**TRAIN).fit(X),
        "per_context": PerContextDetector(frame_autoencoder(**{**TRAIN, "epochs": 5,
                                                               "random_state": None}),
                                          random_state=0).fit(X, context=c),
        "predictor": predictor,
    }


# ------------------------------------------------------------------------------ FiLM identity
@pytest.mark.parametrize("conditioning", ["onehot", "embedding"])
def test_film_with_unit_gamma_zero_beta_is_the_plain_autoencoder(data, conditioning):
    X, c = data["X"], data["c"]
    tiny = dict(hidden_dims=(16, 16), latent_dim=4, epochs=1, random_state=0, device="cpu")
    embedding = np.random.default_rng(1).uniform(size=(K, 5))
    film = FiLMAutoEncoder(conditioning=conditioning, **tiny).fit(
        X, context=c, embedding=embedding if conditioning == "embedding" else None)
    net = film.network_
    with torch.no_grad():  # gamma = 0 c + 1, beta = 0 c + 0 in every FiLM layer
        for gamma, beta in zip(net.gammas, net.betas):
            gamma.weight.zero_()
            gamma.bias.fill_(1.0)
            beta.weight.zero_()
            beta.bias.zero_()
    ae = frame_autoencoder(**tiny).fit(X)  # same X: same standardisation
    np.testing.assert_array_equal(ae.x_mean_, film.x_mean_)
    ae.network_.encoder.load_state_dict(net.encoder.state_dict())
    ae.network_.decoder.load_state_dict(net.decoder.state_dict())
    # the module forward (training path) and the fused scoring path, bit for bit
    x = torch.as_tensor(film._standardize(X))
    with torch.no_grad():
        assert torch.equal(net(x, torch.as_tensor(c)), ae.network_(x))
    np.testing.assert_array_equal(film.anomaly_score(X, context=c), ae.anomaly_score(X))
    # any other context gives the same scores: the context no longer enters
    np.testing.assert_array_equal(film.anomaly_score(X, context=(c + 1) % K),
                                  ae.anomaly_score(X))


def test_film_places_film_layers_as_the_seed():
    """320-64-64-8-64-64-320: FiLM at en_2 (64), en_3 (8), de_1 (64), de_2 (64)."""
    rng = np.random.default_rng(0)
    X, c = rng.normal(size=(40, 320)), np.arange(40) % 16
    film = FiLMAutoEncoder(epochs=1, random_state=0, device="cpu").fit(X, context=c)
    net = film.network_
    assert [m.out_features for m in net.encoder if isinstance(m, torch.nn.Linear)] == [64, 64, 8]
    assert [m.out_features for m in net.decoder if isinstance(m, torch.nn.Linear)] == [64, 64,
                                                                                        320]
    assert [g.out_features for g in net.gammas] == [64, 8, 64, 64]
    assert [b.in_features for b in net.betas] == [16] * 4
    assert film.n_contexts_ == 16 and film.contexts_.shape == (16, 16)
    assert isinstance(net.decoder[-1], torch.nn.Linear)  # linear output
    assert sum(isinstance(m, torch.nn.ReLU) for m in net.encoder) == 3  # bottleneck ReLU too
    ae = frame_autoencoder(epochs=1, random_state=0, device="cpu").fit(X)
    film_maps = {k for k in net.state_dict() if k.startswith(("gammas.", "betas."))}
    assert set(ae.network_.state_dict()) == set(net.state_dict()) - film_maps
    assert SEED_FRAME_AE["lr"] == 1e-4 and ae.get_params()["latent_dim"] == 8


# ------------------------------------------------------------------------------ learning
def test_film_beats_pooled_autoencoder_on_contextual_anomalies(data, fitted):
    y, ct = data["y_file"], data["ct"]
    film = roc_auc_score(y, fitted["film"].file_anomaly_score(data["Xt"], data["files"],
                                                              context=ct))
    embed = roc_auc_score(y, fitted["film_embed"].file_anomaly_score(data["Xt"], data["files"],
                                                                     context=ct))
    per_context = roc_auc_score(y, fitted["per_context"].file_anomaly_score(
        data["Xt"], data["files"], context=ct))
    pooled = roc_auc_score(y, file_means(fitted["pooled"].anomaly_score(data["Xt"]),
                                         data["files"])[1])
    assert pooled < 0.7  # the other contexts' planes are reconstructed as well
    assert film > 0.95 and embed > 0.9 and per_context > 0.9, (film, embed, per_context)


def test_predicted_context_through_the_window(data, fitted):
    """A contextual anomaly *is* a frame of another context, so the predictor names that one:
    per-file accuracy is at most 2/3 here, and the window recovers the machine's context."""
    predictor, film = fitted["predictor"], fitted["film"]
    frame_acc = np.mean(predictor.predict(data["Xt"]) == data["ct"])
    window = ContextStream().predict(predictor, data["Xt"], data["files"],
                                     true_context=data["ct"])
    per_file = ContextStream(mode="file").predict(predictor, data["Xt"], data["files"])
    np.testing.assert_array_equal(window.true_context, data["file_ctx"])
    np.testing.assert_array_equal(window.file_context, per_file.context)
    machines = data["ct"]  # one machine per context here: reset where the machine changes
    reset = ContextStream(reset=True).predict(predictor, data["Xt"], data["files"],
                                              machines=machines)
    file_acc = np.mean(per_file.context == data["file_ctx"])
    window_acc = np.mean(window.context == data["file_ctx"])
    reset_acc = np.mean(reset.context == data["file_ctx"])
    # the carried window lags a few files behind each machine change; a reset one does not
    assert frame_acc <= file_acc < window_acc <= reset_acc, (frame_acc, file_acc, window_acc,
                                                              reset_acc)
    assert file_acc <= 2 / 3 and window_acc > 0.8 and reset_acc > 0.95
    def auc(context):
        return roc_auc_score(data["y_file"], film.file_anomaly_score(
            data["Xt"], data["files"], context=context))

    pooled = roc_auc_score(data["y_file"], file_means(
        fitted["pooled"].anomaly_score(data["Xt"]), data["files"])[1])
    assert auc(reset.frame_context) > 0.9 and auc(window.frame_context) > pooled + 0.2


def test_context_embedding_is_minmax_of_the_mean_64d_layer(data, fitted):
    predictor = fitted["predictor"]
    Z = predictor.embed(data["X"])
    means = np.stack([Z[data["c"] == k].mean(axis=0) for k in range(K)])
    np.testing.assert_allclose(predictor.raw_embedding_, means, rtol=1e-10, atol=1e-12)
    E = predictor.embedding_
    assert E.shape == (K, 32) and E.min() >= 0 and E.max() <= 1
    live = np.ptp(means, axis=0) > 0
    np.testing.assert_array_equal(E.min(axis=0)[live], 0.0)
    np.testing.assert_allclose(E.max(axis=0)[live], 1.0)
    np.testing.assert_array_equal(minmax_embedding([[1.0, 2.0], [3.0, 2.0]]),
                                  [[0.0, 0.0], [1.0, 0.0]])  # constant column -> 0, not NaN
    proba = predictor.predict_proba(data["Xt"][:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


# ------------------------------------------------------------------------------ voting rule
def test_voting_rule_on_a_hand_made_sequence():
    votes = np.array([2, 0, 0, 2, 2, 1, 1, 1])
    # decay 0.9, W = 3; weights of ages 0, 1, 2 = 1, 0.9, 0.81:
    # t3 window [0, 0, 2]: 0 -> 0.81 + 0.9 = 1.71 > 2 -> 1;  t5 window [2, 2, 1]: 2 -> 1.71 > 1
    context, confidence = ContextStream(window=3).vote(votes)
    np.testing.assert_array_equal(context, [2, 0, 0, 0, 2, 2, 1, 1])
    np.testing.assert_allclose(confidence, [1, 1 / 1.9, 1.9 / 2.71, 1.71 / 2.71, 1.9 / 2.71,
                                            1.71 / 2.71, 1.9 / 2.71, 1])
    # W = 1 (and mode "file") is the file's own vote
    np.testing.assert_array_equal(ContextStream(window=1).vote(votes)[0], votes)
    # ties go to the lowest context (np.argmax, as the seed)
    np.testing.assert_array_equal(ContextStream(window=2, decay=1.0).vote([3, 1])[0], [3, 1])
    np.testing.assert_array_equal(ContextStream(window=2, decay=1.0).vote([1, 3])[0], [1, 1])


def test_window_reset_at_machine_changes():
    votes = np.array([2, 0, 0, 2, 2, 1, 1, 1])
    machines = np.array(["fan"] * 4 + ["pump"] * 4)
    carried = ContextStream(window=3).vote(votes, machines)[0]  # default: never reset
    np.testing.assert_array_equal(carried, [2, 0, 0, 0, 2, 2, 1, 1])
    # reset at t4: t4 sees [2] alone; t5 sees [2, 1]: 1 (weight 1) beats 2 (weight 0.9)
    context, confidence = ContextStream(window=3, reset=True).vote(votes, machines)
    np.testing.assert_array_equal(context, [2, 0, 0, 0, 2, 1, 1, 1])
    assert confidence[4] == 1.0 and confidence[5] == pytest.approx(1 / 1.9)
    with pytest.raises(ValueError, match="reset=True needs machines"):
        ContextStream(reset=True).vote(votes)


def _seed_vote(votes, window, decay_factor, machines=None):
    """The seed's loop (eval_one_hot.py), file by file, for comparison."""
    out, recent, last = [], [], None
    for i, v in enumerate(votes):
        if machines is not None and machines[i] != last:
            recent, last = [], machines[i]
        if len(recent) == window:
            recent.pop(0)
        recent.append(v)
        weights = [(1 - decay_factor) ** (len(recent) - t) for t in range(1, len(recent) + 1)]
        scores = np.zeros(16)
        for k in range(16):
            scores[k] = sum(weights * (1 * (np.array(recent) == k)))
        out.append(np.argmax(scores))
    return np.array(out)


def test_vectorised_vote_equals_the_seed_loop_bit_for_bit():
    rng = np.random.default_rng(3)
    truth = np.repeat(rng.integers(0, 16, 12), 40)
    votes = np.where(rng.random(len(truth)) < 0.35, rng.integers(0, 16, len(truth)), truth)
    machines = np.repeat(np.arange(12) // 3, 40)
    stream = ContextStream(window=50, decay=0.9, n_contexts=16)
    np.testing.assert_array_equal(stream.vote(votes)[0], _seed_vote(votes, 50, 0.1))
    np.testing.assert_array_equal(clone(stream).set_params(reset=True).vote(votes, machines)[0],
                                  _seed_vote(votes, 50, 0.1, machines))
    assert (stream.vote(votes)[0] == truth).mean() > (votes == truth).mean()


def test_frame_majority_oracle_and_no_window_modes():
    files = np.array(["x"] * 4 + ["y"] * 2 + ["x"])  # a file's frames need not be contiguous
    frames = np.array([0, 2, 2, 1, 1, 0, 2])
    true = np.array([2, 2, 2, 2, 1, 1, 2])
    ids, own, share = ContextStream().file_contexts(frames, files)
    np.testing.assert_array_equal(ids, ["x", "y"])
    np.testing.assert_array_equal(own, [2, 0])  # y: a 1-1 tie goes to context 0
    np.testing.assert_allclose(share, [3 / 5, 1 / 2])
    proba = np.eye(3)[frames]  # per-context scores give the same majority
    np.testing.assert_array_equal(ContextStream().file_contexts(proba, files)[1], own)

    oracle = ContextStream(mode="oracle").assign(frames, files, true_context=true)
    np.testing.assert_array_equal(oracle.context, [2, 1])
    np.testing.assert_array_equal(oracle.file_context, own)
    np.testing.assert_array_equal(oracle.frame_context, true)
    assert ContextStream(mode="oracle").assign(None, files, true_context=true).context.tolist() \
        == [2, 1]
    no_window = ContextStream(mode="file").assign(frames, files)
    np.testing.assert_array_equal(no_window.frame_context, [2, 2, 2, 2, 0, 0, 2])
    windowed = ContextStream(window=2).assign(frames, files)
    # y's window holds x's vote 2 (age 1, weight 0.9) and its own 0 (weight 1): 0
    np.testing.assert_array_equal(windowed.context, [2, 0])
    np.testing.assert_allclose(windowed.confidence, [1, 1 / 1.9])
    with pytest.raises(ValueError, match="constant within a file"):
        ContextStream(mode="oracle").assign(frames, files, true_context=frames)
    with pytest.raises(ValueError, match="needs true_context"):
        ContextStream(mode="oracle").assign(frames, files)
    with pytest.raises(ValueError, match="needs frame_context"):
        ContextStream().assign(None, files, true_context=true)


# ------------------------------------------------------------------------------ persistence
@pytest.mark.parametrize("name", ["film", "film_embed", "per_context", "predictor"])
def test_save_load_round_trip_gives_identical_scores(data, fitted, name, tmp_path):
    model = fitted[name]
    model.save(tmp_path / name)
    loaded = astroad_nb.load(tmp_path / name)
    assert type(loaded) is type(model)
    assert loaded.get_params().keys() == model.get_params().keys()
    Xt, ct = data["Xt"], data["ct"]
    if name == "predictor":
        np.testing.assert_array_equal(loaded.predict_proba(Xt), model.predict_proba(Xt))
        np.testing.assert_array_equal(loaded.embedding_, model.embedding_)
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        assert type(model).load(tmp_path / name).history_.best_epoch == \
            model.history_.best_epoch
    else:
        np.testing.assert_array_equal(loaded.anomaly_score(Xt, context=ct),
                                      model.anomaly_score(Xt, context=ct))
        np.testing.assert_array_equal(loaded.file_anomaly_score(Xt, data["files"], context=ct),
                                      model.file_anomaly_score(Xt, data["files"], context=ct))
        assert loaded.offset_ == model.offset_ and loaded.n_contexts_ == K
    with pytest.raises(io.KindMismatchError):
        astroad_nb.load(tmp_path / name, expected=astroad_nb.models.IForest)


# ------------------------------------------------------------------------------ contract
def test_context_is_required_once_fitted_on_several(data, fitted):
    film, per_context = fitted["film"], fitted["per_context"]
    for model in (film, per_context):
        with pytest.raises(ValueError, match="fitted on 3 contexts: pass score_samples"):
            model.anomaly_score(data["Xt"])
        with pytest.raises(ValueError, match="one context per row"):
            model.anomaly_score(data["Xt"], context=data["ct"][:-1])
    with pytest.raises(ValueError, match="outside the 3 contexts"):
        film.anomaly_score(data["Xt"][:2], context=[0, 3])
    with pytest.raises(ValueError, match="have no detector"):
        per_context.anomaly_score(data["Xt"][:2], context=[0, 7])
    with pytest.raises(ValueError, match="integer context indices"):
        film.anomaly_score(data["Xt"][:2], context=[0.5, 1])
    with pytest.raises(ValueError, match="needs fit\\(X, context=c, embedding=E\\)"):
        FiLMAutoEncoder(conditioning="embedding").fit(data["X"], context=data["c"])
    with pytest.raises(ValueError, match="only used with conditioning='embedding'"):
        FiLMAutoEncoder().fit(data["X"], context=data["c"], embedding=np.eye(3))
    with pytest.raises(ValueError, match="outside the 2 contexts"):
        FiLMAutoEncoder(n_contexts=2).fit(data["X"], context=data["c"])
    # decision_function / predict / fit_predict thread the context through
    ct = data["ct"]
    np.testing.assert_array_equal(film.predict(data["Xt"], context=ct),
                                  np.where(film.decision_function(data["Xt"], context=ct) < 0,
                                           -1, 1))
    labels = clone(film).set_params(epochs=1).fit_predict(data["X"], context=data["c"])
    assert set(np.unique(labels)) <= {-1, 1}


def test_fits_are_repeatable_and_seeded_per_context(data, fitted):
    X, c = data["X"], data["c"]
    again = clone(fitted["film"]).fit(X, context=c)
    np.testing.assert_array_equal(again.anomaly_score(X[:50], context=c[:50]),
                                  fitted["film"].anomaly_score(X[:50], context=c[:50]))
    seeds = [d.random_state for d in fitted["per_context"].detectors_]
    assert len(set(seeds)) == K and all(isinstance(s, int) for s in seeds)
