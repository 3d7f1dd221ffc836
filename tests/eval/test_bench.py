import json
import subprocess

from tests.test_package import console_script


def test_bench_json_schema(tmp_path):
    # Timing values are not asserted (tests never depend on timing); the schema is.
    out = tmp_path / "bench.json"
    proc = subprocess.run(console_script() + ["bench", "--random", "--seconds", "0.5", "--repeats", "1",
                                              "--vs", "none", "--json", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "x realtime" in proc.stdout and "command: affectcodec bench" in proc.stdout
    (row,) = json.loads(out.read_text())
    assert row["name"] == "affectcodec (random)" and row["threads"] >= 1
    for key in ("encode_rtf", "decode_rtf", "encode_rtf_batch8", "decode_rtf_batch8", "peak_rss_mb"):
        assert row[key] > 0


def test_dac_wrapper_implements_the_codec_interface():
    import torch

    from affectcodec.eval.dac import DACCodec

    dac = DACCodec.architecture_16k()
    assert dac.bitrates == [1.5, 3.0, 6.0] and dac.hop_length == 320 and dac.cardinality == 1024
    codes = dac.encode(torch.randn(1, 3000) * 0.1, kbps=3)
    assert codes.tokens.shape == (1, 6, 10) and codes.kbps == 3.0
    assert dac.decode(codes).shape == (1, 1, 3000)


def test_bench_without_a_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTCODEC_CHECKPOINTS", str(tmp_path))
    proc = subprocess.run(console_script() + ["bench", "--seconds", "1"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("affectcodec: error: no bundled default model")
    assert len(proc.stderr.strip().splitlines()) == 1
