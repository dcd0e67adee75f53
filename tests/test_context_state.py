"""ContextTimelineState: the context timeline's rules without widgets (table checks, contexts,
threshold, walking the stream, samples / log-mel / frame errors, flags in the LabelStore,
the table computed from a fit)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.sounds.wav import read_wav, write_wav
from astroad_nb.features.sounds import log_mel_spectrogram, logmel_frames
from astroad_nb.store import LabelStore
from astroad_nb.widgets.context_state import TIMELINE_COLUMNS, ContextTimelineState

RATE = 16000
N = 10


def _table():
    """Ten files in stream order: two machines, the window's vote lagging one file behind at
    the change, files 3 and 8 abnormal with the top scores."""
    true = np.array([0] * 5 + [1] * 5)
    own = true.copy()
    own[2] = 1  # a file whose own majority is wrong
    window = np.array([0] * 6 + [1] * 4)  # the window lags at the change
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.2, 0.3, 0.1, 0.2, 0.8, 0.4])
    return pd.DataFrame({
        "file_id": [f"f{i}" for i in range(N)], "machine_type": ["fan"] * 5 + ["pump"] * 5,
        "machine_id": [0] * 5 + [2] * 5, "snr_db": 6.0, "true_context": true,
        "file_context": own, "window_context": window,
        "vote_confidence": np.linspace(1.0, 0.55, N), "anomaly_score": scores,
        "label": [0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "wav_path": ""})


def _clip(i, seconds=0.5):
    rng = np.random.default_rng(i)
    return (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


class MeanSquare:
    """A fitted two-context 'detector': frame score = sum of squares x (context + 1)."""

    n_contexts_ = 2

    def __init__(self):
        self.contexts = []

    def anomaly_score(self, X, *, context=None):
        self.contexts.append(np.asarray(context))
        return (np.asarray(X, float) ** 2).sum(axis=1) * (np.asarray(context) + 1)


def test_table_checks_name_the_problem():
    with pytest.raises(ValueError, match=r"lacks the columns \['window_context'\]"):
        ContextTimelineState(_table().drop(columns="window_context"))
    dup = _table()
    dup.loc[1, "file_id"] = "f0"
    with pytest.raises(ValueError, match="duplicated: \\['f0'\\]"):
        ContextTimelineState(dup)
    with pytest.raises(TypeError, match="pandas.DataFrame"):
        ContextTimelineState({"file_id": ["a"]})
    mixed = _table().astype({"true_context": object})
    mixed.loc[0, "true_context"] = "fan_00"
    with pytest.raises(ValueError, match="mix names and indices"):
        ContextTimelineState(mixed)
    with pytest.raises(ValueError, match="outside the 1 names"):
        ContextTimelineState(_table(), contexts=["fan_00"])
    with pytest.raises(TypeError, match="LabelStore"):
        ContextTimelineState(_table(), store="labels.sqlite")


def test_contexts_from_indices_names_and_minimal_table():
    state = ContextTimelineState(_table(), contexts=["fan_00", "pump_02"])
    assert state.context_names == ("fan_00", "pump_02")
    assert state.info("f5")["window"] == "fan_00" and state.info("f5")["true"] == "pump_02"
    named = _table()
    for c in ("true_context", "file_context", "window_context"):
        named[c] = np.where(named[c] == 0, "fan_00", "pump_02")
    by_name = ContextTimelineState(named)
    np.testing.assert_array_equal(by_name.window_context, state.window_context)
    assert by_name.context_names == state.context_names
    minimal = ContextTimelineState(_table()[["file_id", "window_context", "anomaly_score"]])
    assert list(minimal.table.columns) == list(TIMELINE_COLUMNS)
    assert minimal.context_names == ("context 0", "context 1")
    assert not minimal.has_truth and minimal.info("f0")["true"] == "?"
    s = minimal.summary()
    assert s["tp"] is None and s["window_accuracy"] is None


def test_threshold_and_summary():
    state = ContextTimelineState(_table())
    assert state.threshold == pytest.approx(np.quantile(_table()["anomaly_score"], 0.9))
    state.set_threshold(0.5)
    assert state.above.tolist() == [i in (3, 8) for i in range(N)]
    s = state.summary()
    assert (s["n_above"], s["tp"], s["fp"], s["fn"], s["tn"]) == (2, 2, 0, 0, 8)
    assert s["file_accuracy"] == pytest.approx(0.9)  # file 2's own vote is wrong
    assert s["window_accuracy"] == pytest.approx(0.9)  # file 5: the window lags
    for bad in (np.nan, "high", np.inf):
        with pytest.raises(ValueError, match="finite number"):
            state.set_threshold(bad)
    nan_scores = _table()
    nan_scores.loc[0, "anomaly_score"] = np.nan
    state = ContextTimelineState(nan_scores, threshold=-1.0)
    assert not state.above[0] and state.above[1:].all()


def test_walking_the_stream():
    state = ContextTimelineState(_table(), threshold=0.5)
    assert state.current == "f0" and not state.previous()
    assert state.next() and state.current == "f1"
    assert state.next_above() and state.current == "f3"
    assert state.next_above() and state.current == "f8"
    assert not state.next_above() and state.current == "f8"
    assert state.previous_above() and state.current == "f3"
    assert not state.previous_above()
    state.jump(9)
    assert not state.next() and state.current == "f9"
    assert state.previous(3) and state.current == "f6"
    with pytest.raises(ValueError, match=r"0 \.\.\. 9"):
        state.jump(10)
    state.select("f4")
    assert state.position == 4 and state.position_of("f7") == 7
    with pytest.raises(KeyError, match="not a file of this timeline"):
        state.select("nope")


def test_flags_commit_at_once_and_resume(tmp_path):
    db = tmp_path / "labels.sqlite"
    state = ContextTimelineState(_table(), store=LabelStore(db, who="ana"), threshold=0.5)
    state.next_above()
    state.flag("anomalous", advance=True)
    assert state.current == "f4"
    with sqlite3.connect(db) as con:  # committed: another connection sees it
        rows = con.execute("SELECT item_id, label, who, context, note FROM labels").fetchall()
    assert rows[0][:4] == ("f3", "anomalous", "ana", "sounds")
    assert "score=0.9" in rows[0][4] and "window=context 0" in rows[0][4]
    state.flag("normal")
    state.flag("skip")  # the latest flag of a file wins
    with pytest.raises(ValueError, match="label must be one of"):
        state.flag("bogus")
    assert state.labels == {"f3": "anomalous", "f4": "skip"}
    LabelStore(db).add("f5", "normal", context="other panel")  # another context: not shown
    restarted = ContextTimelineState(_table(), store=LabelStore(db, who="ana"))
    assert restarted.labels == {"f3": "anomalous", "f4": "skip"}
    assert restarted.label_of("f3") == "anomalous" and restarted.label_of("f0") is None
    undone = restarted.undo()
    assert undone["item_id"] == "f4" and restarted.current == "f4"
    assert restarted.labels == {"f3": "anomalous", "f4": "normal"}
    history = LabelStore(db).to_frame(include_undone=True, context="sounds")
    assert history["active"].tolist() == [1, 1, 0]  # the undone flag is kept


def test_audio_logmel_and_frames_from_samples(tmp_path):
    clips = {f"f{i}": _clip(i) for i in range(4)}  # f4... have no samples
    table = _table()
    multi = np.stack([_clip(20, 0.25), _clip(21, 0.25)], axis=1)
    path = tmp_path / "eight.wav"
    write_wav(path, np.repeat(multi, 4, axis=1), RATE)  # 8 channels, WAVE_FORMAT_EXTENSIBLE
    table.loc[5, "wav_path"] = str(path)
    state = ContextTimelineState(table, sounds=clips)
    wav = state.audio("f1")
    assert wav[:4] == b"RIFF"
    back = tmp_path / "back.wav"
    back.write_bytes(wav)
    samples, rate = read_wav(back)
    assert rate == RATE and np.abs(samples - clips["f1"]).max() < 1e-4  # 16-bit PCM
    np.testing.assert_allclose(state.waveform("f5")[0], multi[:, 0], atol=1e-4)  # channel 0
    assert state.audio("f6") is None and state.logmel("f6") is None
    assert state.frame_errors("f1") is None  # no model
    logmel = state.logmel("f1")
    assert logmel.shape == (64, 1 + len(clips["f1"]) // 512)
    np.testing.assert_allclose(logmel, log_mel_spectrogram(clips["f1"]), atol=1e-6)
    vectors = state.file_frames("f1")
    assert vectors.shape == (logmel.shape[1] - 4, 320)
    assert state.frame_times("f1")[0] == pytest.approx(2 * 512 / RATE)


def test_logmel_rebuilt_from_frames_and_frame_errors():
    clips = {f"f{i}": _clip(i) for i in range(N)}
    frames = {i: logmel_frames(c[None, :])[0] for i, c in clips.items()}
    model = MeanSquare()
    state = ContextTimelineState(_table(), frames=frames, model=model)  # no samples
    assert state.audio("f2") is None
    np.testing.assert_allclose(state.logmel("f2"), log_mel_spectrogram(clips["f2"]), atol=1e-5)
    errors = state.frame_errors("f5")  # window context of f5 is 0 (its true one is 1)
    expected = (frames["f5"].astype(float) ** 2).sum(axis=1) / 320
    np.testing.assert_allclose(errors, expected)
    assert set(model.contexts[-1].tolist()) == {0}
    true_state = ContextTimelineState(_table(), frames=frames, model=MeanSquare(),
                                      score_context="true")
    np.testing.assert_allclose(true_state.frame_errors("f5"), 2 * expected)
    with pytest.raises(ValueError, match="score_context"):
        ContextTimelineState(_table(), score_context="oracle")
    unknown = _table()
    unknown.loc[5, "window_context"] = -1
    assert ContextTimelineState(unknown, frames=frames, model=model).frame_errors("f5") is None


def test_from_fit_scores_the_stream_with_its_contexts():
    from astroad_nb.data.sounds import simulate_machine_sounds
    from astroad_nb.features.sounds import sound_frames
    from astroad_nb.models.context import ContextStream, FiLMAutoEncoder

    sounds = simulate_machine_sounds(n_normal=2, n_abnormal=1, snrs=(6,),
                                     machine_types=("fan", "valve"), machine_ids=(0,),
                                     duration=0.5, random_state=1)
    frames = sound_frames(sounds)
    ctx = sounds.context_index[frames.clip_index]
    film = FiLMAutoEncoder((8,), 2, epochs=1, random_state=0, device="cpu").fit(
        frames.frames, context=ctx)

    class Oracle:  # a predictor that knows: the window then recovers the true contexts
        def predict(self, X):
            return ctx

    state = ContextTimelineState.from_fit(sounds, film, ContextStream(window=3),
                                          predictor=Oracle(), frames=frames, threshold=0.0)
    assert state.ids == sounds.table["id"].tolist()
    assert state.context_names == ("fan_00", "valve_00")
    assert state.window_context.tolist() == [0, 0, 0, 0, 1, 1]  # the window lags one file
    expected = film.file_anomaly_score(frames.frames, frames.clip_index,
                                       context=state.window_context[frames.clip_index])
    np.testing.assert_allclose(state.scores, expected, rtol=1e-6)
    np.testing.assert_allclose(state.frame_errors(state.ids[4]).mean(), state.scores[4],
                               rtol=1e-6)
    assert state.truth.tolist() == sounds.labels.tolist()
    assert state.audio(state.ids[0])[:4] == b"RIFF"  # the simulated clip, rendered again
    oracle = ContextTimelineState.from_fit(sounds, film, ContextStream(mode="oracle"),
                                           frames=frames)
    np.testing.assert_array_equal(oracle.window_context, sounds.context_index)
    with pytest.raises(ValueError, match="pass predictor="):
        ContextTimelineState.from_fit(sounds, film, ContextStream(), frames=frames)


@pytest.mark.realdata
def test_real_mimii_clips_from_fit_then_from_their_wav_paths(real_data, tmp_path):
    from astroad_nb.data.sounds import read_mimii
    from astroad_nb.features.sounds import sound_frames
    from astroad_nb.models.context import ContextStream, FiLMAutoEncoder

    valve = read_mimii(real_data("sounds", "mimii_valve_6dB"))  # 8-channel, 10 s clips
    frames = sound_frames(valve)
    film = FiLMAutoEncoder((8,), 2, epochs=1, random_state=0, device="cpu").fit(
        frames.frames, context=valve.context_index[frames.clip_index])
    fitted = ContextTimelineState.from_fit(valve, film, ContextStream(mode="oracle"),
                                           frames=frames)
    assert fitted.context_names[fitted.window_context[0]] == "valve_00"
    assert fitted.truth.tolist() == valve.labels.tolist()
    assert all(fitted.table["wav_path"].str.endswith(".wav"))
    # the table alone (what a protocol run stores): samples come from wav_path, channel 0
    alone = ContextTimelineState(fitted.table, contexts=valve.contexts)
    first = valve.clips([0])[0]
    np.testing.assert_allclose(alone.waveform(alone.ids[0])[0], first)
    back = tmp_path / "back.wav"
    back.write_bytes(alone.audio(alone.ids[0]))
    np.testing.assert_allclose(read_wav(back)[0], first, atol=1 / 32768)  # mono 16-bit
    assert alone.logmel(alone.ids[0]).shape == (64, 313)
    assert alone.frame_errors(alone.ids[0]) is None  # no model given


def test_from_run_takes_the_objects_or_the_table_alone():
    from astroad_nb.protocols._base import Run

    clips = {f"f{i}": _clip(i) for i in range(N)}
    run = Run(system="context", title="t", preset={}, tables={"timeline": _table()},
              headline="timeline", config={"contexts": ["fan_00", "pump_02"]},
              objects={"timeline": {"table": _table(), "sounds": clips, "model": MeanSquare(),
                                    "frames": None, "contexts": ["fan_00", "pump_02"]}})
    state = ContextTimelineState.from_run(run, threshold=0.5)
    assert state.threshold == 0.5 and state.context_names == ("fan_00", "pump_02")
    assert state.audio("f0")[:4] == b"RIFF" and state.frame_errors("f0") is not None
    stored = Run.from_json(run.to_json())  # read back from JSON: no objects
    alone = ContextTimelineState.from_run(stored)
    assert alone.context_names == ("fan_00", "pump_02") and alone.audio("f0") is None
    np.testing.assert_allclose(alone.scores, state.scores)
