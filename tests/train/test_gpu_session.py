"""recipes/tools/gpu_session.py: the prepared GPU run, in the parts a CPU can check quickly.

The whole path (``train --dry-run``: both recipes from the bundled releases, bf16 autocast, a
few steps, export and shards) takes minutes on two cores, so it is run by hand (docs/training.md);
these tests pin its pieces: the carried data subset, the training command's overrides, and the
shard round trip that brings the weights back under the device's 16 MiB file limit.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

import affectcodec
from affectcodec.data.datamodule import read_manifest
from tests.conftest import REPO, tiny_codec

spec = importlib.util.spec_from_file_location("gpu_session", REPO / "recipes" / "tools" / "gpu_session.py")
gpu_session = importlib.util.module_from_spec(spec)
sys.modules["gpu_session"] = gpu_session
spec.loader.exec_module(gpu_session)


def _data_parent(nemo: Path) -> Path:
    if not (nemo.parent / "speech-16k" / "manifest.tsv").is_file():
        pytest.skip("speech-16k not found beside nemo-16k")
    return nemo.parent


def test_bundle_carries_training_audio_as_opus_and_validation_as_flac(nemo, tmp_path):
    out = tmp_path / "carry"
    gpu_session.main(["bundle", "--data", str(_data_parent(nemo)), "--out", str(out),
                      "--max-mib", "0.2", "--valid-items", "2", "--no-wheels"])
    manifest = out / "data" / "manifest.tsv"
    train = read_manifest(manifest, "train")
    valid = read_manifest(manifest, "valid")
    assert len(valid) == 2 and len(train) >= 1
    held_out = set(gpu_session.yaml.safe_load(
        (REPO / "recipes" / "affectcodec_16k_small.yaml").read_text())["data"]["valid_speakers"])
    assert not {r["speaker"] for r in train} & held_out  # no held-out voice is trained on
    for row in train[:2]:
        info = sf.info(row["path"])
        assert (info.format, info.subtype, info.samplerate) == ("OGG", "OPUS", 16000)
        # Opus at ~30 kbit/s: far below 16-bit PCM's 256 kbit/s
        assert Path(row["path"]).stat().st_size * 8 / info.duration < 60_000
    assert all(sf.info(r["path"]).format == "FLAC" and sf.info(r["path"]).duration <= 4.0
               for r in valid)


def test_training_command_is_a_valid_recipe_override(nemo, tmp_path):
    """Every override the device run passes is a real key of the recipe (LightningCLI parses it)."""
    from affectcodec.data.datamodule import ManifestDataModule
    from affectcodec.train.lightning_cli import AffectCodecCLI
    from affectcodec.train.module import CodecModule

    carry = tmp_path / "carry"
    gpu_session.main(["bundle", "--data", str(_data_parent(nemo)), "--out", str(carry),
                      "--max-mib", "0.1", "--valid-items", "1", "--no-wheels"])
    args = argparse.Namespace(seed=1, lr=1e-4, gamma=0.9995, batch_size=4, workers=0,
                              max_steps=3, minutes=1, val_every=2, dry_run=True)
    cmd = gpu_session._fit_command("rvq", carry, tmp_path / "runs", args)
    assert cmd[1:5] == ["-m", "affectcodec", "train", "fit"]
    cli = AffectCodecCLI(CodecModule, ManifestDataModule, run=False, args=cmd[5:])
    assert cli.trainer.max_steps == 3 and cli.datamodule.batch_size == 4
    assert cli.model.metric_items == 0  # no PESQ on the device (no wheel for its Python)


def test_shards_rebuild_the_released_folder(tmp_path, monkeypatch):
    codec = tiny_codec()
    release = codec.save(tmp_path / "release")
    monkeypatch.setattr(gpu_session, "SHARD_BYTES", 40_000)
    shards = gpu_session._shard(release, tmp_path / "out" / "tiny")
    assert len(shards) > 1 and all(p.stat().st_size < 40_000 + 2**16 for p in shards)
    (tmp_path / "out" / "tiny" / "config.json").write_bytes((release / "config.json").read_bytes())
    gpu_session.main(["unpack", str(tmp_path / "out"), str(tmp_path / "back")])
    want = load_file(release / "model.safetensors")
    got = load_file(tmp_path / "back" / "tiny" / "model.safetensors")
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    wav = torch.randn(1, 1, 3200)
    back = affectcodec.load(str(tmp_path / "back" / "tiny"))
    assert torch.equal(back.encode(wav).tokens, codec.encode(wav).tokens)
