"""Property fuzzing of the ``.affc`` reader with hypothesis.

The property: for any bytes, :func:`affectcodec.bitstream.from_bytes` either raises
``BitstreamError`` or returns codes and a header the writer accepts, with tokens in range, which
the writer turns back into the same codes and header. Any other exception, or an accepted file
the writer would refuse, is a failure.

Three generators, each aimed past the checks before it: random mutations of a valid file
(caught mostly by the CRC); a valid prefix and CRC around a random JSON header; and a valid
file with one header field replaced by a random JSON value (huge or negative integers, floats,
strings, nested containers), CRC recomputed, which reaches the field checks.

    python -m tests.io.fuzz_bitstream --examples 100000     # the benchmark (counts in docs/bitstream.md)

The test suite runs a few thousand examples (tests/io/test_bitstream_fuzz.py); files that ever
failed are kept in ``tests/assets/bitstream_corpus`` and re-read by the tests.
"""

from __future__ import annotations

import argparse
import json
import struct
import time
import zlib

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affectcodec import bitstream as bs
from affectcodec.codes import Codes
from tests.conftest import ASSETS

CORPUS = ASSETS / "bitstream_corpus"


def valid_file(levels=(3, 5), stages=3, frames=7) -> bytes:
    """A small valid file: cardinality 15 in 4 bits, 3 stages x 7 frames."""
    num_samples = frames * 320 - 7
    header = bs.Header(
        model_name="m", config_hash="0123456789abcdef", weights_hash="fedcba9876543210",
        source_sample_rate=44100, source_channels=2, source_num_samples=num_samples * 44100 // 16000,
        window=bs.WindowParams(500, 116, 21), encoder="fuzz")
    cardinality = int(np.prod(levels))
    tokens = np.random.default_rng(0).integers(0, cardinality, size=(1, stages, frames))
    codes = Codes(tokens=torch.from_numpy(tokens), lengths=torch.tensor([num_samples]),
                  sample_rate=16000, hop_length=320, cardinality=cardinality, levels=tuple(levels),
                  num_emotion_digits=1)
    return bs.to_bytes(codes, header)


def split(data: bytes) -> tuple[bytes, dict, bytes]:
    hlen = struct.unpack(">I", data[5:9])[0]
    return data[:9], json.loads(data[9:9 + hlen]), data[9 + hlen:-4]


def assemble(prefix: bytes, blob: bytes, payload: bytes) -> bytes:
    body = prefix[:5] + struct.pack(">I", len(blob)) + blob + payload
    return body + struct.pack(">I", zlib.crc32(body))


def check(data: bytes) -> str:
    """Apply the property to one input; returns "accepted" or "rejected", raises on a failure."""
    try:
        codes, header = bs.from_bytes(data)
    except bs.BitstreamError:
        return "rejected"
    tokens = codes.tokens
    assert tokens.shape == (1, codes.num_stages, max(1, int(codes.frame_lengths[0])))
    assert int(tokens.min()) >= 0 and int(tokens.max()) < codes.cardinality
    codes2, again = bs.from_bytes(bs.to_bytes(codes, header))  # the writer accepts it
    assert again == header and bool((codes2.tokens == tokens).all())
    assert torch.equal(codes2.lengths, codes.lengths) and codes2.layout == codes.layout
    assert codes2.source_sample_rate == codes.source_sample_rate == header.source_sample_rate
    return "accepted"


GOOD = valid_file()
PREFIX, HEADER, PAYLOAD = split(GOOD)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                        max_size=4),
    max_leaves=12)


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "extend"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        else:
            data += draw(st.binary(max_size=8))
    return bytes(data)


@st.composite
def random_headers(draw) -> bytes:
    blob = json.dumps(draw(json_values)).encode()
    return assemble(PREFIX, blob, draw(st.sampled_from([PAYLOAD, b"", PAYLOAD + b"\0"])))


@st.composite
def edited_headers(draw) -> bytes:
    header = dict(HEADER)
    for _ in range(draw(st.integers(1, 2))):
        field = draw(st.sampled_from(sorted(header) + ["extra"]))
        header[field] = draw(json_values | st.integers(-(2 ** 40), 2 ** 40))
    blob = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return assemble(PREFIX, blob, PAYLOAD)


inputs = mutated_files() | random_headers() | edited_headers()


def run(examples: int, counts: dict[str, int] | None = None) -> None:
    """Check ``examples`` generated inputs (raises the first failure, with the input)."""

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def prop(data: bytes) -> None:
        outcome = check(data)
        if counts is not None:
            counts[outcome] = counts.get(outcome, 0) + 1

    prop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    counts: dict[str, int] = {}
    start = time.perf_counter()
    run(args.examples, counts)
    corpus = sorted(CORPUS.glob("*.affc"))
    for path in corpus:
        key = "corpus " + check(path.read_bytes())
        counts[key] = counts.get(key, 0) + 1
    print(f"python -m tests.io.fuzz_bitstream --examples {args.examples}: {sum(counts.values())} inputs "
          f"checked in {time.perf_counter() - start:.0f} s, 0 failures; {counts}")


if __name__ == "__main__":
    main()
