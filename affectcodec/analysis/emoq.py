"""Emo-Q: route each utterance to the emotion-specialised codebook that reconstructs it best.

Zhou et al. (arXiv 2603.21224): quantize the input with every emotion-specialised codebook set,
score each reconstruction by its fit to the unquantized features, and keep the best. The
*filtered* variant also quantizes with the balanced codebook and takes the best specialised
codebook only when it beats the balanced one, else falls back to the balanced codebook. (Were the
balanced codebook a candidate of the plain variant too, the two variants would be the same rule.)
No label is needed at inference, and the chosen codebook's emotion is itself an emotion
prediction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from affectcodec.analysis.feature_rvq import FeatureRVQ

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
        balanced: the balanced reference (required by the filtered variant; the plain variant
            only scores it, in :attr:`Route.scores`, and never routes to it).
        score: ``"l2"`` or ``"cosine"``.
        filtered: fall back to ``balanced`` unless the best specialised codebook beats it.
    """

    def __init__(self, specialised: dict[str, FeatureRVQ], balanced: FeatureRVQ | None = None,
                 score: str = "l2", filtered: bool = False):
        if not specialised:
            raise ValueError("EmoQ needs at least one specialised codebook")
        if filtered and balanced is None:
            raise ValueError("the filtered variant needs the balanced codebook")
        self.specialised, self.balanced, self.score, self.filtered = specialised, balanced, score, filtered

    def candidates(self) -> dict[str, FeatureRVQ]:
        """Every codebook a route scores: the specialised ones, then ``balanced`` if given."""
        out = dict(self.specialised)
        if self.balanced is not None:
            out[BALANCED] = self.balanced
        return out

    def route(self, x: Tensor, layers: int | None = None) -> Route:
        """Quantize frames [T, D] with the first ``layers`` layers of every codebook; keep the best
        specialised one (filtered: unless the balanced one fits at least as well)."""
        recon = {}
        for name, rvq in self.candidates().items():
            recon[name] = rvq.quantize(x).cumulative[(layers or rvq.layers) - 1]
        return self.route_from(x, recon)

    def route_from(self, x: Tensor, reconstructions: Mapping[str, Tensor]) -> Route:
        """Route frames [T, D] given their reconstructions [T, D] by every candidate codebook.

        The same decision as :meth:`route`, from reconstructions computed once elsewhere (e.g.
        with :meth:`FeatureRVQ.quantize_many`) and shared by several routers: ``route(x, m)`` is
        ``route_from(x, {name: rvq.quantize(x).cumulative[m - 1] for name, rvq in candidates})``.
        """
        missing = sorted(set(self.candidates()) - set(reconstructions))
        if missing:
            raise ValueError(f"no reconstruction by {missing}")
        scores = {name: fit_score(x, reconstructions[name], self.score) for name in self.candidates()}
        best = max(self.specialised, key=lambda n: scores[n])
        if self.filtered and scores[best] <= scores[BALANCED]:
            best = BALANCED
        return Route(best, reconstructions[best], scores)
