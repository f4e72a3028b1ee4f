"""The importer's fetching edges: stacked Content-Encodings, the operator's own site by host
name, addresses hidden inside IPv6, proxies, and the small things (site folders, origins,
hand-written twins, the import lock), against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.ingest.decoding import DecodeError, Decoder
from bot.ingest.files import import_lock, site_folder
from bot.ingest.imports import Importer, ImportResult
from bot.ingest.netguard import guarded_transport, is_public
from bot.ingest.web import Fetcher
from tests.support.cli import newsbot_import
from tests.support.websites import NewsSite, rss

PAGE = b"<html><body><article><h1>Quay</h1>" + b"<p>The quay reopened today.</p>" * 20
EDITORIAL = """---
url: {url}
outlet: Our own desk
---

# Why we back the sea wall

An editorial written by hand, which no import may replace.
"""


async def run(tmp_path: Path, *sources: str) -> list[ImportResult]:
    async with Fetcher(delay=0, timeout=10, max_bytes=1024 * 1024) as fetcher:
        importer = Importer(tmp_path / "articles", tmp_path / "data" / "state.json", fetcher)
        return await importer.run(sources)


@pytest.fixture
async def other() -> AsyncIterator[NewsSite]:
    """A second server on 127.0.0.1, another port."""
    server = NewsSite()
    await server.start()
    yield server
    await server.stop()


def layers(body: bytes, count: int) -> bytes:
    for _ in range(count):
        body = gzip.compress(body, 1)
    return body


def serve_layered(site: NewsSite, count: int = 1000) -> str:
    """A page gzipped `count` times, `Content-Encoding: gzip, gzip, …` saying so."""
    coding = ", ".join(["gzip"] * count)
    site.raw["layers"] = (
        {"Content-Type": "text/html", "Content-Encoding": coding},
        layers(PAGE, count),
    )
    return site.url("/raw/layers")


async def test_a_thousand_encodings_fail_that_page_only_in_the_cli(
    site: NewsSite, tmp_path: Path
) -> None:
    """`newsbot import` of a 1,000-layer page: one failed line naming the codings, the
    next source still imported, exit 1, no traceback."""
    url = serve_layered(site)
    articles = tmp_path / "news"
    code, out, err = await newsbot_import(
        tmp_path, url, site.url("/pages/news"), "--articles", str(articles)
    )
    assert code == 1, err
    assert "Traceback" not in err
    failed, added = out.splitlines()
    assert failed.startswith(f"failed     {url}: too many Content-Encodings"), failed
    assert added.startswith("added")


async def test_a_thousand_encodings_in_a_feed_fail_one_item_not_the_round(
    site: NewsSite, tmp_path: Path
) -> None:
    """A feed item whose page has 1,000 codings fails alone; the feed's other item imports
    (the poller's round goes through the same Importer.run)."""
    serve_layered(site)
    site.feeds["f.rss"] = rss(
        [
            {"title": "Bomb", "link": "{base}/raw/layers"},
            {"title": "Ok", "link": "{base}/pages/amp"},
        ]
    )
    results = await run(tmp_path, site.url("/feeds/f.rss"))
    assert [r.status for r in results] == ["failed", "added"], results
    assert "too many Content-Encodings" in str(results[0].error)


def test_mixed_deflate_then_gzip_decodes() -> None:
    """`Content-Encoding: deflate, gzip` (deflated, then gzipped) decodes to the page."""
    packed = gzip.compress(zlib.compress(PAGE))
    assert Decoder("deflate, gzip", 1 << 20).feed(packed) == PAGE
    assert Decoder("x-gzip,deflate", 1 << 20).feed(zlib.compress(gzip.compress(PAGE))) == PAGE


def test_more_than_five_codings_are_refused_at_once() -> None:
    """Six codings are refused before any byte is decoded; five decode."""
    with pytest.raises(DecodeError, match="too many Content-Encodings"):
        Decoder(", ".join(["gzip"] * 6), 1 << 20)
    assert Decoder(", ".join(["gzip"] * 5), 1 << 20).feed(layers(PAGE, 5)) == PAGE


async def test_the_operators_site_named_by_host_name_is_reached(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """A feed named as http://localhost:P: its items and redirects on that same site import
    (localhost is 127.0.0.1), while localhost on another port stays refused."""
    here = f"http://localhost:{site.port}"
    site.feeds["f.rss"] = rss(
        [
            {"title": "Amp", "link": f"{here}/pages/amp"},
            {"title": "Bounce", "link": f"{here}/redirect/1?to=/pages/wordpress"},
            {"title": "Admin", "link": f"http://localhost:{other.port}/pages/news"},
        ]
    )
    results = await run(tmp_path, f"{here}/feeds/f.rss")
    assert [r.status for r in results] == ["added", "added", "failed"], results
    assert "not the site" in str(results[2].error)
    assert other.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1%eth0",
        "0.0.0.0",
        "::",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::7f00:1",  # local-use NAT64 prefix
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::127.0.0.1",  # IPv4-compatible
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:4136:e378:8000:63bf:a247:27dd",  # Teredo, public client: still refused
        "ff02::1",
        "fec0::1",  # site-local
        "224.0.0.1",
        "240.0.0.1",
        "10.1.2.3",
    ],
)
def test_addresses_inside_ipv6_are_not_public(address: str) -> None:
    """Loopback, link-local, unspecified, multicast, reserved and site-local addresses are
    not public, nor an IPv4 one embedded in IPv6 (mapped, compatible, NAT64, 6to4, Teredo)."""
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822", "::ffff:93.184.216.34"]
)
def test_public_addresses_stay_public(address: str) -> None:
    """Global addresses, and a NAT64 or mapped form of a global IPv4 one, are public."""
    assert is_public(address)


