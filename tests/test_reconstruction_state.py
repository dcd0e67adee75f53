"""ReconstructionViewerState: the reconstruction viewer's rules, exact assertions, no widgets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.galaxies import ImageSet
from astroad_nb.store import LabelStore
from astroad_nb.widgets.reconstruction_state import ReconstructionViewerState, set_name

# scores of images g0 ... g5; ranking (highest first, ties in input order): g1 g3 g4 g0 g5
SCORES = [1.0, 4.0, np.nan, 3.0, 3.0, 0.0]
IDS = [f"g{i}" for i in range(6)]
SETS = ["observed", "clumps 1", "observed", "clumps 1", "observed", "clumps 0.5"]
VARIANTS = ["observed", "clumps", "observed", "clumps", "observed", "clumps"]


def _images(n=6, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 8, 8)).astype(np.float32)


def _table():
    return pd.DataFrame({"id": IDS, "set": SETS, "variant": VARIANTS,
                         "log_mstar": np.linspace(9.5, 11.0, 6)})


class CountingModel:
    """A stand-in GANomaly: reconstructs as half the image and records each call's size."""

    def __init__(self):
        self.calls = []

    def reconstruct(self, X):
        self.calls.append(len(X))
        return 0.5 * np.asarray(X)

    def anomaly_score(self, X):
        return np.asarray(X).mean(axis=(1, 2, 3))

    def raw_score(self, X):
        return np.asarray(X).std(axis=(1, 2, 3))


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite", who="ana") as store:
        yield store


@pytest.fixture
def state(store):
    x = _images()
    return ReconstructionViewerState(x, SCORES, reconstructions=0.5 * x, table=_table(),
                                     store=store)


def _ranking(state):
    return state.ranked()["id"].tolist()


def _rows(store):
    frame = store.to_frame(include_undone=True)
    return list(zip(frame["item_id"], frame["label"], frame["who"], frame["context"],
                    frame["note"], frame["active"], strict=True))


# --------------------------------------------------------------------------- ranking, walking
def test_ranking_highest_first_ties_stable_nan_left_out(state):
    assert _ranking(state) == ["g1", "g3", "g4", "g0", "g5"]
    assert (state.current, state.rank, len(state), state.current_row) == ("g1", 1, 5, 1)
    frame = state.ranked(2)
    assert frame.columns.tolist() == ["rank", "id", "score", "set", "label"]
    assert frame.to_dict("list") == {"rank": [1, 2], "id": ["g1", "g3"], "score": [4.0, 3.0],
                                     "set": ["clumps 1", "clumps 1"], "label": [None, None]}
    assert state.rank_of("g2") is None and state.rank_of("g5") == 5


def test_next_previous_stop_at_the_ends(state):
    assert state.previous() is False and state.rank == 1
    assert state.next() is True and state.current == "g3"
    assert state.next(10) is True and (state.current, state.rank) == ("g5", 5)
    assert state.next() is False and state.rank == 5
    assert state.previous(2) is True and state.current == "g4"


def test_jump_and_select(state):
    state.jump(4)
    assert state.current == "g0"
    state.select("g3")
    assert state.rank == 2
    with pytest.raises(ValueError, match=r"rank must lie in 1 \.\.\. 5, got 6"):
        state.jump(6)
    with pytest.raises(KeyError, match="has no finite score"):
        state.select("g2")
    with pytest.raises(KeyError, match="is not an image of this viewer"):
        state.select("nope")


def test_filter_by_set_and_variant_keeps_current_when_it_passes(state):
    state.select("g3")
    state.filter(set="clumps 1")
    assert _ranking(state) == ["g1", "g3"] and state.current == "g3" and state.rank == 2
    state.filter(variant="observed")  # replaces the set filter; g3 fails -> the new top
    assert _ranking(state) == ["g4", "g0"] and (state.current, state.rank) == ("g4", 1)
    state.filter(set=["clumps 0.5", "observed"], variant="all")
    assert _ranking(state) == ["g4", "g0", "g5"]
    assert state.filters == {"set": ("clumps 0.5", "observed")}
    state.filter(set="observed", variant="clumps")  # nothing passes
    assert (len(state), state.current, state.rank) == (0, None, 0)
    assert math.isnan(state.score_of())
    with pytest.raises(RuntimeError, match="filtered ranking is empty"):
        state.flag("normal")
    state.filter()
    assert len(state) == 5 and state.current == "g1"
    assert state.filter_columns == ["set", "variant"]
    assert state.options("set") == ["observed", "clumps 1", "clumps 0.5"]
    with pytest.raises(ValueError, match=r"set has no value 'clumps 2'; it has \['observed'"):
        state.filter(set="clumps 2")
    with pytest.raises(ValueError, match="no column 'band' to filter by"):
        state.filter(band="g")
    state.filter(set="clumps 1")
    with pytest.raises(KeyError, match="is filtered out"):
        state.select("g0")


