"""The dashboard's datasette: its configuration, the plugin that locks it down, and the page.

`newsbot dashboard` (newsbot/dashboard.py) builds a Datasette from `configure()`. The log is
served as the database `newsbot` with the named queries of bot/storage/dashboard.py only:
every table is hidden and refused (no reader ids or names can be browsed), arbitrary SQL and
the file download are off, and the file is opened read-only (SQLite mode=ro and query_only;
no write connection can be opened). The plugin also serves `/`, the dashboard page: the
day's questions and share answered, charts (inline SVG drawn by matplotlib in
newsbot/dashboard_charts.py: no script, nothing fetched from elsewhere) and the top unanswered
questions, each linked to its passages.
"""

from __future__ import annotations

import base64
import binascii
import html
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from datasette import hookimpl as _hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils.asgi import Response
from datasette_auth_passwords.utils import hash_password
from markupsafe import Markup

from bot.storage.dashboard import ARTICLES, DAILY, FEEDBACK, LATENCY, QUERIES, UNANSWERED
from newsbot.dashboard_charts import bar_chart, hbar_chart, line_chart

DB = "newsbot"
# datasette-auth-passwords reads the hash from the plugin configuration; given as {"$env": …},
# it is resolved on use and never shown by /-/metadata. Set in this process only.
HASH_ENV = "NEWSBOT_DASHBOARD_PASSWORD_HASH"
# PBKDF2 rounds for the in-memory hash. It is never stored, so the rounds guard no file
# against offline guessing; they are paid on every request (the plugin checks each one).
ROUNDS = 20_000
CHART_DAYS = 30

F = TypeVar("F", bound=Callable[..., Any])


def hookimpl(function: F) -> F:
    """datasette's hookimpl marker, typed."""
    return cast(F, _hookimpl(function))


class ReadOnlyLog(Database):  # type: ignore[misc]  # datasette is untyped
    """The log, opened read-only (mode=ro): datasette never gets a connection that writes."""

    def connect(self, write: bool = False) -> sqlite3.Connection:
        if write:
            raise PermissionError("the newsbot dashboard never writes to the log")
        return cast(sqlite3.Connection, super().connect(write=False))


def metadata(user: str) -> dict[str, Any]:
    """datasette's metadata: who may look, the named queries, the login."""
    return {
        "title": "newsbot: the newsroom's view",
        "description": "What readers ask and what the articles fail to answer.",
        "allow": {"id": user},
        "plugins": {
            "datasette-auth-passwords": {
                "http_basic_auth": True,
                f"{user}_password_hash": {"$env": HASH_ENV},
            }
        },
        "databases": {
            DB: {
                "allow_sql": False,
                "queries": {
                    q.name: {"title": q.title, "description": q.description, "sql": q.sql}
                    for q in QUERIES
                },
            }
        },
    }


SETTINGS = {
    "default_allow_sql": False,
    "allow_download": False,
    "allow_facet": False,
    "suggest_facets": False,
    "allow_csv_stream": False,
    "default_cache_ttl": 0,  # readers' questions are not for caches between here and the browser
    "sql_time_limit_ms": 5000,
}


def configure(path: Path, user: str, password: str) -> Datasette:
    """A Datasette serving the log at `path` to `user` with `password` (hashed here, kept in
    this process's memory only)."""
    os.environ[HASH_ENV] = hash_password(password, iterations=ROUNDS)
    from datasette.plugins import pm

    if not pm.is_registered(sys.modules[__name__]):
        pm.register(sys.modules[__name__], name="newsbot-dashboard")
    datasette = Datasette(metadata=metadata(user), settings=SETTINGS)
    datasette.add_database(ReadOnlyLog(datasette, path=str(path), is_mutable=True), name=DB)
    return datasette


def guarded(app: Callable[..., Any]) -> Callable[..., Any]:
    """The ASGI app behind a check that an Authorization header is one the login plugin can
    read: a malformed one (not base64, not ASCII) gets 401 too, not a server error."""

    async def check(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or {}).get(b"authorization", b"")
            if header.startswith(b"Basic ") and not _readable(header[6:]):
                await Response.text(
                    "401 Authorization Required",
                    status=401,
                    headers={"www-authenticate": 'Basic realm="newsbot", charset="UTF-8"'},
                ).asgi_send(send)
                return
        await app(scope, receive, send)

    return check


def _readable(credentials: bytes) -> bool:
    try:
        base64.b64decode(credentials.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return True


# The plugin: this module's hooks lock the log down and add the dashboard page.


@hookimpl
def permission_allowed(actor: Any, action: str, resource: Any) -> bool | None:
    # Tables (users, chats, messages…) hold reader ids and names: only the named
    # queries, which return counts, questions and article ids, are served.
    if action in ("view-table", "execute-sql", "view-database-download"):
        return False
    return None


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    if database == DB:
        conn.execute("PRAGMA query_only = 1")


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [(r"^/$", dashboard_page)]


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None) -> Any:
    # The unanswered list: each question links to the passages shown for it.
    if table is None and column == "question" and isinstance(value, str):
        keys = tuple(row.keys()) if hasattr(row, "keys") else ()
        if keys == ("question", "times", "last_asked"):
            return Markup(f'<a href="{passages_url(value)}">{html.escape(value)}</a>')
    return None


