"""``affectcodec swap-eval``: the emotion-swap experiment on same-sentence pairs of a manifest."""

from __future__ import annotations

import argparse

OUTPUTS = ("results.json", "report.md", "pairs.tsv")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "swap-eval", help="measure emotion swap: does B's emotion partition move A's judged emotion to B's?",
        description="For every ordered pair (A, B) of utterances of the same sentence and speaker in "
                    "different emotions, decode A's acoustic sub-tokens with B's emotion sub-tokens "
                    "(swap) and A unchanged (control); report how often the judges hear B's emotion, "
                    "A's emotion, or the judge's verdict on B, speaker-independent and speaker-adapted, "
                    "and STOI against A. Writes results.json, report.md and pairs.tsv to OUT.")
    p.add_argument("manifest", nargs="?", default=None,
                   help="manifest with a text column (default: nEMO under ../shared/data)")
    p.add_argument("--split", default="valid", help="manifest split (default: valid)")
    p.add_argument("--model", default=None, help="model folder or bundled name (default: bundled)")
    p.add_argument("--kbps", type=float, nargs="+", default=None,
                   help="bitrates (default: all the model's)")
    p.add_argument("--judges", nargs="+", default=None, help="judge folders (default: the bundled judges)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--limit-sentences", type=int, default=None, metavar="N",
                   help="at most N sentences, evenly spaced over the sorted (speaker, text) groups")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes, one torch thread each (default 2)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite results in OUT")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import json
    import platform
    import shlex
    import sys
    import time
    from pathlib import Path

    import torch
    from tqdm import tqdm

    import affectcodec
    from affectcodec import pretrained
    from affectcodec.codec import CheckpointError
    from affectcodec.data.manifests import Manifest
    from affectcodec.data.paths import default_manifest
    from affectcodec.emotion.checkpoint import EmotionCheckpointError
    from affectcodec.errors import CommandError
    from affectcodec.eval import swap
    from affectcodec.fsutil import atomic_path
    from affectcodec.judges.loading import load_judges

    started = time.time()
    out = Path(args.out)
    existing = [out / name for name in OUTPUTS if (out / name).exists()]
    if existing and not args.force:
        raise CommandError(f"{existing[0]} exists; use -f to overwrite")
    try:
        model_path = pretrained.resolve(args.model).resolve()
        codec = pretrained.load(model_path)
    except CheckpointError as exc:
        raise CommandError(str(exc)) from exc
    if codec.levels is None:
        raise CommandError(f"{model_path.name}: this model has no emotion partition (its tokens are codebook "
                           f"indices, not FSQ digits): there is nothing to swap")
    rates = args.kbps if args.kbps is not None else list(codec.bitrates)
    try:
        stages = [(float(k), codec.stages_for(k)) for k in rates]
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.limit_sentences is not None and args.limit_sentences < 1:
        raise CommandError(f"--limit-sentences must be >= 1, got {args.limit_sentences}")
    try:
        manifest_path = Path(args.manifest) if args.manifest else default_manifest()
        manifest = Manifest.read(manifest_path)
    except (ValueError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    utterances = manifest.filter(split=args.split).utterances()
    if not utterances:
        raise CommandError(f"{manifest_path}: no utterances in split {args.split!r}")
    groups = swap.sentence_groups(utterances)
    if not groups:
        raise CommandError(f"{manifest_path}: split {args.split!r} has no sentence recorded by one "
                           f"speaker in two emotions (pairs need the text column)")
    groups = swap.pick_groups(groups, args.limit_sentences)
    try:
        judges = load_judges(args.judges)
    except (EmotionCheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    emotions = sorted({u.emotion for g in groups for u in g})
    for j in judges:
        unknown = [e for e in emotions if e not in j.labels]
        if unknown:
            raise CommandError(f"judge {j.name} has no label {unknown[0]!r} "
                               f"(its labels: {', '.join(j.labels)})")

    bar = tqdm(total=0, unit="task", disable=not sys.stderr.isatty())
    shown = {"phase": ""}

    def progress(phase: str, done: int, total: int) -> None:
        if shown["phase"] != phase:  # originals, then sentences
            shown["phase"] = phase
            bar.reset(total)
            bar.set_description(phase)
        bar.update(done - bar.n)

    originals, rows, missing = swap.run_experiment(str(model_path), groups, stages, judges, args.judges,
                                                   max(1, args.workers), progress)
    bar.close()
    names = [j.name for j in judges]
    results = {
        "command": "affectcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "model": str(model_path), "manifest": str(manifest_path), "split": args.split,
        "kbps": [k for k, _ in stages], "judges": names, "emotions": emotions,
        "n_sentences": len(groups), "n_utterances": sum(len(g) for g in groups),
        "n_pairs": sum(len(swap.ordered_pairs(g)) for g in groups),
        **swap.summarise(rows, originals, names, emotions),
        "adapted_missing": missing, "seconds": round(time.time() - started, 1),
        "versions": {"affectcodec": affectcodec.__version__, "torch": torch.__version__,
                     "python": platform.python_version()}}
    texts = {"results.json": json.dumps(results, indent=2) + "\n",
             "report.md": swap.report_markdown(results), "pairs.tsv": swap.pairs_tsv(rows, names)}
    for name, text in texts.items():
        with atomic_path(out / name, force=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
    print(f"{results['n_pairs']} pairs of {results['n_sentences']} sentences x {len(stages)} rates in "
          f"{results['seconds']:.0f} s; wrote {out / 'report.md'}, results.json and pairs.tsv")
    return 0