async def test_a_proxy_in_the_environment_is_named_once(site: NewsSite, tmp_path: Path) -> None:
    """HTTPS_PROXY/HTTP_PROXY set: one warning says they are not used and connections are
    direct; the import still works."""
    code, _, err = await newsbot_import(
        tmp_path,
        site.url("/pages/news"),
        site.url("/pages/amp"),
        "--articles",
        str(tmp_path / "news"),
        HTTP_PROXY="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "prox" in line.lower()]
    assert len(warnings) == 1, err
    assert "not used" in warnings[0] and "direct" in warnings[0]


def test_the_guarded_pool_keeps_httpx_limits() -> None:
    """The guarded transport's pool has httpx's own limits (100 connections, 20 kept alive
    for 5 s), not httpcore's bare defaults."""
    ours, plain = guarded_transport()._pool, httpx.AsyncHTTPTransport()._pool
    for name in ("_max_connections", "_max_keepalive_connections", "_keepalive_expiry"):
        assert getattr(ours, name) == getattr(plain, name), name


def test_non_ascii_hosts_get_their_idna_folder() -> None:
    """пример.рф is filed under its IDNA form, not `local`."""
    assert site_folder("http://пример.рф/x") == "xn--e1afmkfd.xn--p1ai"
    assert site_folder("http://www.Пример.рф:8080/x") == "xn--e1afmkfd.xn--p1ai-8080"


async def test_userinfo_does_not_split_a_sites_robots_and_turns(site: NewsSite) -> None:
    """`a@host` and `b@host` are one site: robots.txt is read once for both."""
    async with Fetcher(delay=0, timeout=10) as fetcher:
        await fetcher.get(f"http://a@127.0.0.1:{site.port}/pages/news")
        await fetcher.get(f"http://b@127.0.0.1:{site.port}/pages/amp")
    assert len(site.requests_to("/robots.txt")) == 1


async def test_a_hand_written_file_is_found_by_canonical_url(
    site: NewsSite, tmp_path: Path
) -> None:
    """A page fetched as `/mirror/news?utm_source=rss` (canonical elsewhere on its site)
    keeps the hand-written file whose url: is `/mirror/news`: nothing added."""
    site.pages["news"] = site.pages["news"].replace(
        b"https://www.dailymeridian.example", site.base.encode()
    )
    editorial = tmp_path / "articles" / "desk" / "editorial.md"
    editorial.parent.mkdir(parents=True)
    editorial.write_text(EDITORIAL.format(url=site.url("/mirror/news")), encoding="utf-8")
    (result,) = await run(tmp_path, site.url("/mirror/news?utm_source=rss"))
    assert (result.status, result.file) == ("unchanged", "desk/editorial.md"), result
    assert len(list((tmp_path / "articles").rglob("*.md"))) == 1


class _Heard(logging.Handler):
    """Sets `event` when a record holding `words` is logged (on the event loop's thread)."""

    def __init__(self, words: str, event: asyncio.Event) -> None:
        super().__init__()
        self.words, self.event = words, event

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.event.set()


async def test_a_waiting_import_says_so(
    site: NewsSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An import that must wait for another import of its folder logs one line saying so,
    then runs once the other is done."""
    caplog.set_level(logging.INFO)
    folder = tmp_path / "articles"
    heard = asyncio.Event()
    handler = _Heard("Waiting for another import", heard)
    logging.getLogger().addHandler(handler)
    try:
        async with import_lock(folder):
            task = asyncio.create_task(run(tmp_path, site.url("/pages/news")))
            await asyncio.wait_for(heard.wait(), 10)
            assert not task.done()
        (result,) = await task
    finally:
        logging.getLogger().removeHandler(handler)
    assert result.status == "added"
    assert caplog.text.count("Waiting for another import") == 1
    assert str(folder) in caplog.text
