import pytest
import torch

from affectcodec.swap import align_frames, swap_emotion
from tests.conftest import tiny_codec


def test_alignment_is_nearest_neighbour_and_monotonic():
    assert align_frames(4, 4).tolist() == [0, 1, 2, 3]
    assert align_frames(2, 4).tolist() == [0, 0, 1, 1]
    assert align_frames(4, 2).tolist() == [1, 3]
    idx = align_frames(37, 101)
    assert idx.min() == 0 and idx.max() == 36 and (idx.diff() >= 0).all()
    with pytest.raises(ValueError):
        align_frames(0, 3)


def test_swap_keeps_content_length_and_takes_emotion_digits():
    codec = tiny_codec()
    a = codec.encode(torch.randn(7000) * 0.3, kbps=3)  # 22 frames
    b = codec.encode(torch.randn(3000) * 0.3)  # 10 frames, 8 stages
    out = swap_emotion(a, b)
    assert out.tokens.shape == a.tokens.shape and torch.equal(out.lengths, a.lengths)
    emo_out, ac_out = out.split_tokens()
    emo_b, _ = b.truncate(4).split_tokens()
    assert torch.equal(ac_out, a.split_tokens()[1])
    assert torch.equal(emo_out, emo_b[..., align_frames(10, 22)])
    assert codec.decode(out).shape == (1, 1, 7000)
    with pytest.raises(ValueError, match="stages"):
        swap_emotion(b, a)
