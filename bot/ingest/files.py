"""Imported articles as files: `<site>/<date>-<slug>.md` with front matter, and the state of
the feeds between runs (ETag / Last-Modified, items already imported).

The articles folder stays the one source of truth: which URL a file holds is read back from
its front matter, so a lost state file costs only a re-check, never a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.articles import MAX_FILE_BYTES
from bot.ingest.netguard import same_site

log = logging.getLogger(__name__)

# The keys an imported file's front matter holds, in this order.
FRONT_MATTER = ("url", "published", "outlet", "author", "language", "fetched")
SLUG_CHARS = 60
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|ref|rss)$", re.I)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_FETCHED_LINE = re.compile(r"^fetched:.*\n", re.M)
_NOT_HOST = re.compile(r"[^a-z0-9.-]+|\.{2,}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Longest values kept from a page or feed: a title as long as a headline gets, an outlet's
# and an author's name; longer ones are cut at a word (the HTML quoting and Telegram's
# message limits deal in such lengths, not in pages of text).
MAX_CHARS = {"title": 300, "subtitle": 600, "outlet": 100, "author": 200, "language": 20}
MAX_URL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class ArticleFile:
    """What an imported article file holds: front matter values, title, standfirst, body."""

    title: str
    paragraphs: tuple[str, ...]
    subtitle: str | None = None
    url: str | None = None
    published: str | None = None
    outlet: str | None = None
    author: str | None = None
    language: str | None = None
    fetched: str | None = None

    def render(self) -> str:
        """The file's text: front matter, `# title`, the standfirst, then the paragraphs."""
        values = ((key, getattr(self, key)) for key in FRONT_MATTER)
        meta = [f"{key}: {_one_line(value)}" for key, value in values if value]
        blocks = [f"# {_one_line(self.title)}"]
        if self.subtitle:
            blocks.append(_one_line(self.subtitle))
        blocks += [_one_line(p) for p in self.paragraphs]
        head = "---\n" + "".join(f"{line}\n" for line in meta) + "---\n\n" if meta else ""
        return head + "\n\n".join(blocks) + "\n"


def capped(article: ArticleFile) -> ArticleFile:
    """The article with its one-line fields cut to MAX_CHARS (at a word, with an ellipsis)."""
    return replace(
        article,
        title=_cut(article.title, MAX_CHARS["title"]) or article.title,
        subtitle=_cut(article.subtitle, MAX_CHARS["subtitle"]),
        outlet=_cut(article.outlet, MAX_CHARS["outlet"]),
        author=_cut(article.author, MAX_CHARS["author"]),
        language=_cut(article.language, MAX_CHARS["language"]),
    )


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = _one_line(text)
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def trusted_url(canonical: str | None, fetched: str | None) -> str | None:
    """The URL to file a page under: its canonical URL only when on the site that served
    it (or, for a local file, the operator's own); else the URL it was fetched from."""
    if canonical and len(canonical) <= MAX_URL_CHARS:
        if fetched is None and canonical.startswith(("http://", "https://")):
            return canonical
        if fetched is not None and same_site(canonical, fetched):
            return canonical
    return fetched


def is_imported(text: str) -> bool:
    """Was the file written by the importer (its front matter has `fetched:`)?"""
    return front_matter_value(text, "fetched") is not None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """Hash of a file's text without its `fetched:` time: equal means nothing changed."""
    return hashlib.sha256(_FETCHED_LINE.sub("", text, count=1).encode()).hexdigest()


def body_hash(text: str) -> str:
    """Hash of a file's title and body only: the same article under another URL."""
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") and "\n---\n" in text else text
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def canonical_url(url: str) -> str:
    """The URL articles are told apart by: no fragment, no tracking parameters, lower-case
    scheme and host, no default port."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def site_folder(url: str | None) -> str:
    """The folder of a site's articles: its host name without `www.` (port after a dash)."""
    if not url:
        return "local"
    parts = urlsplit(url)
    # A host is letters, digits, dots and dashes; anything else (`..`, `/`) is not one.
    host = _NOT_HOST.sub("-", _ascii_host(parts.hostname or "").removeprefix("www."))
    host = host.strip(".-") or "local"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}-{port}" if port else host


def _ascii_host(host: str) -> str:
    """The host as DNS spells it: пример.рф is xn--e1afmkfd.xn--p1ai (IDNA)."""
    host = host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:  # not a valid name: its other characters become dashes
        return host


