"""The patient pages on a phone's budget: page weight, first paint on slow 3G, resume cost.

Serves casebox on loopback (werkzeug, threaded; SQLite, an embedded Redis and local
object storage in a temporary directory, i.e. the embedded defaults) with the demo data
(``casebox demo``), and drives the system Chromium (/usr/bin/chromium; never a
downloaded browser) with Playwright, signed in as the demo patient:

a. page weight: the bytes transferred (HTTP headers and bodies as Chromium's network
   stack counts them, ``encodedDataLength``, cache disabled) for each page in PAGES:
   HTML, CSS, JS, fonts and images, except the patient's photos, in English and in
   French. Budget: 200 KB.
b. first contentful paint of the first pages (sign-in, and the home page /my/) under
   DevTools' "Slow 3G" preset (500 kbit/s x 0.8 down and up, 400 ms x 5 = 2 s latency,
   as Chrome DevTools and Puppeteer define it), set with CDP
   Network.emulateNetworkConditions; median of --runs fresh browser contexts, against
   the 3 s budget and as a ratio to the same page unthrottled, measured in this run.
c. a resumed upload: the tus upload of benchmarks/upload_resume.py is cut halfway
   through its third chunk, at the chunk size the photo page uses and at 1 MB; printed
   are the bytes sent again, in chunks (budget: at most one chunk).

    .venv/bin/python benchmarks/patient_pages.py [--runs 5]

No pass/fail: the figures are printed, then one JSON line of them.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import BrowserContext, Page, sync_playwright  # noqa: E402
from upload_resume import _cut_run  # noqa: E402  # benchmarks/ is this script's directory
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from casebox.app import create_app  # noqa: E402
from casebox.cases.models import Case, CaseStatus  # noqa: E402
from casebox.database import db  # noqa: E402
from casebox.demo import DEMO_ACCOUNTS, seed_demo, synthetic_lesion_photo  # noqa: E402
from casebox.embedded_redis import EmbeddedRedis  # noqa: E402
from casebox.i18n import LANGUAGE_COOKIE  # noqa: E402
from casebox.settings import Settings, new_data_key  # noqa: E402
from tests.domain.test_upload_resume import CuttingProxy  # noqa: E402
from tests.support import ApiClient  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
WEIGHT_BUDGET_BYTES = 200 * 1000
FCP_BUDGET_S = 3.0
# DevTools' and Puppeteer's "Slow 3G": 500 kbit/s x 0.8 each way, 400 ms x 5 latency.
SLOW_3G = {
    "offline": False,
    "downloadThroughput": 500 * 1000 / 8 * 0.8,
    "uploadThroughput": 500 * 1000 / 8 * 0.8,
    "latency": 400 * 5,
}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# The patient's photos (thumbnails, review images) are not page weight.
PHOTO_URL = re.compile(r"/api/v1/cases/[^/]+/photos/[^/]+/image")
RESUME_CHUNK_SIZES = (1024 * 1024,)


@dataclass(frozen=True)
class Demo:
    """What the pages need: the demo patient's sign-in and a draft and a submitted case."""

    email: str
    password: str
    draft_case: str
    submitted_case: str


