"""RSS and Atom feeds with feedparser: which articles a feed lists, and what it says of them."""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

# An item whose content holds at least this much text is the whole article, taken from the
# feed (as feed readers do) instead of fetching its page; shorter content is a teaser.
FULL_TEXT_CHARS = 600
_TEASER_END = re.compile(r"(\.\.\.|…|\[…\]|\[\.\.\.\]|read more|continue reading)\W*$", re.I)
_FEED_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<(rss|feed|rdf:RDF)\b", re.S
)
_TAGS = re.compile(r"<[^>]+>")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


class FeedError(ValueError):
    """The document is not a usable feed; the message says why."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item: its link and what the feed says of it."""

    key: str  # the item's id (guid), else its link
    link: str
    title: str | None
    published: str | None  # YYYY-MM-DD
    author: str | None
    content_html: str | None  # the article's HTML when the feed carries the whole text
    fingerprint: str  # changes whenever the feed's copy of the item changes


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its title (the outlet), language and items, newest first as listed."""

    title: str | None
    language: str | None
    entries: tuple[Entry, ...]
    problem: str | None = None  # set when the XML was malformed but items could be read


def looks_like_feed(data: bytes, content_type: str | None) -> bool:
    """Is this response a feed? By its media type, else by its first element."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in FEED_TYPES:
        return True
    head = data[:2048].lstrip(b"\xef\xbb\xbf")
    return bool(_FEED_START.match(head))


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> Feed:
    """Parse feed bytes fetched from `url`; raises FeedError when nothing can be read."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # A BytesIO, never the bytes themselves: feedparser opens strings that look like a URL
    # or a file name.
    parsed: Any = feedparser.parse(io.BytesIO(data), response_headers=headers)
    problem = str(parsed.get("bozo_exception") or "") if parsed.get("bozo") else None
    if not parsed.get("version") and not parsed.entries:
        raise FeedError(f"malformed feed ({problem or 'not RSS or Atom'})")
    entries = tuple(e for e in (_entry(item) for item in parsed.entries) if e is not None)
    if problem and not entries:
        raise FeedError(f"malformed feed ({problem})")
    info = parsed.feed
    language = (info.get("language") or "").split("-")[0].lower() or None
    return Feed(info.get("title") or None, language, entries, problem)


def _entry(item: Any) -> Entry | None:
    link = item.get("link")
    if not link or not str(link).startswith(("http://", "https://")):
        return None
    content = _full_content(item)
    # dict.get: feedparser's own get() maps a missing "updated" to "published" with a warning.
    stamp = dict.get(item, "updated") or dict.get(item, "published") or ""
    body = content or item.get("summary") or ""
    fingerprint = hashlib.sha256(
        "\x1f".join((link, item.get("title") or "", stamp, body)).encode()
    ).hexdigest()[:24]
    return Entry(
        key=str(item.get("id") or link),
        link=str(link),
        title=item.get("title") or None,
        published=_date(dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")),
        author=item.get("author") or None,
        content_html=content,
        fingerprint=fingerprint,
    )


def _full_content(item: Any) -> str | None:
    """The item's HTML content when it is the whole article rather than a teaser."""
    parts = [c.get("value", "") for c in item.get("content") or [] if c.get("value")]
    if not parts:
        return None
    html = str(max(parts, key=len))
    text = " ".join(_TAGS.sub(" ", html).split())
    if len(text) < FULL_TEXT_CHARS or _TEASER_END.search(text):
        return None
    return html


def _date(parsed: Any) -> str | None:
    """feedparser's UTC struct_time as YYYY-MM-DD."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC).date().isoformat()
    except (OverflowError, ValueError, TypeError):
        return None
