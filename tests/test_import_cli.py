"""`newsbot import` as a user runs it: a subprocess against the local news site."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import newsbot_import
from tests.support.paths import ROOT
from tests.support.websites import FIXTURES, NewsSite, full_text, rss


async def test_import_prints_one_line_per_article_and_exits_0(
    site: NewsSite, tmp_path: Path
) -> None:
    """A page and a feed: a line each article; the second run says unchanged; exit 0."""
    site.feeds["f.rss"] = rss(
        [{"title": "Quay plans", "link": "{base}/stories/q", "content": full_text("quay")}]
    )
    articles = tmp_path / "news"
    args = (site.url("/pages/news"), site.url("/feeds/f.rss"), "--articles", str(articles))
    code, out, err = await newsbot_import(tmp_path, *args)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"added      127.0.0.1-{site.port}/2024-05-20-rail-strike")
    assert lines[0].endswith("Rail strike called off after late-night pay deal")
    assert lines[1].startswith(f"added      127.0.0.1-{site.port}/2024-03-14-quay-plans.md")
    code, out, _ = await newsbot_import(tmp_path, *args)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["unchanged", "unchanged"]
    assert "Traceback" not in err


async def test_import_json_and_exit_1_when_a_source_fails(site: NewsSite, tmp_path: Path) -> None:
    """--json: one object per line with the six keys; a failed source makes the exit code 1."""
    code, out, err = await newsbot_import(
        tmp_path,
        "--json",
        site.url("/status/404"),
        str(FIXTURES / "wordpress.html"),
        "--articles",
        str(tmp_path / "a"),
    )
    assert code == 1, err
    failed, added = (json.loads(line) for line in out.splitlines())
    assert failed == {
        "source": site.url("/status/404"),
        "file": None,
        "title": None,
        "url": site.url("/status/404"),
        "status": "failed",
        "error": "HTTP 404",
    }
    assert added["status"] == "added" and added["error"] is None
    assert (
        added["file"]
        == "coastalcourier.example/2024-03-14-harbour-town-votes-to-rebuild-its-flooded-sea-"
        "wall.md"
    )
    assert added["url"] == "https://coastalcourier.example/2024/03/14/harbour-town-sea-wall/"
    assert (tmp_path / "a" / added["file"]).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("notes.txt",), "notes.txt: not an http(s) URL or a local .html file"),
        (("missing.html",), "missing.html: no such file"),
        ((), "Missing argument"),
    ],
)
async def test_bad_usage_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """Sources that are neither URLs nor .html files, or none at all: exit 2, nothing done."""
    code, out, err = await newsbot_import(tmp_path, *args)
    assert code == 2
    assert message in err
    assert out == ""
    assert ROOT.exists()


NO_DATE = b"""<!DOCTYPE html><html lang="en"><head><title>Ferry timetable changes</title></head>
<body><article><h1>Ferry timetable changes for the winter</h1>
<p>The ferry company said the winter timetable would drop two sailings a day, the first
change since the service began in 1995, and that fares would stay as they are.</p>
<p>Passengers on the 07:15 crossing will move to the 08:30 boat; the company expects 1,200
fewer journeys over the season and has written to 3,400 season ticket holders.</p>
<p>The harbour master said the berth would be repaired during the quieter months, with work
starting on the 12th and ending before the spring timetable returns.</p></article></body></html>
"""


async def test_a_page_without_a_date_is_not_given_one(site: NewsSite, tmp_path: Path) -> None:
    """No date in the page's metadata: no `published:`, filed under the day it was fetched
    (not 1995-01-01 guessed from a number in the text)."""
    site.pages["nodate"] = NO_DATE
    articles = tmp_path / "news"
    code, out, err = await newsbot_import(
        tmp_path, site.url("/pages/nodate"), "--json", "--articles", str(articles)
    )
    assert code == 0, err
    file = json.loads(out)["file"]
    text = (articles / file).read_text(encoding="utf-8")
    assert "published:" not in text and "1995-01-01" not in file
    fetched = next(line for line in text.splitlines() if line.startswith("fetched: "))
    assert file.split("/")[1].startswith(fetched.removeprefix("fetched: ")[:10])


async def test_a_page_too_slow_to_extract_is_given_up(site: NewsSite, tmp_path: Path) -> None:
    """NEWSBOT_EXTRACT_TIMEOUT=1: a page that takes many seconds to extract fails in time."""
    para = (
        b'<div class="c"><p>Paragraph about the harbour and the council, with '
        b'<a href="/x">a link</a> and <b>bold</b> words in it.</p></div>'
    )
    site.pages["big"] = (
        b"<html><head><title>Big</title></head><body><article><h1>A long report</h1>"
        + para * 12000
        + b"</article></body></html>"
    )
    started = time.monotonic()
    code, out, err = await newsbot_import(
        tmp_path,
        site.url("/pages/big"),
        "--articles",
        str(tmp_path / "news"),
        NEWSBOT_EXTRACT_TIMEOUT="1",
    )
    assert code == 1, err
    assert "extraction took over 1 s" in out
    assert time.monotonic() - started < 15
    assert "Traceback" not in err


async def test_two_imports_at_once_do_not_duplicate(site: NewsSite, tmp_path: Path) -> None:
    """Two `newsbot import` runs of one feed into one folder at the same time: each article
    once (the second run waits for the first, then finds its files)."""
    site.feeds["f.rss"] = rss(
        [
            {"title": f"Story {n}", "link": f"{{base}}/stories/{n}", "content": full_text(str(n))}
            for n in range(12)
        ]
    )
    args = (site.url("/feeds/f.rss"), "--articles", str(tmp_path / "news"))
    runs = await asyncio.gather(
        newsbot_import(tmp_path / "a", *args), newsbot_import(tmp_path / "b", *args)
    )
    assert [code for code, _, _ in runs] == [0, 0], runs
    assert len(list((tmp_path / "news").rglob("*.md"))) == 12


async def test_a_feed_item_elsewhere_on_loopback_is_refused(
    site: NewsSite, tmp_path: Path
) -> None:
    """`newsbot import FEED`: an item on another port of 127.0.0.1 is refused (and what it
    serves is never written); NEWSBOT_FETCH_SITES with NEWSBOT_FETCH_PRIVATE allows it."""
    other = NewsSite()
    await other.start()
    try:
        site.feeds["f.rss"] = rss([{"title": "Admin", "link": other.url("/pages/news")}])
        articles = str(tmp_path / "news")
        code, out, _ = await newsbot_import(
            tmp_path, site.url("/feeds/f.rss"), "--articles", articles
        )
        assert code == 1 and out.startswith("failed") and "refused" in out
        assert other.hits == []
        code, out, err = await newsbot_import(
            tmp_path,
            site.url("/feeds/f.rss"),
            "--articles",
            articles,
            NEWSBOT_FETCH_SITES=other.base,
            NEWSBOT_FETCH_PRIVATE="true",
        )
        assert code == 0 and out.startswith("added"), err
    finally:
        await other.stop()


def test_starting_the_bot_does_not_import_the_extractor() -> None:
    """`newsbot run`'s modules load without trafilatura (imported only to extract a page)."""
    check = (
        "import sys, newsbot.cli, handlers.app, bot.serving.poller, bot.ingest.imports; "
        "assert 'trafilatura' not in sys.modules, 'trafilatura imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
