import math

import pytest
import soundfile as sf
import torch

from affectcodec.emotion import TEACHERS, ProsodyAnalyzer, ProsodyTeacher, build_teacher


def harmonic(f0: float, seconds: float = 1.0, amp: float = 0.3) -> torch.Tensor:
    t = torch.arange(int(16000 * seconds)) / 16000
    return sum(amp / k * torch.sin(2 * math.pi * f0 * k * t) for k in range(1, 6))[None, None]


@pytest.mark.parametrize("f0", [80.0, 140.0, 230.0, 420.0])
def test_pitch_of_harmonic_tones(f0):
    p = ProsodyAnalyzer()(harmonic(f0))
    steady = p.f0_hz[0, 5:]
    assert (p.voiced[0, 5:] == 1).all()
    cents = 1200 * torch.log2(steady / f0)
    assert cents.abs().max() < 5


def test_noise_and_silence_are_unvoiced_and_levels_are_calibrated():
    a = ProsodyAnalyzer()
    noise = torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    assert a(noise).voiced.mean() < 0.05
    silence = a(torch.zeros(1, 1, 16000))
    assert silence.voiced.sum() == 0 and (silence.energy_db < -90).all()
    sine = torch.sin(2 * math.pi * 1000 * torch.arange(16000) / 16000)[None, None]
    p = a(sine)
    assert abs(p.energy_db[0, 10].item() + 3.01) < 0.05  # full-scale sine = -3 dBFS
    assert abs(p.centroid_hz[0, 10].item() - 1000) < 5


def test_teacher_shape_determinism_and_causality():
    teacher = ProsodyTeacher()
    x = torch.randn(2, 1, 6400) * 0.2
    f = teacher(x)
    assert f.shape == (2, teacher.feature_dim, 20)
    assert torch.equal(f, teacher(x))
    y = x.clone()
    y[..., 3200:] = torch.randn(2, 1, 3200)  # change the future from frame 10 on
    assert torch.equal(teacher(y)[..., :10], f[..., :10])
    z = x.clone()
    z[..., :320] = 0.9  # change the distant past
    first_free = -(-(320 + teacher.receptive_field) // 320)
    assert torch.equal(teacher(z)[..., first_free:], f[..., first_free:])


def test_teacher_is_frozen_and_rebuildable():
    teacher = ProsodyTeacher(f0_min=70.0)
    assert not teacher.train().training
    rebuilt = build_teacher(teacher.config())
    assert isinstance(rebuilt, ProsodyTeacher) and rebuilt.config() == teacher.config()
    assert "prosody" in TEACHERS
    with pytest.raises(ValueError, match="unknown emotion teacher"):
        build_teacher({"name": "nope"})


def test_real_speech_pitch_is_plausible(nemo):
    """Female speaker EB0 is higher-pitched than male speaker KS0 in the same sentence."""
    a = ProsodyAnalyzer()
    medians = {}
    for speaker in ("EB0", "KS0"):
        wav, sr = sf.read(nemo / "audio" / f"{speaker}_neutral_1.flac", dtype="float32")
        assert sr == 16000
        n = len(wav) // 320 * 320
        p = a(torch.from_numpy(wav[:n])[None, None])
        assert 0.2 < p.voiced.mean() < 0.9
        medians[speaker] = p.f0_hz[p.voiced > 0].median().item()
    assert 140 < medians["EB0"] < 350 and 70 < medians["KS0"] < 180
    assert medians["EB0"] > 1.3 * medians["KS0"]
