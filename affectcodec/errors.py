"""The package's base error: every *expected* failure derives from :class:`AffectCodecError`.

The command line prints an ``AffectCodecError`` as one line and exits 1; any other exception is
a bug and shows as one (a traceback). The concrete errors (:class:`~affectcodec.audio.AudioFileError`,
:class:`~affectcodec.bitstream.BitstreamError`, :class:`~affectcodec.codec.CheckpointError`, ...)
also derive from ``ValueError`` or ``RuntimeError``, as they always have, so existing ``except``
clauses keep working.
"""

from __future__ import annotations

#: Exit statuses of the console script (argparse's usage errors exit 2).
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class AffectCodecError(Exception):
    """Base of every expected failure: bad input, a missing or invalid model, a failed tool."""


class CommandError(AffectCodecError):
    """A command's expected failure that no more specific error describes (bad arguments,
    an output that exists, an empty manifest)."""


class EvaluationError(AffectCodecError, ValueError):
    """An evaluation that cannot run as asked (``affectcodec.eval``): an unknown metric, a rate
    a model does not have, an unreadable manifest, an empty split, outputs that exist."""
