"""`newsbot import` and the feed poller's rounds: sources in, article files out.

A source is an http(s) URL of an article page or of an RSS/Atom feed (told apart by the
response), or a local .html file. Each article becomes one `.md` file in the articles folder
(bot.ingest.files); an unchanged article is not rewritten, a changed one updates its file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from bot.config import Settings
from bot.ingest.extract import Extracted, ExtractError, extract_bytes, extract_fragment
from bot.ingest.extract_pool import ExtractorPool
from bot.ingest.feeds import Entry, Feed, FeedError, looks_like_feed, parse_feed
from bot.ingest.files import (
    MAX_URL_CHARS,
    ArticleFile,
    FeedState,
    ImportedFiles,
    body_hash,
    canonical_url,
    capped,
    content_hash,
    import_lock,
    is_imported,
    read_article,
    trusted_url,
    write_atomically,
)
from bot.ingest.netguard import Reach, same_site
from bot.ingest.web import Fetcher, FetchError, Response

log = logging.getLogger(__name__)
T = TypeVar("T")

Status = Literal["added", "updated", "unchanged", "failed"]
HTML_TYPES = ("text/html", "application/xhtml+xml")
LOCAL_SUFFIXES = (".html", ".htm")
# Items of one feed worked on at once (each host still gets one request at a time).
ITEMS_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What became of one article (or of a whole feed that had not changed)."""

    source: str
    status: Status
    file: str | None = None  # relative to the articles folder
    title: str | None = None
    url: str | None = None
    error: str | None = None

    def line(self) -> str:
        """One line for the terminal: status, file, title, or the reason it failed."""
        if self.status == "failed":
            return f"failed     {self.url or self.source}: {self.error}"
        what = self.file or self.url or self.source
        return f"{self.status:<10} {what}" + (f"  {self.title}" if self.title else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file,
            "title": self.title,
            "url": self.url,
            "status": self.status,
            "error": self.error,
        }


