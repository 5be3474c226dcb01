"""Every API route is documented, access-checked and answers errors as problem+json."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

PUBLIC_ROUTES = {
    ("GET", "/api/v1/consent"),
    ("GET", "/api/v1/body-sites"),
    ("POST", "/api/v1/patients"),
    ("POST", "/api/v1/auth/tokens"),
    ("GET", "/api/v1/openapi.json"),
    # Anyone holding a prescription's number and access code may check it.
    ("GET", "/api/v1/prescriptions/verify"),
    ("GET", "/api/v1/prescriptions/jwks.json"),
    # tus discovery (versions, extensions, size limit) and CORS preflights carry no token.
    ("OPTIONS", "/api/v1/uploads"),
}


def _api_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", path)


def test_every_non_public_route_refuses_anonymous_callers(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for method, path in _api_routes(app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        response = client.open(_concrete(path), method=method)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.content_type == "application/problem+json"
        checked += 1
    assert checked >= 8


def test_openapi_documents_every_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (method.upper(), "/api/v1" + path.removeprefix("/api/v1"))
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    for method, path in _api_routes(app):
        if path.endswith("openapi.json"):
            continue
        normalized = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        assert (method, normalized) in documented, (method, normalized)


def test_unknown_route_and_method_are_problems(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"
    wrong_method = client.put("/api/v1/body-sites")
    assert wrong_method.status_code == 405
    assert wrong_method.content_type == "application/problem+json"


def test_protected_operations_declare_bearer_auth(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            public = (method.upper(), "/api/v1" + path.removeprefix("/api/v1")) in PUBLIC_ROUTES
            assert bool(operation.get("security")) is not public, (method, path)
