"""Settings from the environment and an optional ``.env`` file (pydantic-settings)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.clock import Clock
from bot.core.i18n import LOCALES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is invalid; the message is one line naming the setting."""


class Settings(BaseSettings):
    """Everything configurable about one bot instance."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None)
    database_url: str = "sqlite+aiosqlite:///data/servicedesk.db"
    policy_file: Path | None = None
    roster_file: Path | None = None
    default_locale: str = "zh"
    staff_group_id: int | None = None  # a supergroup with topics: one topic per ticket (bot/dispatch/topics.py)
    timezone: str = "Asia/Shanghai"
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_file_url: str = "https://api.telegram.org/file/bot"
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8081
    web_port: int = 8080
    max_concurrent_updates: int = Field(default=256, ge=1, le=10_000)
    log_level: str = "INFO"
    log_json: bool = False
    log_sql: bool = False  # SQL with its parameters and rows in the logs: personal data, debugging only
    webhook_url: str | None = None  # public base URL Telegram posts to (https://bot.example.com)
    webhook_secret: SecretStr | None = None  # X-Telegram-Bot-Api-Secret-Token; derived if unset
    webhook_path: str = "/telegram"
    webhook_host: str = "127.0.0.1"  # the webhook/health/metrics listener
    webhook_port: int = 8088
    metrics_public: bool = False  # serve /metrics to non-loopback clients too
    inbox_claim_seconds: float = Field(default=60.0, gt=0)
    bot_api_max_rate: float = Field(default=30.0, gt=0)  # messages/s this instance sends at most
    bot_api_chat_pacing: bool = True  # stay under Telegram's ~1 message/s per chat (bot/runtime/pacing.py)
    clock_offset_seconds: float = 0.0  # benchmarks/demos: run the desk clock this far ahead
    flood_max_messages: int = Field(default=20, ge=1)  # per user per flood window
    flood_window_seconds: float = Field(default=60.0, gt=0)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        for plain in ("postgresql://", "postgres://"):  # the usual spelling: the driver is asyncpg
            if value.startswith(plain):
                value = "postgresql+asyncpg://" + value[len(plain):]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql://USER@HOST/DB")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL")
        return value or None

    @field_validator("policy_file", "roster_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    def clock(self) -> Clock:
        """The desk clock: the configured zone, run ``CLOCK_OFFSET_SECONDS`` ahead of real time.

        Every process of one desk (bot, sandbox, ``sdbot`` commands) builds its clock here, so a
        test or demo that moves time moves it for all of them.
        """
        return Clock(self.timezone, dt.timedelta(seconds=self.clock_offset_seconds))

    @property
    def token(self) -> str | None:
        """The bot token, or None for sandbox mode."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with one line naming the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"invalid setting {name}: {err['msg']}") from None


def desk_today() -> dt.date:
    """Today on the desk clock, in the desk's time zone (the default ``--on`` of ``sdbot`` commands)."""
    return load_settings().clock().now().date()


def desk_now() -> dt.datetime:
    """Now on the desk clock of this process's settings, in UTC (for ``sdbot`` commands)."""
    return load_settings().clock().now().astimezone(dt.UTC)
