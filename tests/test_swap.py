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


def test_swap_emotion_command_keeps_the_length_of_a(tmp_path, nemo):
    import subprocess

    import soundfile as sf

    from tests.test_package import console_script

    model = tiny_codec().save(tmp_path / "tiny")
    a, b = nemo / "audio" / "EB0_neutral_1.flac", nemo / "audio" / "EB0_anger_2.flac"
    out = tmp_path / "swapped.wav"
    cmd = console_script() + ["swap-emotion", "--content", str(a), "--emotion", str(b), "-o", str(out),
                              "--model", str(model), "--kbps", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sf.info(str(out)).frames == sf.info(str(a)).frames
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1 and again.stderr.startswith("affectcodec: error:")
