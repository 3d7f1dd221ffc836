"""LightningCLI entry for the emotion classifiers.

    python -m affectcodec.train.emotion_cli fit -c recipes/emotion/ser_teacher.yaml
    python -m affectcodec.train.emotion_cli fit -c recipes/emotion/judge_crnn.yaml
"""

from __future__ import annotations

from lightning.pytorch.cli import LightningCLI

from affectcodec.train.emotion_data import EmotionDataModule
from affectcodec.train.emotion_task import EmotionClassifierTask


def main() -> None:
    LightningCLI(EmotionClassifierTask, EmotionDataModule, save_config_kwargs={"overwrite": True})


if __name__ == "__main__":
    main()
