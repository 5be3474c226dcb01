"""Browser fixtures: the application served over HTTP to the system Chromium.

Each xdist worker serves its own application (file SQLite, the worker's Redis) from
a thread; every test starts from an empty database and seeds what it needs through
the API with the Flask test client, as the other suites do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, Response
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from casebox.accounts.models import Role, User
from casebox.accounts.operations import create_user
from casebox.app import create_app
from casebox.database import db
from casebox.review.memberships import all_queue_names, set_queues
from prescriptions.directory import record_licence
from tests.browser.pages import StaffAccount
from tests.conftest import _reset, test_settings
from tests.support import STAFF_PASSWORD, ApiClient


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system Chromium: browsers are never downloaded."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium"}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A desktop-sized window, as a specialist's workstation has."""
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}}


@pytest.fixture(scope="session")
def live_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An application on its own SQLite file, migrated, private to this xdist worker."""
    from flask_migrate import upgrade

    data_dir = tmp_path_factory.mktemp("live")
    application = create_app(
        test_settings(data_dir, f"sqlite:///{data_dir / 'casebox.db'}", redis_url)
    )
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep one line per request out of the test output."""


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The application served on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """Relative page.goto() paths resolve against the live server."""
    return live_server


@pytest.fixture
def live_api(live_app: Flask) -> Iterator[ApiClient]:
    """The API client on the served application, with an empty database around the test."""
    _reset(live_app)
    yield ApiClient(live_app.test_client())
    _reset(live_app)


@pytest.fixture
def make_specialist(live_api: ApiClient) -> Callable[[str], StaffAccount]:
    """A factory of specialists who work every queue and sign in with a known password."""
    application = live_api.client.application

    def make(name: str) -> StaffAccount:
        email = f"{name.lower().replace(' ', '.').replace('dr.', '')}@clinic.example"
        with application.app_context():
            user = create_user(email, STAFF_PASSWORD, name=name, role=Role.SPECIALIST)
            set_queues(user, all_queue_names())
            db.session.commit()
        return StaffAccount(email, STAFF_PASSWORD, name)

    return make


@pytest.fixture
def make_prescriber(
    live_api: ApiClient, make_specialist: Callable[[str], StaffAccount]
) -> Callable[[str], StaffAccount]:
    """A factory of specialists with a recorded prescriber licence (no authenticator yet)."""
    application = live_api.client.application

    def make(name: str) -> StaffAccount:
        account = make_specialist(name)
        with application.app_context():
            user = db.session.scalar(select(User).where(User.email == account.email))
            assert user is not None
            record_licence(
                user, number="CPSO-98765", authority="College of Physicians",
                system="https://licences.example/cpso",
            )  # fmt: skip
            db.session.commit()
        return account

    return make


@pytest.fixture(autouse=True)
def _report_browser_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the page's script errors and failed requests; pytest shows them on failure."""
    if "page" not in request.fixturenames:
        yield
        return
    page: Page = request.getfixturevalue("page")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            print(f"console: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            print(f"HTTP {response.status} {response.url}")

    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.on("console", on_console)
    page.on("response", on_response)
    yield
