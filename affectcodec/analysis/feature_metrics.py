"""Representation-level measures of how quantization reshapes features, per emotion."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import torch
from torch import Tensor


def cosine_by_layer(original: Tensor, cumulative: Tensor) -> Tensor:
    """Frame-averaged cosine similarity float [L] between original [T, D] and each cumulative
    reconstruction [L, T, D]."""
    return torch.nn.functional.cosine_similarity(cumulative, original[None], dim=-1).mean(-1)


def per_emotion_mean(values: Iterable[tuple[str, Tensor]]) -> dict[str, Tensor]:
    """Mean of per-utterance vectors grouped by label: ``{label: [L]}``."""
    groups: dict[str, list[Tensor]] = defaultdict(list)
    for label, v in values:
        groups[label].append(v)
    return {label: torch.stack(vs).mean(0) for label, vs in sorted(groups.items())}


def code_usage(indices: Tensor, codebook_size: int) -> tuple[Tensor, Tensor]:
    """Normalised entropy ``H / log K`` and utilisation ``used / K`` per layer.

    Args:
        indices: int [N, L] codes of N frames.
        codebook_size: K.

    Returns:
        ``(entropy, utilisation)``, each float [L]. Uniform use of all K codes gives (1, 1); one
        code used for everything gives (0, 1/K).
    """
    if indices.dim() != 2:
        raise ValueError(f"indices must be [N, L], got {tuple(indices.shape)}")
    entropy, used = [], []
    for layer in indices.t():
        counts = torch.bincount(layer, minlength=codebook_size).double()
        p = counts[counts > 0] / counts.sum()
        h = float(-(p * p.log()).sum())
        entropy.append(h / math.log(codebook_size) if codebook_size > 1 else 0.0)
        used.append(float((counts > 0).sum()) / codebook_size)
    return torch.tensor(entropy), torch.tensor(used)