@hookimpl
def menu_links() -> list[dict[str, str]]:
    return [{"href": "/", "label": "Dashboard"}]


def passages_url(question: str) -> str:
    return f"/{DB}/passages?question={quote(question, safe='')}"


async def _rows(datasette: Datasette, sql: str) -> list[dict[str, Any]]:
    result = await datasette.get_database(DB).execute(sql)
    return [dict(row) for row in result.rows]


async def dashboard_page(datasette: Datasette) -> Response:
    """`/`: today's and the week's figures, the charts and the top unanswered questions."""
    daily = await _rows(datasette, DAILY.sql)
    latency = await _rows(datasette, LATENCY.sql)
    articles = await _rows(datasette, ARTICLES.sql)
    unanswered = await _rows(datasette, UNANSWERED.sql)
    feedback = [r for r in await _rows(datasette, FEEDBACK.sql) if r["paragraph"] is None]
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=CHART_DAYS - 1 - i)).isoformat() for i in range(CHART_DAYS)]
    by_day = {r["day"]: r for r in daily}
    timed = {r["day"]: r for r in latency}

    def figures(first: str) -> tuple[int, int]:
        asked = [r for r in daily if r["day"] >= first]
        return sum(r["questions"] for r in asked), sum(r["answered"] for r in asked)

    week = (today - timedelta(days=6)).isoformat()
    cards = "".join(
        _card(label, *figures(first))
        for label, first in (("Today", today.isoformat()), ("Last 7 days", week), ("All time", ""))
    )
    questions_chart = bar_chart(
        "Questions per day",
        [d[5:] for d in days],
        [
            ("answered", "#2e7d32", [by_day.get(d, {}).get("answered", 0) for d in days]),
            (
                "not answered",
                "#ef6c00",
                [
                    by_day.get(d, {}).get("questions", 0) - by_day.get(d, {}).get("answered", 0)
                    for d in days
                ],
            ),
        ],
    )
    share_chart = line_chart(
        "Share answered (%)",
        [d[5:] for d in days],
        [("answered %", "#2e7d32", [by_day.get(d, {}).get("answered_pct") for d in days])],
        top=100.0,
    )
    latency_chart = line_chart(
        "Answer time (ms)",
        [d[5:] for d in days],
        [
            ("p50", "#1565c0", [timed.get(d, {}).get("p50_ms") for d in days]),
            ("p95", "#c62828", [timed.get(d, {}).get("p95_ms") for d in days]),
        ],
    )
    top = articles[:10]
    articles_chart = hbar_chart(
        "Most cited articles",
        [str(r["article_id"]) for r in top],
        "passages cited",
        "#6a1b9a",
        [int(r["cited"]) for r in top],
    )
    unanswered_rows = "".join(
        f'<tr><td><a href="{html.escape(passages_url(r["question"]))}">'
        f"{html.escape(r['question'])}</a></td><td>{r['times']}</td>"
        f"<td>{html.escape(str(r['last_asked'])[:16].replace('T', ' '))}</td></tr>"
        for r in unanswered[:20]
    )
    feedback_rows = "".join(
        f"<tr><td>{html.escape(str(r['article_id']))}</td><td>{r['up']}</td>"
        f"<td>{r['down']}</td></tr>"
        for r in feedback[:20]
    )
    links = " · ".join(f'<a href="/{DB}/{q.name}">{q.name}</a>' for q in QUERIES[:5])
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsbot: the newsroom's view</title>
<link rel="stylesheet" href="/-/static/app.css">
<style>
 body {{ max-width: 1200px; margin: 0 auto; padding: 1em; }}
 .cards {{ display: flex; gap: 1em; flex-wrap: wrap; }}
 .card {{ border: 1px solid #ccc; border-radius: 6px; padding: .6em 1em; min-width: 12em; }}
 .card b {{ font-size: 1.6em; }}
 .charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
   gap: 1em; }}
 svg.chart {{ width: 100%; height: auto; border: 1px solid #eee; }}
 table {{ border-collapse: collapse; }} td, th {{ padding: .2em .6em; text-align: left; }}
</style></head>
<body>
<h1>What readers ask</h1>
<p>Named queries (also as JSON, add <code>.json</code>): {links}</p>
<section class="cards" id="figures">{cards}</section>
<section class="charts">{questions_chart}{share_chart}{latency_chart}{articles_chart}</section>
<h2>Top unanswered questions</h2>
<p>What the articles did not answer, most asked first; each links to the passages shown.
 All of them: <a href="/{DB}/unanswered">unanswered</a>.</p>
<table id="unanswered"><thead><tr><th>Question</th><th>Times</th><th>Last asked (UTC)</th>
</tr></thead><tbody>{unanswered_rows}</tbody></table>
<h2>Feedback per article</h2>
<table id="feedback"><thead><tr><th>Article</th><th>Helpful (👍)</th>
<th>Not helpful (👎)</th></tr></thead>
<tbody>{feedback_rows}</tbody></table>
<p><a href="/{DB}/feedback">Per passage</a></p>
</body></html>"""
    return Response.html(body)


def _card(label: str, questions: int, answered: int) -> str:
    share = f"{round(100 * answered / questions)}% answered" if questions else "no questions"
    return (
        f'<div class="card"><div>{label}</div><b>{questions}</b> questions<div>{share}</div></div>'
    )
