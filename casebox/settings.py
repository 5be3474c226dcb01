"""Typed, frozen settings built from ``CASEBOX_*`` environment variables.

Embedded defaults let one machine run casebox with no setup: SQLite, an
embedded Redis server and local object storage, all under the data directory.
``CASEBOX_ENV=production`` refuses those defaults and generated keys.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casebox.errors import ConfigurationError
from casebox.photos.quality import QualityThresholds
from casebox.queues.rules import RoutingRules

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "test", "production")


@dataclass(frozen=True)
class ClinicDetails:
    """The organisation that issues prescriptions."""

    name: str = "casebox demo clinic"
    address: str = "1 Example Street, Springfield"
    phone: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the application and the workers need to know about their world."""

    env: str
    data_dir: Path
    database_url: str
    redis_url: str | None
    storage_url: str
    s3_endpoint_url: str | None
    secret_key: str
    data_key: bytes
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 64_000_000
    token_ttl_hours: int = 12
    login_limit_per_account: str = "5/15 minutes"
    login_limit_per_address: str = "30/15 minutes"
    routing: RoutingRules = field(default_factory=RoutingRules)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # Where model folders live (None: the models/ folder shipped with casebox).
    models_dir: Path | None = None
    lesion_model: str = "ham10000_xception"
    # Backoff between job attempts; len() is the number of retries after the first try.
    job_retry_intervals: tuple[int, ...] = (10, 60, 300)
    # Heartbeats every 10 s and registry maintenance every 30 s let RQ notice an
    # abandoned job (worker killed) and retry it within about two minutes.
    worker_monitoring_interval: int = 10
    worker_maintenance_interval: int = 30
    # The sweeper re-enqueues photos and cases pending longer than this with no live job.
    stuck_after_seconds: int = 120
    # A specialist's hold on a case lapses after this long without renewal.
    claim_lease_minutes: int = 30
    # A case coming back (a follow-up, a reply to a request for more information) is
    # held this long for the specialist who asked, never past its SLA due time.
    return_reservation_hours: int = 24
    # The clinic as printed on prescriptions, and the address pharmacies verify them at.
    clinic: ClinicDetails = field(default_factory=ClinicDetails)
    public_url: str = "http://127.0.0.1:5000"
    prescription_validity_days: int = 30
    # A real PDF signing certificate (PEM key, certificate, chain); None: a development CA.
    pdf_signing_key: Path | None = None
    pdf_signing_cert: Path | None = None
    pdf_signing_chain: tuple[Path, ...] = ()
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    # E-mail notices over SMTP. With no host, development and tests write each message to
    # a file in <data dir>/mail instead, and production offers no e-mail channel.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True  # port 465 speaks TLS from the start instead
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "casebox <no-reply@casebox.invalid>"
    # Text messages: a provider name (casebox.notifications.sms); "logging" only logs that
    # a text was sent, so production offers no text channel with it.
    sms_backend: str = "logging"
    # How far casebox's clock (casebox.clock.now) runs ahead of the real one: tests and
    # drills move follow-up due dates and retention periods by changing this, never by
    # waiting. Refused in production.
    clock_offset: timedelta = timedelta(0)
    # The clinic's time zone (IANA name): dates and times on patients' pages are shown in it.
    timezone: str = "UTC"
    # How long an erased patient's clinical records are kept before the daily purge
    # deletes them (casebox.erasure). Clinics set it to their jurisdiction's rule for
    # keeping medical records; the default is ten years.
    retention_days: int = 3650

    @property
    def embedded_redis(self) -> bool:
        """Whether casebox runs its own Redis server in the data directory."""
        return self.redis_url is None

    @property
    def embedded_redis_socket(self) -> Path:
        """Unix socket of the embedded Redis server."""
        return self.data_dir / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        """The Redis URL clients connect to, embedded or not."""
        if self.redis_url:
            return self.redis_url
        return f"unix://{self.embedded_redis_socket}"

    @property
    def is_production(self) -> bool:
        """Whether the strict production rules apply."""
        return self.env == "production"

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (tests and the CLI use this)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment, failing fast on unsafe production setups."""
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("CASEBOX_ENV", "development")
        if env not in ENVIRONMENTS:
            raise ConfigurationError(f"CASEBOX_ENV must be one of {', '.join(ENVIRONMENTS)}")
        production = env == "production"
        data_dir = Path(env_vars.get("CASEBOX_DATA_DIR", "instance")).resolve()
        database_url = (
            env_vars.get("CASEBOX_DATABASE_URL") or f"sqlite:///{data_dir / 'casebox.db'}"
        )
        redis_url = env_vars.get("CASEBOX_REDIS_URL") or None
        storage_url = env_vars.get("CASEBOX_STORAGE_URL") or f"file://{data_dir / 'objects'}"

        if production:
            _refuse_embedded_in_production(env_vars, database_url, redis_url)
        secret_key = env_vars.get("CASEBOX_SECRET_KEY") or _generated_key(data_dir, "secret_key")
        data_key_text = env_vars.get("CASEBOX_DATA_KEY") or _generated_key(data_dir, "data_key")
        settings = cls(
            env=env,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            storage_url=storage_url,
            s3_endpoint_url=env_vars.get("CASEBOX_S3_ENDPOINT_URL") or None,
            secret_key=secret_key,
            data_key=decode_data_key(data_key_text),
            routing=RoutingRules.from_setting(env_vars.get("CASEBOX_ROUTING_RULES")),
            quality=_quality_thresholds(env_vars.get("CASEBOX_QUALITY_THRESHOLDS")),
            models_dir=Path(env_vars["CASEBOX_MODELS_DIR"])
            if env_vars.get("CASEBOX_MODELS_DIR")
            else None,
            lesion_model=env_vars.get("CASEBOX_LESION_MODEL", "ham10000_xception"),
            clinic=ClinicDetails(
                name=env_vars.get("CASEBOX_CLINIC_NAME", ClinicDetails.name),
                address=env_vars.get("CASEBOX_CLINIC_ADDRESS", ClinicDetails.address),
                phone=env_vars.get("CASEBOX_CLINIC_PHONE") or None,
            ),
            public_url=env_vars.get("CASEBOX_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
            **_pdf_signing(env_vars),
            **_notification_channels(env_vars, production),
            clock_offset=_clock_offset(env_vars, production),
            timezone=_timezone(env_vars.get("CASEBOX_TIMEZONE", "UTC")),
            **_optional_ints(env_vars),
        )
        if len(settings.secret_key) < 32:
            raise ConfigurationError("CASEBOX_SECRET_KEY must be at least 32 characters")
        return settings


def decode_data_key(text: str) -> bytes:
    """Decode a base64 (standard or URL-safe) 256-bit data key."""
    try:
        key = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError("CASEBOX_DATA_KEY must be base64") from exc
    if len(key) != 32:
        raise ConfigurationError("CASEBOX_DATA_KEY must decode to exactly 32 bytes (AES-256)")
    return key


def new_data_key() -> str:
    """Return a fresh base64 data key suitable for CASEBOX_DATA_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


