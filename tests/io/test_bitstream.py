"""The .affc container: bit packing, round trips over random layouts, and every reader check."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from affectcodec import affc_io
from affectcodec import bitstream as bs
from affectcodec.bitstream import BitstreamError, Header, WindowParams
from affectcodec.codes import Codes
from tests.conftest import tiny_codec


def make_file(tokens, levels=(2, 2, 2, 4, 4, 4, 4, 4, 4), cardinality=None, hop=320,
              **overrides) -> tuple[Codes, Header]:
    """One item's codes (tokens int [K, T]) and a header, of a 44.1 kHz stereo source."""
    tokens = torch.as_tensor(tokens)
    frames = tokens.shape[-1]
    num_samples = frames * hop - 7
    codes = Codes(tokens=tokens[None].long(), lengths=torch.tensor([num_samples]), sample_rate=16000,
                  hop_length=hop, cardinality=cardinality or math.prod(levels),
                  levels=tuple(levels) if levels else None,
                  num_emotion_digits=min(3, len(levels)) if levels else 0)
    fields = dict(model_name="m", config_hash="0123456789abcdef", weights_hash="fedcba9876543210",
                  source_sample_rate=44100, source_channels=2,
                  # ceil(source * 16000 / 44100) == num_samples, as the writer computes it
                  source_num_samples=num_samples * 44100 // 16000,
                  window=WindowParams(1000, 116, 21), encoder="test")
    fields.update(overrides)
    return codes, Header(**fields)


def same_codes(a: Codes, b: Codes) -> bool:
    return torch.equal(a.tokens, b.tokens) and a.tokens.dtype == b.tokens.dtype == torch.int64 \
        and torch.equal(a.lengths, b.lengths) and a.layout == b.layout \
        and a.source_sample_rate == b.source_sample_rate


def test_default_layout_is_15_bits_per_token():
    codec = tiny_codec()
    assert codec.cardinality == 2**15 and bs.bits_for(codec.cardinality) == 15
    assert [bs.bits_for(c) for c in (1, 2, 3, 4, 5, 1000, 1024, 1025, 2**31)] == \
        [1, 1, 2, 2, 3, 10, 10, 11, 31]


@pytest.mark.parametrize("bits", [1, 2, 7, 8, 9, 15, 16, 17, 31, 32])
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(bits)
    for count in (0, 1, 7, 8, 9, 1000, 70001):  # 70001 spans several internal chunks
        tokens = rng.integers(0, 1 << bits, size=count, dtype=np.int64)
        data = bs.pack_tokens(tokens, bits)
        assert len(data) == math.ceil(count * bits / 8)
        assert np.array_equal(bs.unpack_tokens(data, count, bits), tokens)


def test_packing_is_lsb_first_little_endian():
    # 3-bit tokens 1, 2, 7 -> bits 100 010 111 (LSB first) -> bytes 0b11010001, 0b00000001
    assert bs.pack_tokens(np.array([1, 2, 7]), 3) == bytes([0b11010001, 0b00000001])


def test_round_trip_property_over_random_shapes_and_layouts():
    rng = np.random.default_rng(0)
    for trial in range(150):
        if trial % 5 == 0:  # codebook tokens: any cardinality, no level layout
            levels, cardinality = None, int(rng.integers(1, 5000))
        else:
            levels = tuple(int(x) for x in rng.integers(2, 8, size=int(rng.integers(1, 10))))
            cardinality = None
        stages = int(rng.integers(1, 9))
        frames = int(rng.integers(1, 400))
        cardinality = cardinality or math.prod(levels)
        tokens = torch.from_numpy(rng.integers(0, cardinality, size=(stages, frames)))
        codes, header = make_file(tokens, levels=levels, cardinality=cardinality)
        data = bs.to_bytes(codes, header)
        hlen = struct.unpack(">I", data[5:9])[0]
        assert len(data) == 9 + hlen + math.ceil(stages * frames * bs.bits_for(cardinality) / 8) + 4
        codes2, header2 = bs.from_bytes(data)
        assert header2 == header
        assert same_codes(codes2, replace(codes, source_sample_rate=44100))
        assert codes2.tokens.shape == (1, stages, frames)


def test_writer_is_deterministic_and_rejects_bad_tokens():
    codes, header = make_file(torch.arange(8).reshape(2, 4), levels=(3, 5))
    assert bs.to_bytes(codes, header) == bs.to_bytes(replace(codes, tokens=codes.tokens.clone()), header)
    with pytest.raises(BitstreamError, match="0..14"):
        bs.to_bytes(replace(codes, tokens=torch.full((1, 2, 4), 15)), header)
    with pytest.raises(BitstreamError, match="tokens of 5 frames do not match the length"):
        bs.to_bytes(replace(codes, tokens=torch.zeros(1, 2, 5, dtype=torch.int64)), header)
    with pytest.raises(BitstreamError, match="one item"):
        bs.to_bytes(replace(codes, tokens=codes.tokens.expand(2, 2, 4), lengths=codes.lengths.expand(2)),
                    header)
    with pytest.raises(BitstreamError, match="22050 Hz source"):
        bs.to_bytes(replace(codes, source_sample_rate=22050), header)
    with pytest.raises(BitstreamError, match="'hop_length' must be in 1.."):  # not a ZeroDivisionError
        bs.to_bytes(replace(codes, hop_length=0), header)


