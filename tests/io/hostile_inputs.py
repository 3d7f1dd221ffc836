"""A corpus of hostile inputs for the command line, and a runner that checks each outcome.

Every case is a command line on generated files (audio, ``.affc`` files, model folders,
options). The runner runs each in a fresh process and checks: it ends within 30 s, its peak
RSS stays under 2 GB, stderr has no traceback, a refused case prints one line and exits
non-zero, an accepted case exits 0 with its output, and no temporary or partial file is left.

    python -m tests.io.hostile_inputs [--out DIR] [--model DIR]      # prints one row per case

The test suite runs a subset (tests/io/test_hostile_inputs.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import REPO
from tests.io.fuzz_bitstream import CORPUS

TIME_LIMIT_S = 30
RSS_LIMIT_KB = 2 * 1024 * 1024


@dataclass
class Case:
    name: str
    make: Callable[[Path, str], list[str]]  # (work dir, model) -> CLI arguments
    accept: bool  # True: must succeed; False: must be refused in one line


def speech(seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def wav(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    sf.write(os.fsencode(path), data, rate, subtype=subtype)
    return path


def plain_wav(d: Path) -> Path:
    """A valid 1 s 16 kHz WAV in ``d`` (the input of the option and model-folder cases)."""
    return wav(d / "a.wav", speech(), 16000)


def raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def encode(make_input: Callable[[Path], Path], *options: str) -> Callable[[Path, str], list[str]]:
    return lambda d, model: ["encode", str(make_input(d)), "-o", str(d / "out"), "--model", model,
                             *options]


def decode_affc(blob_of: Callable[[Path], Path], *options: str) -> Callable[[Path, str], list[str]]:
    return lambda d, model: ["decode", str(blob_of(d)), "-o", str(d / "out"), "--model", model,
                             *options]


def hostile_model(edit: Callable[[dict], object]) -> Callable[[Path, str], list[str]]:
    def make(d: Path, model: str) -> list[str]:
        folder = d / "model"
        shutil.copytree(model, folder)
        meta = json.loads((folder / "config.json").read_text())
        result = edit(meta)
        if isinstance(result, bytes):
            (folder / "config.json").write_bytes(result)
        else:
            (folder / "config.json").write_text(json.dumps(meta))
        return ["encode", str(plain_wav(d)), "-o", str(d / "out"), "--model",
                str(folder)]
    return make


def weights_edit(data: bytes) -> Callable[[Path, str], list[str]]:
    def make(d: Path, model: str) -> list[str]:
        folder = d / "model"
        shutil.copytree(model, folder)
        (folder / "model.safetensors").write_bytes(data)
        return ["encode", str(plain_wav(d)), "-o", str(d / "out"), "--model",
                str(folder)]
    return make


def good_affc(d: Path, model: str) -> Path:
    """A valid .affc written by ``model`` (by the CLI itself)."""
    src = wav(d / "src.wav", speech(2.0), 16000)
    subprocess.run(cli() + ["encode", str(src), "-o", str(d / "src.affc"), "--model", model],
                   check=True, capture_output=True)
    return d / "src.affc"


def model_affc(d: Path) -> Path:
    """A valid .affc of the model under test."""
    return good_affc(d, MODEL[0])


def cli() -> list[str]:
    return [sys.executable, "-m", "affectcodec"]


rng = np.random.default_rng(0)
CASES: list[Case] = [
    # audio files
    Case("random bytes .wav", encode(lambda d: raw(d / "r.wav", rng.bytes(3000))), False),
    Case("random bytes .mp3", encode(lambda d: raw(d / "r.mp3", rng.bytes(3000))), False),
    Case("random bytes .flac", encode(lambda d: raw(d / "r.flac", rng.bytes(3000))), False),
    Case("empty file", encode(lambda d: raw(d / "e.wav", b"")), False),
    Case("text named .wav", encode(lambda d: raw(d / "t.wav", b"hello " * 100)), False),
    Case("WAV header only, data claimed", encode(lambda d: raw(
        d / "h.wav", wav(d / "x.wav", speech(0.5), 16000).read_bytes()[:44])), False),
    Case("truncated WAV", encode(lambda d: raw(
        d / "tr.wav", wav(d / "x.wav", speech(1.0), 16000).read_bytes()[:9000])), False),
    Case("WAV at 8001 Hz", encode(lambda d: wav(d / "a.wav", speech(1.0, 8001), 8001)), True),
    Case("WAV at 44101 Hz", encode(lambda d: wav(d / "a.wav", speech(1.0, 44101), 44101)), True),
    Case("WAV at 384000 Hz", encode(lambda d: wav(d / "a.wav", speech(0.5, 384000), 384000)), True),
    Case("WAV at 1000 Hz", encode(lambda d: wav(d / "a.wav", speech(2.0, 1000), 1000)), True),
    Case("WAV at 400000 Hz", encode(lambda d: wav(d / "a.wav", speech(0.2, 400000), 400000)), False),
    Case("1-sample WAV", encode(lambda d: wav(d / "a.wav", speech(1.0)[:1], 16000)), True),
    Case("float WAV with NaN", encode(lambda d: wav(
        d / "a.wav", np.where(np.arange(16000) % 100 == 0, np.nan, speech()).astype(np.float32),
        16000, "FLOAT")), False),
    Case("float WAV with Inf", encode(lambda d: wav(
        d / "a.wav", np.full(16000, np.inf, np.float32), 16000, "FLOAT")), False),
    Case("float WAV at +-8 full scale", encode(lambda d: wav(
        d / "a.wav", 8 * speech(), 16000, "FLOAT")), True),
    Case("8 channels", encode(lambda d: wav(d / "a.wav", np.stack([speech()] * 8, 1), 16000)), True),
    Case("non-UTF-8 name", encode(lambda d: wav(d / os.fsdecode(b"\xff\xfe.wav"), speech(), 16000)), True),
    Case("FIFO", encode(lambda d: (os.mkfifo(d / "p.wav"), d / "p.wav")[1]), False),
    Case("folder named .wav", encode(lambda d: (os.mkdir(d / "f.wav"), d / "f.wav")[1]), False),
    Case("missing file", encode(lambda d: d / "nope.wav"), False),
    Case("/dev/zero", encode(lambda d: Path("/dev/zero")), False),
    Case("symlink loop", encode(lambda d: (os.symlink(d / "l2.wav", d / "l1.wav"),
                                           os.symlink(d / "l1.wav", d / "l2.wav"), d / "l1.wav")[2]), False),
    # options
    Case("--window inf", encode(plain_wav, "--window", "inf"), False),
    Case("--window 0.001", encode(plain_wav, "--window", "0.001"), False),
    Case("--kbps 7", encode(plain_wav, "--kbps", "7"), False),
    Case("--device cuda:99", encode(plain_wav, "--device", "cuda:99"), False),
    Case("-o names a file", lambda d, m: ["encode", str(plain_wav(d)), "-o",
                                          str(raw(d / "blocker", b"x")), "--model", m], False),
    Case("decode --sample-rate 0", decode_affc(model_affc, "--sample-rate", "0"), False),
    Case("decode --sample-rate 10^9", decode_affc(model_affc, "--sample-rate",
                                                  "1000000000"), False),
    Case("decode --sample-rate 8001", decode_affc(model_affc, "--sample-rate",
                                                  "8001"), True),
    # model folders
    Case("model: width 10^5", hostile_model(lambda m: m["config"].update(encoder_dim=100_000)), False),
    Case("model: 10^6 stages", hostile_model(lambda m: m["config"].update(n_stages=10 ** 6)), False),
    Case("model: negative width", hostile_model(lambda m: m["config"].update(decoder_dim=-1)), False),
    Case("model: nested config", hostile_model(lambda m: b'{"config":' + b"[" * 50000 + b"]" * 50000
                                               + b"}"), False),
    Case("model: teacher path ../..", hostile_model(
        lambda m: m["config"].update(teacher={"name": "ser", "pretrained": "../../x"})), False),
    Case("model: random weights file", weights_edit(rng.bytes(5000)), False),
    Case("model: safetensors header claims 10^12 bytes", weights_edit(
        (200).to_bytes(8, "little") + json.dumps({"w": {"dtype": "F32", "shape": [250_000_000_000],
                                                        "data_offsets": [0, 10 ** 12]}}).encode().ljust(200)
        + b"\0" * 64), False),
    Case("model: missing weights", lambda d, m: (shutil.copytree(m, d / "model"),
                                                 os.unlink(d / "model" / "model.safetensors"),
                                                 ["encode", str(plain_wav(d)), "-o",
                                                  str(d / "out"), "--model", str(d / "model")])[2], False),
]
# .affc files: the fuzzing corpus, through info and decode
for _path in sorted(CORPUS.glob("*.affc")):
    # window_one_frame is well-formed; only a decoder knows its layout is not the model's
    _ok = _path.stem in ("valid", "window_one_frame")
    CASES.append(Case(f"info {_path.stem}", lambda d, m, p=_path: ["info", str(p)], _ok))
    if _path.stem != "valid":
        CASES.append(Case(f"decode {_path.stem}", lambda d, m, p=_path: [
            "decode", str(p), "-o", str(d / "out"), "--model", m], False))
MODEL: list[str] = [""]  # set by run(): good_affc needs it when the case is built


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files under ``folder``."""
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".part") or p.name.startswith(".")]


