import re
import shutil
import subprocess
import sys
from pathlib import Path

import affectcodec

REPO = Path(__file__).resolve().parent.parent


def console_script() -> list[str]:
    exe = Path(sys.executable).with_name("affectcodec")
    return [str(exe)] if exe.exists() else [shutil.which("affectcodec") or "affectcodec"]


def test_version_matches_pyproject():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == affectcodec.__version__


def test_console_script_version_and_help():
    out = subprocess.run(console_script() + ["--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"affectcodec {affectcodec.__version__}"
    out = subprocess.run(console_script() + ["--help"], capture_output=True, text=True, check=True)
    assert "usage: affectcodec" in out.stdout
    bad = subprocess.run(console_script() + ["--no-such-flag"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_readme_python_api_snippet_runs(tmp_path, monkeypatch):
    """The README's Python API example is executed as written (README stays true to the code)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102
    assert scope["codes"].tokens.shape[:2] == (1, 2)
    assert scope["wav_hat"].shape == scope["wav"].reshape(1, 1, -1).shape
    assert (tmp_path / "out" / "mymodel" / "model.safetensors").is_file()


INFERENCE_FORBIDDEN = ("affectcodec.judges", "affectcodec.data", "affectcodec.eval", "affectcodec.train",
                       "affectcodec.analysis", "affectcodec.lm", "librosa", "lightning",
                       "pytorch_lightning", "sklearn")


def test_inference_loads_only_the_inference_path(tmp_path):
    """``affectcodec.load()`` and the encode / decode / reconstruct / info commands, in one
    process, import no judge, corpus, evaluation, training, analysis or LM module, and neither
    librosa nor Lightning (the seams of ARCHITECTURE.md)."""
    import numpy as np
    import soundfile as sf

    t = np.arange(8000) / 16000
    sf.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    a, f, r = (str(tmp_path / n) for n in ("a.wav", "a.affc", "a_hat.wav"))
    code = ("import sys, affectcodec; from affectcodec.cli import main\n"
            "affectcodec.load()\n"
            f"for args in (['encode', {a!r}, '-o', {f!r}], ['decode', {f!r}, '-o', {r!r}, '-f'],"
            f" ['reconstruct', {a!r}, '-o', {r!r}, '-f'], ['info', {f!r}]):\n"
            "    assert main(args) in (0, None), args\n"
            f"bad = sorted(m for m in sys.modules if m.startswith({INFERENCE_FORBIDDEN!r}))\n"
            "print(bad); sys.exit(3 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-800:] + run.stderr[-800:]


def test_help_usage_errors_and_info_do_not_import_torch(tmp_path):
    # the start-up cost of the command line is torch's import (~1.5 s, 0.6 GB): commands that
    # need no model must not pay it (a count of modules, not a timing)
    import torch

    from affectcodec import bitstream
    from affectcodec.codes import Codes

    header = bitstream.Header(
        model_name="m", config_hash="0" * 16, weights_hash="0" * 16, source_sample_rate=16000,
        source_channels=1, source_num_samples=640, encoder="test",
        window=bitstream.WindowParams(frames=500, context_frames=0, decoder_context_frames=0))
    codes = Codes(tokens=torch.tensor([[[1, 7]]]), lengths=torch.tensor([640]), sample_rate=16000,
                  hop_length=320, cardinality=8, levels=(2, 4), num_emotion_digits=1)
    path = tmp_path / "a.affc"
    bitstream.write(path, codes, header)
    bad = tmp_path / "bad.affc"
    bad.write_bytes(path.read_bytes()[:-3])  # truncated: the error path must stay light too
    for args in (["--help"], ["info", str(path)], ["info", str(bad)], ["encode"],
                 ["manifest", "--help"]):
        code = ("import sys; from affectcodec.cli import main\n"
                "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                "sys.exit(3 if 'torch' in sys.modules else 0)")
        run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert run.returncode == 0, (args, run.stderr[-500:])


def test_expected_errors_print_one_line_and_bugs_show_as_bugs(monkeypatch, capsys):
    """Every expected failure derives from AffectCodecError (one line, exit 1); anything else
    propagates with its traceback instead of being dressed up as a user error."""
    import pytest

    from affectcodec import audio, bitstream, cli, codec, errors
    from affectcodec.commands import info

    for cls in (audio.AudioFileError, bitstream.BitstreamError, codec.CheckpointError,
                errors.CommandError):
        assert issubclass(cls, errors.AffectCodecError)
    def fail(exc):
        def run(args):
            raise exc
        return run

    monkeypatch.setattr(info, "run", fail(codec.CheckpointError("no such model")))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", "x.affc"])
    assert exit_info.value.code == errors.EXIT_FAILURE
    assert capsys.readouterr().err == "affectcodec: error: no such model\n"
    monkeypatch.setattr(info, "run", fail(KeyError("a bug")))
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["info", "x.affc"])


def test_every_entry_point_is_a_subcommand(capsys):
    """The training tools and the demo are subcommands whose help is their own parser's; no
    package module but the CLI (and its internal bench-io child) runs as ``python -m``."""
    import pytest

    from affectcodec.cli import main

    for command in ("train-emotion", "train-functionals", "train-speaker-head", "bench-train",
                    "demo"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0, command
        assert f"usage: affectcodec {command}" in capsys.readouterr().out, command
    runnable = sorted(str(p.relative_to(REPO)) for p in (REPO / "affectcodec").rglob("*.py")
                      if '__name__ == "__main__"' in p.read_text())
    assert runnable == ["affectcodec/cli.py", "affectcodec/commands/bench_io.py"]
