"""Shared parts of the file commands: finding inputs, planning outputs, loading the model,
running a batch with per-file error reports, progress and warnings.

Not a command itself (the leading underscore keeps it out of the command discovery).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affectcodec.errors import EXIT_FAILURE, EXIT_OK, AffectCodecError, CommandError

#: Commands whose arguments all go to another parser: name -> "package.module:function".
PASSTHROUGH: dict[str, str] = {}


def add_passthrough(subparsers, name: str, help: str, target: str) -> argparse.ArgumentParser:
    """Register a command whose arguments all go to ``target`` (``"package.module:function"``),
    a ``function(argv) -> int | None`` with its own parser, so ``affectcodec NAME --help`` is
    that parser's help. The CLI hands them over unparsed (:func:`run_passthrough`): argparse's
    remainder arguments cannot start with an option. The module is imported only then."""
    PASSTHROUGH[name] = target
    return subparsers.add_parser(name, add_help=False, help=help,
                                 description=f"{help}. Everything after '{name}' goes to {target}.")


def run_passthrough(name: str, argv: list[str]) -> int:
    """Run the pass-through command ``name`` with the arguments after it."""
    module, function = PASSTHROUGH[name].split(":")
    return int(getattr(importlib.import_module(module), function)(argv) or EXIT_OK)


@dataclass(frozen=True)
class Job:
    """One input file and the output it will be written to."""

    src: Path
    dst: Path


def error(message: str) -> None:
    """Print ``affectcodec: error: message`` (one line) to stderr."""
    print(f"affectcodec: error: {one_line(message)}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """Print ``affectcodec: warning: message`` (one line) to stderr."""
    print(f"affectcodec: warning: {one_line(message)}", file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


#: fsutil.atomic_path's temporary names, ``.NAME.PID.RANDOM.part``, and the NAME they stand for.
_TEMPORARY = re.compile(r"\.([^/]+)\.\d+\.[^./]+\.part$")

_OS_HINTS = {errno.ENOSPC: " (free some space, or write elsewhere with -o)",
             errno.EDQUOT: " (over the disk quota; free some space, or write elsewhere with -o)",
             errno.EACCES: " (choose a folder you can write to with -o)",
             errno.EROFS: " (the file system is read-only; write elsewhere with -o)"}


def describe(exc: BaseException) -> str:
    """One line for an exception: expected failures by message, others with their type."""
    # ValueError too: a file the model cannot take (a shape, a rate) is the file's fault, and
    # one file's failure must not hide the others' results in a batch
    if isinstance(exc, (AffectCodecError, ValueError, FileExistsError)):
        return one_line(str(exc))
    if isinstance(exc, OSError) and exc.strerror:
        hint = _OS_HINTS.get(exc.errno, "")
        name = _TEMPORARY.sub(r"\1", str(exc.filename)) if exc.filename else ""  # the real output
        return one_line(f"{exc.strerror}" + (f": {name}" if name else "") + hint)
    return one_line(f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------ arguments
#: The ``--model`` help of the commands that default to the bundled default model.
DEFAULT_MODEL_HELP = "model folder or bundled model name (default: the bundled default model)"


def file_command(subparsers: argparse._SubParsersAction, name: str, *, help: str, description: str,
                 inputs: tuple[str, str], output_help: str, model_help: str = DEFAULT_MODEL_HELP,
                 output_required: bool = False) -> argparse.ArgumentParser:
    """The parser of a command over files or folders (encode, decode, reconstruct): the
    ``inputs`` positional (``(metavar, help)``) and the options of :func:`add_common`."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.add_argument("inputs", nargs="+", metavar=inputs[0], help=inputs[1])
    add_common(parser, output_help=output_help, model_help=model_help, output_required=output_required)
    return parser


