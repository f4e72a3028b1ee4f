"""Answers and articles as readers see them: Telegram HTML (and answers as plain text and
JSON for the command line).

An answer's verdict says what kind of reply it is: an answer, the closest passages, or nothing;
the renderers switch on it. An answer's own words (the preface, "I couldn't find that", the
closest passages' line, the page footer) are here because every format shares them; every
other reply's text is in bot/conversation/replies.py.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.articles import SUBTITLE, Article
from bot.i18n.catalogs import ENGLISH, N_, Translator
from bot.markup import (
    MESSAGE_LIMIT,
    esc,
    html_to_text,
    pack,
    quote_html,
    shorten,
    tg_len,
)
from bot.retrieval.answer import Answer
from bot.retrieval.choice import Verdict
from bot.retrieval.search import Hit

# A citation's other parts are cut to these lengths (UTF-16 units), so that a source line
# always leaves most of a message to the passage it cites, whatever an article file holds.
FILE_CHARS = 200


FIELD_CHARS = 100


LINK_CHARS = 1000  # a longer URL (escaped) is not linked


# Room kept on every page for its "Passages 4–6 of 9" line.
FOOTER_ROOM = 64


NO_ANSWER = N_(
    "I couldn't find that in the articles. Try other words, or see what they cover with /sources."
)


def _quoted(words: tuple[str, ...], tr: Translator) -> str:
    """Words of the question, each in the language's quotation marks."""
    # TRANSLATORS: one word of the reader's question, quoted; keep {word}.
    return ", ".join(tr.gettext("“{word}”").format(word=shorten(w, 60)) for w in words)


def closest_intro(verdict: Verdict, tr: Translator = ENGLISH) -> str:
    """The line before the closest passages: what they hold of the question, and what not."""
    mentioned = _quoted(verdict.mentioned[:4], tr)
    missing = _quoted(verdict.missing[:3], tr)
    if mentioned and missing:
        return tr.gettext(
            "I couldn't find an answer to that in the articles. "
            "The closest passages mention {mentioned}, but not {missing}:"
        ).format(mentioned=mentioned, missing=missing)
    if mentioned:
        return tr.gettext(
            "I couldn't find an answer to that in the articles. "
            "The closest passages only mention {mentioned}:"
        ).format(mentioned=mentioned)
    return tr.gettext(
        "I couldn't find an answer to that in the articles. These are the closest passages:"
    )


INLINE_EXCERPT_CHARS = 1500


def preface_of(result: Answer, tr: Translator = ENGLISH) -> str | None:
    """One line saying what was searched for, when it was not the question as typed."""
    if result.follows:
        # TRANSLATORS: {question} is the reader's previous question, as they typed it.
        line = tr.gettext("Following on from “{question}”:")
        return line.format(question=shorten(result.follows, 120))
    if result.searched_for:
        # TRANSLATORS: {question} is the question with its spelling corrected.
        line = tr.gettext("Showing results for “{question}”:")
        return line.format(question=shorten(result.searched_for, 200))
    return None


ArticleLink = Callable[[Article], str | None]


