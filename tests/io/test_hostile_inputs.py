"""A subset of the hostile-input corpus (tests/io/hostile_inputs.py) on the tiny model: each case
ends in time and memory, without a traceback or a leftover file, refused in one line or
accepted as it should be. The whole corpus: ``python -m tests.io.hostile_inputs``."""

from __future__ import annotations

import pytest

from tests.conftest import tiny_codec
from tests.io import hostile_inputs

# one case per kind of input (the others are covered by their own tests or the full corpus)
SUBSET = ["random bytes .mp3", "/dev/zero", "WAV at 8001 Hz", "model: safetensors header claims 10^12 bytes",
          "info deep_nesting", "decode huge_frames", "--window inf"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    model = tiny_codec(0).save(tmp_path_factory.mktemp("hostile") / "tiny")
    return {r["case"]: r for r in hostile_inputs.run(str(model), SUBSET)}


def test_the_corpus_is_large_enough():
    assert len(hostile_inputs.CASES) >= 40


@pytest.mark.parametrize("name", SUBSET)
def test_hostile_case(results, name):
    assert results[name]["problems"] == [], results[name]
