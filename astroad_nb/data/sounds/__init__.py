"""Machine sounds (system 5): WAV readers for the MIMII and DCASE layouts, the seed's split, a
seeded machine-sound simulator, and their container, :class:`SoundSet`.

:func:`read_mimii` reads ``{6dB,0dB,min6dB}/{fan,pump,slider,valve}/id_XX/{normal,abnormal}``
(and the zip naming ``-6_dB_fan/fan/...``, single SNR / type / id folders, flat
``<type>_<normal|abnormal>.wav`` folders); :func:`read_dcase` reads DCASE 2020 task 2's
``train``/``test`` folders; :func:`simulate_machine_sounds` draws MIMII-like clips of four
machine types x four ids mixed with factory noise at -6 / 0 / 6 dB; :func:`split_mimii` is the
seed's split (with its validation-inside-test leak, or ``leak_free=True``). All return or take
a :class:`SoundSet`, so every model and protocol works on either; the log-mel frames are
:func:`astroad_nb.features.sounds.sound_frames`.

Modules: :mod:`~astroad_nb.data.sounds.wav` (header check, decoding, writing),
:mod:`~astroad_nb.data.sounds.containers` (:class:`SoundSet`),
:mod:`~astroad_nb.data.sounds.files` (checked tables of WAV files),
:mod:`~astroad_nb.data.sounds.mimii`, :mod:`~astroad_nb.data.sounds.dcase` (layouts),
:mod:`~astroad_nb.data.sounds.split` and :mod:`~astroad_nb.data.sounds.simulate`.

Conventions
-----------
* ``SoundSet.table`` columns (:data:`TABLE_COLUMNS`): ``id`` (path relative to the root
  without ``.wav``; MIMII-style for simulated clips), ``path`` (None when simulated),
  ``machine_type``, ``machine_id`` (-1 unknown), ``context`` (index into
  ``SoundSet.contexts``, -1 unknown), ``context_name`` (``"fan_00"``), ``snr_db`` (NaN
  unknown), ``label`` (0 normal, 1 abnormal, -1 unknown), ``set`` (``"all"``; DCASE:
  ``"train"``/``"test"``), ``sample_rate`` (Hz), ``n_samples``. Simulated clips add
  ``anomaly`` (kind, ``""`` for normals) and ``index``; files add ``channels`` and
  ``bits_per_sample``.
* Contexts are type x id, sorted, as the seed numbers them: with :data:`MIMII_CONTEXTS`
  ``fan_00`` = 0 ... ``valve_06`` = 15 (``read_mimii`` keeps that numbering when it reads only
  some machines; ``contexts="found"`` renumbers).
* Samples are float32, full scale 1, channel 0 of multichannel files; 16 kHz expected (another
  rate raises :class:`SampleRateError` unless ``resample=True``).
* Bad files (not RIFF/WAVE, truncated, wrong rate, missing channel, outside the layout) are
  skipped and listed in ``SoundSet.rejected`` (``path``, ``reason``), or raised with
  ``on_error="raise"``.
"""

from astroad_nb.data.sounds.containers import (
    REJECTED_COLUMNS,
    TABLE_COLUMNS,
    SoundFileLoader,
    SoundSet,
)
from astroad_nb.data.sounds.dcase import DCASE_TYPES, read_dcase
from astroad_nb.data.sounds.files import context_name, read_sound_files
from astroad_nb.data.sounds.mimii import (
    MIMII_CONTEXTS,
    MIMII_COUNTS,
    MIMII_IDS,
    MIMII_SNRS,
    MIMII_TYPES,
    parse_snr,
    read_mimii,
)
from astroad_nb.data.sounds.simulate import (
    ANOMALIES,
    MACHINES,
    SimulatedClip,
    SimulatedClipLoader,
    mix_at_snr,
    simulate_clip,
    simulate_machine_sounds,
    snr_folder,
)
from astroad_nb.data.sounds.split import SoundSplit, split_mimii
from astroad_nb.data.sounds.wav import (
    SampleRateError,
    WavInfo,
    WavReadError,
    read_wav,
    wav_bytes,
    wav_info,
    write_wav,
)

__all__ = [
    "ANOMALIES",
    "DCASE_TYPES",
    "MACHINES",
    "MIMII_CONTEXTS",
    "MIMII_COUNTS",
    "MIMII_IDS",
    "MIMII_SNRS",
    "MIMII_TYPES",
    "REJECTED_COLUMNS",
    "TABLE_COLUMNS",
    "SampleRateError",
    "SimulatedClip",
    "SimulatedClipLoader",
    "SoundFileLoader",
    "SoundSet",
    "SoundSplit",
    "WavInfo",
    "WavReadError",
    "context_name",
    "mix_at_snr",
    "parse_snr",
    "read_dcase",
    "read_mimii",
    "read_sound_files",
    "read_wav",
    "simulate_clip",
    "simulate_machine_sounds",
    "snr_folder",
    "split_mimii",
    "wav_bytes",
    "wav_info",
    "write_wav",
]
