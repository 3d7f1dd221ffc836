"""``make demo``: the main job on the bundled default model.

Until the trained default checkpoint ships, this stops with one line that says so: there is no
demo of an untrained codec.
"""

from __future__ import annotations

import sys

from affectcodec.codec import CheckpointError
from affectcodec.pretrained import resolve


def main() -> int:
    try:
        resolve(None)
    except CheckpointError as exc:
        print(f"affectcodec demo: {exc}", file=sys.stderr)
        return 1
    print("affectcodec demo: the bundled model exists, but the demo job itself is not written yet",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
