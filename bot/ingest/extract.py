"""Main text and metadata of a news page, with trafilatura: what an imported article holds.

trafilatura finds the body (it drops navigation, ads, share bars, related links, comments
and newsletter boxes) and reads title, date, author and site from the page's metadata.
This module adds what it does not give: the page's language, a standfirst in the page's
header, and paragraphs as the article reader wants them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree

# Standfirsts are one or two sentences; longer blocks after the headline are body text.
STANDFIRST_CHARS = (20, 400)
TITLE_CHARS = (3, 300)
# Elements after the headline searched for a standfirst (the byline, a date, an image...).
STANDFIRST_WINDOW = 12
_STANDFIRST_CLASS = re.compile(
    r"standfirst|\bdek\b|sub-?title|sub-?head(?:line|ing)?|strap(?:line)?|article-?(?:intro|lead|summary)"
    r"|\blede\b|\bintro\b|\bsummary\b|\bteaser\b|\bexcerpt\b|\bdeck\b",
    re.IGNORECASE,
)
_FURNITURE = re.compile(
    r"newsletter|e-?mails?\b|subscribe|sign up|advertis|cookies|related|read more|follow us",
    re.IGNORECASE,
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_LIST_MARK = re.compile(r"^[-*•]\s+")
_SPACES = re.compile(r"\s+")


class ExtractError(ValueError):
    """The page holds no article text; the message says why."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """An article as found on a page: metadata, an optional standfirst, body paragraphs."""

    title: str
    paragraphs: tuple[str, ...]
    subtitle: str | None = None
    url: str | None = None  # the page's canonical URL, when it declares one
    published: str | None = None  # YYYY-MM-DD
    author: str | None = None
    outlet: str | None = None
    language: str | None = None


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Page bytes as text: the HTTP charset, else the page's <meta charset>, else a guess."""
    candidates = [declared] if declared else []
    if match := _META_CHARSET.search(data[:4096]):
        candidates.append(match.group(1).decode("ascii", "replace"))
    for encoding in candidates:
        try:
            return data.decode(_codec(encoding))
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data[:200_000]).best()
        return data.decode(_western(best.encoding, best.language) if best else "cp1252", "replace")


# Central European single-byte codings that charset-normalizer picks for Western text too
# (French "è" came out as "č"); kept only for the languages that use them.
_CENTRAL = frozenset({"cp1250", "iso8859_2", "mac_latin2", "latin_2"})
_CENTRAL_LANGUAGES = frozenset(
    {"Polish", "Czech", "Slovak", "Hungarian", "Slovene", "Croatian", "Romanian", "Serbian"}
)


def _western(encoding: str, language: str) -> str:
    """The guessed coding, but windows-1252 for a Central European guess of a language
    that is not one (the WHATWG default for Western pages that declare nothing)."""
    if encoding in _CENTRAL and language not in _CENTRAL_LANGUAGES:
        return "cp1252"
    return encoding


def _codec(name: str) -> str:
    # Browsers read pages labelled ISO-8859-1 as windows-1252 (WHATWG Encoding), and so
    # do the sites that label them: curly quotes live in 0x80-0x9F.
    name = name.strip().lower()
    return "cp1252" if name in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii") else name


def extract(markup: str, url: str | None = None) -> Extracted:
    """The article on an HTML page; raises ExtractError when there is no article text."""
    if not markup.strip():
        raise ExtractError("empty page")
    try:
        page = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"not readable as HTML ({exc})") from None
    # Imported here, not at the top: `newsbot run` without feeds never needs it (and a
    # broken install of its dependencies must not stop the bot from answering).
    import trafilatura
    from trafilatura.settings import set_date_params

    document = trafilatura.bare_extraction(
        markup,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        # Dates from the page's metadata and markup only: the "extensive" search guesses
        # one from any number in the text (a page with no date was filed as 1995-01-01).
        date_extraction_params=set_date_params(extensive=False),
    )
    if document is None or isinstance(document, dict) or not (document.text or "").strip():
        raise ExtractError("no article text found on the page")
    paragraphs = body_paragraphs(document.text or "")
    title = _headline(page) or clean(document.title or "")
    subtitle = standfirst(page, title)
    if subtitle:
        paragraphs = _without_standfirst(paragraphs, subtitle)
    paragraphs = [p for p in paragraphs if p != title]
    if not title or not paragraphs:
        raise ExtractError("no article text found on the page" if title else "no headline found")
    return Extracted(
        title=title,
        paragraphs=tuple(paragraphs),
        subtitle=subtitle,
        url=document.url,
        published=document.date,
        author=clean(document.author or "") or None,
        outlet=clean(document.sitename or "") or None,
        language=page_language(page),
    )


