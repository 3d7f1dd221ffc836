"""Praat's pitch and voice quality (affectcodec.praat): known answers, and agreement with the
project's own tracker on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from affectcodec import praat
from affectcodec.emotion.prosody import ProsodyAnalyzer

SR = 16000


def pulse_voice(f0: float, seconds: float = 1.0, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """A glottal-pulse-like train at ``f0`` through a decaying resonance; ``jitter`` perturbs
    each period by that relative standard deviation."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * SR))
    t = 0.0
    while t < len(y) - 1:
        y[int(t)] = 1.0
        t += SR / f0 * (1 + jitter * rng.standard_normal())
    k = np.arange(160)
    ring = np.exp(-k / 30) * np.sin(2 * np.pi * 700 * k / SR)
    out = np.convolve(y, ring)[: len(y)]
    return 0.3 * out / np.abs(out).max()


def test_pitch_of_a_periodic_voice_and_of_silence():
    f0, voiced = praat.pitch_track(pulse_voice(180.0))
    assert f0.shape == voiced.shape == (50,)
    assert voiced[3:-3].all() and np.median(f0[voiced]) == pytest.approx(180.0, rel=0.01)
    f0, voiced = praat.pitch_track(np.zeros(8000))
    assert f0.shape == (25,) and not voiced.any() and (f0 == 0).all()
    assert praat.pitch_track(np.zeros(100))[0].shape == (0,)


def test_voice_quality_orders_a_clean_and_a_rough_voice():
    clean = praat.voice_quality(pulse_voice(150.0))
    noise = 0.02 * np.random.default_rng(1).standard_normal(SR)
    rough = praat.voice_quality(pulse_voice(150.0, jitter=0.03) + noise)
    assert clean.jitter_percent < rough.jitter_percent and clean.hnr_db > rough.hnr_db
    assert np.isnan(praat.voice_quality(np.zeros(SR)).jitter_percent)


def test_praat_and_the_project_tracker_agree_on_real_speech(nemo):
    from affectcodec.audio import load as load_audio

    for name in ("EB0_anger_2.flac", "EB0_sadness_5.flac"):
        wav = load_audio(nemo / "audio" / name)[0].numpy()
        wav = wav[: len(wav) // 320 * 320]
        f0, voiced = praat.pitch_track(wav)
        ours = ProsodyAnalyzer()(torch.from_numpy(wav).reshape(1, 1, -1))
        f0_ours, voiced_ours = ours.f0_hz[0].numpy(), ours.voiced[0].numpy() > 0
        both = voiced & voiced_ours
        cents = 1200 * np.log2(f0_ours[both] / f0[both])
        assert both.sum() > 20 and np.median(np.abs(cents)) < 50, name
        assert (voiced != voiced_ours).mean() < 0.2, name
