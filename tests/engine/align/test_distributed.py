"""Two processes train one alignment job exactly as one does (CPU, gloo), and a job killed mid-run
resumes on another process count.

torchrun starts the ranks (ACCELERATE_USE_CPU=1: `accelerate launch --cpu --num_processes 2` starts
only one process on these machines); Accelerator joins them over gloo. Each rank takes half of the
global batch; noise and timesteps are drawn for the whole global batch and sliced, so the losses of
1 × batch 4 and 2 × batch 2 agree to float32 rounding: tolerance 1e-5 relative.
"""

import numpy as np
import pytest

from alignment.engine.launch import ChildCancelled, run_child, training_command, write_spec

from .conftest import TINY, world_clip

ENV = {"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
STEPS = 16


@pytest.fixture(scope="module")
def clips(tmp_path_factory, world_prompts):
    from alignment.engine.video_io import encode_video

    folder = tmp_path_factory.mktemp("clips")
    rows = []
    for i, prompt in enumerate(world_prompts[:8]):
        path = folder / f"{i}.mp4"
        encode_video(world_clip(prompt, i, clean=i % 2 == 0), path, fps=8)
        rows.append({"prompt": prompt, "video_path": str(path), "reward": 0.2 + 0.1 * i})
    return rows


def spec_for(tiny_base, clips, out, batch_size, **config):
    settings = dict(base=tiny_base, output_dir=str(out), steps=STEPS, batch_size=batch_size, real_weight=0.0,
                    lora_rank=4, learning_rate=1e-3, checkpoint_every=0, guidance=1.0, seed=3, **TINY)
    settings.update(config)
    return write_spec(out / "spec.json", {"kind": "align", "config": settings, "samples": clips})


def test_two_processes_match_one_and_a_killed_run_resumes_on_one(tiny_base, clips, tmp_path):
    one = run_child(training_command(spec_for(tiny_base, clips, tmp_path / "one", 4), 1), env=ENV)
    events = []
    two = run_child(training_command(spec_for(tiny_base, clips, tmp_path / "two", 2), 2), env=ENV,
                    on_event=events.append)
    assert len(one["losses"]) == len(two["losses"]) == STEPS
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    assert [e["metrics"]["step"] for e in events if e["phase"] == "training"] == list(range(1, STEPS + 1))  # rank 0 only

    # Killed after its third step on two processes, resumed from its last checkpoint on one.
    out = tmp_path / "killed"
    seen = []
    with pytest.raises(ChildCancelled):
        run_child(training_command(spec_for(tiny_base, clips, out, 2, checkpoint_every=2), 2), env=ENV,
                  on_event=seen.append, poll_s=0.05,
                  should_cancel=lambda: any(e["metrics"].get("step", 0) >= 3 for e in seen))
    saved = sorted(p.name for p in out.glob("checkpoint-*"))
    assert saved and f"checkpoint-{STEPS}" not in saved and not (out / "lora").exists()
    resumed = run_child(training_command(spec_for(tiny_base, clips, out, 4, checkpoint_every=2, resume="latest"), 1),
                        env=ENV)
    np.testing.assert_allclose(resumed["losses"], one["losses"], rtol=1e-5)
