"""Golden outputs of two seeded tiny models: refactors must not change what the codec computes.

``tests/assets/golden/`` holds two released folders (a tiny AffectCodec with the emotion path and
CEM, and a tiny RVQ baseline; weights after the quantizer's data-dependent initialisation, so
that their tokens spread over the grid as a trained model's do), a fixed input signal, and each
model's tokens at every bitrate and decoded audio at the highest. The tests load the folders
through the public loader and compare: tokens exactly, audio to float32 rounding.

A change that is meant to change the numbers regenerates the assets and says so in its commit:

    python -m tests.test_golden --regenerate
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import affectcodec
from affectcodec import AffectCodec
from tests.conftest import TINY, data_initialised, threads

GOLDEN = Path(__file__).resolve().parent / "assets" / "golden"
MODELS = {
    "affectcodec_tiny": TINY,
    "rvq_tiny": {**TINY, "quantizer": "rvq", "emotion_path": False, "cem": False, "n_stages": 12,
                 "rate_stages": [3, 6, 12], "rvq_codebook_size": 64},
}


def golden_input() -> torch.Tensor:
    """[1, 1, 20800]: 1.3 s of a gliding harmonic voice with syllable envelope and a little noise."""
    rate, n = 16000, 20800
    t = np.arange(n) / rate
    f0 = 130.0 * (1 + 0.1 * np.sin(2 * np.pi * 2.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 3.0 * t))
    noise = np.random.default_rng(0).standard_normal(n)
    wav = 0.2 * envelope * voice + 0.005 * noise
    return torch.from_numpy(wav.astype(np.float32))[None, None]


def outputs(codec: AffectCodec, wav: torch.Tensor) -> dict[str, torch.Tensor]:
    result = {}
    with torch.inference_mode():
        for kbps in codec.bitrates:
            result[f"tokens_{kbps:g}"] = codec.encode(wav, kbps=kbps).tokens.clone()
        result["audio"] = codec.decode(codec.encode(wav)).clone()
    return result


def regenerate() -> None:
    wav = golden_input()
    stored = {"input": wav}
    for name, config in MODELS.items():
        torch.manual_seed(0)
        codec = data_initialised(AffectCodec(**config).eval(), wav)
        codec.save(GOLDEN / name)
        stored.update({f"{name}/{k}": v for k, v in outputs(codec, wav).items()})
    save_file(stored, GOLDEN / "outputs.safetensors")
    print(f"wrote {GOLDEN}")


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return load_file(GOLDEN / "outputs.safetensors")


def test_the_input_is_the_one_the_outputs_were_made_from(golden):
    assert torch.equal(golden["input"], golden_input())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_released_tiny_model_reproduces_its_golden_tokens_and_audio(golden, name):
    codec = affectcodec.load(str(GOLDEN / name))
    with threads(1):
        got = outputs(codec, golden["input"])
    for kbps in codec.bitrates:
        want = golden[f"{name}/tokens_{kbps:g}"]
        assert torch.equal(got[f"tokens_{kbps:g}"], want), f"{name} tokens at {kbps:g} kbit/s changed"
    # The tokens spread over the grid (the assets are not a degenerate constant code).
    top = golden[f"{name}/tokens_{max(codec.bitrates):g}"]
    assert all(len(torch.unique(top[0, k])) > 4 for k in range(top.shape[1]))
    want = golden[f"{name}/audio"]
    assert got["audio"].shape == want.shape
    peak = float(want.abs().max())
    assert peak > 0 and math.isfinite(peak)
    assert torch.allclose(got["audio"], want, rtol=0, atol=1e-5 * peak), \
        f"{name}: decoded audio changed by up to {float((got['audio'] - want).abs().max()):.3g}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite tests/assets/golden")
    if parser.parse_args().regenerate:
        regenerate()
