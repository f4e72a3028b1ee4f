"""Articles from a folder of .txt/.md files, and the passages they are searched by."""

from __future__ import annotations

import codecs
import logging
import re
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.language.detect import article_language, code_of
from bot.scan import FileInfo, scan_folder
from bot.text import sentence_spans

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
# Paragraphs longer than this are cut into passages on sentence boundaries.
MAX_PASSAGE_CHARS = 900
SUBTITLE_MAX_CHARS = 100
FRONT_MATTER_KEYS = (
    "url", "published", "outlet", "author", "language", "lang", "fetched", "title",
)  # fmt: skip

# Site furniture that ends up in scraped articles; matched against whole short paragraphs.
_BOILERPLATE = re.compile(
    r"^(comments are closed\.?|subscribe( to (our )?newsletter)?\.?"
    r"|sign up for .{0,40}newsletter.*"
    r"|share (this|on) .{0,40}|(share|tweet|email|print)( this)?( article| story)?"
    r"|follow us on .{0,60}|read more:?.{0,80}|advertisement|click here .{0,80}"
    r"|(we use|this (web)?site uses) cookies.*|accept (all )?cookies.*|all rights reserved\.?.*"
    r"|leave a (comment|reply)\.?|related( articles| stories)?:?)$",
    re.IGNORECASE,
)
# "KABUL-", "KABUL -", "WASHINGTON (Reuters) —", "NEW YORK, March 3 -" at the start of the body;
# and as German and French agencies write them, the place in ordinary capitals before a
# spaced dash: "Wien – ", "Paris (AFP) – ", "Villingen-Schwenningen – " (not "The minister –
# who ...": the place is one or two capitalised words, the dash an en or em dash).
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’ ]{1,30}[A-Z.](?:, [A-Z][a-z]{2,8}\.? \d{1,2})?(?: \([^)]{1,30}\))?)"
    r"\s?[-–—:]\s*(?=\S)"
    r"|^(?P<town>[A-ZÀ-Þ][\w'’.]+(?:[ /-][A-ZÀ-Þ][\w'’.]+)?(?: \([^)]{1,30}\))?) [–—] (?=\S)"
)
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")
# What counts towards "binary": C0 controls other than tab, newline, carriage return and form
# feed, DEL and the C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Article:
    """One news article: metadata and its body paragraphs, verbatim."""

    id: str
    file_name: str
    title: str
    paragraphs: tuple[str, ...]
    subtitle: str | None = None
    dateline: str | None = None
    url: str | None = None
    published: str | None = None
    outlet: str | None = None
    language: str | None = None  # ISO 639-1: from the front matter, else detected
    author: str | None = None
    fetched: str | None = None  # when `newsbot import` read it (ISO 8601, UTC)
    modified: float = 0.0  # the file's modification time (seconds since the epoch)

    @property
    def lang(self) -> str:
        """The language its words are read in for search (English when unknown)."""
        return self.language or "en"

    @property
    def newest_first_key(self) -> tuple[str, float]:
        """Sort key, newest first when reversed: the published date, else the file's time."""
        return (self.published or "", self.modified)


@dataclass(frozen=True, slots=True)
class Passage:
    """A searchable piece of an article: a paragraph, or a run of sentences of a long one."""

    article: Article
    paragraph: int  # 1-based paragraph number in the article body; 0 for the subtitle
    text: str
    part: int = 1  # 1-based piece of a long paragraph

    @property
    def context(self) -> str:
        """Text searched for this passage: its article's title and subtitle, then the passage."""
        head = self.article.title
        if self.article.subtitle:
            head = f"{head}\n{self.article.subtitle}"
        return f"{head}\n{self.text}"


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Collection:
    """The loaded articles, their passages, and what was skipped (file, reason).

    Loaded from the index cache, `articles` and `passages` are built on first use from the
    saved parsed articles (bot/collection/stored.py), and `lineage` says what changed since the
    collection it was updated from.
    """

    articles: Sequence[Article]
    passages: Sequence[Passage]
    skipped: tuple[tuple[str, str], ...] = field(default=())
    lineage: Lineage | None = field(default=None, compare=False, repr=False)

    def article(self, number: int) -> Article | None:
        """Article by its 1-based number in /sources order, or None."""
        return self.articles[number - 1] if 1 <= number <= len(self.articles) else None

    def languages(self) -> dict[str, int]:
        """Passages per language its articles are read in (for stored articles, without
        building them)."""
        found: dict[str, int] | None = getattr(self.articles, "languages", None)
        if found is not None:
            return found
        counts: dict[str, int] = {}
        for passage in self.passages:
            counts[passage.article.lang] = counts.get(passage.article.lang, 0) + 1
        return counts

    def article_ids(self) -> Sequence[str]:
        """The articles' ids in order (for stored articles, without building them)."""
        ids: Sequence[str] | None = getattr(self.articles, "ids", None)
        return ids if ids is not None else [a.id for a in self.articles]


