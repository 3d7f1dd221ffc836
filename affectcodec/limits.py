"""Fixed bounds on what the package accepts from outside: one place to read and change them.

Documented in docs/bitstream.md; every reader of user input (audio files, ``.affc`` headers,
command-line values) checks against these before it sizes any work.
"""

from __future__ import annotations

#: Highest sample rate accepted anywhere (input files, ``.affc`` headers, ``--sample-rate``).
MAX_SAMPLE_RATE = 384_000
