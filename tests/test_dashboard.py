"""`newsbot dashboard` over HTTP on 127.0.0.1, and `newsbot export --format sqlite`."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.storage import ConversationLog
from bot.storage.transfer import copy_log
from tests.support.cli import newsbot
from tests.support.dashboard import PASSWORD, USER, dashboard, environment
from tests.support.log import QUESTION, make_log

# Each test starts the dashboard as a process: end to end, left out of `make check`.
pytestmark = pytest.mark.e2e
UNANSWERED = 'Capital of France, "quoted", ok?'


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    """A small log: three questions over two days (one unanswered), one vote, one /start."""
    db = tmp_path / "log.sqlite3"
    await make_log(db)
    return db


def test_without_credentials_nothing_is_shown(log: Path) -> None:
    """Without the password (none, a wrong one, a malformed header) every page is a 401
    that shows no question."""
    with dashboard(log) as site:
        for path in ("/", "/newsbot/unanswered.json", "/newsbot", "/-/metadata.json"):
            for auth in (None, (USER, "wrong"), ("someone", PASSWORD)):
                got = site.get(path, auth=auth)
                assert got.status_code == 401, (path, auth)
                assert "Capital" not in got.text and "Afghanistan" not in got.text
                assert got.headers["www-authenticate"].startswith("Basic ")
        for header in ("Basic !!!not-base64", "Basic " + base64.b64encode(b"\xff:\xfe").decode()):
            got = httpx.get(
                site.url + "/newsbot/unanswered.json", headers={"Authorization": header}
            )
            assert got.status_code == 401, header


def test_unanswered_json_lists_the_question_the_articles_did_not_answer(log: Path) -> None:
    """GET /newsbot/unanswered.json with the credentials lists the unanswered question, how
    often and when last; the answered one is not in it."""
    with dashboard(log) as site:
        got = site.get("/newsbot/unanswered.json?_shape=objects")
    assert got.status_code == 200
    rows = got.json()["rows"]
    assert [(r["question"], r["times"]) for r in rows] == [(UNANSWERED, 1)]
    assert rows[0]["last_asked"][:4].isdigit()


def test_named_queries_give_the_figures(log: Path) -> None:
    """daily, latency, articles, feedback and passages, as JSON, count what the log holds."""
    with dashboard(log) as site:

        def rows(name: str) -> list[dict[str, object]]:
            path = name if "?" in name else f"{name}.json?"
            got = site.get(f"/newsbot/{path}&_shape=objects")
            assert got.status_code == 200, got.text
            return list(got.json()["rows"])

        daily = rows("daily")
        latency = rows("latency")
        articles = rows("articles")
        feedback = rows("feedback")
        passages = rows(f"passages?question={quote(QUESTION.upper())}".replace("?", ".json?", 1))
    assert [(d["questions"], d["answered"], d["answered_pct"]) for d in daily] == [
        (2, 1, 50.0),
        (1, 1, 100.0),
    ]
    assert [(d["questions"], d["p50_ms"], d["p95_ms"]) for d in latency] == [
        (2, 1.0, 2.0),
        (1, 3.0, 3.0),
    ]
    assert articles == [
        {"article_id": "000_e6af9304790c8bd1", "cited": 4, "first_passage": 2, "replies": 2}
    ]
    assert [(f["paragraph"], f["up"], f["down"]) for f in feedback] == [(None, 1, 0), (6, 1, 0)]
    assert [(p["paragraph"], p["times_shown"], p["best_rank"]) for p in passages] == [
        (6, 2, 1),
        (1, 2, 2),
    ]


def test_tables_arbitrary_sql_and_the_file_are_refused(log: Path) -> None:
    """No table (users, chats, messages…), row, SQL query or download is served, and the
    database page names no table; reader ids and names appear nowhere."""
    with dashboard(log) as site:
        for path in (
            "/newsbot/users.json",
            "/newsbot/chats",
            "/newsbot/messages.json",
            "/newsbot/users/1001.json",
            "/newsbot.json?sql=select+*+from+users",
            "/newsbot/-/query.json?sql=select+username+from+users",
            "/newsbot.db",
        ):
            got = site.get(path)
            assert got.status_code == 403, path
            assert "reader1001" not in got.text
        page = site.get("/newsbot")
        assert page.status_code == 200
        assert "unanswered" in page.text and ">users<" not in page.text
        assert "reader1001" not in page.text and "messages</a>" not in page.text
        shown = " ".join(site.get(p).text for p in ("/", "/newsbot/unanswered", "/-/metadata"))
    # The reader's id as a number of its own: the free port (41001) or a figure may hold
    # the digits without naming anyone.
    assert "reader1001" not in shown and re.search(r"(?<!\d)1001(?!\d)", shown) is None
    assert "pbkdf2" not in shown


def test_the_page_shows_the_day_the_charts_and_the_unanswered_list(log: Path) -> None:
    """`/` shows today's questions and share answered, four inline SVG charts (matplotlib's,
    with no XML prolog and no script) whose bars carry their day and value, and the top
    unanswered question linked to the passages shown for it."""
    with dashboard(log) as site:
        page = site.get("/")
        link = site.get("/newsbot/unanswered")
    assert page.status_code == 200
    assert "<div>Today</div><b>2</b> questions<div>50% answered</div>" in page.text
    assert "<div>All time</div><b>3</b> questions<div>67% answered</div>" in page.text
    assert page.text.count('<svg class="chart"') == 4 and 'class="bar"' in page.text
    assert "<?xml" not in page.text and "<!DOCTYPE svg" not in page.text
    assert "<script" not in page.text
    today = datetime.now(UTC).strftime("%m-%d")  # each bar's tooltip: the day, value, series
    assert f"<title>{today}: 1 answered</title>" in page.text
    assert f"<title>{today}: 1 not answered</title>" in page.text
    passages = "/newsbot/passages?question=Capital%20of%20France%2C%20%22quoted%22%2C%20ok%3F"
    assert f'<a href="{passages}">Capital of France, &quot;quoted&quot;, ok?</a>' in page.text
    assert passages in link.text  # the canned query's page links each question too


async def test_the_log_is_never_written_and_forget_shows_at_once(log: Path) -> None:
    """Serving every page leaves the log file byte for byte as it was; a reader's /forget
    (here, the log's own) is gone from the next answer, with no restart."""
    before = digest(log)
    with dashboard(log) as site:
        for path in ("/", "/newsbot", "/newsbot/unanswered", "/newsbot/daily.json"):
            assert site.get(path).status_code == 200
        assert digest(log) == before
        writer = ConversationLog(log)
        await writer.open()
        assert await writer.forget(1001) > 0
        await writer.close()
        assert site.get("/newsbot/unanswered.json").json()["rows"] == []
        assert "Capital" not in site.get("/").text


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"NEWSBOT_DASHBOARD_PASSWORD": ""}, (), "NEWSBOT_DASHBOARD_PASSWORD is not set"),
        ({}, ("--db", "/nonexistent/log.sqlite3"), "there is no conversation log at"),
        ({"NEWSBOT_DB": "postgresql://u:p@127.0.0.1:9/db"}, (), "NEWSBOT_DB is a PostgreSQL URL"),
        ({"NEWSBOT_DASHBOARD_USER": "a:b"}, (), "NEWSBOT_DASHBOARD_USER"),
        ({}, ("--host", "no.such.host.invalid"), "--host no.such.host.invalid"),
        ({}, ("--port", "0"), "Invalid value for '--port'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    log: Path, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    """A missing password, log or snapshot, a bad user name, host or port: one line, exit 2."""
    result = newsbot("dashboard", *args, env={**environment(log), **env}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_busy_port_or_a_foreign_file_is_one_line_and_exit_2(log: Path, tmp_path: Path) -> None:
    """A port in use, or a SQLite file that is not a newsbot log: one line, exit 2."""
    other = tmp_path / "app.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    db.close()
    result = newsbot("dashboard", "--db", str(other), env=environment(log))
    assert result.returncode == 2 and "is not a newsbot conversation log" in result.stderr
    with dashboard(log) as site:
        result = newsbot("dashboard", "--port", str(site.port), env=environment(log))
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{site.port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_snapshot_is_served_and_refreshed_in_place(log: Path, tmp_path: Path) -> None:
    """`export --format sqlite FILE` writes a snapshot without names that `dashboard --db
    FILE` serves; exporting again updates the running dashboard; another file is refused."""
    snapshot = tmp_path / "dashboard.sqlite3"
    result = newsbot("export", "--format", "sqlite", str(snapshot), env=environment(log))
    assert result.returncode == 0, result.stderr
    assert "Exported 4 messages" in result.stderr
    with sqlite3.connect(snapshot) as db:
        names = db.execute("SELECT username, first_name, last_name FROM users").fetchall()
    db.close()
    assert names == [(None, None, None)] and b"reader1001" not in snapshot.read_bytes()
    assert oct(snapshot.stat().st_mode & 0o777) == "0o600"
    with dashboard(log, "--db", str(snapshot)) as site:
        assert len(site.get("/newsbot/unanswered.json").json()["rows"]) == 1
        writer = ConversationLog(log)
        await writer.open()
        await writer.forget(1001)
        await writer.close()
        again = newsbot("export", "--format", "sqlite", str(snapshot), env=environment(log))
        assert again.returncode == 0, again.stderr
        assert site.get("/newsbot/unanswered.json").json()["rows"] == []
    other = tmp_path / "notes.sqlite3"
    other.write_bytes(b"")
    refused = newsbot("export", "--format", "sqlite", str(other), env=environment(log))
    assert refused.returncode == 2
    assert "exists and is not a newsbot snapshot" in refused.stderr
    for args, message in (
        (("--format", "sqlite"), "--format sqlite writes a file"),
        (("--format", "sqlite", "--since", "2024-01-01", str(snapshot)), "--since does not"),
        (("--format", "sqlite", str(log)), "is the conversation log itself"),
        (("--out", str(snapshot), str(snapshot)), "give the output file once"),
    ):
        result = newsbot("export", *args, env=environment(log))
        assert result.returncode == 2 and message in result.stderr, args


async def test_a_postgresql_log_is_served_from_its_snapshot(
    log: Path, tmp_path: Path, pg_url: str
) -> None:
    """With NEWSBOT_DB=postgresql://…, `export --format sqlite FILE` writes the snapshot the
    dashboard serves: its unanswered list is the PostgreSQL log's."""
    await copy_log(log, pg_url)
    snapshot = tmp_path / "pg.sqlite3"
    env = environment(None, NEWSBOT_DB=pg_url)
    result = newsbot("export", "--format", "sqlite", str(snapshot), env=env)
    assert result.returncode == 0, result.stderr
    assert newsbot("dashboard", env=env).returncode == 2  # a URL needs --db FILE
    with dashboard(log, "--db", str(snapshot), NEWSBOT_DB=pg_url) as site:
        rows = site.get("/newsbot/unanswered.json?_shape=objects").json()["rows"]
    assert [r["question"] for r in rows] == [UNANSWERED]
