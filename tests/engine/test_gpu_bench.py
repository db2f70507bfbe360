"""The GPU benchmark cannot rot: its CPU dry run goes through every part on tiny shapes, and without
CUDA a real run refuses cleanly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_bench.py"


def test_dry_run_goes_through_every_part(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["dry_run"] is True
    assert results["generation"]["median_s_per_video"] > 0
    assert results["lora"]["trainable_params"] < results["lora"]["total_params"]
    assert results["full"]["trainable_params"] == results["full"]["total_params"]
    assert results["critic"]["score_queries_per_s"] > 0 and results["critic"]["median_train_step_s"] > 0


def test_refuses_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nothing was run" in done.stderr
    assert subprocess.run([sys.executable, str(SCRIPT), "--skip-without-cuda"], cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0
