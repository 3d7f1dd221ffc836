"""Audio preparation: shapes, channels, sample rates and lengths at the model boundary."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor


def as_batch(wav: Tensor | np.ndarray) -> Tensor:
    """float32 [B, C, N] from ``[N]`` (one mono signal), ``[B, N]`` (mono batch) or ``[B, C, N]``."""
    if isinstance(wav, np.ndarray):
        wav = torch.from_numpy(np.ascontiguousarray(wav))
    if not isinstance(wav, Tensor):
        raise TypeError(f"audio must be a torch.Tensor or numpy array, got {type(wav).__name__}")
    if wav.dim() == 1:
        wav = wav[None, None]
    elif wav.dim() == 2:
        wav = wav[:, None]
    elif wav.dim() != 3:
        raise ValueError(f"audio must be [N], [B, N] or [B, C, N], got shape {tuple(wav.shape)}")
    if wav.shape[-1] == 0:
        raise ValueError("audio has zero samples")
    if not wav.dtype.is_floating_point:
        raise TypeError(f"audio must be floating point in [-1, 1], got {wav.dtype}")
    wav = wav.float()
    if not torch.isfinite(wav).all():
        raise ValueError("audio contains NaN or Inf samples")
    return wav


def downmix(wav: Tensor) -> Tensor:
    """[B, C, N] -> [B, 1, N] by averaging channels (with a warning when C > 1)."""
    if wav.shape[1] > 1:
        warnings.warn(f"downmixing {wav.shape[1]} channels to mono", stacklevel=3)
        wav = wav.mean(dim=1, keepdim=True)
    return wav


def resample(wav: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """Band-limited resampling along the last axis (torchaudio's windowed sinc)."""
    if int(orig_rate) == int(new_rate):
        return wav
    return AF.resample(wav, int(orig_rate), int(new_rate))


def resampled_length(length: Tensor | int, orig_rate: int, new_rate: int) -> Tensor:
    """Samples after resampling ``length`` samples (torchaudio's rule: ceil)."""
    length = torch.as_tensor(length, dtype=torch.int64)
    return torch.div(length * int(new_rate) + int(orig_rate) - 1, int(orig_rate), rounding_mode="floor")


def zero_beyond(wav: Tensor, lengths: Tensor) -> Tensor:
    """Zero every sample of item b at or after ``lengths[b]`` (wav [B, C, N])."""
    idx = torch.arange(wav.shape[-1], device=wav.device)
    mask = idx[None, :] < lengths.to(wav.device)[:, None]
    return wav * mask[:, None, :]


def prepare(wav: Tensor | np.ndarray, sample_rate: int, model_rate: int,
            lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Bring user audio to the model: float32 [B, 1, N'] at ``model_rate`` and lengths [B].

    Args:
        wav: ``[N]``, ``[B, N]`` or ``[B, C, N]`` float audio at ``sample_rate``.
        sample_rate: rate of ``wav`` in Hz.
        model_rate: the codec's rate.
        lengths: valid samples per item of a padded batch (at ``sample_rate``); None = all.

    Samples past each item's length are zeroed before resampling, so a padded batch is
    resampled exactly like each item alone.
    """
    if int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    wav = downmix(as_batch(wav))
    n = wav.shape[-1]
    if lengths is None:
        lengths = torch.full((wav.shape[0],), n, dtype=torch.int64)
    else:
        lengths = torch.as_tensor(lengths, dtype=torch.int64).reshape(-1).cpu()
        if lengths.shape[0] != wav.shape[0]:
            raise ValueError(f"lengths has {lengths.shape[0]} entries for a batch of {wav.shape[0]}")
        if (lengths < 1).any() or (lengths > n).any():
            raise ValueError(f"lengths must be in 1..{n}, got {lengths.tolist()}")
        wav = zero_beyond(wav, lengths)
    wav = resample(wav, sample_rate, model_rate)
    return wav, resampled_length(lengths, sample_rate, model_rate)
