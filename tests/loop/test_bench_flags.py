"""The benches' command lines map onto what they run: a flag that silently does nothing would make a RESULTS
figure claim a setting it never ran, and a rerun of one setting must not overwrite another's section."""

import argparse

import pytest

from bench import efficacy_bench
from bench.loop_bench import parse_size
from bench.loop_chain import ChainSize


def test_loop_bench_defaults_are_the_documented_chain():
    size, section = parse_size([])
    assert section == "loop"
    assert (size.rounds, size.world_prompts, size.overlap, size.annotators) == (2, 100, 3, 3)
    assert size.generator_gate == "critic" and not size.review_pairwise and size.accumulate
    assert size.rated_prompts == ChainSize().rated_prompts and size.world_seeds == (0,)
    assert (size.library_prompts, size.library_seeds) == (300, (0, 1))  # a world library of 600 renders
    assert parse_size(["--library-prompts", "0"])[0].library_prompts == 0  # the runs before it had none


@pytest.mark.parametrize("argv, gate", [(["--gate", "critic_first"], "critic_first"), (["--gate", "people"], "people"),
                                        (["--people-gate"], "people")])
def test_loop_bench_gate_flags(argv, gate):
    size, _ = parse_size(argv)
    assert size.generator_gate == gate


def test_loop_bench_pairwise_review_under_a_people_gate():
    size, section = parse_size(["--gate", "critic_first", "--review-pairwise", "--draw", "2", "--world-seeds", "3",
                                "--no-accumulate", "--library-prompts", "150", "--section", "pairs"])
    assert size.review_pairwise and size.generator_gate == "critic_first"
    assert (size.draw, size.world_seeds, size.accumulate, section) == (2, (0, 1, 2), False, "pairs")
    assert (size.library_prompts, size.library_seeds) == (150, (0, 1))


def test_loop_bench_refuses_a_pairwise_review_nobody_would_run(capsys):
    # under the critic's gate nothing waits for people, so no pairwise campaign would ever be made
    with pytest.raises(SystemExit) as stopped:
        parse_size(["--review-pairwise"])
    assert stopped.value.code == 2
    assert "--review-pairwise needs" in capsys.readouterr().err


def _dpo_args(**changes) -> argparse.Namespace:
    defaults = {"dpo_sft_steps": 300, "dpo_preferences": "people", "dpo_beta": None, "dpo_lr": 3e-4, "guidance": None,
                "first_seed": 0}
    return argparse.Namespace(**{**defaults, **changes})


def test_critic_ranked_dpo_keeps_its_own_section_beside_peoples():
    people = efficacy_bench._dpo_section(_dpo_args())
    critic = efficacy_bench._dpo_section(_dpo_args(dpo_preferences="critic"))
    assert people == "dpo_after_sft_lr_0.0003"  # the section RESULTS.md's people figures were read from
    assert critic == "dpo_after_sft_critic_pairs_lr_0.0003"
    assert efficacy_bench._dpo_section(_dpo_args(dpo_preferences="critic", first_seed=3)).endswith("_seeds_from_3")


def test_a_pairwise_rerun_keeps_the_headline_section():
    def section(**changes):
        return efficacy_bench._pairwise_section(argparse.Namespace(**{"pairwise_validation_pairs": 0, "section_suffix": "",
                                                                      "pairwise_readout": "caption", **changes}))
    assert section() == "pairwise"  # the headline figures RESULTS.md quotes
    assert section(pairwise_validation_pairs=240) == "pairwise_validated_on_240_pairs"
    assert section(section_suffix="_2026_12_08") == "pairwise_2026_12_08"
    assert section(pairwise_readout="questions") == "pairwise_questions_readout"


def test_any_align_arm_runs_with_the_real_data_term_as_arm_lambda_weight():
    from alignment.engine.align.experiment import AlignmentSetup

    known = efficacy_bench._align_arms(AlignmentSetup())
    setup, every_seed = efficacy_bench._align_arm(known, "softmax_per_prompt_lambda_3")
    assert (setup.real_weight, setup.weighting, setup.per_prompt, every_seed) == (3.0, "softmax", True, True)
    assert efficacy_bench._align_arm(known, "best_of_n_lambda") == known["best_of_n_lambda"]  # the named arm, seed 0 only
    assert efficacy_bench._align_arm(known, "softmax_per_prompt_lambda_x") is None
    assert efficacy_bench._align_arm(known, "sideways_lambda_1") is None
