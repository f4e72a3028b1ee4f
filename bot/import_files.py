"""Imported articles as files: `<site>/<date>-<slug>.md` with front matter, and the state of
the feeds between runs (ETag / Last-Modified, items already imported).

The articles folder stays the one source of truth: which URL a file holds is read back from
its front matter, so a lost state file costs only a re-check, never a duplicate.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.articles import MAX_FILE_BYTES

log = logging.getLogger(__name__)

# The keys an imported file's front matter holds, in this order.
FRONT_MATTER = ("url", "published", "outlet", "author", "language", "fetched")
SLUG_CHARS = 60
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|ref|rss)$", re.I)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_FETCHED_LINE = re.compile(r"^fetched:.*\n", re.M)


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
    host = (parts.hostname or "local").lower().removeprefix("www.")
    return f"{host}-{parts.port}" if parts.port else host


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


class Library:
    """The imported files in an articles folder, by canonical URL and by body hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_url: dict[str, Path] = {}
        self.by_body: dict[str, Path] = {}
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else ():
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            text = _read(path)
            if text is None:
                continue
            if url := front_matter_url(text):
                self.by_url.setdefault(canonical_url(url), path)
            self.by_body.setdefault(body_hash(text), path)

    def file_for(self, url: str) -> Path | None:
        path = self.by_url.get(canonical_url(url))
        return path if path is not None and path.is_file() else None

    def new_path(self, article: ArticleFile) -> Path:
        """A free `<site>/<date>-<slug>.md` path for a new article."""
        date = (article.published or article.fetched or "undated")[:10]
        name = f"{date}-{slug(article.title, article.url)}"
        base = self.folder / site_folder(article.url) / name
        path, n = base.with_suffix(".md"), 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}.md")
        return path

    def remember(self, path: Path, article: ArticleFile, text: str) -> None:
        if article.url:
            self.by_url[canonical_url(article.url)] = path
        self.by_body[body_hash(text)] = path


def front_matter_url(text: str) -> str | None:
    """The `url:` value of a file's front matter, if it has one."""
    if not text.startswith("---"):
        return None
    for line in text.split("\n")[1:50]:
        if line.strip() in ("---", "..."):
            return None
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "url" and value.strip():
            return value.strip().strip("\"'")
    return None


def _read(path: Path) -> str | None:
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
