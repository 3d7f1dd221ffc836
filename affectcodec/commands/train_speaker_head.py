"""``affectcodec train-speaker-head MODEL MANIFEST``: fit a model folder's speaker-adapted head."""

from __future__ import annotations

import argparse

from affectcodec.commands._common import add_passthrough


def add_parser(subparsers) -> argparse.ArgumentParser:
    return add_passthrough(subparsers, "train-speaker-head", "fit the speaker-adapted head of the "
                           "teacher or a judge and write it into its model folder",
                           "affectcodec.train.speaker_head:main")
