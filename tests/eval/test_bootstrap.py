"""Bootstrap intervals of ``affectcodec eval`` with known answers, and per-class recall change."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affectcodec.eval.bootstrap import edr_ci, mean_ci, resample_weights
from affectcodec.eval.emotion import classification_metrics, degradation_rate, recall_change


def test_resample_weights_keep_each_stratum_size():
    strata = ["a"] * 5 + ["b"] * 2 + ["c"]
    w = resample_weights(strata, n_boot=200, seed=3)
    assert w.shape == (200, 8)
    assert np.all(w[:, :5].sum(1) == 5) and np.all(w[:, 5:7].sum(1) == 2) and np.all(w[:, 7] == 1)
    assert np.all(w == np.round(w)) and w[:, :5].std() > 0  # real draws, not all ones


def test_constant_data_gives_a_zero_width_interval():
    low, high = mean_ci([0.3] * 40, strata=["x", "y"] * 20)
    assert low == pytest.approx(0.3, abs=1e-12) and high == pytest.approx(0.3, abs=1e-12)


def test_interval_contains_the_mean_and_matches_the_normal_width():
    x = np.random.default_rng(1).normal(2.0, 1.0, 400)
    low, high = mean_ci(list(x))
    assert low < x.mean() < high
    # for a large normal sample the percentile interval is about mean +- 1.96 sd / sqrt(n)
    assert high - low == pytest.approx(2 * 1.96 * x.std() / math.sqrt(len(x)), rel=0.15)


def test_interval_is_deterministic_with_its_seed_and_skips_nan():
    x = list(np.random.default_rng(2).uniform(0, 1, 30))
    assert mean_ci(x, seed=5) == mean_ci(x, seed=5)
    assert mean_ci(x, seed=5) != mean_ci(x, seed=6)
    assert mean_ci(x + [math.nan, None]) == mean_ci(x)
    assert mean_ci([1.0, math.nan]) is None
    with pytest.raises(ValueError, match="one entry per utterance"):
        mean_ci([1.0, 2.0], strata=["a"])


def test_edr_interval_known_answers():
    target = [0, 0, 1, 1, 2, 2, 0, 1, 2, 0, 1, 2]
    strata = [f"e{t}" for t in target]
    good = list(target)
    wrong = [(t + 1) % 3 for t in target]
    # reconstructions recognised exactly like the originals: EDR 0 in every resample
    same = edr_ci([target], [good], [good], [3], strata)
    assert same["edr_macro"] == [[0.0, 0.0]] and same["medr"] == [0.0, 0.0] and same["wedr"] == [0.0, 0.0]
    # always wrong on the reconstructions: EDR 100; MEDR averages the two judges
    both = edr_ci([target, target], [good, good], [wrong, good], [3, 3], strata)
    assert both["edr_macro"] == [[100.0, 100.0], [0.0, 0.0]] and both["medr"] == [50.0, 50.0]
    # a judge that recognises no original: EDR undefined
    assert edr_ci([target], [wrong], [good], [3], strata)["medr"] is None


def test_edr_interval_contains_the_point_figure():
    rng = np.random.default_rng(0)
    target = list(np.repeat(np.arange(6), 20))
    orig = [t if rng.random() < 0.7 else int(rng.integers(6)) for t in target]
    rec = [t if rng.random() < 0.45 else int(rng.integers(6)) for t in target]
    uar = [classification_metrics(target, p, 6).uar for p in (orig, rec)]
    point = degradation_rate(*uar)
    ci = edr_ci([target], [orig], [rec], [6], [str(t) for t in target])
    (low, high), = ci["edr_macro"]
    assert low < point < high and high - low > 5
    assert ci == edr_ci([target], [orig], [rec], [6], [str(t) for t in target])


def test_recall_change_on_a_hand_made_confusion():
    original = [[4, 0, 0, 0],  # recall 1.0
                [1, 3, 0, 0],  # 0.75
                [0, 0, 2, 2],  # 0.5
                [0, 0, 0, 0]]  # class 3 never occurs
    reconstructed = [[4, 0, 0, 0],  # 1.0: kept
                     [3, 1, 0, 0],  # 0.25: the codec loses class 1
                     [0, 0, 3, 1],  # 0.75: better than the original
                     [0, 0, 0, 0]]
    change = recall_change(original, reconstructed)
    assert change[:3] == pytest.approx([0.0, -0.5, 0.25]) and math.isnan(change[3])
    with pytest.raises(ValueError, match="classes"):
        recall_change(original, [[1, 0], [0, 1]])
