"""The index cache's folder as its own: tagged (CACHEDIR.TAG), locked across processes, and
cleaned of nothing but the names the cache writes. A folder holding anything else, or
tagged by another tool, is refused before anything in it is touched."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The Cache Directory Tagging convention (https://bford.info/cachedir/): backup tools skip
# the folder, and its newsbot line tells that the folder is this cache's own.
MARKER = "CACHEDIR.TAG"


MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# The newsbot index cache (NEWSBOT_CACHE_DIR): newsbot removes only what it wrote here.\n"
)


OWN_TAG_LINE = "# The newsbot index cache"  # in every tag newsbot writes, whatever after it


# Every name the cache writes in its folder (the temporary ones carry the writer's pid).
_OWN = re.compile(
    r"(current|lock|CACHEDIR\.TAG|(state|seg|vec)-[0-9a-f]{16})"
    r"|\.(current|CACHEDIR\.TAG|(state|seg)-[0-9a-f]{16})\.\d+\.tmp"
)
# The semantic stage's vectors (bot/semantic/vectors.py), one file per model: kept across
# states, never collected with them.
_KEPT = re.compile(r"vec-[0-9a-f]{16}")


class CacheFolderError(Exception):
    """NEWSBOT_CACHE_DIR names a folder that is not the cache's to clean up; nothing in it
    was touched."""


def collect(cache_dir: Path, keep: set[str]) -> None:
    """Remove states, segments and leftovers no longer used (temporary folders of live
    processes stay: they may be writing them)."""
    used = {"current", "lock", MARKER, *keep}
    for entry in cache_dir.iterdir():
        if entry.name in used or _KEPT.fullmatch(entry.name):
            continue
        if not _OWN.fullmatch(entry.name):  # not ours: left alone
            continue
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            pid = entry.name.rsplit(".", 2)[-2]
            if not pid.isdigit() or _alive(int(pid)):
                continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def locked(cache_dir: Path) -> Iterator[None]:
    """Hold the cache's lock: one writer at a time, across processes and threads."""
    claim(cache_dir)
    with open(cache_dir / "lock", "a") as handle:
        os.chmod(handle.fileno(), 0o600)
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def claim(cache_dir: Path) -> None:
    """Make sure `cache_dir` is the cache's own: tagged by it, or new, or holding nothing
    but names the cache writes (a cache from before the tag), then tagged now. Any other
    folder (one tagged by another tool too) raises CacheFolderError, before anything in it
    is touched."""
    try:
        tag: str | None = (cache_dir / MARKER).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        tag = ""  # no tag (yet)
    except (OSError, UnicodeDecodeError):
        tag = None  # a tag newsbot did not write
    if tag == MARKER_TEXT:
        return
    if tag is None or (tag and OWN_TAG_LINE not in tag):  # another tool's cache
        raise CacheFolderError(
            f"NEWSBOT_CACHE_DIR {cache_dir} is tagged as the cache of another tool "
            f"(its {MARKER} is not newsbot's): point it at a new or empty folder"
        )
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    foreign = sorted(e.name for e in cache_dir.iterdir() if not _OWN.fullmatch(e.name))
    if foreign:
        shown = ", ".join(repr(name) for name in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise CacheFolderError(
            f"NEWSBOT_CACHE_DIR {cache_dir} holds files that are not the index cache's "
            f"({shown}{more}): point it at a new or empty folder"
        )
    temporary = cache_dir / f".{MARKER}.{os.getpid()}.tmp"
    temporary.write_text(MARKER_TEXT, encoding="utf-8")
    temporary.chmod(0o600)
    os.replace(temporary, cache_dir / MARKER)
