"""A connection cut mid-chunk over real sockets: the upload resumes and loses nothing.

The application is served on loopback; a TCP proxy in front of it forwards a chosen
number of a PATCH's body bytes and then drops the connection, as a phone losing its
signal would. A plain HTTP client (http.client, one connection per request) notices
the cut, asks the server with HEAD how many bytes it holds and continues from there.
The proxy counts every body byte in both directions of the cut, so the test can say
exactly how much was sent twice.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.support import ApiClient, jpeg

TUS = {"Tus-Resumable": "1.0.0"}


class CuttingProxy:
    """A loopback TCP proxy that can drop one PATCH after N of its body bytes.

    Each client connection carries one request. ``arm(n)`` makes the next PATCH's
    connection forward only ``n`` body bytes: then the client's side is closed and the
    server's side is half-closed, so the server reads end-of-stream mid-body, as after
    a lost signal. ``settled`` is set once the server has answered that request.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.body_bytes_from_client = 0  # what the client managed to send us
        self.body_bytes_to_server = 0  # what reached the application
        self.cuts = 0
        self.settled = threading.Event()
        self._cut_after: int | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def arm(self, body_bytes: int) -> None:
        """Cut the next PATCH after ``body_bytes`` bytes of its body."""
        with self._lock:
            self._cut_after = body_bytes
            self.settled.clear()

    def close(self) -> None:
        """Stop accepting connections."""
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        was_cut = threading.Event()
        replies = threading.Thread(target=self._pipe_replies, args=(upstream, client, was_cut))
        replies.start()
        try:
            self._forward_request(client, upstream, was_cut)
        finally:
            replies.join(timeout=30)
            client.close()
            upstream.close()

    def _forward_request(
        self, client: socket.socket, upstream: socket.socket, was_cut: threading.Event
    ) -> None:
        """Forward one request, or cut it as armed (setting ``was_cut`` first)."""
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                return
            head += data
        head, _, body = head.partition(b"\r\n\r\n")
        upstream.sendall(head + b"\r\n\r\n")
        cut_after = None
        if head.startswith(b"PATCH "):
            with self._lock:
                cut_after, self._cut_after = self._cut_after, None
        remaining = _content_length(head)
        sent = 0
        while True:
            with self._lock:
                self.body_bytes_from_client += len(body)
            if cut_after is not None and sent + len(body) >= cut_after:
                upstream.sendall(body[: cut_after - sent])
                with self._lock:
                    self.body_bytes_to_server += cut_after - sent
                    self.cuts += 1
                # The phone is gone: its side closes at once, the server sees the body end.
                was_cut.set()
                client.shutdown(socket.SHUT_RDWR)
                upstream.shutdown(socket.SHUT_WR)
                return
            upstream.sendall(body)
            sent += len(body)
            with self._lock:
                self.body_bytes_to_server += len(body)
            if sent >= remaining:
                return
            body = client.recv(65536)
            if not body:
                return

    def _pipe_replies(
        self, upstream: socket.socket, client: socket.socket, was_cut: threading.Event
    ) -> None:
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                data = b""
            if not data:
                if was_cut.is_set():  # the server has finished with the cut request
                    self.settled.set()
                return
            # After a cut the client is gone; keep draining so the server can finish.
            with contextlib.suppress(OSError):
                client.sendall(data)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


@dataclass
class UploadReport:
    """What one resumable upload cost on the wire."""

    photo_url: str
    chunk_size: int
    length: int
    bytes_offered: int = 0  # body bytes the client handed to its sockets, all attempts
    cuts: int = 0
    conflicts: int = 0
    offsets_after_cuts: list[int] = field(default_factory=list)

    @property
    def bytes_resent(self) -> int:
        """Body bytes the client sent more than once (or sent into a dead connection)."""
        return self.bytes_offered - self.length

    @property
    def chunks_resent(self) -> float:
        """The re-sent bytes as a number of chunks."""
        return self.bytes_resent / self.chunk_size


