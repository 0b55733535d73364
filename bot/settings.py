"""Settings from the environment and `.env`, built once at start-up (never at import time)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "todo"}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the bot. Names are the environment variable names (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./data")
    # Empty means the embedded SQLite file <DATA_DIR>/bot.sqlite3.
    database_url: str = ""
    # Locale of user-facing text: "vi" (complete) or "en" (proves the catalog mechanism).
    bot_locale: str = "vi"
    log_level: str = "INFO"
    telegram_bot_token: SecretStr | None = None
    # polling for development; webhook (at PUBLIC_BASE_URL/telegram/webhook) for production.
    telegram_mode: Literal["polling", "webhook"] = "polling"
    # Sent back by Telegram in X-Telegram-Bot-Api-Secret-Token on every webhook call: 1-256 of A-Z a-z 0-9 _ -.
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Telegram allows about 30 messages a second overall; 0 turns the limiter off (stand-in benchmarks only).
    telegram_max_messages_per_second: float = 30
    public_base_url: str = ""
    # Zalo Bot Platform: webhook when ZALO_BOT_WEBHOOK_SECRET and PUBLIC_BASE_URL are set, else polling.
    zalo_bot_token: SecretStr | None = None
    zalo_bot_webhook_secret: SecretStr | None = None
    zalo_bot_api_base_url: str = "https://bot-api.zaloplatforms.com"
    # Zalo Official Account (Open API v3, OAuth v4). The refresh token is single-use: after the
    # first refresh the bot keeps the current pair (encrypted) in the database.
    zalo_oa_app_id: str = ""
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None

    @property
    def zalo_oa_configured(self) -> bool:
        return bool(self.zalo_oa_app_id and self.zalo_oa_secret_key and (self.zalo_oa_access_token or self.zalo_oa_refresh_token))
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Fernet keys for personal data at rest, comma-separated, newest first. Development without
    # keys uses a key file created under DATA_DIR; production refuses to start without them.
    data_encryption_keys: SecretStr | None = None
    # Registrations are kept this long after their last change, then their personal data is erased
    # (nightly, and by `python -m bot purge`). The consent text states this period.
    registration_retention_months: int = 24
    # Officer invite codes expire after this many hours (they are single-use in any case).
    officer_invite_hours: int = 72
    # What a person said about their situation (programme, age, years…) is forgotten after this silence.
    context_idle_hours: int = 72
    # The Telegram bot's @username without "@": `officers invite` then also prints t.me/<bot>?start=<code>.
    telegram_bot_username: str = ""
    # A sender that dies mid-broadcast leaves its small batch leased for this long; then it is resumed.
    notification_lease_seconds: float = 30
    # Several workers on one PostgreSQL database (`run --workers N`): a worker leases the chat whose
    # update it handles and sends; one that dies leaves the chat leased for this long, then another
    # worker's minute sweep takes it over (a restarted worker takes back its own at once).
    inbox_lease_seconds: float = 30
    # Tests only (a process started by a test): the time the reminder sweeps take as now, an
    # injected clock. Refused with ENVIRONMENT=production.
    reminders_now: datetime | None = None
    # Per-chat limits (0 turns one off). Over the first, a chat is told once and then not answered
    # for the rest of the minute; wrong invite codes lock the chat out of trying for a while; the
    # minute's count, the daily counts (Vietnamese days) and the lockout are kept in the database
    # (shared by every process), under a keyed hash.
    limit_messages_per_minute: int = 30
    limit_invite_failures: int = 5
    limit_invite_lockout_minutes: int = 60
    limit_registrations_per_day: int = 3
    limit_questions_per_day: int = 5
    # The officers' web pages: a browser session ends after this long without a request.
    web_session_idle_hours: float = 8
    # /healthz answers 503 "disk low" when DATA_DIR (or the SQLite file's disk) has less free space.
    health_min_free_mb: int = 100

    @field_validator("bot_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"vi", "en"}:
            raise ValueError("BOT_LOCALE must be 'vi' or 'en'")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret_and_address(self) -> Settings:
        if self.telegram_bot_token is not None and self.telegram_mode == "webhook":
            secret = self.telegram_webhook_secret.get_secret_value() if self.telegram_webhook_secret else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) is required in webhook mode")
            if not self.public_base_url.startswith(("https://", "http://")):
                raise ValueError("PUBLIC_BASE_URL is required in webhook mode")
        return self

    @model_validator(mode="after")
    def _zalo_oa_needs_address(self) -> Settings:
        if self.zalo_oa_configured and not self.public_base_url.startswith(("https://", "http://")):
            raise ValueError("PUBLIC_BASE_URL is required for Zalo OA (its webhook and download links)")
        return self

    @model_validator(mode="after")
    def _zalo_bot_secret_length(self) -> Settings:
        if self.zalo_bot_webhook_secret is not None and not 8 <= len(self.zalo_bot_webhook_secret.get_secret_value()) <= 256:
            raise ValueError("ZALO_BOT_WEBHOOK_SECRET must be 8 to 256 characters")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.reminders_now is not None:
                raise ValueError("REMINDERS_NOW is for tests only; unset it in production")
            if self.data_encryption_keys is None or not self.data_encryption_keys.get_secret_value().strip():
                from storage.crypto import MISSING_KEYS_MESSAGE

                raise ValueError(MISSING_KEYS_MESSAGE)
            for name in ("telegram_bot_token", "telegram_webhook_secret", "zalo_bot_token", "zalo_bot_webhook_secret",
                         "zalo_oa_secret_key"):
                secret = getattr(self, name)
                if secret is not None and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(f"{name.upper()} holds a placeholder value; set a real one")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database to use: DATABASE_URL, or the SQLite file under DATA_DIR."""
        if self.database_url.strip():
            return self.database_url.strip()
        return f"sqlite:///{(self.data_dir / 'bot.sqlite3').resolve()}"


def load_settings(**overrides) -> Settings:
    """Builds the settings; keyword overrides win over the environment (used by the CLI and tests)."""
    return Settings(**overrides)
