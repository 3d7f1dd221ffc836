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
    import json
    import shlex
    import sys

    import torch

    from affectcodec.baselines import REFERENCE_CODECS
    from affectcodec.codec import CheckpointError
    from affectcodec.errors import CommandError
    from affectcodec.eval.speed import format_table, run_one, to_json
    from affectcodec.fsutil import atomic_path
    from affectcodec.pretrained import resolve

    if args.seconds <= 0 or args.repeats < 1:
        raise CommandError("--seconds must be > 0 and --repeats >= 1")
    threads = args.threads or torch.get_num_threads()
    if args.random:
        specs = [{"kind": "random", "name": "affectcodec (random)"}]
    else:
        try:
            path = resolve(args.model)
        except CheckpointError as exc:
            raise CommandError(f"{exc} (or use --random to time the architecture)") from exc
        specs = [{"kind": "load", "name": path.name, "path": str(path)}]
    for vs in args.vs:
        if vs == "none":
            continue
        if vs in REFERENCE_CODECS:
            if not REFERENCE_CODECS[vs].available():
                print(REFERENCE_CODECS[vs].missing_message(), file=sys.stderr)
                continue
            specs.append({"kind": vs, "name": vs})
        else:
            specs.append({"kind": vs, "name": "dac16k (random)"})
    results = []
    for spec in specs:
        try:
            results.append(run_one(spec, args.seconds, threads, args.repeats))
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
    print(format_table(results))
    a = results[0]
    for b in results[1:]:
        ratio = a.realtime_factor / b.realtime_factor
        print(f"{a.name} encode+decode runs {ratio:.1f}x the speed of {b.name} at batch 1 "
              f"({threads} threads, {args.seconds:g} s of audio).")
    print(f"command: affectcodec {' '.join(shlex.quote(a) for a in sys.argv[1:])}")
    if args.json_path:
        with atomic_path(args.json_path, force=True) as tmp:
            tmp.write_text(json.dumps(to_json(results), indent=2))
    return 0