_INT_SETTINGS = {
    "CASEBOX_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "CASEBOX_MAX_IMAGE_PIXELS": "max_image_pixels",
    "CASEBOX_TOKEN_TTL_HOURS": "token_ttl_hours",
    "CASEBOX_WORKER_MONITORING_INTERVAL": "worker_monitoring_interval",
    "CASEBOX_WORKER_MAINTENANCE_INTERVAL": "worker_maintenance_interval",
    "CASEBOX_STUCK_AFTER_SECONDS": "stuck_after_seconds",
    "CASEBOX_CLAIM_LEASE_MINUTES": "claim_lease_minutes",
    "CASEBOX_RETURN_RESERVATION_HOURS": "return_reservation_hours",
    "CASEBOX_PRESCRIPTION_VALIDITY_DAYS": "prescription_validity_days",
    "CASEBOX_SMTP_PORT": "smtp_port",
    # Clinics set this to their jurisdiction's medical-records retention rule.
    "CASEBOX_RETENTION_DAYS": "retention_days",
}


def _notification_channels(env_vars: Mapping[str, str], production: bool) -> dict[str, Any]:
    from casebox.notifications.sms import SMS_PROVIDERS

    values: dict[str, Any] = {
        "smtp_host": env_vars.get("CASEBOX_SMTP_HOST") or None,
        "smtp_username": env_vars.get("CASEBOX_SMTP_USERNAME") or None,
        "smtp_password": env_vars.get("CASEBOX_SMTP_PASSWORD") or None,
        "sms_backend": env_vars.get("CASEBOX_SMS_BACKEND", "logging"),
    }
    if env_vars.get("CASEBOX_MAIL_FROM"):
        values["mail_from"] = env_vars["CASEBOX_MAIL_FROM"]
    starttls = env_vars.get("CASEBOX_SMTP_STARTTLS", "1").lower()
    if starttls not in ("1", "0", "true", "false"):
        raise ConfigurationError("CASEBOX_SMTP_STARTTLS must be 1/0 or true/false")
    values["smtp_starttls"] = starttls in ("1", "true")
    if values["sms_backend"] not in SMS_PROVIDERS:
        raise ConfigurationError(f"CASEBOX_SMS_BACKEND must be one of {', '.join(SMS_PROVIDERS)}")
    if bool(values["smtp_username"]) != bool(values["smtp_password"]):
        raise ConfigurationError("set both CASEBOX_SMTP_USERNAME and CASEBOX_SMTP_PASSWORD")
    implicit_tls = env_vars.get("CASEBOX_SMTP_PORT") == "465"
    if production and values["smtp_username"] and not (values["smtp_starttls"] or implicit_tls):
        raise ConfigurationError("unsafe production configuration: SMTP login without TLS")
    return values


