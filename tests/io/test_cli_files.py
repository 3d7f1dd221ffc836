"""The file commands (encode / decode / reconstruct / info) through the console script.

Every test runs the installed ``affectcodec`` script in a subprocess on real files, with small
random models saved to a temporary folder. Independent runs are started together to save time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import affectcodec
from affectcodec import affc_io, bitstream
from tests.conftest import tiny_codec


def console_script() -> str:
    exe = Path(sys.executable).with_name("affectcodec")
    return str(exe) if exe.exists() else (shutil.which("affectcodec") or "affectcodec")


def start(*args, threads: int = 1, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "OMP_NUM_THREADS": str(threads), **(env or {})}
    return subprocess.Popen([console_script(), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return finish(start(*args, **kwargs))


def cli_many(*commands) -> list[subprocess.CompletedProcess]:
    procs = [start(*c) for c in commands]
    return [finish(p) for p in procs]


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def synth(seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) \
        + 0.02 * rng.standard_normal(t.size)
    return np.stack([x * (0.8 + 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, seed, overrides in (("a", 0, {}), ("b", 1, {}),
                                  ("odd", 0, {"emotion_levels": (3,), "acoustic_levels": (5, 4, 4)})):
        out[name] = tiny_codec(seed, **overrides).save(root / name)
    return out


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------ round trips
def test_encode_decode_folders_of_every_rate_layout_and_sample_format(tmp_path, models, nemo):
    speech = sf.read(str(sorted((nemo / "audio").glob("EB0_happiness_*.flac"))[0]),
                     dtype="float32")[0][:12000]
    inputs = tmp_path / "in"
    expected = {}
    for rate in (8000, 16000, 22050, 44100, 48000):
        wav = torch.from_numpy(speech)
        if rate != 16000:
            from affectcodec.audio import resample
            wav = resample(wav[None], 16000, rate)[0]
        for channels in (1, 2):
            data = np.stack([wav.numpy() * (1 - 0.3 * c) for c in range(channels)], axis=1)
            for ext, subtypes in (("wav", ("PCM_16", "PCM_24", "FLOAT")), ("flac", ("PCM_16", "PCM_24"))):
                for subtype in subtypes:
                    rel = Path(f"{rate}") / f"{'stereo' if channels == 2 else 'mono'}_{subtype}_{ext}.{ext}"
                    (inputs / rel.parent).mkdir(parents=True, exist_ok=True)
                    sf.write(str(inputs / rel), data, rate, subtype=subtype)
                    expected[rel] = (rate, sf.read(str(inputs / rel), dtype="float32")[0])
    assert len(expected) == 50
    enc = cli("encode", inputs, "-o", tmp_path / "tokens", "--model", models["a"], "--kbps", "3")
    assert enc.returncode == 0, enc.stderr
    assert enc.stderr == ""
    assert files_under(tmp_path / "tokens") == sorted(str(r.with_suffix(".affc")) for r in expected)
    dec = cli("decode", tmp_path / "tokens", "-o", tmp_path / "audio", "--model", models["a"])
    assert dec.returncode == 0, dec.stderr
    codec = tiny_codec(0)
    for rel, (rate, source) in expected.items():
        out, out_rate = sf.read(str(tmp_path / "audio" / rel.with_suffix(".wav")), dtype="float32")
        assert out_rate == rate and out.ndim == 1 and len(out) == len(source), rel
        if "PCM_24" not in rel.name:  # the API comparison is slow: two sample formats suffice
            continue
        # the same as the Python API on the whole file: the tokens up to float rounding (the CLI
        # resamples in a stream, the API the whole signal, and a value within ~1e-7 of an FSQ
        # rounding boundary may fall either way), the audio up to 16-bit output and rounding
        mono = torch.from_numpy(source.T.copy() if source.ndim == 2 else source[None])
        with pytest.warns(UserWarning, match="downmixing") if mono.shape[0] > 1 else nullcontext():
            codes = codec.encode(mono[None], sample_rate=rate, kbps=3)
        with open(tmp_path / "tokens" / rel.with_suffix(".affc"), "rb") as f:
            stored, _ = bitstream.read_from(f)
        assert (stored.tokens == codes.tokens).float().mean() > 0.99, rel
        api = codec.decode(stored, sample_rate=rate)
        api = api[0, 0, : len(out)].numpy()
        assert np.abs(out - api).max() < 2e-3, rel
        assert np.corrcoef(out, api)[0, 1] > 0.999, rel


def test_reconstruct_info_and_sample_rate_options(tmp_path, models):
    sf.write(str(tmp_path / "a.flac"), synth(1.3, 22050), 22050, subtype="PCM_24")
    rec, enc = cli_many(
        ("reconstruct", tmp_path / "a.flac", "-o", tmp_path / "rec", "--model", models["a"],
         "--kbps", "1.5", "--sample-rate", "16000"),
        ("encode", tmp_path / "a.flac", "--model", models["a"], "--kbps", "1.5"))
    assert rec.returncode == 0 and enc.returncode == 0, rec.stderr + enc.stderr
    out, rate = sf.read(str(tmp_path / "rec" / "a.wav"))
    assert rate == 16000 and len(out) == round(1.3 * 16000)
    info, dec = cli_many(("info", tmp_path / "a.affc"),
                         ("decode", tmp_path / "a.affc", "-o", tmp_path / "dec.wav",
                          "--model", models["a"], "--sample-rate", "16000"))
    assert info.returncode == 0 and dec.returncode == 0, info.stderr + dec.stderr
    header = json.loads(info.stdout)
    assert header["kbps"] == 1.5 and header["num_stages"] == 2 and header["bits_per_token"] == 15
    assert header["source_sample_rate"] == 22050 and header["source_num_samples"] == 28665
    assert header["model_name"] == "a" and header["window"]["frames"] == 500
    # reconstruct == encode then decode
    assert np.array_equal(sf.read(str(tmp_path / "dec.wav"))[0], out)


# ------------------------------------------------------------------------------ determinism
def test_affc_bytes_identical_across_runs_threads_and_batches(tmp_path, models, nemo):
    src = sorted((nemo / "audio").glob("EB0_anger_*.flac"))[:3]
    batch = tmp_path / "batch"
    batch.mkdir()
    for p in src:
        shutil.copy(p, batch / p.name)
    one, two, folder = [finish(p) for p in (
        start("encode", batch / src[0].name, "-o", tmp_path / "t1", "--model", models["a"], threads=1),
        start("encode", batch / src[0].name, "-o", tmp_path / "t2", "--model", models["a"], threads=2),
        start("encode", batch, "-o", tmp_path / "t3", "--model", models["a"], threads=2))]
    assert one.returncode == two.returncode == folder.returncode == 0, one.stderr + folder.stderr
    name = src[0].with_suffix(".affc").name
    blobs = [(tmp_path / d / name).read_bytes() for d in ("t1", "t2", "t3")]
    assert blobs[0] == blobs[1] == blobs[2]
    assert len(files_under(tmp_path / "t3")) == 3


# ------------------------------------------------------------------------------ bad audio
def test_bad_audio_inputs_fail_one_line_each_without_output(tmp_path, models):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.wav").write_bytes(b"")
    sf.write(str(bad / "zero.wav"), np.zeros((0, 1), np.float32), 16000)
    (bad / "junk.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    sf.write(str(bad / "full.wav"), synth(1.0), 16000, subtype="PCM_16")
    data = (bad / "full.wav").read_bytes()
    (bad / "truncated.wav").write_bytes(data[: len(data) // 2])
    sf.write(str(bad / "whole.flac"), synth(3.0), 16000, subtype="PCM_16")
    data = (bad / "whole.flac").read_bytes()
    (bad / "cut.flac").write_bytes(data[: len(data) // 2])
    for name, value in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        x = synth(1.0)
        x[8000] = value
        sf.write(str(bad / name), x, 16000, subtype="FLOAT")
    (tmp_path / "noaudio").mkdir()
    (tmp_path / "noaudio" / "notes.txt").write_text("no audio here")
    cases = {
        tmp_path / "missing.wav": "no such file or folder",
        tmp_path / "noaudio": "no audio files in this folder",
        bad / "empty.wav": "empty file",
        bad / "zero.wav": "contains no audio samples",
        bad / "junk.wav": "not a readable audio file",
        bad / "truncated.wav": "truncated file",
        bad / "cut.flac": "truncated",
        bad / "nan.wav": r"NaN or Inf samples \(first at 0.500 s\)",
        bad / "inf.wav": "NaN or Inf samples",
    }
    out = tmp_path / "out"
    results = cli_many(*[("encode", path, "-o", out, "--model", models["a"]) for path in cases])
    for (path, pattern), result in zip(cases.items(), results, strict=True):
        lines = error_lines(result)
        assert result.returncode == 1, (path, result.stderr)
        assert len(lines) == 1, (path, result.stderr)
        assert lines[0].startswith(f"affectcodec: error: {path}: "), lines
        assert re.search(pattern, lines[0]), (pattern, lines[0])
    assert not out.exists() or files_under(out) == []

    # In a batch, the bad files are reported and the good one is still encoded.
    batch = cli("encode", bad, "-o", out, "--model", models["a"])
    assert batch.returncode == 1
    assert len(error_lines(batch)) == 7, batch.stderr
    assert files_under(out) == ["full.affc", "whole.affc"]


def test_usage_errors_exit_2_and_clipping_warns(tmp_path, models):
    x = synth(1.0)
    x[100:200] = 1.5
    sf.write(str(tmp_path / "loud.wav"), x, 16000, subtype="FLOAT")
    (tmp_path / "no-checkpoints").mkdir()
    procs = [start("encode"), start("decode", tmp_path / "x.affc", "--sample-rate", "fast"),
             start("encode", tmp_path / "loud.wav", "--model", models["a"]),
             start("encode", tmp_path / "loud.wav", "-o", tmp_path / "other",
                   env={"AFFECTCODEC_CHECKPOINTS": str(tmp_path / "no-checkpoints")})]
    no_input, bad_rate, loud, no_default = map(finish, procs)
    assert no_input.returncode == 2 and bad_rate.returncode == 2
    assert loud.returncode == 0
    assert error_lines(loud) == [f"affectcodec: warning: {tmp_path / 'loud.wav'}: 100 samples at or "
                                 f"beyond full scale (peak 1.500): the input may be clipped"]
    # --model defaults to the bundled checkpoint; without one (an empty checkpoints folder): a clear error
    assert no_default.returncode == 1 and len(error_lines(no_default)) == 1
    assert "no bundled default model" in no_default.stderr and not (tmp_path / "other").exists()


def test_overwrite_needs_force_and_collisions_are_refused(tmp_path, models):
    sf.write(str(tmp_path / "a.wav"), synth(0.5), 16000)
    assert cli("encode", tmp_path / "a.wav", "--model", models["a"]).returncode == 0
    first = (tmp_path / "a.affc").read_bytes()
    sf.write(str(tmp_path / "a.flac"), synth(0.5, seed=1), 16000)
    again, collide = cli_many(("encode", tmp_path / "a.flac", "--model", models["a"]),
                              ("encode", tmp_path / "a.wav", tmp_path / "a.flac", "-o",
                               tmp_path / "o", "--model", models["a"]))
    assert again.returncode == 1 and error_lines(again) == [
        f"affectcodec: error: {tmp_path / 'a.affc'} exists; use -f to overwrite"]
    assert (tmp_path / "a.affc").read_bytes() == first
    assert collide.returncode == 1 and "would both be written to" in collide.stderr
    forced = cli("encode", tmp_path / "a.flac", "--model", models["a"], "-f")
    assert forced.returncode == 0 and (tmp_path / "a.affc").read_bytes() != first


# ------------------------------------------------------------------------------ bad .affc
def rewrite(data: bytes, *, payload=None, header=None) -> bytes:
    hlen = struct.unpack(">I", data[5:9])[0]
    blob = data[9:9 + hlen] if header is None else \
        json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    body = data[:5] + struct.pack(">I", len(blob)) + blob + \
        (data[9 + hlen:-4] if payload is None else payload)
    return body + struct.pack(">I", zlib.crc32(body))


def test_bad_affc_files_fail_one_line_each_without_output(tmp_path, models):
    sf.write(str(tmp_path / "s.wav"), synth(1.0), 16000)
    enc_a, enc_odd = cli_many(
        ("encode", tmp_path / "s.wav", "-o", tmp_path / "a.affc", "--model", models["a"]),
        ("encode", tmp_path / "s.wav", "-o", tmp_path / "odd.affc", "--model", models["odd"]))
    assert enc_a.returncode == enc_odd.returncode == 0, enc_a.stderr + enc_odd.stderr
    good = (tmp_path / "a.affc").read_bytes()
    hlen = struct.unpack(">I", good[5:9])[0]
    odd = (tmp_path / "odd.affc").read_bytes()
    odd_codes = bitstream.read(tmp_path / "odd.affc")[0]
    assert odd_codes.cardinality == 240 and bitstream.read_json(tmp_path / "odd.affc")["bits_per_token"] == 8
    odd_hlen = struct.unpack(">I", odd[5:9])[0]
    odd_payload = bytearray(odd[9 + odd_hlen:-4])
    odd_payload[5] = 250  # a token >= 240 that fits 8 bits, with a valid CRC
    variants = {
        "magic.affc": (b"RIFF" + good[4:], "not an .affc file"),
        "version.affc": (good[:4] + bytes([9]) + good[5:], "unsupported .affc format version 9"),
        "truncated.affc": (good[:9 + hlen + 20], "truncated file: the token payload"),
        "flipped.affc": (good[:-20] + bytes([good[-20] ^ 0x04]) + good[-19:], "CRC32 mismatch"),
        "hlen.affc": (good[:5] + struct.pack(">I", 0xFFFFFFFF) + good[9:], "header length 4294967295"),
        "token.affc": (rewrite(odd, payload=bytes(odd_payload)), ">= the cardinality 240"),
    }
    for name, (data, _) in variants.items():
        (tmp_path / name).write_bytes(data)
    commands = [("decode", tmp_path / name, "-o", tmp_path / "out" / (name + ".wav"),
                 "--model", models["odd" if name == "token.affc" else "a"]) for name in variants]
    commands.append(("decode", tmp_path / "a.affc", "-o", tmp_path / "out" / "other.wav",
                     "--model", models["b"]))  # a header naming a different model
    commands.append(("info", tmp_path / "flipped.affc"))
    results = cli_many(*commands)
    patterns = [p for _, p in variants.values()] + ["encoded with model 'a'", "CRC32 mismatch"]
    for command, pattern, result in zip(commands, patterns, results, strict=True):
        lines = error_lines(result)
        assert result.returncode == 1 and len(lines) == 1, (command, result.stderr)
        assert lines[0].startswith(f"affectcodec: error: {command[1]}: ") and pattern in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_encode_and_decode_default_to_the_shipped_model(tmp_path):
    from affectcodec.pretrained import DEFAULT_MODEL, resolve

    sf.write(str(tmp_path / "a.wav"), synth(0.7), 16000)
    env = {"AFFECTCODEC_CHECKPOINTS": ""}  # the project's checkpoints/, not a test override
    encoded = cli("encode", tmp_path / "a.wav", env=env)
    assert encoded.returncode == 0, encoded.stderr
    codes, header = bitstream.read(tmp_path / "a.affc")
    assert header.model_name == DEFAULT_MODEL and codes.num_stages == 8
    assert header.weights_hash == affc_io.ModelIdentity.of(affectcodec.load(), DEFAULT_MODEL).weights_hash
    assert resolve(None).name == DEFAULT_MODEL
    decoded = cli("decode", tmp_path / "a.affc", "-o", tmp_path / "b.wav", env=env)
    assert decoded.returncode == 0, decoded.stderr
    assert sf.info(str(tmp_path / "b.wav")).frames == int(0.7 * 16000)


def test_any_file_name_works_and_pipes_are_refused_at_once(tmp_path, models, nemo):
    # names the OS allows but that are not UTF-8 (soundfile encoded str names strictly, and one
    # such file aborted the whole folder with a traceback); a FIFO used to be read forever
    speech = sorted((nemo / "audio").glob("EB0_anger_*.flac"))[0]
    inputs = tmp_path / "in"
    inputs.mkdir()
    odd = os.fsdecode(b"caf\xe9 \xff.flac")  # Latin-1 bytes: invalid UTF-8
    shutil.copy(speech, inputs / odd)
    shutil.copy(speech, inputs / "plain.flac")
    (inputs / os.fsdecode(b"junk\xfe.wav")).write_bytes(os.urandom(2000))
    os.mkfifo(inputs / "pipe.wav")
    enc = cli("encode", inputs, "-o", tmp_path / "tokens", "--model", models["a"])
    assert enc.returncode == 1
    lines = error_lines(enc)
    assert len(lines) == 1 and "junk" in lines[0] and "not a readable audio file" in lines[0], lines
    assert sorted(os.listdir(tmp_path / "tokens")) == sorted([odd.replace(".flac", ".affc"), "plain.affc"])
    dec = cli("decode", tmp_path / "tokens", "-o", tmp_path / "audio", "--model", models["a"])
    assert dec.returncode == 0, dec.stderr
    assert len(sf.read(os.fsencode(tmp_path / "audio" / odd.replace(".flac", ".wav")))[0]) > 0
    proc = start("encode", inputs / "pipe.wav", "-o", tmp_path / "p", "--model", models["a"])
    out, err = proc.communicate(timeout=60)  # not a hang
    assert proc.returncode == 1 and "not a regular file" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "p").exists() or not os.listdir(tmp_path / "p")


def test_messages_say_what_happened_in_one_line_before_any_work(tmp_path, models, nemo):
    speech = sorted((nemo / "audio").glob("EB0_anger_*.flac"))[0]
    noise = tmp_path / "random.mp3"  # libmpg123 printed its parser's warnings on stderr
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    run = cli("encode", noise, "-o", tmp_path / "o1", "--model", models["a"])
    assert run.returncode == 1 and error_lines(run) == [
        f"affectcodec: error: {noise}: not a readable audio file (unrecognised or corrupt data)"]
    blocker = tmp_path / "a_file"  # -o names a file: refused at once, nothing encoded
    blocker.write_text("x")
    run = cli("encode", speech, "-o", blocker, "--model", models["a"])
    assert run.returncode == 1 and len(error_lines(run)) == 1
    assert "is a file" in run.stderr and blocker.read_text() == "x"
    for value in ("inf", "nan", "0.01", "1e9"):
        run = cli("encode", speech, "-o", tmp_path / "o2", "--window", value, "--model", models["a"])
        assert run.returncode == 2 and "--window: must be 1..3600 seconds" in run.stderr
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_an_interrupted_folder_encode_resumes_to_the_same_bytes(tmp_path, models, nemo):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for src in sorted((nemo / "audio").glob("EB0_sadness_*.flac"))[:3]:
        shutil.copy(src, inputs / src.name)
    clean = cli("encode", inputs, "-o", tmp_path / "clean", "--model", models["a"])
    assert clean.returncode == 0, clean.stderr
    names = files_under(tmp_path / "clean")
    # an interrupted run: one output done, one missing, and the temporary file a kill -9 left
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(tmp_path / "clean" / names[0], out / names[0])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid now unused
    stale = out / f".{names[1]}.{dead}.abc123.part"
    stale.write_bytes(b"half")
    again = cli("encode", inputs, "-o", out, "--model", models["a"])
    assert again.returncode == 1 and "exists" in again.stderr  # without the flag: refused
    resumed = cli("encode", inputs, "-o", out, "--model", models["a"], "--skip-existing")
    assert resumed.returncode == 0, resumed.stderr
    assert files_under(out) == names  # the stale .part is gone
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    (out / names[2]).unlink()
    other = cli("encode", inputs, "-o", out, "--model", models["a"], "--skip-existing", "--kbps", "1.5")
    assert other.returncode == 1 and "another model, bitrate or window" in other.stderr
    both = cli("encode", inputs, "-o", out, "--model", models["a"], "--skip-existing", "-f")
    assert both.returncode == 1 and "contradict" in both.stderr


def test_a_full_disk_is_said_in_one_line_naming_the_output(tmp_path, monkeypatch):
    # libsndfile reports a full disk as "System error."; the CLI printed exactly that
    import shutil as sh
    from collections import namedtuple

    from affectcodec import audio
    from affectcodec.commands._common import describe

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(sh, "disk_usage", lambda path: usage(100, 100, 0))
    monkeypatch.setattr(sf.SoundFile, "write", lambda self, data: (_ for _ in ()).throw(
        sf.LibsndfileError(2, "")))
    tmp = tmp_path / ".out.wav.123.abcd.part"  # fsutil.atomic_path's temporary name
    with pytest.raises(OSError) as info:
        with audio.AudioWriter(tmp, 16000) as writer:
            writer.write(torch.zeros(100))
    message = describe(info.value)
    assert message == f"no space left on the device: {tmp_path / 'out.wav'} (free some space, or " \
                      f"write elsewhere with -o)"


def test_a_refused_write_is_said_in_one_line_naming_the_output(tmp_path, monkeypatch):
    # libsndfile reports a refused write as "System error." too; os.access stands in for a
    # folder without write permission (the suite runs as root, for whom every folder is writable)
    from affectcodec import audio
    from affectcodec.commands._common import describe

    monkeypatch.setattr(sf.SoundFile, "__init__", lambda self, *a, **k: (_ for _ in ()).throw(
        sf.LibsndfileError(2, "")))
    monkeypatch.setattr(audio.os, "access", lambda path, mode: False)
    with pytest.raises(OSError) as info:
        audio.AudioWriter(tmp_path / ".out.wav.123.abcd.part", 16000)
    assert describe(info.value) == f"no permission to write there: {tmp_path / 'out.wav'} " \
                                   f"(choose a folder you can write to with -o)"