# Each page: a name, its path (from the demo data) and whether it needs the patient
# signed in. Add pages here.
PAGES: list[tuple[str, Callable[[Demo], str], bool]] = [
    ("welcome /", lambda demo: "/", False),
    ("sign in /login", lambda demo: "/login", False),
    ("register /register", lambda demo: "/register", False),
    ("home /my/", lambda demo: "/my/", True),
    ("1 body site /my/cases/new", lambda demo: "/my/cases/new", True),
    ("2 questions", lambda demo: "/my/cases/new/questions?site=left_forearm", True),
    ("3 photos", lambda demo: f"/my/cases/{demo.draft_case}/photos", True),
    ("4 review", lambda demo: f"/my/cases/{demo.draft_case}/review", True),
    ("case page", lambda demo: f"/my/cases/{demo.submitted_case}", True),
    ("settings", lambda demo: "/my/settings", True),
]
LANGUAGES = ("en", "fr")
FIRST_PAGES: list[tuple[str, str, bool]] = [  # name, path, signed in
    ("sign in /login", "/login", False),
    ("home /my/", "/my/", True),
]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log."""


def _settings(data_dir: Path, redis_url: str) -> Settings:
    return Settings(
        env="test", data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'casebox.db'}",
        redis_url=redis_url, storage_url=f"file://{data_dir / 'objects'}",
        s3_endpoint_url=None, secret_key="bench-secret-key-" + "x" * 32,
        data_key=base64.urlsafe_b64decode(new_data_key()),
        argon2_time_cost=1, argon2_memory_kib=1024,
    )  # fmt: skip


def _seed(app: Any) -> Demo:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        seed_demo()
        cases = db.session.scalars(db.select(Case).order_by(Case.id)).all()
        draft = next(case.public_id for case in cases if case.status == CaseStatus.DRAFT)
        submitted = next(case.public_id for case in cases if case.status != CaseStatus.DRAFT)
    patient = next(account for account in DEMO_ACCOUNTS if account.role == "patient")
    return Demo(patient.email, patient.password, draft, submitted)


def _sign_in(page: Page, base: str, demo: Demo) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", demo.email)
    page.fill("input[name=password]", demo.password)
    with page.expect_navigation():  # the sign-in form's button, not the language switch's
        page.click("form:has(input[name=password]) button[type=submit]")
    assert "/login" not in page.url, "the demo patient could not sign in"


def _page_weight(context: BrowserContext, url: str) -> dict[str, int]:
    """Bytes transferred loading ``url`` with an empty cache, by resource type."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    seen: dict[str, dict[str, Any]] = {}
    cdp.on(
        "Network.requestWillBeSent",
        lambda event: seen.setdefault(
            event["requestId"], {"url": event["request"]["url"], "type": event.get("type")}
        ),
    )
    cdp.on(
        "Network.loadingFinished",
        lambda event: seen.setdefault(event["requestId"], {}).update(
            bytes=int(event["encodedDataLength"])
        ),
    )
    page.goto(url, wait_until="networkidle")
    page.close()
    totals: dict[str, int] = {}
    for request in seen.values():
        if "bytes" not in request or request.get("url", "").startswith("data:"):
            continue
        kind = "photo" if PHOTO_URL.search(request["url"]) else str(request["type"]).lower()
        totals[kind] = totals.get(kind, 0) + request["bytes"]
    return totals


_FCP_SCRIPT = """() => new Promise(resolve => {
  const found = performance.getEntriesByName('first-contentful-paint')[0];
  if (found) { resolve(found.startTime); return; }
  new PerformanceObserver(list => resolve(list.getEntries()[0].startTime))
    .observe({type: 'paint', buffered: true});
})"""


def _first_paint_s(
    browser: Any, base: str, demo: Demo, path: str, signed_in: bool, throttled: bool
) -> float:
    """Seconds from navigation to first contentful paint, in a fresh context."""
    context = browser.new_context(**PHONE)
    try:
        if signed_in:
            _sign_in(context.new_page(), base, demo)  # unthrottled: only the page is timed
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttled:
            cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.goto(f"{base}{path}", wait_until="load", timeout=60_000)
        return float(page.evaluate(_FCP_SCRIPT)) / 1000
    finally:
        context.close()


