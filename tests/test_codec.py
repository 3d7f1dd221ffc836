import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import affectcodec
from affectcodec import AffectCodec, CheckpointError, Codes
from tests.conftest import data_initialised, tiny_codec


def test_default_architecture_contract():
    codec = AffectCodec().eval()
    assert codec.sample_rate == 16000 and codec.hop_length == 320 and codec.frame_rate == 50
    assert codec.num_stages == 8 and codec.cardinality == 2**15
    assert codec.bitrates == [1.5, 3.0, 6.0]
    wav = torch.randn(2, 1, 16000) * 0.1
    codes = codec.encode(wav, sample_rate=16000, kbps=1.5)
    assert isinstance(codes, Codes)
    assert codes.tokens.shape == (2, 2, 50) and codes.tokens.dtype == torch.int64
    assert codes.kbps == 1.5 and codes.frame_rate == 50
    wav_hat = codec.decode(codes)
    assert wav_hat.shape == (2, 1, 16000) and wav_hat.dtype == torch.float32


@pytest.mark.parametrize("kbps,stages", [(1.5, 2), (3, 4), (3.0, 4), (6, 8)])
def test_kbps_selects_stages(tiny, kbps, stages):
    codes = tiny.encode(torch.randn(3200) * 0.1, kbps=kbps)
    assert codes.num_stages == stages
    assert math.isclose(codes.kbps, kbps)


@pytest.mark.parametrize("kbps", [2.0, 0.75, 12])
def test_unsupported_rate_names_the_supported_ones(tiny, kbps):
    with pytest.raises(ValueError, match=r"supports 1\.5, 3, 6 kbit/s"):
        tiny.encode(torch.randn(3200) * 0.1, kbps=kbps)


def test_random_lengths_and_padded_batches():
    codec = tiny_codec()
    rng = np.random.default_rng(0)
    lengths = [1, 319, 320, 321, 40000] + rng.integers(1, 40001, size=7).tolist()
    rng.shuffle(lengths)
    i = 0
    for batch in (1, 2, 3, 1, 2, 3):
        lens = lengths[i:i + batch]
        i += batch
        items = [torch.randn(n) * 0.3 for n in lens]
        padded = torch.zeros(batch, max(lens))
        for b, x in enumerate(items):
            padded[b, : len(x)] = x
        codes = codec.encode(padded, lengths=torch.tensor(lens))
        out = codec.decode(codes)
        assert out.shape == (batch, 1, max(lens))
        for b, x in enumerate(items):
            alone = codec.encode(x)
            frames = alone.tokens.shape[-1]
            assert frames == math.ceil(len(x) / 320) == int(codes.frame_lengths[b])
            assert torch.equal(alone.tokens[0], codes.tokens[b, :, :frames]), f"length {len(x)}"
            single = codec.decode(alone)
            assert single.shape == (1, 1, len(x))
            assert torch.count_nonzero(out[b, :, len(x):]) == 0  # padding stays silent
    assert i == len(lengths)


def test_tokens_of_a_prefix_equal_the_prefix_of_the_tokens(tiny):
    # The model is causal: frames of a prefix do not depend on what follows (streaming-ready).
    x = torch.randn(16000) * 0.3
    full = tiny.encode(x).tokens
    assert torch.equal(tiny.encode(x[:6400]).tokens, full[..., :20])


@pytest.mark.parametrize("generator", ["frame", "dac"])
def test_encode_window_equals_the_tail_of_encode(generator):
    # Windowed encoding skips the acoustic encoder on the context frames (it needs less context
    # than the emotion path): the kept frames' tokens must not change, bit for bit.
    codec = data_initialised(tiny_codec(generator=generator), torch.randn(2, 1, 32000) * 0.3)
    x = torch.randn(1, 1, 320 * 150) * 0.3
    full = codec.encode(x).tokens
    for first in (0, 1, 37, 149):
        assert torch.equal(codec.encode_window(x, first, codec.num_stages), full[..., first:]), first
    assert torch.equal(codec.encode_window(x, 60, 2), codec.encode(x, n_stages=2).tokens[..., 60:])
    for bad in (-1, 150):
        with pytest.raises(ValueError, match="first_frame"):
            codec.encode_window(x, bad, 2)
    with pytest.raises(ValueError, match="multiple of 320"):
        codec.encode_window(x[..., :-1], 0, 2)


