"""Answers and articles as Telegram HTML (and answers as plain text and JSON).

An Answer is the hits for a question; its verdict (bot/retrieval/choice.py) says what kind of reply
it is: an answer, the closest passages, or nothing; the renderers switch on it. An answer's own
words (the preface, "I couldn't find that", the closest passages' line, the page footer) are
here because every format shares them; every other reply's text is in bot/conversation/replies.py.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.articles import SUBTITLE, Article
from bot.retrieval.choice import NOTHING, Verdict
from bot.retrieval.search import Hit, SearchIndex
from bot.storage.rows import HitRow

# Telegram's limit on one message's text, in UTF-16 code units (see tg_len).
MESSAGE_LIMIT = 4096
TITLE_CHARS = 200
# A citation's other parts are cut to these lengths (UTF-16 units), so that a source line
# always leaves most of a message to the passage it cites, whatever an article file holds.
FILE_CHARS = 200
FIELD_CHARS = 100
LINK_CHARS = 1000  # a longer URL (escaped) is not linked
# An answer fetches this many pages of hits; "More" shows the pages after the first.
MORE_PAGES = 4
# Room kept on every page for its "Passages 4–6 of 9" line.
FOOTER_ROOM = 64
NO_ANSWER = (
    "I couldn't find that in the articles. Try other words, or see what they cover with /sources."
)
NOT_ANSWERED = "I couldn't find an answer to that in the articles."


def closest_intro(verdict: Verdict) -> str:
    """The line before the closest passages: what they hold of the question, and what not."""
    mentioned = ", ".join(f"“{shorten(w, 60)}”" for w in verdict.mentioned[:4])
    missing = ", ".join(f"“{shorten(w, 60)}”" for w in verdict.missing[:3])
    if mentioned and missing:
        return f"{NOT_ANSWERED} The closest passages mention {mentioned}, but not {missing}:"
    if mentioned:
        return f"{NOT_ANSWERED} The closest passages only mention {mentioned}:"
    return f"{NOT_ANSWERED} These are the closest passages:"


INLINE_EXCERPT_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Answer:
    """What the articles say about a question: ranked hits, and whether they answer it
    (when they do not, the hits are the closest passages, or none)."""

    question: str
    hits: tuple[Hit, ...]
    took_ms: float
    # What was searched when it differs from the question: spelling fixed, or a follow-up
    # read together with the question before it.
    searched_for: str | None = None
    follows: str | None = None
    verdict: Verdict = NOTHING

    @property
    def answered(self) -> bool:
        return self.verdict.answers

    @property
    def closest(self) -> bool:
        """Not answered, but the hits are the closest passages (shown as such)."""
        return self.verdict.closest and bool(self.hits)

    def hit_rows(self) -> tuple[HitRow, ...]:
        """The passages behind the reply, as the log stores them."""
        return tuple(
            HitRow(h.rank, h.passage.article.id, h.passage.paragraph, round(h.score, 6))
            for h in self.hits
        )

    def preface(self) -> str | None:
        """One line saying what was searched for, when it was not the question as typed."""
        if self.follows:
            return f"Following on from “{shorten(self.follows, 120)}”:"
        if self.searched_for:
            return f"Showing results for “{shorten(self.searched_for, 200)}”:"
        return None


def answer(
    index: SearchIndex, question: str, top_k: int, follows: str | None = None, pages: int = 1
) -> Answer:
    """Search the index for `question` (read after `follows`, if given) and time it.

    With `pages` > 1 the answer holds up to `pages * top_k` hits, for "More".
    """
    started = time.perf_counter()
    found = index.find(f"{follows} {question}" if follows else question, top_k * max(1, pages))
    hits = found.hits if found.answered else found.hits[:top_k]
    return Answer(
        question,
        hits,
        (time.perf_counter() - started) * 1000,
        searched_for=found.query.corrected,
        follows=follows,
        verdict=found.verdict,
    )


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


ArticleLink = Callable[[Article], str | None]


def source_line(
    article: Article,
    paragraph: int | None = None,
    open_link: str | None = None,
    link_title: bool = True,
) -> str:
    """Citation as HTML: title, file, ¶ number, then dateline/date/outlet when known.

    The title links to the original article when its URL is known, and `open_link` (a t.me
    deep link that opens the whole article in the bot) follows as "open in bot"; without a
    URL the title itself is the deep link. `link_title=False` (plain text) puts the URL last.
    """
    url = article.url if article.url and re.match(r"https?://", article.url) else None
    if url and tg_len(html.escape(url, quote=True)) > LINK_CHARS:
        url = None  # no real article's address is this long; linking it would crowd out the quote
    title = f"<i>{esc(shorten(article.title))}</i>"
    if target := (url if link_title else None) or open_link:
        title = f'<a href="{html.escape(target, quote=True)}">{title}</a>'
    parts = [title, esc(shorten(article.file_name, FILE_CHARS))]
    if paragraph == SUBTITLE:
        parts.append("subtitle")
    elif paragraph is not None:
        parts.append(f"¶ {paragraph}")
    extras = (article.dateline, article.published, article.outlet)
    parts += [esc(shorten(x, FIELD_CHARS)) for x in extras if x]
    if url and link_title and open_link:
        parts.append(f'<a href="{html.escape(open_link, quote=True)}">open in bot</a>')
    elif url and not link_title:
        parts.append(f'<a href="{html.escape(url, quote=True)}">link</a>')
    return "— " + ", ".join(parts[:2]) + "".join(f" · {p}" for p in parts[2:])


def plain_source(article: Article, paragraph: int | None = None) -> str:
    """Citation as plain text (the URL, when known, at the end)."""
    return html_to_text(source_line(article, paragraph, link_title=False))


def hit_blocks(hit: Hit, link: ArticleLink | None = None, limit: int = MESSAGE_LIMIT) -> list[str]:
    """A hit as HTML: the passage quoted with its best sentence in bold, then its source."""
    text = hit.passage.text
    start, end = hit.best_sentence
    segments = [(text[:start], False), (text[start:end], True), (text[end:], False)]
    article = hit.passage.article
    source = source_line(article, hit.passage.paragraph, link(article) if link else None)
    quotes = quote_html(segments, limit=limit - tg_len(source) - 1)
    quotes[-1] += "\n" + source
    return quotes


def hit_block(hit: Hit, link: ArticleLink | None = None, limit: int = MESSAGE_LIMIT) -> str:
    """A hit as one HTML block within `limit`: a passage too long for it is cut with "…"
    (its first piece, then the source line)."""
    pieces = hit_blocks(hit, link, limit=limit - len("\n…\n") - 5)
    if len(pieces) == 1:
        return pieces[0]
    return pieces[0] + "\n…\n" + pieces[-1].rsplit("\n", 1)[-1]  # the source ends the last


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


def render_pages(result: Answer, per_page: int, link: ArticleLink | None = None) -> list[str]:
    """The answer as pages of one message each: up to `per_page` hits that fit in a message.

    The first page starts with the preface; with several pages, each ends with
    "Passages 4–6 of 9". A passage too long for a page on its own is cut with "…".
    """
    preface = result.preface()
    if not result.hits:
        return [esc(f"{preface}\n{NO_ANSWER}" if preface else NO_ANSWER)]
    limit = MESSAGE_LIMIT - FOOTER_ROOM
    lines = [f"<i>{esc(preface)}</i>"] if preface else []
    if result.closest:
        lines.append(esc(closest_intro(result.verdict)))
    head = "\n".join(lines)
    pages: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    current: list[str] = [head] if head else []
    first = 1
    for rank, hit in enumerate(result.hits, start=1):
        block = hit_block(hit, link, limit=limit - tg_len(head))
        taken = rank - first
        used = tg_len("\n\n".join(current))
        if taken and (taken >= per_page or used + 2 + tg_len(block) > limit):
            pages.append(current)
            spans.append((first, rank - 1))
            current, first = [], rank
        current.append(block)
    pages.append(current)
    spans.append((first, len(result.hits)))
    if len(pages) == 1:
        return ["\n\n".join(pages[0])]
    total = len(result.hits)
    return [
        "\n\n".join(blocks) + f"\n\n<i>Passages {a}–{b} of {total}</i>"
        if a != b
        else "\n\n".join(blocks) + f"\n\n<i>Passage {a} of {total}</i>"
        for blocks, (a, b) in zip(pages, spans, strict=True)
    ]


_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """Our own HTML replies as plain text, for the terminal."""
    text = re.sub(r"</?blockquote>", "", markup)
    text = re.sub(r'<a href="([^"]*)">[^<]*</a>', lambda m: html.unescape(m.group(1)), text)
    return html.unescape(_TAG.sub("", text))


def render_text(result: Answer) -> str:
    """The answer as plain text: the same passages in the same order as on Telegram."""
    preface = result.preface()
    if not result.hits:
        return f"{preface}\n{NO_ANSWER}" if preface else NO_ANSWER
    lines: list[str] = [preface, ""] if preface else []
    if result.closest:
        lines += [closest_intro(result.verdict), ""]
    for hit in result.hits:
        lines.append(f"[{hit.rank}] {hit.passage.text}")
        lines.append("    " + plain_source(hit.passage.article, hit.passage.paragraph))
        lines.append("")
    return "\n".join(lines).rstrip()


def to_json(result: Answer) -> dict[str, Any]:
    """The answer as a JSON-ready dict (the `newsbot ask --json` format)."""
    return {
        "question": result.question,
        "answered": result.answered,
        "closest": result.closest,
        "took_ms": round(result.took_ms, 3),
        "searched_for": result.searched_for,
        "follows": result.follows,
        "hits": [
            {
                "rank": h.rank,
                "score": round(h.score, 6),
                "article_id": h.passage.article.id,
                "title": h.passage.article.title,
                "source": h.passage.article.file_name,
                "paragraph": h.passage.paragraph,
                "text": h.passage.text,
                "sentence": h.passage.text[h.best_sentence[0] : h.best_sentence[1]],
                "url": h.passage.article.url,
            }
            for h in result.hits
        ],
    }


def article_messages(article: Article) -> list[str]:
    """A whole article as HTML messages within Telegram's limit."""
    blocks = [_article_head(article)]
    for n, paragraph in enumerate(article.paragraphs, start=1):
        prefix = (
            f"{esc(shorten(article.dateline, FIELD_CHARS))} — "
            if n == 1 and article.dateline
            else ""
        )
        label = f"<i>¶ {n}</i> {prefix}"
        pieces = quote_html([(paragraph, False)], limit=MESSAGE_LIMIT - tg_len(label) - 1)
        blocks += [
            label + p.removeprefix("<blockquote>").removesuffix("</blockquote>") for p in pieces
        ]
    return pack(blocks)


