"""Main text and metadata from CMS-like pages (fixtures with their true body and boilerplate)."""

from __future__ import annotations

import json

import pytest

from bot.ingest.extract import ExtractError, decode_html, extract, extract_bytes, extract_fragment
from bot.ingest.feeds import FeedError, looks_like_feed, parse_feed
from tests.support.websites import FIXTURES, PAGES, atom, full_text, rss


@pytest.mark.parametrize("name", PAGES)
def test_fixture_pages_keep_the_body_and_drop_the_boilerplate(name: str) -> None:
    """Every true body paragraph is kept verbatim, in order; no boilerplate line survives."""
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    found = extract_bytes((FIXTURES / f"{name}.html").read_bytes(), None, None)
    assert list(found.paragraphs) == expected["paragraphs"]
    everything = "\n".join([found.title, found.subtitle or "", *found.paragraphs]).lower()
    assert [b for b in expected["boilerplate"] if b.lower() in everything] == []


@pytest.mark.parametrize("name", PAGES)
def test_fixture_pages_give_their_metadata(name: str) -> None:
    """Title, standfirst, date, author, outlet, language and canonical URL from the page."""
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    found = extract_bytes((FIXTURES / f"{name}.html").read_bytes(), None, None)
    for key in ("title", "subtitle", "published", "author", "outlet", "language", "url"):
        assert getattr(found, key) == expected[key], key


def test_charset_from_the_header_wins_and_latin1_reads_as_windows_1252() -> None:
    """Curly quotes in 0x93/0x94 of a page labelled ISO-8859-1 come out as “ ”."""
    data = "<html><head><meta charset='utf-8'></head><p>«Bâle» “ok”</p></html>".encode("cp1252")
    assert "«Bâle» “ok”" in decode_html(data, "iso-8859-1")
    assert "«Bâle»" in decode_html(data)  # the wrong <meta>: not UTF-8, so guessed


def test_pages_without_an_article_are_refused_with_a_reason() -> None:
    """Empty pages and pages of navigation only raise ExtractError."""
    with pytest.raises(ExtractError, match="empty"):
        extract("   ")
    with pytest.raises(ExtractError, match=r"no article text|no headline"):
        extract("<html><body><nav><a href='/'>Home</a> <a href='/b'>News</a></nav></body></html>")


def test_feed_content_is_read_as_an_article() -> None:
    """A feed item's HTML content (no page around it) gives its paragraphs."""
    found = extract_fragment(full_text("the quay", 4), "Quay plans", "https://x.example/a")
    assert found.title == "Quay plans"
    assert len(found.paragraphs) == 4
    assert found.paragraphs[0].startswith("Paragraph 1 on the quay")


def test_rss_and_atom_are_told_from_pages_and_parsed() -> None:
    """Feeds are recognised by type or first element; items carry link, date and author."""
    items = [
        {"title": "Full", "link": "https://x.example/full", "content": full_text("a")},
        {"title": "Teaser", "link": "https://x.example/teaser", "summary": "Short [&#8230;]"},
    ]
    body = rss(items).encode()
    assert looks_like_feed(body, "text/xml") and looks_like_feed(body, None)
    assert not looks_like_feed(b"<!doctype html><html><body>x</body></html>", "text/html")
    feed = parse_feed(body, "https://x.example/feed")
    assert feed.title == "The Coastal Courier" and feed.language == "en"
    full, teaser = feed.entries
    assert full.content_html is not None and teaser.content_html is None
    assert full.published == "2024-03-14" and full.author == "Staff reporter"
    entries = parse_feed(atom([{"title": "A", "link": "https://y.example/a"}]).encode(), "u")
    assert entries.entries[0].link == "https://y.example/a"
    assert entries.entries[0].published == "2024-05-20"


def test_malformed_xml_is_a_clear_error() -> None:
    """A document that is no feed at all raises FeedError naming the problem."""
    with pytest.raises(FeedError, match="malformed feed"):
        parse_feed(b"<?xml version='1.0'?><rss><channel><item><title>x</ti", "u")


def test_undeclared_western_text_is_read_as_windows_1252() -> None:
    """A French page in windows-1252 with no charset anywhere is read right (not as
    cp1250, which turned “è” into “č”)."""
    text = (
        "Le président a déclaré que la grève des contrôleurs aériens était « inacceptable ». "
        "Les élèves ont été très déçus — c’est la fête."
    )
    page = f"<html><body><p>{text}</p></body></html>".encode("cp1252")
    assert text in decode_html(page)