def test_receptive_field_bounds_the_context():
    codec = tiny_codec()
    with torch.no_grad():
        torch.nn.init.normal_(codec.film.gamma.weight, std=0.5)  # make CEM's window matter
    x = torch.randn(1, 1, 64000) * 0.3
    y = x.clone()
    y[..., :320] += 0.5
    with torch.no_grad():
        changed = (codec.latent(x)[0] - codec.latent(y)[0]).abs().amax(1)[0] > 0
    last = int(changed.nonzero().max())
    assert last > 5  # the window carries the change forward ...
    assert (last + 1) * 320 - codec.receptive_field <= 320  # ... but never past the bound


def test_other_rates_and_channels():
    codec = tiny_codec()
    stereo = torch.randn(1, 2, 8000) * 0.1
    with pytest.warns(UserWarning, match="downmixing 2 channels"):
        codes = codec.encode(stereo, sample_rate=8000)
    assert int(codes.lengths[0]) == 16000 and codes.source_sample_rate == 8000
    assert codec.decode(codes).shape == (1, 1, 16000)
    assert codec.decode(codes, sample_rate=8000).shape == (1, 1, 8000)
    mono44 = np.random.default_rng(0).standard_normal(44100).astype(np.float32) * 0.1
    assert codec.decode(codec.encode(mono44, sample_rate=44100)).shape == (1, 1, 16000)


@pytest.mark.parametrize("bad,err", [
    (torch.zeros(0), ValueError),
    (torch.full((100,), float("nan")), ValueError),
    (torch.zeros(1, 1, 1, 100), ValueError),
    (torch.zeros(100, dtype=torch.int16), TypeError),
])
def test_bad_audio_is_rejected(tiny, bad, err):
    with pytest.raises(err):
        tiny.encode(bad)


def test_forward_returns_training_outputs(tiny):
    out = tiny.train()(torch.randn(2, 1, 3000) * 0.1, n_stages=8, partial_stages=(2, 4, 8))
    assert out.audio.shape == (2, 1, 3000)
    assert sorted(out.partial_audio) == [2, 4] and out.partial_audio[2].shape == (2, 1, 3000)
    assert out.codes.shape == (2, 8, 10)
    assert out.teacher_features.shape == out.emotion_prediction.shape == (2, 12, 10)
    assert "vq/commit" in out.quantizer.losses


def test_save_load_round_trip_gives_identical_tokens(tmp_path, tiny):
    x = torch.randn(2, 5000) * 0.3
    tiny.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["model_type"] == "affectcodec" and meta["format_version"] == 2
    assert meta["package_version"] == affectcodec.__version__
    assert meta["config"]["teacher"] == {"name": "prosody", "window_length": 960, "f0_min": 60.0,
                                         "f0_max": 500.0}
    loaded = affectcodec.load(tmp_path / "m")
    assert not loaded.training
    assert torch.equal(loaded.encode(x).tokens, tiny.encode(x).tokens)
    assert loaded.config_hash == tiny.config_hash
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]


def test_weights_with_missing_or_extra_keys_fail_clearly(tmp_path, tiny):
    folder = tiny.save(tmp_path / "m")
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    missing = dict(state)
    missing.pop("decoder.embed.bias")
    save_file(missing, str(weights))
    with pytest.raises(CheckpointError, match=r"missing keys \['decoder.embed.bias'\]"):
        affectcodec.load(folder)
    save_file({**state, "extra.weight": torch.zeros(1)}, str(weights))
    with pytest.raises(CheckpointError, match=r"unexpected keys \['extra.weight'\]"):
        affectcodec.load(folder)
    wrong = dict(state)
    wrong["decoder.embed.bias"] = torch.zeros(3)
    save_file(wrong, str(weights))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        affectcodec.load(folder)
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        affectcodec.load(folder)


