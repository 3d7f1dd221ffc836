"""Utterance functionals of prosodic and spectral features (the classical judge's input).

Low-level descriptors (librosa, 16 kHz): F0 (probabilistic YIN) in semitones re 100 Hz and its
voicing, RMS energy in dB, 20 MFCCs and their deltas, spectral centroid, bandwidth, roll-off,
flatness, zero-crossing rate and 7-band spectral contrast. Functionals per utterance: mean,
standard deviation, percentiles, range, linear slope and mean absolute change, as listed by
:func:`feature_names`. Deterministic; one vector of ``len(feature_names())`` floats per utterance.
"""

from __future__ import annotations

import librosa
import numpy as np

from affectcodec.audio import MODEL_RATE

HOP = 160  # 10 ms for the spectral descriptors
PITCH_HOP = 320  # 20 ms for pYIN (its cost dominates)
N_MFCC = 20
_STATS8 = ("mean", "std", "p10", "p50", "p90", "range", "slope", "absdelta")


def feature_names() -> list[str]:
    """Names of the functionals, in vector order."""
    names = [f"f0_st_{s}" for s in _STATS8] + ["voiced_fraction", "voiced_prob_mean"]
    names += [f"energy_db_{s}" for s in _STATS8] + ["energy_rel_max_mean"]
    for kind in ("mfcc", "dmfcc"):
        names += [f"{kind}{i}_{s}" for i in range(N_MFCC) for s in ("mean", "std")]
    for name in ("centroid", "bandwidth", "rolloff", "flatness", "zcr"):
        names += [f"{name}_mean", f"{name}_std"]
    names += [f"contrast{i}_{s}" for i in range(7) for s in ("mean", "std")]
    names += ["duration_s", "active_fraction"]
    return names


def _stats8(x: np.ndarray, frame_rate: float) -> list[float]:
    if x.size == 0:
        return [0.0] * 8
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    slope = float(np.polyfit(np.arange(x.size) / frame_rate, x, 1)[0]) if x.size > 1 else 0.0
    absdelta = float(np.abs(np.diff(x)).mean()) if x.size > 1 else 0.0
    return [float(x.mean()), float(x.std()), float(p10), float(p50), float(p90), float(p90 - p10),
            slope, absdelta]


def utterance_functionals(y: np.ndarray, sample_rate: int = MODEL_RATE) -> np.ndarray:
    """float32 vector [F] of functionals of one utterance ``y`` (float [N] at 16 kHz)."""
    if sample_rate != MODEL_RATE:
        raise ValueError(f"functionals expect {MODEL_RATE} Hz audio, got {sample_rate}")
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size < 2048:  # pad very short inputs so every descriptor has a frame
        y = np.pad(y, (0, 2048 - y.size))
    f0, voiced, vprob = librosa.pyin(y, fmin=60.0, fmax=500.0, sr=MODEL_RATE, frame_length=1024,
                                     hop_length=PITCH_HOP, resolution=0.2, n_thresholds=20)
    voiced = voiced & np.isfinite(f0)
    f0_st = 12 * np.log2(f0[voiced] / 100.0)
    feats = _stats8(f0_st, MODEL_RATE / PITCH_HOP)
    feats += [float(voiced.mean()), float(np.nan_to_num(vprob).mean())]
    rms = librosa.feature.rms(y=y, frame_length=640, hop_length=PITCH_HOP)[0]
    energy = 20 * np.log10(rms + 1e-5)
    feats += _stats8(energy, MODEL_RATE / PITCH_HOP) + [float((energy - energy.max()).mean())]
    mel_args = {"n_fft": 512, "hop_length": HOP}
    mfcc = librosa.feature.mfcc(y=y, sr=MODEL_RATE, n_mfcc=N_MFCC, n_mels=40, **mel_args)
    dmfcc = librosa.feature.delta(mfcc, width=5)
    for m in (mfcc, dmfcc):
        feats += np.stack([m.mean(1), m.std(1)], axis=1).reshape(-1).tolist()
    spec = np.abs(librosa.stft(y, n_fft=512, hop_length=HOP))
    for d in (librosa.feature.spectral_centroid(S=spec, sr=MODEL_RATE),
              librosa.feature.spectral_bandwidth(S=spec, sr=MODEL_RATE),
              librosa.feature.spectral_rolloff(S=spec, sr=MODEL_RATE),
              librosa.feature.spectral_flatness(S=spec),
              librosa.feature.zero_crossing_rate(y, frame_length=512, hop_length=HOP)):
        feats += [float(d.mean()), float(d.std())]
    contrast = librosa.feature.spectral_contrast(S=spec, sr=MODEL_RATE, fmin=100.0, n_bands=6)
    feats += np.stack([contrast.mean(1), contrast.std(1)], axis=1).reshape(-1).tolist()
    feats += [y.size / MODEL_RATE, float((energy > energy.max() - 30).mean())]
    return np.asarray(feats, dtype=np.float32)
