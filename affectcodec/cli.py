"""The ``affectcodec`` console script.

Subcommands live in :mod:`affectcodec.commands` (one module each, discovered there). Expected
failures (:class:`~affectcodec.errors.AffectCodecError` and its subclasses) go through
:func:`fatal`: one line ``affectcodec: error: ...`` on stderr and exit 1 (argparse's usage errors
exit 2); any other exception is a bug and shows its traceback. No module imports this one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from affectcodec import commands
from affectcodec.commands._common import PASSTHROUGH, run_passthrough
from affectcodec.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, AffectCodecError
from affectcodec.version import __version__


def fatal(message: str) -> NoReturn:
    """Print ``affectcodec: error: message`` to stderr and exit 1."""
    print(f"affectcodec: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_FAILURE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` alone when it names one."""
    parser = argparse.ArgumentParser(
        prog="affectcodec",
        description="Emotion-preserving neural speech codec: 16 kHz speech <-> tokens at "
                    "1.5 / 3 / 6 kbit/s.")
    parser.add_argument("--version", action="version", version=f"affectcodec {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in commands.modules(command):
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    if argv and argv[0] in PASSTHROUGH:  # its own parser reads the rest, --help included
        def func(_: object) -> int:
            return run_passthrough(argv[0], argv[1:])
        args = None
    else:
        args = parser.parse_args(argv)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return EXIT_USAGE
    try:
        return int(func(args) or EXIT_OK)
    except AffectCodecError as exc:
        fatal(str(exc))
    except KeyboardInterrupt:
        fatal("interrupted")
    except BrokenPipeError:
        # the reader of our output went away (`affectcodec info x.affc | head`): say nothing more
        # (Python would print a traceback at exit while flushing stdout)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
