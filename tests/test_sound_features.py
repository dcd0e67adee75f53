"""Log-mel frames in torch: the seed's shapes and layout, the Slaney filterbank, batching, and
equality with librosa (when installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from astroad_nb.data.sounds import simulate_clip
from astroad_nb.features.sounds import (
    SoundFrames,
    hz_to_mel,
    log_mel_spectrogram,
    logmel_frames,
    mel_filterbank,
    mel_to_hz,
    n_vectors,
    sound_frames,
    stack_frames,
)


@pytest.fixture(scope="module")
def clips():
    """Three 10 s clips: a valve (impulsive), a fan at -6 dB, a pump at +6 dB."""
    return np.stack([simulate_clip("valve", 0, snr_db=6.0).mixture,
                     simulate_clip("fan", 2, snr_db=-6.0, index=1).mixture,
                     simulate_clip("pump", 4, label=1, snr_db=6.0).mixture])


def test_slaney_mel_scale():
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(200.0) == pytest.approx(3.0)  # linear below 1 kHz: 200/3 Hz per mel
    hz = np.array([0.0, 440.0, 1000.0, 4321.0, 8000.0])
    assert np.allclose(mel_to_hz(hz_to_mel(hz)), hz)


def test_filterbank_shape_and_constant_area():
    fb = mel_filterbank(16000, 1024, 64)
    assert fb.shape == (64, 513) and (fb >= 0).all()
    df = 16000 / 1024
    area = fb.sum(axis=1) * df  # each triangle is scaled to unit area in Hz
    wide = (fb > 0).sum(axis=1) >= 8
    assert wide.sum() >= 40 and np.allclose(area[wide], 1.0, atol=0.05)
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # filters rise in frequency


def test_seed_shapes_309_by_320_and_frame_layout(clips):
    L = log_mel_spectrogram(clips)
    assert L.shape == (3, 64, 313) and L.dtype == np.float32
    V = logmel_frames(clips)
    assert V.shape == (3, 309, 320) and n_vectors(160000) == 309
    # vector j holds frames j..j+4, frame j+t in columns 64t..64t+63 (the MIMII baseline)
    for j, t in ((0, 0), (7, 3), (308, 4)):
        assert np.array_equal(V[1, j, 64 * t:64 * (t + 1)], L[1, :, j + t])
    assert logmel_frames(clips[0]).shape == (1, 309, 320)
    assert torch.is_tensor(logmel_frames(clips[:1], as_tensor=True))
    assert stack_frames(L, 3).shape == (3, 311, 192)


def test_silence_hits_the_eps_floor():
    L = log_mel_spectrogram(np.zeros((1, 16000)))
    assert np.allclose(L, 10 * np.log10(np.float32(sys.float_info.epsilon)), atol=1e-3)


def test_batching_changes_nothing_and_frames_trace_their_clip(clips):
    whole = sound_frames(clips, batch_size=3)
    one_by_one = sound_frames(list(clips), batch_size=1)
    assert np.allclose(whole.frames, one_by_one.frames, atol=1e-4)
    mixed = sound_frames([clips[0], clips[1][:80000], clips[2]], batch_size=2)
    assert mixed.counts.tolist() == [309, 153, 309]
    assert mixed.offsets.tolist() == [0, 309, 462, 771]
    assert np.array_equal(mixed.clip_index, np.repeat([0, 1, 2], [309, 153, 309]))
    assert np.allclose(mixed.of_clip(2), whole.of_clip(2), atol=1e-4)
    score = np.arange(len(mixed), dtype=float)
    assert mixed.per_clip(score).tolist() == [154.0, 385.0, 616.0]
    assert mixed.per_clip(score, "max").tolist() == [308.0, 461.0, 770.0]
    with pytest.raises(ValueError, match=r"values must have shape \(771,\)"):
        mixed.per_clip(score[:5])


def test_sound_frames_of_a_sound_set_follow_its_rows():
    from astroad_nb.data.sounds import simulate_machine_sounds

    s = simulate_machine_sounds(n_normal=2, n_abnormal=1, snrs=(0.0,), machine_types=("fan",),
                                machine_ids=(0, 6), duration=2.0)
    f = sound_frames(s, batch_size=4)
    assert isinstance(f, SoundFrames) and f.counts.tolist() == [n_vectors(32000)] * 6
    assert np.allclose(f.of_clip(4), logmel_frames(s.load([4]))[0], atol=1e-4)
    part = sound_frames(s, idx=[5, 1])
    assert np.allclose(part.of_clip(0), f.of_clip(5), atol=1e-4)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"shape \(N, T\) or \(T,\)"):
        log_mel_spectrogram(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="too short for n_fft=1024"):
        log_mel_spectrogram(np.zeros((1, 300)))
    with pytest.raises(ValueError, match="pad_mode must be"):
        log_mel_spectrogram(np.zeros((1, 4000)), pad_mode="edge")


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_equals_librosa_to_a_thousandth_of_a_db(clips, pad_mode, real_data_path_or_none):
    librosa = pytest.importorskip("librosa")
    waves = list(clips)
    if real_data_path_or_none is not None:  # a real 8-channel MIMII clip, channel 0
        from astroad_nb.data.sounds import read_wav

        waves.append(read_wav(real_data_path_or_none)[0])
    ours = log_mel_spectrogram(np.stack(waves), pad_mode=pad_mode)
    for y, mine in zip(waves, ours):
        mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=16000, n_fft=1024,
                                             hop_length=512, n_mels=64, power=2.0,
                                             pad_mode=pad_mode)
        ref = 10.0 * np.log10(mel + sys.float_info.epsilon)
        assert ref.shape == mine.shape
        assert np.abs(mine - ref).max() < 1e-3
    fb = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, dtype=np.float64)
    assert np.allclose(mel_filterbank(), fb, rtol=1e-10, atol=1e-12)


@pytest.fixture
def real_data_path_or_none():
    from astroad_nb._config import real_data_path

    return real_data_path("sounds", "mimii_types", "pump_normal.wav")
