"""Audio conversion for Asterisk: any WAV or MP3 an admin uploads becomes a 16-bit PCM WAV,
8 kHz, mono (Asterisk's `slin`: played on a call with no transcoding, no surprise).

Why these libraries: `soundfile` (libsndfile, bundled in its wheels) reads WAV in all its
encodings and MP3 (libsndfile >= 1.1) and is the reference reader of the scientific Python world;
`soxr` (libsoxr, the SoX resampler) resamples with a proper anti-aliasing filter. Both are pip
wheels: the conversion works the same on a host Asterisk, in the chroot root or beside a docker
Asterisk, without running sox or ffmpeg in the Asterisk root.
"""

from __future__ import annotations

import io

import numpy as np

from ..capabilities.media.model import SAMPLE_RATE, check_duration
from ..capabilities.media.ports import ConvertedAudio
from ..core.errors import InvalidInput
from ..core.text import Text


class SoundfileConverter:
    def convert(self, filename: str, data: bytes, max_seconds: int) -> ConvertedAudio:
        import soundfile
        import soxr

        try:
            info = soundfile.info(io.BytesIO(data))
        except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise InvalidInput(
                Text(
                    "%(filename)s: not a WAV or MP3 file that can be read (%(value)s)",
                    filename=filename,
                    value=_reason(exc),
                ),
                field="file",
                file=filename,
            ) from None
        if info.samplerate <= 0:
            raise InvalidInput(Text("%(filename)s: no sample rate", filename=filename), field="file", file=filename)
        # the header's length first: a 3-hour file is refused before it is decoded
        if info.frames > 0:
            check_duration(filename, info.frames / info.samplerate, max_seconds)
        try:
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
            raise InvalidInput(
                Text("%(filename)s: the audio cannot be decoded (%(value)s)", filename=filename, value=_reason(exc)),
                field="file",
                file=filename,
            ) from None
        mono = samples.mean(axis=1)
        check_duration(filename, len(mono) / rate, max_seconds)
        if rate != SAMPLE_RATE:
            mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
        pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2")
        out = io.BytesIO()
        soundfile.write(out, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        return ConvertedAudio(out.getvalue(), len(pcm) / SAMPLE_RATE)


def _reason(exc: Exception) -> str:
    """libsndfile's words without its 'Error opening <_io.BytesIO ...>:' prefix."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.rsplit(">: ", 1)[-1][:160]
