"""``affectcodec eval``: quality and emotion preservation of codecs on a manifest split."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval", help="evaluate codecs: PESQ, STOI, mel distance, SI-SDR, ViSQOL, speaker similarity, "
                     "DNSMOS, WER/CER, emotion (EDR), prosody, leakage",
        description="Reconstruct every utterance of a manifest split at each bitrate with each model and "
                    "write results.json, report.md and PNG plots to OUT. Re-running into the same OUT "
                    "skips utterances already scored.")
    p.add_argument("--model", action="append", default=None,
                   help="model folder or bundled name (repeat for several; default: the bundled default "
                        "model; 'dac16k' = DAC's 16 kHz architecture with random weights, for plumbing only; "
                        "'opus', 'codec2' = the reference codecs, if their Debian tools are installed)")
    p.add_argument("--reference", action="append", nargs="?", const="all", choices=["opus", "codec2", "all"],
                   metavar="CODEC",
                   help="add a reference codec's rows: opus or codec2 (repeat for both; a bare --reference, "
                        "or 'all', adds both); each is skipped with a message if its tools are missing")
    p.add_argument("--manifest", default=None, help="manifest (default: nEMO under ../shared/data)")
    p.add_argument("--split", default="valid", help="manifest split to evaluate (default: valid)")
    p.add_argument("--kbps", type=float, nargs="+", default=[1.5, 3.0, 6.0], help="bitrates")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--limit", type=int, default=None, help="at most N utterances (emotion-stratified)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (one torch thread each)")
    p.add_argument("--judges", nargs="+", default=None, help="judge folders (default: the bundled judges)")
    p.add_argument("--teacher", default=None, help="teacher for feature similarity (default: bundled)")
    p.add_argument("--metrics", nargs="+", default=None, metavar="NAME",
                   help="signal metrics to compute: pesq, stoi, mel_distance, si_sdr, visqol, "
                        "speaker_similarity, dnsmos, wer, cer, or 'all' (default: all but dnsmos, wer and "
                        "cer, which cost seconds of CPU per utterance; wer and cer need the [asr] extra; "
                        "see docs/evaluation.md)")
    p.add_argument("--asr-language", default=None, metavar="CODE",
                   help="language of the speech for wer/cer, e.g. pl (nEMO) or en (speech-16k) "
                        "(default: Whisper detects it on each original)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from tqdm import tqdm

    from affectcodec.eval.codec_evaluation import evaluate_codecs

    bars: list[tqdm] = []  # made at the first report, when the tasks are known

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=0, desc="eval", unit="task", disable=not sys.stderr.isatty()))
        bars[0].total = total
        bars[0].update(done - bars[0].n)

    try:
        run = evaluate_codecs(
            args.out, args.model or [None], reference=_references(args.reference), manifest=args.manifest,
            split=args.split, kbps=args.kbps, limit=args.limit, workers=args.workers,
            judges=args.judges, teacher=args.teacher, metrics=args.metrics,
            asr_language=args.asr_language, progress=progress,
            command="affectcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    finally:
        for bar in bars:
            bar.close()
    results = run.results
    print(f"scored {run.utterances} utterances x {run.models} models x {len(results['kbps'])} rates "
          f"({results['tasks_run']} new tasks); wrote {run.report}, results.json and "
          f"{len(results['plots'])} plots")
    return 0


def _references(requested: list[str] | None) -> bool | list[str]:
    """``--reference`` as :func:`~affectcodec.eval.codec_evaluation.evaluate_codecs` takes it."""
    if not requested:
        return False
    return True if "all" in requested else list(dict.fromkeys(requested))
