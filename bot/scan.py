"""The articles folder as a scan sees it: which files are articles, and their stat fields.

One `stat` per file, no reads: what decides whether a file must be read again
(bot/collection/manifest.py) and what `load_collection` reads (bot/articles.py).
"""

from __future__ import annotations

import logging
import operator
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
# Files that sit beside articles but are not articles (a corpus's own README, licence...).
NOT_ARTICLES = frozenset({"readme", "license", "licence", "source", "changelog", "contributing"})


class FileInfo(NamedTuple):
    """An article file as the folder scan saw it (what decides whether to read it again).
    A named tuple: a scan makes one per file, and a tuple is the cheapest to make."""

    rel: str  # path under the articles folder, with "/"
    path: str
    size: int
    mtime_ns: int
    inode: int
    mtime: float  # os.stat's st_mtime, as Article.modified keeps it


def scan_folder(folder: Path) -> list[FileInfo]:
    """Every article file under `folder`, in path order (each folder's entries by name, as
    sorting the paths would), with the stat fields that tell whether it changed.

    Hidden files and folders, README/LICENSE-like files and symbolic links that lead outside
    the folder are left out; links to folders are not followed.
    """
    found = scan_columns(folder)
    paths = [os.path.join(folder, rel) for rel in found.rels]
    return [FileInfo(*fields) for fields in zip(found.rels, paths, *found.fields(), strict=True)]


@dataclass(slots=True)
class ScanColumns:
    """A folder scan as columns (one list per field: no object per file)."""

    rels: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    mtimes_ns: list[int] = field(default_factory=list)
    inodes: list[int] = field(default_factory=list)
    mtimes: list[float] = field(default_factory=list)

    def fields(self) -> tuple[list[int], list[int], list[int], list[float]]:
        return self.sizes, self.mtimes_ns, self.inodes, self.mtimes


def scan_columns(folder: Path) -> ScanColumns:
    """`scan_folder` as columns (the cheaper form for 100,000s of files)."""
    found = ScanColumns()
    _scan(str(folder), "", os.path.realpath(folder), found)
    return found


def _scan(directory: str, prefix: str, root: str, found: ScanColumns) -> None:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=_NAME)
    except PermissionError:
        # Said every scan: its articles are missing from the answers until it is readable.
        log.warning("Skipping the folder %s: permission denied", prefix or directory)
        return
    except (FileNotFoundError, NotADirectoryError):  # gone since the listing
        return
    stems: dict[str, str] = {}  # an article's id is its path without the suffix: one file each
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                _scan(entry.path, f"{prefix}{name}/", root, found)
                continue
            dot = name.rfind(".")  # as Path.suffix / Path.stem (a leading dot is hidden)
            if name[dot:].lower() not in ARTICLE_SUFFIXES or name[:dot].lower() in NOT_ARTICLES:
                continue
            if (first := stems.setdefault(name[:dot], name)) != name:
                log.warning("Skipping %s%s: %s has the same name", prefix, name, first)
                continue
            if entry.is_symlink() and not _inside(entry.path, root):
                log.warning("Skipping %s: symbolic link outside the articles folder", name)
                continue
            info = entry.stat()
        except OSError:  # gone since the listing
            continue
        if stat.S_ISREG(info.st_mode):
            found.rels.append(prefix + name)
            found.sizes.append(info.st_size)
            found.mtimes_ns.append(info.st_mtime_ns)
            found.inodes.append(info.st_ino)
            found.mtimes.append(info.st_mtime)


_NAME = operator.attrgetter("name")


def stat_article(folder: Path, rel: str) -> FileInfo | None:
    """One file as `scan_folder` would list it (None: it would not), without listing the
    folder: for the files a folder watch reports."""
    parts = rel.split("/")
    name = parts[-1]
    dot = name.rfind(".")
    if any(not p or p[0] == "." for p in parts) or name[dot:].lower() not in ARTICLE_SUFFIXES:
        return None
    if name[:dot].lower() in NOT_ARTICLES:
        return None
    path = os.path.join(folder, *parts)
    if _named_before(path, name[:dot], name):
        return None
    try:
        # The scan follows no link to a folder, and no link to a file outside the folder.
        if any(os.path.islink(os.path.join(folder, *parts[:n])) for n in range(1, len(parts))):
            return None
        if os.path.islink(path) and not _inside(path, os.path.realpath(folder)):
            return None
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return FileInfo(rel, path, *_fields(info))


def _named_before(path: str, stem: str, name: str) -> bool:
    """Whether an article file with the same stem and another suffix sorts before `name` in
    its folder: the scan serves that one (they would share an id)."""
    directory = os.path.dirname(path)
    for suffix in ARTICLE_SUFFIXES:
        for other in {stem + suffix, stem + suffix.upper()}:
            if other < name and os.path.isfile(os.path.join(directory, other)):
                return True
    return False


def _fields(info: os.stat_result) -> tuple[int, int, int, float]:
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_mtime


def _inside(path: str, root: str) -> bool:
    target = os.path.realpath(path)
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)
