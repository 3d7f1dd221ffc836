"""Training-data mixes of emotion-aware codebooks with a matched data budget.

* emotion-specific: every frame from one emotion;
* emotion-biased: a share ``p`` (0.95 or 0.99) from one emotion, the rest spread evenly over the
  others;
* balanced: equal shares of every emotion.

Every mix draws exactly ``budget`` frames, so codebooks differ only in *what* they saw.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def specific_mix(emotion: str, labels: Sequence[str]) -> dict[str, float]:
    if emotion not in labels:
        raise ValueError(f"unknown emotion {emotion!r}")
    return {label: float(label == emotion) for label in labels}


def biased_mix(emotion: str, labels: Sequence[str], share: float = 0.95) -> dict[str, float]:
    if emotion not in labels or not 0 < share < 1 or len(labels) < 2:
        raise ValueError("biased_mix needs a known emotion, 0 < share < 1 and two or more labels")
    rest = (1 - share) / (len(labels) - 1)
    return {label: share if label == emotion else rest for label in labels}


def balanced_mix(labels: Sequence[str]) -> dict[str, float]:
    return {label: 1.0 / len(labels) for label in labels}


def draw_frames(frames_by_label: dict[str, Tensor], mix: dict[str, float], budget: int,
                seed: int = 0) -> Tensor:
    """Exactly ``budget`` frames [budget, D] drawn with the label shares of ``mix``.

    Frames of a label are drawn without replacement while the pool lasts (with replacement only
    if the share exceeds the pool). Per-label counts are rounded so that they sum to ``budget``.
    """
    total = sum(mix.values())
    if total <= 0 or budget < 1:
        raise ValueError("mix shares must be positive and budget >= 1")
    labels = [label for label, share in mix.items() if share > 0]
    exact = [mix[label] / total * budget for label in labels]
    counts = [int(x) for x in exact]
    # Largest remainders get the frames left over by rounding down.
    by_remainder = sorted(range(len(labels)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: budget - sum(counts)]:
        counts[i] += 1
    gen = torch.Generator().manual_seed(seed)
    parts = []
    for label, n in zip(labels, counts, strict=True):
        pool = frames_by_label.get(label)
        if pool is None or pool.shape[0] == 0:
            raise ValueError(f"no frames of {label!r} to draw from")
        if n <= pool.shape[0]:
            idx = torch.randperm(pool.shape[0], generator=gen)[:n]
        else:
            idx = torch.randint(0, pool.shape[0], (n,), generator=gen)
        parts.append(pool[idx])
    return torch.cat(parts)
