"""The critic trains on two processes exactly as on one (CPU, gloo), and a run killed mid-way on two
resumes on one.

torchrun starts the ranks (ACCELERATE_USE_CPU=1, as for the align trainer); each takes half of the
global batch, and the loss is normalised by the global batch's class weights, so 1 × batch 4 and
2 × batch 2 compute the same gradient: losses agree to float32 rounding, tolerance 1e-5 relative.
"""

import numpy as np
import pytest

from alignment.engine.launch import ChildCancelled, run_child, training_command, write_spec

ENV = {"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
STEPS = 10


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    from alignment.engine.critic.synthetic_data import annotated_examples, synthetic_videos
    from alignment.engine.video_io import encode_video

    folder = tmp_path_factory.mktemp("critic-clips")
    videos = []
    for index, (frames, caption, judgements) in enumerate(synthetic_videos(8, seed=5)):
        path = folder / f"{index}.mp4"
        encode_video(frames, path, fps=8)
        videos.append((str(path), caption, judgements))
    rows = [vars(e) for e in annotated_examples(videos, noise=0.2, seed=1)]
    return rows[:18], rows[18:]


def spec_for(base, examples, out, batch_size, **config):
    train, validation = examples
    settings = dict(base=str(base), finetune="lora", lora_rank=4, learning_rate=1e-3, batch_size=batch_size,
                    max_steps=STEPS, eval_every=3, eval_batch_size=8, checkpoint_every=0, balance="weights",
                    rating_weight=3.0, seed=2, device="cpu")
    settings.update(config)
    return write_spec(out / "spec.json", {"kind": "train_critic", "config": settings, "out_dir": str(out),
                                          "train": train, "validation": validation})


def losses(result):
    return [loss for _, loss in result["loss_curve"]]


def test_two_processes_match_one_and_a_killed_run_resumes_on_one(tiny_critic_dir, examples, tmp_path):
    one = run_child(training_command(spec_for(tiny_critic_dir, examples, tmp_path / "one", 4), 1), env=ENV)
    events = []
    two = run_child(training_command(spec_for(tiny_critic_dir, examples, tmp_path / "two", 2), 2), env=ENV,
                    on_event=events.append)
    assert [step for step, _ in two["loss_curve"]] == list(range(1, STEPS + 1))
    np.testing.assert_allclose(losses(two), losses(one), rtol=1e-5)
    assert [v["accuracy"] for v in two["val_curve"]] == pytest.approx([v["accuracy"] for v in one["val_curve"]])
    assert sum(e["phase"] == "done" for e in events) == 1  # rank 0 alone reports
    assert (tmp_path / "two" / "critic" / "config.json").is_file()

    # Killed at its first validation (step 3; training steps are reported every 2 s only) on two processes,
    # resumed from its last checkpoint on one.
    out = tmp_path / "killed"
    seen = []
    with pytest.raises(ChildCancelled):
        run_child(training_command(spec_for(tiny_critic_dir, examples, out, 2, checkpoint_every=2), 2), env=ENV,
                  on_event=seen.append, poll_s=0.05,
                  should_cancel=lambda: any(e["phase"] == "evaluate" for e in seen))
    saved = sorted(p.name for p in out.glob("checkpoint-*"))
    assert saved and f"checkpoint-{STEPS}" not in saved and not (out / "critic").exists()
    resumed = run_child(training_command(spec_for(tiny_critic_dir, examples, out, 4, checkpoint_every=2), 1), env=ENV)
    assert resumed["resumed_from"] >= 2
    np.testing.assert_allclose(losses(resumed), losses(one), rtol=1e-5)
