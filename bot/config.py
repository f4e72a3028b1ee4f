"""Settings: one frozen object, built in one place from the environment and `.env`."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.language.detect import code_of
from bot.logs import install_redaction

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class StartupError(Exception):
    """The bot cannot start (Telegram refused the token, unreachable, unusable database)."""


def _ids(value: Any) -> Any:
    """ "123, -100456 789": Telegram ids separated by commas or spaces."""
    if isinstance(value, str):
        try:
            return frozenset(int(item) for item in value.replace(",", " ").split())
        except ValueError:
            raise ValueError("must be Telegram ids (whole numbers) separated by commas") from None
    return value


def _urls(value: Any) -> Any:
    """ "https://a.example/feed, https://b.example/rss": commas or spaces between URLs."""
    if isinstance(value, str):
        urls = tuple(value.replace(",", " ").split())
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"not an http(s) URL: {bad[0][:100]}")
        return urls
    return value


def _sites(value: Any) -> Any:
    """ "https://cdn.example.com, http://10.0.0.5:8080" or "*": origins, no paths."""
    if isinstance(value, str):
        sites = tuple(value.replace(",", " ").split())
        for site in sites:
            parts = urlsplit(site)
            shaped = parts.scheme in ("http", "https") and parts.hostname
            if site != "*" and (not shaped or parts.path.strip("/") or parts.query):
                raise ValueError(f"not * or an http(s)://host[:port] origin: {site[:100]}")
        return sites
    return value


Ids = Annotated[frozenset[int], NoDecode, BeforeValidator(_ids)]
Urls = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_urls)]
Sites = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_sites)]


class Settings(BaseSettings):
    """Every setting newsbot reads, with its environment key as the alias."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        env_file=".env",
        env_file_encoding="utf-8",
        populate_by_name=False,
        hide_input_in_errors=True,
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_base_url: str | None = Field(default=None, alias="TELEGRAM_BASE_URL")
    articles_dir: Path = Field(default=Path("seeds"), alias="NEWSBOT_ARTICLES_DIR")
    # A SQLite file, or a postgresql:// URL (the database several instances share).
    database: str = Field(default="data/newsbot.sqlite3", alias="NEWSBOT_DB")
    cache_dir: Path = Field(default=Path("data/cache"), alias="NEWSBOT_CACHE_DIR")
    # The semantic stage's model: "default" (the packaged bge-small-en-v1.5), a folder with
    # model.onnx and tokenizer.json, or "none" (lexical only).
    model: str = Field(default="default", alias="NEWSBOT_MODEL")
    # The cross-encoder that reads the leading candidates: "default" (the packaged
    # ms-marco-MiniLM-L-12-v2), a folder with model.onnx and tokenizer.json, or "none".
    reranker: str = Field(default="default", alias="NEWSBOT_RERANKER")
    rerank_depth: int = Field(default=8, ge=0, le=100, alias="NEWSBOT_RERANK_DEPTH")
    # The language of articles whose front matter names none: "auto" (detected per article)
    # or an ISO 639-1 code ("de"); bot/language/detect.py.
    language: str = Field(default="auto", alias="NEWSBOT_LANGUAGE")
    top_k: int = Field(default=3, ge=1, le=20, alias="NEWSBOT_TOP_K")
    rate_limit: float = Field(default=30.0, ge=0, alias="NEWSBOT_RATE_LIMIT")
    telegram_timeout: float = Field(default=10.0, gt=0, le=300, alias="NEWSBOT_TELEGRAM_TIMEOUT")
    log_level: str = Field(default="INFO", alias="NEWSBOT_LOG_LEVEL")
    admin_ids: Ids = Field(default=frozenset(), alias="NEWSBOT_ADMIN_IDS")
    allowed_chats: Ids = Field(default=frozenset(), alias="NEWSBOT_ALLOWED_CHATS")
    retention_days: int = Field(default=0, ge=0, le=36500, alias="NEWSBOT_RETENTION_DAYS")
    watch: bool = Field(default=False, alias="NEWSBOT_WATCH")
    # Importing articles from pages and feeds (bot.ingest.imports, bot.serving.poller).
    feeds: Urls = Field(default=(), alias="NEWSBOT_FEEDS")
    feed_interval: float = Field(default=15.0, gt=0, le=1440, alias="NEWSBOT_FEED_INTERVAL")
    fetch_delay: float = Field(default=1.0, ge=0, le=60, alias="NEWSBOT_FETCH_DELAY")
    fetch_timeout: float = Field(default=20.0, gt=0, le=300, alias="NEWSBOT_FETCH_TIMEOUT")
    fetch_max_mb: float = Field(default=10.0, gt=0, le=500, alias="NEWSBOT_FETCH_MAX_MB")
    # Seconds one page's text extraction may take before it is given up (bot.ingest.extract_pool).
    extract_timeout: float = Field(default=30.0, gt=0, le=600, alias="NEWSBOT_EXTRACT_TIMEOUT")
    import_state: Path = Field(
        default=Path("data/import-state.json"), alias="NEWSBOT_IMPORT_STATE"
    )
    contact: str | None = Field(default=None, alias="NEWSBOT_CONTACT")
    # What feeds and redirects may point the importer at beyond the operator's own URLs'
    # sites (bot.ingest.netguard): other sites (origins, or * for any), private addresses.
    fetch_sites: Sites = Field(default=(), alias="NEWSBOT_FETCH_SITES")
    fetch_private: bool = Field(default=False, alias="NEWSBOT_FETCH_PRIVATE")
    # Webhook mode (handlers/webhook.py): Telegram posts updates to this URL.
    webhook_url: str | None = Field(default=None, alias="NEWSBOT_WEBHOOK_URL")
    webhook_listen: str = Field(default="127.0.0.1:8080", alias="NEWSBOT_WEBHOOK_LISTEN")
    webhook_secret: SecretStr | None = Field(default=None, alias="NEWSBOT_WEBHOOK_SECRET")
    webhook_max_connections: int = Field(
        default=40, ge=1, le=100, alias="NEWSBOT_WEBHOOK_MAX_CONNECTIONS"
    )
    # `newsbot dashboard` (newsbot/dashboard.py): HTTP Basic credentials of the newsroom's view.
    dashboard_user: str = Field(
        default="newsroom", pattern=r"^[^:\s]{1,64}$", alias="NEWSBOT_DASHBOARD_USER"
    )
    dashboard_password: SecretStr | None = Field(default=None, alias="NEWSBOT_DASHBOARD_PASSWORD")

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: Any) -> Any:
        text = str(value).strip()
        if not text:
            raise ValueError("must be a SQLite file path or a postgresql:// URL")
        if text.startswith(("postgresql://", "postgres://")):
            parts = urlsplit(text)
            if not parts.hostname or not parts.path.strip("/"):
                raise ValueError("a PostgreSQL URL needs a host and a database name")
        return text

    @field_validator("articles_dir", "cache_dir", mode="before")
    @classmethod
    def _folder_named(cls, value: Any) -> Any:
        # A blank path is the current folder: served as articles, or emptied as a cache.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is blank: name a folder")
        return value

    @field_validator("model", "reranker", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        text = str(value).strip() if value is not None else ""
        if text.lower() in ("", "default", "none"):
            return text.lower() or "default"
        folder = Path(text).expanduser()
        missing = [n for n in ("model.onnx", "tokenizer.json") if not (folder / n).is_file()]
        if not folder.is_dir() or missing:
            raise ValueError(
                f"{text} is not a model folder (it needs model.onnx and tokenizer.json); "
                "or use default, or none for lexical answers only"
            )
        return str(folder)

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        text = str(value).strip() if value is not None else ""
        if text.lower() in ("", "auto"):
            return "auto"
        code = code_of(text)
        if code is None:
            raise ValueError(f"{text} is not a language: use auto, or a code such as de or en")
        return code

    @property
    def articles_language(self) -> str | None:
        """The language set for articles that name none (None: detect each)."""
        return None if self.language == "auto" else self.language

    @model_validator(mode="after")
    def _cache_apart(self) -> Settings:
        """The cache removes what it wrote in its folder: never let it share one."""
        cache = self.cache_dir.resolve()
        others = {"the articles folder": self.articles_dir, "the current folder": Path.cwd()}
        if self.db_url is None:
            others["the log's folder (NEWSBOT_DB)"] = self.db_path.parent
        for name, folder in others.items():
            if cache == folder.resolve():
                raise ConfigError("NEWSBOT_CACHE_DIR", f"must not be {name}: {self.cache_dir}")
        return self

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be the https:// URL Telegram posts updates to")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:8080")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters: letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ConfigError("NEWSBOT_WEBHOOK_SECRET", "is required with NEWSBOT_WEBHOOK_URL")
        return self

    @field_validator(
        "telegram_bot_token",
        "telegram_base_url",
        "contact",
        "webhook_url",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("dashboard_password", mode="before")
    @classmethod
    def _blank_password_is_unset(cls, value: Any) -> Any:
        # .env.example's empty line means "not set"; a password is otherwise taken as given.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # BotFather tokens look like 123456:ABC-...; catching a pasted URL or quote early
        # beats a confusing 404 from Telegram later. The token itself is never echoed.
        if value is not None:
            raw = value.get_secret_value()
            head, sep, tail = raw.partition(":")
            if not (
                sep and head.isdigit() and tail and all(c.isalnum() or c in "-_" for c in tail)
            ):
                raise ValueError("does not look like a BotFather token (digits:letters)")
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> str:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    def allows(self, chat_id: int | None, user_id: int | None) -> bool:
        """May this chat (or, with no chat, e.g. inline mode, this user) use the bot?

        Everyone may without an allowlist; admins always may.
        """
        if not self.allowed_chats or self.is_admin(user_id):
            return True
        return (chat_id if chat_id is not None else user_id) in self.allowed_chats

    @property
    def db_url(self) -> str | None:
        """The PostgreSQL URL, when NEWSBOT_DB is one."""
        return (
            self.database if self.database.startswith(("postgresql://", "postgres://")) else None
        )

    @property
    def db_path(self) -> Path:
        """The SQLite file (NEWSBOT_DB is not a PostgreSQL URL)."""
        if self.db_url is not None:
            raise ValueError("NEWSBOT_DB is a PostgreSQL URL, not a file")
        return Path(self.database)

    @property
    def pending_path(self) -> Path:
        """Where log rows the database would not take at shutdown wait for the next start."""
        if self.db_url is None:
            return self.db_path.with_name(self.db_path.name + ".pending.jsonl")
        return self.cache_dir.parent / "postgresql.pending.jsonl"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never reach a log: the token, the webhook secret, the database password,
        the dashboard's password."""
        found = [self.token or ""]
        if self.webhook_secret is not None:
            found.append(self.webhook_secret.get_secret_value())
        if self.dashboard_password is not None:
            found.append(self.dashboard_password.get_secret_value())
        if self.db_url is not None:
            found.append(urlsplit(self.db_url).password or "")
        return tuple(s for s in found if s)

    @property
    def token(self) -> str | None:
        """The bot token in clear, for the one place that needs it."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Build the settings from the environment and `env_file`; raise ConfigError naming the key."""
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(key, message) from None
    except UnicodeDecodeError:
        raise ConfigError(str(env_file), "is not valid UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(env_file), f"cannot be read ({exc.strerror})") from None
    if not settings.articles_dir.is_dir():
        raise ConfigError("NEWSBOT_ARTICLES_DIR", f"folder not found: {settings.articles_dir}")
    return settings


def configure_logging(level: str, *secrets: str) -> None:
    """Log to stderr at `level`, `secrets` redacted; httpx's request lines only at DEBUG."""
    install_redaction(*secrets)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    if level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
