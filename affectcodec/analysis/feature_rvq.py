"""Residual vector quantization of frozen frame features (the analysis setting of Emo-Q).

Zhou et al. ("Emotion-Aware Quantization for Discrete Speech Representations", arXiv 2603.21224)
quantize frozen SSL features with RVQ trained to reconstruct them: EMA codebooks, k-means
initialisation, commitment weight 0.25. This module does exactly that with
vector-quantize-pytorch's ``ResidualVQ``. Features are standardised with the fitting data's
per-dimension mean and deviation before quantization (k-means and EMA updates are
scale-sensitive); reconstructions are returned in the original feature space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class QuantizedFeatures:
    """RVQ output for one utterance.

    Attributes:
        cumulative: float [L, T, D]: reconstruction after the first ``l + 1`` layers.
        indices: int64 [T, L]: code index per frame and layer.
    """

    cumulative: Tensor
    indices: Tensor


class FeatureRVQ:
    """``layers`` residual codebooks of ``codebook_size`` entries over ``dim``-dim features.

    Args:
        dim: feature dimension D.
        codebook_size: entries per codebook K.
        layers: residual layers L.
        decay: EMA decay of the codebooks.
        kmeans_iters: k-means iterations of the initialisation (first batch).
        seed: seed of the initialisation and of the batch order.
    """

    def __init__(self, dim: int, codebook_size: int, layers: int, decay: float = 0.99,
                 kmeans_iters: int = 10, seed: int = 0):
        from vector_quantize_pytorch import ResidualVQ

        self.dim, self.codebook_size, self.layers, self.seed = dim, codebook_size, layers, seed
        torch.manual_seed(seed)
        self.rvq = ResidualVQ(dim=dim, num_quantizers=layers, codebook_size=codebook_size,
                              kmeans_init=True, kmeans_iters=kmeans_iters, decay=decay,
                              commitment_weight=0.25)
        self.mean = torch.zeros(dim)
        self.std = torch.ones(dim)
        self.fitted_frames = 0

    @property
    def bits_per_frame(self) -> float:
        return self.layers * math.log2(self.codebook_size)

    def kbps(self, frame_rate: float = 50.0, layers: int | None = None) -> float:
        """Bitrate of the first ``layers`` layers at ``frame_rate`` frames per second."""
        return (layers or self.layers) * math.log2(self.codebook_size) * frame_rate / 1000.0

    def fit(self, frames: Tensor, epochs: int = 4, batch_frames: int = 8192) -> FeatureRVQ:
        """Train the codebooks on frames float [N, D] (EMA updates; no gradient step is needed,
        as nothing upstream of the codebooks learns)."""
        if frames.dim() != 2 or frames.shape[1] != self.dim:
            raise ValueError(f"frames must be [N, {self.dim}], got {tuple(frames.shape)}")
        if frames.shape[0] < self.codebook_size:
            raise ValueError(f"need at least {self.codebook_size} frames to fit, got {frames.shape[0]}")
        frames = frames.float()
        self.mean, self.std = frames.mean(0), frames.std(0).clamp(min=1e-5)
        x = (frames - self.mean) / self.std
        gen = torch.Generator().manual_seed(self.seed)
        self.rvq.train()
        with torch.no_grad():
            for _ in range(epochs):
                order = torch.randperm(x.shape[0], generator=gen)
                for start in range(0, x.shape[0], batch_frames):
                    batch = x[order[start : start + batch_frames]]
                    if batch.shape[0] < self.codebook_size and start > 0:
                        continue  # a tiny tail batch would skew the EMA statistics
                    self.rvq(batch[None])
        self.rvq.eval()
        self.fitted_frames = int(frames.shape[0])
        return self

    @torch.no_grad()
    def quantize(self, x: Tensor) -> QuantizedFeatures:
        """Quantize one utterance's frames float [T, D]."""
        z = (x.float() - self.mean) / self.std
        _, indices, _, all_codes = self.rvq(z[None], return_all_codes=True)  # all_codes [L, 1, T, D]
        cumulative = all_codes[:, 0].cumsum(0) * self.std + self.mean
        return QuantizedFeatures(cumulative=cumulative, indices=indices[0].long())

    @torch.no_grad()
    def quantize_many(self, xs: Sequence[Tensor], max_frames: int = 16384) -> list[QuantizedFeatures]:
        """Quantize many utterances' frames ([T_i, D] each) in a few batched calls.

        Quantization is per frame (nearest code per residual, no state across frames in eval
        mode), so this equals ``[self.quantize(x) for x in xs]`` exactly (the tests check it with
        ``torch.equal``); consecutive utterances are concatenated up to ``max_frames`` frames per
        call (an utterance longer than that goes alone). The returned tensors are views of each
        batch's output.
        """
        out: list[QuantizedFeatures] = []
        start = 0
        while start < len(xs):
            stop, frames = start + 1, xs[start].shape[0]
            while stop < len(xs) and frames + xs[stop].shape[0] <= max_frames:
                frames += xs[stop].shape[0]
                stop += 1
            lengths = [x.shape[0] for x in xs[start:stop]]
            q = self.quantize(torch.cat(list(xs[start:stop])))
            out += [QuantizedFeatures(c, i) for c, i in zip(q.cumulative.split(lengths, dim=1),
                                                             q.indices.split(lengths), strict=True)]
            start = stop
        return out
