"""The LightningModule that trains an :class:`~affectcodec.AffectCodec` against a discriminator.

One training step (manual optimisation, two optimisers, as DAC's ``train.py``):

1. draw the active stage count (:class:`StageDropout`, a function of seed and ``global_step``, so
   identical on every rank), run the codec forward once, also decoding the first ``m`` stages
   for the multi-rate loss;
2. discriminator step on the detached reconstruction (once past the adversarial warm-up);
3. generator step on the weighted losses (``loss_weights``, keyed by logged names).

Each optimiser's gradients are clipped by norm and the pre-clipping norm is logged; the
learning-rate schedulers are stepped by hand after their optimiser. ``trainer.global_step``
counts optimiser steps, as Lightning does in manual optimisation: one per batch during the
adversarial warm-up, two per batch after it.

Precision: fp32 (``32-true``) or bf16 (``bf16-mixed``). fp16 is refused: in manual optimisation
Lightning does not unscale fp16 gradients before clipping.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from dac.nn.loss import GANLoss, L1Loss, MelSpectrogramLoss
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor, nn

from affectcodec import audio, metrics
from affectcodec.codec import MODEL_TYPE, AffectCodec, CheckpointError, CodecOutput
from affectcodec.pretrained import load as load_released
from affectcodec.train.losses import (
    PhaseDerivativeLoss,
    cycle_loss,
    emotion_loss,
    frame_mask,
    resolve_weights,
    signal,
    weighted_total,
)
from affectcodec.train.stage_dropout import StageDropout

# audiotools caches one STFT per signal and warns each time a loss asks for another window size;
# DAC's multi-scale mel loss does that by design.
warnings.filterwarnings("ignore", message="stft_data changed shape", module=r"audiotools\..*")


#: DAC's multi-scale mel loss as configured for its released models (7 scales, 32-2048 samples).
DEFAULT_MEL_LOSS: dict[str, Any] = {
    "n_mels": [5, 10, 20, 40, 80, 160, 320], "window_lengths": [32, 64, 128, 256, 512, 1024, 2048],
    "mel_fmin": [0.0] * 7, "mel_fmax": [None] * 7, "pow": 1.0, "clamp_eps": 1e-5, "mag_weight": 0.0,
}


def default_mel_loss(**overrides: Any) -> MelSpectrogramLoss:
    """DAC's ``MelSpectrogramLoss`` with :data:`DEFAULT_MEL_LOSS`, updated by ``overrides``."""
    return MelSpectrogramLoss(**{**DEFAULT_MEL_LOSS, **overrides})



def init_weights(codec: AffectCodec, name_or_path: str) -> None:
    """Start ``codec`` from a released model's weights (fine-tuning), checked strictly.

    Only the weights travel: the optimiser, its schedule and the step count start afresh (a
    ``--ckpt_path`` resume, which restores them, is applied after this and overrides it). The
    recipe's codec must have the released model's architecture; a constructor argument that
    differs without changing a weight's shape (a window, the rates) is allowed and warned about.

    Raises:
        CheckpointError: no such model, or weights whose keys or shapes differ from ``codec``'s.
    """
    released = load_released(name_or_path)
    theirs, ours = released.state_dict(), codec.state_dict()
    missing, unexpected = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    bad = [k for k in ours if k in theirs and theirs[k].shape != ours[k].shape]
    if missing or unexpected or bad:
        raise CheckpointError(
            f"init_from {name_or_path!r} does not fit the recipe's codec: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}, shape mismatch {bad[:3]}")
    differ = sorted(k for k in set(codec.config) | set(released.config)
                    if codec.config.get(k) != released.config.get(k))
    if differ:
        warnings.warn(f"init_from {name_or_path!r}: the recipe's codec differs in {differ}",
                      stacklevel=2)
    with torch.no_grad():
        codec.load_state_dict(theirs, strict=True)

