"""The codec interface shared by AffectCodec, its baselines and wrapped third-party codecs.

Training, evaluation and the speech-LM tokenizer program against this interface only, so an RVQ
baseline, a DAC model or a user's own codec can stand in for AffectCodec anywhere.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
from torch import Tensor

from affectcodec.codes import Codes


class Codec(ABC):
    """Audio ``[B, 1, N]`` <-> :class:`~affectcodec.Codes` ``[B, K, T]``."""

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Rate of the audio the model works at (Hz)."""

    @property
    @abstractmethod
    def hop_length(self) -> int:
        """Samples per frame."""

    @property
    def frame_rate(self) -> float:
        """Frames (token positions) per second."""
        return self.sample_rate / self.hop_length

    @property
    @abstractmethod
    def num_stages(self) -> int:
        """Residual stages at the highest bitrate."""

    @property
    @abstractmethod
    def cardinality(self) -> int:
        """Distinct values of one token."""

    @property
    @abstractmethod
    def rate_stages(self) -> tuple[int, ...]:
        """Stage counts of the supported bitrates, ascending."""

    @property
    def levels(self) -> tuple[int, ...] | None:
        """FSQ level layout of a composite token (digit 0 least significant), or None for
        codebook tokens (RVQ, DAC, the reference codecs)."""
        return None

    @property
    def num_emotion_digits(self) -> int:
        """How many leading digits of :attr:`levels` are the emotion partition (0: none)."""
        return 0

    @property
    def supports_affc(self) -> bool:
        """Whether :mod:`affectcodec.affc_io` can encode audio with this codec to ``.affc`` files
        and decode them: it needs a bounded receptive field, so that long files are encoded in
        windows with the whole file's tokens, and a config and weights hash that name the model in
        the header. AffectCodec models (the RVQ baseline among them) do; the wrapped codecs (DAC,
        Opus, Codec2) run in memory only (False)."""
        return False

    def codes(self, tokens: Tensor, lengths: Tensor, source_sample_rate: int | None = None) -> Codes:
        """The one factory of this codec's :class:`~affectcodec.Codes`: ``tokens`` int [B, K, T]
        with ``lengths`` [B] valid samples at :attr:`sample_rate`, in this codec's token layout."""
        return Codes(tokens=tokens.long(), lengths=lengths.long(), sample_rate=self.sample_rate,
                     hop_length=self.hop_length, cardinality=self.cardinality, levels=self.levels,
                     num_emotion_digits=self.num_emotion_digits, source_sample_rate=source_sample_rate)

    @property
    def bitrates(self) -> list[float]:
        """Supported bitrates in kbit/s, ascending (e.g. ``[1.5, 3.0, 6.0]``)."""
        bits = math.log2(self.cardinality) * self.frame_rate / 1000.0
        return [round(m * bits, 6) for m in self.rate_stages]

    def stages_for(self, kbps: float | None = None, n_stages: int | None = None) -> int:
        """Stage count for a bitrate (kbit/s) or an explicit stage count; highest rate if neither.

        Raises:
            ValueError: for a rate the model does not have (the message names those it has), a
                stage count out of range, or both arguments at once.
        """
        if kbps is not None and n_stages is not None:
            raise ValueError("give kbps or n_stages, not both")
        if kbps is not None:
            for rate, stages in zip(self.bitrates, self.rate_stages, strict=True):
                if math.isclose(float(kbps), rate, rel_tol=1e-6, abs_tol=1e-9):
                    return stages
            supported = ", ".join(f"{r:g}" for r in self.bitrates)
            raise ValueError(f"unsupported bitrate {kbps:g} kbit/s; this model supports {supported} kbit/s")
        if n_stages is None:
            return self.rate_stages[-1]
        if not 1 <= int(n_stages) <= self.num_stages:
            raise ValueError(f"n_stages must be in 1..{self.num_stages}, got {n_stages}")
        return int(n_stages)

    @abstractmethod
    def encode(self, wav: Tensor | np.ndarray, sample_rate: int | None = None,
               lengths: Tensor | None = None, kbps: float | None = None,
               n_stages: int | None = None) -> Codes:
        """Audio ``[N]``, ``[B, N]`` or ``[B, C, N]`` at ``sample_rate`` -> Codes [B, K, T]."""

    @abstractmethod
    def decode(self, codes: Codes, sample_rate: int | None = None) -> Tensor:
        """Codes [B, K, T] -> float32 audio [B, 1, N] (at ``sample_rate`` if given)."""