def clean(text: str) -> str:
    """Whitespace runs as one space, no leading or trailing space."""
    return _SPACES.sub(" ", text).strip()


def body_paragraphs(text: str) -> list[str]:
    """trafilatura's text, one block a line, as paragraphs (list markers dropped)."""
    out = []
    for line in text.split("\n"):
        paragraph = clean(_LIST_MARK.sub("", line.strip()))
        if paragraph:
            out.append(paragraph)
    return out


def _headline(page: lxml.html.HtmlElement) -> str | None:
    """The page's one <h1>, when it has exactly one of a headline's length."""
    headings = [clean(h.text_content()) for h in page.iter("h1")]
    headings = [h for h in headings if TITLE_CHARS[0] <= len(h) <= TITLE_CHARS[1]]
    return headings[0] if len(headings) == 1 else None


def standfirst(page: lxml.html.HtmlElement, title: str) -> str | None:
    """The standfirst (dek) under the headline: an element named like one, or an <h2>
    right after the <h1>; None when the page has neither."""
    h1 = next((h for h in page.iter("h1") if clean(h.text_content()) == title), None)
    if h1 is None:
        return None
    low, high = STANDFIRST_CHARS
    texts_seen = 0
    for element in _following(h1):
        text = clean(element.text_content())
        if not text:
            continue
        names = " ".join(element.get(a, "") for a in ("class", "id", "itemprop", "data-component"))
        first_h2 = element.tag == "h2" and texts_seen == 0
        candidate = _STANDFIRST_CLASS.search(names) or first_h2
        if candidate and low <= len(text) <= high and not _furniture(element, text):
            return text
        if element.tag in _TEXT_BLOCKS:
            texts_seen += 1
            if texts_seen >= 2:  # past the byline or first paragraph: no standfirst
                return None
    return None


def _furniture(element: lxml.html.HtmlElement, text: str) -> bool:
    """Site furniture where a standfirst could be: a newsletter box, a related-story link."""
    if _FURNITURE.search(text):
        return True
    linked = sum(len(clean(a.text_content())) for a in element.iter("a"))
    return linked > len(text) / 2


_BLOCKS = ("p", "h2", "h3", "div", "blockquote", "li", "section", "header")
_TEXT_BLOCKS = frozenset({"p", "h2", "h3", "blockquote", "li"})


def _following(element: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The block elements after `element` in document order (not inside it), a few."""
    out: list[lxml.html.HtmlElement] = []
    after = False
    for node in element.getroottree().iter("h1", *_BLOCKS):
        if node is element:
            after = True
        elif after and element not in node.iterancestors():
            # A wrapper holding the whole rest of the page says nothing; its children will.
            wrapper = len(node) and node.tag in ("div", "section", "header")
            if wrapper and not clean(node.text or ""):
                continue
            out.append(node)
            if len(out) >= STANDFIRST_WINDOW:
                break
    return out


def _without_standfirst(paragraphs: list[str], subtitle: str) -> list[str]:
    """The body without the standfirst, which trafilatura often keeps as its first line."""
    return [p for i, p in enumerate(paragraphs) if not (i < 3 and p == subtitle)]


def page_language(page: lxml.html.HtmlElement) -> str | None:
    """The page's declared language: <html lang>, else Content-Language or og:locale."""
    value = page.get("lang") or page.get("xml:lang")
    if not value:
        for meta in page.iter("meta"):
            key = (meta.get("http-equiv") or meta.get("property") or "").lower()
            if key in ("content-language", "og:locale") and meta.get("content"):
                value = meta.get("content")
                break
    if not value:
        return None
    code = str(value).strip().replace("_", "-").split(",")[0]
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", code):
        return None
    return code.split("-")[0].lower()


def extract_bytes(data: bytes, charset: str | None, url: str | None) -> Extracted:
    """`extract` on a page's bytes (decoded as `decode_html` says): for worker processes."""
    return extract(decode_html(data, charset), url)


def extract_fragment(content_html: str, title: str, url: str | None) -> Extracted:
    """The article in a feed item's HTML content (its whole text, without the page)."""
    safe_title = html.escape(title, quote=False)
    page = (
        f"<html><head><title>{safe_title}</title></head><body><article>"
        f"<h1>{safe_title}</h1>{content_html}</article></body></html>"
    )
    return extract(page, url)
