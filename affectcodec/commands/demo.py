"""``affectcodec demo [--out DIR] [--model M] [--text T]``: what ``make demo`` runs."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
The main job on the bundled default model, end to end through the file path: speech from
espeak-ng (or a built-in voice), .affc at every bitrate, the decoded audio, PESQ-wb / STOI / mel
distance / the judges' labels, and a spectrogram comparison (see affectcodec.eval.demo_report)."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help="speak a sentence, encode it at every rate, decode it, "
                                           "score and plot it", description=DESCRIPTION)
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument("--model", default=None, help="model folder or bundled name (default: bundled)")
    p.add_argument("--text", default=None,
                   help="what espeak-ng says (default: affectcodec.eval.demo_report.DEFAULT_TEXT)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import subprocess

    from affectcodec.errors import CommandError
    from affectcodec.eval import demo_report as demo

    try:
        return demo.run(args.out, args.model, args.text)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        raise CommandError(str(exc)) from None
