"""The importer under hostile pages, feeds and redirects: what it may fetch, overwrite and
write, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.articles import parse_article
from bot.ingest.decoding import DecodeError, Decoder
from bot.ingest.files import ArticleFile, ImportedFiles
from bot.ingest.imports import Importer, ImportResult
from bot.ingest.netguard import Reach
from bot.ingest.web import Fetcher
from tests.support.websites import NewsSite, full_text, rss

SECRET = (
    b"<html><head><title>Admin</title></head><body><article><h1>Admin console</h1>"
    + (b"<p>The root password is hunter2-do-not-share, the admin console said today.</p>" * 12)
    + b"</article></body></html>"
)
EDITORIAL = """---
url: {url}
published: 2024-01-02
outlet: Our own desk
---

# Why we back the sea wall

An editorial written by hand, which no import may replace.
"""


async def run(
    tmp_path: Path, *sources: str, reach: Reach | None = None, max_bytes: int = 1024 * 1024
) -> list[ImportResult]:
    async with Fetcher(delay=0, timeout=10, max_bytes=max_bytes, reach=reach) as fetcher:
        importer = Importer(tmp_path / "articles", tmp_path / "data" / "state.json", fetcher)
        return await importer.run(sources)


@pytest.fixture
async def other() -> AsyncIterator[NewsSite]:
    """A second server on 127.0.0.1, another port: an admin page that must stay private."""
    server = NewsSite()
    server.pages["admin"] = SECRET
    await server.start()
    yield server
    await server.stop()


def files_outside(top: Path, folder: Path) -> list[Path]:
    return [p for p in top.rglob("*.md") if not p.is_relative_to(folder)]


def written(tmp_path: Path) -> str:
    """Everything under tmp_path (articles and any stray file), as one text."""
    return "\n".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.md"))


async def test_a_hand_written_article_is_never_replaced(site: NewsSite, tmp_path: Path) -> None:
    """A hand-written file (no `fetched:`) whose url: is the page's own URL stays as it was."""
    url = site.url("/pages/wordpress")
    editorial = tmp_path / "articles" / "desk" / "editorial.md"
    editorial.parent.mkdir(parents=True)
    editorial.write_text(EDITORIAL.format(url=url), encoding="utf-8")
    (result,) = await run(tmp_path, url)
    assert (result.status, result.file) == ("unchanged", "desk/editorial.md")
    assert editorial.read_text(encoding="utf-8") == EDITORIAL.format(url=url)
    assert len(list((tmp_path / "articles").rglob("*.md"))) == 1


