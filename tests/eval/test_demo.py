"""``make demo``'s job: runs end to end on a model folder and writes what it promises."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from affectcodec import bitstream
from affectcodec.cli import main
from affectcodec.eval import demo_report as demo
from tests.conftest import tiny_codec


def test_builtin_voice_is_deterministic_speech_like_audio():
    a, b = demo.builtin_voice(1.0), demo.builtin_voice(1.0)
    assert a.dtype == np.float32 and a.shape == (16000,) and np.array_equal(a, b)
    assert 0.4 < np.abs(a).max() <= 0.5 and a.std() > 0.01


def test_demo_runs_on_a_model_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "espeak", lambda text: None)  # the fallback voice: no system package
    model = tmp_path / "model"
    tiny_codec().save(model)
    out = tmp_path / "demo_out"
    assert main(["demo", "--out", str(out), "--model", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "built-in formant voice" in printed and printed.count("/2 (crnn=") == 3
    original = sf.read(out / "original.wav")[0]
    for kbps in (1.5, 3, 6):
        codes, header = bitstream.read(out / f"demo_{kbps:g}kbps.affc")
        assert codes.num_stages == {1.5: 2, 3: 4, 6: 8}[kbps] and header.model_name == "model"
        assert sf.read(out / f"decoded_{kbps:g}kbps.wav")[0].shape == original.shape
    png = (out / "spectrograms.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_demo_without_a_model_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AFFECTCODEC_CHECKPOINTS", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("affectcodec: error: no bundled default model")