def test_top_and_grid_pages(state):
    assert state.top(3) == ["g1", "g3", "g4"]
    assert state.page(2) == ["g1", "g3"]  # rank 1: the top page
    state.jump(3)
    assert state.page(2) == ["g4", "g0"] and state.page(2, rank=5) == ["g5"]
    with pytest.raises(ValueError, match="positive number of images"):
        state.page(0)


# --------------------------------------------------------------------------- images
def test_given_reconstructions_and_residuals(store):
    x = _images()
    state = ReconstructionViewerState(x, SCORES, reconstructions=0.5 * x, table=_table(),
                                      store=store)
    np.testing.assert_array_equal(state.image(), x[1])
    np.testing.assert_array_equal(state.reconstruction("g0"), 0.5 * x[0])
    np.testing.assert_array_equal(state.residual("g0"), x[0] - 0.5 * x[0])
    given = ReconstructionViewerState(x, SCORES, reconstructions=0.5 * x,
                                      residuals=np.ones_like(x))
    assert given.ids == ["0", "1", "2", "3", "4", "5"]  # default ids: row numbers
    assert (given.residual("3") == 1).all() and given.prefetch(["0"]) == 0
    assert given.n_reconstructed == 0


def test_model_reconstructs_lazily_along_the_ranking(store):
    model, x = CountingModel(), _images()
    state = ReconstructionViewerState(x, SCORES, model=model, table=_table(), store=store,
                                      batch_size=2, cache_size=3)
    assert model.calls == [] and state.n_reconstructed == 0
    np.testing.assert_array_equal(state.reconstruction(), 0.5 * x[1])  # g1 and next, g3
    assert model.calls == [2]
    np.testing.assert_allclose(state.residual("g3"), 0.5 * x[3])  # cached: no call
    assert model.calls == [2]
    state.reconstruction("g2")  # unranked (NaN score): alone
    assert model.calls == [2, 1]
    assert state.prefetch(["g4", "g0", "g5", "g4"]) == 3  # batches of 2; cache keeps 3
    assert model.calls == [2, 1, 2, 1] and state.n_reconstructed == 6
    state.reconstruction("g1")  # evicted by the prefetch: computed again with g3
    assert model.calls[-1] == 2


def test_scores_from_the_model_series_or_frame(store):
    model, x = CountingModel(), _images()
    state = ReconstructionViewerState(x, model=model, store=store)
    np.testing.assert_allclose(state.scores, x.mean(axis=(1, 2, 3)))
    raw = ReconstructionViewerState(x, model=model, score="raw")
    np.testing.assert_allclose(raw.scores, x.std(axis=(1, 2, 3)))
    assert (state.score_name, raw.score_name) == ("anomaly score", "latent score A")
    by_id = ReconstructionViewerState(x, pd.Series({"g5": 2.0, "g0": 1.0}), model=model,
                                      table=_table())
    assert _ranking(by_id) == ["g5", "g0"]  # images without a score are not ranked
    frame = pd.DataFrame({"id": IDS[::-1], "A": [1.0, 2, 3, 4, 5, 6]})  # g0 highest
    assert _ranking(ReconstructionViewerState(x, frame, model=model, table=_table()))[:2] == [
        "g0", "g1"]