async def test_a_canonical_url_of_another_site_replaces_nothing(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """A page naming another site's URL as canonical is filed under its own site; the
    other site's imported file and a hand-written file with that URL are untouched."""
    other.pages["news"] = other.pages["news"].replace(
        b"https://www.dailymeridian.example", other.base.encode()
    )
    (theirs,) = await run(tmp_path, other.url("/pages/news"))
    assert theirs.status == "added" and theirs.url and theirs.url.startswith(other.base)
    their_file = tmp_path / "articles" / str(theirs.file)
    before = their_file.read_text(encoding="utf-8")
    hand = tmp_path / "articles" / "desk" / "rail.md"
    hand.parent.mkdir()
    hand.write_text(EDITORIAL.format(url=site.url("/x")), encoding="utf-8")
    hijack = site.pages["wordpress"].replace(
        b"https://coastalcourier.example/2024/03/14/harbour-town-sea-wall/", theirs.url.encode()
    )
    site.pages["wordpress"] = hijack
    (ours,) = await run(tmp_path, site.url("/pages/wordpress"))
    assert ours.status == "added" and ours.url == site.url("/pages/wordpress")
    assert str(ours.file).startswith(f"127.0.0.1-{site.port}/")
    assert their_file.read_text(encoding="utf-8") == before
    assert hand.read_text(encoding="utf-8") == EDITORIAL.format(url=site.url("/x"))


async def test_feed_items_on_another_port_are_refused(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """A feed item, and a redirect on the feed's own site, pointing at another port of
    127.0.0.1 are refused before any request reaches it; the feed's own items import."""
    admin = other.url("/pages/admin")
    site.feeds["f.rss"] = rss(
        [
            {"title": "Admin", "link": admin},
            {"title": "Bounce", "link": "{base}/redirect/1?to=" + admin},
            {"title": "Full", "link": admin + "?full", "content": full_text("admin")},
            {"title": "Ours", "link": "{base}/pages/amp"},
        ]
    )
    results = await run(tmp_path, site.url("/feeds/f.rss"))
    assert [r.status for r in results] == ["failed", "failed", "failed", "added"], results
    assert all("refused" in str(r.error) for r in results[:3])
    assert "NEWSBOT_FETCH_SITES" in str(results[0].error)
    assert other.hits == []
    assert "hunter2" not in written(tmp_path)


async def test_allowed_sites_still_need_public_addresses(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """NEWSBOT_FETCH_SITES=*: another site may be fetched, but not at a loopback address,
    whether named by address or by a host name that resolves to one (localhost)."""
    site.feeds["f.rss"] = rss(
        [
            {"title": "By address", "link": other.url("/pages/admin")},
            {"title": "By name", "link": f"http://localhost:{other.port}/pages/admin"},
        ]
    )
    results = await run(tmp_path, site.url("/feeds/f.rss"), reach=Reach(("*",)))
    assert [r.status for r in results] == ["failed", "failed"], results
    assert all("non-public address" in str(r.error) for r in results)
    assert "NEWSBOT_FETCH_PRIVATE" in str(results[0].error)
    assert other.hits == []


async def test_the_operator_may_allow_another_private_site(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """With the other site allowed and private addresses allowed, its items import."""
    site.feeds["f.rss"] = rss([{"title": "News", "link": other.url("/pages/news")}])
    reach = Reach((other.base,), private=True)
    (result,) = await run(tmp_path, site.url("/feeds/f.rss"), reach=reach)
    assert result.status == "added", result
    assert other.requests_to("/pages/news")


async def test_a_redirect_off_the_operators_url_is_checked(
    site: NewsSite, other: NewsSite, tmp_path: Path
) -> None:
    """The operator's own URL is fetched; where it redirects to is checked like a feed item."""
    (result,) = await run(tmp_path, site.url("/redirect/1?to=" + other.url("/pages/admin")))
    assert result.status == "failed" and "refused" in str(result.error)
    assert other.hits == []


async def test_a_double_gzip_bomb_stops_at_the_size_limit(site: NewsSite, tmp_path: Path) -> None:
    """`Content-Encoding: gzip, gzip` (3 kB → 256 MB): decoding stops at the 1 MB limit,
    and memory never holds the decoded mass."""
    from tests.support.websites import double_gzip_bomb

    double_gzip_bomb()  # built before measuring
    tracemalloc.start()
    try:
        (result,) = await run(tmp_path, site.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.status, result.error) == ("failed", "too large (over 1 MB)")
    assert peak < 32 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"


async def test_long_titles_outlets_and_urls_are_capped(site: NewsSite, tmp_path: Path) -> None:
    """A 5,000-character og:site_name, author and title are cut; a 5,000-character
    canonical URL is not used."""
    long = "Harbour " * 625
    page = site.pages["news"].replace(
        b"<head>",
        f"""<head>
<meta property="og:site_name" content="{long}">
<meta name="author" content="{long}">""".encode(),
        1,
    )
    page = page.replace(
        b"https://www.dailymeridian.example/news/transport/",
        site.base.encode() + b"/" + b"a" * 5000 + b"/",
    )
    site.pages["news"] = page
    (result,) = await run(tmp_path, site.url("/pages/news"))
    assert result.status == "added", result
    article = parse_article((tmp_path / "articles" / str(result.file)).read_text(), "a.md")
    assert article.outlet is not None and len(article.outlet) <= 100
    assert article.author is not None and len(article.author) <= 200
    assert len(article.title) <= 300
    assert article.url == site.url("/pages/news")


@pytest.mark.parametrize("reach", [None, Reach(("*",), private=True)])
async def test_a_feed_item_linking_a_dotdot_host_writes_nothing_outside(
    site: NewsSite, tmp_path: Path, reach: Reach | None
) -> None:
    """A full-text item linking `http://../x` (any site allowed or not) writes no file
    outside the articles folder."""
    site.feeds["f.rss"] = rss(
        [{"title": "Escaped", "link": "http://../x", "content": full_text("escape")}]
    )
    (result,) = await run(tmp_path, site.url("/feeds/f.rss"), reach=reach)
    assert result.status == "failed"
    assert files_outside(tmp_path, tmp_path / "articles") == []
    assert not list((tmp_path / "articles").rglob("*.md"))


@pytest.mark.parametrize("url", ["http://../x", "http://./x", "http://..:8080/x"])
def test_new_paths_stay_inside_the_folder(tmp_path: Path, url: str) -> None:
    """Whatever host a URL names, the path for its article is inside the folder."""
    article = ArticleFile(title="Escaped to the parent", paragraphs=("Text.",), url=url)
    path = ImportedFiles(tmp_path / "articles").new_path(article)
    assert path.resolve().is_relative_to((tmp_path / "articles").resolve())
    assert path.parent != tmp_path / "articles"  # in a site folder, not loose


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", lambda b: gzip.compress(b)),
        ("deflate", lambda b: zlib.compress(b)),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda b: b),
    ],
)
def test_single_codings_decode_and_a_single_bomb_stops(
    coding: str, packed: Callable[[bytes], bytes]
) -> None:
    """Ordinary gzip and deflate bodies decode whole; a 64 MB single-gzip bomb stops at 1 MB."""
    body = b"<p>The quay reopened.</p>" * 1000
    assert Decoder(coding, 1 << 20).feed(packed(body)) == body
    with pytest.raises(DecodeError, match="too large"):
        Decoder("gzip", 1 << 20).feed(gzip.compress(b" " * (64 << 20)))
