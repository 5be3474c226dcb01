"""The ``casebox`` command line."""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask

from casebox.accounts.models import Role
from casebox.app import create_app
from casebox.errors import CaseboxError
from casebox.settings import Settings


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except CaseboxError as error:
        raise click.ClickException(error.detail) from error
    # The one place that creates the data directory: commands may, the factory may not.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _app() -> Flask:
    return create_app(_settings())


@click.group()
def main() -> None:
    """casebox: store-and-forward teledermatology."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    "worker_count",
    default=2,
    show_default=True,
    type=int,
    help="RQ worker processes to run beside the web server.",
)
@click.option("--web-processes", default=2, show_default=True, type=int)
def serve(host: str, port: int, worker_count: int, web_processes: int) -> None:
    """Run the web server, the outbox relay, N workers and (by default) the embedded Redis."""
    from casebox.serving import serve_all

    sys.exit(
        serve_all(
            _settings(),
            host=host,
            port=port,
            worker_count=worker_count,
            web_processes=web_processes,
        )
    )


@main.command()
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
def worker(burst: bool) -> None:
    """Run one RQ worker for the pipeline queue."""
    from casebox import services
    from workers.queues import default_queue
    from workers.worker import PipelineWorker

    app = _app()
    with app.app_context():
        connection = services.redis_connection()
        queue = default_queue(connection)
    PipelineWorker([queue], connection=connection, app=app).work(burst=burst, with_scheduler=True)


@main.command()
def relay() -> None:
    """Relay committed outbox events to the job queue."""
    import signal

    from casebox import services
    from workers.queues import default_queue
    from workers.relay import run_relay

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = _app()
    with app.app_context():
        run_relay(default_queue(services.redis_connection()), should_stop=lambda: stopping)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to a revision."""
    from flask_migrate import upgrade

    app = _app()
    with app.app_context():
        upgrade(revision=revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.option("--revision", default="-1", show_default=True)
def db_downgrade(revision: str) -> None:
    """Revert migrations down to a revision."""
    from flask_migrate import downgrade

    app = _app()
    with app.app_context():
        downgrade(revision=revision)
    click.echo(f"database downgraded to {revision}")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default=None, help="Display name (defaults to the email).")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (never from the command line).",
)
@click.option(
    "--queues",
    default=None,
    help="Specialists: comma-separated review queues to work (default: every queue).",
)
@click.option("--pharmacy", default=None, help="Pharmacists: the id of their pharmacy.")
@click.option(
    "--licence",
    nargs=3,
    default=None,
    metavar="NUMBER AUTHORITY SYSTEM",
    help="Specialists: the prescriber licence (number, issuing authority, identifier URI).",
)
def user_create(
    email: str,
    role: str,
    name: str | None,
    password_stdin: bool,
    queues: str | None,
    pharmacy: str | None,
    licence: tuple[str, str, str] | None,
) -> None:
    """Create an account of any role."""
    from casebox.accounts.operations import create_user
    from casebox.database import db as database
    from casebox.review.memberships import all_queue_names, set_queues
    from prescriptions.directory import attach_pharmacist, record_licence
    from prescriptions.operations import find_pharmacy

    password = sys.stdin.readline().rstrip("\r\n")
    app = _app()
    with app.app_context():
        try:
            created = create_user(email, password, name=name or email, role=Role(role))
            if created.role == Role.SPECIALIST:
                wanted = queues.split(",") if queues else all_queue_names()
                set_queues(created, [name.strip() for name in wanted if name.strip()])
            if pharmacy:
                attach_pharmacist(created, find_pharmacy(pharmacy))
            if licence:
                number, authority, system = licence
                record_licence(created, number=number, authority=authority, system=system)
            database.session.commit()
        except CaseboxError as error:
            raise click.ClickException(error.detail) from error
        click.echo(f"created {role} {created.email} ({created.public_id})")


@user.command("reset-mfa")
@click.option("--email", required=True)
def user_reset_mfa(email: str) -> None:
    """Remove a user's authenticator app (lost phone); they set up a new one."""
    from sqlalchemy import select

    from casebox.accounts.mfa import reset_totp
    from casebox.accounts.models import User
    from casebox.database import db as database

    app = _app()
    with app.app_context():
        found = database.session.scalar(select(User).where(User.email == email))
        if found is None:
            raise click.ClickException("No such user.")
        reset_totp(found)
        database.session.commit()
    click.echo(f"authenticator removed for {email}; they can set up a new one")


@main.group()
def pharmacy() -> None:
    """Pharmacies that receive prescriptions."""


@pharmacy.command("create")
@click.option("--name", required=True)
@click.option("--address", required=True)
@click.option("--phone", default=None)
def pharmacy_create(name: str, address: str, phone: str | None) -> None:
    """Register a pharmacy; prints its id (for ``user create --pharmacy``)."""
    from casebox.database import db as database
    from prescriptions.directory import create_pharmacy

    app = _app()
    with app.app_context():
        try:
            created = create_pharmacy(name, address, phone)
            database.session.commit()
        except CaseboxError as error:
            raise click.ClickException(error.detail) from error
        click.echo(f"created pharmacy {created.name} ({created.public_id})")


@main.command()
def demo() -> None:
    """Seed a demo clinic (idempotent) and print its logins."""
    from casebox.demo import DEMO_ACCOUNTS, demo_totp_secret, seed_demo

    app = _app()
    with app.app_context():
        try:
            seed_demo()
        except CaseboxError as error:
            raise click.ClickException(error.detail) from error
        secret = demo_totp_secret()
    click.echo("Demo logins (development only):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.role:<10} {account.email:<28} {account.password}")
    if secret:
        click.echo(f"The demo specialist signs prescriptions with an authenticator: {secret}")
        click.echo(
            "  add it to an authenticator app, or print the current code with: "
            f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""
        )


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first bad event."""
    from casebox.audit.trail import verify_chain

    app = _app()
    with app.app_context():
        checked, broken = verify_chain()
    if broken is not None:
        click.echo(
            f"audit trail BROKEN at event {broken.seq}: {broken.reason} "
            f"({checked} events verified before it)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"audit trail intact: {checked} events verified")


@main.command("purge-erased")
def purge_erased() -> None:
    """Purge the records of erased patients whose retention period has passed."""
    from casebox.erasure.purge import purge_due

    app = _app()
    with app.app_context():
        run = purge_due()
    click.echo(f"purged {len(run.purged)} erased patient(s)")
