"""Speaker statistics and the speaker-adapted head, with known answers."""

from __future__ import annotations

import pytest
import torch

from affectcodec.judges.adaptation import SpeakerHead, SpeakerStats


def test_speaker_offset_is_removed(tmp_path):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(40, 3, generator=g, dtype=torch.float64)
    a = SpeakerStats.from_embeddings(base)
    b = SpeakerStats.from_embeddings(base * 3 + 10)  # same voice pattern, other level and range
    assert torch.allclose(a.normalise(base), b.normalise(base * 3 + 10), atol=1e-6)
    assert torch.allclose(a.normalise(base).mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-9)
    with pytest.raises(ValueError, match="at least 5 utterances"):
        SpeakerStats.from_embeddings(base[:3])

    # class = sign of dimension 0 after speaker normalisation
    head = SpeakerHead(torch.zeros(3), torch.ones(3), torch.tensor([[-50.0, 0, 0], [50.0, 0, 0]]),
                       torch.zeros(2), {"C": 1.0})
    shifted = base * 3 + 10  # every raw value positive: a speaker-independent rule would say 1
    pred = head.proba(shifted, b).argmax(-1)
    assert torch.equal(pred, (base[:, 0] > base[:, 0].mean()).long())
    head.save(tmp_path)
    again = SpeakerHead.load(tmp_path)
    assert again.info == {"C": 1.0} and torch.equal(again.proba(shifted, b), head.proba(shifted, b))
    assert SpeakerHead.load(tmp_path / "none") is None


def test_speaker_head_is_a_released_folder_and_old_sidecars_still_load(tmp_path):
    from safetensors.torch import save_file

    from affectcodec.model_dir import read_meta

    head = SpeakerHead(torch.zeros(2), torch.ones(2), torch.eye(2), torch.zeros(2), {"C": 0.1})
    head.save(tmp_path / "new")
    assert read_meta(tmp_path / "new" / "speaker_head")["model_type"] == "speaker_head"
    # the two-file form written before the folder format
    old = tmp_path / "old"
    old.mkdir()
    save_file({"mean": head.mean, "scale": head.scale, "coef": head.coef, "intercept": head.intercept},
              str(old / "speaker_head.safetensors"))
    (old / "speaker_head.json").write_text('{"C": 0.1}')
    again = SpeakerHead.load(old)
    assert again.info == {"C": 0.1} and torch.equal(again.coef, head.coef)
    head.save(old)  # rewriting replaces the stale sidecar files
    assert sorted(p.name for p in old.iterdir()) == ["speaker_head"]
