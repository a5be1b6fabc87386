"""The diskcache ``Disk`` Templar opens its cache with: bytes, text and numbers only,
never unpickled, and value files read or removed only where Templar writes them."""

from __future__ import annotations

import os
import re
import stat
from contextlib import suppress
from typing import Any

import diskcache

#: How diskcache names the files of large values (``Disk.filename``): two levels of
#: two hex digits, then 28 hex digits. Any other name in a row was not written here.
_VALUE_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
#: A value file larger than this is not read (Templar's entries are far smaller).
MAX_VALUE_BYTES = 1 << 30


class CorruptEntryError(Exception):
    """An entry that is not what Templar wrote under its key. Raised inside
    :mod:`templar.cache` only; the entry is dropped with a warning."""


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
