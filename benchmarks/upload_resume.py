"""What a dropped connection costs a resumable upload, and what tus costs over multipart.

Serves casebox on loopback (werkzeug, threaded; SQLite and an embedded Redis in a
temporary directory), puts the cutting proxy of tests/domain/test_upload_resume.py in
front of it and uploads a 4 MB photo with the plain tus client from that test:

1. for chunks of 256 KB and 1 MB, the connection is cut halfway through the third
   chunk; the client asks HEAD for the offset and resumes. Printed: body bytes the
   client sent more than once, the same in chunks, and bytes that reached the server
   twice (the server keeps what arrived before the cut, so this should be 0).
2. the same photo without cuts, by tus (both chunk sizes) and by the multipart route,
   directly to the server, median of --repeats runs each; printed as seconds and as
   the ratio tus / multipart measured in this run.

    .venv/bin/python benchmarks/upload_resume.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from casebox.app import create_app  # noqa: E402
from casebox.demo import synthetic_lesion_photo  # noqa: E402
from casebox.embedded_redis import EmbeddedRedis  # noqa: E402
from casebox.settings import Settings, new_data_key  # noqa: E402
from tests.domain.test_upload_resume import CuttingProxy, TusLoopClient  # noqa: E402
from tests.support import ApiClient  # noqa: E402

CHUNK_SIZES = (256 * 1024, 1024 * 1024)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log."""


def _multipart(port: int, token: str, case_id: str, data: bytes) -> float:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="view"\r\n\r\nclose_up\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": f"multipart/form-data; boundary={boundary}"}  # fmt: skip
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", f"/api/v1/cases/{case_id}/photos", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    elapsed = time.perf_counter() - started
    assert response.status == 201, response.status
    return elapsed


def _cut_run(api: ApiClient, proxy: CuttingProxy, token: str, data: bytes, chunk: int) -> Any:
    client = TusLoopClient(proxy.port, token, on_cut=lambda: proxy.settled.wait(10))
    plain_request = client.request
    patches = {"n": 0}

    def request(method: str, path: str, body: bytes = b"", headers: Any = None) -> Any:
        if method == "PATCH":
            patches["n"] += 1
            if patches["n"] == 3:
                proxy.arm(chunk // 2)
        return plain_request(method, path, body, headers)

    client.request = request  # type: ignore[method-assign]
    before = proxy.body_bytes_to_server
    report = client.upload(api.create_case(token)["id"], data, chunk)
    twice = proxy.body_bytes_to_server - before - len(data)
    return report, twice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, EmbeddedRedis(Path(directory)) as redis:
        data_dir = Path(directory)
        settings = Settings(
            env="test", data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'casebox.db'}",
            redis_url=redis.url, storage_url=f"file://{data_dir / 'objects'}",
            s3_endpoint_url=None, secret_key="bench-secret-key-" + "x" * 32,
            data_key=base64.urlsafe_b64decode(new_data_key()),
            argon2_time_cost=1, argon2_memory_kib=1024,
        )  # fmt: skip
        app = create_app(settings)
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        proxy = CuttingProxy(server.server_port)
        api = ApiClient(app.test_client())
        token = api.patient()
        data = synthetic_lesion_photo(11, size=(3200, 2400))
        results: dict[str, Any] = {"photo_bytes": len(data)}
        print(f"photo: {len(data) / 1e6:.2f} MB JPEG, loopback, SQLite")

        print("\n1. one cut halfway through the third chunk")
        for chunk in CHUNK_SIZES:
            report, twice = _cut_run(api, proxy, token, data, chunk)
            label = f"{chunk // 1024} KB"
            results[f"cut_{label}"] = {
                "bytes_resent": report.bytes_resent,
                "chunks_resent": round(report.chunks_resent, 3),
                "bytes_to_server_twice": twice,
                "cuts": report.cuts,
            }
            print(
                f"   chunk {label:>7}: re-sent {report.bytes_resent:>8} bytes = "
                f"{report.chunks_resent:.2f} chunk; reached the server twice: {twice} bytes"
            )

        print(f"\n2. no cuts, median of {args.repeats} (direct to the server)")
        direct = TusLoopClient(server.server_port, token)
        multipart = statistics.median(
            _multipart(server.server_port, token, api.create_case(token)["id"], data)
            for _ in range(args.repeats)
        )
        print(f"   multipart POST      : {multipart * 1000:7.1f} ms")
        results["multipart_s"] = multipart
        for chunk in CHUNK_SIZES:
            times = []
            for _ in range(args.repeats):
                case_id = api.create_case(token)["id"]
                started = time.perf_counter()
                direct.upload(case_id, data, chunk)
                times.append(time.perf_counter() - started)
            tus = statistics.median(times)
            label = f"{chunk // 1024} KB"
            results[f"tus_{label}_s"] = tus
            results[f"tus_{label}_ratio"] = round(tus / multipart, 2)
            ratio = tus / multipart
            print(f"   tus, {label:>7} chunks: {tus * 1000:7.1f} ms = {ratio:.2f} x multipart")
        proxy.close()
        server.shutdown()
        print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
