"""Settings: defaults, validation, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.support.paths import SEEDS


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set: seeds/, top 3, INFO, no token."""
    for key in (
        "TELEGRAM_BOT_TOKEN",
        "NEWSBOT_TOP_K",
        "NEWSBOT_ARTICLES_DIR",
        "NEWSBOT_LOG_LEVEL",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(SEEDS.parent)
    settings = load_settings(env_file=None)
    assert settings.top_k == 3
    assert settings.log_level == "INFO"
    assert settings.token is None
    assert settings.articles_dir == Path("seeds")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("NEWSBOT_TOP_K", "three", "integer"),
        ("NEWSBOT_TOP_K", "0", "greater than or equal"),
        ("NEWSBOT_LOG_LEVEL", "LOUD", "one of"),
        ("TELEGRAM_BOT_TOKEN", "https://api.telegram.org/bot123", "BotFather"),
        ("TELEGRAM_BASE_URL", "localhost:8081", "http"),
    ],
)
def test_bad_values_name_their_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, words: str
) -> None:
    """A bad setting raises ConfigError naming the key, without echoing the value."""
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, NEWSBOT_ARTICLES_DIR=SEEDS)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "api.telegram.org/bot123" not in str(caught.value)


def test_missing_articles_folder(tmp_path: Path) -> None:
    """A folder that does not exist is named."""
    with pytest.raises(ConfigError, match="NEWSBOT_ARTICLES_DIR: folder not found"):
        load_settings(env_file=None, NEWSBOT_ARTICLES_DIR=tmp_path / "nope")


def test_env_file_is_read_and_broken_lines_do_not_crash(tmp_path: Path) -> None:
    """.env values are used; a malformed line is skipped; unknown keys are ignored."""
    env = tmp_path / ".env"
    env.write_text(
        f"NEWSBOT_TOP_K=5\nthis line is broken\nOTHER=1\nNEWSBOT_ARTICLES_DIR={SEEDS}\n"
    )
    settings = load_settings(env_file=env)
    assert settings.top_k == 5


def test_binary_env_file_is_a_clear_error(tmp_path: Path) -> None:
    """An .env that is not text names the file."""
    env = tmp_path / ".env"
    env.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(ConfigError, match=r"\.env"):
        load_settings(env_file=env, NEWSBOT_ARTICLES_DIR=SEEDS)


def test_token_is_secret_in_repr() -> None:
    """The settings' repr never shows the token."""
    settings = load_settings(
        env_file=None, TELEGRAM_BOT_TOKEN="123:abc-DEF", NEWSBOT_ARTICLES_DIR=SEEDS
    )
    assert settings.token == "123:abc-DEF"
    assert "abc-DEF" not in repr(settings)


def test_feed_settings_parse_and_name_a_bad_url() -> None:
    """NEWSBOT_FEEDS: URLs separated by commas; anything but http(s) is refused by name."""
    settings = load_settings(
        env_file=None,
        NEWSBOT_ARTICLES_DIR=SEEDS,
        NEWSBOT_FEEDS="https://a.example/feed, http://b.example/rss",
        NEWSBOT_FEED_INTERVAL="0.5",
    )
    assert settings.feeds == ("https://a.example/feed", "http://b.example/rss")
    assert settings.feed_interval == 0.5 and settings.fetch_delay == 1.0
    with pytest.raises(ConfigError, match="NEWSBOT_FEEDS: not an http"):
        load_settings(env_file=None, NEWSBOT_ARTICLES_DIR=SEEDS, NEWSBOT_FEEDS="feed.xml")
    with pytest.raises(ConfigError, match="NEWSBOT_FEED_INTERVAL"):
        load_settings(env_file=None, NEWSBOT_ARTICLES_DIR=SEEDS, NEWSBOT_FEED_INTERVAL="0")


def test_env_example_is_a_valid_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying .env.example to .env gives working defaults (no feeds, no contact)."""
    monkeypatch.chdir(SEEDS.parent)
    for key in ("NEWSBOT_FEEDS", "NEWSBOT_CONTACT", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(env_file=SEEDS.parent / ".env.example")
    assert settings.feeds == () and settings.contact is None
    assert settings.feed_interval == 15.0
