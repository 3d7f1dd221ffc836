"""Training callbacks that Lightning does not ship."""

from __future__ import annotations

import os

from lightning.pytorch import Callback, LightningModule, Trainer


class CheckpointAtExit(Callback):
    """Write ``last.ckpt`` into every ``ModelCheckpoint`` folder when training ends.

    ``ModelCheckpoint(every_n_train_steps=N, save_last=True)`` keeps ``last.ckpt`` at the last
    multiple of N, so a run that stops at ``max_steps`` or ``max_time`` in between would lose
    the steps since; this callback saves the final state. (Interrupts, SIGTERM included, are
    covered by ``ModelCheckpoint(save_on_exception=True)``; a SIGKILL by the periodic saves.)
    ``trainer.save_checkpoint`` runs on every rank and writes on rank zero only.
    """

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.fast_dev_run:
            return
        for callback in trainer.checkpoint_callbacks:
            if callback.dirpath is None:
                continue
            name = callback.CHECKPOINT_NAME_LAST + callback.FILE_EXTENSION
            trainer.save_checkpoint(os.path.join(callback.dirpath, name))
