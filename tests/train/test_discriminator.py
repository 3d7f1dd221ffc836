"""The CPU-sized spectral discriminator: DAC's output format, a real adversarial signal, and its
cost stated in its docstring."""

from __future__ import annotations

import torch
from dac.nn.loss import GANLoss

from affectcodec import AffectCodec
from affectcodec.train import CodecModule, StageDropout
from affectcodec.train.discriminator import SpectralDiscriminator
from tests.conftest import TINY
from tests.train.test_train import train


def _macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    total = [0]

    def hook(m, _inputs, out):
        total[0] += out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return total[0]


def test_output_format_and_cost():
    disc = SpectralDiscriminator()
    out = disc(torch.randn(2, 1, 16000) * 0.1)
    assert len(out) == 3 and all(len(fmaps) == 5 for fmaps in out)
    for fmaps in out:
        assert fmaps[-1].shape[:2] == (2, 1) and all(torch.isfinite(f).all() for f in fmaps)
    # The docstring's figures: 0.33 GMAC per second of audio, 52 k parameters.
    assert abs(_macs(disc, torch.randn(1, 1, 16000)) / 1e9 - 0.33) < 0.01
    assert 50_000 < sum(p.numel() for p in disc.parameters()) < 54_000


def test_the_discriminator_learns_to_tell_real_from_fake():
    # A few steps of DAC's least-squares objective separate clean speech-like tones from noise.
    torch.manual_seed(0)
    disc = SpectralDiscriminator(fft_sizes=(256, 128), channels=8)
    loss = GANLoss(disc)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
    t = torch.arange(8000) / 16000

    class Signal:  # GANLoss reads .audio_data and clones the fake
        def __init__(self, x):
            self.audio_data = x

        def clone(self):
            return Signal(self.audio_data.clone())

        def detach(self):
            return Signal(self.audio_data.detach())

    real = Signal(torch.sin(2 * torch.pi * 220 * t * torch.arange(1, 5)[:, None])[:, None])
    fake = Signal(torch.randn(4, 1, 8000) * 0.3)
    first = float(loss.discriminator_loss(fake, real))
    for _ in range(30):
        opt.zero_grad()
        d = loss.discriminator_loss(fake, real)
        d.backward()
        opt.step()
    assert float(d) < 0.5 * first


def test_trains_inside_the_module():
    torch.manual_seed(0)
    disc = SpectralDiscriminator(fft_sizes=(128,), channels=4)
    module = CodecModule(AffectCodec(**TINY), discriminator=disc,
                         stage_dropout=StageDropout(mode="none"))
    start = {k: v.detach().clone() for k, v in disc.named_parameters()}
    trainer = train(module, max_steps=2)
    assert not all(torch.equal(start[k], v) for k, v in disc.named_parameters())
    assert {"adv/gen", "adv/feat", "adv/disc"} <= set(trainer.callback_metrics)