def test_bad_model_folders_fail_clearly(tmp_path, tiny):
    with pytest.raises(CheckpointError, match="no model folder"):
        affectcodec.load(tmp_path / "nothing-here")
    folder = tiny.save(tmp_path / "m")
    meta = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(CheckpointError, match="format_version 99"):
        affectcodec.load(folder)
    (folder / "config.json").write_text(json.dumps({**meta, "model_type": "other"}))
    with pytest.raises(CheckpointError, match="unknown model_type"):
        affectcodec.load(folder)
    (folder / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        affectcodec.load(folder)


def test_missing_default_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTCODEC_CHECKPOINTS", str(tmp_path))
    with pytest.raises(CheckpointError, match="no bundled default model"):
        affectcodec.load()


def test_bundled_models_load_by_name(tmp_path, monkeypatch, tiny):
    monkeypatch.setenv("AFFECTCODEC_CHECKPOINTS", str(tmp_path))
    tiny.save(tmp_path / "affectcodec-16k-small")
    assert affectcodec.load().config == tiny.config
    assert affectcodec.load("affectcodec-16k-small").config == tiny.config


def test_rvq_baseline_has_the_same_interface():
    codec = tiny_codec(quantizer="rvq", emotion_path=False, cem=False, n_stages=12,
                       rate_stages=(3, 6, 12))
    assert codec.bitrates == [1.5, 3.0, 6.0] and codec.cardinality == 1024
    codes = codec.encode(torch.randn(4000) * 0.1, kbps=3)
    assert codes.num_stages == 6 and codes.levels is None
    assert codec.decode(codes).shape == (1, 1, 4000)
    with pytest.raises(ValueError, match="no FSQ level layout"):
        codes.emotion_digits()


def test_decode_rejects_codes_of_another_layout(tiny):
    codes = tiny_codec(quantizer="rvq", emotion_path=False, cem=False).encode(torch.randn(640))
    with pytest.raises(ValueError, match="does not match"):
        tiny.decode(codes)


@pytest.mark.parametrize("kwargs,match", [
    (dict(quantizer="vq"), "quantizer must be one of"),
    (dict(emotion_path=False), "needs emotion_path"),
    (dict(rate_stages=(2, 4)), "rate_stages"),
])
def test_invalid_configs_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_codec(**kwargs)


def test_format_version_1_folders_load_as_the_dac_generator_with_softplus_scales(tmp_path):
    # Folders written before format 2 have no "generator" / "fsq_scale" keys.
    old = tiny_codec(generator="dac", encoder_dim=4, decoder_dim=16, fsq_scale="softplus")
    folder = old.save(tmp_path / "v1")
    meta = json.loads((folder / "config.json").read_text())
    meta["format_version"] = 1
    del meta["config"]["generator"], meta["config"]["fsq_scale"]
    (folder / "config.json").write_text(json.dumps(meta))
    loaded = AffectCodec.from_pretrained(folder)
    assert loaded.config["generator"] == "dac" and loaded.config["fsq_scale"] == "softplus"
    x = torch.randn(1, 4000) * 0.3
    assert torch.equal(loaded.encode(x).tokens, old.encode(x).tokens)


def test_the_token_layout_is_on_the_codec_interface(tiny):
    """Callers build Codes through ``codec.codes`` and read the layout from the codec, never
    from its quantizer: the factory gives what encode gives."""
    wav = torch.randn(1, 1, 3200)
    codes = tiny.encode(wav)
    again = tiny.codes(codes.tokens, codes.lengths, source_sample_rate=codes.source_sample_rate)
    assert torch.equal(again.tokens, codes.tokens) and torch.equal(again.lengths, codes.lengths)
    assert (again.levels, again.num_emotion_digits, again.cardinality) == \
        (codes.levels, codes.num_emotion_digits, codes.cardinality)
    assert codes.num_emotion_digits == 3
    assert tiny.levels == (2, 2, 2, 4, 4, 4, 4, 4, 4)
    rvq = tiny_codec(quantizer="rvq", emotion_path=False, cem=False)
    assert rvq.levels is None and rvq.num_emotion_digits == 0
    assert rvq.codes(torch.zeros(1, 2, 5, dtype=torch.int64), torch.tensor([1600])).levels is None


def test_which_codecs_the_file_layer_takes_is_on_the_interface(tiny):
    """``supports_affc`` replaces ``isinstance(codec, AffectCodec)`` in callers: AffectCodec
    models (the RVQ baseline too) run in windows and write .affc files, the wrapped codecs do not,
    and the file layer says so instead of failing on a missing attribute."""
    from affectcodec.baselines import REFERENCE_CODECS
    from affectcodec.windows import window_layout

    rvq = tiny_codec(quantizer="rvq", emotion_path=False, cem=False)
    assert tiny.supports_affc and rvq.supports_affc
    assert window_layout(rvq).frames == 500
    for cls in REFERENCE_CODECS.values():
        other = cls()
        assert not other.supports_affc
        with pytest.raises(TypeError, match="cannot be encoded in windows"):
            window_layout(other)


def test_saved_model_files_get_the_usual_mode(tmp_path, tiny):
    """save() writes through fsutil.atomic_path: the files appear whole, with the mode the umask
    gives (not the 0600 of a temporary file), and no temporary file stays behind."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    folder = tiny.save(tmp_path / "m")
    for name in ("config.json", "model.safetensors"):
        assert (folder / name).stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
