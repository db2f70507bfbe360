"""The launcher's protocol: events and the result come back, a failure carries the child's last lines,
and cancel stops the whole process group (every rank torchrun started), not just the first process."""

import os
import sys
import time
from pathlib import Path

import pytest

from alignment.engine.launch import ChildCancelled, ChildFailed, run_child, training_command


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_events_logs_and_result():
    events, logs = [], []
    result = run_child(python("from alignment.engine.launch import emit\n"
                              "print('hello'); emit('event', {'step': 1}); emit('result', {'ok': True})"),
                       on_event=events.append, on_log=logs.append, cwd=os.getcwd())
    assert result == {"ok": True} and events == [{"step": 1}] and logs == ["hello"]


def test_only_rank_zero_speaks():
    with pytest.raises(ChildFailed, match="status 0"):  # rank 1 prints no result: nothing to return
        run_child(python("from alignment.engine.launch import emit\nemit('result', {'ok': 1})"), env={"RANK": "1"})


def test_failure_carries_the_last_lines():
    with pytest.raises(ChildFailed, match="(?s)status 3.*out of memory, try lora_rank"):
        run_child(python("import sys; print('out of memory, try lora_rank'); sys.exit(3)"))


def test_cancel_stops_every_process_of_the_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    code = (f"import subprocess, sys, time\n"
            f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(p.pid)); print('started', flush=True); time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(ChildCancelled):
        run_child(python(code), should_cancel=lambda: pid_file.exists() and pid_file.read_text() != "", poll_s=0.05)
    assert time.monotonic() - started < 20
    grandchild = Path(f"/proc/{int(pid_file.read_text())}/status")
    time.sleep(0.2)
    # The rank the child started is gone too (or a zombie waiting to be reaped: it runs no more).
    assert not grandchild.exists() or "\nState:\tZ" in grandchild.read_text()


def test_command_uses_torchrun_only_for_several_processes():
    assert training_command("s.json", 1)[1:] == ["-m", "alignment.engine.run_training", "s.json"]
    several = training_command("s.json", 4)
    assert several[1:3] == ["-m", "torch.distributed.run"] and several[several.index("--nproc_per_node") + 1] == "4"
    with pytest.raises(ValueError):
        training_command("s.json", 0)


def test_a_killed_worker_takes_its_training_child_with_it(tmp_path):
    """The worker (here a parent process running run_child) dies by SIGKILL: its child gets SIGTERM."""
    import signal
    import subprocess

    pid_file = tmp_path / "child.pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c",
                               "import sys; from alignment.engine.launch import run_child\n"
                               f"run_child([sys.executable, '-c', {child!r}])"], cwd=os.getcwd())
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    status = Path(f"/proc/{int(pid_file.read_text())}/status")
    deadline = time.monotonic() + 10
    while status.exists() and "\nState:\tZ" not in status.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not status.exists() or "\nState:\tZ" in status.read_text()
