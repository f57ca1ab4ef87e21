"""One user of a local data directory at a time: the runtime, a backup or a restore.

The lock is an ``flock`` on ``LOCK_NAME`` inside the data directory, held for as long as the user
runs. The kernel releases it when the process ends however it ends (Ctrl-C, ``kill -9``), so a
crashed runtime never leaves a stale lock behind; the file itself stays and means nothing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_NAME = ".in-use.lock"


class DataDirInUse(RuntimeError):
    """Another process (a running `make dev`, a backup or a restore) holds the data directory."""


class DataDirLock:
    def __init__(self, data_dir: Path, purpose: str):
        self.data_dir = data_dir
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.data_dir / LOCK_NAME

    def acquire(self) -> DataDirLock:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DataDirInUse(
                f"{self.data_dir} is in use ({holder}); stop it first (Ctrl-C on `make dev`) and try again"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.purpose}, pid {os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