class Importer:
    """Imports sources into `folder`; one instance per run or per poller."""

    def __init__(
        self,
        folder: Path,
        state_path: Path,
        fetcher: Fetcher,
        extractor: ExtractorPool | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.folder = folder
        self.state_path = state_path
        self.fetcher = fetcher
        self.extractor = extractor
        self.clock = clock
        self._library: ImportedFiles | None = None
        self._state: FeedState | None = None
        self._writing = asyncio.Lock()

    async def run(
        self, sources: Sequence[str], report: Callable[[ImportResult], None] | None = None
    ) -> list[ImportResult]:
        """Import every source (one after another); `report` hears each result as it comes.
        One import at a time per folder (import_lock): the folder is read once it is ours."""
        async with import_lock(self.folder):
            self._library = await asyncio.to_thread(ImportedFiles, self.folder)
            self._state = await asyncio.to_thread(FeedState, self.state_path)
            results: list[ImportResult] = []
            try:
                for source in sources:
                    for result in await self.source(source):
                        results.append(result)
                        if report is not None:
                            report(result)
            finally:
                await asyncio.to_thread(self._state.save)
            return results

    async def source(self, source: str) -> list[ImportResult]:
        """Import one source; every failure becomes a `failed` result, never an exception."""
        try:
            if source.startswith(("http://", "https://")):
                return await self._url(source)
            return [await self._local(source)]
        except (FetchError, FeedError, ExtractError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return [ImportResult(source, "failed", url=_url_of(source), error=reason)]

    async def _local(self, source: str) -> ImportResult:
        path = Path(source)
        if path.suffix.lower() not in LOCAL_SUFFIXES:
            raise FetchError("not an http(s) URL or a local .html file")
        data = await asyncio.to_thread(path.read_bytes)
        extracted = await self._cpu(extract_bytes, data, None, None)
        return await self._save(source, extracted, None)

    async def _url(self, url: str) -> list[ImportResult]:
        known = self._states().feeds.get(url, {})
        response = await self.fetcher.get(url, known.get("etag"), known.get("last_modified"))
        if response.not_modified:
            return [ImportResult(url, "unchanged", url=url, title=known.get("title"))]
        if looks_like_feed(response.body, response.content_type):
            # A feed of 500 full-text items takes feedparser a second: not on the event loop.
            feed = await self._cpu(parse_feed, response.body, response.url, response.content_type)
            return await self._feed(url, response, feed)
        return [await self._page(url, response)]

    async def _page(
        self, source: str, response: Response, entry: Entry | None = None
    ) -> ImportResult:
        media = (response.content_type or "text/html").split(";")[0].strip().lower()
        if media not in HTML_TYPES and not response.body.lstrip()[:15].lower().startswith(
            (b"<!doctype html", b"<html")
        ):
            raise FetchError(f"not an HTML page or a feed ({media})")
        extracted = await self._cpu(extract_bytes, response.body, response.charset, response.url)
        return await self._save(source, extracted, response.url, entry)

    async def _feed(self, source: str, response: Response, feed: Feed) -> list[ImportResult]:
        if feed.problem:
            log.warning("Feed %s is malformed (%s); imported what it holds", source, feed.problem)
        state = self._states().feed(source)
        known: dict[str, Any] = state.get("items") or {}
        gate = asyncio.Semaphore(ITEMS_AT_ONCE)

        async def one(entry: Entry) -> ImportResult:
            async with gate:
                return await self._entry(source, entry, feed, known.get(entry.key))

        results = list(await asyncio.gather(*(one(e) for e in feed.entries)))
        state["items"] = {
            e.key: {"fp": e.fingerprint, "file": r.file, "title": r.title, "url": r.url}
            for e, r in zip(feed.entries, results, strict=True)
            if r.status != "failed"
        }
        state["title"] = feed.title
        state["checked"] = self.clock().isoformat(timespec="seconds")
        # Validators only once every item is in: a 304 must not hide an item to retry.
        complete = all(r.status != "failed" for r in results)
        state["etag"] = response.etag if complete else None
        state["last_modified"] = response.last_modified if complete else None
        return results

    async def _entry(
        self, source: str, entry: Entry, feed: Feed, seen: dict[str, Any] | None
    ) -> ImportResult:
        if seen and seen.get("fp") == entry.fingerprint and self._still_there(seen.get("file")):
            return ImportResult(
                source, "unchanged", seen.get("file"), seen.get("title"), seen.get("url")
            )
        try:
            if entry.content_html and same_site(entry.link, source):
                # The feed's own text, filed under its link: only a link on the feed's site,
                # else the feed would speak for another site (that page is fetched instead).
                extracted = await self._cpu(
                    extract_fragment, entry.content_html, entry.title or "", entry.link
                )
                # The metadata is the feed's: a bare fragment has none of its own.
                extracted = replace(extracted, url=None, outlet=None, published=None, author=None)
                result = await self._save(source, extracted, entry.link, entry, feed)
            else:
                response = await self.fetcher.get(entry.link, via=source)
                result = await self._page(source, response, entry)
        except (FetchError, ExtractError) as exc:
            return ImportResult(
                source, "failed", title=entry.title, url=entry.link, error=str(exc)
            )
        except Exception as exc:  # a bug met on one item fails that item, not the feed
            log.exception("Importing %s failed", entry.link)
            error = f"unexpected error ({type(exc).__name__})"
            return ImportResult(source, "failed", title=entry.title, url=entry.link, error=error)
        return result

    async def _save(
        self,
        source: str,
        found: Extracted,
        fetched_url: str | None,
        entry: Entry | None = None,
        feed: Feed | None = None,
    ) -> ImportResult:
        """Write the article unless the folder holds it already, unchanged."""
        where = trusted_url(found.url, fetched_url)
        url = canonical_url(where) if where else None
        if url and len(url) > MAX_URL_CHARS:
            raise FetchError(f"URL longer than {MAX_URL_CHARS} characters")
        article = capped(
            ArticleFile(
                title=found.title,
                subtitle=found.subtitle,
                paragraphs=found.paragraphs,
                url=url,
                published=found.published or (entry.published if entry else None),
                outlet=found.outlet or (feed.title if feed else None),
                author=found.author or (entry.author if entry else None),
                language=found.language or (feed.language if feed else None),
                fetched=self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
        text = article.render()
        async with self._writing:  # one writer: two items must not claim one new path
            return await asyncio.to_thread(self._write, source, article, text, fetched_url, entry)

    def _write(
        self,
        source: str,
        article: ArticleFile,
        text: str,
        fetched_url: str | None,
        entry: Entry | None,
    ) -> ImportResult:
        library = self._libraries()
        # Only a file of the same site may be updated: the URLs tried are the article's site.
        candidates = (article.url, fetched_url, entry.link if entry else None)
        urls = [u for u in candidates if u and (not article.url or same_site(u, article.url))]
        path = next((p for u in urls if (p := library.file_for(u)) is not None), None)
        kept = next((p for u in urls if (p := library.hand_written_for(u)) is not None), None)
        status: Status = "updated"
        if path is None and kept is None:
            twin = library.by_body.get(body_hash(text))
            if twin is not None and twin.is_file():  # the same text under another URL
                return _result(self.folder, source, "unchanged", twin, article)
            path, status = library.new_path(article), "added"
        elif path is not None:
            old = read_article(path)
            if old is not None and not is_imported(old):
                kept = path  # edited by hand since it was imported: no longer ours
            elif old is not None and content_hash(old) == content_hash(text):
                return _result(self.folder, source, "unchanged", path, article)
        if kept is not None:
            log.warning("Kept %s: a hand-written article holds %s", kept, article.url)
            return _result(self.folder, source, "unchanged", kept, article)
        assert path is not None
        write_atomically(path, text)
        library.remember(path, article, text)
        return _result(self.folder, source, status, path, article)

    async def _cpu(self, call: Callable[..., T], *args: Any) -> T:
        """Extraction off the event loop: in the extractor's worker process (with its time
        limit) if given, else in a thread."""
        if self.extractor is not None:
            return await self.extractor.run(call, *args)
        return await asyncio.to_thread(partial(call, *args))

    def _still_there(self, file: object) -> bool:
        return isinstance(file, str) and (self.folder / file).is_file()

    def _libraries(self) -> ImportedFiles:
        if self._library is None:
            self._library = ImportedFiles(self.folder)
        return self._library

    def _states(self) -> FeedState:
        if self._state is None:
            self._state = FeedState(self.state_path)
        return self._state


def _result(
    folder: Path, source: str, status: Status, path: Path, article: ArticleFile
) -> ImportResult:
    return ImportResult(
        source, status, path.relative_to(folder).as_posix(), article.title, article.url
    )


def _url_of(source: str) -> str | None:
    return source if source.startswith(("http://", "https://")) else None


def fetcher_from(settings: Settings) -> Fetcher:
    """The HTTP client the settings describe (delay, timeout, size limit, contact)."""
    return Fetcher(
        delay=settings.fetch_delay,
        timeout=settings.fetch_timeout,
        max_bytes=int(settings.fetch_max_mb * 1024 * 1024),
        contact=settings.contact,
        reach=Reach(settings.fetch_sites, settings.fetch_private),
    )


def usage_problem(sources: Sequence[str], folder: Path | None = None) -> str | None:
    """Why the sources cannot be imported at all (bad usage), or None; then creates
    `folder` (an --articles folder: importing may start a new one)."""
    for source in sources:
        if source.startswith(("http://", "https://")):
            continue
        path = Path(source)
        if path.suffix.lower() not in LOCAL_SUFFIXES:
            return f"{source}: not an http(s) URL or a local .html file"
        if not path.is_file():
            return f"{source}: no such file"
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create {folder}: {exc.strerror}"
    return None


def run_import(
    settings: Settings, sources: Sequence[str], report: Callable[[ImportResult], None]
) -> int:
    """`newsbot import`: import the sources, reporting each article; the exit code
    (0 all imported or unchanged, 1 some failed)."""

    async def main() -> list[ImportResult]:
        extractor = ExtractorPool(settings.extract_timeout)
        try:
            async with fetcher_from(settings) as fetcher:
                importer = Importer(
                    settings.articles_dir, settings.import_state, fetcher, extractor
                )
                return await importer.run(sources, report)
        finally:
            extractor.close()

    results = asyncio.run(main())
    return 1 if any(r.status == "failed" for r in results) else 0
