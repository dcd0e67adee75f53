"""WAV files: header inspection, decoding (channel 0 of multichannel files) and writing.

Real MIMII files are 8-channel ``WAVE_FORMAT_EXTENSIBLE`` (format tag 0xFFFE), which the
standard-library :mod:`wave` refuses. :func:`wav_info` walks the RIFF chunks itself, so the
readers can validate a file (rate, channels, encoding, truncation) without decoding it;
:func:`read_wav` decodes with ``soundfile`` when it is installed, else ``scipy.io.wavfile``.
Both give the same float32 samples in [-1, 1): PCM is divided by 2**(bits - 1).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

__all__ = [
    "SampleRateError",
    "WavInfo",
    "WavReadError",
    "read_wav",
    "wav_bytes",
    "wav_info",
    "write_wav",
]

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_WRITE_SUBTYPES = {"PCM_16": (_PCM, 16), "PCM_24": (_PCM, 24), "PCM_32": (_PCM, 32),
                   "FLOAT": (_FLOAT, 32), "DOUBLE": (_FLOAT, 64)}


class WavReadError(ValueError):
    """A WAV file could not be read or did not hold what was expected.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file.
    reason : str
        What was found and what was expected (and the fix, where there is one).

    Attributes
    ----------
    path, reason : str
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class SampleRateError(WavReadError):
    """The file's sample rate is not the expected one and resampling was not asked for.

    Attributes
    ----------
    found, expected : int
        Sample rates in Hz.
    """

    def __init__(self, path, found: int, expected: int):
        self.found, self.expected = int(found), int(expected)
        super().__init__(path, f"sample rate {found} Hz, expected {expected} Hz; pass "
                               f"resample=True to resample it, or sample_rate={found} "
                               "(or None) to take it as it is")


@dataclass(frozen=True)
class WavInfo:
    """What a WAV header says, checked against the file's size.

    Attributes
    ----------
    path : str
    sample_rate : int
        Hz.
    channels : int
    bits_per_sample : int
        Container bits of one sample (16, 24, 32, 64, or 8).
    encoding : {"pcm", "float"}
    extensible : bool
        ``True`` for ``WAVE_FORMAT_EXTENSIBLE`` (tag 0xFFFE).
    n_frames : int
        Samples per channel.
    """

    path: str
    sample_rate: int
    channels: int
    bits_per_sample: int
    encoding: str
    extensible: bool
    n_frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.sample_rate


def wav_info(path) -> WavInfo:
    """Read and check a WAV file's header without decoding its samples.

    Walks the RIFF chunks (``fmt `` and ``data``; others are skipped), so multichannel
    ``WAVE_FORMAT_EXTENSIBLE`` files are read as well as plain PCM / IEEE-float ones.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    WavInfo

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    WavReadError
        Not a RIFF/WAVE file, no ``fmt ``/``data`` chunk, an encoding other than PCM or IEEE
        float, or a **truncated** file (its ``data`` chunk declares more bytes than the file
        holds: the usual trace of an interrupted download or copy).
    """
    path = Path(path)
    size = path.stat().st_size  # FileNotFoundError names the path itself
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            found = "RF64/RIFX" if head[:4] in (b"RF64", b"RIFX") else repr(head[:12])
            raise WavReadError(path, f"not a RIFF/WAVE file (starts with {found}); expected "
                                     "a .wav file")
        fmt = None
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise WavReadError(path, "no 'data' chunk" if fmt else "no 'fmt ' chunk; "
                                   "the file is truncated or not a WAV file")
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            start = fh.tell()
            if cid == b"fmt ":
                fmt = fh.read(min(csize, 40))
                if len(fmt) < 16:
                    raise WavReadError(path, f"'fmt ' chunk of {len(fmt)} bytes, expected "
                                             ">= 16; the header is damaged")
            elif cid == b"data":
                if fmt is None:
                    raise WavReadError(path, "'data' chunk before any 'fmt ' chunk")
                available = size - start
                if csize in (0, 0xFFFFFFFF):  # streaming writers leave the size unset
                    csize = available
                break
            fh.seek(start + csize + (csize & 1))  # chunks are padded to even sizes
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", fmt[:16])
    extensible = tag == _EXTENSIBLE
    if extensible:
        if len(fmt) < 26:
            raise WavReadError(path, "WAVE_FORMAT_EXTENSIBLE header without a sub-format")
        tag = struct.unpack("<H", fmt[24:26])[0]  # first two bytes of the sub-format GUID
    if tag not in (_PCM, _FLOAT):
        raise WavReadError(path, f"encoding tag 0x{tag:04X} is neither PCM (1) nor IEEE float "
                                 "(3); convert the file to PCM, e.g. with sox or ffmpeg")
    if channels < 1 or rate < 1 or block < 1:
        raise WavReadError(path, f"header gives {channels} channel(s), {rate} Hz, block "
                                 f"{block} bytes; expected positive values")
    if csize > available:
        raise WavReadError(path, f"truncated: the header declares {csize // block} frames "
                                 f"({csize} bytes) but the file holds {available // block}; "
                                 "download or copy it again")
    return WavInfo(path=str(path), sample_rate=int(rate), channels=int(channels),
                   bits_per_sample=int(bits), encoding="float" if tag == _FLOAT else "pcm",
                   extensible=extensible, n_frames=int(csize // block))


def read_wav(path, *, sample_rate: int | None = 16000, channel: int | str = 0,
             resample: bool = False, backend: str = "auto"):
    """Read one channel of a WAV file as float32 samples in [-1, 1).

    Parameters
    ----------
    path : str or os.PathLike
    sample_rate : int or None, default=16000
        Expected rate in Hz (the seed's MIMII rate). ``None`` takes the file's rate.
    channel : int or "mean", default=0
        Which channel of a multichannel file to return: channel 0, as the seed does for the
        8-microphone MIMII files; ``"mean"`` averages all channels.
    resample : bool, default=False
        Resample a file of another rate to ``sample_rate`` (polyphase filter,
        :func:`scipy.signal.resample_poly`) instead of raising :class:`SampleRateError`.
    backend : {"auto", "soundfile", "scipy"}, default="auto"
        Decoder: ``soundfile`` when importable, else ``scipy.io.wavfile``.

    Returns
    -------
    waveform : numpy.ndarray, shape (T,), float32
        Samples (full scale = 1).
    sample_rate : int
        Rate of ``waveform`` in Hz.

    Raises
    ------
    SampleRateError
        The rate differs from ``sample_rate`` and ``resample`` is false.
    WavReadError
        A bad header (see :func:`wav_info`), a missing channel, or a decoder error.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.wav")
    >>> write_wav(p, np.zeros((160, 8)), 16000)
    >>> read_wav(p)[0].shape
    (160,)
    """
    info = wav_info(path)
    if channel != "mean" and not (isinstance(channel, (int, np.integer))
                                  and 0 <= channel < info.channels):
        raise WavReadError(path, f"has {info.channels} channel(s); channel={channel!r} is not "
                                 f"one of 0..{info.channels - 1} or 'mean'")
    if sample_rate is not None and info.sample_rate != sample_rate and not resample:
        raise SampleRateError(path, info.sample_rate, sample_rate)
    data = _decode(path, info, backend)  # (T, C) float32
    x = data.mean(axis=1) if channel == "mean" else data[:, int(channel)]
    rate = info.sample_rate
    if sample_rate is not None and rate != sample_rate:
        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), rate)
        x = resample_poly(x.astype(np.float64), int(sample_rate) // g, rate // g)
        rate = int(sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32), int(rate)


def _decode(path, info: WavInfo, backend: str) -> np.ndarray:
    if backend not in ("auto", "soundfile", "scipy"):
        raise ValueError(f"backend must be 'auto', 'soundfile' or 'scipy', got {backend!r}")
    if backend in ("auto", "soundfile"):
        try:
            import soundfile
        except ImportError:  # pragma: no cover - depends on the environment
            if backend == "soundfile":
                raise ImportError("backend='soundfile' needs the soundfile package: "
                                  "pip install soundfile") from None
        else:
            try:
                data, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
            except Exception as exc:  # libsndfile's messages do not always name the file
                raise WavReadError(path, f"soundfile could not decode it ({exc})") from exc
            return data
    from scipy.io import wavfile

    try:
        _, data = wavfile.read(str(path))
    except Exception as exc:
        raise WavReadError(path, f"scipy.io.wavfile could not decode it ({exc})") from exc
    data = data.reshape(len(data), -1)
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0)
    if data.dtype.kind == "i":  # 24-bit PCM arrives left-justified in int32
        return (data / float(2 ** (8 * data.dtype.itemsize - 1))).astype(np.float32)
    return data.astype(np.float32)


