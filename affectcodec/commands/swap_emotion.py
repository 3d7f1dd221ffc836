"""``affectcodec swap-emotion``: A's acoustic digits decoded with B's emotion digits."""

from __future__ import annotations

import argparse

from affectcodec.commands import _common as common


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "swap-emotion", help="decode A's acoustic sub-tokens with B's emotion sub-tokens",
        description="Encode a content utterance A and an emotion utterance B, replace A's emotion "
                    "sub-tokens (the emotion digits of every stage) with B's, time-stretched to A's "
                    "frame count by nearest neighbour, and decode. The output has A's length and rate.")
    parser.add_argument("--content", required=True, help="utterance A (words, speaker, acoustics)")
    parser.add_argument("--emotion", required=True, help="utterance B (emotion digits)")
    parser.add_argument("-o", "--output", required=True, help="output audio file")
    parser.add_argument("--model", default=None, help="model folder or bundled name (default: bundled)")
    parser.add_argument("--kbps", type=float, default=None, help="bitrate (default: the highest)")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from affectcodec import affc_io, audio, fsutil
    from affectcodec.errors import CommandError
    from affectcodec.swap import swap_emotion

    codec, identity = common.Models(args.device).get(args.model)
    if codec.levels is None:
        raise CommandError("this model has no emotion partition (codebook tokens): nothing to swap")
    try:
        codes_a, header_a = affc_io.encode_audio(codec, args.content, kbps=args.kbps, model=identity)
        codes_b, _ = affc_io.encode_audio(codec, args.emotion, kbps=args.kbps, model=identity)
        swapped = swap_emotion(codes_a, codes_b)
        with fsutil.atomic_path(args.output, args.force) as tmp:
            affc_io.decode_to(codec, swapped, header_a, tmp, model=identity,
                              format=audio.output_format(args.output))
    except (ValueError, OSError) as exc:
        raise CommandError(common.describe(exc)) from exc
    return 0
