"""Pitch and voice quality with Praat (``praat-parselmouth``): the evaluation's tracker.

The field reports pitch and voice-quality changes with Praat's analyses; the project's own
tracker (:class:`~affectcodec.emotion.prosody.ProsodyAnalyzer`) stays where it is needed inside
the model (the prosody teacher: differentiable, batched, causal). Praat here:

* :func:`pitch_track`: Praat's autocorrelation pitch (``To Pitch (ac)``, Boersma 1993) sampled
  on the codec's 50 Hz frames: frame ``t`` is the 60 ms window ending at sample ``(t + 1) * 320``,
  as in the project's analyzer, so the two trackers compare frame by frame;
* :func:`voice_quality`: local jitter (%), local shimmer (%) and the harmonics-to-noise ratio
  (dB, ``To Harmonicity (cc)``) of an utterance, with Praat's standard settings.

Reference: P. Boersma, D. Weenink, "Praat: doing phonetics by computer"; Y. Jadoul, B. Thompson,
B. de Boer, "Introducing Parselmouth: A Python interface to Praat", J. Phonetics 71 (2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import parselmouth
from parselmouth.praat import call

from affectcodec.audio import MODEL_RATE

HOP_SECONDS = 0.02  # the codec's frame step
WINDOW_SECONDS = 0.06  # the project's analysis window, ending at the frame's end


def _sound(y: np.ndarray, sample_rate: int) -> parselmouth.Sound:
    return parselmouth.Sound(np.asarray(y, dtype=np.float64).reshape(-1), sampling_frequency=sample_rate)


def pitch_track(y: np.ndarray, sample_rate: int = MODEL_RATE, f0_min: float = 60.0,
                f0_max: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """Praat's F0 on 50 Hz frames.

    Args:
        y: float [N] mono audio.
        sample_rate: its rate.
        f0_min, f0_max: Praat's pitch floor and ceiling (Hz).

    Returns:
        (f0_hz float [T], voiced bool [T]) with ``T = N // 320`` at 16 kHz (``N // (0.02 rate)``
        in general); ``f0_hz`` is 0 where unvoiced.
    """
    frames = int(len(np.asarray(y).reshape(-1)) // round(HOP_SECONDS * sample_rate))
    if frames == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    pitch = _sound(y, sample_rate).to_pitch_ac(time_step=HOP_SECONDS / 2, pitch_floor=f0_min,
                                               pitch_ceiling=f0_max)
    times = (np.arange(frames) + 1) * HOP_SECONDS - WINDOW_SECONDS / 2  # window centres
    f0 = np.array([pitch.get_value_at_time(max(t, 0.0)) for t in times], dtype=np.float64)
    voiced = np.isfinite(f0) & (f0 > 0)
    return np.where(voiced, f0, 0.0), voiced


@dataclass(frozen=True)
class VoiceQuality:
    """Praat's voice-quality measures of one utterance; NaN where undefined (no voicing)."""

    jitter_percent: float
    shimmer_percent: float
    hnr_db: float


def voice_quality(y: np.ndarray, sample_rate: int = MODEL_RATE, f0_min: float = 60.0,
                  f0_max: float = 500.0) -> VoiceQuality:
    """Local jitter and shimmer (%) and mean HNR (dB) of an utterance (float [N] mono), with
    Praat's defaults (period range 0.1-20 ms, maximum period factor 1.3, maximum amplitude
    factor 1.6; harmonicity: 10 ms step, silence threshold 0.1, 1 period per window)."""
    sound = _sound(y, sample_rate)
    points = call(sound, "To PointProcess (periodic, cc)", f0_min, f0_max)
    jitter = call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
    shimmer = call([sound, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
    harmonicity = call(sound, "To Harmonicity (cc)", 0.01, f0_min, 0.1, 1.0)
    hnr = call(harmonicity, "Get mean", 0, 0)

    def finite(x: float, scale: float = 1.0) -> float:
        return float(x) * scale if x is not None and math.isfinite(x) else math.nan

    return VoiceQuality(finite(jitter, 100.0), finite(shimmer, 100.0), finite(hnr))
