import pytest
import torch

from tests.conftest import tiny_codec


def test_digits_partitions_and_truncation():
    codes = tiny_codec().encode(torch.randn(2, 6400) * 0.3)  # 8 stages, 20 frames
    assert codes.emotion_digits().shape == (2, 8, 20, 3)
    assert codes.acoustic_digits().shape == (2, 8, 20, 6)
    assert codes.emotion_digits().max() <= 1 and codes.acoustic_digits().max() <= 3
    emotion, acoustic = codes.split_tokens()
    assert emotion.max() < 8 and acoustic.max() < 4096 and codes.emotion_cardinality == 8
    assert torch.equal(codes.join_tokens(emotion, acoustic).tokens, codes.tokens)
    # Digits rebuild the token by mixed radix (emotion digits least significant).
    d = codes.digits()
    basis = torch.tensor([1, 2, 4, 8, 32, 128, 512, 2048, 8192])
    assert torch.equal((d * basis).sum(-1), codes.tokens)
    low = codes.truncate(2)
    assert low.num_stages == 2 and low.kbps == 1.5 and torch.equal(low.tokens, codes.tokens[:, :2])
    assert torch.equal(codes.frame_lengths, torch.tensor([20, 20]))
    with pytest.raises(ValueError):
        codes.truncate(9)
