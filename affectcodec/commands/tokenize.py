"""``affectcodec tokenize``: a corpus to token shards, resumable, through Lightning's predict loop."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tokenize", help="tokenize a corpus manifest into shards (resumable; DDP-ready)",
        description="Encode every utterance of MANIFEST with a codec and write token shards plus "
                    "index.json to OUT. Finished shards are skipped on a re-run. Runs through "
                    "Lightning's predict loop: --devices/--num-nodes/--strategy scale it out.")
    p.add_argument("manifest", help="manifest file (TSV, CSV or JSONL)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default=None, help="model folder or bundled name (default: bundled default)")
    p.add_argument("--kbps", type=float, default=None, help="bitrate (default: the model's highest)")
    p.add_argument("--split", default=None, help="only this split (default: all rows)")
    p.add_argument("--shard-size", type=int, default=1000, help="utterances per shard")
    p.add_argument("--batch-size", type=int, default=8, help="utterances per encode call")
    p.add_argument("--accelerator", default="cpu", help="Lightning accelerator (cpu, gpu, auto)")
    p.add_argument("--devices", default="1", help="Lightning devices")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--strategy", default="auto", help="Lightning strategy (auto, ddp, ...)")
    p.add_argument("--num-workers", type=int, default=0, help="audio-loading worker processes")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import lightning.pytorch as pl
    from torch.utils.data import DataLoader

    from affectcodec import bitstream
    from affectcodec.codec import CheckpointError
    from affectcodec.data.manifests import Manifest
    from affectcodec.errors import CommandError
    from affectcodec.lm.shards import ShardDataset, first, make_module, plan_shards, write_index
    from affectcodec.pretrained import load, resolve

    try:
        model_dir = resolve(args.model)
        codec = load(model_dir)
        kbps = codec.bitrates[codec.rate_stages.index(codec.stages_for(args.kbps))]
        manifest = Manifest.read(args.manifest)
    except (CheckpointError, ValueError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    utts = manifest.filter(split=args.split).utterances()
    if not utts:
        where = f" in split {args.split!r}" if args.split else ""
        raise CommandError(f"{args.manifest}: no utterances{where}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"model": model_dir.name, "config_hash": codec.config_hash, "kbps": kbps,
            "num_stages": codec.stages_for(kbps), "cardinality": codec.cardinality,
            "levels": list(codec.levels or []),
            "num_emotion_digits": codec.num_emotion_digits, "sample_rate": codec.sample_rate,
            "hop_length": codec.hop_length, "manifest": str(Path(args.manifest).resolve()),
            "split": args.split, "shard_size": args.shard_size,
            "weights_hash": bitstream.weights_hash(codec)}
    try:
        n_shards, pending = plan_shards(utts, args.shard_size, out, meta)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    devices = int(args.devices) if args.devices.isdigit() else args.devices
    trainer = pl.Trainer(accelerator=args.accelerator, devices=devices, num_nodes=args.num_nodes,
                         strategy=args.strategy, logger=False, enable_checkpointing=False,
                         enable_model_summary=False)
    if pending:
        loader = DataLoader(ShardDataset(pending), batch_size=1, collate_fn=first,
                            num_workers=args.num_workers)
        trainer.predict(make_module(codec, kbps, out, meta, args.batch_size), dataloaders=loader,
                        return_predictions=False)
    trainer.strategy.barrier()
    if trainer.is_global_zero:
        index = write_index(out, n_shards, meta)
        print(f"{index['utterances']} utterances, {index['frames']} frames in "
              f"{len(index['shards'])}/{n_shards} shards ({len(pending)} written now) -> {out}")
    return 0
