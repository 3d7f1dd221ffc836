"""``affectcodec encode``: audio files or folders -> ``.affc`` token files."""

from __future__ import annotations

import argparse

from affectcodec.commands import _common as common

DESCRIPTION = """\
Encode audio files to .affc token files. INPUT may be files or folders; folders are searched
recursively for every audio format soundfile reads, and their tree is mirrored under OUT.
Without -o, each .affc is written beside its input. Existing outputs are never overwritten
without -f; outputs appear only when complete."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = common.file_command(
        subparsers, "encode", help="audio files/folders -> .affc token files", description=DESCRIPTION,
        inputs=("INPUT", "audio files or folders"),
        output_help="output folder (or a .affc file name for one input)")
    parser.add_argument("--kbps", type=float, default=None,
                        help="bitrate in kbit/s: 1.5, 3 or 6 for the default model "
                             "(default: the model's highest)")
    parser.add_argument("--window", type=common.window_seconds, default=None, metavar="SECONDS",
                        help="window for long files (memory use; tokens do not depend on it; "
                             "default 10)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from affectcodec import affc_io, audio, bitstream
    from affectcodec.windows import DEFAULT_WINDOW_SECONDS, window_layout

    inputs, input_errors = common.find_inputs(args.inputs, audio.AUDIO_EXTENSIONS, "audio")
    jobs = common.plan_outputs(inputs, args.output, bitstream.SUFFIX, frozenset({"affc"}), args.force,
                               args.skip_existing)
    todo = common.pending(jobs, args.skip_existing)
    codec, identity, n_stages = common.model_and_stages(todo or jobs, args.device, args.model,
                                                        args.kbps)
    for message in input_errors:
        common.error(message)
    if len(todo) < len(jobs):  # resuming: what is on disk must be what this run would write
        window = window_layout(codec, args.window or DEFAULT_WINDOW_SECONDS)
        for job in jobs:
            if job not in todo:
                check_resumed(job.dst, identity, n_stages, window)
    jobs = todo

    def work(job: common.Job, progress) -> None:
        stats = affc_io.EncodeStats()
        affc_io.encode_file(codec, job.src, job.dst, force=args.force, n_stages=n_stages,
                            window_seconds=args.window or DEFAULT_WINDOW_SECONDS, model=identity,
                            progress=progress, stats=stats)
        if stats.clipped:
            common.warn(f"{job.src}: {stats.clipped} samples at or beyond full scale (peak "
                        f"{stats.peak:.3f}): the input may be clipped")

    return common.run_batch(jobs, work, total_seconds(job.src for job in jobs), args.quiet,
                            failures=len(input_errors))


def check_resumed(path, identity, n_stages: int, window) -> None:
    """Refuse to skip an existing ``.affc`` that another model, bitrate or window wrote."""
    from affectcodec import bitstream

    try:
        codes, header = bitstream.read(path)
    except (bitstream.BitstreamError, OSError) as exc:
        raise common.CommandError(f"{path} exists but cannot be resumed over ({common.describe(exc)}); "
                                  f"remove it or use -f") from None
    try:
        identity.check(header)
    except ValueError as exc:
        raise common.CommandError(f"{path} cannot be kept: {exc}, or -f") from None
    if (n_stages, window) != (codes.num_stages, header.window):
        raise common.CommandError(f"{path} was written with another model, bitrate or window than "
                                  f"this run's; --skip-existing would mix them (use -f, or the same "
                                  f"arguments)")


def total_seconds(paths) -> float:
    """Seconds of audio in the files that can be opened (for the progress bar)."""
    from affectcodec.audio import AudioFileError, audio_info

    total = 0.0
    for path in paths:
        try:
            total += audio_info(path).duration
        except (AudioFileError, OSError):
            pass
    return total
