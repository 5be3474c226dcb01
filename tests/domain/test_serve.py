"""`casebox serve` runs web, relay, workers and the embedded Redis, and stops them all."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from casebox.settings import new_data_key
from tests.support import PASSWORD, jpeg, questionnaire


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the pipeline did not get there in time")
        time.sleep(0.3)


def _multipart(fields: dict[str, str], file_bytes: bytes) -> tuple[bytes, str]:
    boundary = "casebox-test-boundary"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
    )
    out.write(file_bytes + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_serve_processes_an_upload_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CASEBOX_DATA_DIR": str(tmp_path / "instance"),
        "CASEBOX_SECRET_KEY": "serve-test-" + "k" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }
    env.pop("CASEBOX_REDIS_URL", None)
    casebox = [sys.executable, "-m", "casebox"]
    upgraded = subprocess.run([*casebox, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    server = subprocess.Popen(
        [*casebox, "serve", "--port", str(port), "--workers", "1", "--web-processes", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _call(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("casebox serve did not become healthy")
        assert (tmp_path / "instance" / "redis.sock").exists()
        consent = _call(port, "GET", "/api/v1/consent")[1]
        registration = {
            "email": "serve@example.org", "password": PASSWORD, "name": "S",
            "date_of_birth": "1990-01-01", "sex": "male",
            "consent": {"version": consent["version"], "accepted": True},
        }  # fmt: skip
        json_headers = {"Content-Type": "application/json"}
        assert (
            _call(
                port, "POST", "/api/v1/patients", json.dumps(registration).encode(), json_headers
            )[0]
            == 201
        )
        token = _call(
            port,
            "POST",
            "/api/v1/auth/tokens",
            json.dumps({"email": "serve@example.org", "password": PASSWORD}).encode(),
            json_headers,
        )[1]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        case = _call(
            port,
            "POST",
            "/api/v1/cases",
            json.dumps({"body_site": "chest", "questionnaire": questionnaire()}).encode(),
            {**auth, **json_headers},
        )[1]
        body, content_type = _multipart({"view": "close_up"}, jpeg())
        status, photo = _call(
            port,
            "POST",
            f"/api/v1/cases/{case['id']}/photos",
            body,
            {**auth, "Content-Type": content_type},
        )
        assert status == 201, photo
        photo_url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"
        _wait_for(lambda: _call(port, "GET", photo_url, None, auth)[1]["status"] == "ready")
        assert _call(port, "POST", f"/api/v1/cases/{case['id']}/submit", b"", auth)[0] == 202
        case_url = f"/api/v1/cases/{case['id']}"
        _wait_for(
            lambda: _call(port, "GET", case_url, None, auth)[1]["status"] == "awaiting_review"
        )
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0].decode(errors="replace")
    assert server.returncode == 0, output[-3000:]
    assert "casebox stopped" in output
    assert not (tmp_path / "instance" / "redis.sock").exists()
    survivors = subprocess.run(["pgrep", "-g", str(server.pid)], capture_output=True, text=True)
    assert survivors.stdout.strip() == "", "child processes outlived casebox serve"
