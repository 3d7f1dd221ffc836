"""Training losses of the codec, and the loss-weight dict that combines them.

Reconstruction and adversarial losses are descript-audio-codec's own classes
(``dac.nn.loss.MelSpectrogramLoss``, ``L1Loss`` and ``GANLoss``), which take audiotools
``AudioSignal`` objects: :func:`signal` wraps a ``[B, 1, N]`` tensor in one (no copy, gradients
flow). The emotion losses are written here because they compare teacher features, not audio.

Every loss has a logged name (``loss/mel``, ``adv/gen``, ``emotion/cycle``, ...). The weights are a
dict keyed by those names, as DAC's ``lambdas``; a weight of 0 still computes and logs the loss but
adds nothing to the objective (as in AudioCraft), so no gradient flows through it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from audiotools import AudioSignal
from torch import Tensor

#: Default weights of the generator objective. DAC's values for mel, adversarial, feature matching
#: and the RVQ losses (``conf/base.yml``); the emotion and multi-rate weights are this project's
#: choice (the paper leaves them open).
DEFAULT_WEIGHTS: dict[str, float] = {
    "loss/mel": 15.0,
    "loss/waveform": 1.0,
    "adv/gen": 1.0,
    "adv/feat": 2.0,
    "vq/commit": 0.25,
    "vq/codebook": 1.0,
    "vq/bound": 1.0,
    "vq/latent": 1.0,
    "emotion/emo": 1.0,
    "emotion/cycle": 1.0,
    "multirate/mel": 15.0,
    "multirate/cycle": 1.0,
}


def signal(wav: Tensor, sample_rate: int) -> AudioSignal:
    """Wrap float [B, 1, N] audio in an ``AudioSignal`` for DAC's losses (float32, no copy)."""
    return AudioSignal(wav.float(), sample_rate)


def resolve_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``weights``; unknown names are an error that lists the known ones."""
    merged = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise ValueError(f"unknown loss weight {name!r}; known: {', '.join(DEFAULT_WEIGHTS)}")
        if float(value) < 0:
            raise ValueError(f"loss weight {name!r} must be >= 0, got {value}")
        merged[name] = float(value)
    return merged


def weighted_total(losses: Mapping[str, Tensor], weights: Mapping[str, float]) -> Tensor | None:
    """``sum(w * loss)`` over the losses with a non-zero weight (None if there are none).

    Zero-weight losses are skipped rather than multiplied by 0, so they contribute no gradient
    at all (and a NaN in a logged-only loss cannot poison the objective).
    """
    total = None
    for name, value in losses.items():
        weight = weights.get(name, 0.0)
        if weight != 0.0:
            total = weight * value if total is None else total + weight * value
    return total


def frame_mask(lengths: Tensor, hop_length: int, frames: int) -> Tensor:
    """float [B, 1, T]: 1 on frames that contain valid samples, 0 on padding frames."""
    valid = torch.div(lengths + hop_length - 1, hop_length, rounding_mode="floor")
    idx = torch.arange(frames, device=lengths.device)
    return (idx[None, :] < valid[:, None]).to(torch.float32)[:, None, :]


def emotion_loss(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """L_emo: mean squared error float [B, D, T] vs [B, D, T] over valid frames (mask [B, 1, T])."""
    err = (prediction.float() - target.float().detach()) ** 2 * mask
    return err.sum() / (mask.sum() * prediction.shape[1]).clamp(min=1.0)


def cycle_loss(reconstructed: Tensor, reference: Tensor, mask: Tensor) -> Tensor:
    """L_cycle: mean over valid frames of ``1 - cos`` between feature vectors [B, D, T]."""
    cos = F.cosine_similarity(reconstructed.float(), reference.float().detach(), dim=1, eps=1e-6)
    mask = mask[:, 0]
    return ((1.0 - cos) * mask).sum() / mask.sum().clamp(min=1.0)
