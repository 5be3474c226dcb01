"""``casebox serve``: one supervisor for the web server, relay, workers and embedded Redis."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time

from casebox.embedded_redis import EmbeddedRedis
from casebox.settings import Settings

log = logging.getLogger(__name__)


def _web_command(host: str, port: int, processes: int) -> list[str]:
    if importlib.util.find_spec("gunicorn") is not None:
        return [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{host}:{port}",
            "--workers", str(processes),
            "--threads", "4",
            "--worker-class", "gthread",
            "--access-logfile", "-",
            # The access log shows method, route and status, never query strings.
            "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "casebox.wsgi:app",
        ]  # fmt: skip
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "casebox.wsgi:app",
        "run",
        "--host",
        host,
        "--port",
        str(port),
    ]


def serve_all(
    settings: Settings, *, host: str, port: int, worker_count: int, web_processes: int
) -> int:
    """Run everything until Ctrl-C or SIGTERM, then stop it all; returns an exit code."""
    env = dict(os.environ)
    redis_server = None
    if settings.embedded_redis:
        redis_server = EmbeddedRedis(settings.data_dir, settings.embedded_redis_socket)
        redis_server.start()
        env["CASEBOX_REDIS_URL"] = redis_server.url
        env["CASEBOX_DATA_DIR"] = str(settings.data_dir)
    casebox = [sys.executable, "-m", "casebox"]
    commands = [_web_command(host, port, web_processes), [*casebox, "relay"]]
    commands += [[*casebox, "worker"] for _ in range(worker_count)]
    children = [subprocess.Popen(command, env=env) for command in commands]  # noqa: S603
    log.info("casebox is serving on http://%s:%s (Ctrl-C stops everything)", host, port)

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    log.error("a casebox process exited (pid %s); stopping", child.pid)
                    stopping, exit_code = True, 1
            time.sleep(0.2)
    finally:
        stop_processes(children)
        if redis_server is not None:
            redis_server.stop()
    log.info("casebox stopped")
    return exit_code


def stop_processes(children: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM each process (workers finish their job), then SIGKILL what is left.

    A process that leads its own session is killed with its whole group, so its
    helpers (such as RQ's scheduler) go with it.
    """
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(child.pid) == child.pid:
                    os.killpg(child.pid, signal.SIGKILL)
                else:
                    child.kill()
            child.wait()