class TusLoopClient:
    """A minimal tus 1.0.0 client: create, PATCH chunk by chunk, HEAD and resume on a cut."""

    def __init__(self, port: int, token: str, *, on_cut: Any = None) -> None:
        self.port = port
        self.auth = {"Authorization": f"Bearer {token}"}
        self.on_cut = on_cut or (lambda: None)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a fresh connection (a phone's connections rarely survive anyway)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers={**self.auth, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def create(self, case_id: str, length: int, *, low_data: bool = False) -> str:
        """POST a new upload; returns its URL."""
        pairs = {"case_id": case_id, "view": "close_up", "low_data": "1" if low_data else "0"}
        metadata = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items()
        )
        status, headers, body = self.request(
            "POST",
            "/api/v1/uploads",
            headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
        )
        assert status == 201, body
        return str(headers["Location"])

    def offset(self, url: str) -> int:
        """HEAD: how many bytes the server holds."""
        status, headers, _ = self.request("HEAD", url, headers=TUS)
        assert status == 200, status
        return int(headers["Upload-Offset"])

    def upload(self, case_id: str, data: bytes, chunk_size: int) -> UploadReport:
        """Send ``data``, resuming after every dropped connection; returns the costs."""
        url = self.create(case_id, len(data))
        report = UploadReport(photo_url="", chunk_size=chunk_size, length=len(data))
        offset = 0
        while offset < len(data):
            body = data[offset : offset + chunk_size]
            headers = {**TUS, "Upload-Offset": str(offset),
                       "Content-Type": "application/offset+octet-stream"}  # fmt: skip
            report.bytes_offered += len(body)
            try:
                status, reply, _ = self.request("PATCH", url, body, headers)
            except (OSError, http.client.HTTPException):
                report.cuts += 1
                self.on_cut()
                offset = self.offset(url)
                report.offsets_after_cuts.append(offset)
                continue
            if status == 409:  # the server moved on (an earlier request landed late)
                report.conflicts += 1
                offset = self.offset(url)
                continue
            assert status == 204, status
            offset = int(reply["Upload-Offset"])
            if offset == len(data):
                report.photo_url = str(reply["Casebox-Photo"])
        return report


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep one line per request out of the test output."""


@pytest.fixture
def served(app: Flask) -> Iterator[int]:
    """The session's application on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


@pytest.fixture
def proxy(served: int) -> Iterator[CuttingProxy]:
    """The cutting proxy in front of the served application."""
    cutting = CuttingProxy(served)
    yield cutting
    cutting.close()


def _photo(seed: int = 7) -> bytes:
    return jpeg(seed)  # about 430 KB: a dozen chunks of 32 KB


@pytest.mark.parametrize(
    "cut_at", [1, 20_000, 32_767], ids=["first-byte", "mid-chunk", "last-byte"]
)
def test_upload_cut_mid_chunk_resumes_to_a_byte_identical_original(
    api: ApiClient, proxy: CuttingProxy, cut_at: int
) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = _photo()
    chunk = 32 * 1024
    assert len(data) > 3 * chunk
    client = TusLoopClient(proxy.port, token, on_cut=lambda: proxy.settled.wait(10))

    # Cut the third chunk's connection after `cut_at` of its bytes.
    armed = {"patches": 0}
    original_request = client.request

    def request(method: str, path: str, body: bytes = b"", headers: Any = None) -> Any:
        if method == "PATCH":
            armed["patches"] += 1
            if armed["patches"] == 3:
                proxy.arm(cut_at)
        return original_request(method, path, body, headers)

    client.request = request  # type: ignore[method-assign]
    report = client.upload(case["id"], data, chunk)

    assert proxy.cuts == 1 and report.cuts == 1
    # The server kept every byte that reached it before the cut, and HEAD says so.
    assert report.offsets_after_cuts == [2 * chunk + cut_at]
    # Nothing reached the application twice; the client re-sent less than one chunk.
    assert proxy.body_bytes_to_server == len(data)
    assert 0 < report.bytes_resent <= chunk
    assert report.chunks_resent <= 1
    photo = api.client.get(report.photo_url, headers=api.auth(token)).get_json()
    assert photo["sha256"] == hashlib.sha256(_stored_original_of(api, token, data)).hexdigest()
    original = api.client.get(photo["links"]["original"], headers=api.auth(token)).data
    assert original == _stored_original_of(api, token, data)


def _stored_original_of(api: ApiClient, token: str, data: bytes) -> bytes:
    """What the multipart route stores for the same file (identifying metadata stripped)."""
    case = api.create_case(token)
    photo = api.upload(token, case["id"], data).get_json()
    return api.client.get(photo["links"]["original"], headers=api.auth(token)).data


def test_every_chunk_cut_still_completes(api: ApiClient, proxy: CuttingProxy) -> None:
    """A connection that drops on every chunk still gets the photo through."""
    token = api.patient()
    case = api.create_case(token)
    data = _photo(9)
    chunk = 40_000
    client = TusLoopClient(proxy.port, token, on_cut=lambda: proxy.settled.wait(10))
    original_request = client.request
    attempts = {"n": 0}

    def request(method: str, path: str, body: bytes = b"", headers: Any = None) -> Any:
        if method == "PATCH":
            attempts["n"] += 1
            if attempts["n"] % 2:  # every other attempt dies halfway through
                proxy.arm(len(body) // 2)
        return original_request(method, path, body, headers)

    client.request = request  # type: ignore[method-assign]
    report = client.upload(case["id"], data, chunk)
    assert report.cuts >= 3
    assert proxy.body_bytes_to_server == len(data)
    assert report.photo_url
