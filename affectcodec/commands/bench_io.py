"""``affectcodec bench-io``: speed and peak memory of file encoding and decoding, short vs long.

A benchmark, not a test: it writes a synthetic speech-like 16 kHz file of ``--short`` seconds and
one of ``--long`` seconds (default 60 s and 1 hour), and for each runs, in a fresh process, the
same code as ``affectcodec encode`` and ``affectcodec decode`` (a 1 s warm-up first, so that
one-off start-up costs do not count against the short file). It prints per file: encode and
decode seconds, real-time factor (processing time / audio time, lower is faster), throughput
(audio seconds per second), CPU seconds per audio second (robust to other load on a shared
machine) and the process's peak resident memory (``ru_maxrss``, which includes
Python, torch and the model). The long file's throughput relative to the short one's shows that
time is linear in duration; its peak RSS that memory is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench-io", help="benchmark file encode/decode speed and memory (60 s vs 1 h)",
        description=__doc__.split("\n\n", 1)[1])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="DIR",
                        help="model folder or bundled name (default: the bundled default model)")
    source.add_argument("--random", action="store_true",
                        help="the default architecture with random weights (speed does not depend on them)")
    parser.add_argument("--short", type=float, default=60.0, help="short file, seconds (60)")
    parser.add_argument("--long", type=float, default=3600.0, help="long file, seconds (3600)")
    parser.add_argument("--kbps", type=float, default=None, help="bitrate (default: highest)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--workdir", metavar="DIR", help="where to write the files (default: a "
                                                         "temporary folder, removed afterwards)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)
    return parser


def synth_speech(path: Path, seconds: float, sample_rate: int = 16000, block: float = 10.0) -> None:
    """Write a deterministic speech-like signal: a gliding harmonic voice (f0 100-200 Hz) with
    4 Hz syllables, pauses and a little noise, 16-bit mono, in blocks (bounded memory)."""
    import numpy as np
    import soundfile as sf

    total = int(round(seconds * sample_rate))
    step = int(block * sample_rate)
    with sf.SoundFile(str(path), "w", sample_rate, 1, subtype="PCM_16", format="WAV") as f:
        for start in range(0, total, step):
            t = (np.arange(start, min(total, start + step), dtype=np.float64)) / sample_rate
            # f0(t) = 150 + 30 sin(2 pi 0.3 t) + 15 sin(2 pi 1.7 t); phase = 2 pi * integral.
            phase = 2 * np.pi * (150 * t - 30 / (2 * np.pi * 0.3) * np.cos(2 * np.pi * 0.3 * t)
                                 - 15 / (2 * np.pi * 1.7) * np.cos(2 * np.pi * 1.7 * t))
            voice = sum(np.sin(k * phase) / k for k in range(1, 11))
            syllables = (0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t)) ** 2
            pauses = (np.mod(t, 3.6) < 3.0).astype(np.float64)
            noise = np.random.default_rng(start).standard_normal(t.size) * 0.01
            f.write((0.25 * voice * syllables * pauses + noise).astype(np.float32))


def run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from affectcodec.codec import CheckpointError
    from affectcodec.errors import CommandError
    from affectcodec.pretrained import resolve

    if not (args.short > 1 and args.long > 1):
        raise CommandError("--short and --long must be longer than 1 s")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="affc-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            model = None if args.random else str(resolve(args.model))
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        if model is None:
            import torch

            from affectcodec import AffectCodec

            torch.manual_seed(0)
            model = str(AffectCodec().eval().save(workdir / "model"))
        rows = []
        for seconds in (args.short, args.long):
            wav = workdir / f"bench_{int(seconds)}s.wav"
            if not wav.exists():
                print(f"writing {seconds:g} s of synthetic speech to {wav} ...", file=sys.stderr)
                synth_speech(wav, seconds)
            print(f"encoding and decoding {seconds:g} s ...", file=sys.stderr)
            rows.append(_measure(model, wav, workdir, args))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    ratio = rows[1]["throughput"] / rows[0]["throughput"]
    cpu_ratio = rows[0]["cpu_per_audio_s"] / rows[1]["cpu_per_audio_s"]
    result = {"device": args.device, "threads": rows[0]["threads"], "files": rows,
              "long_vs_short_throughput": round(ratio, 4),
              "long_vs_short_cpu_throughput": round(cpu_ratio, 4)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"device {args.device}, torch threads {rows[0]['threads']}, model {rows[0]['model']}")
    print(f"{'audio':>9} {'encode s':>9} {'decode s':>9} {'RTF':>7} {'x realtime':>10} "
          f"{'CPU s/s':>8} {'peak RSS':>10}")
    for r in rows:
        print(f"{r['seconds']:>8g}s {r['encode_s']:>9.2f} {r['decode_s']:>9.2f} {r['rtf']:>7.4f} "
              f"{r['throughput']:>10.2f} {r['cpu_per_audio_s']:>8.4f} {r['peak_rss_mb']:>8.0f}MB")
    print(f"long-file throughput = {ratio:.1%} of the short file's (wall clock), "
          f"{cpu_ratio:.1%} (CPU time)")
    return 0


def _measure(model: str, wav: Path, workdir: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "affectcodec.commands.bench_io", model, str(wav),
           str(workdir / (wav.stem + ".affc")), str(workdir / (wav.stem + "_decoded.wav")),
           args.device, "" if args.kbps is None else str(args.kbps)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        from affectcodec.errors import CommandError

        raise CommandError(f"benchmark child failed with exit code {proc.returncode}")
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    total = row["encode_s"] + row["decode_s"]
    row["rtf"] = round(total / row["seconds"], 5)
    row["throughput"] = round(row["seconds"] / total, 3)
    # CPU seconds per audio second: robust to other load on a shared machine.
    row["cpu_per_audio_s"] = round((row["encode_cpu_s"] + row["decode_cpu_s"]) / row["seconds"], 5)
    print(f"  done: {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


def _child(model: str, wav: str, affc: str, out: str, device: str, kbps: str) -> None:
    """Encode and decode one file exactly as the CLI does; print timings as JSON.

    Progress lines (audio done, wall and CPU seconds, peak RSS so far) go to stderr every
    5 minutes of audio, so that a long run can be followed (and read if it is cut short).
    """
    import resource

    import soundfile as sf
    import torch

    from affectcodec import affc_io, pretrained
    from affectcodec.audio import audio_info

    codec = pretrained.load(model, device=device)
    identity = affc_io.ModelIdentity.of(codec, Path(model).name)
    kwargs = {"kbps": float(kbps)} if kbps else {}
    warm = Path(affc).with_name("warmup.wav")
    sf.write(str(warm), (torch.randn(16000) * 0.1).numpy(), 16000)
    affc_io.encode_file(codec, warm, warm.with_suffix(".affc"), force=True, model=identity, **kwargs)
    affc_io.decode_file(codec, warm.with_suffix(".affc"), warm.with_name("warmup_out.wav"),
                        force=True, model=identity)

    def reporter(phase: str):
        done, last, w0, c0 = 0.0, 0.0, time.perf_counter(), time.process_time()

        def progress(seconds: float) -> None:
            nonlocal done, last
            done += seconds
            if done - last >= 300:
                last = done
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"  {phase}: {done:7.0f} s of audio, wall {time.perf_counter() - w0:7.1f} s, "
                      f"cpu {time.process_time() - c0:7.1f} s, peak RSS {rss:6.0f} MB",
                      file=sys.stderr, flush=True)
        return progress

    t0, c0 = time.perf_counter(), time.process_time()
    affc_io.encode_file(codec, wav, affc, force=True, model=identity, progress=reporter("encode"),
                        **kwargs)
    t1, c1 = time.perf_counter(), time.process_time()
    affc_io.decode_file(codec, affc, out, force=True, model=identity, progress=reporter("decode"))
    t2, c2 = time.perf_counter(), time.process_time()
    print(json.dumps({"seconds": audio_info(wav).duration, "encode_s": round(t1 - t0, 3),
                      "decode_s": round(t2 - t1, 3), "encode_cpu_s": round(c1 - c0, 3),
                      "decode_cpu_s": round(c2 - c1, 3), "threads": torch.get_num_threads(),
                      "affc_bytes": os.path.getsize(affc), "model": Path(model).name,
                      "kbps": float(kbps) if kbps else None}))


if __name__ == "__main__":
    _child(*sys.argv[1:7])
