"""Training callbacks that Lightning does not ship."""

from __future__ import annotations

import os

from lightning.pytorch import Callback, LightningModule, Trainer


class CheckpointAtExit(Callback):
    """Make ``last.ckpt`` hold the final state when training ends.

    ``ModelCheckpoint(every_n_train_steps=N, save_last=True)`` keeps ``last.ckpt`` at the last
    multiple of N, so a run that stops at ``max_steps`` or ``max_time`` in between would lose the
    steps since; this callback rewrites it at the end. (When no periodic checkpoint was written
    yet, ``ModelCheckpoint`` writes ``last.ckpt`` itself at the end; interrupts, SIGTERM
    included, are covered by ``ModelCheckpoint(save_on_exception=True)``; a SIGKILL by the
    periodic saves.) ``trainer.save_checkpoint`` runs on every rank and writes on rank zero.
    """

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.fast_dev_run:
            return
        for callback in trainer.checkpoint_callbacks:
            if callback.last_model_path:
                trainer.save_checkpoint(callback.last_model_path)
            elif not callback.save_last and callback.dirpath is not None:
                name = callback.CHECKPOINT_NAME_LAST + callback.FILE_EXTENSION
                trainer.save_checkpoint(os.path.join(callback.dirpath, name))
