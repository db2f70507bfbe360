"""Shared bench plumbing: a throw-away PostgreSQL database, a gunicorn server, machine description."""
import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def machine_description() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def fresh_database(name: str) -> str:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"{PG}/{name}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lift.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    """gunicorn (gthread) on a fixed port with production settings: start, graceful reload, hard kill."""

    def __init__(self, database_url: str, workers: int = 4, threads: int = 4, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "gunicorn", "lift.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                     "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                     "--log-level", "warning"]
        self.env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "lift.settings.production",
                    "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
                    "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "WARNING",
                    # Benches measure the platform, not the per-user throttle (tests/security proves that).
                    "LIFT_THROTTLE_USER": "1000000/min", "LIFT_THROTTLE_ANON": "1000000/min",
                    "LIFT_THROTTLE_LOGIN": "1000000/min"}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "GunicornServer":
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env)
        self.wait_until_answering(timeout)
        return self

    def wait_until_answering(self, timeout: float = 90) -> float:
        """Seconds until the server answers a plain GET (it may still be importing Django)."""
        import requests

        started = time.time()
        while time.time() - started < timeout:
            try:
                if requests.get(self.base + "/api/auth/csrf/", timeout=5).status_code == 200:
                    return time.time() - started
            except requests.RequestException:  # not listening yet
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn on {self.base} did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            return [int(pid) for pid in children.split()]
        return []

    def reload(self) -> None:
        """SIGHUP: the master starts new workers and retires the old ones gracefully."""
        self.proc.send_signal(signal.SIGHUP)

    def kill_and_restart(self, timeout: float = 90) -> None:
        """SIGKILL the master and its workers at once (a crash: requests in flight are cut off, unlike a
        master-only kill, where the workers finish them before leaving), then a new master on the port."""
        workers = self.worker_pids()
        for pid in [self.proc.pid, *workers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        # Workers are not our children: wait until they are gone and the port is free.
        wait_deadline = time.time() + 30
        while time.time() < wait_deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
            time.sleep(0.05)
        self.start(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 4, threads: int = 4):
    server = GunicornServer(database_url, workers, threads).start()
    try:
        yield server.base, server.proc
    finally:
        server.stop()


def _cpu_seconds(pid: int | str) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()  # utime and stime are the 14th and 15th fields
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_part(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the parts of a bench on this machine: the gunicorn master and workers,
    PostgreSQL's and Redis's processes, and this process (the client). Two readings give a run's split."""
    parts = {"server": 0.0, "postgresql": 0.0, "redis": 0.0, "client": 0.0}
    server = {str(server_pid), *Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            part = ("server" if pid in server else "client" if int(pid) == os.getpid()
                    else "postgresql" if command.startswith("postgres") or command.endswith("/postgres")
                    else "redis" if "redis-server" in command else None)
            if part:
                parts[part] += _cpu_seconds(pid)
    return parts


def stolen_seconds() -> float:
    """CPU seconds the hypervisor has given to other guests so far (all cores): a figure that moves during a
    run says the machine was not all ours."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
