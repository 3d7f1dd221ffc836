"""``affectcodec train fit|validate --config RECIPE [overrides]``: LightningCLI training."""

from __future__ import annotations

import argparse

from affectcodec.commands._common import add_passthrough


def add_parser(subparsers) -> argparse.ArgumentParser:
    return add_passthrough(subparsers, "train", "train or validate a codec from a LightningCLI "
                           "recipe (affectcodec train --help)", "affectcodec.train.lightning_cli:main")
