"""``affectcodec analyze``: emotion-aware quantization analysis of speech representations."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Quantize frame features (the emotion teacher's, log-mel, a codec's latent, or your own
.npy/.safetensors files) with residual VQ, measure per-emotion similarity, code usage and
SER-probe recall/macro-F1 against bitrate, train emotion-specific, -biased and balanced codebooks
with a matched budget, and compare Emo-Q routing with the balanced codebook. Writes results.json,
report.md and PNG plots."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("analyze", help="RVQ emotion analysis and Emo-Q routing on frame features",
                              description=DESCRIPTION)
    p.add_argument("--config", required=True, help="YAML recipe (see recipes/emoq_*.yaml)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-utterances", type=int, default=None,
                   help="cap per split (emotion-stratified), for quick runs")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import json
    import shlex
    import sys
    import time
    from pathlib import Path

    import yaml

    from affectcodec.analysis.analysis_report import write_plots, write_report
    from affectcodec.analysis.experiment import AnalysisConfig, run_analysis
    from affectcodec.analysis.pipeline import build_source, load_utterances
    from affectcodec.errors import CommandError
    from affectcodec.fsutil import atomic_path

    path = Path(args.config)
    if not path.is_file():
        raise CommandError(f"no such config file: {path}")
    try:
        recipe = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CommandError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(recipe, dict):
        raise CommandError(f"{path}: the recipe must be a mapping")
    known = {"feature", "teacher", "codec", "manifest", "max_utterances", "analysis"}
    unknown = sorted(set(recipe) - known)
    if unknown:
        raise CommandError(f"{path}: unknown keys {unknown}; known: {sorted(known)}")
    try:
        config = AnalysisConfig(**(recipe.get("analysis") or {}))
    except TypeError as exc:
        raise CommandError(f"{path}: bad 'analysis' section ({exc})") from exc
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    def progress(msg: str) -> None:
        print(f"[{time.time() - started:7.1f} s] {msg}", file=sys.stderr, flush=True)

    try:
        source = build_source(recipe.get("feature", "teacher"), teacher=recipe.get("teacher"),
                              codec=recipe.get("codec"))
        cap = args.max_utterances if args.max_utterances is not None else recipe.get("max_utterances")
        utterances = load_utterances(recipe.get("manifest"), source, cap, progress=progress)
        results = run_analysis(utterances, config, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    command = "affectcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results.update(feature=source.name, command=command, seconds=round(time.time() - started, 1))
    with atomic_path(out / "results.json", force=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    write_plots(results, out)
    report = write_report(results, out, command)
    print(f"wrote {report} and plots to {out}")
    return 0