def source_line(
    article: Article,
    paragraph: int | None = None,
    open_link: str | None = None,
    link_title: bool = True,
    tr: Translator = ENGLISH,
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
        parts.append(esc(tr.gettext("subtitle")))
    elif paragraph is not None:
        parts.append(f"¶ {paragraph}")
    extras = (article.dateline, article.published, article.outlet)
    parts += [esc(shorten(x, FIELD_CHARS)) for x in extras if x]
    if url and link_title and open_link:
        label = esc(tr.gettext("open in bot"))
        parts.append(f'<a href="{html.escape(open_link, quote=True)}">{label}</a>')
    elif url and not link_title:
        label = esc(tr.gettext("link"))
        parts.append(f'<a href="{html.escape(url, quote=True)}">{label}</a>')
    return "— " + ", ".join(parts[:2]) + "".join(f" · {p}" for p in parts[2:])


def plain_source(article: Article, paragraph: int | None = None, tr: Translator = ENGLISH) -> str:
    """Citation as plain text (the URL, when known, at the end)."""
    return html_to_text(source_line(article, paragraph, link_title=False, tr=tr))


def hit_blocks(
    hit: Hit,
    link: ArticleLink | None = None,
    limit: int = MESSAGE_LIMIT,
    tr: Translator = ENGLISH,
) -> list[str]:
    """A hit as HTML: the passage quoted with its best sentence in bold, then its source."""
    text = hit.passage.text
    start, end = hit.best_sentence
    segments = [(text[:start], False), (text[start:end], True), (text[end:], False)]
    article = hit.passage.article
    source = source_line(article, hit.passage.paragraph, link(article) if link else None, tr=tr)
    quotes = quote_html(segments, limit=limit - tg_len(source) - 1)
    quotes[-1] += "\n" + source
    return quotes


def hit_block(
    hit: Hit,
    link: ArticleLink | None = None,
    limit: int = MESSAGE_LIMIT,
    tr: Translator = ENGLISH,
) -> str:
    """A hit as one HTML block within `limit`: a passage too long for it is cut with "…"
    (its first piece, then the source line)."""
    pieces = hit_blocks(hit, link, limit=limit - len("\n…\n") - 5, tr=tr)
    if len(pieces) == 1:
        return pieces[0]
    return pieces[0] + "\n…\n" + pieces[-1].rsplit("\n", 1)[-1]  # the source ends the last


def render_pages(
    result: Answer,
    per_page: int,
    link: ArticleLink | None = None,
    tr: Translator = ENGLISH,
) -> list[str]:
    """The answer as pages of one message each: up to `per_page` hits that fit in a message.

    The first page starts with the preface; with several pages, each ends with
    "Passages 4–6 of 9". A passage too long for a page on its own is cut with "…".
    """
    preface = preface_of(result, tr)
    no_answer = tr.gettext(NO_ANSWER)
    if not result.hits:
        return [esc(f"{preface}\n{no_answer}" if preface else no_answer)]
    limit = MESSAGE_LIMIT - FOOTER_ROOM
    lines = [f"<i>{esc(preface)}</i>"] if preface else []
    if result.closest:
        lines.append(esc(closest_intro(result.verdict, tr)))
    head = "\n".join(lines)
    pages: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    current: list[str] = [head] if head else []
    first = 1
    for rank, hit in enumerate(result.hits, start=1):
        block = hit_block(hit, link, limit=limit - tg_len(head), tr=tr)
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
        "\n\n".join(blocks) + f"\n\n<i>{esc(_footer(a, b, total, tr))}</i>"
        for blocks, (a, b) in zip(pages, spans, strict=True)
    ]


def _footer(first: int, last: int, total: int, tr: Translator) -> str:
    """ "Passages 4–6 of 9", or "Passage 7 of 9" for a page of one."""
    if first != last:
        line = tr.gettext("Passages {first}–{last} of {total}")
    else:
        line = tr.gettext("Passage {first} of {total}")
    return line.format(first=first, last=last, total=total)


def render_text(result: Answer, tr: Translator = ENGLISH) -> str:
    """The answer as plain text: the same passages in the same order as on Telegram."""
    preface = preface_of(result, tr)
    no_answer = tr.gettext(NO_ANSWER)
    if not result.hits:
        return f"{preface}\n{no_answer}" if preface else no_answer
    lines: list[str] = [preface, ""] if preface else []
    if result.closest:
        lines += [closest_intro(result.verdict, tr), ""]
    for hit in result.hits:
        lines.append(f"[{hit.rank}] {hit.passage.text}")
        lines.append("    " + plain_source(hit.passage.article, hit.passage.paragraph, tr))
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


def article_messages(article: Article, tr: Translator = ENGLISH) -> list[str]:
    """A whole article as HTML messages within Telegram's limit."""
    blocks = [_article_head(article, tr)]
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


def _article_head(article: Article, tr: Translator) -> str:
    """Title, subtitle and source line as one block within a message: a title too long for
    it is cut (an escaped title may be five times its length: cut until it fits)."""
    tail = [f"<i>{esc(shorten(article.subtitle, 1000))}</i>"] if article.subtitle else []
    tail.append(source_line(article, tr=tr))
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


def inline_hit(hit: Hit, link: ArticleLink, tr: Translator = ENGLISH) -> InlineResult:
    """A passage to share: the article as title, its key sentence as description."""
    passage = hit.passage
    start, end = hit.best_sentence
    return InlineResult(
        id=_result_id(f"{passage.article.id}\x00{passage.paragraph}\x00{passage.part}"),
        title=shorten(passage.article.title, 100),
        description=shorten(passage.text[start:end], 200),
        message=hit_block(hit, link, tr=tr),
    )


def inline_article(article: Article, link: str | None, tr: Translator = ENGLISH) -> InlineResult:
    """An article to share (no question yet): its title and first paragraph."""
    first = article.paragraphs[0] if article.paragraphs else ""
    title = f"<b>{esc(shorten(article.title, 300))}</b>"
    excerpt = esc(shorten(first, INLINE_EXCERPT_CHARS))
    message = f"{title}\n<blockquote>{excerpt}</blockquote>\n"
    message += source_line(article, 1 if first else None, link, tr=tr)
    return InlineResult(
        id=_result_id(f"article\x00{article.id}"),
        title=shorten(article.title, 100),
        description=shorten(article.subtitle or first, 200),
        message=message if tg_len(message) <= MESSAGE_LIMIT else title,
    )
