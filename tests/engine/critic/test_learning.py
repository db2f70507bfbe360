"""Learning must be shown: the tiny critic trained on noisy synthetic annotations (the oracle plus
10% label noise), compared on held-out videos against the oracle's truth and the majority-class
baseline, per dimension. The experiment itself lives in the engine (critic/experiment.py) so the
bench runs the same code with more set-ups; bench/RESULTS.md (Critic) records both.
"""

import json

import pytest

from alignment.engine.critic.experiment import LearningSetup, run_learning_experiment, summary
from alignment.engine.critic.questions import DIMENSIONS

# The CI set-up (bench/RESULTS.md, Critic): 4 frames of 56x56 at patch 7, lr 1e-3 (3e-4 learns half as
# fast here), the rating word alone, and a curriculum: fidelity queries alone first (the per-frame
# dimension, which teaches the vision tower and the answer position to read the video), then all three
# dimensions through LoRA on the language model with the vision tower frozen, which teaches semantic and
# motion their priors without eroding fidelity (a full mixed phase took it from 0.92 to 0.78-0.89).
# 6000 fresh videos, each seen about six times (500 videos in 25 epochs were memorised, not learnt).
CI_SETUP = LearningSetup(train_videos=6000, patch_size=7, learning_rate=1e-3, rating_weight=5.0, with_reasons=False,
                         first_dimensions=("fidelity",), first_steps=1200, steps=300, then_finetune="lora")


@pytest.mark.slow
def test_tiny_critic_learns_fidelity_and_beats_majority(tmp_path):
    report = run_learning_experiment(CI_SETUP, tmp_path)
    print("\nlearning experiment:", json.dumps(summary(report), indent=1), f"train {report['train_s']:.0f} s")
    assert report["fidelity"]["accuracy"] >= 0.9, summary(report)
    for dim in DIMENSIONS:
        assert report[dim]["accuracy"] >= report[dim]["majority_accuracy"] - 0.05, (dim, summary(report))
