"""Training (Lightning): the codec module, stage dropout, losses, the data module and the CLI.

Importing this package imports Lightning; inference code (``affectcodec.codec`` and friends)
never does.
"""

from affectcodec.train.module import CodecModule, default_mel_loss
from affectcodec.train.stage_dropout import StageDropout

__all__ = ["CodecModule", "StageDropout", "default_mel_loss"]
