"""``affectcodec export CKPT OUT_DIR``: a training checkpoint -> the released model folder."""

from __future__ import annotations

import argparse

from affectcodec.errors import CommandError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export", help="turn a Lightning training checkpoint into a released model folder",
        description="Write config.json, model.safetensors and MODEL_CARD.md for a training "
                    "checkpoint (.ckpt). The folder loads with affectcodec.load(OUT_DIR).")
    parser.add_argument("checkpoint",
                        help="Lightning checkpoint (.ckpt) written by 'affectcodec train'")
    parser.add_argument("out_dir", help="output model folder")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite a non-empty OUT_DIR")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from affectcodec.train.release import ExportError, export

    try:
        out = export(args.checkpoint, args.out_dir, overwrite=args.force)
    except ExportError as exc:
        raise CommandError(str(exc)) from exc
    print(f"exported {args.checkpoint} -> {out}")
    return 0
