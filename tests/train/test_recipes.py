"""Every recipe (and every rung of the ablation ladder) parses and builds the codec it promises."""

from __future__ import annotations

import pytest
import yaml

from affectcodec import AffectCodec
from affectcodec.cli import main as cli_main
from tests.conftest import REPO

RECIPES = REPO / "recipes"
DEFAULT = RECIPES / "affectcodec_16k_small.yaml"

CASES = {
    # name: (config files, quantizer, emotion path, cem, stage-dropout mode, multirate stages)
    "debug": ([RECIPES / "debug.yaml"], "bdrfsq", True, True, "biased", None),
    "default": ([DEFAULT], "bdrfsq", True, True, "biased", [2, 4]),
    "rvq_baseline": ([RECIPES / "rvq_baseline_16k_small.yaml"], "rvq", False, False, "uniform", []),
    "1_rvq": ([DEFAULT, RECIPES / "ablation/1_rvq.yaml"], "rvq", True, False, "uniform", []),
    "2_dense": ([DEFAULT, RECIPES / "ablation/2_dense_rfsq.yaml"], "dense_rfsq", True, False,
                "uniform", []),
    "3_bdrfsq": ([DEFAULT, RECIPES / "ablation/3_bdrfsq.yaml"], "bdrfsq", True, False,
                 "uniform", []),
    "4_multirate": ([DEFAULT, RECIPES / "ablation/4_multirate.yaml"], "bdrfsq", True, False,
                    "biased", [2, 4]),
    "5_cem": ([DEFAULT, RECIPES / "ablation/5_cem.yaml"], "bdrfsq", True, True, "biased", [2, 4]),
    "dac": ([RECIPES / "affectcodec_16k_dac.yaml"], "bdrfsq", True, True, "biased", [2, 4]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_recipe_builds_its_codec(name, capsys):
    files, quantizer, emotion, cem, mode, multirate = CASES[name]
    args = ["train", "fit"]
    for f in files:
        args += ["--config", str(f)]
    with pytest.raises(SystemExit) as exc:
        cli_main([*args, "--print_config"])
    assert exc.value.code in (0, None)
    config = yaml.safe_load(capsys.readouterr().out)
    model = config["model"]
    codec = AffectCodec(**model["codec"]["init_args"])
    assert codec.config["quantizer"] == quantizer
    assert codec.emotion_path is emotion and codec.use_cem is cem
    assert codec.bitrates == [1.5, 3.0, 6.0]  # the same budget on every rung
    assert model["stage_dropout"]["init_args"]["mode"] == mode
    assert model["multirate_stages"] == multirate
    if name == "dac":  # the paper-faithful GPU recipe: DAC-style generator and discriminator
        assert codec.config["generator"] == "dac"
        assert (codec.config["encoder_dim"], codec.config["decoder_dim"]) == (16, 256)
        assert model["discriminator"]["init_args"]["periods"] == [2, 3, 5, 7, 11]
    elif name != "debug":  # same generator, data and steps on every CPU recipe and rung
        assert codec.config["generator"] == "frame"
        assert (codec.config["encoder_dim"], codec.config["decoder_dim"]) == (256, 256)
        assert config["data"]["crop_seconds"] == 1.0 and config["trainer"]["max_steps"] == 200000
        assert config["data"]["manifest"] == ["nemo-16k", "speech-16k"]
        assert len(config["data"]["valid_speakers"]) == 20
        assert model["discriminator"] is None


def test_inference_and_cli_help_do_not_import_lightning():
    import subprocess
    import sys

    code = ("import sys, affectcodec, affectcodec.cli; affectcodec.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('lightning', 'pytorch_lightning') or m.startswith('affectcodec.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
