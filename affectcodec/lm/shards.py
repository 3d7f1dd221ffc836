"""Corpus tokenization into shards through Lightning's predict loop.

A shard holds ``shard_size`` consecutive utterances of a manifest: their codec tokens
concatenated along time (``tokens`` int32 [sum T, K]), frame offsets (``offsets`` int64
[n + 1]) and, in the safetensors metadata, the utterance paths, emotions and speakers. Codes
(not LM ids) are stored, so any tokenizer layout can be derived later without re-encoding
(:func:`read_shard`, then :meth:`affectcodec.lm.Tokenizer.codes_to_ids`).

Scaling: each predict step encodes one shard; under DDP the distributed sampler spreads shards
over ranks and every rank writes its own shard files (temporary file + rename). A finished
shard is never redone, so an interrupted run resumes. Rank 0 writes ``index.json`` at the end
from the shard files present.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from affectcodec import audio
from affectcodec.data.manifests import Utterance

INDEX_FILE = "index.json"


def shard_name(j: int) -> str:
    return f"shard-{j:05d}.safetensors"


def _shard_record(u: Utterance) -> dict[str, str]:
    """What a shard's metadata stores of an utterance: its manifest path, audio file, labels."""
    return {"path": u.path, "audio": u.audio_path, "emotion": u.emotion, "speaker": u.speaker}


class ShardDataset(Dataset):
    """Item ``j`` is the audio of every utterance of pending shard ``j`` (a list of [N] tensors)."""

    def __init__(self, shards: list[tuple[int, list[Utterance]]]):
        self.shards = shards

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, j: int) -> dict[str, Any]:

        index, utts = self.shards[j]
        # Plain dicts: Lightning's batch transfer rebuilds containers and refuses frozen dataclasses.
        return {"shard": index, "utts": [_shard_record(u) for u in utts],
                "audio": [audio.load(u.audio_path)[0] for u in utts]}


def plan_shards(utts: list[Utterance], shard_size: int, out: Path, meta: dict[str, Any]
                ) -> tuple[int, list[tuple[int, list[Utterance]]]]:
    """All shards of the corpus and those whose file is not written yet.

    A shard already on disk is kept only if it belongs to this run: its run facts (``meta``:
    model, weights, bitrate, shard size, ...) and its utterances must be this plan's, so a
    resumed run with another ``--shard-size`` or ``--kbps`` cannot mix, drop or repeat
    utterances. Shard files left by another run in ``out`` (beyond this plan) are refused too.

    Raises:
        ValueError: a bad shard size, or files in ``out`` that this run did not plan (one line).
    """
    if shard_size < 1:
        raise ValueError("shard size must be >= 1")
    shards = [(j, utts[s : s + shard_size]) for j, s in enumerate(range(0, len(utts), shard_size))]
    planned_names = {shard_name(j) for j, _ in shards}
    for extra in sorted(out.glob("shard-*.safetensors")):
        if extra.name not in planned_names:
            raise ValueError(f"{extra} is not a shard of this run ({len(shards)} shards planned); "
                             f"use an empty output folder")
    meta = json.loads(json.dumps(meta))  # as a shard stores it (tuples become lists, ...)
    pending = []
    for j, planned in shards:
        path = out / shard_name(j)
        if not path.is_file():
            pending.append((j, planned))
            continue
        try:
            utterances, stored = read_shard_metadata(path)
        except Exception as exc:  # safetensors has its own error types; any failure is one line
            raise ValueError(f"{path} is unreadable ({str(exc)[:80] or type(exc).__name__}); "
                             f"remove it to have it written again") from None
        if stored != meta:
            changed = sorted(k for k in set(stored) | set(meta) if stored.get(k) != meta.get(k))
            raise ValueError(f"{path} was written by another run (differs in {', '.join(changed)}); "
                             f"use the same arguments or an empty output folder")
        if [u["path"] for u in utterances] != [u.path for u in planned]:
            raise ValueError(f"{path} holds other utterances than this run plans for it; use the "
                             f"same manifest, split and --shard-size, or an empty output folder")
    return len(shards), pending


def read_shard_metadata(path: str | os.PathLike) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """``(utterances, meta)`` of a shard, from its header alone (no tokens are read)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        md = f.metadata()
    return json.loads(md["utterances"]), json.loads(md["meta"])


def write_shard(path: Path, tokens: list[Tensor], utts: list[dict[str, str]], meta: dict[str, Any]) -> None:
    """Write one shard atomically (tokens: one int [K, T] per utterance; utts: their records)."""
    from safetensors.torch import save_file

    from affectcodec.fsutil import atomic_path

    offsets = torch.tensor([0] + [t.shape[1] for t in tokens]).cumsum(0)
    flat = torch.cat([t.t() for t in tokens]).to(torch.int32)
    metadata = {"utterances": json.dumps(utts), "meta": json.dumps(meta)}
    with atomic_path(path, force=True) as tmp:
        save_file({"tokens": flat.contiguous(), "offsets": offsets}, str(tmp), metadata=metadata)


def read_shard(path: str | os.PathLike) -> tuple[list[Tensor], list[dict[str, str]], dict[str, Any]]:
    """``(tokens, utterances, meta)``: one int64 [K, T] per utterance, their records, the run facts."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        flat, offsets = f.get_tensor("tokens").long(), f.get_tensor("offsets")
        md = f.metadata()
    tokens = [flat[offsets[i] : offsets[i + 1]].t() for i in range(len(offsets) - 1)]
    return tokens, json.loads(md["utterances"]), json.loads(md["meta"])


def write_index(out: Path, n_shards: int, meta: dict[str, Any]) -> dict[str, Any]:
    """``index.json``: the shards present, utterance and frame counts, and the run facts."""
    from affectcodec.fsutil import atomic_path

    shards, total_utts, total_frames = [], 0, 0
    for j in range(n_shards):
        path = out / shard_name(j)
        if not path.is_file():
            continue
        tokens, utts, _ = read_shard(path)
        frames = sum(t.shape[1] for t in tokens)
        shards.append({"file": path.name, "utterances": len(utts), "frames": frames})
        total_utts += len(utts)
        total_frames += frames
    index = {"complete": len(shards) == n_shards, "n_shards": n_shards, "shards": shards,
             "utterances": total_utts, "frames": total_frames, **meta}
    with atomic_path(out / INDEX_FILE, force=True) as tmp:
        tmp.write_text(json.dumps(index, indent=2))
    return index


def first(batch: list[Any]) -> Any:
    """Collate function of the shard loader: one shard per step, as it is."""
    return batch[0]


def make_module(codec: Any, kbps: float, out: Path, meta: dict[str, Any], batch_size: int = 8):
    """The LightningModule whose predict step encodes one shard and writes it."""
    import lightning.pytorch as pl

    class TokenizeModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.codec = codec

        def predict_step(self, batch: dict[str, Any], batch_idx: int) -> int:
            audio, utts = batch["audio"], batch["utts"]
            tokens = []
            for s in range(0, len(audio), batch_size):
                chunk = audio[s : s + batch_size]
                lengths = torch.tensor([a.numel() for a in chunk])
                padded = torch.zeros(len(chunk), int(lengths.max()))
                for b, a in enumerate(chunk):
                    padded[b, : a.numel()] = a
                codes = self.codec.encode(padded.to(self.device), lengths=lengths, kbps=kbps)
                frames = codes.frame_lengths.tolist()
                tokens += [codes.tokens[b, :, : frames[b]].cpu() for b in range(len(chunk))]
            write_shard(out / shard_name(batch["shard"]), tokens, utts, meta)
            return batch["shard"]

    return TokenizeModule()
