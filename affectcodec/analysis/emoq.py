"""Emo-Q: route each utterance to the emotion-specialised codebook that reconstructs it best.

Zhou et al. (arXiv 2603.21224): quantize the input with every emotion-specialised codebook set
(and the balanced one), score each reconstruction by its fit to the unquantized features, and
keep the best. The *filtered* variant takes a specialised codebook only when it beats the
balanced one, else falls back to the balanced codebook. No label is needed at inference, and the
chosen codebook's emotion is itself an emotion prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from affectcodec.analysis.rvq import FeatureRVQ

BALANCED = "balanced"


def fit_score(original: Tensor, reconstruction: Tensor, score: str = "l2") -> float:
    """Higher is better: negative mean squared error, or frame-averaged cosine similarity."""
    if score == "l2":
        return -float(((original - reconstruction) ** 2).mean())
    if score == "cosine":
        return float(torch.nn.functional.cosine_similarity(original, reconstruction, dim=-1).mean())
    raise ValueError(f"score must be 'l2' or 'cosine', got {score!r}")


@dataclass
class Route:
    """Where one utterance went: the codebook's name, its reconstruction [T, D] and all scores."""

    choice: str
    reconstruction: Tensor
    scores: dict[str, float]


class EmoQ:
    """Routed quantization over emotion-specialised codebooks.

    Args:
        specialised: one fitted :class:`FeatureRVQ` per emotion.
        balanced: the balanced reference (required by the filtered variant).
        score: ``"l2"`` or ``"cosine"``.
        filtered: fall back to ``balanced`` unless a specialised codebook beats it.
    """

    def __init__(self, specialised: dict[str, FeatureRVQ], balanced: FeatureRVQ | None = None,
                 score: str = "l2", filtered: bool = False):
        if not specialised:
            raise ValueError("EmoQ needs at least one specialised codebook")
        if filtered and balanced is None:
            raise ValueError("the filtered variant needs the balanced codebook")
        self.specialised, self.balanced, self.score, self.filtered = specialised, balanced, score, filtered

    def route(self, x: Tensor, layers: int | None = None) -> Route:
        """Quantize frames [T, D] with the first ``layers`` layers of every codebook; keep the best."""
        candidates = dict(self.specialised)
        if self.balanced is not None:
            candidates[BALANCED] = self.balanced
        recon, scores = {}, {}
        for name, rvq in candidates.items():
            depth = (layers or rvq.layers) - 1
            recon[name] = rvq.quantize(x).cumulative[depth]
            scores[name] = fit_score(x, recon[name], self.score)
        pool = [n for n in self.specialised] + ([] if self.filtered or self.balanced is None else [BALANCED])
        best = max(pool, key=lambda n: scores[n])
        if self.filtered and scores[best] <= scores[BALANCED]:
            best = BALANCED
        return Route(best, recon[best], scores)