class CodecModule(LightningModule):
    """GAN training of a codec with mel, waveform, quantizer, emotion and multi-rate losses.

    Args:
        codec: the generator (any :class:`~affectcodec.AffectCodec` configuration).
        discriminator: a discriminator with DAC's interface (``.discriminators``, each with the
            codec's ``sample_rate``; ``forward`` returns feature maps per sub-discriminator, the
            score map last): DAC's multi-period + multi-band STFT one, or the CPU-sized
            :class:`~affectcodec.train.discriminator.SpectralDiscriminator`; None trains without
            adversarial losses.
        mel_loss: keyword arguments of DAC's ``MelSpectrogramLoss`` over
            :data:`DEFAULT_MEL_LOSS` (DAC's 7-scale setting); also the validation mel distance.
            (Arguments, not a ``class_path`` injection: DAC annotates ``mel_fmax`` as
            ``List[float]`` with ``None`` entries, which the CLI's type checking rejects.)
        phase_loss: keyword arguments of
            :class:`~affectcodec.train.losses.PhaseDerivativeLoss` (``loss/phase``).
        loss_weights: weights keyed by logged loss names, applied over
            :data:`~affectcodec.train.losses.DEFAULT_WEIGHTS`; 0 = computed and logged only.
        stage_dropout: the active-stage draw (default: the paper's biased dropout, p = 0.75).
        multirate_stages: stage counts m whose reconstructions get the multi-rate mel and cycle
            losses when fewer than the active count (default: the codec's rate points below K;
            ``[]`` turns the multi-rate loss off).
        adversarial_warmup_steps: the discriminator (and the adversarial losses) start at this
            ``global_step``.
        generator_optimizer, discriminator_optimizer: optimiser factories (default AdamW,
            lr 1e-4, betas (0.8, 0.99), DAC's).
        generator_scheduler, discriminator_scheduler: scheduler factories, stepped after every
            step of their optimiser (default ExponentialLR, gamma 0.999996, DAC's).
        grad_clip_generator, grad_clip_discriminator: max gradient norms (None: no clipping;
            the norm is logged either way). DAC's 1000 and 10.
        metric_items: validation items (by index in the validation set) scored with PESQ-wb and
            STOI at every bitrate.
        log_audio_items: validation items whose audio and spectrograms go to TensorBoard.
        init_from: a released model (bundled name or folder) whose weights the codec starts
            from (:func:`init_weights`): fine-tuning, or continuing a released model's training
            when its Lightning checkpoint is gone.
    """

    def __init__(self, codec: AffectCodec, discriminator: nn.Module | None = None,
                 mel_loss: dict[str, Any] | None = None,
                 phase_loss: dict[str, Any] | None = None,
                 loss_weights: dict[str, float] | None = None,
                 stage_dropout: StageDropout | None = None,
                 multirate_stages: Sequence[int] | None = None,
                 adversarial_warmup_steps: int = 0,
                 generator_optimizer: OptimizerCallable | None = None,
                 discriminator_optimizer: OptimizerCallable | None = None,
                 generator_scheduler: LRSchedulerCallable | None = None,
                 discriminator_scheduler: LRSchedulerCallable | None = None,
                 grad_clip_generator: float | None = 1000.0,
                 grad_clip_discriminator: float | None = 10.0,
                 metric_items: int = 8, log_audio_items: int = 2,
                 init_from: str | None = None):
        super().__init__()
        self.automatic_optimization = False
        self.codec = codec
        if init_from is not None:
            init_weights(codec, init_from)
        if discriminator is not None:
            rates = {getattr(d, "sample_rate", codec.sample_rate)
                     for d in discriminator.discriminators}
            if rates != {codec.sample_rate}:
                raise ValueError(f"discriminator sample_rate {sorted(rates)} must equal the "
                                 f"codec's {codec.sample_rate}")
        # GANLoss owns the discriminator (it is DAC's wrapper around it); registering the
        # discriminator a second time would store its weights twice in every checkpoint.
        self.gan_loss = GANLoss(discriminator) if discriminator is not None else None
        self.mel_loss = default_mel_loss(**(mel_loss or {}))
        self.waveform_loss = L1Loss()
        self.phase_loss = PhaseDerivativeLoss(**(phase_loss or {}))
        self.loss_weights = resolve_weights(loss_weights)
        self.stage_dropout = stage_dropout if stage_dropout is not None else StageDropout()
        k = codec.num_stages
        if multirate_stages is None:
            multirate_stages = [m for m in codec.rate_stages if m < k]
        bad = [m for m in multirate_stages if not 1 <= int(m) < k]
        if bad:
            raise ValueError(f"multirate_stages must be in 1..{k - 1}, got {bad}")
        self.multirate_stages = sorted({int(m) for m in multirate_stages})
        self.adversarial_warmup_steps = int(adversarial_warmup_steps)
        self._optimizer_factories = (generator_optimizer, discriminator_optimizer)
        self._scheduler_factories = (generator_scheduler, discriminator_scheduler)
        self.grad_clip = (grad_clip_generator, grad_clip_discriminator)
        self.metric_items, self.log_audio_items = int(metric_items), int(log_audio_items)
        self._reference_logged = False
        self._quality_sums = torch.zeros(len(self._quality_keys()), 2, dtype=torch.float64)
        # No save_hyperparameters(): LightningCLI saves the full config (config.yaml), and on
        # resume it would re-parse checkpoint hparams against the CLI; the facts export needs
        # travel in checkpoint["affectcodec"] (on_save_checkpoint), as plain values that load
        # with torch.load(weights_only=True).

    @property
    def discriminator(self) -> nn.Module | None:
        """The discriminator (held by DAC's ``GANLoss``), or None."""
        return self.gan_loss.discriminator if self.gan_loss is not None else None

    # ------------------------------------------------------------------------- optimisers
    def configure_optimizers(self) -> Any:
        gen_factory, disc_factory = self._optimizer_factories
        gen_params = [p for p in self.codec.parameters() if p.requires_grad]  # teacher is frozen
        optimizers = [(gen_factory or _adamw)(gen_params)]
        if self.discriminator is not None:
            optimizers.append((disc_factory or _adamw)(list(self.discriminator.parameters())))
        schedulers = [(factory or _exponential)(opt)
                      for opt, factory in zip(optimizers, self._scheduler_factories, strict=False)]
        return optimizers, schedulers

    def on_fit_start(self) -> None:
        precision = str(self.trainer.precision)
        if precision.startswith("16"):
            raise ValueError(f"precision {precision!r} is not supported: manual optimisation does "
                             f"not unscale fp16 gradients before clipping; use 'bf16-mixed' or "
                             f"'32-true'")
        strategy = self.trainer.strategy
        if isinstance(strategy, DDPStrategy) and not getattr(strategy, "_ddp_kwargs", {}).get(
                "find_unused_parameters", False):
            # Stage dropout skips stages, and each optimiser's backward leaves the other
            # network's parameters without gradients: DDP must be told to expect that.
            raise ValueError("use --trainer.strategy ddp_find_unused_parameters_true (plain 'ddp' "
                             "fails: stage dropout and the two optimisers leave parameters "
                             "unused on purpose)")
        datamodule = getattr(self.trainer, "datamodule", None)
        rate = getattr(datamodule, "sample_rate", self.codec.sample_rate)
        if rate != self.codec.sample_rate:
            raise ValueError(f"data.sample_rate {rate} differs from the codec's "
                             f"{self.codec.sample_rate}")
        if self.trainer.accumulate_grad_batches != 1:
            raise ValueError("accumulate_grad_batches is not supported with manual optimisation; "
                             "raise the batch size instead")

    # ------------------------------------------------------------------------------ losses
    def generator_losses(self, out: CodecOutput, wav: Tensor, lengths: Tensor,
                         adversarial: bool) -> dict[str, Tensor]:
        """Every generator loss of one batch, keyed by its logged name.

        Args:
            out: the codec's output for ``wav``.
            wav: float [B, 1, N] input audio (N a multiple of the hop).
            lengths: int64 [B] valid samples.
            adversarial: include ``adv/gen`` and ``adv/feat`` (needs a discriminator).
        """
        sr = self.codec.sample_rate
        with _no_autocast(wav):
            real, fake = signal(wav, sr), signal(out.audio, sr)
            losses = {"loss/mel": self.mel_loss(fake, real),
                      "loss/waveform": self.waveform_loss(fake, real),
                      "loss/phase": self.phase_loss(out.audio, wav)}
            if adversarial:
                losses["adv/gen"], losses["adv/feat"] = self.gan_loss.generator_loss(fake, real)
            losses.update({k: v.float() for k, v in out.quantizer.losses.items()})
            reference = out.teacher_features
            if reference is not None:
                mask = frame_mask(lengths, self.codec.hop_length, reference.shape[-1])
                losses["emotion/emo"] = emotion_loss(out.emotion_prediction, reference, mask)
                losses["emotion/cycle"] = cycle_loss(self._features(out.audio), reference, mask)
            multirate_mel, multirate_cycle = [], []
            for m, partial in sorted(out.partial_audio.items()):
                mel_m = self.mel_loss(signal(partial, sr), real)
                losses[f"multirate/mel_m{m}"] = mel_m
                multirate_mel.append(mel_m)
                if reference is not None:
                    cycle_m = cycle_loss(self._features(partial), reference, mask)
                    losses[f"multirate/cycle_m{m}"] = cycle_m
                    multirate_cycle.append(cycle_m)
            if multirate_mel:
                losses["multirate/mel"] = torch.stack(multirate_mel).sum()
            if multirate_cycle:
                losses["multirate/cycle"] = torch.stack(multirate_cycle).sum()
        return losses

    def _features(self, wav: Tensor) -> Tensor:
        hop = self.codec.hop_length
        return self.codec.teacher_features(F.pad(wav, (0, -wav.shape[-1] % hop)))

    # ------------------------------------------------------------------------------ training
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        wav, lengths = batch["audio"], batch["lengths"]
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        schedulers = self.lr_schedulers()
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
        step = self.global_step
        n_active = self.stage_dropout.sample(step, self.codec.num_stages, self.codec.rate_stages)
        partial = [m for m in self.multirate_stages if m < n_active]
        out = self.codec(wav, lengths, n_stages=n_active, partial_stages=partial)
        adversarial = self.discriminator is not None and step >= self.adversarial_warmup_steps
        logs: dict[str, Tensor | float] = {"train/stages": float(n_active)}
        sr = self.codec.sample_rate

        if adversarial:
            opt_d = optimizers[1]
            self.toggle_optimizer(opt_d)
            with _no_autocast(wav):
                # GANLoss.discriminator_loss detaches the reconstruction itself.
                loss_d = self.gan_loss.discriminator_loss(signal(out.audio, sr), signal(wav, sr))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            logs["grad_norm/discriminator"] = self._clip(self.discriminator.parameters(),
                                                         self.grad_clip[1])
            opt_d.step()
            schedulers[1].step()
            self.untoggle_optimizer(opt_d)
            logs["adv/disc"] = loss_d.detach()

        opt_g = optimizers[0]
        self.toggle_optimizer(opt_g)
        losses = self.generator_losses(out, wav, lengths, adversarial)
        total = weighted_total(losses, self.loss_weights)
        opt_g.zero_grad(set_to_none=True)
        if total is not None and total.requires_grad:
            self.manual_backward(total)
        norm = self._clip([p for p in self.codec.parameters() if p.requires_grad], self.grad_clip[0])
        logs["grad_norm/generator"] = norm
        # A non-finite gradient would turn every weight into NaN through AdamW's moments for
        # good (seen with the prosody teacher, whose pitch tracker the cycle loss differentiates
        # through: NaN from step ~110 on). Such a step's gradients are dropped: the optimiser
        # step still runs (so global_step, the stage draw and the schedule advance) but updates
        # no parameter, as AdamW skips parameters without a gradient.
        finite = bool(torch.isfinite(norm))
        if not finite:
            opt_g.zero_grad(set_to_none=True)
        opt_g.step()
        logs["train/skipped_steps"] = float(not finite)
        schedulers[0].step()
        self.untoggle_optimizer(opt_g)

        logs.update({k: v.detach() for k, v in losses.items()})
        logs.update({k: v.detach() for k, v in out.quantizer.metrics.items()})
        logs["loss/total"] = total.detach() if total is not None else 0.0
        logs["lr/generator"] = opt_g.param_groups[0]["lr"]
        self.log_dict(logs, on_step=True, on_epoch=False, prog_bar=False, batch_size=wav.shape[0])
        self.log("mel", losses["loss/mel"].detach(), prog_bar=True, logger=False,
                 batch_size=wav.shape[0])

    @staticmethod
    def _clip(params, max_norm: float | None) -> Tensor:
        params = [p for p in params if p.grad is not None]
        if not params:
            return torch.zeros(())
        if max_norm is None:
            return torch.nn.utils.get_total_norm([p.grad for p in params])
        return torch.nn.utils.clip_grad_norm_(params, max_norm)

    # ---------------------------------------------------------------------------- validation
    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        wav, lengths, index = batch["audio"], batch["lengths"], batch["index"]
        codec, sr = self.codec, self.codec.sample_rate
        rates = list(codec.rate_stages)
        out = codec(wav, lengths, n_stages=rates[-1], partial_stages=rates[:-1])
        real = signal(wav, sr)
        reference = out.teacher_features
        mask = None
        if reference is not None:
            mask = frame_mask(lengths, codec.hop_length, reference.shape[-1])
        logs: dict[str, Tensor] = {}
        recon: dict[str, Tensor] = {}
        for m, kbps in zip(rates, codec.bitrates, strict=True):
            name = f"{kbps:g}kbps"
            audio_m = out.audio if m == rates[-1] else out.partial_audio[m]
            audio_m = audio.zero_beyond(audio_m, lengths)
            recon[name] = audio_m
            with _no_autocast(wav):
                logs[f"val/mel_{name}"] = self.mel_loss(signal(audio_m, sr), real)
                if reference is not None:
                    logs[f"val/cycle_{name}"] = cycle_loss(self._features(audio_m), reference, mask)
        if reference is not None:
            with _no_autocast(wav):
                logs["val/emo"] = emotion_loss(out.emotion_prediction, reference, mask)
        with _no_autocast(wav):
            logs["val/acoustic_sensitivity"] = self._acoustic_sensitivity(out, lengths)
        logs["val/mel"] = torch.stack([logs[f"val/mel_{k:g}kbps"] for k in codec.bitrates]).mean()
        self.log_dict(logs, on_step=False, on_epoch=True, sync_dist=True, batch_size=wav.shape[0])
        self._log_quality(wav, lengths, index, recon)
        if batch_idx == 0:
            self._log_media(wav, lengths, recon)

    def _acoustic_sensitivity(self, out: CodecOutput, lengths: Tensor) -> Tensor:
        """Mel distance between the full-rate output and the output decoded with each item's
        acoustic partition replaced by its time average: near 0 when the decoder ignores the
        acoustic tokens (the failure of the first shipped model: 0.001; its RVQ baseline 5.6)."""
        codec, sr = self.codec, self.codec.sample_rate
        # float32: under bf16 autocast the quantizer's output projection returns bf16, and this
        # runs with autocast off (its decode must match the float32 weights)
        latent = out.quantizer.quantized.float()
        frames = codec.frames_of(lengths)
        valid = frame_mask(lengths, codec.hop_length, latent.shape[-1]).to(latent.dtype)
        acoustic = latent[:, codec.emotion_dim:]
        mean = (acoustic * valid).sum(-1, keepdim=True) / valid.sum(-1, keepdim=True)
        flat = torch.cat([latent[:, : codec.emotion_dim], mean.expand_as(acoustic)], dim=1)
        n = out.audio.shape[-1]
        flat_audio = audio.zero_beyond(codec.decoder(flat, frames)[..., :n], lengths)
        return self.mel_loss(signal(flat_audio, sr), signal(audio.zero_beyond(out.audio, lengths), sr))

    def _quality_keys(self) -> list[str]:
        return [f"val/{metric}_{kbps:g}kbps" for kbps in self.codec.bitrates
                for metric in ("pesq", "stoi")]

    def on_validation_epoch_start(self) -> None:
        # Per-rank [sum, count] of each quality metric; reduced over ranks at epoch end.
        self._quality_sums = torch.zeros(len(self._quality_keys()), 2, dtype=torch.float64)

    def _log_quality(self, wav: Tensor, lengths: Tensor, index: Tensor,
                     recon: dict[str, Tensor]) -> None:
        keys = self._quality_keys()
        for b in range(wav.shape[0]):
            if int(index[b]) >= self.metric_items:
                continue
            n = int(lengths[b])
            # the metrics are defined at 16 kHz: a model at another rate is scored resampled
            rate = self.codec.sample_rate
            ref = audio.resample(wav[b, 0, :n].float().cpu(), rate, audio.MODEL_RATE).numpy()
            for name, audio_m in recon.items():
                deg = audio.resample(audio_m[b, 0, :n].float().cpu(), rate, audio.MODEL_RATE).numpy()
                for metric, fn in (("pesq", metrics.pesq_wb), ("stoi", metrics.stoi)):
                    value = fn(ref, deg)
                    if not math.isnan(value):  # unscorable clips are left out
                        row = keys.index(f"val/{metric}_{name}")
                        self._quality_sums[row] += torch.tensor([value, 1.0], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        # Which ranks scored which clips depends on the sharding, so the metrics are summed with
        # one collective of fixed shape (never a per-rank self.log that could leave a rank out).
        totals = self.trainer.strategy.reduce(self._quality_sums.to(self.device),
                                              reduce_op="sum")
        for key, (total, count) in zip(self._quality_keys(), totals.tolist(), strict=True):
            if count > 0:
                self.log(key, total / count, sync_dist=False)

    def _log_media(self, wav: Tensor, lengths: Tensor, recon: dict[str, Tensor]) -> None:
        if not self.trainer.is_global_zero or self.trainer.sanity_checking:
            return
        writer = getattr(self.logger, "experiment", None)
        if writer is None or not hasattr(writer, "add_audio"):
            return  # media logging needs TensorBoard
        from affectcodec.eval.plotting import spectrogram_figure  # matplotlib: only when logging

        sr, step = self.codec.sample_rate, self.global_step
        for b in range(min(self.log_audio_items, wav.shape[0])):
            n = int(lengths[b])
            if not self._reference_logged:
                writer.add_audio(f"audio/{b}/reference", wav[b, :, :n].float().cpu(), step, sr)
            panels = {"reference": wav[b, 0, :n]}
            for name, audio_m in recon.items():
                writer.add_audio(f"audio/{b}/{name}", audio_m[b, :, :n].float().cpu(), step, sr)
                panels[name] = audio_m[b, 0, :n]
            writer.add_figure(f"spectrogram/{b}", spectrogram_figure(panels), step)
        self._reference_logged = True

    # --------------------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Add what ``affectcodec export`` needs: the codec config and the training facts."""
        trainer = self.trainer
        facts: dict[str, Any] = {
            "global_step": int(trainer.global_step),
            "epoch": int(trainer.current_epoch),
            "precision": str(trainer.precision),
            "world_size": int(trainer.world_size),
            "num_nodes": int(trainer.num_nodes),
            "loss_weights": dict(self.loss_weights),
            "stage_dropout": repr(self.stage_dropout),
            "multirate_stages": list(self.multirate_stages),
            "adversarial_warmup_steps": self.adversarial_warmup_steps,
            "discriminator": None if self.discriminator is None else _describe(self.discriminator),
            "generator_parameters": sum(p.numel() for p in self.codec.parameters()
                                        if p.requires_grad),
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()
                        if k.startswith("val/") and torch.as_tensor(v).numel() == 1},
        }
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "describe"):
            facts["data"] = datamodule.describe()
        optimizers = trainer.optimizers
        if optimizers:
            opt = optimizers[0]
            facts["generator_optimizer"] = {"type": type(opt).__name__,
                                            "lr": float(opt.param_groups[0]["lr"])}
        checkpoint["affectcodec"] = {"model_type": MODEL_TYPE, "codec_config": self.codec.config,
                                     "training": facts}


def _describe(discriminator: nn.Module) -> str:
    parts = []
    for d in discriminator.discriminators:
        name = type(d).__name__
        if hasattr(d, "period"):
            parts.append(f"{name}(period={d.period})")
        elif hasattr(d, "window_length"):
            parts.append(f"{name}(window={d.window_length})")
        else:
            parts.append(name)
    return ", ".join(parts)


def _adamw(params) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=1e-4, betas=(0.8, 0.99))


def _exponential(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.999996)


def _no_autocast(like: Tensor):
    """Losses run in float32 even under bf16-mixed (STFTs and FSQ statistics need it)."""
    device_type = like.device.type if like.device.type in ("cuda", "cpu", "xpu", "mps") else "cpu"
    return torch.autocast(device_type=device_type, enabled=False)


__all__ = ["DEFAULT_MEL_LOSS", "CodecModule", "default_mel_loss"]
