"""A corpus manifest to token shards through Lightning's predict loop (``affectcodec tokenize``
is a thin adapter over :func:`tokenize_corpus`).

Lightning is imported here, at the top, so that the speech-LM tokenizer (:mod:`.tokenizer`) and
the shard reader (:mod:`.shards`) stay free of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from affectcodec import bitstream
from affectcodec.codec import CheckpointError
from affectcodec.data.manifests import Manifest
from affectcodec.errors import AffectCodecError
from affectcodec.lm.shards import ShardDataset, first, make_module, plan_shards, write_index
from affectcodec.pretrained import load, resolve


class TokenizeError(AffectCodecError, ValueError):
    """A corpus that cannot be tokenized as asked: a model or rate that is not there, an
    unreadable or empty manifest, shards in the output folder from another configuration."""


@dataclass(frozen=True)
class CorpusTokens:
    """What :func:`tokenize_corpus` did.

    Attributes:
        index: the contents of ``index.json`` (None on the processes of a distributed run other
            than the first, which writes it).
        shards: shards of the corpus.
        written: shards written by this call (the others were complete already).
    """

    index: dict[str, Any] | None
    shards: int
    written: int


def tokenize_corpus(manifest: str | Path, out: str | Path, *, model: str | None = None,
                    kbps: float | None = None, split: str | None = None, shard_size: int = 1000,
                    batch_size: int = 8, accelerator: str = "cpu", devices: int | str = 1,
                    num_nodes: int = 1, strategy: str = "auto", num_workers: int = 0) -> CorpusTokens:
    """Encode every utterance of a manifest with a codec and write token shards and
    ``index.json`` to ``out``; shards already complete are skipped (a re-run resumes).

    Args:
        manifest: manifest file (TSV, CSV or JSONL).
        out: output folder (created).
        model: model folder or bundled name (default: the bundled default model).
        kbps: bitrate (default: the model's highest).
        split: only this split (default: all rows).
        shard_size: utterances per shard.
        batch_size: utterances per encode call.
        accelerator, devices, num_nodes, strategy: Lightning's Trainer settings (several
            devices or nodes split the shards between them).
        num_workers: audio-loading worker processes.

    Returns:
        The index and how many shards were written now.

    Raises:
        TokenizeError: see the class.

    Example:
        >>> from affectcodec.lm.corpus_shards import tokenize_corpus
        >>> run = tokenize_corpus("manifest.tsv", "shards/", kbps=1.5)  # doctest: +SKIP
        >>> run.index["utterances"], run.index["frames"]  # doctest: +SKIP
    """
    try:
        model_dir = resolve(model)
        codec = load(model_dir)
        kbps = codec.bitrates[codec.rate_stages.index(codec.stages_for(kbps))]
        rows = Manifest.read(manifest)
    except (CheckpointError, ValueError, FileNotFoundError) as exc:
        raise TokenizeError(str(exc)) from exc
    utts = rows.filter(split=split).utterances()
    if not utts:
        where = f" in split {split!r}" if split else ""
        raise TokenizeError(f"{manifest}: no utterances{where}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"model": model_dir.name, "config_hash": codec.config_hash, "kbps": kbps,
            "num_stages": codec.stages_for(kbps), "cardinality": codec.cardinality,
            "levels": list(codec.levels or []),
            "num_emotion_digits": codec.num_emotion_digits, "sample_rate": codec.sample_rate,
            "hop_length": codec.hop_length, "manifest": str(Path(manifest).resolve()),
            "split": split, "shard_size": shard_size,
            "weights_hash": bitstream.weights_hash(codec)}
    try:
        n_shards, pending = plan_shards(utts, shard_size, out, meta)
    except ValueError as exc:
        raise TokenizeError(str(exc)) from None
    trainer = pl.Trainer(accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                         strategy=strategy, logger=False, enable_checkpointing=False,
                         enable_model_summary=False)
    if pending:
        loader = DataLoader(ShardDataset(pending), batch_size=1, collate_fn=first,
                            num_workers=num_workers)
        trainer.predict(make_module(codec, kbps, out, meta, batch_size), dataloaders=loader,
                        return_predictions=False)
    trainer.strategy.barrier()
    index = write_index(out, n_shards, meta) if trainer.is_global_zero else None
    return CorpusTokens(index, n_shards, len(pending))
