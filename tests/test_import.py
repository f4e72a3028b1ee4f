"""Importing pages and feeds from a local news site: files, statuses, politeness, faults."""

from __future__ import annotations

import itertools
import os
import stat
import time
from pathlib import Path

import pytest

from bot.articles import load_collection, parse_article
from bot.ingest.imports import Importer, ImportResult
from bot.ingest.web import Fetcher, user_agent
from tests.support.websites import FIXTURES, PAGES, NewsSite, atom, full_text, rss


async def run(
    tmp_path: Path, *sources: str, delay: float = 0.0, timeout: float = 2.0
) -> list[ImportResult]:
    async with Fetcher(delay=delay, timeout=timeout, max_bytes=1024 * 1024) as fetcher:
        importer = Importer(tmp_path / "articles", tmp_path / "data" / "state.json", fetcher)
        return await importer.run(sources)


def snapshot(folder: Path) -> dict[str, tuple[float, str]]:
    """Every file under `folder`: its modification time and text."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_text(encoding="utf-8"))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def teaser_feed(site: NewsSite, names: tuple[str, ...] = ("wordpress", "standfirst-h2")) -> str:
    items = [{"title": f"Story {n}", "link": f"{{base}}/pages/{n}"} for n in names]
    items.append(
        {"title": "Quay plans approved", "link": "{base}/stories/quay", "content": full_text("q")}
    )
    return rss(items)


async def test_a_page_becomes_one_markdown_file_with_front_matter(
    site: NewsSite, tmp_path: Path
) -> None:
    """`<site>/<date>-<slug>.md`: front matter (the page's canonical URL on its own site),
    title, standfirst, body; read back whole."""
    site.pages["news"] = site.pages["news"].replace(
        b"https://www.dailymeridian.example", site.base.encode()
    )
    (result,) = await run(tmp_path, site.url("/pages/news"))
    assert result.status == "added", result
    assert (
        result.file
        == f"127.0.0.1-{site.port}/2024-05-20-rail-strike-called-off-after-late-night-pay-deal.md"
    )
    text = (tmp_path / "articles" / result.file).read_text(encoding="utf-8")
    head, body = text.split("\n---\n\n", 1)
    assert head.splitlines()[1:6] == [
        f"url: {site.base}/news/transport/rail-strike-called-off-2024-05-20",
        "published: 2024-05-20",
        "outlet: Daily Meridian",
        "author: Priya Natarajan",
        "language: en",
    ]
    assert head.splitlines()[6].startswith("fetched: 20")
    assert body.startswith(
        "# Rail strike called off after late-night pay deal\n\nTrain drivers accept"
    )
    article = parse_article(text, result.file)
    assert article.title == "Rail strike called off after late-night pay deal"
    assert article.url == result.url and article.author == "Priya Natarajan"
    assert article.fetched is not None and article.fetched.endswith("Z")
    assert article.paragraphs[-1].startswith("Passenger groups said the dispute")
    assert all("Advertisement" not in p for p in article.paragraphs)


async def test_every_fixture_page_imports_and_loads(site: NewsSite, tmp_path: Path) -> None:
    """All CMS styles import; the collection the bot loads holds each of them once."""
    results = await run(tmp_path, *(site.url(f"/pages/{n}") for n in PAGES))
    assert [r.status for r in results] == ["added"] * len(PAGES), results
    collection = load_collection(tmp_path / "articles")
    assert len(collection.articles) == len(PAGES) and not collection.skipped
    latin = next(a for a in collection.articles if a.language == "fr")
    assert "l’aviation civile" in latin.paragraphs[0]
    assert latin.file_name.startswith(f"127.0.0.1-{site.port}/2023-04-06-greve-des-controleurs")


async def test_a_second_run_writes_nothing_and_a_change_updates_the_one_file(
    site: NewsSite, tmp_path: Path
) -> None:
    """Unchanged: not rewritten. Changed on the site: the same file, updated in place."""
    url = site.url("/pages/wordpress")
    (first,) = await run(tmp_path, url)
    before = snapshot(tmp_path / "articles")
    (again,) = await run(tmp_path, url)
    assert (again.status, again.file) == ("unchanged", first.file)
    assert snapshot(tmp_path / "articles") == before
    site.pages["wordpress"] = site.pages["wordpress"].replace(
        b"eleven votes to three", b"ten votes to four"
    )
    (changed,) = await run(tmp_path, url)
    assert (changed.status, changed.file) == ("updated", first.file)
    after = snapshot(tmp_path / "articles")
    assert list(after) == list(before)
    assert "ten votes to four" in after[str(first.file)][1]


async def test_the_same_text_under_another_url_is_not_imported_twice(
    site: NewsSite, tmp_path: Path
) -> None:
    """De-duplication by content: a mirror of a page without a canonical URL."""
    (first,) = await run(tmp_path, site.url("/pages/standfirst-h2"))
    (mirror,) = await run(tmp_path, site.url("/mirror/standfirst-h2?utm_source=rss"))
    assert first.status == "added"
    assert (mirror.status, mirror.file) == ("unchanged", first.file)
    assert len(list((tmp_path / "articles").rglob("*.md"))) == 1


async def test_rss_feed_imports_its_items_then_answers_304(site: NewsSite, tmp_path: Path) -> None:
    """Pages for teaser items, the feed's own text for full ones; then a conditional GET."""
    site.feeds["courier.rss"] = teaser_feed(site)
    feed = site.url("/feeds/courier.rss")
    results = await run(tmp_path, feed)
    assert [r.status for r in results] == ["added"] * 3, results
    assert len(site.requests_to("/pages/")) == 2
    assert site.requests_to("/stories/") == []  # full text came with the feed
    quay = parse_article((tmp_path / "articles" / str(results[2].file)).read_text(), "q.md")
    assert quay.title == "Quay plans approved" and quay.author == "Staff reporter"
    assert quay.outlet == "The Coastal Courier" and quay.published == "2024-03-14"
    before = snapshot(tmp_path / "articles")
    (again,) = await run(tmp_path, feed)
    assert (again.status, again.url) == ("unchanged", feed)
    assert site.requests_to("/feeds/")[-1].headers["If-None-Match"].startswith('"')
    assert len(site.requests_to("/pages/")) == 2
    assert snapshot(tmp_path / "articles") == before


async def test_a_changed_feed_item_updates_its_file_and_leaves_the_rest_alone(
    site: NewsSite, tmp_path: Path
) -> None:
    """The feed changed (new ETag): only the changed item is read again and rewritten."""
    entries = [
        {"title": "Strike off", "link": "{base}/pages/news"},
        {"title": "Fares", "link": "{base}/stories/fares", "content": full_text("fares")},
    ]
    site.feeds["meridian.atom"] = atom(entries)
    feed = site.url("/feeds/meridian.atom")
    first = await run(tmp_path, feed)
    assert [r.status for r in first] == ["added", "added"]
    entries[1]["content"] = full_text("fares", 6)
    entries[1]["updated"] = "2024-05-21T08:00:00Z"
    site.feeds["meridian.atom"] = atom(entries)
    second = await run(tmp_path, feed)
    assert [r.status for r in second] == ["unchanged", "updated"]
    assert second[1].file == first[1].file
    assert len(site.requests_to("/pages/news")) == 1  # the unchanged item was not re-fetched
    assert "Paragraph 6 on fares" in (tmp_path / "articles" / str(first[1].file)).read_text()


async def test_a_failing_item_is_retried_on_the_next_run(site: NewsSite, tmp_path: Path) -> None:
    """An item whose page fails keeps the feed from a 304, so the next run retries it."""
    site.feeds["f.rss"] = rss(
        [
            {"title": "Ok", "link": "{base}/pages/amp"},
            {"title": "Down", "link": "{base}/status/500"},
        ]
    )
    first = await run(tmp_path, site.url("/feeds/f.rss"))
    assert [(r.status, r.error) for r in first] == [("added", None), ("failed", "HTTP 500")]
    second = await run(tmp_path, site.url("/feeds/f.rss"))
    assert [r.status for r in second] == ["unchanged", "failed"]
    assert len(site.requests_to("/status/500")) == 2
    assert len(site.requests_to("/pages/amp")) == 1


async def test_redirects_are_followed_within_limits(site: NewsSite, tmp_path: Path) -> None:
    """Three hops reach the page; seven are refused."""
    (ok,) = await run(tmp_path, site.url("/redirect/3?to=/pages/amp"))
    assert ok.status == "added" and ok.title is not None and "sequía" in ok.title
    (too_many,) = await run(tmp_path, site.url("/redirect/7"))
    assert (too_many.status, too_many.error) == ("failed", "more than 5 redirects")


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/status/404", "HTTP 404"),
        ("/status/500", "HTTP 500"),
        ("/report.pdf", "not an HTML page or a feed (application/pdf)"),
        ("/feeds/missing.rss", "HTTP 404"),
    ],
)
async def test_errors_are_reported_per_source(
    site: NewsSite, tmp_path: Path, path: str, error: str
) -> None:
    """A failed source is one `failed` result with the reason; nothing is written."""
    (result,) = await run(tmp_path, site.url(path))
    assert (result.status, result.error) == ("failed", error)
    assert not (tmp_path / "articles").exists() or not list((tmp_path / "articles").rglob("*.md"))


