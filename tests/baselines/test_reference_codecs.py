"""The reference codecs (Opus, Codec2) behind the Codec interface: lengths, actual bitrates,
and that they really code speech. Skipped when Debian's opus-tools / codec2 are missing."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from affectcodec import metrics
from affectcodec.baselines import REFERENCE_CODECS


@pytest.fixture
def speech(nemo) -> np.ndarray:
    return sf.read(str(sorted((nemo / "audio").glob("EB0_neutral_*.flac"))[0]), dtype="float32")[0]


@pytest.mark.parametrize("name,kbps,low,high", [("opus", 6.0, 6.0, 12.0), ("codec2", 1.5, 1.5, 1.8),
                                                ("codec2", 3.0, 3.1, 3.4)])
def test_reference_codec_round_trip(name, kbps, low, high, speech):
    cls = REFERENCE_CODECS[name]
    if not cls.available():
        pytest.skip(cls.missing_message())
    codec = cls()
    codes = codec.encode(torch.from_numpy(speech), kbps=kbps)
    assert codes.tokens.shape[:2] == (1, 1) and codes.cardinality == 256
    actual = codes.tokens.numel() * 8 / (len(speech) / 16000) / 1000  # the file's bitrate
    assert low <= actual <= high, actual
    out = codec.decode(codes)
    assert out.shape == (1, 1, len(speech))
    assert metrics.stoi(speech, out[0, 0].numpy()) > 0.6  # it codes speech (measured 0.67-0.92)


def test_reference_codecs_refuse_batches_and_foreign_streams():
    codec = REFERENCE_CODECS["opus"]()
    with pytest.raises(ValueError, match="one item at a time"):
        codec.encode(torch.zeros(2, 1600))
    with pytest.raises(ValueError, match="unsupported bitrate"):
        codec.encode(torch.zeros(1600), kbps=12)
