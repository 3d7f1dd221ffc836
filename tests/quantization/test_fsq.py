import itertools

import pytest
import torch

from affectcodec.quantization import FSQ

DEFAULT = (2, 2, 2, 4, 4, 4, 4, 4, 4)


def test_every_default_code_round_trips():
    fsq = FSQ(DEFAULT)
    assert fsq.cardinality == 2**15
    index = torch.arange(fsq.cardinality)
    digits = fsq.index_to_digits(index, channel_dim=-1)  # [32768, 9]
    assert digits.shape == (2**15, 9)
    assert torch.equal(fsq.digits_to_index(digits, channel_dim=-1), index)
    # All digit tuples are distinct and in range: the mapping is a bijection.
    assert len({tuple(d) for d in digits.tolist()}) == 2**15
    assert (digits >= 0).all() and (digits < torch.tensor(DEFAULT)).all()


@pytest.mark.parametrize("levels", [(2,), (3, 5), (2, 3, 7, 4), (5, 5, 5)])
def test_round_trip_on_other_layouts(levels):
    fsq = FSQ(levels)
    all_digits = torch.tensor(list(itertools.product(*[range(level) for level in levels])))
    index = fsq.digits_to_index(all_digits, channel_dim=-1)
    assert sorted(index.tolist()) == list(range(fsq.cardinality))
    assert torch.equal(fsq.index_to_digits(index, channel_dim=-1), all_digits)


def test_values_lie_on_the_grid_and_match_digits():
    fsq = FSQ(DEFAULT)
    z = torch.randn(4, 9, 50) * 3
    z[0, :, 0] = 1e30  # saturated inputs stay in range
    z[0, :, 1] = -1e30
    values, digits = fsq(z)
    levels = torch.tensor(DEFAULT).view(1, 9, 1)
    assert (digits >= 0).all() and (digits < levels).all()
    assert torch.equal(values, fsq.digits_to_values(digits))
    expected = 2 * digits.float() / (levels - 1) - 1
    assert torch.allclose(values, expected, atol=0, rtol=0)
    assert (digits[0, :, 0] == levels[0, :, 0] - 1).all() and (digits[0, :, 1] == 0).all()
    # Level 2 uses both of its values.
    assert set(digits[:, 0].unique().tolist()) == {0, 1}


def test_straight_through_gradient_is_the_bounded_derivative():
    fsq = FSQ(DEFAULT)
    z = torch.randn(2, 9, 7, requires_grad=True)
    values, _ = fsq(z)
    values.sum().backward()
    # d/dz [grid + (position - sg(position)) / half] = d tanh(z) / dz, as position = half (tanh + 1).
    expected = 1 - torch.tanh(z.detach()) ** 2
    assert torch.allclose(z.grad, expected, atol=1e-6)
    assert (z.grad.abs() > 0).all()


def test_quantizes_in_float32_under_autocast():
    fsq = FSQ(DEFAULT)
    z = torch.randn(1, 9, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        values, digits = fsq(z.bfloat16())
    assert values.dtype == torch.float32
    ref_values, ref_digits = fsq(z.bfloat16().float())
    assert torch.equal(digits, ref_digits)


def test_agrees_with_vector_quantize_pytorch_symmetric_fsq():
    # The library's symmetry-preserving FSQ (required there for level 2) is the same quantizer:
    # same grid values, same indices, same rounding of the same inputs.
    from vector_quantize_pytorch import FSQ as LibFSQ

    lib = LibFSQ(levels=list(DEFAULT), preserve_symmetry=True)
    fsq = FSQ(DEFAULT)
    index = torch.randint(0, 2**15, (1000,))
    ours = fsq.digits_to_values(fsq.index_to_digits(index, channel_dim=-1), channel_dim=-1)
    assert torch.equal(lib.indices_to_codes(index), ours)
    z = torch.randn(1, 200, 9) * 2
    lib_values, lib_index = lib(z)
    values, digits = fsq(z[0], channel_dim=-1)
    assert torch.allclose(lib_values[0], values, atol=1e-6)
    assert torch.equal(lib_index[0].long(), fsq.digits_to_index(digits, channel_dim=-1))


@pytest.mark.parametrize("levels", [(), (1, 4), (0,)])
def test_rejects_bad_levels(levels):
    with pytest.raises(ValueError, match="levels"):
        FSQ(levels)