def wav_bytes(waveform, sample_rate: int = 16000, *, subtype: str = "PCM_16",
              extensible: bool | None = None) -> bytes:
    """Encode samples as the bytes of a WAV file (e.g. for ``ipywidgets.Audio(value=...)``).

    Parameters
    ----------
    waveform : array-like, shape (T,) or (T, C)
        Samples, full scale = 1; PCM subtypes clip to [-1, 1].
    sample_rate : int, default=16000
        Hz.
    subtype : {"PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"}, default="PCM_16"
    extensible : bool or None, default=None
        Write a ``WAVE_FORMAT_EXTENSIBLE`` header; ``None`` does so for more than two channels
        or 24-bit samples, as MIMII's files (and Microsoft's rule) have it.

    Returns
    -------
    bytes
    """
    if subtype not in _WRITE_SUBTYPES:
        raise ValueError(f"subtype must be one of {sorted(_WRITE_SUBTYPES)}, got {subtype!r}")
    tag, bits = _WRITE_SUBTYPES[subtype]
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"waveform must have shape (T,) or (T, C), got {x.shape}")
    channels = x.shape[1]
    if tag == _FLOAT:
        payload = x.astype("<f4" if bits == 32 else "<f8").tobytes()
    else:
        full = 2 ** (bits - 1)
        ints = np.clip(np.round(x * full), -full, full - 1).astype("<i8")
        # little-endian two's complement, keep the low bits/8 bytes of each sample
        payload = ints.view(np.uint8).reshape(-1, 8)[:, : bits // 8].tobytes()
    if extensible is None:
        extensible = channels > 2 or bits == 24
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", _EXTENSIBLE if extensible else tag, channels,
                      int(sample_rate), int(sample_rate) * block, block, bits)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    out = io.BytesIO()
    out.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(payload)
                                    + (len(payload) & 1)) + b"WAVE")
    out.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
    out.write(b"data" + struct.pack("<I", len(payload)) + payload)
    if len(payload) & 1:
        out.write(b"\x00")
    return out.getvalue()


def write_wav(path, waveform, sample_rate: int = 16000, *, subtype: str = "PCM_16",
              extensible: bool | None = None) -> None:
    """Write samples to a WAV file (see :func:`wav_bytes` for the parameters).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; parent folders are created.
    waveform : array-like, shape (T,) or (T, C)
    sample_rate : int, default=16000
    subtype, extensible
        As :func:`wav_bytes`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(waveform, sample_rate, subtype=subtype, extensible=extensible))
