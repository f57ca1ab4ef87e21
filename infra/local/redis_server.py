"""A real ``redis-server`` for the cache's shared tier: the local runtime's, the tests' and the
benchmark's. A cache, not data: no RDB snapshots, no AOF; loopback only, on a port of its own, in a
process group of its own (stopped by its pid, never by name: other servers may run on the machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def _own_group() -> None:
    """In the child: a process group of its own (a terminal's Ctrl-C is the runtime's to handle), and
    on Linux a SIGTERM when its parent dies, so a ``kill -9`` of the runtime leaves no server behind."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class RedisServer:
    port: int
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """What the functions need to use it (the spec's variable names)."""
        return {
            "CACHE_BACKEND": "redis",
            "REDIS_HOST": HOST,
            "REDIS_PORT": str(self.port),
            "REDIS_DB": "0",
            "REDIS_CLUSTER_ENABLED": "false",
            "REDIS_TLS_ENABLED": "false",
        }

    def start(self, timeout: float = 15.0) -> RedisServer:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed: `make dev` installs it (system-packages.txt)")
        args = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        args += ["--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"]
        output = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
            args, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_own_group
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if self.answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {HOST}:{self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
