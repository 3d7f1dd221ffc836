"""Fixed bounds on what the package accepts from outside: one place to read and change them.

Documented in docs/bitstream.md; every reader of user input (audio files, ``.affc`` headers,
command-line values) checks against these before it sizes any work.
"""

from __future__ import annotations

#: Highest sample rate accepted anywhere (input files, ``.affc`` headers, ``--sample-rate``).
MAX_SAMPLE_RATE = 384_000

#: Shortest and longest encoder window (``--window``, ``window_layout``). Shorter windows would
#: repeat the model's context for little audio (1-frame windows made a decode quadratic);
#: longer ones only cost memory. A header's window must lie in the same range.
MIN_WINDOW_SECONDS = 1.0
MAX_WINDOW_SECONDS = 3600.0
