import math

import numpy as np
import pytest
import torch

from affectcodec.eval.leakage import leakage_probe
from affectcodec.metrics import mel_distance, pesq_wb, si_sdr, stoi
from tests.conftest import tiny_codec


def speechlike(seconds=2.0, seed=0):
    """Harmonic tones with a moving pitch and a syllable-rate envelope (PESQ needs speech-like input)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.1 * x * env + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def test_identity_scores_are_the_best_possible():
    x = speechlike()
    assert pesq_wb(x, x) > 4.5
    assert stoi(x, x) > 0.999
    assert mel_distance(x, x) == 0.0
    assert si_sdr(x, x) > 100


def test_si_sdr_known_answer_and_scale_invariance():
    rng = np.random.default_rng(1)
    s = rng.standard_normal(16000)
    n = rng.standard_normal(16000)
    n -= n.mean()
    s -= s.mean()
    n -= np.dot(n, s) / np.dot(s, s) * s  # orthogonal noise
    n *= np.linalg.norm(s) / np.linalg.norm(n) / 10  # 20 dB below the signal
    assert si_sdr(s, s + n) == pytest.approx(20.0, abs=1e-6)
    assert si_sdr(s, 3.0 * (s + n)) == pytest.approx(20.0, abs=1e-6)


def test_degradation_lowers_the_scores():
    x = speechlike()
    noisy = x + 0.05 * np.random.default_rng(2).standard_normal(x.size).astype(np.float32)
    assert pesq_wb(x, noisy) < pesq_wb(x, x) - 1
    assert stoi(x, noisy) < 0.99
    assert mel_distance(x, noisy) > 0.1
    assert math.isnan(pesq_wb(np.zeros(16000), np.zeros(16000)))
    with pytest.raises(ValueError, match="lengths differ"):
        stoi(x, x[:-1])


def test_leakage_probe_separates_informative_from_uninformative_digits():
    codec = tiny_codec()
    wavs = [torch.from_numpy(speechlike(1.0, seed=s) * (0.3 + 0.2 * s)) for s in range(8)]
    codes = [codec.encode(w) for w in wavs]
    acoustic = leakage_probe(codes, wavs, "acoustic")
    assert acoustic.n_fit_frames > 0 and acoustic.n_heldout_frames > 0
    # Random digits carry nothing about the spectrum: R^2 near or below zero.
    rng = np.random.default_rng(0)
    shuffled = [type(c)(**{**c.__dict__, "tokens": torch.from_numpy(rng.integers(0, 2**15, c.tokens.shape))})
                for c in codes]
    random_r2 = leakage_probe(shuffled, wavs, "acoustic").r2
    assert random_r2 < 0.05
    assert acoustic.r2 > random_r2 + 0.1
    with pytest.raises(ValueError, match="partition"):
        leakage_probe(codes, wavs, "both")
