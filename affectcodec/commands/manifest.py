"""``affectcodec manifest CORPUS ROOT -o manifest.tsv``: write a manifest from a corpus folder."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    from affectcodec.data.corpora import BUILDERS

    p = subparsers.add_parser(
        "manifest", help="write a manifest (TSV/CSV/JSONL) from an emotional-speech corpus folder",
        description="Walk a corpus folder in its standard layout and write a manifest with path, "
                    "speaker, emotion, split, duration (and text, gender when known). Paths are "
                    "written relative to the manifest's folder.")
    p.add_argument("corpus", choices=sorted(BUILDERS), help="corpus layout")
    p.add_argument("root", help="the corpus folder")
    p.add_argument("-o", "--output", required=True, help="manifest to write (.tsv, .csv or .jsonl)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--valid-speakers", nargs="+", default=None, metavar="SPEAKER",
                   help="speakers of the valid split (default: the corpus' own, see docs)")
    p.add_argument("--no-merge-excited", action="store_true",
                   help="iemocap: keep 'excited' apart from happiness (and keep it as a class)")
    p.add_argument("--all-emotions", action="store_true",
                   help="iemocap: keep every labelled class, not only the usual four")
    p.add_argument("--merge-calm", action="store_true", help="ravdess: map calm to neutral")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from affectcodec.data.corpora import IEMOCAP_FOUR, build_manifest
    from affectcodec.data.manifests import FORMATS, ManifestError
    from affectcodec.errors import CommandError

    out = Path(args.output)
    if out.suffix.lower() not in FORMATS:
        raise CommandError(f"{out}: the manifest must end in one of {sorted(FORMATS)}")
    if out.exists() and not args.force:
        raise CommandError(f"{out} exists (use -f to overwrite)")
    options: dict = {"valid_speakers": args.valid_speakers}
    if args.corpus == "iemocap":
        options["merge_excited"] = not args.no_merge_excited
        emotions = None if args.all_emotions else set(IEMOCAP_FOUR) | (
            {"excited"} if args.no_merge_excited else set())
        options["emotions"] = emotions
    elif args.corpus == "ravdess":
        options["merge_calm"] = args.merge_calm
    try:
        manifest = build_manifest(args.corpus, args.root, **options)
        manifest.write(out)
    except ManifestError as exc:
        raise CommandError(str(exc)) from None
    splits = ", ".join(f"{k} {v}" for k, v in manifest.counts("split").items())
    print(f"{out}: {len(manifest)} utterances, {len(manifest.speakers)} speakers "
          f"({splits}); emotions: {', '.join(manifest.emotions)}")
    return 0
