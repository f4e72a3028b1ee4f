"""Throwaway real servers from Debian's packages for the tests: PostgreSQL and nginx.

PostgreSQL refuses to run as root (the tests and CI run as root), so the server runs as the
`postgres` user (or whoever runs the tests, when that is not root), in a temporary folder,
on a free port of 127.0.0.1. When a server's package is missing and we are root, it is
installed (`tests/install-servers.sh`); where that is impossible the tests that need it skip
with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "tests" / "install-servers.sh"
PASSWORD = "pg-secret-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=os.path.getmtime)
    return Path(found[-1]).parent if found else None


def ensure_installed(what: str) -> str | None:
    """None when `what` ("postgresql" or "nginx") can be used, else why not."""
    present = _postgres_bin() is not None if what == "postgresql" else shutil.which("nginx")
    if present:
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{what} is not installed (apt-get install {what}, or run the tests as root)"
    result = subprocess.run(["bash", str(INSTALL), what], capture_output=True, text=True)
    present = _postgres_bin() is not None if what == "postgresql" else shutil.which("nginx")
    if result.returncode != 0 or not present:
        return f"could not install {what}: {(result.stderr or result.stdout)[-300:]}"
    return None


@dataclass
class Postgres:
    """One PostgreSQL server in a temporary folder; `database()` makes a fresh database."""

    fsync: bool = False
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newsbot-pg-")))
    _count: int = 0

    def _as_owner(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a server command as the unprivileged owner of the data folder."""
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, capture_output=True, text=True, check=True)

    def start(self) -> None:
        binaries = _postgres_bin()
        assert binaries is not None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        password = self.folder / "pw"
        password.write_text(PASSWORD)
        if os.geteuid() == 0:
            os.chown(password, owner.pw_uid, owner.pw_gid)
        data = self.folder / "data"
        self._as_owner(
            str(binaries / "initdb"),
            *("-D", str(data), "-U", "newsbot", "-A", "scram-sha-256", "--no-sync"),
            *(f"--pwfile={password}", "-E", "UTF8", "--locale=C"),
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=200 "
            "-c shared_buffers=64MB"
        )
        self.binaries = binaries
        self.options = options
        self.resume()

    def halt(self) -> None:
        """An outage: the server stops (its connections drop), its data stays for `resume`."""
        data = str(self.folder / "data")
        self._as_owner(str(self.binaries / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server (again) on the same port and data."""
        data, log = str(self.folder / "data"), str(self.folder / "log")
        self._as_owner(
            str(self.binaries / "pg_ctl"),
            *("-D", data, "-o", self.options, "-l", log, "-w", "start"),
        )

    def pid(self) -> int:
        """The postmaster's process id."""
        return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://newsbot:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """The URL of a new, empty database on this server."""
        self._count += 1
        name = f"test_{os.getpid()}_{self._count}"
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        subprocess.run(
            [
                "psql",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "newsbot",
                "postgres",
                "-c",
                f"CREATE DATABASE {name}",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        return self.url(name)

    def stop(self) -> None:
        try:
            data = str(self.folder / "data")
            self._as_owner(str(self.binaries / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        except (subprocess.CalledProcessError, AttributeError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Nginx:
    """nginx as the load balancer in front of several webhook instances."""

    upstreams: list[int]
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newsbot-nginx-")))

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;" for p in self.upstreams
        )
        return NGINX_CONF.format(
            folder=self.folder, port=self.port, servers=servers, user="root"
        ).replace("user root;", "" if os.geteuid() != 0 else "user root;")

    def start(self) -> None:
        (self.folder / "nginx.conf").write_text(self.config())
        subprocess.run(
            ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def pid(self) -> int:
        """The master process's id."""
        return int((self.folder / "nginx.pid").read_text().split()[0])

    def stop(self) -> None:
        """Stop nginx and wait (5 s at most) until its master process is gone."""
        try:
            master = self.pid()
        except (OSError, ValueError, IndexError):
            master = None
        subprocess.run(
            ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-s", "stop"],
            capture_output=True,
        )
        deadline = time.monotonic() + 5
        while master is not None and _running(master) and time.monotonic() < deadline:
            time.sleep(0.02)
        shutil.rmtree(self.folder, ignore_errors=True)


# The README's deploy section shows the same upstream and proxy settings.
NGINX_CONF = """
user root;
worker_processes 1;
daemon on;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream newsbot {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://newsbot;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
