"""Stage dropout: how many residual stages a training step uses.

The paper's *biased stage dropout* (Meng et al. 2026, "Multi-rate training"): on 75 % of steps the
active stage count is drawn from a distribution that favours few stages and sits on the bitrate
points (2 / 4 / 8 stages); the other 25 % use every stage. The exact probabilities were not
published; this project's choice is ``P(m) proportional to 1 / m`` over the rate points, which for
(2, 4, 8) gives 4/7, 2/7, 1/7 inside the dropped-out steps and overall
``P(2) = 3/7 ~ 0.43, P(4) = 3/14 ~ 0.21, P(8) = 1/4 + 3/28 ~ 0.36``.

``mode="uniform"`` is the quantizer dropout of DAC (Kumar et al. 2023): with probability ``p`` a
count drawn uniformly from ``1..K``, otherwise all ``K``; the baselines use it.

The draw is a pure function of ``(seed, step)`` (NumPy's ``SeedSequence``), never of the global
RNG: every DDP rank computes the same count for the same optimiser step, a resumed run repeats
the draws it would have made, and data-loading randomness cannot shift it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MODES = ("biased", "uniform", "none")


class StageDropout:
    """Draws the active stage count of a training step.

    Args:
        p: probability that a step drops stages (the paper: 0.75); the other steps use all.
        mode: ``"biased"`` (the paper's: draw from the rate points with weights ``1 / m`` or
            ``weights``), ``"uniform"`` (DAC's: uniform over ``1..K``) or ``"none"`` (always all).
        weights: optional relative weights of the rate points for ``"biased"`` (one per rate
            point, in the codec's ``rate_stages`` order); default ``1 / m``.
        seed: seed shared by every process of a run.
    """

    def __init__(self, p: float = 0.75, mode: str = "biased",
                 weights: Sequence[float] | None = None, seed: int = 0):
        if mode not in MODES:
            raise ValueError(f"stage dropout mode must be one of {MODES}, got {mode!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"stage dropout p must be in [0, 1], got {p}")
        if weights is not None and (len(weights) == 0 or min(weights) < 0 or sum(weights) <= 0):
            raise ValueError(f"stage dropout weights must be non-negative with a positive sum, got "
                             f"{list(weights)}")
        self.p, self.mode, self.seed = float(p), mode, int(seed)
        self.weights = None if weights is None else [float(w) for w in weights]

    def distribution(self, num_stages: int, rate_stages: Sequence[int]) -> dict[int, float]:
        """Exact probability of each stage count ``{m: P(m)}`` (counts with P > 0 only)."""
        probs: dict[int, float] = {}
        if self.mode == "none" or self.p == 0.0:
            return {num_stages: 1.0}
        if self.mode == "uniform":
            choices = list(range(1, num_stages + 1))
            weights = [1.0] * num_stages
        else:
            choices = [int(m) for m in rate_stages]
            if self.weights is not None and len(self.weights) != len(choices):
                raise ValueError(f"stage dropout has {len(self.weights)} weights for the "
                                 f"{len(choices)} rate points {choices}")
            weights = self.weights if self.weights is not None else [1.0 / m for m in choices]
        total = sum(weights)
        for m, w in zip(choices, weights, strict=True):
            probs[m] = probs.get(m, 0.0) + self.p * w / total
        probs[num_stages] = probs.get(num_stages, 0.0) + (1.0 - self.p)
        return {m: q for m, q in sorted(probs.items()) if q > 0}

    def sample(self, step: int, num_stages: int, rate_stages: Sequence[int]) -> int:
        """The active stage count for optimiser step ``step`` (same on every rank)."""
        dist = self.distribution(num_stages, rate_stages)
        if len(dist) == 1:
            return next(iter(dist))
        rng = np.random.default_rng([self.seed, int(step)])
        counts = list(dist)
        return int(counts[rng.choice(len(counts), p=np.array(list(dist.values())))])

    def __repr__(self) -> str:
        return (f"StageDropout(p={self.p}, mode={self.mode!r}, weights={self.weights}, "
                f"seed={self.seed})")
