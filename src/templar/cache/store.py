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

The directory it opens is found, created and marked by :mod:`templar.cache.directory`;
the ``Disk`` it opens it with is :mod:`templar.cache.disk`'s.
"""

from __future__ import annotations

import sqlite3
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diskcache
import orjson

from templar.cache.directory import claim, prepare_directory, remove_database
from templar.cache.disk import CorruptEntryError, JSONOnlyDisk
from templar.cache.keys import FORMAT_VERSION
from templar.errors import TemplarCacheWarning

_MAGIC = "templar-cache"


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
                problem = claim(self.directory)
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
        remove_database(self.directory)

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

    def keys(self, prefixes: tuple[str, ...]) -> list[str]:
        """Every key with one of ``prefixes`` (values are not read)."""
        if not self.directory.exists():
            return []
        with self._using() as cache:
            if cache is None:
                return []
            return [key for key in cache.iterkeys() if key.startswith(prefixes)]
        return []

    def items(self, prefixes: tuple[str, ...]) -> list[tuple[str, Any]]:
        """Every ``(key, value)`` whose key has one of ``prefixes``; values as stored."""
        if not self.directory.exists():
            return []
        with self._using() as cache:
            if cache is None:
                return []
            keys = [key for key in cache.iterkeys() if key.startswith(prefixes)]
            return [(key, cache.get(key, default=None, retry=True)) for key in keys]
        return []

    def delete(self, keys: Iterable[str], counted: tuple[str, ...]) -> int:
        """Delete ``keys`` in one transaction; returns how many of those that were
        there have a prefix of ``counted``."""
        with self._using() as cache:
            if cache is None:
                return 0
            with cache.transact(retry=True):
                return sum(bool(cache.delete(key)) and key.startswith(counted) for key in keys)
        return 0

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


def warn(message: str) -> None:
    """A :class:`~templar.errors.TemplarCacheWarning` (never fatal)."""
    warnings.warn(f"templar: {message}", TemplarCacheWarning, stacklevel=4)
