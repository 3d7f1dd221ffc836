"""Training-throughput benchmark of a recipe (not a test): batches/s and audio seconds/s.

    affectcodec bench-train --config recipes/debug.yaml --steps 20 --skip 3 \\
        [any LightningCLI override, e.g. --trainer.accelerator gpu]

Builds the module and data exactly as ``affectcodec train fit`` does, turns off validation,
logging and checkpointing, runs ``--steps`` batches and times each one (data loading included).
The first ``--skip`` batches (allocator and worker warm-up) are left out of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

from affectcodec.data.datamodule import ManifestDataModule
from affectcodec.train.lightning_cli import AffectCodecCLI
from affectcodec.train.module import CodecModule


class BatchTimer(Callback):
    """Wall time between the starts of consecutive training batches (seconds)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.global_steps: list[int] = []

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self.starts.append(time.perf_counter())
        self.global_steps.append(trainer.global_step)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.starts.append(time.perf_counter())
        self.global_steps.append(trainer.global_step)


def run(argv: Sequence[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="affectcodec bench-train", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training batches to run")
    parser.add_argument("--skip", type=int, default=3, help="warm-up batches left out")
    ours, rest = parser.parse_known_args(argv)
    if ours.steps <= ours.skip:
        raise SystemExit("benchmark: --steps must exceed --skip")
    workdir = tempfile.mkdtemp(prefix="affectcodec-bench-")
    cli = AffectCodecCLI(CodecModule, ManifestDataModule, run=False, args=[
        *rest, "--trainer.logger", "false", "--trainer.limit_val_batches", "0",
        "--trainer.num_sanity_val_steps", "0", "--trainer.max_steps", "-1",
        "--trainer.max_epochs", "1000", "--trainer.default_root_dir", workdir,
        "--trainer.enable_progress_bar", "false"])
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    timer = BatchTimer()
    unwanted = (ModelCheckpoint, LearningRateMonitor)  # no files, no logger
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, unwanted)] + [timer]
    trainer.fit_loop.epoch_loop.max_steps = -1
    trainer.limit_train_batches = ours.steps  # one "epoch" of exactly --steps batches
    trainer.fit_loop.max_epochs = 1
    trainer.fit(model, datamodule=data)
    durations = [b - a for a, b in zip(timer.starts[ours.skip:-1], timer.starts[ours.skip + 1:],
                                       strict=True)]
    per_batch = statistics.mean(durations)
    audio_per_batch = data.batch_size * data.crop_samples / data.sample_rate * trainer.world_size
    optimiser_steps = (timer.global_steps[-1] - timer.global_steps[ours.skip]) / len(durations)
    result = {
        "config": [a for a in rest if not a.startswith("--trainer.logger")],
        "device": str(trainer.strategy.root_device), "world_size": trainer.world_size,
        "precision": str(trainer.precision), "batches_timed": len(durations),
        "seconds_per_batch": round(per_batch, 4),
        "seconds_per_batch_median": round(statistics.median(durations), 4),
        "batches_per_second": round(1.0 / per_batch, 4),
        "optimiser_steps_per_batch": round(optimiser_steps, 3),
        "audio_seconds_per_batch": audio_per_batch,
        "audio_seconds_per_second": round(audio_per_batch / per_batch, 3),
        "generator_parameters": sum(p.numel() for p in model.codec.parameters() if p.requires_grad),
        "discriminator_parameters": sum(p.numel() for p in model.discriminator.parameters())
        if model.discriminator is not None else 0,
    }
    print(json.dumps(result, indent=2))
    return result



def main(argv: Sequence[str]) -> int:
    """``affectcodec bench-train``: :func:`run`, which prints its figures as JSON."""
    run(argv)
    return 0