# ------------------------------------------------------------------------------ reader checks
def rebuild(prefix: bytes, header_obj: dict | bytes, payload: bytes) -> bytes:
    blob = header_obj if isinstance(header_obj, bytes) else \
        json.dumps(header_obj, sort_keys=True, separators=(",", ":")).encode()
    body = prefix[:5] + struct.pack(">I", len(blob)) + blob + payload
    return body + struct.pack(">I", zlib.crc32(body))


def parts(data: bytes) -> tuple[bytes, dict, bytes]:
    hlen = struct.unpack(">I", data[5:9])[0]
    return data[:9], json.loads(data[9:9 + hlen]), data[9 + hlen:-4]


@pytest.fixture
def good() -> bytes:
    tokens = torch.from_numpy(np.random.default_rng(0).integers(0, 15, size=(3, 7)))
    return bs.to_bytes(*make_file(tokens, levels=(3, 5)))  # cardinality 15 in 4 bits


def test_good_file_reads(good):
    codes, header = bs.from_bytes(good)
    assert codes.tokens.shape == (1, 3, 7) and parts(good)[1]["bits_per_token"] == 4
    assert codes.layout == {"sample_rate": 16000, "hop_length": 320, "cardinality": 15,
                            "levels": (3, 5), "num_emotion_digits": 2}
    assert codes.source_sample_rate == header.source_sample_rate == 44100
    assert int(codes.lengths[0]) == 7 * 320 - 7 and codes.kbps == 3 * math.log2(15) * 50 / 1000


@pytest.mark.parametrize("mutate,match", [
    (lambda d: b"RIFF" + d[4:], "not an .affc file"),
    (lambda d: d[:4] + bytes([2]) + d[5:], "unsupported .affc format version 2"),
    (lambda d: d[:5] + struct.pack(">I", 2**31) + d[9:], "header length 2147483648 is outside"),
    (lambda d: d[:5] + struct.pack(">I", 1) + d[9:], "header length 1 is outside"),
    (lambda d: d[:-6], "truncated file: the token payload"),
    (lambda d: d[:-2], "truncated file: the CRC32"),
    (lambda d: d[:3], "truncated file: the file prefix"),
    (lambda d: d + b"\0", "trailing bytes"),
    (lambda d: d[:-7] + bytes([d[-7] ^ 0x10]) + d[-6:], "CRC32 mismatch"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "CRC32 mismatch"),
])
def test_corrupt_files_raise_one_error_type(good, mutate, match):
    with pytest.raises(BitstreamError, match=match):
        bs.from_bytes(mutate(good))


