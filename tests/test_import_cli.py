"""`newsbot import` as a user runs it: a subprocess against the local news site."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.websites import FIXTURES, NewsSite, full_text, rss


async def newsbot_import(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """`python -m bot import ARGS` with a fresh data folder; (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(
        NEWSBOT_IMPORT_STATE=str(tmp_path / "data" / "import-state.json"),
        NEWSBOT_CACHE_DIR=str(tmp_path / "data" / "cache"),
        NEWSBOT_FETCH_DELAY="0",
        NEWSBOT_FETCH_TIMEOUT="5",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "import",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


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
    assert lines[0].startswith("added      dailymeridian.example/2024-05-20-rail-strike")
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
