"""The frame-rate (Vocos-style) generator: causal encoder, bounded decoder look-ahead and context,
padded batches decoded exactly as alone, and the DAC-style generator still selectable."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from affectcodec.nn import FrameDecoder, FrameEncoder
from affectcodec.nn.frame_decoder import ISTFTHead
from tests.conftest import tiny_codec


@pytest.mark.parametrize("phase", [False, True])
def test_encoder_frames_depend_on_the_past_only_within_the_receptive_field(phase):
    torch.manual_seed(0)
    enc = FrameEncoder(dim=8, n_blocks=2, latent_dim=4, phase=phase).eval()
    x = torch.randn(1, 1, 320 * 40)
    y = torch.randn(1, 1, 320 * 40)
    t = 30  # frame t sees samples [(t + 1) * 320 - receptive_field, (t + 1) * 320)
    start = (t + 1) * 320 - enc.receptive_field
    assert start > 0
    mixed = x.clone()
    mixed[..., :start] = y[..., :start]  # different distant past
    mixed[..., (t + 1) * 320:] = y[..., (t + 1) * 320:]  # different future
    a, b = enc(x), enc(mixed)
    assert torch.allclose(a[..., t], b[..., t], atol=1e-5)
    earlier = x.clone()
    earlier[..., start + 160] += 1.0  # the oldest STFT frame inside the field does matter
    assert not torch.allclose(enc(earlier)[..., t], a[..., t], atol=1e-6)


def test_decoder_lookahead_and_context_are_true_bounds():
    torch.manual_seed(0)
    dec = FrameDecoder(input_dim=6, dim=8, n_blocks=2, post_blocks=1).eval()
    latent = torch.randn(1, 6, 60)
    base = dec(latent)[0, 0]
    t = 30
    later = latent.clone()
    later[..., t + dec.lookahead_frames + 1:] += 1.0  # beyond the look-ahead: no effect on frame t
    diff = (dec(later)[0, 0] - base).abs()
    assert diff[: (t + 1) * 320].max() < 1e-5
    nxt = latent.clone()
    nxt[..., t + dec.lookahead_frames] += 1.0  # within it: frame t's samples change
    assert (dec(nxt)[0, 0] - base)[t * 320:(t + 1) * 320].abs().max() > 1e-4
    early = latent.clone()
    early[..., t] += 1.0
    changed = (dec(early)[0, 0] - base).abs().nonzero()
    last_frame = int(changed.max()) // 320
    assert last_frame - t < dec.context_frames  # the context bounds how far a frame reaches


def test_a_padded_batch_decodes_each_item_exactly_as_alone():
    codec = tiny_codec()
    short, long = torch.randn(3000) * 0.3, torch.randn(9000) * 0.3
    batch = torch.zeros(2, 9000)
    batch[0, :3000], batch[1] = short, long
    out = codec.decode(codec.encode(batch, lengths=torch.tensor([3000, 9000])))
    alone = codec.decode(codec.encode(short))
    assert torch.allclose(out[0, :, :3000], alone[0], atol=1e-6)  # batched GEMMs round differently
    assert torch.count_nonzero(out[0, :, 3000:]) == 0


def test_the_dac_generator_is_still_selectable():
    codec = tiny_codec(generator="dac", encoder_dim=4, decoder_dim=16)
    assert type(codec.encoder).__name__ == "Encoder" and codec.decoder_lookahead_frames == 0
    x = torch.randn(1, 4000) * 0.3
    assert codec.decode(codec.encode(x)).shape == (1, 1, 4000)


def test_unknown_generator_is_rejected():
    with pytest.raises(ValueError, match="generator must be one of"):
        tiny_codec(generator="wavenet")


def test_decode_equals_the_forward_output():
    codec = tiny_codec()
    x = torch.randn(1, 1, 6400) * 0.3
    with torch.no_grad():
        out = codec(x)
    codes = codec.encode(x[0])
    assert torch.allclose(codec.decode(codes), out.audio, atol=1e-5)
    shifted = replace(codes, tokens=codes.tokens.flip(-1))
    assert not torch.allclose(codec.decode(shifted), out.audio, atol=1e-3)


def test_phase_features_with_zero_weights_change_nothing_and_carry_the_timing():
    torch.manual_seed(0)
    plain = FrameEncoder(dim=8, n_blocks=1, latent_dim=4).eval()
    phased = FrameEncoder(dim=8, n_blocks=1, latent_dim=4, phase=True).eval()
    state = plain.state_dict()
    w = state["embed.weight"]  # the warm start of recipes/tools/warm_start_phase.py
    state["embed.weight"] = torch.cat([w, torch.zeros(w.shape[0], 2 * w.shape[1], 1)], dim=1)
    phased.load_state_dict(state)
    x = torch.randn(2, 1, 320 * 12)
    assert torch.equal(plain(x), phased(x))
    # a pure delay of a stationary tone keeps every magnitude and moves only the phase
    t = torch.arange(320 * 12 + 40) / 16000
    tone = torch.sin(2 * torch.pi * 137.0 * t)
    early, late = tone[40:][None, None], tone[:-40][None, None]
    spec = phased.spectrogram
    bins = spec.channels // 3
    a, b = spec(early)[..., 8:], spec(late)[..., 8:]
    peak = slice(4, 8)  # the bins around 137 Hz (25 Hz apart)
    assert torch.allclose(a[:, peak], b[:, peak], atol=0.05)
    real = slice(bins + 4, bins + 8)
    assert (a[:, real] - b[:, real]).abs().max() > 0.5


@pytest.mark.parametrize("n_fft, hop", [(640, 160), (48, 16), (40, 16)])
def test_overlap_add_equals_fold(n_fft, hop):
    # The head's overlap-add (shifted block additions when the window is whole hops, else
    # F.fold) is the plain overlap-add of its frames.
    head = ISTFTHead(8, n_fft, hop)
    frames = torch.randn(2, 13, n_fft)
    want = torch.nn.functional.fold(frames.transpose(1, 2), output_size=(1, 12 * hop + n_fft),
                                    kernel_size=(1, n_fft), stride=(1, hop))[:, 0, 0]
    assert torch.allclose(head._overlap_add(frames), want, atol=1e-6)

