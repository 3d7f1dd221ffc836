"""The manifest data module: crops, resampling, padding, validation subsets, errors, defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from affectcodec.data.datamodule import ManifestDataModule, default_manifest, read_manifest
from tests.conftest import REPO


@pytest.fixture
def manifest(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["path\tsplit\tduration"]
    for i, (seconds, rate, split) in enumerate([(1.0, 16000, "train"), (0.3, 16000, "train"),
                                                 (0.8, 22050, "train"), (0.5, 16000, "valid"),
                                                 (0.9, 16000, "valid"), (0.7, 16000, "valid")]):
        wav = (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
        sf.write(tmp_path / f"c{i}.wav", wav, rate, subtype="FLOAT")
        lines.append(f"c{i}.wav\t{split}\t{seconds}")
    (tmp_path / "m.tsv").write_text("\n".join(lines) + "\n")
    return tmp_path / "m.tsv"


def test_training_batches_are_fixed_length_random_crops(manifest):
    dm = ManifestDataModule(str(manifest), crop_seconds=0.5, batch_size=3, num_workers=0)
    dm.setup("fit")
    assert dm.crop_samples == 8000  # 0.5 s, a multiple of the 320-sample hop
    torch.manual_seed(0)
    batch = next(iter(dm.train_dataloader()))
    assert batch["audio"].shape == (3, 1, 8000)
    by_index = dict(zip(batch["index"].tolist(), batch["lengths"].tolist(), strict=True))
    # The 0.3 s clip is zero-padded; the 22.05 kHz clip was resampled to 16 kHz before cropping.
    assert by_index == {0: 8000, 1: 4800, 2: 8000}
    short = batch["audio"][batch["index"].tolist().index(1), 0]
    assert short[4800:].abs().max() == 0 and short[:4800].abs().max() > 0
    # Crops start at random offsets: two epochs give different windows of the 1 s clip.
    crops = []
    for _ in range(2):
        b = next(iter(dm.train_dataloader()))
        crops.append(b["audio"][b["index"].tolist().index(0)])
    assert not torch.equal(crops[0], crops[1])


def test_validation_keeps_whole_clips_and_evenly_spaced_subsets(manifest):
    dm = ManifestDataModule(str(manifest), valid_items=None, valid_batch_size=3, num_workers=0)
    dm.setup("validate")
    batch = next(iter(dm.val_dataloader()))
    assert batch["lengths"].tolist() == [8000, 14400, 11200]
    assert batch["audio"].shape[-1] == 14400  # padded to the longest, a multiple of the hop
    dm = ManifestDataModule(str(manifest), valid_items=2, num_workers=0)
    dm.setup("validate")
    assert [Path(r["path"]).name for r in dm.valid_rows] == ["c3.wav", "c4.wav"]


def test_manifest_errors_are_one_line(tmp_path, manifest):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_manifest(tmp_path / "missing.tsv", "train")
    with pytest.raises(ValueError, match="no rows with split 'test'"):
        read_manifest(manifest, "test")
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\tsplit\nx.wav\ttrain\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['path'\]"):
        read_manifest(bad, "train")


def test_default_manifest_location(monkeypatch, tmp_path):
    monkeypatch.setenv("AFFECTCODEC_DATA", str(tmp_path))
    assert default_manifest() == tmp_path / "nemo-16k" / "manifest.tsv"
    (tmp_path / "manifest.tsv").write_text("path\tsplit\n")
    assert default_manifest() == tmp_path / "manifest.tsv"  # the corpus folder itself
    monkeypatch.delenv("AFFECTCODEC_DATA")
    repo = REPO
    assert default_manifest() == repo.parent / "shared" / "data" / "nemo-16k" / "manifest.tsv"


def test_real_nemo_manifest_when_present():
    path = default_manifest()
    if not path.is_file():
        pytest.skip(f"no nEMO data at {path}")
    train, valid = read_manifest(path, "train"), read_manifest(path, "valid")
    assert (len(train), len(valid)) == (2864, 539)
    assert {r["speaker"] for r in valid} == {"EB0"} and "EB0" not in {r["speaker"] for r in train}
    assert Path(train[0]["path"]).is_file()
