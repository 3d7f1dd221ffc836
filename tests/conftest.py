"""Shared fixtures: tiny seeded models and the location of the real data."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

# numba (librosa's features, ViSQOL's kernels) starts an idle thread pool that slows torch's
# single-thread kernels down many times (seen: a 1-thread LSTM 100x slower); one thread is enough.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two test processes on the two cores: one torch thread each, not two.
    # Tests that need a thread count set it themselves (threads()).
    torch.set_num_threads(1)

from affectcodec import AffectCodec  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: Test assets (golden outputs, the bitstream corpus).
ASSETS = REPO / "tests" / "assets"


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the enclosed code with ``n`` torch threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

#: A model small enough for fast contract tests, with every path (emotion, CEM) switched on.
TINY = dict(encoder_dim=4, decoder_dim=32, emotion_dim=8, acoustic_dim=16, adapter_dim=8, cem_window=10)


def tiny_codec(seed: int = 0, **overrides) -> AffectCodec:
    torch.manual_seed(seed)
    return AffectCodec(**{**TINY, **overrides}).eval()


def data_initialised(codec: AffectCodec, wav: torch.Tensor) -> AffectCodec:
    """``codec`` after the quantizer's data-dependent initialisation on ``wav`` [B, 1, N] (what
    the first training step does): its running statistics then spread these signals over the
    grid, as a trained model's do, instead of the identity statistics of a fresh model."""
    codec.train()
    with torch.no_grad():
        codec(wav)
    return codec.eval()


@pytest.fixture
def tiny() -> AffectCodec:
    return tiny_codec()


def data_root() -> Path | None:
    """nEMO folder: $AFFECTCODEC_DATA (the corpus folder or its parent) or ../shared/data."""
    candidates = []
    if os.environ.get("AFFECTCODEC_DATA"):
        env = Path(os.environ["AFFECTCODEC_DATA"])
        candidates += [env, env / "nemo-16k"]
    candidates.append(REPO.parent / "shared" / "data" / "nemo-16k")
    for path in candidates:
        if (path / "manifest.tsv").is_file():
            return path
    return None


@pytest.fixture
def nemo() -> Path:
    root = data_root()
    if root is None:
        pytest.skip("nEMO data not found: set AFFECTCODEC_DATA or place it at ../shared/data/nemo-16k")
    return root
