"""`newsbot dashboard`: the newsroom's view of the conversation log, in the browser.

Serves the SQLite log (NEWSBOT_DB, or a snapshot of a PostgreSQL log that `newsbot export
--format sqlite FILE` wrote) with datasette, read-only, behind HTTP Basic authentication:
see newsbot/dashboard_site.py for what is served and docs/operators.md#the-dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import click

from newsbot.options import GivenPath, fail, settings_from

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8001, show_default=True, help="Port."
)
@click.option(
    "--db",
    type=GivenPath(path_type=Path, dir_okay=False),
    default=None,
    help="The SQLite log or snapshot to serve (default: NEWSBOT_DB).",
)
def dashboard(host: str, port: int, db: Path | None) -> None:
    """Serve the conversation log as a dashboard (datasette), read-only, behind a password."""
    settings = settings_from(None)
    if settings.dashboard_password is None:
        fail("NEWSBOT_DASHBOARD_PASSWORD is not set: the dashboard needs a password")
    if db is None:
        if settings.db_url is not None:
            fail(
                "NEWSBOT_DB is a PostgreSQL URL: write a snapshot with "
                "`newsbot export --format sqlite FILE` and serve it with --db FILE"
            )
        db = settings.db_path
    if not db.is_file():
        fail(f"there is no conversation log at {db} (set NEWSBOT_DB, or give --db FILE)")
    _check_log(db)
    listener = _listen(host, port)

    import uvicorn

    from newsbot.dashboard_site import configure, guarded

    site = configure(db, settings.dashboard_user, settings.dashboard_password.get_secret_value())
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"newsbot dashboard on http://{shown}:{port}/ (user {settings.dashboard_user}), "
        f"serving {db} read-only; Ctrl-C stops it",
        err=True,
    )
    if host not in LOOPBACK:
        click.echo(
            "newsbot: warning: listening beyond this machine; put TLS in front "
            "(HTTP Basic sends the password as it is)",
            err=True,
        )
    # No access log: request lines would carry readers' questions (?question=…).
    config = uvicorn.Config(
        guarded(site.app()), log_level="warning", access_log=False, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[listener])


def _check_log(path: Path) -> None:
    """Exit with one line unless `path` is a newsbot log (or snapshot) at the current schema."""
    from bot.storage import DatabaseError, reader

    async def check() -> None:
        async with reader(path):
            pass

    try:
        asyncio.run(check())
    except DatabaseError as exc:
        fail(str(exc))


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or exit with one line (busy port, unknown host)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[
            0
        ]
    except (socket.gaierror, UnicodeError) as exc:
        fail(f"--host {host}: {exc}")
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        with contextlib.suppress(OSError):
            sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock
