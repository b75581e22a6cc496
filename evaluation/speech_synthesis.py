"""Speech for generated test videos: espeak-ng says a line into a wav, read back as float32 mono at the rate
the ASR stage decodes to (16 kHz), so narration times are known to the sample."""

from __future__ import annotations

import math
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

AUDIO_RATE = 16_000
"""Sample rate of the narration track: what the ASR stage decodes to, so no resampling is needed."""

ESPEAK = "espeak-ng"
ESPEAK_VOICE = "en-us"
ESPEAK_WORDS_PER_MINUTE = 150
ESPEAK_TIMEOUT_S = 30.0


def espeak_available() -> bool:
    """Whether the espeak-ng binary that speaks the narration is on PATH."""
    return shutil.which(ESPEAK) is not None


def require_espeak() -> None:
    """RuntimeError naming espeak-ng when it is not installed (narrated videos need it)."""
    if not espeak_available():
        raise RuntimeError(
            f"{ESPEAK} is not installed (needed for narration; apt-get install espeak-ng, or pass with_audio=False)"
        )


def speak(text: str, wav_path: Path, voice: str = ESPEAK_VOICE) -> np.ndarray:
    """Say `text` with espeak-ng into `wav_path`; return it as float32 mono at `AUDIO_RATE`."""
    command = [ESPEAK, "-v", voice, "-s", str(ESPEAK_WORDS_PER_MINUTE), "-w", str(wav_path), "--stdin"]
    try:
        subprocess.run(command, input=text, text=True, capture_output=True, check=True, timeout=ESPEAK_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{ESPEAK} took over {ESPEAK_TIMEOUT_S:.0f} s to say {text!r}") from error
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{ESPEAK} failed on {text!r}: {error.stderr.strip() or error.returncode}") from error
    samples, rate = _read_wav(wav_path)
    if samples.size == 0:
        raise RuntimeError(f"{ESPEAK} produced no audio for {text!r}")
    return _resample(samples, rate, AUDIO_RATE)


def _read_wav(wav_path: Path) -> tuple[np.ndarray, int]:
    """16-bit PCM wav -> float32 mono in [-1, 1] and its sample rate."""
    with wave.open(str(wav_path), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise RuntimeError(f"{wav_path}: expected 16-bit PCM from {ESPEAK}, got {8 * reader.getsampwidth()}-bit")
        channels, rate = reader.getnchannels(), reader.getframerate()
        raw = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    samples = raw.reshape(-1, channels).mean(axis=1) / 32768.0
    return samples.astype(np.float32), rate


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited polyphase resampling (espeak speaks at 22.05 kHz; the track is 16 kHz)."""
    if rate == target:
        return samples.astype(np.float32)
    from scipy.signal import resample_poly

    common = math.gcd(rate, target)
    return resample_poly(samples, target // common, rate // common).astype(np.float32)
