"""Articles from a folder of .txt/.md files, and the passages they are searched by."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.text import sentence_spans

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024
# Paragraphs longer than this are cut into passages on sentence boundaries.
MAX_PASSAGE_CHARS = 900
SUBTITLE_MAX_CHARS = 100
FRONT_MATTER_KEYS = ("url", "published", "outlet", "author", "language", "fetched", "title")
# Files that sit beside articles but are not articles (a corpus's own README, licence...).
NOT_ARTICLES = frozenset({"readme", "license", "licence", "source", "changelog", "contributing"})

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
# "KABUL-", "KABUL -", "WASHINGTON (Reuters) —", "NEW YORK, March 3 -" at the start of the body.
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’ ]{1,30}[A-Z.](?:, [A-Z][a-z]{2,8}\.? \d{1,2})?(?: \([^)]{1,30}\))?)"
    r"\s?[-–—:]\s*(?=\S)"
)
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


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
    language: str | None = None
    author: str | None = None
    fetched: str | None = None  # when `newsbot import` read it (ISO 8601, UTC)
    modified: float = 0.0  # the file's modification time (seconds since the epoch)

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


@dataclass(frozen=True, slots=True)
class Collection:
    """The loaded articles, their passages, and what was skipped (file, reason)."""

    articles: tuple[Article, ...]
    passages: tuple[Passage, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())

    def article(self, number: int) -> Article | None:
        """Article by its 1-based number in /sources order, or None."""
        return self.articles[number - 1] if 1 <= number <= len(self.articles) else None


class ArticleError(ValueError):
    """A file could not be read as an article; the message says why."""


def load_collection(folder: Path) -> Collection:
    """Load every article under `folder`; files that fail are skipped with a warning."""
    articles: list[Article] = []
    skipped: list[tuple[str, str]] = []
    for path in _article_files(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            article = parse_article(_read_text(path), rel)
            articles.append(replace(article, modified=path.stat().st_mtime))
        except (ArticleError, OSError) as exc:  # OSError: the file went away while reading
            reason = str(exc) if isinstance(exc, ArticleError) else f"cannot be read ({exc})"
            log.warning("Skipping %s: %s", rel, reason)
            skipped.append((rel, reason))
    passages = tuple(p for a in articles for p in passages_of(a))
    return Collection(tuple(articles), passages, tuple(skipped))


def _article_files(folder: Path) -> Iterator[Path]:
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        rel_parts = path.relative_to(folder).parts
        if (
            path.suffix.lower() not in ARTICLE_SUFFIXES
            or path.stem.lower() in NOT_ARTICLES
            or any(p.startswith(".") for p in rel_parts)
        ):
            continue
        # A symbolic link that leads outside the articles folder is never followed.
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            log.warning("Skipping %s: symbolic link outside the articles folder", path.name)
            continue
        if path.is_file():
            yield path


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ArticleError(f"file too large ({size // 1_048_576} MB > 20 MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot be read ({exc.strerror})") from None
    return decode_article_bytes(data)


def decode_article_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else Latin-1; refuse empty and binary data."""
    if not data.strip():
        raise ArticleError("empty file")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f")
    controls += sum(1 for c in sample if 0x7F <= ord(c) < 0xA0)
    if controls > len(sample) * 0.05:
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
        dateline = match.group("place").strip()
        rest[0] = rest[0][match.end() :]
    if not rest:
        raise ArticleError("no body text after the title")
    article_id = file_name.rsplit(".", 1)[0]
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
        language=meta.get("language"),
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
