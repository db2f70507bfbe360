"""Run a training as a child process over several processes (one per GPU), and read its progress back.

The worker never imports the training loop into itself: it writes a run spec, starts
`torchrun --nproc_per_node N -m alignment.engine.run_training SPEC` (one plain process when N is 1),
and reads the lines rank 0 prints: `LIFT-EVENT {json}` for progress, `LIFT-RESULT {json}` once at the
end; every other line is log. Cancel ends the child's whole process group, so it reaches every rank;
the run resumes from its last checkpoint on any process count. A worker that dies takes its ranks
with it (PR_SET_PDEATHSIG), so a re-queued job never trains beside a leftover copy of itself.

    result = run_child(training_command(spec_path, processes=2), on_event=report, should_cancel=cancelled)
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Callable

EVENT = "LIFT-EVENT "
RESULT = "LIFT-RESULT "
ENTRY = "alignment.engine.run_training"


class ChildFailed(RuntimeError):
    """The training child exited non-zero; the message carries the end of its output."""


class ChildCancelled(RuntimeError):
    """Cancel was asked for: every rank was stopped."""


def default_processes() -> int:
    """All visible GPUs (CUDA_VISIBLE_DEVICES limits them), one process on a machine without any."""
    import torch

    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def training_command(spec_path: str | os.PathLike, processes: int = 1, *, entry: str = ENTRY) -> list[str]:
    """The child's command line: torchrun over `processes` local processes, or one plain process."""
    if processes < 1:
        raise ValueError("processes must be at least 1")
    if processes == 1:
        return [sys.executable, "-m", entry, str(spec_path)]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
            "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", entry, str(spec_path)]


def emit(kind: str, payload: dict) -> None:
    """Child side: one protocol line on stdout, from rank 0 only."""
    if int(os.environ.get("RANK", "0")) == 0:
        print((EVENT if kind == "event" else RESULT) + json.dumps(payload, default=str), flush=True)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the worker that started it dies (Linux PR_SET_PDEATHSIG), so
    a killed worker leaves no ranks training on beside the re-queued job; torchrun passes it to every rank."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the reaper's re-run and the checkpoints' atomic renames still keep the job whole


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _stop(process: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to the child's process group (torchrun and every rank), SIGKILL after `grace_s`."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_child(
    command: list[str],
    *,
    on_event: Callable[[dict], None] = lambda event: None,
    on_log: Callable[[str], None] = lambda line: None,
    should_cancel: Callable[[], bool] = lambda: False,
    env: dict | None = None,
    cwd: str | os.PathLike | None = None,
    poll_s: float = 1.0,
    grace_s: float = 10.0,
) -> dict:
    """Run the child to the end and return its result; events and log lines go to the callbacks.

    should_cancel is asked every `poll_s` seconds (and after each line); when it says yes, every
    rank is stopped and ChildCancelled raised. A non-zero exit raises ChildFailed with the last lines.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
                               preexec_fn=_die_with_parent)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    tail: deque[str] = deque(maxlen=40)
    result: dict | None = None
    try:
        while True:
            if should_cancel():
                _stop(process, grace_s)
                raise ChildCancelled("cancelled: every training process was stopped")
            try:
                line = lines.get(timeout=poll_s)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith(EVENT):
                on_event(json.loads(line[len(EVENT):]))
            elif line.startswith(RESULT):
                result = json.loads(line[len(RESULT):])
            else:
                tail.append(line)
                on_log(line)
        code = process.wait()
    except BaseException:
        if process.poll() is None:
            _stop(process, grace_s)
        raise
    if code != 0 or result is None:
        raise ChildFailed(f"training exited with status {code}:\n" + "\n".join(tail))
    return result


def write_spec(path: str | os.PathLike, spec: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(spec, indent=1, default=str))
    os.replace(tmp, path)
    return path
