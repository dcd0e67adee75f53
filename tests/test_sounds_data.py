"""Machine sounds: WAV reading, the MIMII / DCASE layouts, the seed's split, the simulator and
the real clips of ../shared/data/sounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astroad_nb.data.sounds import (
    ANOMALIES,
    MIMII_CONTEXTS,
    MIMII_COUNTS,
    SampleRateError,
    SoundSet,
    WavReadError,
    mix_at_snr,
    parse_snr,
    read_dcase,
    read_mimii,
    read_wav,
    simulate_clip,
    simulate_machine_sounds,
    snr_folder,
    split_mimii,
    wav_bytes,
    wav_info,
    write_wav,
)

FS = 16000


def _tone(n=1600, channels=1, f=440.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    x = 0.3 * np.sin(2 * np.pi * f * t)[:, None] + 0.05 * rng.standard_normal((n, channels))
    return x[:, 0] if channels == 1 else x


# -- WAV -------------------------------------------------------------------------------------
@pytest.mark.parametrize("subtype, tol", [("PCM_16", 2 ** -15), ("PCM_24", 2 ** -23),
                                          ("PCM_32", 1e-7), ("FLOAT", 1e-7)])
@pytest.mark.parametrize("backend", ["soundfile", "scipy"])
def test_wav_round_trip_takes_channel_0_of_8_channel_extensible_files(tmp_path, subtype, tol,
                                                                      backend):
    if backend == "soundfile":
        pytest.importorskip("soundfile")
    x = _tone(channels=8)
    x[:, 0] *= -1  # channel 0 differs from the others
    path = tmp_path / "clip.wav"
    write_wav(path, x, FS, subtype=subtype)
    info = wav_info(path)
    assert (info.channels, info.sample_rate, info.n_frames, info.extensible) == (8, FS, 1600,
                                                                                  True)
    assert info.encoding == ("float" if subtype == "FLOAT" else "pcm")
    y, rate = read_wav(path, backend=backend)
    assert rate == FS and y.dtype == np.float32 and y.shape == (1600,)
    assert np.abs(y - x[:, 0]).max() <= tol
    mean, _ = read_wav(path, channel="mean", backend=backend)
    assert np.allclose(mean, x.mean(axis=1), atol=tol * 2)


def test_standard_library_wave_refuses_what_we_read(tmp_path):
    import wave

    path = tmp_path / "ext.wav"
    path.write_bytes(wav_bytes(_tone(channels=8), FS))
    with pytest.raises(wave.Error):
        wave.open(str(path)).close()
    assert read_wav(path)[0].shape == (1600,)


def test_bad_wavs_get_named_errors(tmp_path):
    good = tmp_path / "good.wav"
    write_wav(good, _tone(channels=2), FS)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(WavReadError, match=r"truncated\.wav: truncated: the header declares "
                                           r"1600 frames"):
        wav_info(truncated)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"ID3" + bytes(100))
    with pytest.raises(WavReadError, match="junk.wav: not a RIFF/WAVE file"):
        read_wav(junk)
    with pytest.raises(WavReadError, match="has 2 channel"):
        read_wav(good, channel=2)
    with pytest.raises(FileNotFoundError):
        wav_info(tmp_path / "missing.wav")


def test_wrong_rate_is_refused_unless_resampling_is_asked(tmp_path):
    path = tmp_path / "cd.wav"
    write_wav(path, _tone(n=4410), 44100)
    with pytest.raises(SampleRateError, match=r"sample rate 44100 Hz, expected 16000 Hz; pass "
                                              r"resample=True") as info:
        read_wav(path)
    assert (info.value.found, info.value.expected) == (44100, 16000)
    y, rate = read_wav(path, resample=True)
    assert rate == 16000 and y.shape == (1600,)
    assert read_wav(path, sample_rate=None)[1] == 44100


# -- layouts ---------------------------------------------------------------------------------
def _write(path, *, rate=FS, channels=8, subtype="PCM_16", n=1600, seed=0):
    write_wav(path, _tone(n=n, channels=channels, seed=seed), rate, subtype=subtype)
    return path


def test_snr_names():
    cases = {"6dB": 6.0, "0dB": 0.0, "min6dB": -6.0, "-6_dB_fan": -6.0, "6_dB_valve": 6.0,
             "0_dB_pump": 0.0, "mimii_valve_6dB": 6.0, "valve": None, "id_00": None}
    assert {k: parse_snr(k) for k in cases} == cases
    assert [snr_folder(s) for s in (-6, 0, 6)] == ["min6dB", "0dB", "6dB"]


def test_read_mimii_layouts_contexts_and_bad_files(tmp_path):
    root = tmp_path / "mimii"
    for snr in ("6dB", "min6dB"):
        _write(root / snr / "fan" / "id_00" / "normal" / "00000001.wav")
        _write(root / snr / "fan" / "id_00" / "normal" / "00000000.wav")
        _write(root / snr / "valve" / "id_06" / "abnormal" / "00000000.wav")
    _write(root / "-6_dB_pump" / "pump" / "id_02" / "normal" / "00000000.wav")  # zip naming
    _write(root / "0dB" / "slider" / "id_04" / "normal" / "deep24.wav", subtype="PCM_24")
    _write(root / "0dB" / "slider" / "id_04" / "normal" / "cd.wav", rate=44100)
    (root / "0dB" / "slider" / "id_04" / "normal" / "cut.wav").write_bytes(
        wav_bytes(_tone(channels=8), FS)[:5000])
    _write(root / "stray" / "notes.wav")
    s = read_mimii(root)
    t = s.table
    assert len(s) == 8 and s.contexts == MIMII_CONTEXTS
    assert t["id"].tolist()[:2] == ["-6_dB_pump/pump/id_02/normal/00000000",
                                    "0dB/slider/id_04/normal/deep24"]
    row = t.set_index("id").loc["min6dB/valve/id_06/abnormal/00000000"]
    assert (row.machine_type, row.machine_id, row.context, row.context_name, row.snr_db,
            row.label, row.sample_rate, row.n_samples, row.channels) == (
        "valve", 6, 15, "valve_06", -6.0, 1, FS, 1600, 8)
    assert t.set_index("id").loc["-6_dB_pump/pump/id_02/normal/00000000", "snr_db"] == -6.0
    assert t.set_index("id").loc["0dB/slider/id_04/normal/deep24", "bits_per_sample"] == 24
    rejected = dict(zip(s.rejected["path"].map(lambda p: p.split("/")[-1]),
                        s.rejected["reason"]))
    assert set(rejected) == {"cd.wav", "cut.wav", "notes.wav"}
    assert rejected["cd.wav"].startswith("sample rate 44100 Hz, expected 16000 Hz")
    assert rejected["cut.wav"].startswith("truncated")
    assert rejected["notes.wav"].startswith("not in the MIMII layout")
    clips = s.load()
    assert clips.shape == (8, 1600) and clips.dtype == np.float32
    assert np.allclose(clips[2], _tone(channels=8)[:, 0], atol=2 ** -15)  # channel 0
    found = read_mimii(root, contexts="found")
    assert found.contexts == ("fan_00", "pump_02", "slider_04", "valve_06")
    with pytest.raises(WavReadError, match="cd.wav: sample rate 44100"):
        read_mimii(root / "0dB", on_error="raise")


def test_read_mimii_single_type_folder_and_flat_names(tmp_path):
    typed = tmp_path / "mimii_valve_6dB" / "valve"
    _write(typed / "id_00" / "normal" / "00000000.wav")
    _write(typed / "id_06" / "abnormal" / "00000008.wav")
    s = read_mimii(typed)
    assert s.table[["context", "snr_db", "label"]].values.tolist() == [[12, 6.0, 0],
                                                                        [15, 6.0, 1]]
    one_id = read_mimii(typed / "id_06")
    assert one_id.table["context_name"].tolist() == ["valve_06"]
    flat = tmp_path / "types"
    _write(flat / "pump_normal.wav")
    _write(flat / "pump_abnormal.wav")
    f = read_mimii(flat, snr=0.0)
    assert f.table[["machine_type", "machine_id", "context", "label", "snr_db"]].values.tolist(
    ) == [["pump", -1, -1, 1, 0.0], ["pump", -1, -1, 0, 0.0]]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .wav file"):
        read_mimii(tmp_path / "empty")


def test_read_dcase_layout(tmp_path):
    root = tmp_path / "dev_data"
    for k in range(3):
        _write(root / "fan" / "train" / f"normal_id_02_{k:08d}.wav", channels=1, seed=k)
    _write(root / "fan" / "test" / "anomaly_id_02_00000000.wav", channels=1)
    _write(root / "fan" / "test" / "normal_id_04_00000000.wav", channels=1)
    _write(root / "fan" / "test" / "id_04_00000001.wav", channels=1)  # evaluation: no label
    _write(root / "fan" / "test" / "readme.wav", channels=1)
    s = read_dcase(root)
    t = s.table
    assert len(s) == 6 and s.contexts == ("fan_02", "fan_04")
    assert t["set"].value_counts().to_dict() == {"train": 3, "test": 3}
    assert sorted(t["label"].tolist()) == [-1, 0, 0, 0, 0, 1]
    assert (t["machine_type"] == "fan").all() and t["snr_db"].isna().all()
    assert s.rejected["reason"].str.contains("not named <normal|anomaly>_id_XX").all()
    plain = tmp_path / "dcase_id00"
    _write(plain / "train" / "normal_id_00_00000000.wav", channels=1)
    assert read_dcase(plain, machine_type="pump").contexts == ("pump_00",)
    assert read_dcase(plain).table["machine_type"].tolist() == ["unknown"]


# -- split -----------------------------------------------------------------------------------
def _cell_table(n_normal, n_abnormal, snrs=(6.0, -6.0), ids=(0, 2)):
    rows = []
    for snr in snrs:
        for i in ids:
            for label, count in ((0, n_normal), (1, n_abnormal)):
                for k in range(count):
                    rows.append({"snr_db": snr, "machine_type": "fan", "machine_id": i,
                                 "label": label,
                                 "path": f"{snr}/fan/id_{i:02d}/{label}/{k:08d}.wav"})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)


def test_split_mimii_reproduces_the_seed_and_its_leak():
    t = _cell_table(n_normal=41, n_abnormal=7)
    seed = split_mimii(t)
    summary = seed.summary(t)
    assert len(summary) == 4
    # per machine: 41 normals -> 20 test, 21 train; validation = int(0.1 * 21) = 2 of the test
    assert (summary[["train", "val", "test_normal", "test_abnormal"]].values
            == [21, 2, 20, 7]).all()
    assert set(seed.val) <= set(seed.test)  # the leak the seed admits
    cell = t[(t.snr_db == 6.0) & (t.machine_id == 0)]
    normals = cell[cell.label == 0].sort_values("path")
    assert set(t.loc[seed.train, "path"]) >= set(normals["path"].iloc[20:])
    assert set(t.loc[seed.val, "path"]) >= set(normals["path"].iloc[:2])
    assert not set(seed.train) & set(seed.test)
    free = split_mimii(t, leak_free=True)
    assert np.array_equal(free.train, seed.train) and np.array_equal(free.val, seed.val)
    assert not set(free.val) & set(free.test)
    assert len(free.test) == len(seed.test) - len(seed.val)


def test_split_mimii_names_missing_columns():
    with pytest.raises(ValueError, match=r"needs columns \['snr_db'\]"):
        split_mimii(pd.DataFrame({"machine_type": ["fan"], "machine_id": [0], "label": [0]}))


# -- container -------------------------------------------------------------------------------
def test_sound_set_subset_concat_and_batches():
    a = SoundSet(pd.DataFrame({"context_name": ["fan_00", "fan_02", "fan_00"], "label": 0}),
                 waveforms=np.arange(12, dtype=np.float32).reshape(3, 4))
    b = SoundSet(pd.DataFrame({"context_name": ["pump_00"], "label": 1}),
                 waveforms=np.ones((1, 4)))
    ab = SoundSet.concat([a, b])
    assert ab.contexts == ("fan_00", "fan_02", "pump_00")
    assert ab.context_index.tolist() == [0, 1, 0, 2] and ab.labels.tolist() == [0, 0, 0, 1]
    sub = ab.subset(ab.labels == 0)
    assert sub.contexts == ab.contexts and len(sub) == 3
    batches = list(ab.iter_batches(3))
    assert [p.tolist() for p, _ in batches] == [[0, 1, 2], [3]]
    assert np.array_equal(batches[0][1][2], a.waveforms[2])
    with pytest.raises(ValueError, match=r"waveforms must have shape \(N=2, T\)"):
        SoundSet(pd.DataFrame({"label": [0, 0]}), waveforms=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="needs waveforms= or a loader="):
        SoundSet(pd.DataFrame({"label": [0]}))


# -- simulator -------------------------------------------------------------------------------
@pytest.mark.parametrize("snr", [-6.0, 0.0, 6.0])
def test_simulated_background_is_mixed_at_exactly_the_snr(snr):
    for kind in ("fan", "pump", "slider", "valve"):
        clip = simulate_clip(kind, 2, snr_db=snr, index=3, duration=2.0)
        m, b = clip.machine.astype(np.float64), clip.background.astype(np.float64)
        measured = 10 * np.log10(np.mean(m ** 2) / np.mean(b ** 2))
        assert abs(measured - snr) < 0.1 and abs(measured - snr) < 1e-3
        assert np.allclose(clip.mixture, m + b, atol=1e-6)
    with pytest.raises(ValueError, match="background is silent"):
        mix_at_snr(np.ones(10), np.zeros(10), 0.0)


def test_simulator_is_seeded_per_clip_and_mixes_one_recording_at_every_snr():
    kw = dict(machine_types=("pump", "valve"), machine_ids=(0, 6), n_normal=2, n_abnormal=1,
              duration=1.0)
    s = simulate_machine_sounds(random_state=5, **kw)
    assert len(s) == 3 * 2 * 2 * 3 and s.contexts == ("pump_00", "pump_06", "valve_00",
                                                      "valve_06")
    assert s.table["id"].iloc[0] == "min6dB/pump/id_00/normal/00000000"
    x = s.load()
    assert x.shape == (36, 16000) and x.dtype == np.float32 and np.isfinite(x).all()
    again = simulate_machine_sounds(random_state=5, snrs=(6.0,), **kw)  # another set, same clip
    pick = s.table.index[s.table["id"] == "6dB/valve/id_06/abnormal/00000000"][0]
    same = again.table.index[again.table["id"] == "6dB/valve/id_06/abnormal/00000000"][0]
    assert np.array_equal(x[pick], again.load([same])[0])
    row = s.table.loc[pick]
    direct = simulate_clip("valve", 6, label=1, index=0, snr_db=6.0, random_state=5,
                           duration=1.0)
    assert direct.anomaly == row.anomaly and np.array_equal(direct.mixture, x[pick])
    ids = s.table["id"].tolist()
    i6, im6 = (ids.index(f"{snr}/pump/id_00/normal/00000000") for snr in ("6dB", "min6dB"))
    parts6 = simulate_clip("pump", 0, snr_db=6.0, random_state=5, duration=1.0)
    parts_m6 = simulate_clip("pump", 0, snr_db=-6.0, random_state=5, duration=1.0)
    assert np.array_equal(parts6.machine, parts_m6.machine)  # same machine, louder background
    assert np.allclose(parts_m6.background, parts6.background * 10 ** (12 / 20), rtol=1e-5)
    assert np.array_equal(x[i6], parts6.mixture) and np.array_equal(x[im6], parts_m6.mixture)
    other = simulate_machine_sounds(random_state=6, **kw).load([0])[0]
    assert not np.allclose(other, x[0])


def test_simulated_counts_follow_mimii_and_anomalies_their_type():
    s = simulate_machine_sounds(scale=0.05, snrs=(0.0,))
    counts = s.table.groupby(["context_name", "label"]).size().unstack()
    for name, (normal, abnormal) in MIMII_COUNTS.items():
        assert counts.loc[name, 0] == max(2, round(normal * 0.05))
        assert counts.loc[name, 1] == max(1, round(abnormal * 0.05))
    ab = s.table[s.labels == 1]
    assert all(k in ANOMALIES[t] for t, k in zip(ab.machine_type, ab.anomaly))
    assert (s.table.loc[s.labels == 0, "anomaly"] == "").all()
    assert ab["anomaly"].nunique() == sum(len(v) for v in ANOMALIES.values()) - 2  # 2 shared
    with pytest.raises(ValueError, match="machine_id must be one of"):
        simulate_machine_sounds(machine_ids=(1,))
    with pytest.raises(ValueError, match="random_state must be an int"):
        simulate_machine_sounds(random_state=None)


def test_simulated_contexts_are_confusable_but_learnable():
    """Per-file context accuracy without a window lies well between chance (1/16) and 1 (the
    window must matter), and ``context_jitter`` is the knob: less jitter, easier contexts."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from astroad_nb.features.sounds import sound_frames

    def accuracy(jitter):
        s = simulate_machine_sounds(n_normal=8, n_abnormal=0, snrs=(6.0,), duration=4.0,
                                    context_jitter=jitter, random_state=2)
        f = sound_frames(s)
        clip_mean = f.frames.reshape(-1, 5, 64).mean(1)
        X = np.stack([clip_mean[f.clip_index == i].mean(0) for i in range(len(s))])
        train = s.table["index"].to_numpy() % 2 == 0
        sc = StandardScaler().fit(X[train])
        model = LogisticRegression(max_iter=2000).fit(sc.transform(X[train]),
                                                      s.context_index[train])
        return float((model.predict(sc.transform(X[~train])) == s.context_index[~train]).mean())

    tuned = accuracy(1.0)
    assert 0.45 <= tuned <= 0.9
    assert accuracy(0.0) >= tuned + 0.1 and accuracy(2.0) <= tuned - 0.1


