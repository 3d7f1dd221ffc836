"""The reader's contract under fuzzing: BitstreamError or a file the writer would write."""

from __future__ import annotations

import pytest

from tests.io.fuzz_bitstream import CORPUS, check, run


def test_a_few_thousand_fuzzed_inputs_hold_the_property():
    counts: dict[str, int] = {}
    run(2000, counts)
    assert sum(counts.values()) >= 2000 and counts.get("rejected", 0) > 0


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.affc")), ids=lambda p: p.stem)
def test_past_failures_stay_fixed(path):
    outcome = check(path.read_bytes())
    # window_one_frame is a well-formed file whose layout only the decoder refuses (a header
    # cannot know the model); see test_windows.test_a_header_layout_other_than_the_models_is_refused
    assert outcome == ("accepted" if path.stem in ("valid", "window_one_frame") else "rejected")
