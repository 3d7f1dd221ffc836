"""descript-audio-codec's DAC behind AffectCodec's :class:`~affectcodec.Codec` interface.

Used as the anchor baseline in evaluation and in ``affectcodec bench``. DAC's published 16 kHz
configuration (``conf/final/16khz.yml`` of the DAC repository) has a 64-channel encoder, a
1,536-channel decoder, hop 320 and 12 codebooks of 1,024 entries: 0.5 kbit/s per stage, so 3 / 6 /
12 stages are 1.5 / 3 / 6 kbit/s. No weights are downloaded: :meth:`DACCodec.architecture_16k`
builds that architecture with random weights (enough for speed), and any trained ``dac.DAC``
instance a user has can be wrapped directly.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec import audio
from affectcodec.codes import Codes
from affectcodec.interface import Codec

#: DAC's official 16 kHz model configuration.
DAC_16K = dict(sample_rate=16000, encoder_dim=64, encoder_rates=[2, 4, 5, 8], decoder_dim=1536,
               decoder_rates=[8, 5, 4, 2], n_codebooks=12, codebook_size=1024, codebook_dim=8)


class DACCodec(Codec):
    """A ``dac.DAC`` model as a :class:`~affectcodec.Codec`.

    Args:
        model: a ``dac.DAC`` instance (put in eval mode).
        rate_stages: stage counts offered as bitrates (default: quarter, half and all codebooks).
        name: label used in reports.

    DAC's convolutions are not causal, so unlike AffectCodec a padded batch is not guaranteed to
    give each item its solo tokens near the item's end.
    """

    def __init__(self, model, rate_stages: tuple[int, ...] | None = None, name: str = "dac"):
        self.model = model.eval()
        n = model.n_codebooks
        self._rate_stages = tuple(rate_stages) if rate_stages else (n // 4, n // 2, n)
        self.name = name

    @classmethod
    def architecture_16k(cls, seed: int = 0) -> DACCodec:
        """DAC's official 16 kHz architecture with random weights (for speed measurements)."""
        import dac

        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return cls(dac.DAC(**DAC_16K), name="dac16k")

    @property
    def sample_rate(self) -> int:
        return int(self.model.sample_rate)

    @property
    def hop_length(self) -> int:
        return int(self.model.hop_length)

    @property
    def num_stages(self) -> int:
        return int(self.model.n_codebooks)

    @property
    def cardinality(self) -> int:
        return int(self.model.codebook_size)

    @property
    def rate_stages(self) -> tuple[int, ...]:
        return self._rate_stages

    def parameters(self):
        return self.model.parameters()

    @torch.no_grad()
    def encode(self, wav: Tensor | np.ndarray, sample_rate: int | None = None,
               lengths: Tensor | None = None, kbps: float | None = None,
               n_stages: int | None = None) -> Codes:
        """Audio at ``sample_rate`` -> Codes int64 [B, K, T] (see :meth:`Codec.encode`)."""
        n_stages = self.stages_for(kbps, n_stages)
        sample_rate = self.sample_rate if sample_rate is None else int(sample_rate)
        x, lengths = audio.prepare(wav, sample_rate, self.sample_rate, lengths)
        device = next(self.model.parameters()).device
        frames = max(1, -(-x.shape[-1] // self.hop_length))
        x = F.pad(x, (0, frames * self.hop_length - x.shape[-1])).to(device)
        _, codes, *_ = self.model.encode(x, n_quantizers=n_stages)
        return self.codes(codes[:, :n_stages], lengths.to(device), source_sample_rate=sample_rate)

    @torch.no_grad()
    def decode(self, codes: Codes, sample_rate: int | None = None) -> Tensor:
        """Codes [B, K, T] -> float32 audio [B, 1, N] (see :meth:`Codec.decode`)."""
        device = next(self.model.parameters()).device
        z = self.model.quantizer.from_codes(codes.tokens.to(device))[0]
        wav = self.model.decode(z)
        return audio.finish_decode(wav, codes.lengths, self.sample_rate, sample_rate)
