"""Datasets: random crops, whole utterances, resampling / downmix on load, padded batches."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from affectcodec import audio
from affectcodec.data.dataset import RandomCropDataset, UtteranceDataset, collate
from affectcodec.data.manifests import Manifest, ManifestEntry
from affectcodec.emotion.labels import LabelMap


def make_manifest(tmp_path) -> Manifest:
    t = np.arange(16000 * 2) / 16000
    sf.write(tmp_path / "long.wav", (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000)
    stereo = np.stack([np.full(8000, 0.25), np.full(8000, 0.75)], axis=1).astype(np.float32)
    sf.write(tmp_path / "short8k.wav", stereo, 8000)  # 1 s at 8 kHz, two channels
    return Manifest([ManifestEntry("long.wav", "A", "fear", "train", 2.0),
                     ManifestEntry("short8k.wav", "B", "anger", "train", 1.0)], tmp_path)


def test_load_resamples_and_downmixes(tmp_path):
    make_manifest(tmp_path)
    wav = audio.load(tmp_path / "short8k.wav")
    assert wav.shape == (1, audio.MODEL_RATE) and wav.dtype == torch.float32
    assert abs(float(wav[0, 4000:12000].mean()) - 0.5) < 1e-3  # mean of the two channels
    assert audio.load(tmp_path / "short8k.wav", 8000).shape == (1, 8000)


def test_load_refuses_what_the_streaming_reader_refuses_and_names_the_file(tmp_path):
    # the one whole-file reader: the same AudioFileError as AudioReader (which the CLI uses)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "noise.flac").write_bytes(bytes(range(256)) * 8)
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2], dtype=np.float32), 16000,
             subtype="FLOAT")
    for name, reason in (("empty.wav", "empty file"), ("noise.flac", "not a readable audio file"),
                         ("nan.wav", "NaN or Inf"), ("missing.wav", "no such file")):
        with pytest.raises(audio.AudioFileError, match=reason) as info:
            audio.load(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name))


def test_utterances_and_crops(tmp_path):
    m = make_manifest(tmp_path)
    labels = LabelMap(["anger", "fear"])
    whole = UtteranceDataset(m, labels, preload=True)
    assert [whole[i]["wav"].shape[-1] for i in range(2)] == [32000, 16000]
    assert [whole[i]["label"] for i in range(2)] == [1, 0]
    lazy = UtteranceDataset(m, labels)
    assert torch.allclose(lazy[0]["wav"], whole[0]["wav"], atol=1 / 32768)
    crops = RandomCropDataset(m, labels, crop_seconds=0.5)
    torch.manual_seed(0)
    a = crops[0]["wav"]
    b = crops[0]["wav"]
    assert a.shape == (1, 8000) and crops[1]["wav"].shape == (1, 8000)
    assert not torch.equal(a, b)  # two draws, two different crops of the sine
    batch = collate([whole[1], whole[0]])
    assert batch["wav"].shape == (2, 1, 32000) and batch["lengths"].tolist() == [16000, 32000]
    assert batch["labels"].tolist() == [0, 1] and float(batch["wav"][0, 0, 16000:].abs().max()) == 0
