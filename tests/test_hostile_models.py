"""Untrusted model folders: every bad config is one CheckpointError before anything is built,
and names never reach folders outside ``checkpoints/``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import affectcodec
from affectcodec import model_dir, pretrained
from affectcodec.codec import CheckpointError
from tests.conftest import tiny_codec


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tiny_codec(0).save(tmp_path_factory.mktemp("m") / "tiny")


def with_config(folder: Path, tmp_path: Path, edit) -> Path:
    out = tmp_path / "hostile"
    shutil.copytree(folder, out)
    meta = json.loads((out / "config.json").read_text())
    result = edit(meta["config"])
    text = result if isinstance(result, str) else json.dumps(meta)
    (out / "config.json").write_text(text)
    return out


@pytest.mark.parametrize("edit,match", [
    (lambda c: c.update(encoder_dim=100_000), "'encoder_dim' must be an integer in 1..2048"),
    (lambda c: c.update(n_stages=1_000_000), "'n_stages' must be an integer in 1..64"),
    (lambda c: c.update(decoder_dim=-3), "'decoder_dim' must be an integer"),
    (lambda c: c.update(acoustic_dim="256"), "'acoustic_dim' must be an integer"),
    (lambda c: c.update(acoustic_levels=[2] * 40), "'acoustic_levels' must be a list of 1..32"),
    (lambda c: c.update(acoustic_levels=[65536, 65536, 4]), "wider than 32 bits"),
    (lambda c: c.update(encoder_dim=2048, decoder_dim=2048, encoder_blocks=32, decoder_blocks=32),
     "parameters, more than"),
    (lambda c: c.update(strides=[64] * 8), "'strides' multiply to"),
    (lambda c: c.update(cem=1), "'cem' must be true or false"),
    (lambda c: c.update(teacher={"name": "ser", "pretrained": "../../etc"}),
     "teacher 'pretrained' must name a bundled model"),
    (lambda c: c.update(teacher={"name": "ser", "pretrained": "/tmp"}),
     "teacher 'pretrained' must name a bundled model"),
    (lambda c: c.update(teacher={"name": "prosody", "f0_min": [[1]]}), "teacher argument 'f0_min'"),
    (lambda c: c.update(generator="frame", unknown_arg=1), "invalid config"),
    (lambda c: '{"model_type": "affectcodec", "format_version": 2, "config": ' + "[" * 100_000
     + "]" * 100_000 + "}", "not valid JSON"),
    (lambda c: '{"model_type": "affectcodec", "format_version": 2, "config": {"n_stages": '
     + "9" * 5000 + "}}", "not valid JSON"),
])
def test_a_hostile_config_is_one_error_before_building(folder, tmp_path, edit, match):
    bad = with_config(folder, tmp_path, edit)
    with pytest.raises(CheckpointError, match=match) as info:
        affectcodec.load(bad)
    assert "\n" not in str(info.value)


def test_a_bundled_name_never_resolves_to_a_folder_here(tmp_path, monkeypatch, folder):
    # a folder of the current directory named like the bundled default must not shadow it,
    # and '..' (as an .affc header's model name) must not load the parent folder
    monkeypatch.chdir(tmp_path)
    shutil.copytree(folder, tmp_path / pretrained.DEFAULT_MODEL)
    assert pretrained.resolve(pretrained.DEFAULT_MODEL) == \
        pretrained.checkpoints_dir() / pretrained.DEFAULT_MODEL
    for name in ("..", ".", "../x", "/etc", ""):
        assert model_dir.bundled_dir(name) is None
    from affectcodec.commands.decode import bundled_name

    os.makedirs(tmp_path / "sub")
    monkeypatch.chdir(tmp_path / "sub")
    shutil.copytree(folder, tmp_path / "model")
    assert bundled_name("..") is None and bundled_name("../model") is None


def test_the_cli_reports_a_hostile_model_in_one_line(folder, tmp_path, nemo):
    bad = with_config(folder, tmp_path, lambda c: c.update(encoder_dim=100_000))
    src = sorted((nemo / "audio").glob("EB0_anger_*.flac"))[0]
    run = subprocess.run([sys.executable, "-m", "affectcodec", "encode", str(src), "-o",
                          str(tmp_path / "out"), "--model", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "'encoder_dim' must be an integer in 1..2048" in lines[0], lines
    assert not (tmp_path / "out").exists()


def with_weights(folder: Path, tmp_path: Path, data: bytes) -> Path:
    out = tmp_path / "hostile_weights"
    shutil.copytree(folder, out)
    (out / "model.safetensors").write_bytes(data)
    return out


def test_weights_are_checked_from_their_header_before_any_tensor_is_read(folder, tmp_path,
                                                                          monkeypatch):
    import struct

    from safetensors.torch import save_file

    import affectcodec.model_dir as model_dir_module

    def no_tensors(*args, **kwargs):
        raise AssertionError("tensors read before the header was checked")

    monkeypatch.setattr(model_dir_module, "load_file", no_tensors)
    state = {k: v.contiguous() for k, v in tiny_codec(0).state_dict().items()}
    key = next(k for k, v in state.items() if v.dim() == 3)
    wrong = dict(state, **{key: state[key].new_zeros(state[key].shape[0] + 1, *state[key].shape[1:])})
    save_file(wrong, str(tmp_path / "w.safetensors"))
    cases = [
        ("shape mismatch", (tmp_path / "w.safetensors").read_bytes()),
        ("not a readable safetensors", b"\x00" * 64),
        # a header that claims 2 GB of tensor data in a 100-byte file
        ("not a readable safetensors", struct.pack("<Q", 80) + json_header(80)),
    ]
    for i, (match, data) in enumerate(cases):
        with pytest.raises(CheckpointError, match=match) as info:
            affectcodec.load(with_weights(folder, tmp_path / str(i), data))
        assert "\n" not in str(info.value)


def json_header(size: int) -> bytes:
    text = json.dumps({"w": {"dtype": "F32", "shape": [1 << 29], "data_offsets": [0, 1 << 31]}})
    return text.encode().ljust(size)
