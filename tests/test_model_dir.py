"""affectcodec.model_dir: the one released-folder format, read by every kind of model."""

from __future__ import annotations

import json

import pytest
import torch

import affectcodec
from affectcodec import model_dir
from affectcodec.codec import CheckpointError
from affectcodec.emotion.checkpoint import EmotionCheckpointError, read_model_dir, save_model_dir
from affectcodec.emotion.labels import LabelMap
from affectcodec.judges.loading import load_judge
from affectcodec.model_dir import ModelDirError, bundled_names, read_meta


def test_every_bundled_folder_is_in_the_one_format():
    names = bundled_names()
    assert {"affectcodec-16k-small", "judge-crnn", "ser-teacher"} <= set(names)
    for name in names:
        meta = read_meta(model_dir.resolve(name))
        assert meta["model_type"] in model_dir.MODEL_TYPES
        assert isinstance(meta["config"], dict) and isinstance(meta["format_version"], int)


def test_emotion_folders_write_config_and_still_read_the_old_args_key(tmp_path):
    labels = LabelMap(["a", "b"])
    save_model_dir(tmp_path / "new", "crnn_judge", {"hidden": 3}, {"w": torch.ones(2)}, labels,
                   extra={"steps": 1})
    meta = json.loads((tmp_path / "new" / "config.json").read_text())
    assert meta["config"] == {"hidden": 3} and meta["format_version"] == 2 and "args" not in meta
    assert meta["training"] == {"steps": 1}
    args, tensors, got = read_model_dir(tmp_path / "new", "crnn_judge")
    assert args == {"hidden": 3} and torch.equal(tensors["w"], torch.ones(2)) and got == labels
    # format version 1, as the bundled judges were written
    legacy = {k: v for k, v in meta.items() if k != "config"} | {"args": {"hidden": 3}, "format_version": 1}
    (tmp_path / "new" / "config.json").write_text(json.dumps(legacy))
    assert read_model_dir(tmp_path / "new", "crnn_judge")[0] == {"hidden": 3}


def test_a_folder_given_to_the_wrong_loader_says_what_it_is(tiny, tmp_path):
    codec_dir = tiny.save(tmp_path / "codec")
    with pytest.raises(EmotionCheckpointError,
                       match="'affectcodec' \\(a codec: load it with affectcodec.load\\) is not a judge"):
        load_judge(codec_dir)
    with pytest.raises(CheckpointError, match="'crnn_judge' is not a codec \\(an emotion judge"):
        affectcodec.load(model_dir.resolve("judge-crnn"))
    assert issubclass(CheckpointError, ModelDirError) and issubclass(EmotionCheckpointError, ModelDirError)


def test_writes_leave_no_temporary_files_and_config_comes_last(tmp_path, monkeypatch):
    order = []
    real = model_dir.atomic_path

    def spy(path, force=False):
        order.append(path.name)
        return real(path, force)

    monkeypatch.setattr(model_dir, "atomic_path", spy)
    save_model_dir(tmp_path / "m", "crnn_judge", {}, {"w": torch.ones(1)}, LabelMap(["x"]))
    assert order == ["model.safetensors", "labels.json", "config.json"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(order)
