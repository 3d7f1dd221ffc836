"""``affectcodec train fit|validate --config RECIPE [overrides]``: LightningCLI training."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train", add_help=False,
        help="train or validate a codec from a LightningCLI recipe (affectcodec train --help)",
        description="Everything after 'train' goes to LightningCLI: "
                    "affectcodec train fit --config recipes/debug.yaml")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from affectcodec.train.cli import main

    main(args.args)
    return 0
