"""``affectcodec bench-train --config RECIPE [--steps N]``: training throughput of a recipe."""

from __future__ import annotations

import argparse

from affectcodec.commands._common import add_passthrough


def add_parser(subparsers) -> argparse.ArgumentParser:
    return add_passthrough(subparsers, "bench-train", "measure a recipe's training throughput "
                           "(audio seconds per second, seconds per batch)",
                           "affectcodec.train.benchmark:main")
