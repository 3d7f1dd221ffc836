import json
import subprocess
from types import SimpleNamespace

import torch

from affectcodec.audio import load as load_audio
from affectcodec.cli import main
from affectcodec.lm.shards import read_shard
from tests.conftest import tiny_codec
from tests.test_package import console_script


def run_in_process(args: list[str], capsys) -> SimpleNamespace:
    """``affectcodec ARGS`` in this process (a console-script start costs seconds: the CLI path
    itself is covered by the first run, which is a real process)."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_tokenize_writes_complete_resumable_shards(tmp_path, nemo, capsys):
    codec = tiny_codec()
    model = codec.save(tmp_path / "tiny")
    rows = (nemo / "manifest.tsv").read_text().splitlines()
    picked = [r for r in rows[1:] if "\tvalid\t" in r][:5]
    (tmp_path / "m.tsv").write_text("\n".join([rows[0]] + [f"{nemo}/{r}" for r in picked]) + "\n")
    out = tmp_path / "shards"
    cmd = console_script() + ["tokenize", str(tmp_path / "m.tsv"), "--out", str(out), "--model", str(model),
                              "--kbps", "3", "--shard-size", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-1500:]
    index = json.loads((out / "index.json").read_text())
    assert index["complete"] and index["n_shards"] == 3 and index["utterances"] == 5
    assert index["num_stages"] == 4 and index["config_hash"] == codec.config_hash
    tokens, utts, meta = read_shard(out / "shard-00001.safetensors")
    assert len(tokens) == 2 and meta["kbps"] == 3.0
    for t, u in zip(tokens, utts, strict=True):
        alone = codec.encode(load_audio(u["audio"]), kbps=3).tokens[0]
        assert torch.equal(t, alone)
    # Resumable: only the missing shard is written again.
    (out / "shard-00002.safetensors").unlink()
    again = run_in_process(cmd[1:], capsys)
    assert again.returncode == 0 and "(1 written now)" in again.stdout
    assert json.loads((out / "index.json").read_text())["complete"]
    # Another run's arguments over the same folder are refused, not mixed in.
    (out / "shard-00002.safetensors").unlink()
    for change in (["--kbps", "1.5"], ["--shard-size", "3"]):
        other = cmd[:-4] + (change + cmd[-2:] if change[0] == "--kbps" else cmd[-4:-2] + change)
        assert len(other) == len(cmd)
        run = run_in_process(other[1:], capsys)
        assert run.returncode == 1, (change, run.stderr[-800:])
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and ("another run" in lines[0] or "other utterances" in lines[0]
                                    or "not a shard of this run" in lines[0]), (change, lines)
    # A damaged shard is one line too, naming what to do.
    (out / "shard-00000.safetensors").write_bytes(b"\x00" * 10)
    run = run_in_process(cmd[1:], capsys)
    assert run.returncode == 1 and "unreadable" in run.stderr and "remove it" in run.stderr
