"""Data-dependent initialisation of the quantizers and the FSQ bound loss.

A freshly built encoder's latent varies little over time around large per-channel offsets; these
tests build such a latent and check that the first training-mode forward spreads it over the
codes (and only that forward, and never in eval mode)."""

from __future__ import annotations

import torch

from affectcodec.quantization.rfsq import BDRFSQ, MOMENTUM, SATURATION
from affectcodec.quantization.rvq import RVQ


def offset_latent(dim: int, seed: int = 0) -> torch.Tensor:
    """float [4, dim, 100]: per-channel offsets of ~0.5 plus variation 100x smaller."""
    g = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(1, dim, 1, generator=g) + 0.005 * torch.randn(4, dim, 100, generator=g)


def unique_per_stage(codes: torch.Tensor) -> list[int]:
    return [torch.unique(codes[:, k]).numel() for k in range(codes.shape[1])]


def test_rfsq_first_training_forward_standardises_every_stage():
    torch.manual_seed(0)
    q, u = BDRFSQ(16, 32, n_stages=4), offset_latent(48)
    before = unique_per_stage(q.eval()(u).codes)
    assert not bool(q.data_initialized)  # eval mode never initialises
    q.train()(u, n_stages=2)  # initialises all 4 stages, whatever the active count
    assert bool(q.data_initialized)
    residual = u
    with torch.no_grad():
        for stage in q.stages:
            z = stage.normalise(stage.project_in(residual))
            assert torch.allclose(z.mean(dim=(0, 2)), torch.zeros(9), atol=1e-3)
            assert torch.allclose(z.std(dim=(0, 2), unbiased=False), torch.ones(9), atol=1e-3)
            residual = residual - stage.output(q.fsq(z)[0])
    after = unique_per_stage(q.eval()(u).codes)
    assert max(before) <= 10 and min(after) >= 100, (before, after)
    state = {k: v.clone() for k, v in q.state_dict().items()}
    q.train()(u + 1.0)  # a later batch does not re-initialise: the running statistics only move
    for k, v in state.items():
        if k.startswith("stages.0.") and "running_mean" in k:  # ... by MOMENTUM towards the batch's
            assert not torch.equal(v, q.state_dict()[k]), k
        elif "running" not in k:
            assert torch.equal(v, q.state_dict()[k]), k
    stage = q.stages[0].affine_acoustic
    z = q.stages[0].project_in(u + 1.0)[:, 3:].detach()
    expected = state["stages.0.affine_acoustic.running_mean"].lerp(z.mean(dim=(0, 2), keepdim=True),
                                                                   MOMENTUM)
    assert torch.allclose(stage.running_mean, expected, atol=1e-5)


def test_rvq_first_training_forward_spreads_codes():
    torch.manual_seed(0)
    q, u = RVQ(32, n_stages=3, codebook_size=256), offset_latent(32)
    before = unique_per_stage(q.eval()(u).codes)
    q.train()(u, n_stages=1)
    after = unique_per_stage(q.eval()(u).codes)
    assert bool(q.data_initialized) and "data_initialized" in q.state_dict()
    assert max(before) <= 20 and min(after) >= 60, (before, after)


def test_bound_loss_is_zero_inside_and_positive_when_saturated():
    torch.manual_seed(0)
    q = BDRFSQ(4, 8, n_stages=2).eval()
    assert q(0.01 * torch.randn(2, 12, 20)).losses["vq/bound"] == 0
    big = q(100 * torch.randn(2, 12, 20))
    assert big.losses["vq/bound"] > 0 and SATURATION == 2.0


def test_bdrfsq_emotion_blocks_initialise_from_emotion_channels_only():
    u = offset_latent(48)
    other = u.clone()
    other[:, 16:] = offset_latent(32, seed=1)  # a different acoustic partition, same emotion one
    quantizers = []
    for latent in (u, other):
        torch.manual_seed(0)
        q = BDRFSQ(16, 32, n_stages=3).train()
        q(latent)
        quantizers.append(q)
    def state(q: BDRFSQ, part: str) -> list[torch.Tensor]:
        # parameters and the running statistics the initialisation sets
        tensors = list(getattr(q, f"{part}_parameters"))
        for stage in q.stages:
            tensors += list(getattr(stage, f"affine_{part}").buffers())
        return tensors

    a, b = (state(q, "emotion") for q in quantizers)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    a, b = (state(q, "acoustic") for q in quantizers)
    assert not all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_rfsq_stages_start_as_projections_of_their_residual():
    # After the data-dependent initialisation each stage's output projection is the
    # pseudo-inverse of its input projection, so the partial sums approach u from the start
    # (without it, the first run's 1- and 2-stage latents were farther from u than zero is).
    torch.manual_seed(0)
    u = torch.randn(4, 48, 100) * torch.linspace(0.2, 2.0, 48)[None, :, None]
    q = BDRFSQ(16, 32, n_stages=6).train()
    with torch.no_grad():
        out = q(u)
    errors = [float((p - u).square().mean() / u.square().mean()) for p in out.partial_sums]
    assert errors[0] < 1.0 and errors[-1] < errors[0], errors
    assert float(out.losses["vq/latent"]) < 1.0
