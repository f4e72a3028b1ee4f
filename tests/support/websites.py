"""A news site on 127.0.0.1 for the import tests: fixture pages, RSS and Atom feeds, and the
ways real servers misbehave (redirects, 404/500, slowness, huge and non-HTML bodies)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
PAGES = ("wordpress", "news", "amp", "standfirst-h2", "latin1")
HUGE_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 256 * 1024 * 1024  # what /bomb decodes to
LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class NewsSite:
    """aiohttp on a free port; `pages` and `feeds` may be changed while it runs."""

    pages: dict[str, bytes] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)
    robots: str | None = None  # None: /robots.txt is a 404
    # /raw/<name>: these headers and these body bytes, as they are (no encoding applied).
    raw: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    huge_sent: int = 0
    slow_s: float = 5.0
    _runner: web.AppRunner | None = None
    port: int = 0

    def __post_init__(self) -> None:
        for name in PAGES:
            self.pages[name] = (FIXTURES / f"{name}.html").read_bytes()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/robots.txt", self._robots)
        app.router.add_get("/pages/{name}", self._page)
        app.router.add_get("/feeds/{name}", self._feed)
        app.router.add_get("/redirect/{hops}", self._redirect)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/trickle", self._trickle)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/huge-declared", self._huge_declared)
        app.router.add_get("/report.pdf", self._pdf)
        app.router.add_get("/bomb", self._bomb)
        app.router.add_get("/private/{name}", self._page)
        app.router.add_get("/mirror/{name}", self._page)
        app.router.add_get("/raw/{name}", self._raw)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def requests_to(self, prefix: str) -> list[Hit]:
        return [h for h in self.hits if h.path.startswith(prefix)]

    def _log(self, request: web.Request) -> None:
        self.hits.append(Hit(request.path_qs, dict(request.headers), time.monotonic()))

    async def _robots(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        if self.robots is None:
            raise web.HTTPNotFound()
        return web.Response(text=self.robots, content_type="text/plain")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        name = request.match_info["name"].removesuffix(".html")
        if name not in self.pages:
            raise web.HTTPNotFound()
        charset = "iso-8859-1" if name == "latin1" else "utf-8"
        return web.Response(body=self.pages[name], content_type="text/html", charset=charset)

    async def _raw(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        name = request.match_info["name"]
        if name not in self.raw:
            raise web.HTTPNotFound()
        headers, body = self.raw[name]
        return web.Response(body=body, headers=headers)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        """A feed with an ETag and a Last-Modified; a matching conditional GET gets a 304."""
        self._log(request)
        name = request.match_info["name"]
        if name not in self.feeds:
            raise web.HTTPNotFound()
        body = self.feeds[name].replace("{base}", self.base).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        kind = "application/atom+xml" if name.endswith(".atom") else "application/rss+xml"
        if name.endswith(".xml"):
            kind = "text/xml"
        return web.Response(
            body=body, content_type=kind, headers={"ETag": etag, "Last-Modified": LAST_MODIFIED}
        )

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        hops = int(request.match_info["hops"])
        to = request.query.get("to", "/pages/news")
        target = f"/redirect/{hops - 1}?to={to}" if hops > 1 else to
        raise web.HTTPFound(target)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        return web.Response(status=int(request.match_info["code"]), text="error page")

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        await asyncio.sleep(self.slow_s)
        return web.Response(body=self.pages["news"], content_type="text/html")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then a byte now and then: no single read ever times out."""
        self._log(request)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(int(self.slow_s * 10)):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        """50 MB, chunked (no Content-Length): only reading stops it."""
        self._log(request)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        try:
            while self.huge_sent < HUGE_BYTES:
                await response.write(chunk)
                self.huge_sent += len(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def _huge_declared(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/html", "Content-Length": str(HUGE_BYTES)}
        )
        await response.prepare(request)
        try:
            for _ in range(HUGE_BYTES // 65536):
                await response.write(b"y" * 65536)
                self.huge_sent += 65536
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        """A few kB on the wire, `Content-Encoding: gzip, gzip`: 256 MB of HTML decoded."""
        self._log(request)
        return web.Response(
            body=double_gzip_bomb(),
            headers={"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"},
        )

    async def _pdf(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
        return web.Response(body=pdf, content_type="application/pdf")


@functools.cache
def double_gzip_bomb() -> bytes:
    """gzip(gzip(BOMB_BYTES of spaces)), made in steps (never 256 MB in memory)."""
    inner = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    outer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"<p>" + b" " * (1024 * 1024 - 7) + b"</p>\n"
    out = [outer.compress(inner.compress(block)) for _ in range(BOMB_BYTES // len(block))]
    out.append(outer.compress(inner.flush()))
    out.append(outer.flush())
    return b"".join(out)


def rss(items: list[dict[str, Any]], title: str = "The Coastal Courier") -> str:
    """An RSS 2.0 feed as WordPress writes it; `{base}` is the site's root."""
    parts = []
    for item in items:
        content = item.get("content")
        encoded = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
        parts.append(
            f"<item><title>{item['title']}</title><link>{item['link']}</link>"
            f"<dc:creator><![CDATA[{item.get('author', 'Staff reporter')}]]></dc:creator>"
            f"<pubDate>{item.get('date', 'Thu, 14 Mar 2024 08:30:00 +0000')}</pubDate>"
            f'<guid isPermaLink="false">{item.get("guid", item["link"])}</guid>'
            f"<description><![CDATA[{item.get('summary', 'A short summary [&#8230;]')}]]>"
            f"</description>{encoded}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>{{base}}/</link><language>en-GB</language>"
        "<description>News from the harbour</description>" + "".join(parts) + "</channel></rss>"
    )


def atom(entries: list[dict[str, Any]], title: str = "Daily Meridian") -> str:
    """An Atom 1.0 feed; `{base}` is the site's root."""
    parts = []
    for entry in entries:
        content = entry.get("content")
        body = (
            f'<content type="html"><![CDATA[{content}]]></content>'
            if content
            else f"<summary>{entry.get('summary', 'Summary only.')}</summary>"
        )
        parts.append(
            f"<entry><title>{entry['title']}</title>"
            f'<link rel="alternate" href="{entry["link"]}"/>'
            f"<id>{entry.get('id', entry['link'])}</id>"
            f"<updated>{entry.get('updated', '2024-05-20T06:15:00Z')}</updated>"
            f"<author><name>{entry.get('author', 'Priya Natarajan')}</name></author>{body}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:lang="en"><title>{title}</title><id>{{base}}/</id>'
        "<updated>2024-05-20T09:40:00Z</updated>" + "".join(parts) + "</feed>"
    )


def full_text(topic: str, paragraphs: int = 5) -> str:
    """An article's HTML long enough to be the whole text, about `topic`."""
    sentences = [
        f"<p>Paragraph {n} on {topic}: the council met on Tuesday and heard from residents, "
        f"engineers and the harbour master about the plans, which would cost {n} million "
        "pounds over the next decade and change how the quay is used.</p>"
        for n in range(1, paragraphs + 1)
    ]
    return "".join(sentences)