@dataclass(frozen=True, slots=True)
class Lineage:
    """A collection updated from `base`: the titles of the articles added, updated and removed."""

    base: weakref.ref[Collection]
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


def fingerprint(article: Article) -> tuple[object, ...]:
    """What readers see of an article: a change here is an update (the front matter too:
    citations show the date, outlet and link)."""
    return (
        article.title,
        article.subtitle,
        article.dateline,
        article.paragraphs,
        *(article.url, article.published, article.outlet, article.author, article.language),
    )


def article_changes(
    old: Collection, new: Collection
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Titles of the articles added, updated and removed from `old` to `new`: from the
    update's record when `new` was updated from `old`, else by comparing every article."""
    lineage = new.lineage
    if lineage is not None and lineage.base() is old:
        return lineage.added, lineage.updated, lineage.removed
    return changes_between(old.articles, new.articles)


def changes_between(
    before: Iterable[Article], after: Iterable[Article]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Titles of the articles added, updated and removed, by article id."""
    old = {a.id: a for a in before}
    new = {a.id: a for a in after}
    return (
        tuple(a.title for i, a in new.items() if i not in old),
        tuple(
            a.title for i, a in new.items() if i in old and fingerprint(old[i]) != fingerprint(a)
        ),
        tuple(a.title for i, a in old.items() if i not in new),
    )


class ArticleError(ValueError):
    """A file could not be read as an article; the message says why."""


class UnreadableError(ArticleError):
    """The file could not be read at all (it may be readable next time)."""


def load_collection(folder: Path) -> Collection:
    """Load every article under `folder`; files that fail are skipped with a warning."""
    articles: list[Article] = []
    skipped: list[tuple[str, str]] = []
    for info in scan_folder(folder):
        try:
            articles.append(read_article(info))
        except ArticleError as exc:
            log.warning("Skipping %s: %s", info.rel, exc)
            skipped.append((info.rel, str(exc)))
    passages = tuple(p for a in articles for p in passages_of(a))
    return Collection(tuple(articles), passages, tuple(skipped))


def read_article(info: FileInfo) -> Article:
    """Read and parse one scanned file; ArticleError says why it is not an article."""
    article = parse_article(decode_article_bytes(read_bytes(info)), info.rel)
    return replace(article, modified=info.mtime)


def read_bytes(info: FileInfo) -> bytes:
    """The file's bytes; ArticleError if it is too large or cannot be read."""
    if info.size > MAX_FILE_BYTES:
        raise ArticleError(f"file too large ({info.size // 1_048_576} MB > 20 MB)")
    try:
        with open(info.path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:  # also when the file went away since the scan
        raise UnreadableError(f"cannot be read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ArticleError(f"file too large ({len(data) // 1_048_576} MB > 20 MB)")
    return data


# Byte order marks of the encodings whose text holds NUL bytes (UTF-32 first: its
# little-endian mark begins with UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_article_bytes(data: bytes) -> str:
    """Decode UTF-16/32 with a BOM, UTF-8 (with or without BOM), else Latin-1; refuse empty
    and binary data."""
    encoding = next((name for bom, name in _WIDE_BOMS if data.startswith(bom)), None)
    if encoding is not None:
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            raise ArticleError(f"not valid {encoding.upper()} text") from None
    if not data.strip():
        raise ArticleError("empty file")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:8192]
    if len(_CONTROLS.findall(sample)) > len(sample) * 0.05:
        raise ArticleError("binary file (control characters)")
    return text


def parse_article(text: str, file_name: str) -> Article:
    """Parse an article's text: front matter, title, subtitle, dateline, body paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    meta, text = _front_matter(text)
    blocks = [b for b in _BLANK_LINES.split(text.strip()) if b.strip()]
    if not blocks:
        raise ArticleError("no text")
    if meta.get("title"):
        title, candidates = meta["title"], blocks
    else:
        first, _, remainder = blocks[0].strip().partition("\n")
        title = _strip_heading(first.strip())
        # The first block may hold the title and a dek on the next line, or the title alone.
        candidates = ([remainder] if remainder.strip() else []) + blocks[1:]
    rest = [_strip_heading(_join_lines(b)) for b in candidates]
    rest = [b for b in rest if b and not _BOILERPLATE.match(b)]
    subtitle = None
    if len(rest) > 1 and _looks_like_subtitle(rest[0]):
        subtitle, rest = rest[0], rest[1:]
    dateline = None
    if rest and (match := _DATELINE.match(rest[0])):
        dateline = (match.group("place") or match.group("town")).strip()
        rest[0] = rest[0][match.end() :]
    if not rest:
        raise ArticleError("no body text after the title")
    article_id = file_name.rsplit(".", 1)[0]
    declared = code_of(meta.get("lang") or meta.get("language"))
    return Article(
        id=article_id,
        file_name=file_name,
        title=title,
        paragraphs=tuple(rest),
        subtitle=subtitle,
        dateline=dateline,
        url=meta.get("url"),
        published=meta.get("published"),
        outlet=meta.get("outlet"),
        language=declared or article_language(title, tuple(rest)),
        author=meta.get("author"),
        fetched=meta.get("fetched"),
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """`---`-fenced `key: value` lines at the top; unknown keys are ignored."""
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), 50)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        return {}, text
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in FRONT_MATTER_KEYS and value.strip():
            meta[key] = value.strip().strip("\"'")
    return meta, "\n".join(lines[end + 1 :])


def _join_lines(block: str) -> str:
    return " ".join(line.strip() for line in block.split("\n") if line.strip())


def _strip_heading(line: str) -> str:
    return line.lstrip("#").strip() if line.startswith("#") else line


def _looks_like_subtitle(block: str) -> bool:
    return len(block) <= SUBTITLE_MAX_CHARS and not block.rstrip().endswith(
        (".", "!", "?", '"', "”", ":")
    )


# The subtitle is passage number 0: readers ask about it and it can be quoted and cited.
SUBTITLE = 0


def passages_of(article: Article) -> Iterator[Passage]:
    """Passages of an article: the subtitle (paragraph 0), then each paragraph, long ones
    cut on sentence boundaries."""
    if article.subtitle:
        yield Passage(article=article, paragraph=SUBTITLE, text=article.subtitle)
    for number, paragraph in enumerate(article.paragraphs, start=1):
        for part, chunk in enumerate(split_long(paragraph), start=1):
            yield Passage(article=article, paragraph=number, text=chunk, part=part)


def split_long(paragraph: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Cut a paragraph into verbatim chunks of at most `limit` characters, on sentences."""
    if len(paragraph) <= limit:
        return [paragraph]
    chunks: list[str] = []
    start = end = 0
    for s_start, s_end in sentence_spans(paragraph):
        if s_end - start > limit and end > start:
            chunks.append(paragraph[start:end])
            start = s_start
        end = s_end
        while end - start > limit:  # one sentence longer than the limit: cut on spaces
            cut = paragraph.rfind(" ", start, start + limit)
            cut = cut if cut > start else start + limit
            chunks.append(paragraph[start:cut])
            start = cut + 1 if paragraph[cut : cut + 1] == " " else cut
    if end > start:
        chunks.append(paragraph[start:end])
    return [c.strip() for c in chunks if c.strip()]
