"""The ``.affc`` token file: write, read and validate (specification: ``docs/bitstream.md``).

A file holds the :class:`~affectcodec.Codes` of one recording (tokens [1, K, T]) and a
:class:`Header`: what the container records beyond the codes (the model, the source file, the
window layout). :func:`to_json` and :func:`from_json` are the one mapping between the two and
the JSON header, each way.

Layout (all integers big-endian)::

    magic          4 bytes   b"AFFC"
    version        1 byte    FORMAT_VERSION (1)
    header length  4 bytes   unsigned, 2 .. MAX_HEADER_BYTES
    header         UTF-8 JSON object (:func:`to_json`), canonical: sorted keys, no spaces
    payload        ceil(frames * stages * bits_per_token / 8) bytes of bit-packed tokens
    crc32          4 bytes   zlib.crc32 of every byte before it (magic .. end of payload)

Tokens are stored frame-major (``token[t, k]`` at index ``t * stages + k``), each in
``bits_per_token = ceil(log2(cardinality))`` bits (15 for the default 2^15 layout; codebooks need
not be powers of two), packed least-significant bit first into a little-endian bit stream; unused
bits of the last byte are zero. Every check the reader makes raises :class:`BitstreamError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from affectcodec.errors import AffectCodecError
from affectcodec.limits import MAX_SAMPLE_RATE

if TYPE_CHECKING:  # torch is imported where tensors are made: `affectcodec info` needs none
    import torch
    from torch import Tensor

    from affectcodec.codes import Codes

MAGIC = b"AFFC"
FORMAT_VERSION = 1
#: Upper bound of the JSON header; a larger length field means a corrupt or foreign file.
MAX_HEADER_BYTES = 65536
#: Upper bound of stages per file (a sanity bound, far above any model).
MAX_STAGES = 64
#: Widest token the writer packs (``pack_tokens``); the reader refuses wider cardinalities.
MAX_TOKEN_BITS = 32
#: Longest signal a header may describe, in samples (about 2 years at 16 kHz). The payload's
#: own size bounds real files far below; this keeps every derived count a small integer.
MAX_SAMPLES = 1 << 40
#: The header is JSON of depth 2 (the window object, the level list); deeper is refused
#: before parsing, so no nesting can exhaust the parser's recursion.
MAX_HEADER_DEPTH = 4
SUFFIX = ".affc"
_PREFIX = struct.Struct(">4sBI")


class BitstreamError(AffectCodecError, ValueError):
    """A ``.affc`` file that cannot be read or written: wrong magic, unsupported version, bad or
    oversized header, truncated or overlong payload, CRC mismatch, tokens out of range.

    The message is one line naming what is wrong.
    """


@dataclass(frozen=True)
class WindowParams:
    """How the encoder (and decoder) cut a long file into windows (see ``affectcodec.windows``).

    Attributes:
        frames: frames per window (W).
        context_frames: frames of left context encoded before each window and discarded (C);
            at least the model's receptive field, so tokens equal whole-file tokens.
        decoder_context_frames: tokens of left context decoded before each window (C_d).
    """

    frames: int
    context_frames: int
    decoder_context_frames: int


@dataclass(frozen=True)
class Header:
    """What a ``.affc`` file records beyond its :class:`~affectcodec.Codes`.

    The token layout (sample rate, hop, cardinality, levels, emotion digits), the sample count
    and the shape are the codes' own; these are the container's.

    Attributes:
        model_name: name of the model folder that encoded the file (informational).
        config_hash: :attr:`AffectCodec.config_hash` of that model (its architecture).
        weights_hash: :func:`weights_hash` of that model (its trained weights).
        source_sample_rate: rate of the input file (Hz).
        source_channels: channels of the input file (downmixed to mono before encoding).
        source_num_samples: samples per channel of the input file.
        window: the window layout the file was encoded with.
        encoder: software that wrote the file (e.g. ``"affectcodec 0.1.0"``).
    """

    model_name: str
    config_hash: str
    weights_hash: str
    source_sample_rate: int
    source_channels: int
    source_num_samples: int
    window: WindowParams
    encoder: str = field(default="")


def bits_for(cardinality: int) -> int:
    """Bits needed to store one token of ``cardinality`` values: ``max(1, ceil(log2(c)))``."""
    if cardinality < 1:
        raise ValueError(f"cardinality must be >= 1, got {cardinality}")
    return max(1, (int(cardinality) - 1).bit_length())


def weights_hash(model: torch.nn.Module) -> str:
    """Short SHA-256 of a model's state dict (names, dtypes, shapes and values, in name order).

    Identifies trained weights independently of how the file storing them was written.
    """
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        # reshape(-1): a 0-dim tensor (BatchNorm's num_batches_tracked) cannot be viewed as bytes;
        # for every other tensor the bytes, and so the hash, are the same as without it.
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------ bit packing
def pack_tokens(tokens: np.ndarray, bits: int) -> bytes:
    """Pack non-negative integers (any shape, C order) into ``bits`` bits each, LSB first.

    Raises:
        BitstreamError: a token is negative or does not fit in ``bits`` bits.
    """
    flat = np.ascontiguousarray(tokens, dtype=np.int64).reshape(-1)
    if not 1 <= bits <= 32:
        raise BitstreamError(f"bits per token must be in 1..32, got {bits}")
    if flat.size and (flat.min() < 0 or flat.max() >= (1 << bits)):
        raise BitstreamError(f"token values must be in 0..{(1 << bits) - 1} to fit {bits} bits")
    # One row of `bits` bits per token; chunks keep the uint8 bit matrix small for long files.
    out = []
    shifts = np.arange(bits, dtype=np.int64)
    step = 1 << 16  # tokens per chunk: a multiple of 8, so chunks end on byte boundaries
    for start in range(0, flat.size, step):
        chunk = flat[start:start + step]
        bit_matrix = ((chunk[:, None] >> shifts) & 1).astype(np.uint8)
        out.append(np.packbits(bit_matrix.reshape(-1), bitorder="little").tobytes())
    return b"".join(out)


def unpack_tokens(data: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_tokens`: int64 [count] from ``ceil(count * bits / 8)`` bytes.

    Raises:
        BitstreamError: wrong byte count, or non-zero padding bits after the last token.
    """
    expected = packed_size(count, bits)
    if len(data) != expected:
        raise BitstreamError(f"payload has {len(data)} bytes, expected {expected} for "
                             f"{count} tokens of {bits} bits")
    raw = np.frombuffer(data, dtype=np.uint8)
    weights = (1 << np.arange(bits, dtype=np.int64))
    out = np.empty(count, dtype=np.int64)
    step = 1 << 16
    for start in range(0, count, step):
        n = min(step, count - start)
        byte0 = start * bits // 8  # start * bits is a multiple of 8 (step is)
        nbytes = -(-n * bits // 8)
        bit_matrix = np.unpackbits(raw[byte0:byte0 + nbytes], bitorder="little", count=n * bits)
        out[start:start + n] = bit_matrix.reshape(n, bits).astype(np.int64) @ weights
    pad = expected * 8 - count * bits
    if pad and int(raw[-1]) >> (8 - pad):
        raise BitstreamError("payload padding bits after the last token are not zero")
    return out


def packed_size(count: int, bits: int) -> int:
    """Bytes of ``count`` tokens of ``bits`` bits."""
    return -(-count * bits // 8)


# ------------------------------------------------------------------------------ header checks
_INT_FIELDS = ("source_sample_rate", "source_channels", "source_num_samples", "sample_rate",
               "hop_length", "num_samples", "num_frames", "num_stages", "cardinality",
               "num_emotion_digits", "bits_per_token")
_STR_FIELDS = ("model_name", "config_hash", "weights_hash", "encoder")
_DERIVED = ("frame_rate", "kbps")
_WINDOW_FIELDS = ("frames", "context_frames", "decoder_context_frames")
#: Every stored field, in the order of the specification (and of ``affectcodec info``).
_FIELDS = ("model_name", "config_hash", "weights_hash", "source_sample_rate", "source_channels",
           "source_num_samples", "sample_rate", "hop_length", "num_samples", "num_frames",
           "num_stages", "cardinality", "levels", "num_emotion_digits", "bits_per_token", "window",
           "encoder")


#: Range of every integer field (``num_stages`` and the level layout are checked apart).
_INT_RANGES = {
    "source_sample_rate": (1, MAX_SAMPLE_RATE), "sample_rate": (1, MAX_SAMPLE_RATE),
    "source_channels": (1, 1 << 16), "source_num_samples": (1, MAX_SAMPLES),
    "num_samples": (1, MAX_SAMPLES), "hop_length": (1, MAX_SAMPLE_RATE),
    "num_frames": (1, MAX_SAMPLES), "cardinality": (1, 1 << MAX_TOKEN_BITS),
    "bits_per_token": (1, MAX_TOKEN_BITS), "num_emotion_digits": (0, MAX_TOKEN_BITS),
}
_WINDOW_MAX = MAX_SAMPLES


def _json_depth(blob: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text, outside strings (a linear scan)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in blob:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _derived(obj: dict[str, Any]) -> dict[str, float]:
    """The informational fields, from the stored ones: ``frame_rate`` and ``kbps``."""
    frame_rate = obj["sample_rate"] / obj["hop_length"]
    kbps = obj["num_stages"] * math.log2(obj["cardinality"]) * frame_rate / 1000.0
    return {"frame_rate": frame_rate, "kbps": round(kbps, 6)}


def check_header(obj: Any) -> dict[str, Any]:
    """Validate a parsed JSON header (fields, types, ranges, consistency).

    Returns:
        The header in canonical form: every stored field in the specification's order, then the
        derived ``frame_rate`` and ``kbps`` (what :func:`to_json` writes and ``affectcodec info``
        prints).

    Raises:
        BitstreamError: naming the first field that is missing, of the wrong type or inconsistent.
    """
    if not isinstance(obj, dict):
        raise BitstreamError(f"header must be a JSON object, got {type(obj).__name__}")
    known = set(_INT_FIELDS) | set(_STR_FIELDS) | set(_DERIVED) | {"levels", "window"}
    unknown = sorted(set(obj) - known)
    if unknown:
        raise BitstreamError(f"header has unknown fields {unknown}")
    for name in _INT_FIELDS + _STR_FIELDS + ("levels", "window"):
        if name not in obj:
            raise BitstreamError(f"header is missing the field {name!r}")
    for name in _INT_FIELDS:
        if not _is_int(obj[name]):
            raise BitstreamError(f"header field {name!r} must be an integer, got {str(obj[name])[:40]!r}")
    for name in _STR_FIELDS:
        if not isinstance(obj[name], str) or len(obj[name]) > 256:
            raise BitstreamError(f"header field {name!r} must be a string (<= 256 characters)")
    for name, (low, high) in _INT_RANGES.items():
        if not low <= obj[name] <= high:
            raise BitstreamError(f"header field {name!r} must be in {low}..{high}, got {obj[name]}")
    if not 1 <= obj["num_stages"] <= MAX_STAGES:
        raise BitstreamError(f"header field 'num_stages' must be in 1..{MAX_STAGES}, "
                             f"got {obj['num_stages']}")
    levels = obj["levels"]
    if levels is not None:
        # each level >= 2 and their product <= 2**32: at most 32 of them, each <= the cardinality
        if not isinstance(levels, list) or not 1 <= len(levels) <= MAX_TOKEN_BITS \
                or not all(_is_int(x) and 2 <= x <= obj["cardinality"] for x in levels):
            raise BitstreamError(f"header field 'levels' must be null or a list of 1..{MAX_TOKEN_BITS} "
                                 f"integers in 2..cardinality, got {str(levels)[:80]}")
        if math.prod(levels) != obj["cardinality"]:
            raise BitstreamError(f"header levels {levels} do not multiply to cardinality "
                                 f"{obj['cardinality']}")
        levels = tuple(levels)
    if not 0 <= obj["num_emotion_digits"] <= (len(levels) if levels else 0):
        raise BitstreamError(f"header field 'num_emotion_digits' {obj['num_emotion_digits']} is out "
                             f"of range for levels {obj['levels']}")
    if obj["bits_per_token"] != bits_for(obj["cardinality"]):
        raise BitstreamError(f"header bits_per_token {obj['bits_per_token']} does not match "
                             f"cardinality {obj['cardinality']} (needs {bits_for(obj['cardinality'])})")
    # ceil(source_num_samples * sample_rate / source_sample_rate) (audio.resampled_length): the
    # decoder writes source_num_samples samples, so a larger claim would be padded with silence
    expected = -(-obj["source_num_samples"] * obj["sample_rate"] // obj["source_sample_rate"])
    if obj["num_samples"] != expected:
        raise BitstreamError(f"header num_samples {obj['num_samples']} does not match "
                             f"source_num_samples {obj['source_num_samples']} at "
                             f"{obj['source_sample_rate']} Hz ({expected} at {obj['sample_rate']} Hz)")
    frames = max(1, -(-obj["num_samples"] // obj["hop_length"]))
    if obj["num_frames"] != frames:
        raise BitstreamError(f"header num_frames {obj['num_frames']} does not match num_samples "
                             f"{obj['num_samples']} / hop_length {obj['hop_length']} ({frames})")
    window = obj["window"]
    if not isinstance(window, dict) or set(window) != set(_WINDOW_FIELDS):
        raise BitstreamError(f"header field 'window' must be an object with {list(_WINDOW_FIELDS)}")
    if not all(_is_int(window[k]) and 0 <= window[k] <= _WINDOW_MAX for k in _WINDOW_FIELDS) \
            or window["frames"] < 1:
        raise BitstreamError(f"header window values must be integers in 0..{_WINDOW_MAX} "
                             f"(frames >= 1), got {window}")
    canonical = {k: obj[k] for k in _FIELDS}
    canonical["window"] = {k: window[k] for k in _WINDOW_FIELDS}
    derived = _derived(canonical)
    for name in _DERIVED:  # optional, informational; if present they must agree
        if name in obj:
            value, mine = obj[name], derived[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not math.isclose(value, mine, rel_tol=1e-9):
                raise BitstreamError(f"header field {name!r} is {value!r}, expected {mine}")
    return canonical | derived


# ------------------------------------------------------------------------------ Codes <-> JSON
def to_json(codes: Codes, header: Header) -> dict[str, Any]:
    """The checked JSON header (canonical form, :func:`check_header`) of a file holding ``codes``.

    The layout fields are the codes' own (:data:`~affectcodec.codes.LAYOUT_FIELDS`, stored under
    the same names); ``num_samples``, ``num_frames`` and ``num_stages`` are ``lengths[0]``, T and
    K; ``bits_per_token`` follows from the cardinality; the rest is ``header``'s.

    Args:
        codes: one item: tokens int [1, K, T] (``T = max(1, ceil(lengths[0] / hop_length))``);
            ``source_sample_rate``, if set, must be ``header``'s.
        header: what the file records beyond the codes.

    Raises:
        BitstreamError: more than one item, frames that do not match the length, another source
            rate than the header's, or a field out of range.
    """
    if codes.tokens.dim() != 3 or codes.tokens.shape[0] != 1:
        raise BitstreamError(f"a .affc file holds one item: tokens [1, K, T], got shape "
                             f"{tuple(codes.tokens.shape)}")
    if codes.source_sample_rate not in (None, header.source_sample_rate):
        raise BitstreamError(f"codes of a {codes.source_sample_rate} Hz source with a header of a "
                             f"{header.source_sample_rate} Hz source")
    cardinality = codes.cardinality
    stored = {**asdict(header), **codes.layout, "num_samples": int(codes.lengths[0]),
              "num_frames": int(codes.tokens.shape[-1]), "num_stages": codes.num_stages,
              "bits_per_token": bits_for(cardinality) if cardinality >= 1 else 0}
    if stored["levels"] is not None:
        stored["levels"] = list(stored["levels"])
    hop, num_samples, frames = stored["hop_length"], stored["num_samples"], stored["num_frames"]
    if hop >= 1 and frames != max(1, -(-num_samples // hop)):
        raise BitstreamError(f"tokens of {frames} frames do not match the length of {num_samples} "
                             f"samples ({max(1, -(-num_samples // hop))} frames of {hop})")
    return check_header({k: stored[k] for k in _FIELDS})


def from_json(obj: Any, tokens: Tensor) -> tuple[Codes, Header]:
    """Inverse of :func:`to_json`: the codes and header of a checked JSON header and its tokens.

    Args:
        obj: a parsed JSON header (checked here by :func:`check_header`).
        tokens: int [1, K, T], K and T as the header says.

    Raises:
        BitstreamError: the header is invalid, or the tokens' shape is not the header's.
    """
    import torch

    from affectcodec.codes import Codes

    obj = check_header(obj)
    shape = (1, obj["num_stages"], obj["num_frames"])
    if tuple(tokens.shape) != shape:
        raise BitstreamError(f"tokens of shape {tuple(tokens.shape)} do not match the header {list(shape)}")
    header = Header(**{f.name: obj[f.name] for f in fields(Header) if f.name != "window"},
                    window=WindowParams(**obj["window"]))
    codes = Codes.from_layout(tokens, torch.tensor([obj["num_samples"]]), obj,
                              source_sample_rate=obj["source_sample_rate"])
    return codes, header


# ------------------------------------------------------------------------------ write / read
def to_bytes(codes: Codes, header: Header) -> bytes:
    """Serialise one item's codes and its header (arguments as :func:`to_json`).

    Raises:
        BitstreamError: what :func:`to_json` raises, or a token >= the cardinality.
    """
    obj = to_json(codes, header)  # checked: what we are about to write
    arr = codes.tokens[0].detach().cpu().numpy()  # [K, T]
    if arr.size and (arr.min() < 0 or arr.max() >= obj["cardinality"]):
        raise BitstreamError(f"token values must be in 0..{obj['cardinality'] - 1}")
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    if len(blob) > MAX_HEADER_BYTES:
        raise BitstreamError(f"header of {len(blob)} bytes exceeds {MAX_HEADER_BYTES}")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(blob)) + blob + \
        pack_tokens(arr.T, obj["bits_per_token"])  # [T, K]: frame-major
    return body + struct.pack(">I", zlib.crc32(body))


#: Bytes read at a time: a size claimed by a header is never allocated before it is on disk.
_READ_CHUNK = 1 << 20


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = f.read(min(n - got, _READ_CHUNK))
        if not chunk:
            raise BitstreamError(f"truncated file: {what} needs {n} bytes, only {got} left")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_from(f: BinaryIO) -> tuple[Codes, Header]:
    """Read and fully validate one ``.affc`` stream from a binary file object.

    Returns:
        ``(codes, header)``: codes with tokens int64 [1, K, T], ``lengths`` [1] the encoded
        samples at the model rate, the file's token layout and source rate.

    Raises:
        BitstreamError: anything wrong, in this order: magic, version, header length, header
            JSON, header fields, payload length (truncated or trailing bytes), CRC, padding
            bits, token values against the cardinality.
    """
    import torch

    obj, flat = _read_validated(f)
    tokens = torch.from_numpy(flat.reshape(obj["num_frames"], obj["num_stages"]).T.copy())
    return from_json(obj, tokens[None])


def _read_validated(f: BinaryIO) -> tuple[dict[str, Any], np.ndarray]:
    """:func:`read_from`'s checks; the canonical header and the tokens as int64 [T * K],
    frame-major."""
    magic, version, hlen = _PREFIX.unpack(_read_exact(f, _PREFIX.size, "the file prefix"))
    if magic != MAGIC:
        raise BitstreamError(f"not an .affc file (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported .affc format version {version} (this package reads "
                             f"version {FORMAT_VERSION}; upgrade affectcodec)")
    if not 2 <= hlen <= MAX_HEADER_BYTES:
        raise BitstreamError(f"header length {hlen} is outside 2..{MAX_HEADER_BYTES} (corrupt file)")
    blob = _read_exact(f, hlen, "the header")
    if _json_depth(blob) > MAX_HEADER_DEPTH:
        raise BitstreamError(f"header JSON is nested deeper than {MAX_HEADER_DEPTH} levels")
    try:
        obj = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: also integers of > 4300 digits
        raise BitstreamError(f"header is not valid UTF-8 JSON ({str(exc)[:120]})") from None
    header = check_header(obj)
    count = header["num_frames"] * header["num_stages"]
    payload = _read_exact(f, packed_size(count, header["bits_per_token"]), "the token payload")
    (crc,) = struct.unpack(">I", _read_exact(f, 4, "the CRC32"))
    if f.read(1):
        raise BitstreamError("trailing bytes after the CRC32")
    actual = zlib.crc32(payload, zlib.crc32(blob, zlib.crc32(_PREFIX.pack(magic, version, hlen))))
    if crc != actual:
        raise BitstreamError(f"CRC32 mismatch (stored {crc:08x}, computed {actual:08x}): the file is "
                             f"corrupt")
    flat = unpack_tokens(payload, count, header["bits_per_token"])
    if count and int(flat.max()) >= header["cardinality"]:
        bad = int(np.argmax(flat >= header["cardinality"]))
        raise BitstreamError(f"token {int(flat[bad])} at frame {bad // header['num_stages']}, stage "
                             f"{bad % header['num_stages']} is >= the cardinality {header['cardinality']}")
    return header, flat


def from_bytes(data: bytes) -> tuple[Codes, Header]:
    """:func:`read_from` over bytes in memory."""
    return read_from(io.BytesIO(data))


def read(path: str | os.PathLike) -> tuple[Codes, Header]:
    """Read and validate a ``.affc`` file: ``(codes, header)``, tokens int64 [1, K, T].

    Raises:
        BitstreamError: the file is not a valid ``.affc`` file (see :func:`read_from`).
        OSError: it cannot be opened.
    """
    with open(path, "rb") as f:
        return read_from(f)


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """The validated header of a ``.affc`` file in canonical form (:func:`check_header`), without
    torch; the payload and CRC are checked too."""
    with open(path, "rb") as f:
        return _read_validated(f)[0]


def write(path: str | os.PathLike, codes: Codes, header: Header) -> Path:
    """Write a ``.affc`` file (not atomic: the CLI writes to a temporary name and renames)."""
    path = Path(path)
    path.write_bytes(to_bytes(codes, header))
    return path
