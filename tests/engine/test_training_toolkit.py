"""The training toolkit both trainers share: whole random state, rotation, complete-only checkpoints, a moving
average of the weights."""

import random

import numpy as np
import pytest
import torch

from alignment.engine.training.artifacts import checkpoint_artifacts, existing_artifacts
from alignment.engine.training.averaging import WeightAverage
from alignment.engine.training.checkpoints import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from alignment.engine.training.device import resolve_device, resolve_dtype


def _draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def _model_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.AdamW(model.parameters(), lr=0.1)


def test_a_checkpoint_restores_weights_optimizer_and_every_random_state(tmp_path):
    model, optimizer = _model_and_optimizer()
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()

    def write(directory):
        torch.save(model.state_dict(), directory / "weights.pt")

    save_checkpoint(tmp_path, 1, write_weights=write, optimizer=optimizer, state={"step": 1, "cursor": 7}, keep=2)
    expected = _draws(), [p.clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    _draws()  # move every generator on

    state = load_checkpoint(latest_checkpoint(tmp_path), optimizer=optimizer,
                            read_weights=lambda d: model.load_state_dict(torch.load(d / "weights.pt")))
    assert state == {"step": 1, "cursor": 7}
    assert _draws() == expected[0]
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), expected[1]))
    assert optimizer.state_dict()["state"]  # the AdamW moments came back too


def test_checkpoints_rotate_and_only_complete_ones_count(tmp_path):
    model, optimizer = _model_and_optimizer()
    for step in (2, 4, 6, 10):
        save_checkpoint(tmp_path, step, write_weights=lambda d: None, optimizer=optimizer, state={"step": step}, keep=2)
    (tmp_path / "checkpoint-12").mkdir()  # a crash mid-copy by hand: no trainer state, so not a checkpoint
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-6", "checkpoint-10"]  # numeric order
    assert not list(tmp_path.glob(".tmp-*"))
    assert [a["name"] for a in checkpoint_artifacts(tmp_path)] == ["checkpoint-6", "checkpoint-10"]
    (tmp_path / "lora").mkdir()
    assert existing_artifacts(tmp_path, [("final", "weights"), ("lora", "adapter")]) == [
        {"name": "lora", "path": str(tmp_path / "lora"), "kind": "adapter"}]
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "checkpoint-12", read_weights=lambda d: None, optimizer=optimizer)


def test_device_and_dtype():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_dtype("bfloat16", "cpu") == torch.float32 and resolve_dtype("auto", "cuda:1") == torch.bfloat16
    assert resolve_dtype(None, torch.device("cuda", 0)) == torch.bfloat16 and resolve_dtype("float32", "cuda") == torch.float32


def test_the_weight_average_follows_the_trained_weights_only_and_is_applied_for_a_block(tmp_path):
    model, _ = _model_and_optimizer()
    model.bias.requires_grad_(False)  # frozen: not shadowed
    start = model.weight.detach().clone()
    average = WeightAverage(model, decay=0.5)
    assert set(average.shadow) == {"weight"}
    expected = start.clone()
    for step, value in enumerate([1.0, 2.0, 3.0]):
        with torch.no_grad():
            model.weight.fill_(value)
        average.update(model, step)
        keep = min(0.5, (1 + step) / (10 + step))  # warmed up: 0.1, 0.18..., then 0.5 at most
        expected = keep * expected + (1 - keep) * value
    torch.testing.assert_close(average.shadow["weight"], expected)
    assert average.decay_at(0) == pytest.approx(0.1) and average.decay_at(1000) == 0.5

    bias = model.bias.detach().clone()
    with average.applied(model):
        torch.testing.assert_close(model.weight.detach(), expected)
        assert torch.equal(model.bias, bias)
    assert torch.equal(model.weight, torch.full_like(start, 3.0))  # its own weights again

    average.save(tmp_path / "average.pt")
    other = WeightAverage(model, decay=0.5)
    other.load(tmp_path / "average.pt")
    torch.testing.assert_close(other.shadow["weight"], expected)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, decay=1.0)