def run_case(case: Case, model: str, root: Path) -> dict:
    work = Path(tempfile.mkdtemp(dir=root))
    args = case.make(work, model)
    start = time.perf_counter()
    proc = subprocess.Popen(cli() + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        out, err = proc.communicate(timeout=TIME_LIMIT_S)
        hung = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        hung = True
    seconds = time.perf_counter() - start
    # peak RSS of that child: RUSAGE_CHILDREN is cumulative-max over waited children, so each
    # case runs the check in its own short-lived helper process (see run())
    err_text = err.decode("utf-8", "replace")
    lines = [line for line in err_text.splitlines() if line.strip()]
    problems = []
    if hung:
        problems.append("hang")
    if "Traceback" in err_text:
        problems.append("traceback")
    if case.accept and proc.returncode != 0:
        problems.append(f"refused (exit {proc.returncode}): {lines[-1] if lines else ''}")
    if not case.accept:
        if proc.returncode == 0:
            problems.append("accepted")
        elif len(lines) != 1 and not (proc.returncode == 2 and lines and "error:" in lines[-1]):
            problems.append(f"{len(lines)} lines")
        if (work / "out").exists() and any((work / "out").rglob("*.*")):
            problems.append("output written")
    left = leftovers(work)
    if left:
        problems.append(f"leftover {left[:2]}")
    shutil.rmtree(work, ignore_errors=True)
    return {"case": case.name, "exit": proc.returncode, "seconds": round(seconds, 1),
            "message": lines[-1][:140] if lines else "", "problems": problems}


def run(model: str, names: list[str] | None = None) -> list[dict]:
    """Run the cases (all, or those named) against ``model``; one result dict per case, each
    with its peak RSS measured in a helper process of its own."""
    MODEL[0] = model
    results = []
    with tempfile.TemporaryDirectory() as root:
        for case in CASES:
            if names is not None and case.name not in names:
                continue
            code = ("import json, resource, sys; from pathlib import Path\n"
                    "from tests.io import hostile_inputs as h\n"
                    "h.MODEL[0] = sys.argv[2]\n"
                    "case = next(c for c in h.CASES if c.name == sys.argv[1])\n"
                    "r = h.run_case(case, sys.argv[2], Path(sys.argv[3]))\n"
                    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
                    "r['peak_rss_mb'] = round(peak / 1024)\n"
                    "print(json.dumps(r))")
            helper = subprocess.run([sys.executable, "-c", code, case.name, model, root],
                                    capture_output=True, text=True, cwd=REPO)
            if helper.returncode != 0:
                results.append({"case": case.name, "problems": [f"runner failed: {helper.stderr[-300:]}"]})
                continue
            result = json.loads(helper.stdout.strip().splitlines()[-1])
            if result["peak_rss_mb"] * 1024 > RSS_LIMIT_KB:
                result["problems"].append(f"peak RSS {result['peak_rss_mb']} MB")
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="affectcodec-16k-small")
    args = parser.parse_args()
    from affectcodec.pretrained import resolve

    results = run(str(resolve(args.model)))  # the model-folder cases copy the folder
    print("| case | exit | s | peak RSS MB | outcome |")
    print("|---|---|---|---|---|")
    for r in results:
        outcome = "; ".join(r["problems"]) or r.get("message", "") or "ok"
        print(f"| {r['case']} | {r.get('exit')} | {r.get('seconds')} | {r.get('peak_rss_mb')} | "
              f"{'FAIL: ' if r['problems'] else ''}{outcome} |")
    bad = [r for r in results if r["problems"]]
    print(f"python -m tests.io.hostile_inputs --model {args.model}: {len(results)} cases, "
          f"{len(bad)} with problems")


if __name__ == "__main__":
    main()
