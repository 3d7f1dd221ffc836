"""``affectcodec train-emotion fit -c recipes/emotion/RECIPE.yaml``: the emotion models' LightningCLI."""

from __future__ import annotations

import argparse

from affectcodec.commands._common import add_passthrough


def add_parser(subparsers) -> argparse.ArgumentParser:
    return add_passthrough(subparsers, "train-emotion", "train the SER teacher or the CRNN judge "
                           "from a LightningCLI recipe (recipes/emotion/)",
                           "affectcodec.train.emotion_cli:main")
