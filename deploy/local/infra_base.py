"""Processes, pid files and packages for deploy/local/infra.py (stdlib only).

Loaded by infra.py from this folder; not a package module, no I/O at import.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("infra")

REPO = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 15.0


class InfraError(Exception):
    """A failure, already phrased as one line for the user."""


# ---------------------------------------------------------------- paths, processes, pid files


def state_root() -> Path:
    return Path(os.environ.get("PUHUI_STATE") or REPO / ".state").resolve()


def state_path(*parts: str) -> Path:
    path = state_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file(name: str) -> Path:
    return state_path("run") / f"{name}.pid"


def _start_time(pid: int) -> str | None:
    """Kernel start time of pid (guards pid files against pid reuse); None if gone/zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in "ZX" else fields[19]


def read_pid(name: str) -> int | None:
    """The live pid recorded for name, or None (a stale pid file is removed)."""
    path = pid_file(name)
    try:
        pid_text, started = path.read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    if _start_time(pid) == started:
        return pid
    path.unlink(missing_ok=True)
    return None


def write_pid(name: str, pid: int) -> None:
    pid_file(name).write_text(f"{pid} {_start_time(pid)}\n")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise InfraError(f"{program} not found on PATH")
    return path


def new_cluster_id() -> str:
    """A random KRaft cluster id, as `kafka-storage random-uuid` makes one.

    Base64url of 16 random bytes, never starting with "-": like Kafka's own Uuid.randomUuid,
    which draws again in that case, because the storage tool's argument parser reads a value
    starting with "-" as an option (one id in 64 did, and failed `format`).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def run(argv: list[str], what: str, log_path: Path, **kwargs: Any) -> str:
    """Run argv to completion, appending its output to log_path; return that output."""
    log.debug("run: %s", shlex.join(argv))
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603
    output = f"{result.stdout}{result.stderr}"
    with log_path.open("a") as out:
        out.write(f"$ {shlex.join(argv)}\n{output}")
    if result.returncode != 0:
        raise InfraError(f"{what} failed (exit {result.returncode}); see {log_path}")
    return output


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    detach: bool,
    pid_name: str | None = None,
    user: str | None = None,
) -> Handle:
    """Start a long-running process, stdout+stderr appended to log_path; pid_name: pid file."""
    log.debug("spawn: %s", shlex.join(argv))
    with log_path.open("ab") as out:
        out.write(f"\n===== {time.strftime('%F %T')} $ {shlex.join(argv)}\n".encode())
        out.flush()
        offset = out.tell()
        proc = subprocess.Popen(  # noqa: S603 - list form, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            cwd=log_path.parent,
        )
    if pid_name:
        write_pid(pid_name, proc.pid)
    return Handle(pid=proc.pid, log_path=log_path, proc=proc, log_offset=offset)


@dataclass
class Handle:
    """A process we started. stop() sends sig, waits STOP_GRACE_S, then SIGKILLs."""

    pid: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    address: str = ""
    stop_signal: int = signal.SIGTERM

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return _start_time(self.pid) is not None

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    def wait_ready(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if not self.alive():
                raise InfraError(f"{what} exited during startup; see {self.log_path}")
            if time.monotonic() > deadline:
                raise InfraError(f"{what} not ready after {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.25)

    def stop(self) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, self.stop_signal)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.alive():
            log.warning(
                "pid %d ignored signal %d for %.0f s; SIGKILL",
                self.pid,
                self.stop_signal,
                STOP_GRACE_S,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            while self.alive():
                time.sleep(0.1)
        if self.proc is not None:
            self.proc.wait()


# ---------------------------------------------------------------- packages

_apt_updated = False


def apt_install(package: str) -> None:
    global _apt_updated
    if os.geteuid() != 0:
        raise InfraError(f"{package} is missing and installing it needs root (apt-get install)")
    apt_log = state_path("logs") / "apt.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = which("apt-get")
    log.info("installing %s with apt-get (log: %s)", package, apt_log)
    if not _apt_updated:
        run([apt, "update"], "apt-get update", apt_log, env=env)
        _apt_updated = True
    run(
        [apt, "install", "-y", "--no-install-recommends", package],
        f"install {package}",
        apt_log,
        env=env,
    )


def ensure_program(program: str, package: str) -> str:
    if shutil.which(program) is None:
        apt_install(package)
    return which(program)


def _ready_or_stop(handle: Handle, what: str, check: Callable[[], bool], timeout: float) -> Handle:
    try:
        handle.wait_ready(what, check, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


def host_port(address: str) -> tuple[str, int]:
    """Host and port of a bootstrap list's first entry or of a URL (scheme default port)."""
    first = address.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"//{first}")
    default = {"postgresql": 5432, "postgres": 5432, "redis": 6379}.get(parts.scheme, 9092)
    return parts.hostname or "127.0.0.1", parts.port or default
