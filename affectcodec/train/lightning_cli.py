"""``affectcodec train fit|validate --config recipes/X.yaml``: the LightningCLI entry point.

Recipes are LightningCLI YAML files: ``model`` configures :class:`CodecModule` (the codec, the
discriminator and the mel loss are injected with ``class_path`` / ``init_args``), ``data``
configures :class:`ManifestDataModule`, ``trainer`` is Lightning's ``Trainer``. Every value can
be overridden on the command line (``--trainer.max_steps 100``, ``--data.manifest my.tsv``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from lightning.pytorch.cli import LightningCLI

from affectcodec.data.datamodule import ManifestDataModule
from affectcodec.train.module import CodecModule


class AffectCodecCLI(LightningCLI):
    """LightningCLI for codec training (fixed model and data classes)."""


def main(args: Sequence[str] | None = None) -> None:
    """Run LightningCLI with ``args`` (e.g. ``["fit", "--config", "recipes/debug.yaml"]``)."""
    # `affectcodec train ...` hands LightningCLI the arguments after "train" while sys.argv still
    # holds the whole command line (DDP launchers re-run sys.argv), which Lightning warns about.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    AffectCodecCLI(CodecModule, ManifestDataModule, args=list(args) if args is not None else None,
                   save_config_kwargs={"overwrite": True},
                   parser_kwargs={"prog": "affectcodec train"})

