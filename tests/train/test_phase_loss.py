"""The phase-derivative loss: zero on the target, high on a comb, blind to absolute phase."""

from __future__ import annotations

import math

import torch

from affectcodec.train.losses import PhaseDerivativeLoss

SR = 16000


def harmonic(f0: float, seconds: float = 1.0, phase: float = 0.0) -> torch.Tensor:
    """float [1, 1, N]: five harmonics of ``f0`` with falling amplitudes."""
    t = torch.arange(int(SR * seconds)) / SR
    x = sum(torch.sin(2 * math.pi * k * f0 * t + k * phase) / k for k in range(1, 6))
    return (0.1 * x)[None, None]


def test_the_target_scores_near_zero_and_another_pitch_high():
    loss = PhaseDerivativeLoss()
    real = harmonic(130.0)
    assert loss(real, real).item() < 0.02
    # 100 Hz harmonics: the comb a constant per-bin phase gives at hop 160 (see the docstring)
    assert loss(harmonic(100.0), real).item() > 0.3


def test_a_constant_phase_offset_costs_nothing():
    # a codec's tokens do not carry the absolute phase, so a shift of every harmonic's phase
    # by one amount per harmonic (here k * 1.3 rad) must not be penalised much
    loss = PhaseDerivativeLoss()
    real = harmonic(130.0)
    assert loss(harmonic(130.0, phase=1.3), real).item() < 0.05


def test_gradient_is_finite_on_silence_and_reaches_the_output():
    loss = PhaseDerivativeLoss(n_ffts=(640, 1024), hops=(160, 256))
    fake = torch.zeros(2, 1, SR, requires_grad=True)
    real = torch.cat([harmonic(130.0), torch.zeros(1, 1, SR)])
    loss(fake, real).backward()
    assert torch.isfinite(fake.grad).all()
    fake = (harmonic(100.0).repeat(2, 1, 1)).requires_grad_()
    loss(fake, real).backward()
    assert fake.grad[0].abs().sum() > 0


def test_the_absolute_term_sees_the_offset_that_the_derivatives_forgive():
    real, shifted = harmonic(130.0), harmonic(130.0, phase=1.3)
    relative = PhaseDerivativeLoss()(shifted, real).item()
    absolute = PhaseDerivativeLoss(absolute=1.0)(shifted, real).item()
    assert absolute > relative + 0.1
    assert PhaseDerivativeLoss(absolute=1.0)(real, real).item() < 0.02
