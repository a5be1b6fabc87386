"""Writing a file so that nothing is ever lost: atomic, locked and versioned.

Every write Templar makes to a user's file goes through :func:`update_file`:

* **atomic**: the new content goes to a temporary file in the same directory, is
  flushed and fsynced, and is renamed over the original (``os.replace``), and the
  directory is fsynced too. A reader, or a crash at any instant, sees the complete
  old file or the complete new one, never a mix. The original's permission bits and
  (where allowed) owner and group are kept; a symlink stays a symlink and its target
  is what changes.
* **locked**: one :class:`filelock.FileLock` per file serialises writers in every
  process, so two read-check-write cycles never interleave.
* **versioned**: a file's version is a hash of its bytes (:func:`file_version`). The
  writer says which version it read; if the file holds anything else once the lock
  is held, :class:`~templar.errors.ConcurrencyError` names the file and both versions
  and nothing is written.

Where the lock and temporary files go: users keep config directories in git and in
HostFactory's conf dir, so a write must leave nothing beside their files but the
files themselves. The locks and the temporary files live in one directory,
``.templar/`` (:data:`WORK_DIR`), in the directory of the file written, holding a
``.gitignore`` of ``*`` so git never shows it (as pytest's and ruff's caches do). It
is there, and not beside the cache in a per-user cache directory, because the lock
must be the one every writer sees: several hosts (or users) sharing a config
directory over NFS share its ``.templar/`` and so its locks, where per-host cache
directories would each have a lock of their own and serialise nothing. A read-only
config directory is never written (:meth:`~templar.storage.files.FileStorage.can_write`
says so first), so ``.templar/`` is made only where the write itself goes. The
temporary file is renamed from ``.templar/`` into place (the same file system, so
``os.replace`` stays atomic); one left by a writer killed mid-write is removed by the
next writer of that file, under its lock.

Names that come from users (template ids, provider instance names) and end up in
file names or inside files are checked by :func:`check_safe_name` before any file
is opened.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from templar.errors import ConcurrencyError, StorageError

#: How long a writer waits for another process's lock on the same file, in seconds.
LOCK_TIMEOUT_S = 30.0
#: The directory, inside the directory of the files written, of their locks and
#: temporary files (see the module docstring); git ignores it through its own
#: ``.gitignore``, and no layer file, config file or watch looks into it.
WORK_DIR = ".templar"
_WORK_DIR_GITIGNORE = b"# Templar's write locks and temporary files; nothing to keep.\n*\n"


def content_version(data: bytes) -> str:
    """The version of a file holding ``data``: the SHA-256 of its bytes, as
    :attr:`templar.storage.RawLayer.version` of a layer read from it."""
    return hashlib.sha256(data).hexdigest()


def file_version(path: Path) -> str | None:
    """The version of the file at ``path`` (see :func:`content_version`), ``None`` if absent."""
    try:
        return content_version(path.read_bytes())
    except FileNotFoundError:
        return None


def check_safe_name(name: str, what: str) -> None:
    """Refuse a name that could reach outside the config directory.

    A template id or provider instance name is joined to file names
    (``{instance}inst_templates.yaml``) or written into files; one holding a path
    separator, ``..``, an absolute path, a NUL or another control character, or
    nothing at all, is refused with a :class:`~templar.errors.StorageError` naming
    ``what`` it is. Callers check before opening any file.
    """
    problem = None
    if not isinstance(name, str) or name.strip() == "":
        problem = "is empty"
    elif "\0" in name:
        problem = "contains a NUL character"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains a control character"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif name in {".", ".."} or ".." in name.split("."):
        problem = "contains '..'"
    elif os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        problem = "is an absolute path"
    if problem:
        raise StorageError(
            f"refused {what} {name!r}: it {problem}, which could reach outside the config directory",
            field=what,
            value=repr(name),
        )


def check_inside(directory: Path, path: Path) -> None:
    """Refuse ``path`` unless it names an entry directly inside ``directory``."""
    if path.parent.resolve() != directory.resolve() or path.name in {"", ".", ".."}:
        raise StorageError(
            f"refused to write {path}: it is not a file in {directory}", file=str(path)
        )


def work_dir(directory: Path) -> Path:
    """``directory``'s :data:`WORK_DIR`, made (with its ``.gitignore``) if need be."""
    work = directory / WORK_DIR
    try:
        work.mkdir(exist_ok=True)
        fd = os.open(work / ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return work  # made before (by this or another writer)
    except OSError as e:
        raise StorageError(
            f"cannot write in {directory}: making {work} (for the write lock) failed: "
            f"{e.strerror or e}",
            file=str(work),
        ) from e
    with os.fdopen(fd, "wb") as f:
        f.write(_WORK_DIR_GITIGNORE)
    return work


def _lock_for(path: Path) -> contextlib.AbstractContextManager[object]:
    from filelock import FileLock

    lock = work_dir(path.parent) / f"{path.name}.lock"
    return FileLock(str(lock), timeout=LOCK_TIMEOUT_S)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the write lock of ``path`` (shared by every process) for the ``with`` block."""
    from filelock import Timeout

    lock = _lock_for(path)
    try:
        with lock:
            yield
    except Timeout as e:
        raise ConcurrencyError(
            f"{path}: another writer has held its lock for more than {LOCK_TIMEOUT_S:.0f} s",
            file=str(path),
        ) from e


def update_file(
    path: Path,
    expected_version: str | None,
    compute: Callable[[bytes | None], bytes | None],
) -> str | None:
    """Replace the content of ``path`` with ``compute(current content)``, atomically.

    Under the file's lock: checks that the file is still at ``expected_version``
    (``None``: it must not exist), else raises :class:`~templar.errors.ConcurrencyError`
    naming the file and both versions; calls ``compute`` with the current bytes
    (``None`` for a missing file); writes what it returns (``None`` deletes the file).
    Returns the new version. ``compute`` may raise to abandon the write untouched.
    """
    target = _write_target(path)
    with locked(target):
        _remove_leftovers(work_dir(target.parent), target.name)
        try:
            current: bytes | None = target.read_bytes()
        except FileNotFoundError:
            current = None
        found = None if current is None else content_version(current)
        if found != expected_version:
            raise ConcurrencyError(
                f"{path} changed since it was read (read version {expected_version or 'absent'}, "
                f"now {found or 'absent'}); read it again and retry",
                file=str(path),
                expected_version=expected_version,
                found_version=found,
            )
        new = compute(current)
        if new is None:
            if current is not None:
                target.unlink()
                _fsync_directory(target.parent)
            return None
        if new != current:
            write_atomically(target, new)
        return content_version(new)


def _write_target(path: Path) -> Path:
    """The file to replace: a symlink's target, so that the link itself stays."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary file renamed over it.

    Keeps the permission bits, owner and group of an existing file; a new file gets
    the mode the umask gives. Cleans up its temporary file if anything fails.
    """
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    # In the work directory: nothing beside the user's files, and no watch sees it.
    fd, tmp_name = tempfile.mkstemp(
        dir=work_dir(path.parent), prefix=f"{path.name}.", suffix=".tmp"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if old is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
                with contextlib.suppress(PermissionError):
                    os.fchown(f.fileno(), old.st_uid, old.st_gid)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def _remove_leftovers(work: Path, name: str) -> None:
    """Remove the temporary files of ``name`` that a writer killed mid-write left.
    Called under ``name``'s lock, so no live writer's temporary file is among them."""
    for leftover in work.glob(f"{glob.escape(name)}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable: fsync the directory that holds it (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