async def test_malformed_feed_xml_fails_cleanly(site: NewsSite, tmp_path: Path) -> None:
    """A feed that is broken XML with no readable item: failed, 'malformed feed'."""
    site.feeds["bad.xml"] = '<?xml version="1.0"?>\n<rss version="2.0"><channel><item><title>x</ti'
    (result,) = await run(tmp_path, site.url("/feeds/bad.xml"))
    assert result.status == "failed" and result.error is not None
    assert result.error.startswith("malformed feed")


async def test_slow_servers_time_out(site: NewsSite, tmp_path: Path) -> None:
    """A server that does not answer, and one that trickles bytes, both give up in time."""
    site.slow_s = 3.0
    started = time.monotonic()
    results = await run(tmp_path, site.url("/slow"), site.url("/trickle"), timeout=0.5)
    assert [(r.status, r.error) for r in results] == [("failed", "timed out after 0.5 s")] * 2
    assert time.monotonic() - started < 2.5


async def test_a_50_mb_response_is_cut_at_the_size_limit(site: NewsSite, tmp_path: Path) -> None:
    """Reading stops at the limit (1 MB here): the 50 MB are never downloaded."""
    (chunked,) = await run(tmp_path, site.url("/huge"))
    assert (chunked.status, chunked.error) == ("failed", "too large (over 1 MB)")
    (declared,) = await run(tmp_path, site.url("/huge-declared"))
    assert (declared.status, declared.error) == ("failed", "too large (50 MB > 1 MB)")
    assert site.huge_sent < 20 * 1024 * 1024


