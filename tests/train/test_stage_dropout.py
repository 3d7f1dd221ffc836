"""Biased stage dropout: exact distribution, seeded draws, statistical check of the sampler."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from affectcodec.train.stage_dropout import StageDropout

RATES = (2, 4, 8)


def test_default_distribution_is_the_documented_one():
    dist = StageDropout().distribution(8, RATES)
    # 75 % of steps: rate points with weights 1/m (4/7, 2/7, 1/7); 25 %: all 8 stages.
    assert dist == pytest.approx({2: 0.75 * 4 / 7, 4: 0.75 * 2 / 7, 8: 0.25 + 0.75 / 7})
    assert sum(dist.values()) == pytest.approx(1.0)
    assert StageDropout(mode="none").distribution(8, RATES) == {8: 1.0}
    assert StageDropout(p=0.0).distribution(8, RATES) == {8: 1.0}
    uniform = StageDropout(p=0.5, mode="uniform").distribution(8, RATES)
    assert uniform[1] == pytest.approx(0.5 / 8) and uniform[8] == pytest.approx(0.5 + 0.5 / 8)


def test_draw_is_a_function_of_seed_and_step_only():
    sd = StageDropout(seed=7)
    first = [sd.sample(step, 8, RATES) for step in range(200)]
    # Disturbing every global RNG must not change the draws (DDP ranks and data workers
    # consume their RNGs differently).
    torch.manual_seed(123)
    np.random.seed(5)
    torch.rand(1000)
    again = [StageDropout(seed=7).sample(step, 8, RATES) for step in range(200)]
    assert first == again
    other = [StageDropout(seed=8).sample(step, 8, RATES) for step in range(200)]
    assert first != other
    assert set(first) <= set(RATES)


def test_sampled_frequencies_match_the_distribution():
    sd = StageDropout(seed=0)
    n = 20000
    counts = Counter(sd.sample(step, 8, RATES) for step in range(n))
    expected = sd.distribution(8, RATES)
    assert set(counts) == set(expected)
    # Pearson chi-square with 2 degrees of freedom; 13.8 is the 0.999 quantile.
    chi2 = sum((counts[m] - n * p) ** 2 / (n * p) for m, p in expected.items())
    assert chi2 < 13.8, (counts, expected)
    # The all-stage share is the 25 % plus the dropped steps that landed on 8.
    assert counts[8] / n == pytest.approx(expected[8], abs=4 * math.sqrt(0.25 / n))
    # Biased towards few stages: 2 stages is the most frequent count.
    assert counts[2] > counts[8] > counts[4]


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        StageDropout(mode="sometimes")
    with pytest.raises(ValueError, match="p must be"):
        StageDropout(p=1.5)
    with pytest.raises(ValueError, match="3 rate points"):
        StageDropout(weights=[1.0, 1.0]).distribution(8, RATES)
