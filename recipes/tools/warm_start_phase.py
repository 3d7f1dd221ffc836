"""Give a frame-generator training checkpoint phase inputs, keeping what it computes.

    python recipes/tools/warm_start_phase.py IN.ckpt OUT.ckpt

The encoder's first 1x1 convolution gains the input channels of the phase features
(``encoder_phase: true``); their weights, and the AdamW moments of those weights, start at zero,
so the model computes exactly what it did, and training resumes from ``OUT.ckpt`` (with the
recipe plus ``--model.codec.init_args.encoder_phase true``) at the same step, optimiser state
and schedule. Lightning checkpoints are this project's own files: loaded with
``weights_only=True``.
"""

from __future__ import annotations

import sys

import torch

KEY = "codec.encoder.embed.weight"


def main(src: str, dst: str) -> None:
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    old = ckpt["state_dict"][KEY]  # [dim, bins * subframes, 1] (magnitude features only)
    dim, channels, k = old.shape
    new_shape = (dim, channels * 3, k)  # log|S|, then real and imaginary parts: see frame_encoder

    def widen(t: torch.Tensor) -> torch.Tensor:
        # the log-magnitude channels keep their index: FrameEncoder stacks a frame's sub-frames
        # as channel = feature * subframes + subframe, and the magnitude features come first
        return torch.cat([t, t.new_zeros(dim, channels * 2, k)], dim=1)

    ckpt["state_dict"][KEY] = widen(old)
    hits = 0
    for opt in ckpt["optimizer_states"]:
        for state in opt["state"].values():
            if state.get("exp_avg") is not None and state["exp_avg"].shape == old.shape:
                state["exp_avg"], state["exp_avg_sq"] = widen(state["exp_avg"]), widen(state["exp_avg_sq"])
                hits += 1
    if hits != 1:
        raise SystemExit(f"expected one optimiser state of shape {tuple(old.shape)}, found {hits}")
    torch.save(ckpt, dst)
    print(f"{KEY}: {tuple(old.shape)} -> {new_shape}; wrote {dst}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
