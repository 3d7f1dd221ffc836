"""AffectCodec: an emotion-preserving neural speech codec (16 kHz, 1.5 / 3 / 6 kbit/s).

Public API::

    import affectcodec
    codec = affectcodec.AffectCodec()            # default small architecture, random weights
    codes = codec.encode(wav, sample_rate=16000, kbps=1.5)   # Codes, tokens int64 [B, K, T]
    wav_hat = codec.decode(codes)                 # float32 [B, 1, N]
    codec.save("out/mymodel"); codec = affectcodec.load("out/mymodel")
"""


from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from affectcodec.version import __version__

# The public names load their module on first use (PEP 562): `import affectcodec` stays free of
# torch, so the command line answers `--help`, `info` and usage errors without loading it.
_LAZY = {"AffectCodec": "affectcodec.codec", "CheckpointError": "affectcodec.codec",
         "CodecOutput": "affectcodec.codec", "Codes": "affectcodec.codes",
         "Codec": "affectcodec.interface", "DEFAULT_MODEL": "affectcodec.pretrained",
         "load": "affectcodec.pretrained"}

if TYPE_CHECKING:
    from affectcodec.codec import AffectCodec, CheckpointError, CodecOutput
    from affectcodec.codes import Codes
    from affectcodec.interface import Codec
    from affectcodec.pretrained import DEFAULT_MODEL, load


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'affectcodec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["DEFAULT_MODEL", "AffectCodec", "CheckpointError", "Codec", "CodecOutput", "Codes",
           "__version__", "load"]