def add_common(parser: argparse.ArgumentParser, *, output_help: str, model_help: str,
               output_required: bool = False) -> None:
    parser.add_argument("-o", "--output", metavar="OUT", help=output_help, required=output_required)
    parser.add_argument("--model", metavar="DIR", help=model_help)
    parser.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave inputs whose output exists alone (resumes an interrupted run: "
                             "an output file is written whole or not at all)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def window_seconds(text: str) -> float:
    from affectcodec.limits import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_WINDOW_SECONDS <= value <= MAX_WINDOW_SECONDS:  # refuses inf and nan too
        raise argparse.ArgumentTypeError(f"must be {MIN_WINDOW_SECONDS:g}..{MAX_WINDOW_SECONDS:g} "
                                         f"seconds, got {text}")
    return value


def sample_rate_arg(text: str) -> str | int:
    if text == "source":
        return text
    try:
        rate = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'source' or a rate in Hz, got {text!r}") from None
    from affectcodec.audio import check_rate

    try:
        return check_rate(rate)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def audio_format_arg(text: str) -> str:
    from affectcodec.audio import AudioFileError, output_format

    try:
        output_format(f"x.{text.lstrip('.')}")
    except AudioFileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.lstrip(".").lower()


# ------------------------------------------------------------------------------ inputs, outputs
def find_inputs(paths: Iterable[str], extensions: frozenset[str], what: str
                ) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """Files to process and errors for inputs that gave none.

    Returns:
        ``([(file, path relative to its folder input, or None if given directly)], [errors])``.
        Folders are searched recursively for files with one of ``extensions`` (hidden files
        skipped), in sorted order.
    """
    found: list[tuple[Path, Path | None]] = []
    errors = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower().lstrip(".") in extensions
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                errors.append(f"{text}: no {what} files in this folder (looked for "
                              f"{', '.join('.' + e for e in sorted(extensions)[:8])}"
                              f"{', ...' if len(extensions) > 8 else ''})")
            found += [(p, p.relative_to(path)) for p in files]
        elif path.exists():
            found.append((path, None))
        else:
            errors.append(f"{text}: no such file or folder")
    return found, errors


def plan_outputs(inputs: list[tuple[Path, Path | None]], output: str | None, suffix: str,
                 single_suffixes: frozenset[str], force: bool,
                 skip_existing: bool = False) -> list[Job]:
    """Output path of every input; refuses collisions, overwriting inputs, and (without
    ``force``) existing outputs, before any work starts. With ``skip_existing`` existing
    outputs are allowed; :func:`pending` then leaves their jobs out.

    Rules: without ``-o``, each output is written beside its input with ``suffix``. ``-o`` naming
    a file (its extension in ``single_suffixes``, and not an existing folder) takes exactly one
    input. Otherwise ``-o`` is a folder: files given directly go to its top, files found in a
    folder input keep their path relative to that folder (the tree is mirrored).

    Raises:
        CommandError: the plan is impossible or would overwrite something.
    """
    out = Path(output) if output else None
    single = out is not None and out.suffix.lower().lstrip(".") in single_suffixes and not out.is_dir()
    if single and (len(inputs) != 1 or inputs[0][1] is not None):
        raise CommandError(f"-o {output} names one file, but there are {len(inputs)} inputs; "
                           f"give a folder")
    jobs = []
    for src, rel in inputs:
        if single:
            dst = out
        elif out is None:
            dst = src.with_suffix(suffix)
        elif rel is None:
            dst = out / (src.stem + suffix)
        else:
            dst = out / rel.with_suffix(suffix)
        jobs.append(Job(src, dst))
    seen: dict[Path, Path] = {}
    for job in jobs:
        key = job.dst.resolve()
        if key in seen:
            raise CommandError(f"{seen[key]} and {job.src} would both be written to {job.dst}; "
                               f"rename one or write them to different folders")
        seen[key] = job.src
        if key == job.src.resolve():
            raise CommandError(f"{job.src}: the output would overwrite the input itself")
    for job in jobs:  # a file where a folder must be: say so now, not after the work
        parent = next((p for p in job.dst.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise CommandError(f"{parent} is a file, so {job.dst} cannot be written; give -o a folder")
        if job.dst.is_dir():
            raise CommandError(f"{job.dst} is a folder; it cannot be overwritten by an output file")
    if force and skip_existing:
        raise CommandError("-f and --skip-existing contradict each other; give one")
    if skip_existing:
        return jobs
    existing = [job.dst for job in jobs if job.dst.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise CommandError(f"{existing[0]} exists{more}; use -f to overwrite")
    return jobs


def pending(jobs: list[Job], skip_existing: bool) -> list[Job]:
    """The jobs still to do: all, or with ``skip_existing`` those whose output does not exist
    (outputs are renamed into place whole, so an existing one is complete)."""
    return [job for job in jobs if not (skip_existing and job.dst.exists())]


# ------------------------------------------------------------------------------ model
def check_device(device: str) -> str:
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise CommandError(f"invalid --device {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CommandError(f"--device {device}: CUDA is not available on this machine")
    return device


class Models:
    """Loads models once per folder; remembers each one's identity for the headers."""

    def __init__(self, device: str):
        self.device = check_device(device)
        self._cache: dict[Path, tuple[Any, Any]] = {}

    def get(self, name_or_path: str | None) -> tuple[Any, Any]:
        """``(codec, ModelIdentity)`` of a model folder, bundled name, or the default (None)."""
        from affectcodec import pretrained
        from affectcodec.affc_io import ModelIdentity
        from affectcodec.codec import CheckpointError

        try:
            path = pretrained.resolve(name_or_path).resolve()
            if path not in self._cache:
                codec = pretrained.load(path, device=self.device)
                self._cache[path] = (codec, ModelIdentity.of(codec, path.name))
        except CheckpointError as exc:
            raise CommandError(str(exc)) from None
        return self._cache[path]


def model_and_stages(jobs: list[Job], device: str, model: str | None,
                     kbps: float | None) -> tuple[Any, Any, int | None]:
    """``(codec, identity, n_stages)`` when there is work to do (``(None, None, None)`` otherwise);
    an unsupported ``kbps`` is a CommandError naming the model's rates."""
    if not jobs:
        return None, None, None
    codec, identity = Models(device).get(model)
    try:
        return codec, identity, codec.stages_for(kbps)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


# ------------------------------------------------------------------------------ batches
def run_batch(jobs: list[Job], work: Callable[[Job, Callable[[float], None]], None],
              total_seconds: float, quiet: bool, failures: int = 0) -> int:
    """Run ``work`` on every job; a failing job is reported (one line) and the others go on.

    Args:
        work: processes one job, reporting progress in seconds of audio.
        total_seconds: audio in all jobs, for the progress bar (shown on a terminal for several
            files or more than 30 s of audio, unless ``quiet``).
        failures: failures already reported (inputs that gave no job).

    Returns:
        0 if every job (and every input) succeeded, else 1.
    """
    from tqdm import tqdm

    show = not quiet and sys.stderr.isatty() and (len(jobs) > 1 or total_seconds > 30)
    with tqdm(total=total_seconds, unit="s", disable=not show, file=sys.stderr,
              dynamic_ncols=True, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio "
                                             "[{elapsed}<{remaining}]") as bar:
        for job in jobs:
            bar.set_description(job.src.name[:30])
            try:
                work(job, bar.update)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one file's failure must not stop the batch
                failures += 1
                bar.clear()
                error(f"{job.src}: {describe(exc)}")
    return EXIT_FAILURE if failures else EXIT_OK
