"""``affectcodec swap-eval``: the emotion-swap experiment on same-sentence pairs of a manifest."""

from __future__ import annotations

import argparse


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
    import shlex
    import sys
    from pathlib import Path

    from tqdm import tqdm

    from affectcodec.eval.swap import evaluate_swap

    bars: list[tqdm] = []  # made at the first report, after the checks
    shown = {"phase": ""}

    def progress(phase: str, done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=0, unit="task", disable=not sys.stderr.isatty()))
        bar = bars[0]
        if shown["phase"] != phase:  # originals, then sentences
            shown["phase"] = phase
            bar.reset(total)
            bar.set_description(phase)
        bar.update(done - bar.n)

    try:
        results = evaluate_swap(
            args.out, args.manifest, split=args.split, model=args.model, kbps=args.kbps,
            judges=args.judges, limit_sentences=args.limit_sentences, workers=args.workers,
            force=args.force, progress=progress,
            command="affectcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    finally:
        for bar in bars:
            bar.close()
    out = Path(args.out)
    print(f"{results['n_pairs']} pairs of {results['n_sentences']} sentences x {len(results['kbps'])} "
          f"rates in {results['seconds']:.0f} s; wrote {out / 'report.md'}, results.json and pairs.tsv")
    return 0