@pytest.mark.parametrize("edit,match", [
    (lambda h: h.pop("num_frames"), "missing the field 'num_frames'"),
    (lambda h: h.update(num_frames="7"), "'num_frames' must be an integer"),
    (lambda h: h.update(num_stages=True), "'num_stages' must be an integer"),
    (lambda h: h.update(num_frames=8), "num_frames 8 does not match"),
    (lambda h: h.update(levels=[3, 4]), "do not multiply to cardinality"),
    (lambda h: h.update(bits_per_token=5), "bits_per_token 5 does not match"),
    (lambda h: h.update(extra=1), "unknown fields \\['extra'\\]"),
    (lambda h: h.update(window={"frames": 0, "context_frames": 1, "decoder_context_frames": 1}),
     "window values"),
    (lambda h: h.update(kbps=9.0), "'kbps' is 9.0"),
    (lambda h: h.update(num_stages=0), "'num_stages' must be in 1..64"),
    (lambda h: h.update(sample_rate=0), "'sample_rate' must be in 1..384000"),
    (lambda h: h.update(source_sample_rate=384_001), "'source_sample_rate' must be in 1..384000"),
    (lambda h: h.update(num_samples=2 ** 41, num_frames=2 ** 41 // 320), "'num_samples' must be in"),
    (lambda h: h.update(cardinality=2 ** 40, levels=[2 ** 20, 2 ** 20], bits_per_token=40),
     "'cardinality' must be in 1..4294967296"),
    (lambda h: h.update(levels=[2] * 40), "'levels' must be null or a list of 1..32"),
    (lambda h: h.update(levels=[15, 10 ** 4000]), "'levels' must be null or a list"),
    (lambda h: h.update(window={"frames": 10 ** 30, "context_frames": 1, "decoder_context_frames": 1}),
     "window values"),
    (lambda h: h.update(num_emotion_digits=-1), "'num_emotion_digits' must be in 0..32"),
    # 2 x 10^8 source samples claimed for 7 frames: the decoder padded its output to the claim
    (lambda h: h.update(source_num_samples=2 * 10 ** 8), "num_samples .* does not match source"),
])
def test_bad_header_fields(good, edit, match):
    prefix, header, payload = parts(good)
    edit(header)
    with pytest.raises(BitstreamError, match=match):
        bs.from_bytes(rebuild(prefix, header, payload))


def test_header_that_is_not_json(good):
    prefix, _, payload = parts(good)
    with pytest.raises(BitstreamError, match="not valid UTF-8 JSON"):
        bs.from_bytes(rebuild(prefix, b"\xff{not json", payload))
    with pytest.raises(BitstreamError, match="must be a JSON object"):
        bs.from_bytes(rebuild(prefix, b"[1, 2]", payload))


@pytest.mark.parametrize("blob,match", [
    (b"[" * 30_000 + b"]" * 30_000, "nested deeper than 4"),          # RecursionError before
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper than 4"),
    (b'{"num_frames":' + b"9" * 5000 + b"}", "not valid UTF-8 JSON"),  # int() digit limit
    (b'{"model_name":"[[[[[[[[[[\\"]]]]]]"}', "missing the field"),  # brackets inside a string
])
def test_hostile_header_json_is_one_error(good, blob, match):
    prefix, _, payload = parts(good)
    with pytest.raises(BitstreamError, match=match):
        bs.from_bytes(rebuild(prefix, blob, payload))


def test_a_claimed_payload_is_not_allocated_before_it_is_read(good):
    # 10^9 frames, a 1.5 GB payload claimed: the reader used to ask for it in one read
    prefix, header, payload = parts(good)
    header.update(num_samples=10 ** 9 * 320, num_frames=10 ** 9, source_sample_rate=16000)
    header.update(source_num_samples=header["num_samples"])
    header.pop("kbps", None), header.pop("frame_rate", None)
    with pytest.raises(BitstreamError, match="truncated file: the token payload"):
        bs.from_bytes(rebuild(prefix, header, payload))


def test_the_reader_refuses_what_the_writer_refuses(good):
    _, header, _ = parts(good)
    for edit in ({"cardinality": 2 ** 33, "levels": [2 ** 17, 2 ** 16], "bits_per_token": 33},
                 {"sample_rate": 10 ** 6}):
        obj = {**header, **edit}
        obj.pop("kbps", None), obj.pop("frame_rate", None)
        with pytest.raises(BitstreamError):
            bs.check_header(obj)
    # and the writer itself cannot pack wider tokens
    with pytest.raises(BitstreamError, match="1..32"):
        bs.pack_tokens(np.zeros(3, dtype=np.int64), 33)


def test_token_beyond_cardinality_with_a_valid_crc(good):
    prefix, header, payload = parts(good)
    tokens = bs.unpack_tokens(payload, 21, 4)
    tokens[11] = 15  # fits 4 bits, but the layout (3, 5) has 15 values: 0..14
    with pytest.raises(BitstreamError, match=r"token 15 at frame 3, stage 2 is >= the cardinality 15"):
        bs.from_bytes(rebuild(prefix, header, bs.pack_tokens(tokens, 4)))


def test_nonzero_padding_bits_with_a_valid_crc(good):
    prefix, header, payload = parts(good)  # 21 tokens x 4 bits = 84 bits -> 4 padding bits
    with pytest.raises(BitstreamError, match="padding bits"):
        bs.from_bytes(rebuild(prefix, header, payload[:-1] + bytes([payload[-1] | 0x80])))


# ------------------------------------------------------------------------------ sizes
@pytest.mark.parametrize("kbps", [1.5, 3.0, 6.0])
def test_file_size_matches_the_nominal_bitrate(tmp_path, nemo, kbps):
    codec = tiny_codec()
    names = sorted((nemo / "audio").glob("EB0_neutral_*.flac"))[:3]
    wav = np.concatenate([sf.read(str(p), dtype="float32")[0] for p in names])
    src = tmp_path / "speech.flac"
    sf.write(str(src), wav, 16000)
    codes, _ = affc_io.encode_file(codec, src, tmp_path / "speech.affc", kbps=kbps)
    size = (tmp_path / "speech.affc").stat().st_size
    hlen = struct.unpack(">I", (tmp_path / "speech.affc").read_bytes()[5:9])[0]
    overhead = 9 + hlen + 4
    duration = len(wav) / 16000
    nominal = kbps * 1000 * duration / 8
    assert duration > 5 and codes.kbps == kbps
    assert abs((size - overhead) - nominal) / nominal < 0.01, (size, overhead, nominal)
    assert overhead < 700  # the header is small next to the payload


# ------------------------------------------------------------------------------ model identity
def test_weights_hash_covers_zero_dim_buffers_and_keeps_earlier_hashes():
    # The learned SER teacher has BatchNorm layers, whose num_batches_tracked is a 0-dim int64.
    net = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.BatchNorm1d(2))
    before = bs.weights_hash(net)
    net[1].num_batches_tracked += 1
    assert bs.weights_hash(net) != before
    # Models without 0-dim tensors hash as before the fix (the bytes hashed are unchanged).
    codec = tiny_codec()
    digest = hashlib.sha256()
    for name, t in sorted(codec.state_dict().items()):
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.contiguous().view(torch.uint8).numpy().tobytes())
    assert bs.weights_hash(codec) == digest.hexdigest()[:16]
