"""Where the cache lives and whether Templar may use it: the directory resolved from the
environment or the config, created private, checked, and marked as Templar's."""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from templar.settings import CacheSettings

CACHE_DIR_ENV = "TEMPLAR_CACHE_DIR"
#: The subdirectory of a ``cache.dir`` named in ``templar.yaml`` that Templar uses.
OWN_SUBDIRECTORY = "templar-cache"
#: The file that marks a directory's ``cache.db`` as Templar's: without it, a
#: ``cache.db`` is another program's, and is neither opened nor removed.
MARKER = ".templar-cache"
_MARKER_TEXT = b"templar-cache: this directory's cache.db and value files are Templar's\n"
_DATABASE_FILES = ("cache.db", "cache.db-wal", "cache.db-shm")


def resolve_cache_dir(settings: CacheSettings, config_dir: Path) -> Path:
    """``$TEMPLAR_CACHE_DIR``, else ``cache.dir`` (relative to the config directory),
    else the user cache directory of the platform."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser().absolute()
    if settings.dir is not None:
        # A directory named by a config file may be anyone's (``~``): Templar keeps its
        # cache in a subdirectory of it that it owns and marks, and touches nothing else.
        path = settings.dir.expanduser()
        return (path if path.is_absolute() else config_dir / path) / OWN_SUBDIRECTORY
    import platformdirs

    return Path(platformdirs.user_cache_dir("templar", appauthor=False))


def prepare_directory(path: Path) -> str | None:
    """Create ``path`` private (0700) if it does not exist; say why an existing one is
    unsafe (another user's, or writable by others), or ``None`` when it is fine."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # another process just made it, the same way
        else:
            os.chmod(path, 0o700)  # the umask only removes bits; make it exact
    try:
        st = path.stat()
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return "belongs to another user"
    if st.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def claim(directory: Path) -> str | None:
    """Make sure the ``cache.db`` here is Templar's: marked, or about to be created
    (then marked first), or an unmarked one that only ever held Templar's entries
    (an older Templar's; then marked). Anything else is another program's file,
    which Templar must neither alter nor replace: say so, and touch nothing."""
    marker = directory / MARKER
    if is_marker(marker):
        return None
    database = directory / "cache.db"
    if os.path.lexists(database) and not _only_templar_entries(database):
        return (
            f"holds a cache.db that Templar did not create (no {MARKER} marker); "
            "it is left alone: point the cache elsewhere or remove that file"
        )
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, _MARKER_TEXT)
    finally:
        os.close(fd)
    return None


def remove_database(directory: Path) -> None:
    """Remove the ``cache.db`` files in ``directory``, only if it is marked as Templar's."""
    if not is_marker(directory / MARKER):
        return  # not known to be Templar's: never removed
    for name in _DATABASE_FILES:
        (directory / name).unlink(missing_ok=True)


def is_marker(path: Path) -> bool:
    """Whether ``path`` is Templar's marker file (a regular file, not a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, 64).startswith(b"templar-cache")
    finally:
        os.close(fd)


#: The key prefixes Templar writes (an unmarked database holding only these is Templar's).
_TEMPLAR_KEYS = ("state:", "layer:", "meta:", "hits:", "files:", "last:", "stats:", "answer:")


def _only_templar_entries(database: Path) -> bool:
    """Whether an unmarked ``cache.db`` is an older Templar's: a diskcache database
    whose every key is one Templar writes. Read only, never written."""
    if not stat.S_ISREG(os.lstat(database).st_mode):
        return False
    uri = database.absolute().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "Cache" not in tables or not tables <= {"Cache", "Settings"}:
                return False
            return all(
                isinstance(key, str) and key.startswith(_TEMPLAR_KEYS)
                for (key,) in connection.execute("SELECT key FROM Cache")
            )
    except sqlite3.Error:
        return False
