"""The contract every quantizer in AffectCodec follows.

A quantizer maps a latent ``u`` float ``[B, D, T]`` to ``K`` residual stages of integer tokens
``[B, K, T]`` and back. All of them (BD-RFSQ, dense RFSQ, the RVQ baseline) return the same
:class:`QuantizerOutput`, so the codec, the training module and the evaluation code never branch on
the quantizer type.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass
class QuantizerOutput:
    """What a quantizer's ``forward`` returns.

    Attributes:
        quantized: float [B, D, T], the quantized latent after the active stages (straight-through
            gradients to the input).
        codes: int64 [B, K, T], one token per active stage and frame.
        partial_sums: list of K float tensors [B, D, T]; ``partial_sums[m - 1]`` is the quantized
            latent after the first ``m`` stages (used by the multi-rate loss).
            ``partial_sums[-1] is quantized``.
        losses: scalar tensors keyed by their logged names (e.g. ``"vq/commit"``).
        metrics: scalar tensors for logging only (no gradient is taken through them).
    """

    quantized: Tensor
    codes: Tensor
    partial_sums: list[Tensor]
    losses: dict[str, Tensor] = field(default_factory=dict)
    metrics: dict[str, Tensor] = field(default_factory=dict)


def batch_moments(z: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation, each float [1, C, 1], of ``z`` [B, C, T] over batch
    and time; under DDP averaged over all ranks (so every rank initialises identically)."""
    z = z.detach().float()

    def average(t: Tensor) -> Tensor:
        t = t.mean(dim=(0, 2), keepdim=True)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(t)
            t /= dist.get_world_size()
        return t

    mean = average(z)
    # Two passes: E[z^2] - E[z]^2 cancels catastrophically when offsets dwarf the variation.
    return mean, average((z - mean).square()).clamp_min(1e-12).sqrt()


class Quantizer(nn.Module, ABC):
    """Abstract residual quantizer: ``[B, D, T]`` latent <-> ``[B, K, T]`` tokens.

    Data-dependent initialisation: the first forward pass in training mode first standardises every
    stage's pre-quantization values on that batch (per channel: mean 0, standard deviation 1;
    the ActNorm initialisation of Kingma & Dhariwal, "Glow", NeurIPS 2018), through all stages
    whatever the active count. A freshly built encoder's latent varies little over time around
    large per-channel offsets, so without it every frame of a batch falls on a handful of FSQ
    levels or RVQ codes. ``data_initialized`` (a saved buffer) records that it has happened;
    eval mode never initialises.
    """

    #: Channels of the latent it quantizes.
    input_dim: int
    #: Residual stages available (K at full rate).
    num_stages: int

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("data_initialized", torch.tensor(False))

    def _maybe_data_init(self, u: Tensor) -> None:
        if self.training and not bool(self.data_initialized):
            with torch.no_grad():
                self.data_init(u)
            self.data_initialized.fill_(True)

    def data_init(self, u: Tensor) -> None:
        """Standardise every stage's pre-quantization values on the latent ``u`` [B, D, T]."""

    @property
    @abstractmethod
    def cardinality(self) -> int:
        """Number of distinct token values per stage."""

    @property
    def bits_per_token(self) -> float:
        """Information per token: ``log2(cardinality)``."""
        return math.log2(self.cardinality)

    @property
    def levels(self) -> tuple[int, ...] | None:
        """FSQ level layout of a composite token (None for codebook quantizers)."""
        return None

    @property
    def num_emotion_digits(self) -> int:
        """How many leading digits of the layout belong to the emotion partition (0 if none)."""
        return 0

    def _check_stages(self, n_stages: int | None) -> int:
        if n_stages is None:
            return self.num_stages
        if not 1 <= int(n_stages) <= self.num_stages:
            raise ValueError(f"n_stages must be in 1..{self.num_stages}, got {n_stages}")
        return int(n_stages)

    def _check_codes(self, codes: Tensor) -> None:
        if codes.dim() != 3:
            raise ValueError(f"codes must be [B, K, T], got shape {tuple(codes.shape)}")
        if not 1 <= codes.shape[1] <= self.num_stages:
            raise ValueError(f"codes have {codes.shape[1]} stages; this quantizer has 1..{self.num_stages}")
        if codes.dtype.is_floating_point:
            raise TypeError(f"codes must be an integer tensor, got {codes.dtype}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.cardinality):
            raise ValueError(f"token values must be in [0, {self.cardinality}), got "
                             f"[{int(codes.min())}, {int(codes.max())}]")

    @abstractmethod
    def forward(self, u: Tensor, n_stages: int | None = None) -> QuantizerOutput:
        """Quantize ``u`` float [B, D, T] with the first ``n_stages`` stages (all if None)."""

    @torch.no_grad()
    def encode(self, u: Tensor, n_stages: int | None = None) -> Tensor:
        """Tokens of ``u`` float [B, D, T]: int64 [B, K, T], K = ``n_stages``."""
        return self.forward(u, n_stages).codes

    @abstractmethod
    def decode(self, codes: Tensor) -> Tensor:
        """Quantized latent float [B, D, T] from tokens int [B, K, T] (any K <= num_stages)."""
