"""The learned SER teacher's contract: causal, bounded context, frozen, config without weight
paths, and usable by the codec (untrained weights here: no training in tests)."""

from __future__ import annotations

import pytest
import torch

from affectcodec import AffectCodec
from affectcodec.emotion import TEACHERS, SERNet, SERTeacher, build_teacher

SMALL = dict(n_mels=16, channels=8, kernels=[3, 3], dilations=[1, 2], norm_frames=10)


def test_features_shape_causality_and_bounded_context():
    torch.manual_seed(0)
    teacher = SERTeacher()  # default architecture, random weights
    rf = teacher.receptive_field
    assert rf == 640 + 99 * 320 + (4 + 4 + 8 + 16) * 320
    frames = rf // 320 + 12
    x = torch.randn(2, 1, frames * 320) * 0.1
    f = teacher.features(x)
    assert f.shape == (2, 128, frames) and torch.equal(f, teacher.features(x))
    y = x.clone()
    y[..., 5 * 320:] = torch.randn(2, 1, (frames - 5) * 320)  # a different future from frame 5
    assert torch.equal(teacher.features(y)[..., :5], f[..., :5])
    z = x.clone()
    z[..., :320] *= 5.0  # a different first hop: frames whose window starts after it are equal
    first_free = -(-(320 + rf) // 320) - 1
    assert (teacher.features(z)[..., first_free - 1] != f[..., first_free - 1]).any()
    assert torch.equal(teacher.features(z)[..., first_free:], f[..., first_free:])
    padded = teacher.features(torch.nn.functional.pad(x, (0, 3200)))
    assert torch.allclose(padded[..., :frames], f, atol=1e-5)


def test_frozen_gradients_reach_the_input_only():
    teacher = SERTeacher(**SMALL)
    assert not teacher.train().training and not teacher.net.training
    assert all(not p.requires_grad for p in teacher.parameters())
    x = (torch.randn(1, 1, 3200) * 0.1).requires_grad_(True)
    teacher.features(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_config_rebuild_and_pretrained_folder(tmp_path):
    torch.manual_seed(1)
    net = SERNet(**SMALL)
    net.save_pretrained(tmp_path / "ser", extra={"steps": 0})
    teacher = SERTeacher(pretrained=str(tmp_path / "ser"))
    config = teacher.config()
    assert config["name"] == "ser" and "pretrained" not in config and config["channels"] == 8
    assert "ser" in TEACHERS
    for k, v in net.state_dict().items():
        assert torch.equal(teacher.net.state_dict()[k], v)
    rebuilt = build_teacher(config)  # random weights, same architecture
    assert rebuilt.config() == config
    wav = torch.randn(2, 1, 16000) * 0.1
    p = teacher.predict_proba(wav, torch.tensor([16000, 8000]))
    assert p.shape == (2, 6) and torch.allclose(p.sum(-1), torch.ones(2))
    with pytest.raises(ValueError, match="differ from the checkpoint"):
        SERTeacher(pretrained=str(tmp_path / "ser"), channels=16)


def test_codec_with_ser_teacher_saves_its_weights(tmp_path):
    from tests.conftest import TINY

    torch.manual_seed(2)
    SERNet(**SMALL).save_pretrained(tmp_path / "ser")
    codec = AffectCodec(**TINY, teacher={"name": "ser", "pretrained": str(tmp_path / "ser")}).eval()
    assert codec.config["teacher"]["name"] == "ser" and "pretrained" not in codec.config["teacher"]
    assert codec.receptive_field >= codec.teacher.receptive_field
    codec.save(tmp_path / "codec")
    loaded = AffectCodec.from_pretrained(tmp_path / "codec")
    for k, v in codec.teacher.state_dict().items():
        assert torch.equal(loaded.teacher.state_dict()[k], v)
    wav = torch.randn(1, 1, 6400) * 0.1
    tokens = codec.encode(wav, sample_rate=16000).tokens
    assert torch.equal(loaded.encode(wav, sample_rate=16000).tokens, tokens)