def _pdf_signing(env_vars: Mapping[str, str]) -> dict[str, Any]:
    key, cert = env_vars.get("CASEBOX_PDF_SIGNING_KEY"), env_vars.get("CASEBOX_PDF_SIGNING_CERT")
    if not key and not cert:
        return {}
    if not (key and cert):
        raise ConfigurationError("set both CASEBOX_PDF_SIGNING_KEY and CASEBOX_PDF_SIGNING_CERT")
    chain = env_vars.get("CASEBOX_PDF_SIGNING_CHAIN", "")
    return {
        "pdf_signing_key": Path(key),
        "pdf_signing_cert": Path(cert),
        "pdf_signing_chain": tuple(Path(part) for part in chain.split(",") if part),
    }


def _optional_ints(env_vars: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, name in _INT_SETTINGS.items():
        if variable in env_vars:
            try:
                values[name] = int(env_vars[variable])
            except ValueError as exc:
                raise ConfigurationError(f"{variable} must be an integer") from exc
            if values[name] <= 0:
                raise ConfigurationError(f"{variable} must be positive")
    return values


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"CASEBOX_TIMEZONE must be an IANA time zone such as America/Toronto, not {name!r}"
        ) from exc
    return name


def _clock_offset(env_vars: Mapping[str, str], production: bool) -> timedelta:
    value = env_vars.get("CASEBOX_CLOCK_OFFSET_SECONDS")
    if not value:
        return timedelta(0)
    if production:
        raise ConfigurationError("CASEBOX_CLOCK_OFFSET_SECONDS is for tests and drills only")
    try:
        return timedelta(seconds=int(value))
    except ValueError as exc:
        raise ConfigurationError("CASEBOX_CLOCK_OFFSET_SECONDS must be an integer") from exc


def _quality_thresholds(value: str | None) -> QualityThresholds:
    """Parse CASEBOX_QUALITY_THRESHOLDS (a JSON object of QualityThresholds fields)."""
    if not value:
        return QualityThresholds()
    try:
        overrides = json.loads(value)
        return QualityThresholds(**overrides)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"CASEBOX_QUALITY_THRESHOLDS is malformed: {exc}") from exc


def _refuse_embedded_in_production(
    env_vars: Mapping[str, str], database_url: str, redis_url: str | None
) -> None:
    problems = []
    for variable in ("CASEBOX_SECRET_KEY", "CASEBOX_DATA_KEY"):
        if not env_vars.get(variable):
            problems.append(f"{variable} must be set explicitly")
    if database_url.startswith("sqlite"):
        problems.append("CASEBOX_DATABASE_URL must point to PostgreSQL, not SQLite")
    if redis_url is None:
        problems.append("CASEBOX_REDIS_URL must point to a Redis server, not the embedded one")
    if problems:
        raise ConfigurationError("unsafe production configuration: " + "; ".join(problems))


def _generated_key(data_dir: Path, name: str) -> str:
    """Read or create a development key file in the data directory."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = new_data_key() if name == "data_key" else secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    log.warning("generated a development %s in %s; set it explicitly in production", name, path)
    return value
