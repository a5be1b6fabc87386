"""The cache store: one ``diskcache`` directory, bytes in and bytes out.

Values are bytes that Templar writes itself, sealed in an envelope: a one-line JSON
header (format, kind, key, time, length, CRC-32) and the payload. Nothing is ever
pickled, and :class:`JSONOnlyDisk` refuses to unpickle a value or key that someone
else put there: a cache directory another user can write must not become code
execution. An entry whose header, length or checksum is wrong is dropped with a
:class:`~templar.errors.TemplarCacheWarning`; so is one whose payload the caller
could not decode (:meth:`CacheStore.drop`).

Every method is safe to call when the cache is broken: problems become a warning, a
miss, and no crash.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import diskcache
import orjson

from templar.cache.keys import FORMAT_VERSION
from templar.errors import TemplarCacheWarning

if TYPE_CHECKING:
    from templar.settings import CacheSettings

CACHE_DIR_ENV = "TEMPLAR_CACHE_DIR"
_MAGIC = "templar-cache"
#: The subdirectory of a ``cache.dir`` named in ``templar.yaml`` that Templar uses.
OWN_SUBDIRECTORY = "templar-cache"
#: The file that marks a directory's ``cache.db`` as Templar's: without it, a
#: ``cache.db`` is another program's, and is neither opened nor removed.
MARKER = ".templar-cache"
_MARKER_TEXT = b"templar-cache: this directory's cache.db and value files are Templar's\n"
_DATABASE_FILES = ("cache.db", "cache.db-wal", "cache.db-shm")
#: How diskcache names the files of large values (``Disk.filename``): two levels of
#: two hex digits, then 28 hex digits. Any other name in a row was not written here.
_VALUE_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
#: A value file larger than this is not read (Templar's entries are far smaller).
MAX_VALUE_BYTES = 1 << 30


class CorruptEntryError(Exception):
    """An entry that is not what Templar wrote under its key. Raised inside
    :mod:`templar.cache` only; the entry is dropped with a warning."""


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


class JSONOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """A :class:`diskcache.Disk` that stores bytes, text and numbers, and never unpickles.

    diskcache pickles any other value and unpickles whatever a row says is pickled;
    both are refused here, so a tampered database can at worst be a corrupt entry.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        """Store a key: strings only."""
        if type(key) is not str:
            raise TypeError(f"cache keys are strings, not {type(key).__name__}")
        return super().put(key)  # type: ignore[no-any-return]

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> Any:
        """Store a value: bytes and numbers only."""
        if read or type(value) not in (bytes, int, float):
            raise TypeError(f"cache values are bytes or numbers, not {type(value).__name__}")
        return super().store(value, read, key=key)

    def get(self, key: Any, raw: bool) -> Any:
        """Read a key back; a pickled one is never unpickled: it comes back as a
        :class:`ForeignKey` (iterating shows it, a lookup never matches it)."""
        if not raw:
            return ForeignKey()
        return super().get(key, raw)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        """Read a value back. A pickled one is corrupt; so is one whose row names a
        file Templar cannot have written (an absolute path, ``..``, a FIFO, a device,
        a symbolic link): only a regular file under this directory is ever opened, and
        never one that would block or read without bound."""
        if mode == diskcache.core.MODE_PICKLE:
            raise CorruptEntryError("a pickled value")
        if mode == diskcache.core.MODE_RAW:
            return super().fetch(mode, filename, value, read)
        if read or mode not in (diskcache.core.MODE_BINARY, diskcache.core.MODE_TEXT):
            raise CorruptEntryError(f"a value of mode {mode!r}")
        data = self._read_value_file(filename)
        if mode == diskcache.core.MODE_BINARY:
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptEntryError("a text value that is not UTF-8") from e

    def _value_directory(self, filename: str) -> tuple[int, str]:
        """An open descriptor of the directory holding value file ``filename``, and
        its last name: each level opened without following a symbolic link."""
        *levels, name = filename.split("/")
        fd = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for level in levels:
                below = os.open(level, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = below
        except BaseException:
            os.close(fd)
            raise
        return fd, name

    def _read_value_file(self, filename: str | None) -> bytes:
        if not isinstance(filename, str) or not _VALUE_FILE.fullmatch(filename):
            raise CorruptEntryError(f"a value file outside the cache ({str(filename)[:80]!r})")
        try:
            directory, name = self._value_directory(filename)
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
            finally:
                os.close(directory)
        except FileNotFoundError:
            raise  # diskcache: a value removed meanwhile is a miss
        except OSError as e:
            raise CorruptEntryError(f"an unreadable value file ({e.strerror or e})") from e
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise CorruptEntryError("a value file that is not a regular file")
            if info.st_size > MAX_VALUE_BYTES:
                raise CorruptEntryError(f"a value file of {info.st_size:,} bytes")
            with os.fdopen(fd, "rb", closefd=False) as f:
                return f.read(MAX_VALUE_BYTES + 1)
        finally:
            os.close(fd)

    def remove(self, file_path: Any) -> None:
        """Remove a value file: only a regular file named as Templar names them, under
        this directory (a tampered row cannot delete anything else), and then its two
        levels of directories if they are empty (never further up)."""
        if not isinstance(file_path, str) or not _VALUE_FILE.fullmatch(file_path):
            return
        with suppress(OSError):
            first, second, _ = file_path.split("/")
            directory, name = self._value_directory(file_path)
            try:
                if stat.S_ISREG(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode):
                    os.unlink(name, dir_fd=directory)
            finally:
                os.close(directory)
            top, _ = self._value_directory(f"{first}/x")
            try:
                os.rmdir(second, dir_fd=top)
            finally:
                os.close(top)
            base = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.rmdir(first, dir_fd=base)
            finally:
                os.close(base)


class ForeignKey:
    """A key someone else stored pickled in the cache: never unpickled, dropped."""

    def __repr__(self) -> str:
        return "<a pickled key>"


def seal(kind: str, key: str, payload: bytes, cached_at: float) -> bytes:
    """``payload`` in Templar's envelope (see the module docstring)."""
    header = {
        "magic": _MAGIC,
        "format": FORMAT_VERSION,
        "kind": kind,
        "key": key,
        "cached_at": cached_at,
        "length": len(payload),
        "crc32": zlib.crc32(payload),
    }
    return orjson.dumps(header) + b"\n" + payload


def unseal(blob: Any, kind: str, key: str) -> tuple[float, memoryview]:
    """The time written and the payload of a sealed entry; :class:`CorruptEntryError`
    for anything Templar did not write under ``key`` as ``kind``."""
    if type(blob) is not bytes:
        raise CorruptEntryError(f"a {type(blob).__name__} value, not Templar's bytes")
    end = blob.find(b"\n", 0, 1024)
    if end < 0:
        raise CorruptEntryError("no header")
    try:
        header = orjson.loads(blob[:end])
    except orjson.JSONDecodeError as e:
        raise CorruptEntryError("an unreadable header") from e
    if not isinstance(header, dict) or header.get("magic") != _MAGIC:
        raise CorruptEntryError("not written by Templar")
    if header.get("format") != FORMAT_VERSION or header.get("kind") != kind:
        raise CorruptEntryError(f"format {header.get('format')!r} {header.get('kind')!r}")
    if header.get("key") != key:
        raise CorruptEntryError("written under another key")
    payload = memoryview(blob)[end + 1 :]
    if header.get("length") != len(payload):
        raise CorruptEntryError(f"truncated: {len(payload)} of {header.get('length')} bytes")
    if header.get("crc32") != zlib.crc32(payload):
        raise CorruptEntryError("checksum mismatch")
    cached_at = header.get("cached_at")
    if not isinstance(cached_at, (int, float)):
        raise CorruptEntryError("no time")
    return float(cached_at), payload


class CacheStore:
    """One cache directory (several engines and processes may share it).

    Sealed entries go in with :meth:`write` and come out with :meth:`read`; small
    counters and plain values with :meth:`increment`, :meth:`read_plain`.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: diskcache.Cache | None = None
        self._broken = False

    def __repr__(self) -> str:
        return f"CacheStore({str(self.directory)!r})"

    # -- opening --------------------------------------------------------------------

    def _open(self) -> diskcache.Cache | None:
        if self._cache is not None or self._broken:
            return self._cache
        try:
            problem = prepare_directory(self.directory)
        except OSError as e:
            problem = f"cannot be created ({e.strerror or e})"
        if problem is None:
            try:
                problem = self._claim()
            except OSError as e:
                problem = f"cannot be marked as Templar's ({e.strerror or e})"
        if problem:
            self._give_up(f"cache directory {self.directory} {problem}; not using it")
            return None
        for attempt in (1, 2):
            try:
                # No fsync: the cache is disposable. WAL keeps it whole across a crash of
                # the process; after a power loss a damaged database is recreated.
                # Values live in files and the index is small: no memory map and no
                # auto-vacuum, which cost more on every open than they ever save.
                self._cache = diskcache.Cache(
                    str(self.directory),
                    disk=JSONOnlyDisk,
                    sqlite_synchronous=0,
                    sqlite_mmap_size=0,
                    sqlite_auto_vacuum=0,
                )
                return self._cache
            except sqlite3.OperationalError as e:  # permissions, disk full: not corrupt
                self._give_up(f"cache database in {self.directory} cannot be opened ({e})")
                return None
            except sqlite3.DatabaseError as e:  # "file is not a database"
                if attempt == 2:
                    self._give_up(f"cache database in {self.directory} cannot be opened ({e})")
                    return None
                warn(f"cache database in {self.directory} is corrupt ({e}); recreated")
                self._remove_database()
            except (OSError, diskcache.Timeout) as e:
                self._give_up(f"cache in {self.directory} cannot be opened ({e})")
                return None
        return None  # pragma: no cover - the loop always returns

    def _claim(self) -> str | None:
        """Make sure the ``cache.db`` here is Templar's: marked, or about to be created
        (then marked first), or an unmarked one that only ever held Templar's entries
        (an older Templar's; then marked). Anything else is another program's file,
        which Templar must neither alter nor replace: say so, and touch nothing."""
        marker = self.directory / MARKER
        if _is_marker(marker):
            return None
        database = self.directory / "cache.db"
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

    def _give_up(self, message: str) -> None:
        self._broken = True
        self._cache = None
        warn(f"{message}; going on without the cache")

    @contextmanager
    def _using(self) -> Iterator[diskcache.Cache | None]:
        """The open cache, or ``None``; any failure of the cache itself disables it."""
        cache = self._open()
        try:
            yield cache
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError):  # locked, disk full, ...
                self._give_up(f"cache in {self.directory} failed ({e})")
                return
            if cache is not None:
                cache.close()
            self._give_up(f"cache database in {self.directory} is corrupt ({e}); removed")
            self._remove_database()
        except (sqlite3.Error, OSError, diskcache.Timeout) as e:
            self._give_up(f"cache in {self.directory} failed ({type(e).__name__}: {e})")

    def _remove_database(self) -> None:
        if not _is_marker(self.directory / MARKER):
            return  # not known to be Templar's: never removed
        for name in _DATABASE_FILES:
            (self.directory / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Close this thread's database connection (reopened on the next use)."""
        if self._cache is not None:
            self._cache.close()

    # -- entries --------------------------------------------------------------------

    def read(self, key: str, kind: str) -> tuple[float, memoryview] | None:
        """The time written and the payload of the sealed entry ``key``, or ``None`` on
        a miss (a corrupt entry is dropped, with a warning, and is a miss)."""
        with self._using() as cache:
            if cache is None:
                return None
            try:
                blob = cache.get(key, default=None, retry=True)
                if blob is None:
                    return None
                return unseal(blob, kind, key)
            except CorruptEntryError as e:
                self._drop(cache, key, e)
                return None
        return None

    def write(
        self,
        key: str,
        kind: str,
        payload: bytes,
        cached_at: float,
        expire: float,
        *,
        plain: Sequence[tuple[str, bytes | int, float]] = (),
    ) -> bool:
        """Seal and write ``payload`` under ``key`` for ``expire`` seconds, with the
        ``(key, value, expire)`` entries of ``plain`` in the same transaction."""
        with self._using() as cache:
            if cache is None:
                return False
            with cache.transact(retry=True):
                cache.set(key, seal(kind, key, payload, cached_at), expire)
                for plain_key, value, plain_expire in plain:
                    cache.set(plain_key, value, plain_expire)
            return True
        return False

    def drop(self, key: str, why: CorruptEntryError) -> None:
        """Delete an entry whose payload could not be decoded, with a warning."""
        with self._using() as cache:
            if cache is not None:
                self._drop(cache, key, why)

    def _drop(self, cache: diskcache.Cache, key: str, why: CorruptEntryError) -> None:
        cache.delete(key, retry=True)
        warn(
            f"cache entry {key[:18]}... in {self.directory} was corrupt ({why}); "
            "dropped, loading from the files"
        )

    def read_plain(self, key: str) -> Any:
        """A plain value (bytes or a number), or ``None``."""
        with self._using() as cache:
            if cache is None:
                return None
            return cache.get(key, default=None, retry=True)
        return None

    def increment(self, *keys: str) -> int | None:
        """Add one to each counter, in one transaction; the last one's new value. A
        counter that is not an integer (a tampered row) is dropped with a warning and
        counts from zero again."""
        with self._using() as cache:
            if cache is None:
                return None
            value = None
            for attempt in (1, 2):
                try:
                    with cache.transact(retry=True):
                        for key in keys:
                            value = cache.incr(key)
                    break
                except (TypeError, CorruptEntryError) as e:
                    if attempt == 2:
                        raise
                    for key in keys:
                        if not isinstance(cache.get(key, default=0, retry=True), int):
                            self._drop(cache, key, CorruptEntryError(f"a counter that is {e}"))
            return int(value) if isinstance(value, int) else None
        return None

    def read_counter(self, key: str) -> int:
        """A counter's value; one that is not an integer is dropped with a warning."""
        with self._using() as cache:
            if cache is None:
                return 0
            try:
                value = cache.get(key, default=0, retry=True)
            except CorruptEntryError as e:
                value = e
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self._drop(cache, key, CorruptEntryError(f"a counter that is {type(value).__name__}"))
        return 0

    def _drop_foreign_rows(self, cache: diskcache.Cache) -> None:
        """Delete the rows no Templar wrote and no lookup can reach (a pickled key or
        value), with a warning: iterating over them must not break ``cache info``."""
        rows = cache._sql(
            "SELECT rowid, filename FROM Cache WHERE raw = 0 OR mode = ?",
            (diskcache.core.MODE_PICKLE,),
        ).fetchall()
        if not rows:
            return
        with cache.transact(retry=True):
            for rowid, _ in rows:
                cache._sql("DELETE FROM Cache WHERE rowid = ?", (rowid,))
        for _, filename in rows:
            cache._disk.remove(filename)
        warn(
            f"{len(rows)} cache entr{'y' if len(rows) == 1 else 'ies'} in {self.directory} "
            "stored pickled (not by Templar); dropped"
        )

    # -- the whole directory --------------------------------------------------------

    def count(self, prefixes: Iterable[str]) -> tuple[dict[str, int], int] | None:
        """Entries by key prefix and the volume in bytes, after expiring what is old;
        ``None`` when the directory is not there or not usable."""
        if not self.directory.exists():
            return None
        with self._using() as cache:
            if cache is None:
                return None
            self._drop_foreign_rows(cache)
            cache.expire(retry=True)
            counts = dict.fromkeys(prefixes, 0)
            for key in cache.iterkeys():
                for prefix in counts:
                    if isinstance(key, str) and key.startswith(prefix):
                        counts[prefix] += 1
            return counts, int(cache.volume())
        return None

    def clear(self, counted: tuple[str, ...]) -> int:
        """Remove everything; returns how many entries had a prefix of ``counted``."""
        if not self.directory.exists():
            return 0
        with self._using() as cache:
            if cache is None:
                return 0
            self._drop_foreign_rows(cache)
            count = sum(1 for k in cache.iterkeys() if isinstance(k, str) and k.startswith(counted))
            cache.clear(retry=True)
            return count
        return 0


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


def _is_marker(path: Path) -> bool:
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
_TEMPLAR_KEYS = ("state:", "layer:", "meta:", "hits:", "files:", "last:", "stats:")


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


def warn(message: str) -> None:
    """A :class:`~templar.errors.TemplarCacheWarning` (never fatal)."""
    warnings.warn(f"templar: {message}", TemplarCacheWarning, stacklevel=4)