async def test_robots_txt_and_the_user_agent_are_respected(site: NewsSite, tmp_path: Path) -> None:
    """Disallowed paths are never requested; every request says who is asking."""
    site.robots = "User-agent: *\nDisallow: /private/\n"
    results = await run(tmp_path, site.url("/private/news"), site.url("/pages/news"))
    assert [(r.status, r.error) for r in results] == [
        ("failed", "disallowed by robots.txt"),
        ("added", None),
    ]
    assert site.requests_to("/private/") == []
    assert all(h.headers["User-Agent"].startswith("newsbot/") for h in site.hits)
    assert user_agent("ops@example.com").endswith(" (+ops@example.com)")
    assert len(site.requests_to("/robots.txt")) == 1  # read once per run


async def test_requests_to_one_host_are_spaced_by_the_delay(
    site: NewsSite, tmp_path: Path
) -> None:
    """With a 0.2 s per-host delay, no two requests to the site start closer than that."""
    site.feeds["courier.rss"] = teaser_feed(site, ("wordpress", "news", "amp"))
    results = await run(tmp_path, site.url("/feeds/courier.rss"), delay=0.2)
    assert [r.status for r in results] == ["added"] * 4
    times = [h.at for h in site.hits]
    assert len(times) == 5  # robots.txt, the feed, three pages
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.19


async def test_local_html_files_and_the_state_file(site: NewsSite, tmp_path: Path) -> None:
    """A saved page imports like a fetched one; the feed state is owner-only."""
    site.feeds["f.rss"] = rss([{"title": "A", "link": "{base}/pages/amp"}])
    results = await run(tmp_path, str(FIXTURES / "standfirst-h2.html"), site.url("/feeds/f.rss"))
    assert [r.status for r in results] == ["added", "added"]
    assert (
        results[0].file
        == "local/2022-11-28-museum-returns-bronze-heads-to-benin-city-after-127-years.md"
    )
    state = tmp_path / "data" / "state.json"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    text = (tmp_path / "articles" / results[0].file).read_text()
    assert "\n# Museum returns bronze heads" in text
    assert "\n\nTwelve sculptures taken by British troops in 1897" in text
