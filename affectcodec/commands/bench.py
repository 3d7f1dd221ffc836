"""``affectcodec bench``: encode/decode speed and peak memory, side by side with DAC."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench", help="measure encode/decode real-time factors and peak memory",
        description="Encode and decode generated audio at batch 1 and batch 8 and report compute "
                    "seconds per audio second (RTF) and peak resident memory, for the model and, in "
                    "the same run and thread setting, descript-audio-codec's 16 kHz DAC architecture.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default=None,
                     help="model folder or bundled name (default: the bundled default model)")
    src.add_argument("--random", action="store_true",
                     help="the default AffectCodec architecture with random weights (speed only)")
    p.add_argument("--seconds", type=float, default=60.0, help="audio duration per measurement")
    p.add_argument("--vs", nargs="+", choices=["dac16k", "opus", "codec2", "none"], default=["dac16k"],
                   help="comparison models (default: dac16k; opus / codec2 are skipped with a "
                        "message when their Debian tools are missing)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=2, help="timed repeats (the best is kept)")
    p.add_argument("--json", dest="json_path", default=None, help="also write the figures as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from affectcodec.eval.speed import benchmark, format_table

    results = benchmark(args.model, random=args.random, seconds=args.seconds, vs=args.vs,
                        threads=args.threads, repeats=args.repeats, json_path=args.json_path)
    print(format_table(results))
    a = results[0]
    for b in results[1:]:
        ratio = a.realtime_factor / b.realtime_factor
        print(f"{a.name} encode+decode runs {ratio:.1f}x the speed of {b.name} at batch 1 "
              f"({a.threads} threads, {args.seconds:g} s of audio).")
    print(f"command: affectcodec {' '.join(shlex.quote(a) for a in sys.argv[1:])}")
    return 0
