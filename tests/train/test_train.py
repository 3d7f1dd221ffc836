"""Training: the debug recipe end to end (fit, validation, export), kill-and-resume, DDP on two
CPU processes, and the loss-weight semantics.

Training runs on a small synthetic corpus written as FLAC files with a manifest (the same path a
user takes for a new corpus), so the tests do not depend on the shared data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

import affectcodec
from affectcodec import AffectCodec
from affectcodec.cli import main as cli_main
from affectcodec.data.datamodule import collate
from affectcodec.train import CodecModule, StageDropout
from affectcodec.train.losses import DEFAULT_WEIGHTS, resolve_weights
from tests.conftest import REPO

DEBUG = REPO / "recipes" / "debug.yaml"
TINY = dict(encoder_dim=4, decoder_dim=16, emotion_dim=8, acoustic_dim=16, adapter_dim=8,
            cem_window=10)


def speech_like(seconds: float, rate: int, f0: float, seed: int) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with a little noise (float32, peak < 0.5)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 3.0 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 16) if k * f0 < rate / 2)
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t)) * np.minimum(1.0, 20 * t)
    wav = 0.15 * envelope * voice + 0.003 * rng.standard_normal(t.size)
    return wav.astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """8 training and 3 validation clips (one stored at 22.05 kHz) and their manifest."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "audio").mkdir()
    lines = ["path\tspeaker\temotion\tsplit\tduration"]
    for i in range(11):
        split = "train" if i < 8 else "valid"
        rate = 22050 if i == 3 else 16000
        seconds = 0.7 + 0.1 * (i % 5)
        wav = speech_like(seconds, rate, 110.0 + 15 * i, seed=i)
        sf.write(root / "audio" / f"clip{i}.flac", wav, rate, subtype="PCM_16")
        lines.append(f"audio/clip{i}.flac\tS{i % 2}\tneutral\t{split}\t{seconds:.3f}")
    (root / "manifest.tsv").write_text("\n".join(lines) + "\n")
    return root / "manifest.tsv"


def recipe_args(manifest: Path, runs: Path, *extra: str) -> list[str]:
    return ["--config", str(DEBUG), "--data.manifest", str(manifest),
            "--trainer.logger.init_args.save_dir", str(runs), "--data.valid_items", "2",
            *extra]


