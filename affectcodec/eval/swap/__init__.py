"""The emotion-swap experiment (``affectcodec swap-eval``): pairs and runs (:mod:`.swap_experiment`),
figures (:mod:`.swap_statistics`), report.md and pairs.tsv (:mod:`.swap_report`), all of it
in one call (:func:`evaluate_swap`, :mod:`.swap_evaluation`)."""

from affectcodec.eval.bootstrap import bootstrap_difference
from affectcodec.eval.swap.swap_evaluation import OUTPUTS, evaluate_swap
from affectcodec.eval.swap.swap_experiment import (
    MODES,
    decode_swaps,
    judge_outputs,
    ordered_pairs,
    pick_groups,
    run_experiment,
    sentence_groups,
)
from affectcodec.eval.swap.swap_report import pairs_tsv, report_markdown
from affectcodec.eval.swap.swap_statistics import KINDS, summarise

__all__ = ["KINDS", "MODES", "OUTPUTS", "bootstrap_difference", "decode_swaps", "evaluate_swap",
           "judge_outputs", "ordered_pairs", "pairs_tsv", "pick_groups", "report_markdown", "run_experiment",
           "sentence_groups", "summarise"]
