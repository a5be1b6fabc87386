"""Whole answers of read-only commands: the bytes a command printed, and when they hold.

``templates list`` (and ``show``, ``validate``) run as a new process on every poll of
HostFactory's ``getAvailableTemplates``. Even from a cached load, that process imports
pydantic, the engine and the plugins and renders every template again. An **answer**
entry keeps what the command printed (stdout and stderr as bytes, in the order they
were written) and its exit status, so that the next identical command replays them
before importing any of that (:mod:`templar.cli.answers` decides what is identical).

An answer holds while every input it was made from is as it was: each file and
directory is kept with its ``stat`` signature (``st_mtime_ns``, ``st_size``,
``st_ino``, ``st_ctime_ns``), or as absent. A changed signature means a miss, and the
command runs the normal way. A file changed within :data:`CLOCK_GRANULARITY_NS` of
the command's start could change again without its signature changing (the "racy
git" case): an answer with such an input is not stored at all.

Answers live in the cache directory of the loads they were made from, expire with
the same TTL, and are counted and cleared with them (``templates cache info|clear``).
Their keys start with the config directory's own prefix (:func:`owner_prefix`), so
that clearing one config directory finds them without reading them. The entry is
sealed and checksummed like every other (:mod:`templar.cache.store`), never pickled.

This module imports neither pydantic nor the engine: it runs on the hit path.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from templar.cache.disk import CorruptEntryError
from templar.cache.keys import FORMAT_VERSION
from templar.cache.store import CacheStore

#: the key prefix of answers
ANSWER = "answer:"
#: A file whose ``st_ctime_ns`` is this close to (or after) the start of the command
#: may have changed in the same clock tick as the ``stat`` taken of it: two seconds
#: covers the coarsest file systems in use (FAT's two-second times, SMB and NFS
#: servers' whole seconds); Linux's own timestamps tick every few milliseconds. The
#: change time is the one compared because no program can set it back (``touch -d``
#: and ``os.utime`` set the modification time, and the change time to now).
CLOCK_GRANULARITY_NS = 2_000_000_000
#: What ``templar.settings`` calls the engine config files (kept equal by a test: that
#: module imports pydantic).
SETTINGS_FILE_NAMES = ("templar.yaml", "templar.yml", "templar.json")
#: The subdirectory of a ``cache.dir`` Templar uses (``templar.cache.directory``).
_OWN_SUBDIRECTORY = "templar-cache"

#: ``(st_mtime_ns, st_size, st_ino, st_ctime_ns)``, or ``None`` for a path that is not there
Signature = tuple[int, int, int, int] | None


@dataclass(frozen=True)
class Answer:
    """What one command printed: ``(fd, bytes)`` chunks in the order written, and how
    it exited."""

    chunks: tuple[tuple[int, bytes], ...]
    exit_code: int


@dataclass(frozen=True)
class CacheLocation:
    """Where the cache of a config directory is and how long its entries last, as the
    engine would resolve them (``$TEMPLAR_CACHE_DIR``, ``cache.dir``, the default)."""

    directory: Path
    ttl_seconds: float


def signature(path: str) -> Signature:
    """The ``stat`` signature of ``path`` (followed through links), ``None`` if absent."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def owner_prefix(config_dir: str) -> str:
    """The key prefix of the answers about ``config_dir`` (a resolved path)."""
    digest = hashlib.sha256(config_dir.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{ANSWER}{digest[:16]}:"


def answer_key(config_dir: str, material: Mapping[str, Any]) -> str:
    """The key of the answer to one command: every input that is not a file, hashed."""
    blob = orjson.dumps(
        {"format": FORMAT_VERSION, "config_dir": config_dir, **material},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return owner_prefix(config_dir) + hashlib.sha256(blob).hexdigest()


def locate(config_dir: Path) -> CacheLocation | None:
    """The cache location of ``config_dir``, read without the settings machinery
    (pydantic): ``None`` when the cache is disabled, or on any doubt.

    Only the ``cache`` section of the engine config matters here, and an answer keeps
    that file as an input, so it only has to be read the way the engine reads it when
    it says something about the cache: a UTF-8 file that never spells ``cache`` (and
    has no escape that could) leaves every cache setting at its default.
    """
    found = [config_dir / name for name in SETTINGS_FILE_NAMES if (config_dir / name).is_file()]
    if len(found) > 1:
        return None  # the engine refuses this config
    settings: Any = {}
    if found:
        raw = found[0].read_bytes()
        if b"cache" in raw or b"\\" in raw:
            settings = _read_settings(found[0])
            if not isinstance(settings, dict):
                return None
    section = settings.get("cache", {})
    if not isinstance(section, dict) or not set(section) <= {"enabled", "ttl_seconds", "dir"}:
        return None
    enabled = section.get("enabled", True)
    ttl = section.get("ttl_seconds", 300.0)
    directory = section.get("dir")
    if type(enabled) is not bool or type(ttl) not in (int, float) or ttl < 0:
        return None
    if directory is not None and (type(directory) is not str or not directory):
        return None
    if not enabled:
        return None
    env = os.environ.get("TEMPLAR_CACHE_DIR")
    if env:
        path = Path(env).expanduser().absolute()
    elif directory is not None:
        chosen = Path(directory).expanduser()
        path = (chosen if chosen.is_absolute() else config_dir / chosen) / _OWN_SUBDIRECTORY
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("templar", appauthor=False))
    return CacheLocation(path, float(ttl))


def _read_settings(path: Path) -> Any:
    """The engine config as the engine's reader parses it; ``None`` if it does not."""
    from templar.errors import TemplateParseError
    from templar.reader import read_document

    try:
        return read_document(path)
    except (TemplateParseError, OSError):
        return None


def racy(signatures: Mapping[str, Signature], started_ns: int) -> list[str]:
    """The inputs changed too close to ``started_ns`` to be trusted by ``stat``."""
    limit = started_ns - CLOCK_GRANULARITY_NS
    return [
        path
        for path, sig in signatures.items()
        if sig is not None and (sig[3] >= limit or sig[0] >= limit)
    ]


def store_answer(
    store: CacheStore,
    key: str,
    answer: Answer,
    inputs: Mapping[str, Signature],
    made_at: float,
    ttl_seconds: float,
) -> bool:
    """Write ``answer`` under ``key``, valid while ``inputs`` keep their signatures and
    for ``ttl_seconds`` after ``made_at`` (the time the load it shows was made)."""
    expires_at = made_at + ttl_seconds
    remaining = expires_at - time.time()
    if remaining <= 0:
        return False
    header = {
        "inputs": sorted([path, sig] for path, sig in inputs.items()),
        "exit": answer.exit_code,
        "chunks": [[fd, len(data)] for fd, data in answer.chunks],
        "made_at": made_at,
        "expires_at": expires_at,
    }
    payload = b"".join([orjson.dumps(header), b"\n", *(data for _, data in answer.chunks)])
    return store.write(key, "answer", payload, time.time(), remaining)


def find_answer(store: CacheStore, key: str) -> Answer | None:
    """The answer under ``key`` if it is there, fresh, and every input is unchanged.

    An entry that cannot be read as an answer is dropped (with the cache's warning);
    one whose inputs changed is left to be overwritten by the command's new answer.
    """
    found = store.read(key, "answer")
    if found is None:
        return None
    _, payload = found
    try:
        end = bytes(payload[:65536]).find(b"\n")
        if end < 0:
            end = bytes(payload).index(b"\n")
        header = orjson.loads(payload[:end])
        inputs = [(str(path), _signature_of(sig)) for path, sig in header["inputs"]]
        exit_code = header["exit"]
        lengths = [(int(fd), int(size)) for fd, size in header["chunks"]]
        made_at, expires_at = float(header["made_at"]), float(header["expires_at"])
        if type(exit_code) is not int or sum(n for _, n in lengths) != len(payload) - end - 1:
            raise ValueError("lengths")
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as e:
        store.drop(key, CorruptEntryError(f"not an answer ({type(e).__name__})"))
        return None
    now = time.time()
    if not made_at - 1 <= now < expires_at:  # expired, or the clock went back
        return None
    if any(signature(path) != sig for path, sig in inputs):
        return None
    chunks = []
    offset = end + 1
    for fd, size in lengths:
        chunks.append((fd, bytes(payload[offset : offset + size])))
        offset += size
    return Answer(tuple(chunks), exit_code)


def _signature_of(value: Any) -> Signature:
    if value is None:
        return None
    mtime, size, inode, ctime = (int(v) for v in value)
    return (mtime, size, inode, ctime)


def count_answers(keys: Iterable[str]) -> int:
    """How many of ``keys`` are answers."""
    return sum(1 for key in keys if key.startswith(ANSWER))
