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
    import json
    import time
    from pathlib import Path

    import torch

    from affectcodec.audio import load as load_audio
    from affectcodec.data.manifests import Manifest, ManifestError
    from affectcodec.emotion import EmotionCheckpointError, SERTeacher, load_teacher
    from affectcodec.emotion.checkpoint import resolve_model_dir
    from affectcodec.emotion.registry import DEFAULT_TEACHER
    from affectcodec.errors import CommandError
    from affectcodec.eval.emotion import evaluate_judges, teacher_cosine
    from affectcodec.eval.prosody_metrics import ProsodyPreservation
    from affectcodec.judges import SpeakerHead, TeacherHead, load_judges

    try:
        manifest = Manifest.read(args.manifest)
        if args.split:
            manifest = manifest.filter(args.split)
            if not len(manifest):
                raise CommandError(f"{args.manifest}: no rows with split {args.split!r}")
        judges = load_judges(args.judges)
        teacher = load_teacher(args.teacher)
    except (ManifestError, EmotionCheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    start = time.time()
    original = [load_audio(manifest.audio_path(i)) for i in range(len(manifest))]
    reconstructed = None
    if args.reconstructed:
        root = Path(args.reconstructed)
        reconstructed = []
        for i, e in enumerate(manifest):
            path = root / e.path
            if not path.is_file():
                raise CommandError(f"{path}: reconstruction of manifest row {i + 1} not found")
            rec = load_audio(path)
            n = original[i].shape[-1]  # codecs may pad: compare the original's length
            reconstructed.append(torch.nn.functional.pad(rec, (0, max(0, n - rec.shape[-1])))[:, :n])
    emotions = [e.emotion for e in manifest]

    # The teacher's own classifier is reported beside (not among) the judges.
    heads = ([TeacherHead(teacher, SpeakerHead.load(resolve_model_dir(args.teacher or DEFAULT_TEACHER)))]
             if isinstance(teacher, SERTeacher) else [])  # the loaded teacher, not a second copy
    speakers = [e.speaker for e in manifest]
    out: dict = {"manifest": str(args.manifest), "split": args.split, "utterances": len(manifest)}
    print(f"{len(manifest)} utterances ({args.split or 'all splits'})")
    modes = ("independent", "adapted") if args.mode == "both" else (args.mode,)
    for mode in modes:
        spk = speakers if mode == "adapted" else None
        try:
            report = evaluate_judges(judges, emotions, original, reconstructed, args.batch_size, spk)
            head = (evaluate_judges(heads, emotions, original, reconstructed, args.batch_size, spk)
                    if heads else None)
        except ValueError as exc:
            raise CommandError(f"{mode} judging: {exc}") from None
        out[mode] = {"judges": report.to_dict(), "teacher_head": head.to_dict() if head else None}
        print(f"\nspeaker-{mode} judging")
        print(f"{'model':<16}{'WA':>7}{'UAR':>7}{'F1':>7}" + (f"{'UAR rec':>9}{'EDR':>7}{'EDR_w':>7}"
                                                            if reconstructed else ""))
        for r in report.judges + (head.judges if head else []):
            line = f"{r.judge:<16}{r.original.wa:7.3f}{r.original.uar:7.3f}{r.original.macro_f1:7.3f}"
            if r.reconstructed is not None:
                line += f"{r.reconstructed.uar:9.3f}{r.edr_macro:7.2f}{r.edr_weighted:7.2f}"
            print(line)
        if reconstructed is not None:
            print(f"MEDR {report.medr:.2f}  WEDR {report.wedr:.2f}")
    if reconstructed is not None:
        prosody = ProsodyPreservation()
        cosines = []
        for o, r in zip(original, reconstructed, strict=True):
            prosody.update(o[None], r[None])
            cosines.append(float(teacher_cosine(teacher, o[None], r[None])[0]))
        out["prosody"] = prosody.compute().to_dict()
        out["teacher_cosine"] = sum(cosines) / len(cosines)
        print(f"teacher cosine {out['teacher_cosine']:.3f}")
        print("prosody: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in out["prosody"].items()))
    out["wall_time_s"] = round(time.time() - start, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0
