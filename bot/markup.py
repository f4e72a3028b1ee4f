"""Telegram's HTML subset and its limits: escaping, lengths as Telegram counts them (UTF-16
code units), text shortened at a word, quotes cut into pieces and blocks packed into messages.
Every reply the bot renders goes through these; what the replies say is bot/conversation's."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

# Telegram's limit on one message's text, in UTF-16 code units (see tg_len).
MESSAGE_LIMIT = 4096


TITLE_CHARS = 200


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: str) -> str:
    """Escape text for Telegram HTML."""
    return html.escape(text, quote=False)


def shorten(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` cut to `limit` UTF-16 units (as Telegram counts) at a word, with an ellipsis."""
    if len(text) <= limit // 2 or tg_len(text) <= limit:
        return text
    fits = _units_prefix(text, limit - 1)
    cut = text.rfind(" ", 0, fits)
    return text[: cut if cut > fits // 2 else fits].rstrip() + "…"


def _units_prefix(text: str, units: int) -> int:
    """How many leading characters of `text` take at most `units` UTF-16 units."""
    used = 0
    for n, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return n
    return len(text)


def quote_html(segments: Iterable[tuple[str, bool]], limit: int) -> list[str]:
    """Raw (text, bold) segments as `<blockquote>`s, each at most `limit` characters of HTML.

    Text is cut before escaping and every piece closes its own tags, so a cut never falls
    inside a tag or an entity.
    """
    pieces: list[str] = []
    current = ""
    for text, bold in segments:
        while text:
            room = limit - tg_len(current) - len("<blockquote></blockquote><b></b>")
            take = _fit(text, room)
            if take == 0 and current:
                pieces.append(current)
                current = ""
                continue
            take = max(take, 1)  # even a limit too small for one character moves on
            chunk = esc(text[:take])
            current += f"<b>{chunk}</b>" if bold else chunk
            text = text[take:]
    pieces.append(current)
    return [f"<blockquote>{p}</blockquote>" for p in pieces if p]


def _fit(text: str, room: int) -> int:
    """How many leading characters of `text` fit in `room` once escaped (0 if none)."""
    if room <= 0:
        return 0
    if tg_len(esc(text)) <= room:
        return len(text)
    low, high = 0, min(len(text), room)
    while low < high:  # the longest prefix whose escaped form fits
        mid = (low + high + 1) // 2
        if tg_len(esc(text[:mid])) <= room:
            low = mid
        else:
            high = mid - 1
    space = text.rfind(" ", 0, low)
    return space + 1 if space > low // 2 else low


def pack(blocks: Iterable[str], limit: int = MESSAGE_LIMIT, sep: str = "\n\n") -> list[str]:
    """Join HTML blocks into as few messages as fit in `limit`, splitting only between blocks."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if tg_len(block) > limit:
            raise ValueError("a block is longer than a message")
        if current and tg_len(current) + len(sep) + tg_len(block) > limit:
            messages.append(current)
            current = block
        else:
            current = f"{current}{sep}{block}" if current else block
    if current:
        messages.append(current)
    return messages


_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """Our own HTML replies as plain text, for the terminal."""
    text = re.sub(r"</?blockquote>", "", markup)
    text = re.sub(r'<a href="([^"]*)">[^<]*</a>', lambda m: html.unescape(m.group(1)), text)
    return html.unescape(_TAG.sub("", text))