def test_bad_input_is_named(store):
    x = _images()
    with pytest.raises(ValueError, match="pass reconstructions= .* or model="):
        ReconstructionViewerState(x, SCORES)
    with pytest.raises(ValueError, match=r"reconstructions have shape \(6, 3, 4, 4\)"):
        ReconstructionViewerState(x, SCORES, reconstructions=x[:, :, :4, :4])
    with pytest.raises(ValueError, match="6 images but 2 scores"):
        ReconstructionViewerState(x, [1.0, 2.0], reconstructions=x)
    with pytest.raises(ValueError, match="shares no id with the images"):
        ReconstructionViewerState(x, pd.Series({"x": 1.0}), reconstructions=x)
    with pytest.raises(ValueError, match=r"needs an 'id' column and one of"):
        ReconstructionViewerState(x, pd.DataFrame({"A": SCORES}), reconstructions=x)
    with pytest.raises(ValueError, match=r"image ids must be unique; duplicated: \['a'\]"):
        ReconstructionViewerState(x, SCORES, reconstructions=x,
                                  table=pd.DataFrame({"id": ["a", "a", "b", "c", "d", "e"]}))
    with pytest.raises(ValueError, match=r"expected images of shape \(N, C, H, W\)"):
        ReconstructionViewerState(x[0], SCORES, reconstructions=x)
    with pytest.raises(TypeError, match="store must be an astroad_nb.store.LabelStore"):
        ReconstructionViewerState(x, SCORES, reconstructions=x, store="labels.sqlite")
    with pytest.raises(TypeError, match="must have reconstruct"):
        ReconstructionViewerState(x, SCORES, model=object())


