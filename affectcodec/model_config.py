"""Checks of a codec's ``config.json`` before anything is built from it.

A model folder may come from anywhere, and ``AffectCodec(**config)`` allocates what the config
asks for: a width of 10^5 took 2.4 GB, ``n_stages`` 10^6 ran for 88 s, a negative width escaped
as a ``RuntimeError``. :func:`check_codec_config` bounds every argument's type and range, and
the size of the model they describe, so a hostile folder costs a one-line error. The bounds
are far above every recipe (the widest, DAC's 44 kHz decoder, is 1,536 channels).
"""

from __future__ import annotations

import math
import re
from typing import Any

from affectcodec.limits import MAX_SAMPLE_RATE

#: Largest model a folder may describe (parameters, estimated from the config before building).
MAX_PARAMETERS = 300_000_000
#: A bundled model's name: a plain folder name of ``checkpoints/`` (no path, not ``.``/``..``).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_INT_RANGES: dict[str, tuple[int, int]] = {
    "sample_rate": (1, MAX_SAMPLE_RATE), "encoder_dim": (1, 2048), "decoder_dim": (1, 2048),
    "encoder_blocks": (0, 32), "decoder_blocks": (0, 32), "decoder_upsample": (1, 16),
    "decoder_post_blocks": (0, 32), "encoder_n_fft": (16, 8192), "decoder_n_fft": (16, 8192),
    "emotion_dim": (1, 1024), "acoustic_dim": (1, 2048), "n_stages": (1, 64),
    "rvq_codebook_size": (2, 1 << 16), "rvq_codebook_dim": (1, 1024), "cem_window": (1, 100_000),
    "adapter_dim": (1, 1024),
}
_BOOLS = ("encoder_phase", "emotion_path", "cem")
_STRINGS = ("generator", "quantizer", "fsq_scale")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(config: dict[str, Any], name: str, low: int, high: int, max_len: int) -> list[int]:
    value = config[name]
    if not isinstance(value, list) or not 1 <= len(value) <= max_len \
            or not all(_is_int(x) and low <= x <= high for x in value):
        raise ValueError(f"{name!r} must be a list of 1..{max_len} integers in {low}..{high}, "
                         f"got {str(value)[:60]}")
    return value


def is_bundled_name(name: Any) -> bool:
    """Whether ``name`` has the form of a bundled model's name (see :data:`NAME_PATTERN`)."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def check_teacher_spec(spec: Any) -> None:
    """A teacher spec is ``{"name": str, ...}`` with scalar or short-list arguments; a
    ``pretrained`` folder must be a bundled name (a config cannot point elsewhere on disk)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or len(spec) > 32:
        raise ValueError("'teacher' must be an object with a 'name' string")
    for key, value in spec.items():
        ok = (isinstance(value, (bool, str)) and len(str(value)) <= 128) \
            or (isinstance(value, (int, float)) and abs(value) <= 1e6) \
            or (isinstance(value, list) and len(value) <= 64
                and all((_is_int(x) and 0 <= x <= 4096) or (isinstance(x, str) and len(x) <= 64)
                        for x in value)) or value is None
        if not ok:
            raise ValueError(f"teacher argument {key!r} must be a small scalar or list, "
                             f"got {str(value)[:60]}")
    pretrained = spec.get("pretrained")
    if pretrained is not None and not is_bundled_name(pretrained):
        raise ValueError(f"teacher 'pretrained' must name a bundled model, got {str(pretrained)[:60]!r}")


def estimated_parameters(config: dict[str, Any]) -> int:
    """An upper estimate of the parameters ``config`` builds (checked before building)."""
    if config.get("generator", "frame") == "frame":
        enc, dec = config.get("encoder_dim") or 256, config.get("decoder_dim") or 256
        bins = (config.get("encoder_n_fft", 640) // 2 + 1) * 3 * 2
        stacks = (config.get("encoder_blocks", 4) * enc * enc
                  + (config.get("decoder_blocks", 6) + config.get("decoder_post_blocks", 1)) * dec * dec)
        generator = 9 * stacks + bins * enc + dec * dec * config.get("decoder_upsample", 2) \
            + dec * (config.get("decoder_n_fft", 640) + 2)
    else:  # DAC-style: widths double per encoder block and halve per decoder block
        n = len(config.get("strides", [2, 4, 5, 8]))
        enc = (config.get("encoder_dim") or 16) * 2 ** n
        dec = config.get("decoder_dim") or 256
        generator = 40 * (enc * enc + dec * dec) * max(s for s in config.get("strides", [8]))
    latent = config.get("emotion_dim", 64) + config.get("acoustic_dim", 256)
    quantizer = config.get("n_stages", 8) * (4 * latent * latent
                                             + config.get("rvq_codebook_size", 1024) * latent)
    return int(generator + quantizer)


def check_codec_config(config: Any) -> None:
    """Raise ValueError (one line) unless ``config`` is a codec config within the bounds.

    Every argument present must have its type and range; unknown arguments are left to the
    constructor (it refuses them). Also bounds the composite token to 32 bits and the model
    to :data:`MAX_PARAMETERS`.
    """
    if not isinstance(config, dict):
        raise ValueError("'config' must be an object")
    for name, (low, high) in _INT_RANGES.items():
        if name in config and config[name] is not None:
            if not _is_int(config[name]) or not low <= config[name] <= high:
                raise ValueError(f"{name!r} must be an integer in {low}..{high}, "
                                 f"got {str(config[name])[:40]}")
    for name in _BOOLS:
        if name in config and not isinstance(config[name], bool):
            raise ValueError(f"{name!r} must be true or false, got {str(config[name])[:40]}")
    for name in _STRINGS:
        if name in config and not (isinstance(config[name], str) and len(config[name]) <= 32):
            raise ValueError(f"{name!r} must be a short string, got {str(config[name])[:40]}")
    if "strides" in config:
        strides = _int_list(config, "strides", 1, 64, 8)
        if math.prod(strides) > 8192:
            raise ValueError(f"'strides' multiply to {math.prod(strides)} > 8192")
    levels = [config[k] for k in ("emotion_levels", "acoustic_levels") if k in config]
    for name in ("emotion_levels", "acoustic_levels"):
        if name in config:
            _int_list(config, name, 2, 1 << 16, 32)
    if levels and math.prod(math.prod(x) for x in levels) > 1 << 32:
        raise ValueError("the FSQ levels describe a token wider than 32 bits")
    if "rate_stages" in config:
        _int_list(config, "rate_stages", 1, 64, 64)
    if "teacher" in config and config["teacher"] is not None:
        check_teacher_spec(config["teacher"])
    size = estimated_parameters(config)
    if size > MAX_PARAMETERS:
        raise ValueError(f"the config describes about {size:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} a model folder may hold")
