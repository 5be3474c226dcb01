"""Settings come from the environment and refuse unsafe production setups."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebox.errors import ConfigurationError
from casebox.settings import Settings, new_data_key


def test_development_defaults_are_embedded_and_keys_generated(tmp_path: Path) -> None:
    settings = Settings.from_env({"CASEBOX_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'casebox.db'}"
    assert settings.embedded_redis
    assert settings.storage_url == f"file://{tmp_path / 'objects'}"
    assert (tmp_path / "data_key").stat().st_mode & 0o777 == 0o600
    again = Settings.from_env({"CASEBOX_DATA_DIR": str(tmp_path)})
    assert again.data_key == settings.data_key and again.secret_key == settings.secret_key


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("CASEBOX_SECRET_KEY", "CASEBOX_SECRET_KEY"),
        ("CASEBOX_DATA_KEY", "CASEBOX_DATA_KEY"),
        ("CASEBOX_DATABASE_URL", "SQLite"),
        ("CASEBOX_REDIS_URL", "embedded"),
    ],
)
def test_production_refuses_unsafe_defaults(tmp_path: Path, missing: str, message: str) -> None:
    environ = {
        "CASEBOX_ENV": "production",
        "CASEBOX_DATA_DIR": str(tmp_path),
        "CASEBOX_SECRET_KEY": "s" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
        "CASEBOX_DATABASE_URL": "postgresql+psycopg://db.internal/casebox",
        "CASEBOX_REDIS_URL": "redis://redis.internal:6379/0",
    }
    del environ[missing]
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(environ)
    assert not (tmp_path / "data_key").exists()


def test_production_accepts_explicit_services(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CASEBOX_ENV": "production",
            "CASEBOX_SECRET_KEY": "s" * 40,
            "CASEBOX_DATA_KEY": new_data_key(),
            "CASEBOX_DATABASE_URL": "postgresql+psycopg://db.internal/casebox",
            "CASEBOX_REDIS_URL": "redis://redis.internal:6379/0",
            "CASEBOX_STORAGE_URL": "s3://bucket/casebox",
            "CASEBOX_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.is_production and not settings.embedded_redis


@pytest.mark.parametrize("bad_key", ["short", "!!!not base64!!!", ""])
def test_bad_data_key_is_refused(tmp_path: Path, bad_key: str) -> None:
    environ = {"CASEBOX_DATA_DIR": str(tmp_path), "CASEBOX_DATA_KEY": bad_key or "AAAA"}
    with pytest.raises(ConfigurationError, match="CASEBOX_DATA_KEY"):
        Settings.from_env(environ)


def test_non_numeric_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CASEBOX_MAX_UPLOAD_BYTES"):
        Settings.from_env({"CASEBOX_DATA_DIR": str(tmp_path), "CASEBOX_MAX_UPLOAD_BYTES": "lots"})


def test_quality_thresholds_come_from_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"CASEBOX_DATA_DIR": str(tmp_path), "CASEBOX_QUALITY_THRESHOLDS": '{"min_sharpness": 20}'}
    )
    assert settings.quality.min_sharpness == 20
    with pytest.raises(ConfigurationError, match="CASEBOX_QUALITY_THRESHOLDS"):
        Settings.from_env(
            {"CASEBOX_DATA_DIR": str(tmp_path), "CASEBOX_QUALITY_THRESHOLDS": '{"sharpnes": 1}'}
        )


def test_the_clinic_time_zone_must_be_a_real_one(tmp_path: Path) -> None:
    base = {"CASEBOX_DATA_DIR": str(tmp_path)}
    assert Settings.from_env({**base, "CASEBOX_TIMEZONE": "America/Toronto"}).timezone == (
        "America/Toronto"
    )
    with pytest.raises(ConfigurationError, match="CASEBOX_TIMEZONE"):
        Settings.from_env({**base, "CASEBOX_TIMEZONE": "Mars/Olympus"})