# --------------------------------------------------------------------------- histogram
def test_histogram_counts_all_and_shown_on_shared_edges(state):
    hist = state.histogram(4)
    assert hist["edges"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert hist["all"].tolist() == [1, 1, 0, 3]  # 0 | 1 | - | 3 3 4 (NaN left out)
    state.filter(set="clumps 1")
    hist = state.histogram(hist["edges"])
    assert hist["all"].tolist() == [1, 1, 0, 3] and hist["shown"].tolist() == [0, 0, 0, 2]


def test_score_position_marks_the_current_image(state):
    edges = state.histogram(4)["edges"]
    assert state.score_position(edges) == {"id": "g1", "score": 4.0, "rank": 1, "n": 5,
                                           "percentile": 100.0, "bin": 3}  # right edge: last bin
    state.jump(4)
    position = state.score_position(edges)
    assert (position["id"], position["rank"], position["percentile"], position["bin"]) == (
        "g0", 4, 40.0, 1)
    assert state.score_position()["bin"] is None


# --------------------------------------------------------------------------- flags
def test_flag_commits_at_once_with_score_and_set(state, store):
    assert state.flag("interesting") == 1
    assert state.current == "g1"  # no advance by default
    assert state.flag("artefact", advance=True) == 2
    assert state.current == "g3"
    assert _rows(store) == [
        ("g1", "interesting", "ana", "galaxies", "score=4; set=clumps 1", 1),
        ("g1", "artefact", "ana", "galaxies", "score=4; set=clumps 1", 1)]
    assert state.labels == {"g1": "artefact"} and state.label_of("g1") == "artefact"
    assert state.label_of() is None
    assert state.ranked(1)["label"].tolist() == ["artefact"]
    with pytest.raises(ValueError, match="label must be one of"):
        state.flag("bogus")


def test_restart_on_the_same_store_shows_the_flags(tmp_path):
    path, x = tmp_path / "flags.sqlite", _images()
    first = ReconstructionViewerState(x, SCORES, reconstructions=x, store=LabelStore(path))
    first.jump(3)
    first.flag("normal")
    first.store.close()  # the kernel dies here; the row is already committed
    store = LabelStore(path, who="ben")
    again = ReconstructionViewerState(x, SCORES, reconstructions=x, store=store)
    assert again.labels == {"4": "normal"} and again.who == "ben"
    other = ReconstructionViewerState(x, SCORES, reconstructions=x, store=store, context="x")
    assert other.labels == {}  # another context's flags are not shown


def test_undo_marks_the_row_inactive_and_shows_the_image(state, store):
    state.jump(2)
    state.flag("normal", advance=True)
    state.flag("interesting", advance=True)
    assert state.current == "g0"
    row = state.undo()
    assert (row["item_id"], row["label"], row["active"]) == ("g4", "interesting", 0)
    assert state.current == "g4" and state.labels == {"g3": "normal"}
    assert [r[-1] for r in _rows(store)] == [1, 0]  # kept, undone
    state.undo()
    assert state.undo() is None and state.labels == {}


def test_in_memory_store_without_one():
    state = ReconstructionViewerState(_images(), SCORES, reconstructions=_images(), who="cy")
    state.flag("normal")
    assert state.store.path == ":memory:" and state.labels == {"1": "normal"}
    assert state.store.to_frame()["who"].tolist() == ["cy"]


# --------------------------------------------------------------------------- constructors
def _set(n, variant, strength, seed):
    table = pd.DataFrame({"id": [f"{variant}-{strength:.2f}-{i:06d}" for i in range(n)],
                          "set": variant, "variant": variant, "strength": strength,
                          "log_mstar": 10.0 + np.arange(n)})
    return ImageSet(_images(n, seed), table=table, bands=("i", "r", "g"))


def test_from_model_names_sets_by_their_keys():
    sets = {("observed", 0.0): _set(3, "observed", 0.0, 1), ("clumps", 0.5): _set(2, "clumps", 0.5, 2)}
    model = CountingModel()
    state = ReconstructionViewerState.from_model(model, sets, batch_size=8)
    assert state.bands == ("i", "r", "g") and len(state) == 5
    assert state.options("set") == ["observed", "clumps 0.5"]
    assert state.options("variant") == ["observed", "clumps"]
    np.testing.assert_allclose(state.scores, np.concatenate(
        [s.images for s in sets.values()]).mean(axis=(1, 2, 3)))
    state.reconstruction()
    assert model.calls == [5]
    assert ReconstructionViewerState.from_model(model, _set(2, "colour", 1.0, 3)).options(
        "set") == ["colour"]
    with pytest.raises(ValueError, match="image ids must be unique"):
        ReconstructionViewerState.from_model(model, [_set(2, "a", 1.0, 0), _set(2, "a", 1.0, 1)])


def test_from_scores_takes_the_protocol_table_rows_in_order():
    sets = {("observed", 0.0): _set(3, "observed", 0.0, 1), ("clumps", 1.0): _set(2, "clumps", 1.0, 2)}
    scores = pd.DataFrame({"variant": ["clumps", "observed", "clumps"],
                           "strength": [1.0, 0.0, 1.0],
                           "id": ["clumps-1.00-000001", "observed-0.00-000002",
                                  "clumps-1.00-000000"],
                           "log_mstar": [10.1, 10.2, 10.3], "A": [0.2, 0.05, 0.4]})
    state = ReconstructionViewerState.from_scores(scores, sets, model=CountingModel())
    assert state.score_name == "latent score A"  # the protocol's raw A
    assert _ranking(state) == ["clumps-1.00-000000", "clumps-1.00-000001", "observed-0.00-000002"]
    assert state.options("set") == ["clumps 1", "observed"]
    assert state.metadata_of()["log_mstar"] == 10.3  # the score table's value wins
    np.testing.assert_array_equal(state.image(), sets[("clumps", 1.0)].images[0])
    bad = scores.assign(id=["nope", "observed-0.00-000002", "clumps-1.00-000000"])
    with pytest.raises(ValueError, match=r"ids \['nope'\] of the scores are not among"):
        ReconstructionViewerState.from_scores(bad, sets, model=CountingModel())


def test_set_names():
    assert [set_name(k) for k in [("observed", 0.0), ("clumps", 0.5), ("face_on", 1), "train"]] == [
        "observed", "clumps 0.5", "face_on 1", "train"]


def test_constructor_stacks_a_mapping_of_sets_with_given_arrays():
    sets = {"train": _set(2, "observed", 0.0, 1), ("colour", 1.0): _set(2, "colour", 1.0, 2)}
    x = np.concatenate([s.images for s in sets.values()])
    state = ReconstructionViewerState(sets, [0.1, 0.4, 0.3, 0.2], reconstructions=x)
    assert state.options("set") == ["train", "colour 1"] and state.bands == ("i", "r", "g")
    assert state.top(2) == ["observed-0.00-000001", "colour-1.00-000000"]
    with pytest.raises(TypeError, match="a mapping key -> ImageSet"):
        ReconstructionViewerState([x], [0.1], reconstructions=x)