def _chunk_size_of_photo_page(browser: Any, base: str, demo: Demo) -> int:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        _sign_in(page, base, demo)
        page.goto(f"{base}/my/cases/{demo.draft_case}/photos")
        return int(page.get_attribute("[data-chunk]", "data-chunk") or 0)
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory, EmbeddedRedis(Path(directory)) as redis:
        app = create_app(_settings(Path(directory), redis.url))
        demo = _seed(app)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)

            print("a. page weight, bytes transferred with an empty cache (photos excluded)")
            print(f"   {'page':<28} " + "  ".join(f"{language:>8}" for language in LANGUAGES))
            weights: dict[str, dict[str, int]] = {language: {} for language in LANGUAGES}
            contexts = {}
            for language in LANGUAGES:
                for signed_in in (False, True):
                    context = browser.new_context(**PHONE)
                    context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": base}])
                    if signed_in:
                        _sign_in(context.new_page(), base, demo)
                    contexts[language, signed_in] = context
            for name, path_of, signed_in in PAGES:
                row = []
                for language in LANGUAGES:
                    totals = _page_weight(contexts[language, signed_in], base + path_of(demo))
                    weight = sum(size for kind, size in totals.items() if kind != "photo")
                    weights[language][name] = weight
                    row.append(f"{weight / 1000:5.1f} KB")
                parts = ", ".join(
                    f"{kind} {size / 1000:.1f}" for kind, size in sorted(totals.items())
                )
                print(f"   {name:<28} " + "  ".join(row) + f"   ({LANGUAGES[-1]}: {parts})")
            for context in contexts.values():
                context.close()
            language, heaviest = max(
                ((language, name) for language in LANGUAGES for name in weights[language]),
                key=lambda key: weights[key[0]][key[1]],
            )
            most = weights[language][heaviest]
            print(
                f"   heaviest: {heaviest} ({language}), {most / 1000:.1f} KB = "
                f"{most / WEIGHT_BUDGET_BYTES:.0%} of the {WEIGHT_BUDGET_BYTES // 1000} KB budget"
            )
            results["weight_bytes"] = weights
            results["weight_max_bytes"] = most

            print(
                f"\nb. first contentful paint, median of {args.runs} fresh contexts "
                f"(Slow 3G: {SLOW_3G['latency']:.0f} ms, "
                f"{SLOW_3G['downloadThroughput'] * 8 / 1000:.0f} kbit/s)"
            )
            for name, path, signed_in in FIRST_PAGES:
                slow = statistics.median(
                    _first_paint_s(browser, base, demo, path, signed_in, throttled=True)
                    for _ in range(args.runs)
                )
                fast = statistics.median(
                    _first_paint_s(browser, base, demo, path, signed_in, throttled=False)
                    for _ in range(args.runs)
                )
                print(
                    f"   {name:<16} slow 3G {slow:5.2f} s ({slow / FCP_BUDGET_S:.0%} of "
                    f"{FCP_BUDGET_S:.0f} s); unthrottled {fast * 1000:6.1f} ms; "
                    f"ratio {slow / fast:.0f} x"
                )
                results[f"fcp_slow3g_s {name}"] = round(slow, 3)
                results[f"fcp_unthrottled_s {name}"] = round(fast, 4)

            page_chunk = _chunk_size_of_photo_page(browser, base, demo)
            browser.close()

        print("\nc. a resumed upload: one cut halfway through the third chunk")
        api = ApiClient(app.test_client())
        token = api.login(demo.email, demo.password)
        proxy = CuttingProxy(server.server_port)
        data = synthetic_lesion_photo(11, size=(3200, 2400))
        for chunk in (page_chunk, *RESUME_CHUNK_SIZES):
            report, twice = _cut_run(api, proxy, token, data, chunk)
            label = f"{chunk // 1024} KB" + (" (the photo page's)" if chunk == page_chunk else "")
            print(
                f"   chunk {label:<24} re-sent {report.bytes_resent:>8} bytes = "
                f"{report.chunks_resent:.2f} chunk; reached the server twice: {twice} bytes"
            )
            results[f"resume_{chunk // 1024}KB"] = {
                "bytes_resent": report.bytes_resent,
                "chunks_resent": round(report.chunks_resent, 3),
                "bytes_to_server_twice": twice,
            }
        proxy.close()
        server.shutdown()
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
