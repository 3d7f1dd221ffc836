"""Inference arithmetic that does not depend on the batch, the padding, the thread count or the
window: the layers of affectcodec.nn.determinism, and the shipped model's tokens through the
API and the CLI's windowed path."""

import csv

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

import affectcodec
from affectcodec.affc_io import encode_audio
from affectcodec.nn.determinism import Conv1d, Conv2d, deterministic, invariant_mm
from tests.conftest import threads

# (rows, depth) of the shipped model's GEMMs, the small ones among them the quantizer's
SHAPES = [(3, 64), (6, 256), (64, 6), (16, 9), (32, 144), (128, 2560), (256, 1926), (768, 256),
          (642, 256)]


@pytest.mark.parametrize("rows,depth", SHAPES)
def test_a_column_of_invariant_mm_depends_on_that_column_alone(rows, depth):
    gen = torch.Generator().manual_seed(rows * 7 + depth)
    w = torch.randn(rows, depth, generator=gen) / depth ** 0.5
    x = torch.randn(depth, 1200, generator=gen)
    with threads(1):
        ref = invariant_mm(w, x)  # every column inside a 1,200-column product
    for n in (1, 2, 5, 9, 15, 16, 17, 100, 333):
        for start in (0, 7, 640):
            for t in (1, 2):
                with threads(t):
                    got = invariant_mm(w, x[:, start: start + n].contiguous())
                assert torch.equal(got, ref[:, start: start + n]), (n, start, t)


LAYERS = {
    "pointwise": lambda: Conv1d(48, 40, 1),
    "k5": lambda: Conv1d(24, 32, 5),
    "dilated": lambda: Conv1d(32, 32, 3, dilation=4),
    "depthwise": lambda: Conv1d(32, 32, 7, groups=32),
    "no_bias": lambda: Conv1d(16, 6, 1, bias=False),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_conv1d_infers_like_torch_and_the_same_alone_batched_and_threaded(name):
    torch.manual_seed(0)
    conv = LAYERS[name]().eval()
    items = [torch.randn(1, conv.in_channels, n) for n in (90, 41, 12)]
    batch = torch.zeros(3, conv.in_channels, 90)
    for i, item in enumerate(items):
        batch[i, :, : item.shape[-1]] = item[0]
    with torch.no_grad(), deterministic("cpu"):
        torch_out = F.conv1d(batch, conv.weight, conv.bias, dilation=conv.dilation, groups=conv.groups)
        with threads(2):
            out = conv(batch)
        assert torch.allclose(out, torch_out, atol=1e-5)
        lost = (conv.kernel_size[0] - 1) * conv.dilation[0]
        for i, item in enumerate(items):
            with threads(1):
                alone = conv(item)
            assert torch.equal(alone[0], out[i, :, : item.shape[-1] - lost]), i
    conv.train()  # training, and inference outside deterministic(), use torch's own convolution
    assert torch.equal(conv(batch), F.conv1d(batch, conv.weight, conv.bias, dilation=conv.dilation,
                                             groups=conv.groups))


def test_conv2d_infers_like_torch_and_the_same_alone_and_batched():
    torch.manual_seed(0)
    conv = Conv2d(16, 32, 3).eval()
    batch = torch.randn(2, 16, 34, 60)
    with torch.no_grad(), deterministic("cpu"):
        out = conv(batch)
        assert torch.allclose(out, F.conv2d(batch, conv.weight, conv.bias), atol=1e-5)
        with threads(1):
            alone = conv(batch[1:, :, :, :31].contiguous())
    assert torch.equal(alone[0], out[1, :, :, :29])


@pytest.mark.parametrize("fn", [torch.exp, torch.log, torch.tanh, torch.erf, torch.sqrt, F.gelu],
                         ids=lambda f: f.__name__)
def test_the_elementwise_functions_of_the_inference_path_round_alike_everywhere(fn):
    # torch computes a tensor's last elements in a scalar loop; for these functions it must give
    # the vectorised loop's numbers (pow, sigmoid and softplus do not, so the model avoids them)
    x = torch.rand(4099) + 1e-3
    full = fn(x)
    for shift in range(1, 17):
        assert torch.equal(fn(x[shift:].clone()), full[shift:]), shift


@pytest.fixture(scope="module")
def shipped():
    return affectcodec.load("affectcodec-16k-small")


def clips(root, count, step):
    with open(root / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[::step][:count]
    return [torch.from_numpy(sf.read(root / r["path"], dtype="float32")[0]) for r in rows]


def test_the_shipped_model_gives_the_same_tokens_batched_alone_and_on_any_thread_count(shipped, nemo):
    # The API path that the tokenizer uses; before the invariant layers, 6 of 15,968 tokens of
    # 16 such clips differed between the padded batch and the items alone.
    wavs = clips(nemo, 10, 97)
    wavs[3] = wavs[3][:3000]  # under 16 frames: MKL's small-matrix kernels
    lengths = torch.tensor([len(w) for w in wavs])
    batch = torch.zeros(len(wavs), int(lengths.max()))
    for i, w in enumerate(wavs):
        batch[i, : len(w)] = w
    with threads(1):
        alone = [shipped.encode(w).tokens[0] for w in wavs]
    for t in (1, 2):
        with threads(t):
            batched = shipped.encode(batch, lengths=lengths).tokens
        for i, a in enumerate(alone):
            assert torch.equal(batched[i, :, : a.shape[-1]], a), (t, i)


def test_the_cli_path_gives_the_api_tokens_for_any_window(shipped, nemo, tmp_path):
    wav = np.concatenate([w.numpy() for w in clips(nemo, 7, 50)])  # about 16 s
    path = tmp_path / "long.wav"
    sf.write(path, wav, 16000, subtype="FLOAT")
    api = shipped.encode(torch.from_numpy(wav)).tokens[0]
    for window, t in ((3.0, 2), (10.0, 1)):
        with threads(t):
            codes, _ = encode_audio(shipped, path, window_seconds=window)
        assert torch.equal(codes.tokens[0], api), window
