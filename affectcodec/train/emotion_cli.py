"""LightningCLI entry for the emotion classifiers (``affectcodec train-emotion``).

    affectcodec train-emotion fit -c recipes/emotion/ser_teacher.yaml
    affectcodec train-emotion fit -c recipes/emotion/judge_crnn.yaml
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from lightning.pytorch.cli import LightningCLI

from affectcodec.train.emotion_data import EmotionDataModule
from affectcodec.train.emotion_task import EmotionClassifierTask


def main(args: Sequence[str] | None = None) -> None:
    """Run LightningCLI with ``args`` (e.g. ``["fit", "-c", "recipes/emotion/judge_crnn.yaml"]``)."""
    # the arguments after the subcommand, while sys.argv holds the whole command line (see
    # affectcodec.train.lightning_cli.main)
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    LightningCLI(EmotionClassifierTask, EmotionDataModule, args=list(args) if args is not None else None,
                 save_config_kwargs={"overwrite": True},
                 parser_kwargs={"prog": "affectcodec train-emotion"})
