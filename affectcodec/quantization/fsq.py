"""Finite scalar quantization (FSQ) over an arbitrary level layout.

FSQ (Mentzer et al., "Finite Scalar Quantization: VQ-VAE Made Simple", ICLR 2024) bounds each of
``d`` channels and rounds it to one of ``L_i`` levels; a frame's digits form one composite token
by mixed radix. This module keeps the digits as integers end to end, so a token round-trips
exactly (``digits -> index -> digits``) with no float arithmetic in the index path.

Why not ``vector_quantize_pytorch.FSQ``: its indices are computed from float codes
(``(codes * basis).sum().round()``) and its projections are dense. BD-RFSQ needs the integer
digits per partition for the bitstream and places its own block-diagonal projections and affine
normalisation around the rounding. The bound used here is the library's
``symmetry_preserving_bound`` (Mentzer et al. 2024, arXiv 2411.19842, section 3.2), and the mixed
radix basis is the library's, so indices agree with it (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def mixed_radix_basis(levels: Sequence[int]) -> list[int]:
    """Place values of each digit: ``[1, L0, L0*L1, ...]`` (digit 0 least significant)."""
    basis, acc = [], 1
    for level in levels:
        basis.append(acc)
        acc *= int(level)
    return basis


class FSQ(nn.Module):
    """Bounded, straight-through scalar rounding to a grid of ``levels`` per channel.

    Args:
        levels: levels per channel, each an integer >= 2 (not necessarily a power of two).

    The grid of a channel with ``L`` levels is ``{-1, -1 + 2/(L-1), ..., 1}`` (symmetric); digit
    ``d`` in ``0..L-1`` maps to ``2 d / (L - 1) - 1``. Rounding is computed in float32 with
    autocast off: half-precision FSQ is known to collapse codebook usage.
    """

    def __init__(self, levels: Sequence[int]):
        super().__init__()
        levels = tuple(int(level) for level in levels)
        if not levels or any(level < 2 for level in levels):
            raise ValueError(f"FSQ levels must be integers >= 2, got {levels}")
        self.levels = levels
        self.dim = len(levels)
        self.cardinality = math.prod(levels)
        # Non-persistent: derived from `levels`, which the config stores.
        self.register_buffer("_levels", torch.tensor(levels, dtype=torch.int64), persistent=False)
        self.register_buffer("_basis", torch.tensor(mixed_radix_basis(levels), dtype=torch.int64),
                             persistent=False)

    def _per_channel(self, t: Tensor, ndim: int, channel_dim: int) -> Tensor:
        """Reshape a per-channel vector to broadcast against an ``ndim`` tensor."""
        shape = [1] * ndim
        shape[channel_dim] = self.dim
        return t.view(shape)

    def forward(self, z: Tensor, channel_dim: int = 1) -> tuple[Tensor, Tensor]:
        """Quantize ``z`` (e.g. float [B, d, T] with ``channel_dim=1``).

        Returns:
            ``(values, digits)``: values float32 on the grid, same shape as ``z``, with a
            straight-through gradient; digits int64 in ``0..L_i-1``, same shape.
        """
        if z.shape[channel_dim] != self.dim:
            raise ValueError(f"expected {self.dim} channels at dim {channel_dim}, got {z.shape[channel_dim]}")
        device_type = z.device.type if z.device.type in ("cuda", "cpu", "mps", "xpu") else "cpu"
        with torch.autocast(device_type=device_type, enabled=False):
            z = z.float()
            half = self._per_channel((self._levels - 1).to(z.dtype) / 2, z.dim(), channel_dim)
            # Continuous position on the digit axis, in (0, L-1).
            position = half * (torch.tanh(z) + 1)
            digits_f = torch.round(position).clamp_(min=0)
            digits_f = torch.minimum(digits_f, 2 * half)
            grid = digits_f / half - 1
            # Straight-through: forward value is exactly `grid` (x - x == 0 in IEEE arithmetic),
            # the gradient is that of the bounded continuous value.
            values = grid + (position - position.detach()) / half
        return values, digits_f.to(torch.int64)

    def digits_to_values(self, digits: Tensor, channel_dim: int = 1) -> Tensor:
        """Grid values float32 from integer digits (inverse of the rounding)."""
        half = self._per_channel((self._levels - 1).to(torch.float32) / 2, digits.dim(), channel_dim)
        return digits.to(torch.float32) / half - 1

    def digits_to_index(self, digits: Tensor, channel_dim: int = 1) -> Tensor:
        """Composite tokens int64 (channel dim removed) from digits int [..., d, ...]."""
        basis = self._per_channel(self._basis, digits.dim(), channel_dim)
        return (digits.to(torch.int64) * basis).sum(dim=channel_dim)

    def index_to_digits(self, index: Tensor, channel_dim: int = 1) -> Tensor:
        """Digits int64 with a new channel dim at ``channel_dim`` from composite tokens."""
        index = index.to(torch.int64).unsqueeze(channel_dim)
        basis = self._per_channel(self._basis, index.dim(), channel_dim)
        levels = self._per_channel(self._levels, index.dim(), channel_dim)
        return torch.div(index, basis, rounding_mode="floor") % levels
