"""LightningModule that trains an utterance emotion classifier (the SER teacher or the CRNN judge).

The network must provide ``frontend_features(wav, lengths) -> (x [B, F, T], frame_lengths)``,
``logits_from_frontend(x, frame_lengths) -> [B, C]``, ``labels`` and ``save_pretrained(dir,
extra)``. Augmentation happens between the two: random gain on the audio, then mel-axis warping
(vocal-tract-length-style), frequency and time masks (SpecAugment) on the front-end output.

Model selection: none. The schedule is fixed and the final weights are exported, so the
``valid`` split is only ever measured, never used to pick a checkpoint.
"""

from __future__ import annotations

import time

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor, nn

from affectcodec.eval.emotion import classification_metrics


class EmotionClassifierTask(L.LightningModule):
    """Args:
        net: the classifier (e.g. ``affectcodec.emotion.ser.SERNet`` or ``...crnn.CRNNNet``).
        lr, weight_decay: AdamW.
        warmup_fraction: linear warm-up share of the one-cycle cosine schedule.
        label_smoothing: cross-entropy label smoothing.
        gain_db: random gain in [-gain_db, +gain_db] per item.
        mel_warp: mel-axis stretch factor drawn in [1 - mel_warp, 1 + mel_warp] per item.
        freq_masks, freq_width, time_masks, time_width: SpecAugment masks (count, max width).
        export_dir: if set, the released model folder written when fitting ends.
    """

    def __init__(self, net: nn.Module, lr: float = 2e-3, weight_decay: float = 0.05,
                 warmup_fraction: float = 0.05, label_smoothing: float = 0.1, gain_db: float = 6.0,
                 mel_warp: float = 0.1, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2,
                 time_width: int = 10, export_dir: str | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self._valid: list[tuple[Tensor, Tensor]] = []
        self._start = time.time()

    # ------------------------------------------------------------------ augmentation
    def _augment(self, x: Tensor, flen: Tensor) -> Tensor:
        hp = self.hparams
        b, m, t = x.shape
        if hp.mel_warp > 0:
            alpha = 1 + (torch.rand(b, 1, device=x.device) * 2 - 1) * hp.mel_warp
            pos = (torch.arange(m, device=x.device)[None] * alpha).clamp(max=m - 1)  # [B, M]
            lo = pos.floor().long()
            hi = (lo + 1).clamp(max=m - 1)
            w = (pos - lo)[..., None]
            x = (torch.gather(x, 1, lo[..., None].expand(b, m, t)) * (1 - w)
                 + torch.gather(x, 1, hi[..., None].expand(b, m, t)) * w)
        idx_m = torch.arange(m, device=x.device)[None]
        idx_t = torch.arange(t, device=x.device)[None]
        keep = torch.ones(b, m, t, dtype=torch.bool, device=x.device)
        for _ in range(hp.freq_masks):
            width = torch.randint(0, hp.freq_width + 1, (b, 1), device=x.device)
            start = (torch.rand(b, 1, device=x.device) * (m - width + 1)).long()
            keep &= ~((idx_m >= start) & (idx_m < start + width))[..., None]
        for _ in range(hp.time_masks):
            width = torch.randint(0, hp.time_width + 1, (b, 1), device=x.device)
            start = (torch.rand(b, 1, device=x.device) * (flen[:, None] - width + 1).clamp(min=1)).long()
            keep &= ~((idx_t >= start) & (idx_t < start + width))[:, None]
        return x * keep

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        wav = batch["wav"]
        if self.hparams.gain_db > 0:
            gain_db = (torch.rand(wav.shape[0], 1, 1, device=wav.device) * 2 - 1) * self.hparams.gain_db
            wav = wav * 10 ** (gain_db / 20)
        x, flen = self.net.frontend_features(wav, batch["lengths"])
        logits = self.net.logits_from_frontend(self._augment(x, flen), flen)
        loss = F.cross_entropy(logits, batch["labels"], label_smoothing=self.hparams.label_smoothing)
        acc = (logits.argmax(-1) == batch["labels"]).float().mean()
        self.log_dict({"loss/ce": loss, "train/acc": acc}, prog_bar=True, batch_size=wav.shape[0])
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits = self.net(batch["wav"], batch["lengths"])
        self._valid.append((logits.argmax(-1).cpu(), batch["labels"].cpu()))

    def on_validation_epoch_end(self) -> None:
        if not self._valid:
            return
        pred = torch.cat([p for p, _ in self._valid])
        target = torch.cat([t for _, t in self._valid])
        self._valid.clear()
        m = classification_metrics(target, pred, len(self.net.labels))
        self.log_dict({"valid/uar": m.uar, "valid/wa": m.wa, "valid/macro_f1": m.macro_f1},
                      prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                weight_decay=self.hparams.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.hparams.lr, total_steps=max(int(self.trainer.estimated_stepping_batches), 1),
            pct_start=self.hparams.warmup_fraction, anneal_strategy="cos")
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_fit_start(self) -> None:
        self._start = time.time()
        data_labels = getattr(self.trainer.datamodule, "labels", None)
        if data_labels is not None and tuple(data_labels) != tuple(self.net.labels):
            raise ValueError(f"the data's labels {list(data_labels)} differ from the model's "
                             f"{list(self.net.labels)}")

    @rank_zero_only
    def on_fit_end(self) -> None:
        if not self.hparams.export_dir:
            return
        extra = {"steps": int(self.global_step), "epochs": int(self.current_epoch),
                 "wall_time_s": round(time.time() - self._start, 1),
                 "selection": "none: final weights of a fixed schedule"}
        self.net.save_pretrained(self.hparams.export_dir, extra)
