"""Secrets never reach log output."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, install_redaction

TOKEN = "987654:SECRET-token_value"


@pytest.fixture(autouse=True)
def _restore_factory() -> object:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def test_httpx_style_request_line_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """The URL httpx logs at INFO loses the token, whatever the logger."""
    install_redaction(TOKEN)
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info(
            'HTTP Request: %s %s "%s"', "POST", f"https://api.telegram.org/bot{TOKEN}/getMe", "200"
        )
    assert TOKEN not in caplog.text
    assert f"bot{REDACTED}/getMe" in caplog.text


def test_exception_text_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A traceback whose message carries the token is redacted too."""
    install_redaction(TOKEN)
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    formatted = logging.Formatter().format(caplog.records[-1])
    assert TOKEN not in formatted
    assert REDACTED in formatted


def test_installing_twice_adds_secrets_without_stacking() -> None:
    """A second install (the CLI, then build_application) keeps both secrets, one layer."""
    install_redaction("a-secret")
    install_redaction("b-secret")
    record = logging.getLogger("x").makeRecord(
        "x", logging.INFO, "f", 1, "a-secret b-secret", None, None
    )
    assert record.getMessage() == f"{REDACTED} {REDACTED}"
    factory = logging.getLogRecordFactory()
    assert not isinstance(getattr(factory, "factory", None), type(factory))
