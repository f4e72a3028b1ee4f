"""The dashboard's datasette: its configuration, the plugin that locks it down, and the page.

`newsbot dashboard` (newsbot/dashboard.py) builds a Datasette from `configure()`. The log is
served as the database `newsbot` with the named queries of bot/storage/dashboard.py only:
every table is hidden and refused (no reader ids or names can be browsed), arbitrary SQL and
the file download are off, and the file is opened read-only (SQLite mode=ro and query_only;
no write connection can be opened). The plugin also serves `/`, the dashboard page: the
day's questions and share answered, charts (inline SVG, drawn here: no script, nothing
fetched from elsewhere) and the top unanswered questions, each linked to its passages.
"""

from __future__ import annotations

import base64
import binascii
import html
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
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
    articles_chart = bar_chart(
        "Most cited articles",
        [str(r["article_id"]) for r in top],
        [("passages cited", "#6a1b9a", [int(r["cited"]) for r in top])],
        horizontal=True,
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


Series = tuple[str, str, Sequence[float | None]]
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 260, 48, 40, 30


def _frame(title: str, top: float, legend: Sequence[tuple[str, str]]) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{html.escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    x = WIDTH - 10
    for name, colour in reversed(legend):
        x -= 8 + 7 * len(name)
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="17" font-size="11">{html.escape(name)}</text>')
        x -= 14
    plot = HEIGHT - BOTTOM - TOP
    for i in range(5):
        y = TOP + plot - plot * i / 4
        value = top * i / 4
        label = f"{value:.0f}" if top >= 8 or value == int(value) else f"{value:.1f}"
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>'
        )
    return parts


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], horizontal: bool = False
) -> str:
    """Stacked bars, one per label (horizontal: one row per label, labels on the left)."""
    totals = [sum(s[2][i] or 0 for s in series) for i in range(len(labels))]
    top = max([*totals, 1])
    if horizontal:
        return _hbar_chart(title, labels, series, top)
    parts = _frame(title, top, [(s[0], s[1]) for s in series])
    plot = HEIGHT - BOTTOM - TOP
    step = (WIDTH - 10 - LEFT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        base: float = TOP + plot
        for name, colour, values in series:
            value = values[i] or 0
            h = plot * value / top
            if h > 0:
                parts.append(
                    f'<rect class="bar" x="{LEFT + i * step + 1:.1f}" y="{base - h:.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{html.escape(label)}: {value} {html.escape(name)}</title></rect>"
                )
            base -= h
        if i % max(len(labels) // 8, 1) == 0:
            parts.append(_x_label(LEFT + (i + 0.5) * step, label))
    parts.append("</svg>")
    return "".join(parts)


def _hbar_chart(title: str, labels: Sequence[str], series: Sequence[Series], top: float) -> str:
    name, colour, values = series[0]
    height = TOP + 22 * max(len(labels), 1) + 10
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{html.escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="10" y="18" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    left = 200
    for i, label in enumerate(labels):
        y = TOP + 22 * i
        value = values[i] or 0.0
        w = (WIDTH - left - 50) * value / top
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" font-size="11" text-anchor="end">'
            f"{html.escape(short)}</text>"
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="16" '
            f'fill="{colour}"><title>{html.escape(label)}: {value} {html.escape(name)}</title>'
            f'</rect><text x="{left + w + 4:.1f}" y="{y + 15}" font-size="11">{value}</text>'
        )
    if not labels:
        parts.append(f'<text x="{left}" y="{TOP + 14}" font-size="12">no passage cited yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], top: float | None = None
) -> str:
    """Lines over the labels; a missing value (a day without questions) breaks the line."""
    found = [v for s in series for v in s[2] if v is not None]
    ceiling = top if top is not None else max([*found, 1.0]) * 1.1
    parts = _frame(title, ceiling, [(s[0], s[1]) for s in series])
    plot = HEIGHT - BOTTOM - TOP
    step = (WIDTH - 10 - LEFT) / max(len(labels), 1)
    for name, colour, values in series:
        points = []
        for i, value in enumerate(values):
            if value is None:
                continue
            x, y = LEFT + (i + 0.5) * step, TOP + plot - plot * value / ceiling
            points.append((x, y))
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{html.escape(labels[i])}: {value} {html.escape(name)}</title></circle>"
            )
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    for i, label in enumerate(labels):
        if i % max(len(labels) // 8, 1) == 0:
            parts.append(_x_label(LEFT + (i + 0.5) * step, label))
    parts.append("</svg>")
    return "".join(parts)


def _x_label(x: float, label: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="10" text-anchor="middle">'
        f"{html.escape(label)}</text>"
    )
