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
    "loss/phase": 0.0,
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


class PhaseDerivativeLoss(torch.nn.Module):
    """Weighted ``1 - cos`` error of the STFT phase's time and frequency derivatives.

    A magnitude loss alone (mel) teaches an inverse-STFT head its phase only through the
    inconsistency of overlapping frames, and slowly: the shipped mel-only model predicted an
    almost constant phase per bin, which overlap-add turns into a comb at multiples of
    ``sample_rate / hop`` (100 Hz lines instead of the speaker's harmonics). APNet (Ai & Ling,
    2023) supervises the phase directly; its instantaneous-frequency (time derivative) and
    group-delay (frequency derivative) terms are the ones a codec can learn, since both are
    relative and do not ask the decoder for the absolute phase, which the tokens do not carry.

    Written on complex products, so no angle is unwrapped: for neighbouring bins ``a`` and ``b``
    the derivative's error is the angle between ``a * conj(b)`` of the output and of the target,
    and ``1 - cos`` of it is smooth and ``2 pi``-periodic. Each term is weighted by the
    target's magnitude there (geometric mean of the two bins), so silent and noisy bins, whose
    phase is arbitrary, do not count. Computed on the STFT of the output waveform, so what is
    scored is the phase the listener gets, after overlap-add.

    APNet's third term, the instantaneous (absolute) phase, can be added with ``absolute``:
    it is learnable only when the encoder sees the phase (``encoder_phase``), and then it tells
    the decoder where each harmonic's cycle stands, which the derivatives leave open.

    Args:
        n_ffts: STFT sizes, one set of terms per size.
        hops: STFT hops, as many as ``n_ffts``.
        absolute: weight of the absolute-phase term relative to each derivative term.
    """

    def __init__(self, n_ffts: tuple[int, ...] = (640,), hops: tuple[int, ...] = (160,),
                 absolute: float = 0.0):
        super().__init__()
        if len(n_ffts) != len(hops) or not n_ffts:
            raise ValueError(f"n_ffts {n_ffts} and hops {hops} must be non-empty, of one length")
        if absolute < 0:
            raise ValueError(f"absolute must be >= 0, got {absolute}")
        self.resolutions = [(int(n), int(h)) for n, h in zip(n_ffts, hops, strict=True)]
        self.absolute = float(absolute)

    @staticmethod
    def _term(fake: Tensor, real: Tensor, dim: int | None) -> Tensor:
        """The derivative along ``dim`` (None: the phase itself)."""
        if dim is None:
            z_fake, z_real = fake, real
        else:
            n = fake.shape[dim]
            head, tail = (lambda x: x.narrow(dim, 1, n - 1)), (lambda x: x.narrow(dim, 0, n - 1))
            z_fake = head(fake) * tail(fake).conj()
            z_real = head(real) * tail(real).conj()
        # |z_real| is |S|^2 for the phase itself; the derivatives' are products of two bins
        weight = z_real.abs().sqrt()
        # cos of the angle between the two products; eps keeps the output side finite at 0.
        cos = (z_fake * z_real.conj()).real / (z_fake.abs() * z_real.abs() + 1e-9)
        return ((1.0 - cos) * weight).sum() / weight.sum().clamp_min(1e-9)

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """``fake``, ``real``: float [B, 1, N] -> scalar: over resolutions, the mean of the two
        derivative terms plus ``absolute / 2`` times the absolute term."""
        total = fake.new_zeros(())
        for n_fft, hop in self.resolutions:
            window = torch.hann_window(n_fft, device=fake.device)
            spec = [torch.stft(x.float().flatten(0, 1), n_fft, hop, window=window,
                               return_complex=True) for x in (fake, real.detach())]
            total = total + self._term(*spec, dim=-1) + self._term(*spec, dim=-2)
            if self.absolute:
                total = total + self.absolute * self._term(*spec, dim=None)
        return total / (2 * len(self.resolutions))


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
