"""The casebox command line: users, demo data and audit verification."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casebox.settings import new_data_key


@pytest.fixture
def cli_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CASEBOX_DATA_DIR": str(tmp_path),
        "CASEBOX_REDIS_URL": redis_url,
        "CASEBOX_SECRET_KEY": "cli-test-" + "k" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }


def casebox(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casebox", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_upgrade_user_create_demo_and_audit_verify(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert casebox(cli_env, "db", "upgrade").returncode == 0
    created = casebox(
        cli_env,
        "user",
        "create",
        "--email",
        "Derm@Clinic.example",
        "--role",
        "specialist",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "derm@clinic.example" in created.stdout
    assert "a long enough password" not in created.stdout + created.stderr
    duplicate = casebox(
        cli_env,
        "user",
        "create",
        "--email",
        "derm@clinic.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    first = casebox(cli_env, "demo")
    assert first.returncode == 0, first.stderr
    assert "patient@demo.casebox" in first.stdout
    assert casebox(cli_env, "demo").returncode == 0  # idempotent
    verified = casebox(cli_env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout


def test_audit_verify_fails_on_a_tampered_trail(cli_env: dict[str, str], tmp_path: Path) -> None:
    import sqlite3

    assert casebox(cli_env, "db", "upgrade").returncode == 0
    assert casebox(cli_env, "demo").returncode == 0
    with sqlite3.connect(tmp_path / "casebox.db") as connection:
        connection.execute("UPDATE audit_events SET action = 'case.view' WHERE seq = 2")
    result = casebox(cli_env, "audit", "verify")
    assert result.returncode == 1
    assert "event 2" in result.stderr


def test_short_password_on_the_command_line_is_refused(cli_env: dict[str, str]) -> None:
    assert casebox(cli_env, "db", "upgrade").returncode == 0
    result = casebox(
        cli_env,
        "user",
        "create",
        "--email",
        "a@b.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin="short\n",
    )
    assert result.returncode != 0 and "12 characters" in result.stderr


def test_a_clinic_sets_up_prescribing_from_the_command_line(cli_env: dict[str, str]) -> None:
    assert casebox(cli_env, "db", "upgrade").returncode == 0
    made = casebox(cli_env, "pharmacy", "create", "--name", "Corner Pharmacy", "--address", "1 Way")
    assert made.returncode == 0, made.stderr
    pharmacy_id = made.stdout.strip().rsplit("(", 1)[1].rstrip(")")
    pharmacist = casebox(
        cli_env, "user", "create", "--email", "rx@corner.example", "--role", "pharmacist",
        "--pharmacy", pharmacy_id, "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert pharmacist.returncode == 0, pharmacist.stderr
    wrong = casebox(
        cli_env, "user", "create", "--email", "rx2@corner.example", "--role", "pharmacist",
        "--pharmacy", "no-such-pharmacy", "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert wrong.returncode != 0 and "No such pharmacy" in wrong.stderr
    licensed = casebox(
        cli_env, "user", "create", "--email", "dr@clinic.example", "--role", "specialist",
        "--licence", "CPSO-1", "College of Physicians", "https://licences.example",
        "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert licensed.returncode == 0, licensed.stderr
    reset = casebox(cli_env, "user", "reset-mfa", "--email", "dr@clinic.example")
    assert reset.returncode == 0 and "authenticator removed" in reset.stdout
    assert casebox(cli_env, "user", "reset-mfa", "--email", "nobody@x.example").returncode != 0
