"""Signal-level quality metrics of a reconstruction against its reference (16 kHz, mono): the
one definition of each, used by training's validation and by ``affectcodec eval`` alike.

* PESQ-wb: ITU-T P.862.2 wide-band PESQ (``pesq`` package), MOS-LQO scale 1.04-4.64.
* STOI: short-time objective intelligibility (Taal et al. 2011; ``pystoi``), 0-1.
* mel distance: mean absolute difference of natural-log 80-bin mel spectrograms
  (n_fft 1024, hop 160, 0-8 kHz, magnitudes clamped at 1e-5), lower is better.
* SI-SDR: scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019).

All functions take 1-D float arrays of equal length at 16 kHz and return a float, NaN when the
metric is undefined (PESQ on silence or on a clip without a detectable utterance, STOI on a clip
shorter than its 30-frame analysis), so that one unscorable clip never fails a validation run
or an evaluation; callers average the finite values. :func:`log_mel` is also the spectrogram of
every plot (:func:`affectcodec.eval.plotting.spectrogram_figure`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torchaudio

from affectcodec.audio import MODEL_RATE


def _check(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    deg = np.asarray(deg, dtype=np.float64).reshape(-1)
    if ref.shape != deg.shape:
        raise ValueError(f"reference and degraded lengths differ: {ref.size} vs {deg.size}")
    return ref, deg


def pesq_wb(ref: np.ndarray, deg: np.ndarray) -> float:
    """Wide-band PESQ (MOS-LQO); NaN if PESQ cannot score the pair (silence, no utterance found,
    too short)."""
    from pesq import PesqError, pesq

    ref, deg = _check(ref, deg)
    if not np.abs(ref).max() > 0 or not np.abs(deg).max() > 0:
        return math.nan  # silence: PESQ is undefined
    try:
        return float(pesq(MODEL_RATE, ref, deg, "wb"))
    except PesqError:  # NoUtterancesError, BufferTooShortError
        return math.nan


def stoi(ref: np.ndarray, deg: np.ndarray) -> float:
    """Short-time objective intelligibility, 0..1."""
    from pystoi import stoi as _stoi

    ref, deg = _check(ref, deg)
    value = float(_stoi(ref, deg, MODEL_RATE, extended=False))
    return value if math.isfinite(value) else math.nan


@lru_cache(maxsize=1)
def _mel() -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(MODEL_RATE, n_fft=1024, hop_length=160, n_mels=80,
                                                f_min=0.0, f_max=8000.0, power=1.0)


def log_mel(wav: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Natural-log mel magnitudes float [80, frames] (hop 160) of a 1-D signal."""
    x = torch.as_tensor(np.asarray(wav, dtype=np.float32)).reshape(1, -1)
    return torch.log(_mel()(x)[0].clamp(min=1e-5))


def mel_distance(ref: np.ndarray, deg: np.ndarray) -> float:
    """Mean |log-mel(ref) - log-mel(deg)| over bins and frames."""
    ref, deg = _check(ref, deg)
    return float((log_mel(ref) - log_mel(deg)).abs().mean())


def si_sdr(ref: np.ndarray, deg: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB: ``10 log10(|a s|^2 / |a s - d|^2)``, ``a = <d, s> / |s|^2``."""
    ref, deg = _check(ref, deg)
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    scale = np.dot(deg, ref) / (np.dot(ref, ref) + eps)
    target = scale * ref
    return float(10 * np.log10((np.dot(target, target) + eps) / (np.dot(deg - target, deg - target) + eps)))
