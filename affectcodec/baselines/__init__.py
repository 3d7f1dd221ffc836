"""Other codecs behind the :class:`~affectcodec.Codec` interface (reference rows of evaluation
and benchmarks): Opus and Codec2 through their command-line tools."""

from affectcodec.baselines.codec2 import Codec2
from affectcodec.baselines.external import ExternalCodec, ExternalCodecError
from affectcodec.baselines.opus import Opus

#: Reference codecs by the name that ``affectcodec eval --model`` and ``bench`` accept.
REFERENCE_CODECS: dict[str, type[ExternalCodec]] = {"opus": Opus, "codec2": Codec2}

__all__ = ["REFERENCE_CODECS", "Codec2", "ExternalCodec", "ExternalCodecError", "Opus"]
