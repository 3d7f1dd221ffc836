"""``affectcodec eval``: quality and emotion preservation of codecs on a manifest split."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval", help="evaluate codecs: PESQ, STOI, mel distance, SI-SDR, ViSQOL, speaker similarity, "
                     "DNSMOS, emotion (EDR), prosody, leakage",
        description="Reconstruct every utterance of a manifest split at each bitrate with each model and "
                    "write results.json, report.md and PNG plots to OUT. Re-running into the same OUT "
                    "skips utterances already scored.")
    p.add_argument("--model", action="append", default=None,
                   help="model folder or bundled name (repeat for several; default: the bundled default "
                        "model; 'dac16k' = DAC's 16 kHz architecture with random weights, for plumbing only; "
                        "'opus', 'codec2' = the reference codecs, if their Debian tools are installed)")
    p.add_argument("--reference", action="store_true",
                   help="add the Opus and Codec2 reference rows (each skipped with a message if its "
                        "tools are missing)")
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
                        "speaker_similarity, dnsmos, or 'all' (default: all but dnsmos, which costs a "
                        "few seconds of CPU per utterance; see docs/evaluation.md)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import json
    import platform
    import shlex
    import sys
    import time
    from importlib.metadata import version
    from pathlib import Path

    import torch
    from tqdm import tqdm

    import affectcodec
    from affectcodec.analysis.pipeline import stratified_cap
    from affectcodec.audio import load as load_audio
    from affectcodec.baselines import REFERENCE_CODECS
    from affectcodec.codec import CheckpointError
    from affectcodec.data.manifests import Manifest
    from affectcodec.data.paths import default_manifest
    from affectcodec.errors import CommandError
    from affectcodec.eval.aggregate import aggregate
    from affectcodec.eval.report import (
        plot_confusions,
        plot_metrics,
        plot_recall,
        plot_spectrograms,
        write_report,
    )
    from affectcodec.eval.runner import DEFAULT_METRICS, METRICS, ModelSpec, build_codec, run_tasks
    from affectcodec.fsutil import atomic_path
    from affectcodec.judges.loading import load_judges
    from affectcodec.pretrained import resolve

    started = time.time()
    metrics = list(METRICS) if "all" in (args.metrics or ()) else list(dict.fromkeys(
        args.metrics or DEFAULT_METRICS))
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise CommandError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)} or 'all'")
    specs, names = [], set()
    built_in = ("dac16k", *REFERENCE_CODECS)  # names, not folders
    requested = list(args.model or [None])
    if args.reference:
        requested += [r for r in REFERENCE_CODECS if r not in requested]
    for m in requested:
        if m in REFERENCE_CODECS and not REFERENCE_CODECS[m].available():
            print(REFERENCE_CODECS[m].missing_message(), file=sys.stderr)
            continue
        try:
            path = m if m in built_in else str(resolve(m))
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        name = m if m in built_in else Path(path).name
        if name in names:
            raise CommandError(f"two models are named {name!r}; give distinct folders")
        names.add(name)
        specs.append(ModelSpec(name, path))
    codecs = {s.name: build_codec(s) for s in specs}
    for name, codec in codecs.items():
        for kbps in args.kbps:
            try:
                codec.stages_for(kbps)
            except ValueError as exc:
                raise CommandError(f"{name}: {exc}") from exc
    try:
        manifest_path = Path(args.manifest) if args.manifest else default_manifest()
        manifest = Manifest.read(manifest_path)
    except (ValueError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    chosen = [i for i, e in enumerate(manifest) if e.split == args.split]
    if not chosen:
        raise CommandError(f"{manifest_path}: no utterances in split {args.split!r}")
    chosen = stratified_cap(chosen, [e.emotion for e in manifest], args.limit)
    items = [manifest.utterance(i) for i in chosen]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    judges = load_judges(args.judges)
    bar = tqdm(total=0, desc="eval", unit="task", disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    ran = run_tasks(specs, items, args.kbps, out, args.judges, args.teacher, max(1, args.workers), progress,
                    metrics)
    bar.close()
    results = aggregate(specs, items, args.kbps, out, judges, metrics=metrics)
    results.update(
        command="affectcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        manifest=str(manifest_path), split=args.split, kbps=args.kbps, tasks_run=ran,
        seconds=round(time.time() - started, 1),
        versions={"affectcodec": affectcodec.__version__, "torch": torch.__version__,
                  "python": platform.python_version(),
                  **{pkg: version(pkg) for metric, pkg in (
                      ("visqol", "visqol-python"), ("dnsmos", "speechmos"),
                      ("speaker_similarity", "resemblyzer")) if metric in metrics}})
    example = items[0]
    wav = load_audio(example.audio_path)
    audio = {"original": wav[0]}
    low = min(args.kbps)
    for name, codec in codecs.items():
        audio[f"{name} @ {low:g} kbit/s"] = codec.decode(codec.encode(wav, kbps=low))[0, 0]
    plots = [plot_metrics(results, out), plot_recall(results, out), *plot_confusions(results, out),
             plot_spectrograms({"key": example.path, "emotion": example.emotion, "audio": audio}, out)]
    results["plots"] = [p.name for p in plots]
    with atomic_path(out / "results.json", force=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    report = write_report(results, out)
    print(f"scored {len(items)} utterances x {len(specs)} models x {len(args.kbps)} rates "
          f"({ran} new tasks); wrote {report}, results.json and {len(plots)} plots")
    return 0
