import pytest
import torch

from affectcodec.quantization import BDRFSQ, RVQ, DenseRFSQ

E, A = 8, 12  # small emotion / acoustic partitions keep the exact Jacobians cheap


def make(cls, seed=0, **kw):
    torch.manual_seed(seed)
    if cls is RVQ:
        return RVQ(E + A, n_stages=4, codebook_size=64, **kw)
    return cls(E, A, n_stages=4, **kw)


def cross_gradients(q):
    """Gradient of acoustic-output and emotion-output losses w.r.t. the other partition."""
    u = torch.randn(2, E + A, 5, requires_grad=True)
    out = q(u).quantized
    (out[:, E:] ** 2).sum().backward(retain_graph=True)
    acoustic_to_emotion_input = u.grad[:, :E].clone()
    u.grad = None
    (out[:, :E] ** 2).sum().backward()
    emotion_to_acoustic_input = u.grad[:, E:].clone()
    return acoustic_to_emotion_input, emotion_to_acoustic_input


def test_bdrfsq_cross_gradients_are_exactly_zero():
    a2e, e2a = cross_gradients(make(BDRFSQ))
    assert torch.count_nonzero(a2e) == 0
    assert torch.count_nonzero(e2a) == 0


def test_dense_rfsq_cross_gradients_are_not_zero():
    # The same check on dense projections must fail: it proves the test can detect leakage.
    a2e, e2a = cross_gradients(make(DenseRFSQ))
    assert a2e.abs().sum() > 0
    assert e2a.abs().sum() > 0


def test_bdrfsq_jacobian_blocks_are_zero():
    q = make(BDRFSQ)
    u = torch.randn(1, E + A, 3)
    jac = torch.autograd.functional.jacobian(lambda x: q(x).quantized, u)  # [1, D, 3, 1, D, 3]
    jac = jac[0, :, :, 0]  # [D_out, T_out, D_in, T_in]
    assert torch.count_nonzero(jac[E:, :, :E]) == 0  # acoustic outputs vs emotion inputs
    assert torch.count_nonzero(jac[:E, :, E:]) == 0
    assert torch.count_nonzero(jac[:E, :, :E]) > 0 and torch.count_nonzero(jac[E:, :, E:]) > 0


def test_no_acoustic_loss_reaches_an_emotion_parameter():
    q = make(BDRFSQ)
    out = q(torch.randn(2, E + A, 6)).quantized
    (out[:, E:] ** 2).sum().backward()
    emotion = q.emotion_parameters
    assert len(emotion) == 4 * (3 + 3 + 2)  # per stage: 2 weight-normed convs (g, v, b) + affine (l, b)
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in emotion)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in q.acoustic_parameters)
    q.zero_grad(set_to_none=True)
    out = q(torch.randn(2, E + A, 6)).quantized
    (out[:, :E] ** 2).sum().backward()
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in q.acoustic_parameters)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in emotion)


def test_emotion_tokens_ignore_the_acoustic_input():
    q = make(BDRFSQ).eval()
    u = torch.randn(2, E + A, 20)
    v = u.clone()
    v[:, E:] = torch.randn(2, A, 20) * 3  # a completely different acoustic partition
    emo = lambda codes: codes % 8  # noqa: E731  (emotion sub-token: 3 binary digits, least significant)
    assert torch.equal(emo(q.encode(u)), emo(q.encode(v)))
    assert not torch.equal(q.encode(u) // 8, q.encode(v) // 8)


@pytest.mark.parametrize("cls", [BDRFSQ, DenseRFSQ, RVQ])
def test_decode_of_encode_equals_forward_and_truncation_equals_partial_sums(cls):
    q = make(cls).eval()
    u = torch.randn(3, E + A, 17)
    with torch.no_grad():
        out = q(u)
        assert out.codes.shape == (3, 4, 17) and out.codes.dtype == torch.int64
        assert torch.equal(q.decode(q.encode(u)), out.quantized)
        assert out.codes.min() >= 0 and out.codes.max() < q.cardinality
        for m in range(1, 5):
            assert torch.equal(q.decode(out.codes[:, :m]), out.partial_sums[m - 1])
            assert torch.equal(q.encode(u, m), out.codes[:, :m])  # inference path, same tokens
            assert torch.equal(q(u, n_stages=m).quantized, out.partial_sums[m - 1])
    assert out.partial_sums[-1] is out.quantized


def test_default_layout_has_15_bit_tokens():
    q = BDRFSQ(64, 256)
    assert q.cardinality == 2**15 and q.bits_per_token == 15
    assert q.levels == (2, 2, 2, 4, 4, 4, 4, 4, 4) and q.num_emotion_digits == 3
    codes = q.encode(torch.randn(1, 320, 40) * 5)
    assert codes.max() < 2**15
    # BD-RFSQ itself is small (the paper's is about 0.1 M parameters at 256 + 768 channels).
    assert sum(p.numel() for p in BDRFSQ(256, 768).parameters()) < 120_000


@pytest.mark.parametrize("cls", [BDRFSQ, RVQ])
def test_losses_and_metrics_are_named(cls):
    q = make(cls).train()
    out = q(torch.randn(2, E + A, 9))
    assert "vq/commit" in out.losses and out.losses["vq/commit"].dim() == 0
    assert out.losses["vq/commit"].requires_grad
    assert "vq/unique_tokens" in out.metrics


def test_bad_codes_and_shapes_are_rejected():
    q = make(BDRFSQ)
    with pytest.raises(ValueError, match="token values"):
        q.decode(torch.full((1, 2, 3), 2**15))
    with pytest.raises(ValueError, match="stages"):
        q.decode(torch.zeros(1, 5, 3, dtype=torch.long))
    with pytest.raises(TypeError):
        q.decode(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="expected u"):
        q(torch.randn(1, E + A + 1, 3))
    with pytest.raises(ValueError, match="n_stages"):
        q(torch.randn(1, E + A, 3), n_stages=5)
