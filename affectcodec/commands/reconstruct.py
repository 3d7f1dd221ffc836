"""``affectcodec reconstruct``: audio -> tokens -> audio in one go (listening tests, metrics)."""

from __future__ import annotations

import argparse

from affectcodec.commands import _common as common
from affectcodec.commands.decode import add_output_options, subtype, warn_clipping

DESCRIPTION = """\
Encode and decode audio files (or folders, mirrored under OUT) and write the reconstructions:
exactly what `encode` followed by `decode` gives, without the .affc files."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = common.file_command(
        subparsers, "reconstruct", help="audio -> tokens -> audio (no .affc files)",
        description=DESCRIPTION, inputs=("INPUT", "audio files or folders"),
        output_help="output folder (or an audio file name for one input)", output_required=True)
    parser.add_argument("--kbps", type=float, default=None,
                        help="bitrate in kbit/s (default: the model's highest)")
    parser.add_argument("--window", type=common.window_seconds, default=None, metavar="SECONDS",
                        help="window for long files (default 10)")
    add_output_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from affectcodec import affc_io, audio, fsutil
    from affectcodec.commands.encode import total_seconds
    from affectcodec.windows import DEFAULT_WINDOW_SECONDS

    inputs, input_errors = common.find_inputs(args.inputs, audio.AUDIO_EXTENSIONS, "audio")
    jobs = common.plan_outputs(inputs, args.output, f".{args.format}", audio.AUDIO_EXTENSIONS,
                               args.force, args.skip_existing)
    jobs = common.pending(jobs, args.skip_existing)
    codec, identity, n_stages = common.model_and_stages(jobs, args.device, args.model, args.kbps)
    for message in input_errors:
        common.error(message)

    def work(job: common.Job, progress) -> None:
        stats = affc_io.EncodeStats()
        codes, header = affc_io.encode_audio(codec, job.src, n_stages=n_stages, model=identity,
                                             window_seconds=args.window or DEFAULT_WINDOW_SECONDS,
                                             progress=lambda s: progress(s / 2), stats=stats)
        if stats.clipped:
            common.warn(f"{job.src}: {stats.clipped} samples at or beyond full scale (peak "
                        f"{stats.peak:.3f}): the input may be clipped")
        fmt = audio.output_format(job.dst)
        with fsutil.atomic_path(job.dst, args.force) as tmp:
            writer = affc_io.decode_to(codec, codes, header, tmp, sample_rate=args.sample_rate,
                                       model=identity, format=fmt, subtype=subtype(fmt),
                                       progress=lambda s: progress(s / 2))
        warn_clipping(job.dst, writer)

    return common.run_batch(jobs, work, total_seconds(job.src for job in jobs), args.quiet,
                            failures=len(input_errors))
