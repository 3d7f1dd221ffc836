"""``affectcodec decode``: ``.affc`` token files (or folders of them) -> audio files."""

from __future__ import annotations

import argparse

from affectcodec.commands import _common as common

DESCRIPTION = """\
Decode .affc token files to audio (mono, 16-bit). FILE may be .affc files or folders (searched
recursively; their tree is mirrored under OUT). Without -o, each audio file is written beside its
.affc. By default the audio gets the rate and length of the file that was encoded."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = common.file_command(
        subparsers, "decode", help=".affc token files -> audio files", description=DESCRIPTION,
        inputs=("FILE.affc", ".affc files or folders"),
        output_help="output folder (or an audio file name for one input)",
        model_help="model folder or bundled model name (default: the bundled model named in the "
                   "file, else the bundled default model)")
    add_output_options(parser)
    parser.set_defaults(func=run)
    return parser


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample-rate", type=common.sample_rate_arg, default="source",
                        metavar="source|16000|N",
                        help="output rate: 'source' (the encoded file's rate, default) or Hz")
    parser.add_argument("--format", type=common.audio_format_arg, default="wav",
                        help="audio format of outputs in folders (default: wav)")


def run(args: argparse.Namespace) -> int:
    from affectcodec import affc_io, audio, bitstream, fsutil

    inputs, input_errors = common.find_inputs(args.inputs, frozenset({"affc"}), ".affc")
    jobs = common.plan_outputs(inputs, args.output, f".{args.format}", audio.AUDIO_EXTENSIONS,
                               args.force, args.skip_existing)
    jobs = common.pending(jobs, args.skip_existing)
    models = common.Models(args.device)
    if args.model is not None and jobs:
        models.get(args.model)  # fail before any work if the model cannot be loaded
    for message in input_errors:
        common.error(message)

    def work(job: common.Job, progress) -> None:
        codes, header = bitstream.read(job.src)
        codec, identity = models.get(args.model or bundled_name(header.model_name))
        fmt = audio.output_format(job.dst)
        with fsutil.atomic_path(job.dst, args.force) as tmp:
            writer = affc_io.decode_to(codec, codes, header, tmp, sample_rate=args.sample_rate,
                                       model=identity, progress=progress, format=fmt,
                                       subtype=subtype(fmt))
        warn_clipping(job.dst, writer)

    total = 0.0
    for src, _ in inputs:
        try:
            obj = bitstream.read_json(src)
            total += obj["num_samples"] / obj["sample_rate"]
        except Exception:  # reported when the job runs
            pass
    return common.run_batch(jobs, work, total, args.quiet, failures=len(input_errors))


def bundled_name(name: str) -> str | None:
    """``name`` if a bundled model has it, else None (the default model): a header's name never
    reaches a folder outside ``checkpoints/`` (``..`` loaded the parent folder)."""
    from affectcodec.model_dir import bundled_dir

    return name if bundled_dir(name) is not None else None


def subtype(fmt: str) -> str:
    """16-bit PCM where the format has it, else the format's default (e.g. Vorbis for OGG)."""
    import soundfile as sf

    return "PCM_16" if sf.check_format(fmt, "PCM_16") else sf.default_subtype(fmt)


def warn_clipping(dst, writer) -> None:
    if writer.clipped:
        common.warn(f"{dst}: {writer.clipped} samples clipped to [-1, 1] (peak {writer.peak:.3f})")
