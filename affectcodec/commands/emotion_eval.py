"""``affectcodec emotion-eval MANIFEST``: emotion recognition and preservation figures.

Without ``--reconstructed``: WA / UAR / macro-F1 of each judge (and the teacher's own head) on the
manifest's utterances. With ``--reconstructed DIR`` (the same relative paths as the manifest,
decoded by a codec): the same on the reconstructions, EDR per judge, MEDR / WEDR, prosody
preservation and teacher-feature cosine similarity.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "emotion-eval", help="judge metrics (WA, UAR, macro-F1) and emotion degradation (EDR)",
        description=__doc__.split("\n\n")[1])
    p.add_argument("manifest", help="manifest (.tsv, .csv, .jsonl)")
    p.add_argument("--split", default=None, help="only rows of this split (e.g. valid)")
    p.add_argument("--reconstructed", default=None, metavar="DIR",
                   help="folder of reconstructions, same relative paths as the manifest")
    p.add_argument("--judges", nargs="*", default=None, metavar="MODEL",
                   help="judge folders or bundled names (default: the bundled judges; "
                        "'--judges' alone: none, only the teacher's head)")
    p.add_argument("--teacher", default=None, help="teacher folder or name (default: ser-teacher)")
    p.add_argument("--mode", choices=("independent", "adapted", "both"), default="both",
                   help="speaker-independent judging, speaker-adapted judging (per-speaker "
                        "statistics of the original utterances, no labels), or both (default)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--json", default=None, metavar="FILE", help="also write the full report here")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from affectcodec.eval.emotion_evaluation import evaluate_emotion

    run = evaluate_emotion(args.manifest, split=args.split, reconstructed=args.reconstructed,
                           judges=args.judges, teacher=args.teacher, mode=args.mode,
                           batch_size=args.batch_size, json_path=args.json)
    results = run.results
    with_reconstructions = "teacher_cosine" in results
    print(f"{results['utterances']} utterances ({args.split or 'all splits'})")
    for mode, (report, head) in run.reports.items():
        print(f"\nspeaker-{mode} judging")
        print(f"{'model':<16}{'WA':>7}{'UAR':>7}{'F1':>7}" + (f"{'UAR rec':>9}{'EDR':>7}{'EDR_w':>7}"
                                                            if with_reconstructions else ""))
        for r in report.judges + (head.judges if head else []):
            line = f"{r.judge:<16}{r.original.wa:7.3f}{r.original.uar:7.3f}{r.original.macro_f1:7.3f}"
            if r.reconstructed is not None:
                line += f"{r.reconstructed.uar:9.3f}{r.edr_macro:7.2f}{r.edr_weighted:7.2f}"
            print(line)
        if with_reconstructions:
            print(f"MEDR {report.medr:.2f}  WEDR {report.wedr:.2f}")
    if with_reconstructions:
        print(f"teacher cosine {results['teacher_cosine']:.3f}")
        print("prosody: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in results["prosody"].items()))
    return 0
