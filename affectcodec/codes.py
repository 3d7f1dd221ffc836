"""The :class:`Codes` container: tokens plus everything needed to interpret them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

#: The fields of :class:`Codes` that say how to read its tokens (the token layout), as opposed
#: to which tokens and how many samples: what a container stores beside the tokens, under these
#: names (the ``.affc`` header does), and what :meth:`Codes.from_layout` rebuilds codes from.
LAYOUT_FIELDS = ("sample_rate", "hop_length", "cardinality", "levels", "num_emotion_digits")


def _basis(levels: tuple[int, ...]) -> list[int]:
    basis, acc = [], 1
    for level in levels:
        basis.append(acc)
        acc *= level
    return basis


@dataclass(frozen=True)
class Codes:
    """Discrete codes of a batch of utterances.

    Attributes:
        tokens: int64 [B, K, T]: K residual stages (the bitrate), T frames; frames past an
            item's :attr:`frame_lengths` are padding.
        lengths: int64 [B]: valid samples per item at :attr:`sample_rate`.
        sample_rate: the model's audio rate (Hz).
        hop_length: samples per frame at :attr:`sample_rate`.
        cardinality: distinct values of one token.
        levels: FSQ level layout of a composite token (digit 0 least significant), or None for
            codebook (RVQ) tokens.
        num_emotion_digits: how many leading digits are the emotion partition.
        source_sample_rate: rate of the audio that was encoded, before resampling.
    """

    tokens: Tensor
    lengths: Tensor
    sample_rate: int
    hop_length: int
    cardinality: int
    levels: tuple[int, ...] | None = None
    num_emotion_digits: int = 0
    source_sample_rate: int | None = None

    def __post_init__(self) -> None:
        if self.tokens.dim() != 3:
            raise ValueError(f"tokens must be [B, K, T], got shape {tuple(self.tokens.shape)}")
        if self.lengths.shape != (self.tokens.shape[0],):
            raise ValueError(f"lengths must be [B] = [{self.tokens.shape[0]}], "
                             f"got {tuple(self.lengths.shape)}")
        if self.levels is not None and math.prod(self.levels) != self.cardinality:
            raise ValueError(f"levels {self.levels} do not multiply to cardinality {self.cardinality}")

    @classmethod
    def from_layout(cls, tokens: Tensor, lengths: Tensor, layout: Mapping[str, Any],
                    source_sample_rate: int | None = None) -> Codes:
        """Codes of stored tokens: ``tokens`` int [B, K, T] and ``lengths`` [B] valid samples, in
        the token layout ``layout`` (a mapping with the keys of :data:`LAYOUT_FIELDS`, e.g. a
        ``.affc`` header; other keys are ignored). A codec builds its codes with
        :meth:`~affectcodec.Codec.codes` instead."""
        levels = layout["levels"]
        return cls(tokens=tokens.long(), lengths=lengths.long(), sample_rate=int(layout["sample_rate"]),
                   hop_length=int(layout["hop_length"]), cardinality=int(layout["cardinality"]),
                   levels=None if levels is None else tuple(int(x) for x in levels),
                   num_emotion_digits=int(layout["num_emotion_digits"]),
                   source_sample_rate=source_sample_rate)

    @property
    def layout(self) -> dict[str, Any]:
        """The token layout, ``{name: value}`` for the names of :data:`LAYOUT_FIELDS`: what a
        reader needs beside the tokens and lengths to interpret them."""
        return {name: getattr(self, name) for name in LAYOUT_FIELDS}

    @property
    def num_stages(self) -> int:
        """K, the number of residual stages carried."""
        return self.tokens.shape[1]

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    @property
    def frame_lengths(self) -> Tensor:
        """int64 [B]: valid frames per item (``ceil(lengths / hop_length)``)."""
        return torch.div(self.lengths + self.hop_length - 1, self.hop_length, rounding_mode="floor")

    @property
    def bits_per_token(self) -> float:
        return math.log2(self.cardinality)

    @property
    def kbps(self) -> float:
        """Nominal bitrate in kbit/s: stages x bits per token x frame rate."""
        return self.num_stages * self.bits_per_token * self.frame_rate / 1000.0

    def truncate(self, n_stages: int) -> Codes:
        """The same codes with only the first ``n_stages`` stages (a lower bitrate)."""
        if not 1 <= n_stages <= self.num_stages:
            raise ValueError(f"n_stages must be in 1..{self.num_stages}, got {n_stages}")
        return replace(self, tokens=self.tokens[:, :n_stages])

    def to(self, device: torch.device | str) -> Codes:
        return replace(self, tokens=self.tokens.to(device), lengths=self.lengths.to(device))

    def digits(self) -> Tensor:
        """int64 [B, K, T, d]: every FSQ digit of every token (emotion digits first)."""
        if self.levels is None:
            raise ValueError("these codes have no FSQ level layout (codebook tokens have no digits)")
        basis = torch.tensor(_basis(self.levels), dtype=torch.int64, device=self.tokens.device)
        levels = torch.tensor(self.levels, dtype=torch.int64, device=self.tokens.device)
        return torch.div(self.tokens.unsqueeze(-1), basis, rounding_mode="floor") % levels

    def emotion_digits(self) -> Tensor:
        """int64 [B, K, T, n_e]: the digits of the emotion partition (3 per stage by default)."""
        return self.digits()[..., : self.num_emotion_digits]

    def acoustic_digits(self) -> Tensor:
        """int64 [B, K, T, n_a]: the digits of the acoustic partition (6 per stage by default)."""
        return self.digits()[..., self.num_emotion_digits :]

    @property
    def emotion_cardinality(self) -> int:
        """Values of the emotion sub-token of one stage (8 by default)."""
        if self.levels is None:
            raise ValueError("these codes have no emotion partition")
        return math.prod(self.levels[: self.num_emotion_digits])

    def split_tokens(self) -> tuple[Tensor, Tensor]:
        """``(emotion, acoustic)`` sub-tokens, each int64 [B, K, T].

        ``token = emotion + emotion_cardinality * acoustic`` (emotion digits are the least
        significant), so the split is exact and :meth:`join_tokens` inverts it.
        """
        n = self.emotion_cardinality
        return self.tokens % n, torch.div(self.tokens, n, rounding_mode="floor")

    def join_tokens(self, emotion: Tensor, acoustic: Tensor) -> Codes:
        """Codes whose tokens are rebuilt from emotion and acoustic sub-tokens [B, K, T]."""
        return replace(self, tokens=emotion.long() + self.emotion_cardinality * acoustic.long())
