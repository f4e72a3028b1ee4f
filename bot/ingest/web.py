"""Fetching pages and feeds politely: robots.txt, a per-host delay, limits, conditional GETs.

One `Fetcher` per import run or per poller. Every request carries an honest User-Agent,
waits for its host's turn (one request at a time per host, `delay` seconds apart, longer if
robots.txt asks for a Crawl-delay), follows at most MAX_REDIRECTS redirects (each hop checked
against robots.txt), stops reading at `max_bytes` and gives up after `timeout` seconds in all,
so a server that trickles bytes cannot hold an import. `max_bytes` caps the decoded body too
(bot.ingest.decoding). Where it may go at all is bot.ingest.netguard's: every hop is checked.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.robotparser
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit

import httpx

from bot.ingest.decoding import DecodeError, Decoder
from bot.ingest.netguard import (
    Reach,
    Refused,
    checking,
    done_checking,
    guarded_transport,
    origin_url,
    proxies_set,
    same_site,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_TTL_S = 24 * 3600  # RFC 9309: a robots.txt may be cached for up to 24 hours
MAX_CRAWL_DELAY_S = 30.0
ROBOTS_AGENT = "newsbot"


class FetchError(Exception):
    """A URL could not be fetched; the message is the reason shown to the operator."""


def user_agent(contact: str | None = None) -> str:
    """`newsbot/<version> (+contact)`: who is asking, and how to reach them (NEWSBOT_CONTACT)."""
    try:
        ours = version("newsbot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        ours = "0"
    what = f"+{contact}" if contact else "newsroom question-answering bot"
    return f"newsbot/{ours} ({what})"


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched document, or a 304 (`not_modified`, no body)."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None  # where a redirect points

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots: urllib.robotparser.RobotFileParser | None = None
    robots_until: float = 0.0


class Fetcher:
    """HTTP GETs for the importer; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        *,
        delay: float = 1.0,
        timeout: float = 20.0,
        max_bytes: int = 10 * 1024 * 1024,
        contact: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        reach: Reach | None = None,
    ) -> None:
        self.delay = delay
        self.reach = reach or Reach()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.agent = user_agent(contact)
        self._hosts: dict[str, _Host] = {}
        if transport is None and (proxies := proxies_set()):
            # httpx uses no proxy with a transport of its own; the address checks need
            # direct connections anyway. Said once per import run or poller.
            log.warning(
                "%s set, but proxies are not used for importing: newsbot connects directly "
                "(and checks each address it connects to)",
                "/".join(proxies),
            )
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed here, so robots.txt sees every hop
            transport=transport or guarded_transport(),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        via: str | None = None,
    ) -> Response:
        """GET `url` (conditionally when validators are given); raises FetchError.
        `via`: the operator's URL (a feed) that led here; None when the operator named
        `url` itself. Every hop but the operator's own URL is checked (bot.ingest.netguard)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(url, etag, last_modified, via)
        except Refused as exc:
            raise FetchError(f"refused: {exc}") from None
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g} s") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot connect ({type(exc).__name__}: {exc})") from None

    async def _follow(
        self, url: str, etag: str | None, last_modified: str | None, via: str | None
    ) -> Response:
        named = via or url  # the URL the operator named: its site is theirs
        for hop in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            theirs = via is None and hop == 0  # the operator's own URL: theirs to fetch
            token = checking(False if theirs else self.reach.check(url, named))
            try:
                response = await self._hop(url, etag, last_modified)
            finally:
                done_checking(token)
            if response.status in (301, 302, 303, 307, 308):
                if not response.location:
                    raise FetchError(f"HTTP {response.status} without a Location")
                url = urljoin(url, response.location)
                continue
            if response.status == 304:
                return response
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status}")
            return response
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _hop(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        if not await self.allowed(url):
            raise FetchError("disallowed by robots.txt")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._request(url, headers, self.max_bytes)

    async def _request(self, url: str, headers: dict[str, str], limit: int) -> Response:
        """One GET at the host's turn, its body read up to `limit` bytes."""
        host = self._host(url)
        async with host.lock:
            wait = host.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._read(url, headers, limit)
            finally:
                host.next_at = time.monotonic() + self._delay_for(host)

    async def _read(self, url: str, headers: dict[str, str], limit: int) -> Response:
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.is_redirect:
                return Response(
                    url, response.status_code, location=response.headers.get("location")
                )
            if response.status_code == 304 or response.status_code >= 400:
                return Response(url, response.status_code)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError(f"too large ({_mb(int(declared))} > {_mb(limit)})")
            chunks = await _body(response, limit)
            content_type = response.headers.get("content-type")
            return Response(
                url=str(response.url),
                status=response.status_code,
                body=b"".join(chunks),
                content_type=content_type,
                charset=response.charset_encoding,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )

    def _host(self, url: str) -> _Host:
        key = origin_url(url)
        if key not in self._hosts:
            self._hosts[key] = _Host()
        return self._hosts[key]

    def _delay_for(self, host: _Host) -> float:
        asked = host.robots.crawl_delay(ROBOTS_AGENT) if host.robots else None
        return max(self.delay, min(float(asked or 0), MAX_CRAWL_DELAY_S))

    async def allowed(self, url: str) -> bool:
        """May we fetch `url`? Reads (and caches) its host's robots.txt."""
        host = self._host(url)
        async with host.robots_lock:
            if host.robots is None or time.monotonic() > host.robots_until:
                host.robots = await self._robots(url)
                host.robots_until = time.monotonic() + ROBOTS_TTL_S
            robots = host.robots
        return robots.can_fetch(ROBOTS_AGENT, url)

    async def _robots(self, url: str) -> urllib.robotparser.RobotFileParser:
        """robots.txt as RFC 9309 reads it: 4xx allows everything; 5xx or no answer
        disallows everything (for now: it is read again on the next run)."""
        parser = urllib.robotparser.RobotFileParser()
        robots_url = origin_url(url) + "/robots.txt"
        try:
            response = await self._request(robots_url, {}, ROBOTS_MAX_BYTES)
            for _ in range(MAX_REDIRECTS):
                if response.status not in (301, 302, 303, 307, 308) or not response.location:
                    break
                robots_url = urljoin(robots_url, response.location)
                if not same_site(robots_url, url):  # not followed off the site: none found
                    response = Response(robots_url, 404)
                    break
                response = await self._request(robots_url, {}, ROBOTS_MAX_BYTES)
        except (FetchError, httpx.HTTPError):
            response = Response(robots_url, 503)
        if 400 <= response.status < 500:
            parser.parse([])  # no rules: everything allowed
        elif response.status >= 300:
            parser.parse(["User-agent: *", "Disallow: /"])
        else:
            parser.parse(response.body.decode("utf-8", "replace").splitlines())
        return parser


async def _body(response: httpx.Response, limit: int) -> list[bytes]:
    """The body, decoded step by step: at most `limit` bytes read and `limit` decoded.
    Whatever goes wrong decoding fails this page only (a FetchError), never the round."""
    try:
        decoder = Decoder(response.headers.get("content-encoding"), limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:  # stop reading: the rest is never downloaded
                raise DecodeError("too large")
            chunks.append(decoder.feed(chunk))
    except DecodeError as exc:
        if str(exc) == "too large":
            raise FetchError(f"too large (over {_mb(limit)})") from None
        raise FetchError(str(exc)) from None
    except (httpx.HTTPError, FetchError):
        raise
    except Exception as exc:  # a decoder bug or a limit of the machine: this page only
        log.warning("Cannot decode %s", response.url, exc_info=True)
        raise FetchError(f"cannot decode the body ({type(exc).__name__})") from None
    return chunks


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"not an http(s) URL: {url[:200]}")


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.0f} MB" if size >= 1_048_576 else f"{size / 1024:.0f} kB"