def load_ckpt(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """The installed console entry in a fresh process (what a user runs)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "affectcodec", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


# ------------------------------------------------------------------- fit, validate, export
@pytest.fixture(scope="module")
def fitted(corpus, tmp_path_factory) -> Path:
    """Two training batches of the debug recipe, then validation; the final checkpoint."""
    runs = tmp_path_factory.mktemp("runs")
    cli_main(["train", "fit", *recipe_args(corpus, runs, "--trainer.max_steps", "4",
                                           "--trainer.val_check_interval", "2",
                                           "--trainer.limit_val_batches", "1")])
    ckpt = runs / "debug" / "version_0" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file(), sorted(str(p) for p in runs.rglob("*"))
    return ckpt


def test_debug_recipe_fits_two_steps(fitted):
    ckpt = load_ckpt(fitted)
    # Two batches, each one discriminator and one generator step.
    assert ckpt["global_step"] == 4
    gen_state, disc_state = ckpt["optimizer_states"]
    # Stages left out by stage dropout get no gradient, so Adam skips them on that step.
    assert max(int(s["step"]) for s in gen_state["state"].values()) == 2
    assert {int(s["step"]) for s in disc_state["state"].values()} == {2}
    assert [s["last_epoch"] for s in ckpt["lr_schedulers"]] == [2, 2]
    facts = ckpt["affectcodec"]["training"]
    assert facts["world_size"] == 1 and facts["data"]["train_items"] == 8
    # Validation ran and logged the mel distance at every bitrate, PESQ and STOI.
    metrics = facts["metrics"]
    for kbps in ("1.5", "3", "6"):
        assert np.isfinite(metrics[f"val/mel_{kbps}kbps"])
        assert 0.0 <= metrics[f"val/stoi_{kbps}kbps"] <= 1.0
    weights = [v for v in ckpt["state_dict"].values() if v.is_floating_point()]
    assert all(torch.isfinite(v).all() for v in weights)
    events = list(fitted.parent.parent.glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 10_000  # scalars, audio and spectrogram images


def test_export_loads_with_affectcodec_load(fitted, tmp_path, capsys):
    out = tmp_path / "model"
    assert cli_main(["export", str(fitted), str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"config.json", "model.safetensors", "MODEL_CARD.md"}
    model = affectcodec.load(out)
    ckpt = load_ckpt(fitted)
    for name, value in model.state_dict().items():
        assert torch.equal(value, ckpt["state_dict"][f"codec.{name}"]), name
    codes = model.encode(torch.from_numpy(speech_like(0.5, 16000, 150.0, 0)), kbps=1.5)
    assert codes.tokens.shape == (1, 2, 25)
    assert model.decode(codes).shape == (1, 1, 8000)
    card = (out / "MODEL_CARD.md").read_text()
    assert "global_step`): 4" in card and "val/mel_1.5kbps" in card
    with pytest.raises(SystemExit) as exc:  # refuses to overwrite without -f
        cli_main(["export", str(fitted), str(out)])
    assert exc.value.code == 1
    assert "use -f" in capsys.readouterr().err


# -------------------------------------------------------------------------- kill and resume
def test_kill_and_resume_keeps_step_count_and_optimiser_state(corpus, tmp_path):
    runs = tmp_path / "runs"
    args = recipe_args(corpus, runs, "--trainer.limit_val_batches", "0",
                       "--trainer.callbacks.init_args.every_n_train_steps", "2")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "affectcodec", "train", "fit", *args,
                             "--trainer.max_steps", "1000"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ckpts = runs / "debug" / "version_0" / "checkpoints"
    try:
        deadline = time.monotonic() + 180
        # step=4 is complete once step=6 is being written: kill hard then (no cleanup runs).
        while not (ckpts / "step=000006.ckpt").exists():
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint at step 6 within 180 s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = load_ckpt(ckpts / "step=000004.ckpt")
    assert saved["global_step"] == 4

    done = cli("train", "fit", *args, "--trainer.max_steps", "6",
               "--ckpt_path", str(ckpts / "step=000004.ckpt"))
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = load_ckpt(runs / "debug" / "version_1" / "checkpoints" / "last.ckpt")
    # One more batch after the restored two: steps continue from 4, Adam's step count from 2.
    assert resumed["global_step"] == 6
    for before, after in zip(saved["optimizer_states"], resumed["optimizer_states"], strict=True):
        assert max(int(s["step"]) for s in before["state"].values()) == 2
        assert max(int(s["step"]) for s in after["state"].values()) == 3
        # The restored moments, not fresh ones: a parameter without a gradient in the resumed
        # batch keeps exactly the state it was saved with.
        same = [k for k in before["state"]
                if int(after["state"][k]["step"]) == int(before["state"][k]["step"])]
        for k in same:
            assert torch.equal(before["state"][k]["exp_avg"], after["state"][k]["exp_avg"])
    assert [s["last_epoch"] for s in resumed["lr_schedulers"]] == [3, 3]


# ---------------------------------------------------------------------------------- DDP
def test_debug_recipe_runs_with_ddp_on_two_cpu_processes(corpus, tmp_path):
    runs = tmp_path / "runs"
    done = cli("train", "fit", *recipe_args(corpus, runs, "--trainer.max_steps", "4",
                                            "--trainer.limit_val_batches", "1",
                                            "--trainer.val_check_interval", "2"),
               # DDP with unused-parameter detection: see CodecModule.on_fit_start.
               "--trainer.strategy", "ddp_find_unused_parameters_true", "--trainer.devices", "2",
               "--trainer.accelerator", "cpu", "--data.batch_size", "1")
    assert done.returncode == 0, done.stderr[-4000:]
    ckpt = load_ckpt(runs / "debug" / "version_0" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 4
    facts = ckpt["affectcodec"]["training"]
    assert facts["world_size"] == 2
    assert np.isfinite(facts["metrics"]["val/mel_6kbps"])  # synced over both ranks
    assert 0.0 <= facts["metrics"]["val/stoi_6kbps"] <= 1.0  # clips scored on both ranks


# --------------------------------------------------------------------------- loss weights
def train(module: CodecModule, max_steps: int) -> Trainer:
    items = [{"audio": torch.from_numpy(speech_like(0.4, 16000, 140.0 + 30 * i, i))[None],
              "index": i} for i in range(2)]
    loader = DataLoader(items, batch_size=2, collate_fn=lambda b: collate(b, 320))
    trainer = Trainer(max_steps=max_steps, accelerator="cpu", logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, train_dataloaders=loader)
    return trainer


def one_step(weights: dict[str, float], seed: int = 0) -> tuple[dict, dict, dict]:
    """Parameters before and after one generator step, and the logged metrics."""
    torch.manual_seed(seed)
    codec = AffectCodec(**TINY)
    # The quantizer's one-off data-dependent initialisation (tested in test_quantizer_init.py)
    # would move its affine parameters on the first batch: mark it done, so that only the
    # optimiser can change anything here.
    codec.quantizer.data_initialized.fill_(True)
    module = CodecModule(codec, discriminator=None, loss_weights=weights,
                         stage_dropout=StageDropout(mode="none"))
    before = {k: v.detach().clone() for k, v in codec.named_parameters()}
    trainer = train(module, max_steps=1)
    after = {k: v.detach().clone() for k, v in codec.named_parameters()}
    return before, after, dict(trainer.callback_metrics)


def test_adversarial_warmup_starts_the_discriminator_late():
    from dac.model.discriminator import Discriminator

    torch.manual_seed(0)
    disc = Discriminator(sample_rate=16000, periods=[], fft_sizes=[128])
    module = CodecModule(AffectCodec(**TINY), discriminator=disc, adversarial_warmup_steps=1,
                         stage_dropout=StageDropout(mode="none"))
    start = {k: v.detach().clone() for k, v in disc.named_parameters()}
    trainer = train(module, max_steps=1)  # step 0 < 1: generator only
    assert all(torch.equal(start[k], v) for k, v in disc.named_parameters())
    assert "adv/gen" not in trainer.callback_metrics
    trainer = train(module, max_steps=3)  # a fresh loop: step 0 warm-up, then step 1: D and G
    assert trainer.global_step == 3
    assert not all(torch.equal(start[k], v) for k, v in disc.named_parameters())
    assert {"adv/gen", "adv/feat", "adv/disc"} <= set(trainer.callback_metrics)


def changed(before: dict, after: dict, prefix: str) -> list[str]:
    return [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]


def test_zero_weight_is_logged_but_trains_nothing():
    # The emotion decoder is reached by L_emo only.
    before, after, metrics = one_step({"emotion/emo": 0.0})
    assert "emotion/emo" in metrics and float(metrics["emotion/emo"]) > 0
    assert changed(before, after, "emotion_decoder.") == []
    assert changed(before, after, "decoder.")  # the rest still trains
    before, after, _ = one_step({"emotion/emo": 1.0})
    assert changed(before, after, "emotion_decoder.")


def test_all_zero_weights_leave_every_parameter_unchanged():
    before, after, metrics = one_step({name: 0.0 for name in DEFAULT_WEIGHTS})
    assert changed(before, after, "") == []
    for name in ("loss/mel", "loss/waveform", "vq/commit", "emotion/emo", "emotion/cycle",
                 "multirate/mel", "multirate/cycle"):
        assert torch.isfinite(metrics[name]), name
    assert float(metrics["loss/total"]) == 0.0


def test_loss_weight_names_are_checked():
    assert resolve_weights({"adv/gen": 0})["adv/gen"] == 0.0
    assert resolve_weights(None) == DEFAULT_WEIGHTS
    with pytest.raises(ValueError, match="unknown loss weight 'mel'"):
        resolve_weights({"mel": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        resolve_weights({"loss/mel": -1.0})


def test_rvq_baseline_without_emotion_path_trains():
    torch.manual_seed(0)
    codec = AffectCodec(**{**TINY, "quantizer": "rvq", "emotion_path": False, "cem": False,
                           "n_stages": 12, "rate_stages": [3, 6, 12], "rvq_codebook_size": 1024})
    module = CodecModule(codec, discriminator=None, stage_dropout=StageDropout(0.5, "uniform"))
    before = {k: v.detach().clone() for k, v in codec.named_parameters()}
    metrics = train(module, max_steps=1).callback_metrics
    assert {"vq/commit", "vq/codebook", "loss/mel"} <= set(metrics)
    assert not any(k.startswith("emotion/") for k in metrics)
    assert any(not torch.equal(before[k], v) for k, v in codec.named_parameters())


def test_a_step_with_a_non_finite_gradient_is_skipped(monkeypatch):
    torch.manual_seed(0)
    codec = AffectCodec(**TINY)
    codec.quantizer.data_initialized.fill_(True)
    module = CodecModule(codec, discriminator=None, stage_dropout=StageDropout(mode="none"))
    real = module.generator_losses

    def poisoned(*args, **kwargs):
        losses = real(*args, **kwargs)
        losses["loss/mel"] = losses["loss/mel"] * float("nan")
        return losses

    monkeypatch.setattr(module, "generator_losses", poisoned)
    before = {k: v.detach().clone() for k, v in codec.named_parameters()}
    trainer = train(module, max_steps=1)
    after = {k: v.detach().clone() for k, v in codec.named_parameters()}
    assert changed(before, after, "") == []  # AdamW never saw the NaN
    assert float(trainer.callback_metrics["train/skipped_steps"]) == 1.0


def test_init_from_starts_from_a_released_model_and_checks_its_architecture(tmp_path):
    torch.manual_seed(1)
    released = AffectCodec(**TINY)
    released.save(tmp_path / "released")
    torch.manual_seed(2)
    module = CodecModule(codec=AffectCodec(**TINY), init_from=str(tmp_path / "released"))
    theirs = released.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in module.codec.state_dict().items())
    wider = AffectCodec(**{**TINY, "decoder_dim": 32})
    with pytest.raises(affectcodec.CheckpointError, match="does not fit"):
        CodecModule(codec=wider, init_from=str(tmp_path / "released"))
    with pytest.warns(UserWarning, match="cem_window"):
        CodecModule(codec=AffectCodec(**{**TINY, "cem_window": 20}),
                    init_from=str(tmp_path / "released"))


def test_bf16_mixed_precision_trains_and_validates():
    """The GPU recipe's precision (``--trainer.precision bf16-mixed``), here as CPU autocast:
    a training step and a validation pass run and log finite losses (validation's acoustic
    sensitivity once fed the bf16 quantizer output to float32 layers and failed)."""
    torch.manual_seed(0)
    module = CodecModule(AffectCodec(**TINY), discriminator=None, metric_items=0,
                         stage_dropout=StageDropout(mode="none"))
    items = [{"audio": torch.from_numpy(speech_like(0.4, 16000, 140.0 + 30 * i, i))[None],
              "index": i} for i in range(2)]
    loader = DataLoader(items, batch_size=2, collate_fn=lambda b: collate(b, 320))
    trainer = Trainer(max_steps=1, accelerator="cpu", precision="bf16-mixed", logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, train_dataloaders=loader, val_dataloaders=loader)
    metrics = trainer.callback_metrics
    assert {"loss/mel", "val/mel", "val/acoustic_sensitivity"} <= set(metrics)
    assert all(torch.isfinite(metrics[k]) for k in ("loss/mel", "val/mel", "val/acoustic_sensitivity"))
