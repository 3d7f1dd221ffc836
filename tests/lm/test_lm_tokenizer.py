import numpy as np
import pytest
import torch

from affectcodec.lm import Tokenizer
from tests.conftest import tiny_codec

LAYOUTS = ["interleave", "delay", "stage_major"]


@pytest.fixture(scope="module")
def codec():
    return tiny_codec()


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) * 0.3 for n in (3000, 700, 1)]


def configs():
    for layout in LAYOUTS:
        for factorized in (False, True):
            for shared in (False, True):
                yield layout, factorized, shared


@pytest.mark.parametrize("layout,factorized,shared", list(configs()))
def test_ids_round_trip_to_the_codec_tokens(codec, signals, layout, factorized, shared):
    tok = Tokenizer(codec, layout=layout, kbps=3, factorized=factorized, shared_vocab=shared,
                    stage_markers=layout == "stage_major")
    batch = tok.encode_batch(signals)
    codes = tok.ids_to_codes(batch.ids)
    for b, x in enumerate(signals):
        alone = codec.encode(x, kbps=3)
        frames = alone.tokens.shape[-1]
        assert int(batch.frames[b]) == frames == int(codes.frame_lengths[b])
        assert torch.equal(codes.tokens[b, :, :frames], alone.tokens[0])
        single = tok.encode_batch([x])
        n = int(single.attention_mask.sum())
        assert torch.equal(batch.ids[b, :n], single.ids[0, :n])  # batch equals single
        assert (batch.ids[b, n:] == tok.vocab.pad_id).all() and batch.attention_mask[b, n:].sum() == 0


def test_special_tokens_and_vocabulary_arithmetic(codec):
    k, c = 4, 2**15
    tok = Tokenizer(codec, kbps=3)
    assert tok.vocab_size == k * c + 3 and tok.tokens_per_second == k * 50
    assert tok.special_tokens() == {"PAD": k * c, "BOS": k * c + 1, "EOS": k * c + 2}
    assert tok.vocab.offsets == (0, c, 2 * c, 3 * c)
    assert Tokenizer(codec, kbps=3, shared_vocab=True).vocab_size == c + 3
    fac = Tokenizer(codec, kbps=1.5, factorized=True)
    assert fac.vocab.cardinalities == (8, 4096, 8, 4096)
    assert fac.vocab_size == 2 * (8 + 4096) + 3 and fac.tokens_per_second == 200
    assert Tokenizer(codec, kbps=1.5, factorized=True, shared_vocab=True).vocab_size == 8 + 4096 + 3
    marked = Tokenizer(codec, layout="stage_major", kbps=6, stage_markers=True)
    assert marked.vocab_size == 8 * c + 3 + 8 and marked.special_tokens()["STAGE_7"] == 8 * c + 10
    ids = marked.encode_batch([np.zeros(640, np.float32)]).ids[0]
    assert ids[0] == marked.vocab.bos_id and ids[1] == marked.vocab.marker_id(0)
    assert ids[-1] == marked.vocab.eos_id and ids.numel() == 1 + 8 * (1 + 2) + 1


def test_interleave_and_delay_positions(codec):
    x = np.random.default_rng(1).standard_normal(960).astype(np.float32)  # 3 frames
    tokens = codec.encode(x, kbps=1.5).tokens[0]  # [2, 3]
    c = 2**15
    inter = Tokenizer(codec, kbps=1.5).encode_batch([x]).ids[0, 1:-1]
    assert inter.tolist() == [tokens[0, 0], c + tokens[1, 0], tokens[0, 1], c + tokens[1, 1],
                              tokens[0, 2], c + tokens[1, 2]]
    delay = Tokenizer(codec, layout="delay", kbps=1.5).encode_batch([x]).ids[0, 1:-1]
    pad = 2 * c
    assert delay.tolist() == [tokens[0, 0], pad, tokens[0, 1], c + tokens[1, 0], tokens[0, 2],
                              c + tokens[1, 1], pad, c + tokens[1, 2]]


def test_factorised_view_splits_emotion_and_acoustic(codec):
    x = np.random.default_rng(2).standard_normal(640).astype(np.float32)
    codes = codec.encode(x, kbps=1.5)
    emotion, acoustic = codes.split_tokens()
    ids = Tokenizer(codec, kbps=1.5, factorized=True).encode_batch([x]).ids[0, 1:-1]
    expected = [emotion[0, 0, 0], 8 + acoustic[0, 0, 0], 8 + 4096 + emotion[0, 1, 0],
                16 + 4096 + acoustic[0, 1, 0]]
    assert ids[:4].tolist() == [int(v) for v in expected]


@pytest.mark.parametrize("mutate,match", [
    (lambda ids, v: ids.__setitem__(1, v.size), "ids must be in"),
    (lambda ids, v: ids.__setitem__(-1, v.pad_id), "BOS ... EOS"),
    (lambda ids, v: ids.__setitem__(0, 5), "BOS ... EOS"),
    (lambda ids, v: ids.__setitem__(2, v.eos_id), "special id"),
    (lambda ids, v: ids.__setitem__(1, v.offsets[1]), "outside that stream's range"),
])
def test_malformed_ids_raise_clear_errors(codec, mutate, match):
    tok = Tokenizer(codec, kbps=1.5)
    ids = tok.encode_batch([np.zeros(1600, np.float32)]).ids[0].clone()
    mutate(ids, tok.vocab)
    with pytest.raises(ValueError, match=match):
        tok.ids_to_codes(ids[None])


def test_malformed_layout_lengths_raise(codec):
    tok = Tokenizer(codec, kbps=1.5)
    v = tok.vocab
    with pytest.raises(ValueError, match="multiple of 2"):
        tok.ids_to_codes([[v.bos_id, 1, 2, 3, v.eos_id]])
    delay = Tokenizer(codec, layout="delay", kbps=1.5)
    ids = delay.encode_batch([np.zeros(960, np.float32)]).ids[0].clone()
    ids[2] = 7  # the PAD slot of the delayed second stream
    with pytest.raises(ValueError, match="padding positions"):
        delay.ids_to_codes(ids[None])
    with pytest.raises(ValueError, match="stage markers are only"):
        Tokenizer(codec, layout="interleave", stage_markers=True)


def test_decode_batch_and_datasets_helper(codec, signals):
    tok = Tokenizer(codec, kbps=6)
    wavs = tok.decode_batch(tok.encode_batch(signals).ids)
    assert [w.shape for w in wavs] == [(1, 3200), (1, 960), (1, 320)]
    fn = tok.datasets_map_fn()
    out = fn({"audio": [{"array": s, "sampling_rate": 16000} for s in signals]})
    assert [len(ids) for ids in out["input_ids"]] == [2 + 8 * 10, 2 + 8 * 3, 2 + 8]
    assert out["attention_mask"][2] == [1] * 10


def test_rvq_baseline_and_factorised_guard():
    rvq = tiny_codec(quantizer="rvq", emotion_path=False, cem=False, n_stages=12, rate_stages=(3, 6, 12))
    tok = Tokenizer(rvq, kbps=1.5)
    assert tok.num_stages == 3 and tok.vocab_size == 3 * 1024 + 3
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
    assert torch.equal(tok.ids_to_codes(tok.encode_batch([x]).ids).tokens, rvq.encode(x, kbps=1.5).tokens)
    with pytest.raises(ValueError, match="emotion partition"):
        Tokenizer(rvq, factorized=True)