def slug(title: str, url: str | None = None) -> str:
    """ASCII words of the title, joined by dashes; else the URL's last segment; else a hash."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")
    if len(words) < 3 and url:
        words = _NOT_SLUG.sub("-", urlsplit(url).path.rsplit("/", 2)[-1].lower()).strip("-")
    if len(words) < 3:
        words = hashlib.sha256((url or title).encode()).hexdigest()[:12]
    if len(words) > SLUG_CHARS:
        cut = words.rfind("-", 0, SLUG_CHARS)
        words = words[: cut if cut > SLUG_CHARS // 2 else SLUG_CHARS]
    return words.strip("-")


class ImportedFiles:
    """The imported files in an articles folder, by canonical URL and by body hash; and the
    hand-written files that name a URL (never updated: the folder's editors own them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_url: dict[str, Path] = {}
        self.by_body: dict[str, Path] = {}
        self.hand_written: dict[str, Path] = {}
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else ():
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            text = read_article(path)
            if text is None:
                continue
            if url := front_matter_url(text):
                mine = self.by_url if is_imported(text) else self.hand_written
                mine.setdefault(canonical_url(url), path)
            self.by_body.setdefault(body_hash(text), path)

    def file_for(self, url: str) -> Path | None:
        path = self.by_url.get(canonical_url(url))
        return path if path is not None and path.is_file() else None

    def hand_written_for(self, url: str) -> Path | None:
        """The hand-written file whose url: is `url` (both canonical), if any."""
        return self.hand_written.get(canonical_url(url))

    def new_path(self, article: ArticleFile) -> Path:
        """A free `<site>/<date>-<slug>.md` path for a new article."""
        date = (article.published or article.fetched or "")[:10]
        if not _DATE.fullmatch(date):
            date = "undated"
        name = f"{date}-{slug(article.title, article.url)}"
        base = self.folder / site_folder(article.url) / name
        path, n = base.with_suffix(".md"), 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}.md")
        # Never outside the folder, whatever a page or feed says its host is.
        if not path.resolve().is_relative_to(self.folder.resolve()):
            raise OSError(f"refusing to write {path.name}: outside the articles folder")
        return path

    def remember(self, path: Path, article: ArticleFile, text: str) -> None:
        if article.url:
            self.by_url[canonical_url(article.url)] = path
        self.by_body[body_hash(text)] = path


def front_matter_url(text: str) -> str | None:
    """The `url:` value of a file's front matter, if it has one."""
    return front_matter_value(text, "url")


def front_matter_value(text: str, wanted: str) -> str | None:
    """The value of key `wanted` in a file's front matter, if it has one."""
    if not text.startswith("---"):
        return None
    for line in text.split("\n")[1:50]:
        if line.strip() in ("---", "..."):
            return None
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == wanted and value.strip():
            return value.strip().strip("\"'")
    return None


def read_article(path: Path) -> str | None:
    """An article file's text (undecodable bytes replaced); None when unreadable or larger
    than any article file may be (bot.articles.MAX_FILE_BYTES)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` through a hidden temporary file and one rename, so the folder
    watch and /reload never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        else:  # mkstemp makes it 0600; articles are as readable as any other file
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


LOCK_NAME = ".newsbot-import.lock"
LOCK_POLL_S = 0.1


@contextlib.asynccontextmanager
async def import_lock(folder: Path) -> AsyncIterator[None]:
    """Held for a whole import into `folder`, across processes: a second import (or the
    bot's feed poller) waits, then sees the first one's files instead of adding them again.
    flock: released by the kernel when the process ends, however it ends."""
    fd = await asyncio.to_thread(_lock_file, folder)
    try:
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    log.info("Waiting for another import of %s to finish", folder)
                    said = True
                await asyncio.sleep(LOCK_POLL_S)  # polled: a blocked thread could not be cancelled
        yield
    finally:
        os.close(fd)


def _lock_file(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    return os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)


class FeedState:
    """Per feed: its ETag / Last-Modified and the items already imported (a JSON file,
    owner-only). A missing or corrupt file starts afresh, with a warning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.feeds: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            feeds = data.get("feeds") if isinstance(data, dict) else None
            self.feeds = {k: v for k, v in (feeds or {}).items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("Import state %s unreadable (%s): starting afresh", path, exc)

    def feed(self, url: str) -> dict[str, Any]:
        return self.feeds.setdefault(url, {})

    def save(self) -> None:
        try:
            text = json.dumps({"version": 1, "feeds": self.feeds}, indent=1, sort_keys=True)
            write_atomically(self.path, text, mode=0o600)
        except OSError as exc:
            log.warning("Cannot save the import state %s: %s", self.path, exc.strerror or exc)
