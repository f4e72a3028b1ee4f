"""Logging set-up, with secrets redacted from every record before any handler sees it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"


class _Redactor:
    """Wraps the log record factory: formats each record's message and traceback, redacted."""

    def __init__(self, factory: Any, secrets: Iterable[str]) -> None:
        self.factory = factory
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, still redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters use a record's cached exc_text instead of formatting exc_info again.
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_text = self.redact(formatted)
        return record


def install_redaction(*secrets: str) -> None:
    """Redact `secrets` (and those redacted already) from every log record made from now on."""
    factory = logging.getLogRecordFactory()
    known: list[str] = []
    while isinstance(factory, _Redactor):  # installing twice adds secrets, not layers
        known += factory.secrets
        factory = factory.factory
    logging.setLogRecordFactory(_Redactor(factory, [*known, *secrets]))
