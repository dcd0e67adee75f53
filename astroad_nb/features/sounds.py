"""Machine sounds -> log-mel frames, in torch (the seed's MIMII baseline features).

``waveform -> |STFT|**power`` (Hann window ``n_fft``, hop ``hop_length``, centred frames with
reflect padding) ``-> Slaney mel filterbank -> 10 log10(mel + eps)`` (dB; ``20 / power *
log10``, which is 10 for power 2), then ``n_frames`` consecutive frames stacked into one vector:
with the seed's settings (64 mels, n_fft 1024, hop 512, power 2, 5 frames) a 10 s clip at
16 kHz gives 313 mel frames and **309 vectors of 320 values**. Vector ``j`` holds mel frames
``j, j+1, ..., j+4``, frame ``j+t`` in columns ``64 t .. 64 t + 63`` (the baseline's layout).

No librosa or torchaudio at run time: the mel filterbank is written out here (it equals
``librosa.filters.mel(htk=False, norm="slaney")``) and the STFT is ``torch.stft``; the result
equals librosa's to 1e-3 dB (a test checks it when librosa is installed). The seed's
librosa (0.6/0.7) padded centred frames by reflection; librosa >= 0.10 pads with zeros by
default, so compare with ``pad_mode="reflect"``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["EPS", "HOP_LENGTH", "N_FFT", "N_FRAMES", "N_MELS", "POWER", "SoundFrames",
           "hz_to_mel", "log_mel_spectrogram", "logmel_frames", "mel_filterbank", "mel_to_hz",
           "n_vectors", "sound_frames", "stack_frames"]

N_MELS, N_FFT, HOP_LENGTH, POWER, N_FRAMES = 64, 1024, 512, 2.0, 5
#: Added to the mel power before the log, as the seed (``sys.float_info.epsilon``).
EPS: float = sys.float_info.epsilon

_F_SP = 200.0 / 3  # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ, _MIN_LOG_MEL = 1000.0, 1000.0 / (200.0 / 3)
_LOGSTEP = np.log(6.4) / 27.0  # mel step above 1 kHz is logarithmic


def hz_to_mel(hz):
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as ``htk=False``.

    Parameters
    ----------
    hz : float or array-like
        Frequencies in Hz.

    Returns
    -------
    numpy.ndarray
        Mels.
    """
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    high = hz >= _MIN_LOG_HZ
    return np.where(high, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-300) / _MIN_LOG_HZ)
                    / _LOGSTEP, mel)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel` (mels -> Hz)."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _MIN_LOG_MEL,
                    _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


def mel_filterbank(sample_rate: int = 16000, n_fft: int = N_FFT, n_mels: int = N_MELS, *,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters on the STFT bins, Slaney-normalised (constant area per filter).

    Filter ``m`` rises linearly from mel point ``m`` to ``m + 1`` and falls to ``m + 2``, the
    ``n_mels + 2`` points equally spaced in Slaney mels over ``[fmin, fmax]``, and is scaled by
    ``2 / (f[m + 2] - f[m])`` (Hz), as ``librosa.filters.mel(norm="slaney", htk=False)``.

    Parameters
    ----------
    sample_rate : int, default=16000
        Hz.
    n_fft : int, default=1024
    n_mels : int, default=64
    fmin : float, default=0.0
        Hz.
    fmax : float, optional
        Hz; default ``sample_rate / 2``.

    Returns
    -------
    numpy.ndarray, shape (n_mels, n_fft // 2 + 1), float64
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_hz = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    width = np.diff(edges)
    offset = edges[:, None] - fft_hz[None, :]
    rising = -offset[:-2] / width[:-1, None]
    falling = offset[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def _device(device):
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


_BANKS: dict = {}


def _bank(sample_rate, n_fft, n_mels, device, dtype):
    key = (int(sample_rate), int(n_fft), int(n_mels), str(device), dtype)
    if key not in _BANKS:
        _BANKS[key] = torch.as_tensor(mel_filterbank(sample_rate, n_fft, n_mels), dtype=dtype,
                                      device=device)
    return _BANKS[key]


def log_mel_spectrogram(waveforms, *, sample_rate: int = 16000, n_fft: int = N_FFT,
                        hop_length: int = HOP_LENGTH, n_mels: int = N_MELS,
                        power: float = POWER, pad_mode: str = "reflect", eps: float = EPS,
                        device="cpu", dtype=torch.float32, as_tensor: bool = False):
    """Log-mel spectrograms of equal-length clips, in one batched torch pass.

    Parameters
    ----------
    waveforms : array-like or torch.Tensor, shape (N, T) or (T,)
        Samples (full scale 1).
    sample_rate : int, default=16000
        Hz.
    n_fft, hop_length, n_mels : int, default=1024, 512, 64
    power : float, default=2.0
        Exponent of the STFT magnitude (2 = power).
    pad_mode : {"reflect", "constant"}, default="reflect"
        Padding of the centred frames (the seed's librosa reflected).
    eps : float, default=sys.float_info.epsilon
        Added before the log.
    device : str or torch.device, default="cpu"
        ``"auto"`` = CUDA when available.
    dtype : torch.dtype, default=torch.float32
        Computation precision (float64 for reference checks).
    as_tensor : bool, default=False
        Return the torch tensor on ``device`` instead of a numpy array.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, n_mels, 1 + T // hop_length)
        ``20 / power * log10(mel + eps)``, dB (float32 unless ``dtype`` says otherwise).

    Examples
    --------
    >>> log_mel_spectrogram(np.zeros((2, 160000))).shape
    (2, 64, 313)
    """
    x, squeeze = _batch(waveforms, device, dtype, n_fft, pad_mode)
    out = _log_mel_time_major(x, sample_rate, n_fft, hop_length, n_mels, power, pad_mode,
                              eps).transpose(1, 2)
    if squeeze:
        out = out[0]
    return out if as_tensor else out.cpu().numpy()


def _batch(waveforms, device, dtype, n_fft, pad_mode):
    """Validated (N, T) tensor on the device, and whether the input was one clip."""
    dev = _device(device)
    x = torch.as_tensor(np.asarray(waveforms) if not torch.is_tensor(waveforms) else waveforms)
    x = x.to(device=dev, dtype=dtype)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"waveforms must have shape (N, T) or (T,), got {tuple(x.shape)}")
    if pad_mode not in ("reflect", "constant"):
        raise ValueError(f"pad_mode must be 'reflect' or 'constant', got {pad_mode!r}")
    if x.shape[1] <= n_fft // 2 and pad_mode == "reflect":
        raise ValueError(f"clips of {x.shape[1]} samples are too short for n_fft={n_fft} with "
                         "reflect padding; pass longer clips or pad_mode='constant'")
    return x, squeeze


def _windowed_frames(x, n_fft, hop, pad_mode, window):
    """Centred frames times the window, (N, 1 + T // hop, n_fft): only the few frames that
    reach past either end are padded (padding the whole clip costs a copy of it)."""
    n, length = x.shape
    half = n_fft // 2
    steps = 1 + length // hop
    pad = torch.nn.functional.pad
    if length < 4 * n_fft:  # short clips: pad it all
        frames = pad(x[:, None], (half, half), mode=pad_mode)[:, 0].unfold(1, n_fft, hop)
        return frames * window
    out = torch.empty((n, steps, n_fft), dtype=x.dtype, device=x.device)
    first = -(-half // hop)  # first frame lying inside the clip
    last = (length - half) // hop  # last frame lying inside the clip
    inner = x[:, first * hop - half:].unfold(1, n_fft, hop)[:, : last - first + 1]
    torch.mul(inner, window, out=out[:, first:last + 1])
    if first > 0:  # frames 0 .. first-1 start before the clip (a spare frame of margin)
        head = pad(x[:, None, : first * hop + n_fft], (half, 0), mode=pad_mode)[:, 0]
        torch.mul(head.unfold(1, n_fft, hop)[:, :first], window, out=out[:, :first])
    if last + 1 < steps:  # frames last+1 .. steps-1 run past the end (one spare in front)
        start = last * hop - half
        tail = pad(x[:, None, start:], (0, half), mode=pad_mode)[:, 0]
        torch.mul(tail.unfold(1, n_fft, hop)[:, 1: steps - last], window,
                  out=out[:, last + 1:])
    return out


def _log_mel_time_major(x, sample_rate, n_fft, hop_length, n_mels, power, pad_mode, eps):
    """(N, T) -> (N, 1 + T // hop, n_mels) dB. Framing + rfft + re^2 + im^2 is the STFT power
    of ``torch.stft(center=True)`` without its complex abs (twice as fast on CPU)."""
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.view_as_real(torch.fft.rfft(_windowed_frames(x, n_fft, hop_length, pad_mode,
                                                              window), dim=-1))
    pw = torch.addcmul(spec[..., 0].square(), spec[..., 1], spec[..., 1])
    if power != 2.0:
        pw = pw.pow(power / 2.0)
    mel = torch.matmul(pw, _bank(sample_rate, n_fft, n_mels, x.device, x.dtype).T)
    return (20.0 / power) * torch.log10(mel + eps)


def stack_frames(logmel, n_frames: int = N_FRAMES):
    """Stack ``n_frames`` consecutive mel frames into one vector (the baseline's layout).

    Parameters
    ----------
    logmel : numpy.ndarray or torch.Tensor, shape (N, n_mels, n_steps)
    n_frames : int, default=5

    Returns
    -------
    same type as ``logmel``, shape (N, n_steps - n_frames + 1, n_mels * n_frames)
        Vector ``j``: frames ``j .. j + n_frames - 1``, frame ``j + t`` in columns
        ``n_mels * t .. n_mels * (t + 1) - 1``.
    """
    is_np = not torch.is_tensor(logmel)
    L = torch.as_tensor(logmel)
    if L.ndim != 3:
        raise ValueError(f"logmel must have shape (N, n_mels, n_steps), got {tuple(L.shape)}")
    n, m, steps = L.shape
    if steps < n_frames:
        raise ValueError(f"{steps} mel frames cannot hold a stack of n_frames={n_frames}")
    win = L.transpose(1, 2).unfold(1, n_frames, 1)  # (N, steps-k+1, n_mels, k)
    out = win.permute(0, 1, 3, 2).reshape(n, steps - n_frames + 1, m * n_frames)
    return out.numpy() if is_np else out


def n_vectors(n_samples: int, *, hop_length: int = HOP_LENGTH, n_frames: int = N_FRAMES) -> int:
    """Stacked vectors of a clip of ``n_samples``: ``1 + n_samples // hop - n_frames + 1``
    (309 for 10 s at 16 kHz)."""
    return 1 + int(n_samples) // hop_length - n_frames + 1


def logmel_frames(waveforms, *, n_frames: int = N_FRAMES, sample_rate: int = 16000,
                  n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, n_mels: int = N_MELS,
                  power: float = POWER, pad_mode: str = "reflect", device="cpu",
                  as_tensor: bool = False):
    """Stacked log-mel vectors of equal-length clips: the model input of the seed.

    Parameters
    ----------
    waveforms : array-like or torch.Tensor, shape (N, T)
    n_frames : int, default=5
    sample_rate, n_fft, hop_length, n_mels, power, pad_mode, device
        As :func:`log_mel_spectrogram`.
    as_tensor : bool, default=False

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 1 + T // hop_length - n_frames + 1,
    n_mels * n_frames), float32
        (N, 309, 320) for 10 s clips at 16 kHz with the defaults; dB.

    Examples
    --------
    >>> logmel_frames(np.zeros((3, 160000))).shape
    (3, 309, 320)
    """
    x, _ = _batch(waveforms, device, torch.float32, n_fft, pad_mode)
    L = _log_mel_time_major(x, sample_rate, n_fft, hop_length, n_mels, power, pad_mode, EPS)
    n, steps, m = L.shape
    if steps < n_frames:
        raise ValueError(f"{steps} mel frames cannot hold a stack of n_frames={n_frames}")
    out = L.unfold(1, n_frames, 1).permute(0, 1, 3, 2).reshape(n, steps - n_frames + 1,
                                                                 m * n_frames)
    return out if as_tensor else out.cpu().numpy()


@dataclass(frozen=True, eq=False)
class SoundFrames:
    """Stacked log-mel vectors of many clips, flattened, with the clip each came from.

    Attributes
    ----------
    frames : numpy.ndarray, shape (M, n_mels * n_frames), float32
        All vectors, clip after clip (dB).
    clip_index : numpy.ndarray, shape (M,), int64
        Position of each vector's clip in the input (0 .. N - 1): score per file with
        ``np.bincount(clip_index, weights=frame_score) / counts``.
    counts : numpy.ndarray, shape (N,), int64
        Vectors per clip (309 for 10 s clips).
    """

    frames: np.ndarray
    clip_index: np.ndarray
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def offsets(self) -> np.ndarray:
        """Start of each clip's vectors in :attr:`frames`, shape (N + 1,) (last = M)."""
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    def of_clip(self, i: int) -> np.ndarray:
        """The vectors of clip ``i``, shape (counts[i], D)."""
        o = self.offsets
        return self.frames[o[i]:o[i + 1]]

    def per_clip(self, values, reduce: str = "mean") -> np.ndarray:
        """Reduce one value per vector to one per clip.

        Parameters
        ----------
        values : array-like, shape (M,)
            E.g. a frame's reconstruction error.
        reduce : {"mean", "max", "sum"}, default="mean"

        Returns
        -------
        numpy.ndarray, shape (N,), float64
        """
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (len(self),):
            raise ValueError(f"values must have shape ({len(self)},), got {v.shape}")
        if reduce == "max":
            out = np.full(len(self.counts), -np.inf)
            np.maximum.at(out, self.clip_index, v)
            return out
        total = np.bincount(self.clip_index, weights=v, minlength=len(self.counts))
        if reduce == "sum":
            return total
        if reduce != "mean":
            raise ValueError(f"reduce must be 'mean', 'max' or 'sum', got {reduce!r}")
        return total / np.maximum(self.counts, 1)


def sound_frames(sounds, *, batch_size: int = 8, n_frames: int = N_FRAMES,
                 n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, n_mels: int = N_MELS,
                 power: float = POWER, pad_mode: str = "reflect", sample_rate: int | None = None,
                 device="cpu", idx=None) -> SoundFrames:
    """Stacked log-mel vectors of every clip of a :class:`~astroad_nb.data.sounds.SoundSet`
    (or of a list / array of clips), computed ``batch_size`` clips at a time.

    Parameters
    ----------
    sounds : SoundSet, sequence of 1-D arrays, or array of shape (N, T)
        Clips may differ in length (each batch groups equal lengths).
    batch_size : int, default=8
        Clips per torch pass (~3 MB of temporaries per 10 s clip).
    n_frames, n_fft, hop_length, n_mels, power, pad_mode, device
        As :func:`logmel_frames`.
    sample_rate : int, optional
        Hz; default the SoundSet's rate, else 16000.
    idx : int array, bool mask or slice, optional
        Only these clips of a SoundSet (``clip_index`` then counts within the selection).

    Returns
    -------
    SoundFrames
        ``frames`` (M, n_mels * n_frames) float32, ``clip_index`` (M,), ``counts`` (N,).

    Examples
    --------
    >>> f = sound_frames([np.zeros(160000), np.zeros(80000)])
    >>> f.frames.shape, f.counts.tolist()
    ((462, 320), [309, 153])
    """
    if hasattr(sounds, "iter_batches"):
        rate = sounds.sample_rate if sample_rate is None else sample_rate
        batches = (clips for _, clips in sounds.iter_batches(batch_size, idx=idx))
    else:
        rate = 16000 if sample_rate is None else sample_rate
        clips = list(sounds)  # rows of an (N, T) array, or the clips of a list
        batches = (clips[i:i + batch_size] for i in range(0, len(clips), batch_size))
    parts, counts = [], []
    for batch in batches:
        by_length: dict[int, list[int]] = {}
        for k, c in enumerate(batch):
            by_length.setdefault(len(c), []).append(k)
        out: list = [None] * len(batch)
        for members in by_length.values():
            stack = np.stack([np.asarray(batch[k], dtype=np.float32) for k in members])
            vec = logmel_frames(stack, n_frames=n_frames, sample_rate=rate, n_fft=n_fft,
                                hop_length=hop_length, n_mels=n_mels, power=power,
                                pad_mode=pad_mode, device=device)
            for k, v in zip(members, vec):
                out[k] = v
        parts.append(out)
        counts.extend(len(v) for v in out)
    counts = np.asarray(counts, dtype=np.int64)
    frames = np.empty((int(counts.sum()), n_mels * n_frames), np.float32)
    at = 0
    for part in parts:  # one copy into the result, batch by batch
        for v in part:
            frames[at:at + len(v)] = v
            at += len(v)
    clip_index = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return SoundFrames(frames=frames, clip_index=clip_index, counts=counts)
