"""Turn a Lightning training checkpoint into the released model format.

The output folder holds ``config.json`` and ``model.safetensors`` (written by
:meth:`AffectCodec.save`) and ``MODEL_CARD.md`` with the training facts the checkpoint carries.
The checkpoint is read with ``torch.load(weights_only=True)``: no pickled code is ever executed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from affectcodec.codec import MODEL_TYPE, AffectCodec
from affectcodec.errors import AffectCodecError
from affectcodec.version import __version__

CARD_FILE = "MODEL_CARD.md"


class ExportError(AffectCodecError, ValueError):
    """A checkpoint that cannot be exported (unreadable, not an AffectCodec training checkpoint)."""


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict, loaded with ``weights_only=True`` on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        raise ExportError(f"{path}: not a loadable checkpoint ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    if not isinstance(checkpoint, dict) or "affectcodec" not in checkpoint:
        raise ExportError(f"{path}: not an AffectCodec training checkpoint "
                          f"(no 'affectcodec' entry)")
    return checkpoint


def codec_from_checkpoint(checkpoint: dict[str, Any]) -> AffectCodec:
    """Rebuild the codec from a checkpoint's config and load its weights strictly."""
    info = checkpoint["affectcodec"]
    if info.get("model_type") != MODEL_TYPE:
        raise ExportError(f"checkpoint model_type {info.get('model_type')!r} is not {MODEL_TYPE!r}")
    codec = AffectCodec(**info["codec_config"])
    state = {k[len("codec."):]: v for k, v in checkpoint["state_dict"].items()
             if k.startswith("codec.")}
    try:
        codec.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"checkpoint weights do not match its codec config: "
                          f"{str(exc).splitlines()[0]}") from exc
    return codec.eval()


def export(checkpoint_path: str | os.PathLike, out_dir: str | os.PathLike,
           overwrite: bool = False) -> Path:
    """Write the released folder for a training checkpoint; returns the folder.

    Raises:
        ExportError: unreadable checkpoint, or ``out_dir`` already holds a model and
            ``overwrite`` is False.
    """
    out_dir = Path(out_dir)
    if not overwrite and out_dir.exists() and any(out_dir.iterdir()):
        raise ExportError(f"{out_dir} exists and is not empty (use -f to overwrite)")
    checkpoint = read_checkpoint(checkpoint_path)
    codec = codec_from_checkpoint(checkpoint)
    codec.save(out_dir)
    card = model_card(codec, checkpoint, Path(checkpoint_path).name)
    (out_dir / CARD_FILE).write_text(card, encoding="utf-8")
    return out_dir


def model_card(codec: AffectCodec, checkpoint: dict[str, Any], source: str) -> str:
    """MODEL_CARD.md text: what the model is, how it was trained, what it scored."""
    facts = dict(checkpoint["affectcodec"].get("training", {}))
    cfg = codec.config
    params = sum(p.numel() for p in codec.parameters())
    rates = ", ".join(f"{r:g}" for r in codec.bitrates)
    data = facts.get("data") or {}
    lines = [
        "# AffectCodec model card", "",
        f"Exported from `{source}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} with "
        f"affectcodec {__version__}. Load with `affectcodec.load(\"<this folder>\")`.", "",
        "## Model", "",
        f"- Quantizer: `{cfg['quantizer']}`, {codec.num_stages} stages, {codec.cardinality} values "
        f"per token, {codec.frame_rate:g} frames/s.",
        f"- Bitrates: {rates} kbit/s (stages {list(codec.rate_stages)}).",
        f"- Emotion path: {cfg['emotion_path']}, CEM: {cfg['cem']}, teacher: "
        f"`{json.dumps(cfg['teacher']) if cfg['emotion_path'] else 'none'}`.",
        f"- Parameters: {params:,} (including the frozen teacher). Sample rate "
        f"{codec.sample_rate} Hz, mono.", "",
        "## Training", "",
        f"- Optimiser steps (Lightning `global_step`): {facts.get('global_step', '?')}; "
        f"epoch {facts.get('epoch', '?')}.",
        f"- Data: `{data.get('manifest', '?')}`, split `{data.get('train_split', '?')}` "
        f"({data.get('train_items', '?')} files, {data.get('train_hours', '?')} h); validation "
        f"split `{data.get('valid_split', '?')}` ({data.get('valid_items', '?')} files); crops of "
        f"{data.get('crop_seconds', '?')} s, batch {data.get('batch_size_per_process', '?')} per "
        f"process.",
        f"- Processes: {facts.get('world_size', '?')} ({facts.get('num_nodes', '?')} node(s)); "
        f"precision {facts.get('precision', '?')}.",
        f"- Generator optimiser: {json.dumps(facts.get('generator_optimizer'))}.",
        f"- Discriminator: {facts.get('discriminator') or 'none'}; adversarial warm-up "
        f"{facts.get('adversarial_warmup_steps', '?')} steps.",
        f"- Stage dropout: `{facts.get('stage_dropout', '?')}`; multi-rate stages "
        f"{facts.get('multirate_stages', '?')}.",
        f"- Loss weights: `{json.dumps(facts.get('loss_weights', {}))}`.", "",
        "## Validation (last logged values)", "",
    ]
    metrics = facts.get("metrics") or {}
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {v:.4f} |" for k, v in sorted(metrics.items())]
    else:
        lines.append("No validation metrics were logged before this checkpoint.")
    lines += ["", "## Licence of the training data", "",
              "Check the licence of the corpus named above before redistributing this model (the "
              "project's nEMO subset is CC BY-NC-SA 4.0: non-commercial, share-alike).", ""]
    return "\n".join(lines)