def _article_head(article: Article) -> str:
    """Title, subtitle and source line as one block within a message: a title too long for
    it is cut (an escaped title may be five times its length: cut until it fits)."""
    tail = [f"<i>{esc(shorten(article.subtitle, 1000))}</i>"] if article.subtitle else []
    tail.append(source_line(article))
    limit = MESSAGE_LIMIT
    while True:
        head = "\n".join([f"<b>{esc(shorten(article.title, limit))}</b>", *tail])
        if tg_len(head) <= MESSAGE_LIMIT or limit <= 1:
            return head
        limit = min(limit // 2, 1000)


@dataclass(frozen=True, slots=True)
class InlineResult:
    """One inline-mode result: shown as title and description, sent as `message` (HTML)."""

    id: str
    title: str
    description: str
    message: str


def _result_id(text: str) -> str:
    """A short, stable inline result id (Telegram allows 1-64 bytes)."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def inline_hit(hit: Hit, link: ArticleLink) -> InlineResult:
    """A passage to share: the article as title, its key sentence as description."""
    passage = hit.passage
    start, end = hit.best_sentence
    return InlineResult(
        id=_result_id(f"{passage.article.id}\x00{passage.paragraph}\x00{passage.part}"),
        title=shorten(passage.article.title, 100),
        description=shorten(passage.text[start:end], 200),
        message=hit_block(hit, link),
    )


def inline_article(article: Article, link: str | None) -> InlineResult:
    """An article to share (no question yet): its title and first paragraph."""
    first = article.paragraphs[0] if article.paragraphs else ""
    title = f"<b>{esc(shorten(article.title, 300))}</b>"
    excerpt = esc(shorten(first, INLINE_EXCERPT_CHARS))
    message = f"{title}\n<blockquote>{excerpt}</blockquote>\n"
    message += source_line(article, 1 if first else None, link)
    return InlineResult(
        id=_result_id(f"article\x00{article.id}"),
        title=shorten(article.title, 100),
        description=shorten(article.subtitle or first, 200),
        message=message if tg_len(message) <= MESSAGE_LIMIT else title,
    )
