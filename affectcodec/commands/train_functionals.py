"""``affectcodec train-functionals MANIFEST -o FOLDER``: fit the classical (functionals) judge."""

from __future__ import annotations

import argparse

from affectcodec.commands._common import add_passthrough


def add_parser(subparsers) -> argparse.ArgumentParser:
    return add_passthrough(subparsers, "train-functionals", "fit the functionals + logistic "
                           "regression judge (C chosen by leave-one-speaker-out)",
                           "affectcodec.train.functionals_judge:main")
