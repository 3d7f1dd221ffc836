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

    from affectcodec.lm.corpus_shards import tokenize_corpus

    run = tokenize_corpus(
        args.manifest, args.out, model=args.model, kbps=args.kbps, split=args.split,
        shard_size=args.shard_size, batch_size=args.batch_size, accelerator=args.accelerator,
        devices=int(args.devices) if args.devices.isdigit() else args.devices,
        num_nodes=args.num_nodes, strategy=args.strategy, num_workers=args.num_workers)
    if run.index is not None:  # the first process of a distributed run reports
        print(f"{run.index['utterances']} utterances, {run.index['frames']} frames in "
              f"{len(run.index['shards'])}/{run.shards} shards ({run.written} written now) "
              f"-> {Path(args.out)}")
    return 0