# -- real clips ------------------------------------------------------------------------------
@pytest.mark.realdata
def test_every_real_clip_in_shared_sounds_is_read(real_data):
    from astroad_nb.features.sounds import sound_frames

    valve = read_mimii(real_data("sounds", "mimii_valve_6dB"))
    assert len(valve) == 4 and len(valve.rejected) == 0
    assert valve.table[["context_name", "context", "snr_db", "label"]].values.tolist() == [
        ["valve_00", 12, 6.0, 0], ["valve_00", 12, 6.0, 0], ["valve_06", 15, 6.0, 1],
        ["valve_06", 15, 6.0, 0]]
    assert (valve.table["channels"] == 8).all()  # WAVE_FORMAT_EXTENSIBLE, 8 microphones
    types = read_mimii(real_data("sounds", "mimii_types"))
    assert len(types) == 6 and len(types.rejected) == 0
    assert sorted(zip(types.table.machine_type, types.table.label)) == [
        ("pump", 0), ("pump", 1), ("slider", 0), ("slider", 1), ("valve", 0), ("valve", 1)]
    dcase = read_dcase(real_data("sounds", "dcase_id00"))
    assert len(dcase) == 76 and len(dcase.rejected) == 0
    assert dcase.table.groupby(["set", "label"]).size().to_dict() == {("test", 1): 1,
                                                                     ("train", 0): 75}
    everything = SoundSet.concat([valve, types, dcase])
    assert len(everything) == 86
    x = everything.load()
    assert x.shape == (86, 160000) and np.isfinite(x).all()
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1))
    assert (rms > 1e-4).all() and (np.abs(x).max(axis=1) < 1).all()  # real sound, no clipping
    frames = sound_frames(everything, batch_size=32)
    assert frames.frames.shape == (86 * 309, 320)
    assert np.isfinite(frames.frames).all()
