"""The on-disk cache: whole loads and parsed layer files, as JSON, under a TTL.

These entries live in one ``diskcache`` directory:

* a **state** entry holds everything a load produced (the effective templates, the
  validation results, the file issues), under a key covering every input of the load:
  the storage fingerprint (for files: path, size, mtime and content hash of every
  layer file and of ``templar.yaml``), the engine settings, the config directory, the
  names, versions and code of the loaded plugins, and Templar's own version and code.
  A new process that finds it serves ``list``, ``show`` and ``validate`` without
  reading, merging or validating anything;
* a **layer** entry holds one parsed file, under its path and content hash, so that
  after an edit only the edited file is parsed again;
* a **files** entry per config directory remembers the ``stat`` and content hash of
  each file as last hashed (:mod:`templar.snapshot`), so that a warm command only
  calls ``stat`` on the files; small **meta** and **hits** entries date and count
  each load.

Values are bytes that Templar writes itself: a one-line JSON header (format, kind,
key, time, length, CRC-32) and a JSON payload. Nothing is ever pickled, and the
:class:`diskcache.Disk` used here refuses to unpickle a value or key that someone
else put there: a cache directory another user can write must not become code
execution. An entry whose header, length, checksum or JSON is wrong is dropped with a
:class:`~templar.errors.TemplarCacheWarning` and the load goes on from the files.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import stat
import sys
import time
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import diskcache
import orjson
from pydantic import BaseModel, ConfigDict, Field

from templar.errors import TemplarCacheWarning
from templar.models import (
    LayerKind,
    Severity,
    TemplateDTO,
    ValidationIssueDTO,
)
from templar.storage import LayerSource, RawLayer, RawTemplate

if TYPE_CHECKING:
    from templar.plugins import PluginHost
    from templar.settings import CacheSettings
    from templar.state import EngineState

#: Bumped whenever the layout of an entry changes; older entries are then foreign.
FORMAT_VERSION = 2
CACHE_DIR_ENV = "TEMPLAR_CACHE_DIR"

_MAGIC = "templar-cache"
_STATE, _LAYER, _META, _HITS, _FILES = "state:", "layer:", "meta:", "hits:", "files:"
#: the key of the last load stored for a config (see :meth:`TemplateCache.load_last_state`)
_LAST = "last:"

#: (size, mtime_ns, ctime_ns, inode, device), SHA-256 of the content, time read (ns)
FileStateRecord = tuple[tuple[int, int, int, int, int], str, int]
_STATS_HITS, _STATS_MISSES = "stats:hits", "stats:misses"
_META_GRACE_SECONDS = 86_400


class CorruptEntryError(Exception):
    """An entry that is not what Templar wrote under its key (private to this module)."""


def resolve_cache_dir(settings: CacheSettings, config_dir: Path) -> Path:
    """``$TEMPLAR_CACHE_DIR``, else ``cache.dir`` (relative to the config directory),
    else the user cache directory of the platform."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser().absolute()
    if settings.dir is not None:
        path = settings.dir.expanduser()
        return path if path.is_absolute() else config_dir / path
    import platformdirs

    return Path(platformdirs.user_cache_dir("templar", appauthor=False))


class _JSONOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """A :class:`diskcache.Disk` that stores bytes, text and numbers, and never unpickles.

    diskcache pickles any other value and unpickles whatever a row says is pickled;
    both are refused here, so a tampered database can at worst be a corrupt entry.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"cache keys are strings, not {type(key).__name__}")
        return super().put(key)  # type: ignore[no-any-return]

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise CorruptEntryError("a pickled key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> Any:
        if read or type(value) not in (bytes, int, float):
            raise TypeError(f"cache values are bytes or numbers, not {type(value).__name__}")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == diskcache.core.MODE_PICKLE:
            raise CorruptEntryError("a pickled value")
        return super().fetch(mode, filename, value, read)


class CacheEntryInfo(BaseModel):
    """The cached load of one config directory, as ``templates cache info`` shows it."""

    model_config = ConfigDict(defer_build=True)  # the warm path must not pay for it

    config_dir: str
    templates: int
    cached_at: datetime
    age_seconds: float
    expired: bool
    hit_count: int


class CacheInfo(BaseModel):
    """What ``templates cache info`` prints."""

    model_config = ConfigDict(defer_build=True)

    directory: str
    enabled: bool
    ttl_seconds: float
    size_bytes: int = 0
    entries: int = 0
    loads: int = 0
    parsed_files: int = 0
    hits: int = 0
    misses: int = 0
    current: CacheEntryInfo | None = Field(
        default=None, description="The entry of this config directory, if cached."
    )


@dataclass
class CachedState:
    """A load found in the cache."""

    state: EngineState
    cached_at: datetime
    hit_count: int


class TemplateCache:
    """One cache directory, opened by one engine (several may share the directory).

    Every method is safe to call when the cache is broken: problems become a
    :class:`~templar.errors.TemplarCacheWarning`, a miss, and no crash.
    """

    def __init__(self, directory: Path, ttl_seconds: float) -> None:
        self.directory = directory
        self.ttl_seconds = ttl_seconds
        self._cache: diskcache.Cache | None = None
        self._broken = False

    def __repr__(self) -> str:
        return f"TemplateCache({str(self.directory)!r}, ttl_seconds={self.ttl_seconds})"

    @classmethod
    def for_settings(cls, settings: CacheSettings, config_dir: Path) -> TemplateCache:
        """The cache an engine with these settings uses."""
        return cls(resolve_cache_dir(settings, config_dir), settings.ttl_seconds)

    # -- opening --------------------------------------------------------------------

    def _open(self) -> diskcache.Cache | None:
        if self._cache is not None or self._broken:
            return self._cache
        try:
            problem = _prepare_directory(self.directory)
        except OSError as e:
            problem = f"cannot be created ({e.strerror or e})"
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
                    disk=_JSONOnlyDisk,
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
                _warn(f"cache database in {self.directory} is corrupt ({e}); recreated")
                self._remove_database()
            except (OSError, diskcache.Timeout) as e:
                self._give_up(f"cache in {self.directory} cannot be opened ({e})")
                return None
        return None  # pragma: no cover - the loop always returns

    def _give_up(self, message: str) -> None:
        self._broken = True
        self._cache = None
        _warn(f"{message}; going on without the cache")

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
        for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
            (self.directory / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Close this thread's database connection (reopened on the next use)."""
        if self._cache is not None:
            self._cache.close()

    # -- raw entries ----------------------------------------------------------------

    def _get(self, cache: diskcache.Cache, key: str, kind: str) -> tuple[dict[str, Any], Any]:
        """Header and decoded payload of ``key``; raises KeyError on a miss and
        CorruptEntryError for anything Templar did not write."""
        blob = cache.get(key, default=None, retry=True)
        if blob is None:
            raise KeyError(key)
        return _unseal(blob, kind, key)

    def _drop(self, cache: diskcache.Cache, key: str, why: CorruptEntryError) -> None:
        cache.delete(key, retry=True)
        _warn(
            f"cache entry {key[:18]}... in {self.directory} was corrupt ({why}); "
            "dropped, loading from the files"
        )

    # -- whole loads ----------------------------------------------------------------

    def load_state(self, key: str) -> CachedState | None:
        """The cached load under ``key``, counting a hit or a miss; ``None`` on a miss."""
        with self._using() as cache:
            if cache is None:
                return None
            entry = _STATE + key
            try:
                header, payload = self._get(cache, entry, "state")
                if time.time() - float(header["cached_at"]) > self.ttl_seconds:
                    raise KeyError(entry)  # kept as a last good load only: not fresh
                state = decode_state(payload)
            except KeyError:
                cache.incr(_STATS_MISSES, retry=True)
                return None
            except CorruptEntryError as e:
                self._drop(cache, entry, e)
                cache.incr(_STATS_MISSES, retry=True)
                return None
            with cache.transact(retry=True):
                cache.incr(_STATS_HITS)
                hits = cache.incr(_HITS + key)
            return CachedState(state, _timestamp(header["cached_at"]), int(hits))
        return None

    def store_state(
        self, key: str, state: EngineState, config_dir: Path, *, last_good: str | None = None
    ) -> bool:
        """Write a load under ``key``; ``False`` when it cannot be stored faithfully
        as JSON (a non-finite number, a non-text mapping key) or the TTL is zero.

        With ``last_good`` (a key of the config without the storage fingerprint), the
        entry is also the one :meth:`load_last_state` serves when the storage cannot be
        reached, and is kept a day past its TTL for that."""
        if self.ttl_seconds <= 0:
            return False
        payload = encode_state(state)
        if payload is None:
            return False
        now = time.time()
        templates = sum(len(t) for t in state.templates.values())
        meta = {"config_dir": str(config_dir), "templates": templates, "cached_at": now}
        with self._using() as cache:
            if cache is None:
                return False
            # the entry's age and hits outlive it by a day, so that an expired entry
            # can still be reported as expired
            keep = self.ttl_seconds + _META_GRACE_SECONDS
            with cache.transact(retry=True):
                sealed = _seal("state", _STATE + key, payload, now)
                cache.set(_STATE + key, sealed, keep if last_good else self.ttl_seconds)
                if last_good:
                    cache.set(_LAST + last_good, key.encode(), keep)
                cache.set(_HITS + key, 0, keep)
                cache.set(_META + key, orjson.dumps(meta), keep)
            return True
        return False

    def load_last_state(self, last_good: str) -> CachedState | None:
        """The last load stored with ``last_good``, whatever its age: what a reading
        command serves, with a warning, when the storage cannot be reached."""
        with self._using() as cache:
            if cache is None:
                return None
            pointer = cache.get(_LAST + last_good, default=None, retry=True)
            if type(pointer) is not bytes:
                return None
            entry = _STATE + pointer.decode(errors="replace")
            try:
                header, payload = self._get(cache, entry, "state")
                state = decode_state(payload)
            except KeyError:
                return None
            except CorruptEntryError as e:
                self._drop(cache, entry, e)
                return None
            return CachedState(state, _timestamp(header["cached_at"]), 0)
        return None

    def entry_info(self, key: str) -> CacheEntryInfo | None:
        """Age and hits of the load cached under ``key``, without reading it."""
        with self._using() as cache:
            if cache is None:
                return None
            raw_meta = cache.get(_META + key, default=None, retry=True)
            if type(raw_meta) is not bytes:
                return None
            try:
                meta = orjson.loads(raw_meta)
                cached_at = _timestamp(meta["cached_at"])
                age = time.time() - float(meta["cached_at"])
                hits = cache.get(_HITS + key, default=0, retry=True)
                return CacheEntryInfo(
                    config_dir=str(meta["config_dir"]),
                    templates=int(meta["templates"]),
                    cached_at=cached_at,
                    age_seconds=round(age, 3),
                    expired=age > self.ttl_seconds,
                    hit_count=int(hits) if isinstance(hits, int) else 0,
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                return None
        return None

    # -- what the layer reader saw --------------------------------------------------

    def load_file_states(self, config_dir: Path) -> dict[str, FileStateRecord]:
        """``stat``, content hash and time read of the files of ``config_dir``, as the
        last process that hashed them saw them (see :mod:`templar.snapshot`)."""
        key = _files_key(config_dir)
        with self._using() as cache:
            if cache is None:
                return {}
            try:
                _, payload = self._get(cache, key, "files")
                return {
                    str(loc): (tuple(int(n) for n in stat), str(digest), int(read_at))  # type: ignore[misc]
                    for loc, (stat, digest, read_at) in payload.items()
                    if len(stat) == 5
                }
            except KeyError:
                return {}
            except (CorruptEntryError, TypeError, ValueError, AttributeError) as e:
                why = e if isinstance(e, CorruptEntryError) else CorruptEntryError(str(e))
                self._drop(cache, key, why)
                return {}
        return {}

    def store_file_states(self, config_dir: Path, states: dict[str, FileStateRecord]) -> None:
        """Remember what the layer reader saw (see :meth:`load_file_states`)."""
        key = _files_key(config_dir)
        payload = _dumps(states)
        if payload is None:
            return
        with self._using() as cache:
            if cache is not None:
                expire = self.ttl_seconds + _META_GRACE_SECONDS
                cache.set(key, _seal("files", key, payload, time.time()), expire, retry=True)

    # -- parsed files ---------------------------------------------------------------

    def load_layer(self, source: LayerSource, digest: str) -> RawLayer | None:
        """The parsed layer of ``source`` whose bytes hash to ``digest``, if cached."""
        key = _layer_key(source.location, digest)
        with self._using() as cache:
            if cache is None:
                return None
            try:
                _, payload = self._get(cache, key, "layer")
                return decode_layer(payload, source)
            except KeyError:
                return None
            except CorruptEntryError as e:
                self._drop(cache, key, e)
                return None
        return None

    def store_layer(self, digest: str, layer: RawLayer) -> bool:
        """Cache one parsed layer under its path and content hash."""
        if self.ttl_seconds <= 0:
            return False
        payload = encode_layer(layer)
        if payload is None:
            return False
        key = _layer_key(layer.source.location, digest)
        with self._using() as cache:
            if cache is None:
                return False
            cache.set(key, _seal("layer", key, payload, time.time()), self.ttl_seconds, retry=True)
            return True
        return False

    # -- the cache command ----------------------------------------------------------

    def info(self, current_key: str | None = None) -> CacheInfo:
        """Size, entries, hits and misses of the directory (``templates cache info``)."""
        info = CacheInfo(directory=str(self.directory), enabled=True, ttl_seconds=self.ttl_seconds)
        if not self.directory.exists():
            return info
        with self._using() as cache:
            if cache is None:
                return info
            cache.expire(retry=True)
            for key in cache.iterkeys():
                if key.startswith(_STATE):
                    info.loads += 1
                elif key.startswith(_LAYER):
                    info.parsed_files += 1
            info.entries = info.loads + info.parsed_files
            info.size_bytes = int(cache.volume())
            info.hits = int(cache.get(_STATS_HITS, default=0, retry=True) or 0)
            info.misses = int(cache.get(_STATS_MISSES, default=0, retry=True) or 0)
        if current_key is not None:
            info.current = self.entry_info(current_key)
        return info

    def clear(self) -> int:
        """Remove every entry and counter; returns how many entries there were."""
        if not self.directory.exists():
            return 0
        with self._using() as cache:
            if cache is None:
                return 0
            count = sum(1 for key in cache.iterkeys() if key.startswith((_STATE, _LAYER)))
            cache.clear(retry=True)
            return count
        return 0


# -- keys -------------------------------------------------------------------------------


def state_key(material: dict[str, Any]) -> str:
    """The key of a load: a hash of every input that can change its result."""
    base = {"format": FORMAT_VERSION, "code": code_fingerprint("templar")}
    blob = orjson.dumps({**base, **material}, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()


def _files_key(config_dir: Path) -> str:
    text = f"{FORMAT_VERSION}\0{config_dir}"
    return _FILES + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _layer_key(location: str, digest: str) -> str:
    text = f"{FORMAT_VERSION}\0{code_fingerprint('templar')}\0{location}\0{digest}"
    return _LAYER + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=64)
def code_fingerprint(package: str) -> str:
    """``__version__`` and source files (names, sizes, mtimes) of an imported package
    (plugin versions come from their distributions, in the plugin signature).

    Part of every key, so that upgrading Templar or a plugin, or editing an editable
    install, never serves a result the new code would not produce.
    """
    module = sys.modules.get(package)
    digest = hashlib.sha256(package.encode())
    digest.update(str(getattr(module, "__version__", "")).encode())
    origin = getattr(module, "__file__", None)
    if origin:
        path = Path(origin)
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def plugins_fingerprint(host: PluginHost) -> list[tuple[str, str | None, str]]:
    """Name, version and code fingerprint of every plugin registered on ``host``."""
    versions = dict(host.signature())
    out = []
    for name, plugin in host.pm.list_name_plugin():
        module_name = getattr(plugin, "__name__", None) or type(plugin).__module__
        if not isinstance(module_name, str):
            module_name = type(plugin).__module__
        package = module_name.split(".")[0]
        out.append((name, versions.get(name), code_fingerprint(package)))
    return sorted(out)


# -- the envelope ---------------------------------------------------------------------


def _seal(kind: str, key: str, payload: bytes, cached_at: float) -> bytes:
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


def _unseal(blob: Any, kind: str, key: str) -> tuple[dict[str, Any], Any]:
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
    if not isinstance(header.get("cached_at"), (int, float)):
        raise CorruptEntryError("no time")
    try:
        return header, orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise CorruptEntryError(f"invalid JSON: {e}") from e


# -- JSON of the engine's objects -------------------------------------------------------
#
# The warm path builds hundreds of thousands of objects, so models are rebuilt the way
# ``model_construct`` does, minus its per-field work: the values were validated when
# the entry was written, and the checksum guarantees they are those values. The shape
# of every object is still checked, so a foreign entry is reported, not half-used.

_TEMPLATE_FIELDS = tuple(TemplateDTO.model_fields)
_ISSUE_FIELDS = frozenset(ValidationIssueDTO.model_fields)
_set = object.__setattr__


def _construct(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str]) -> Any:
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _model_dict(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(value: Any) -> bytes | None:
    """JSON of ``value``, or ``None`` if JSON cannot hold it (non-text keys, ...)."""
    try:
        return orjson.dumps(value, default=_model_dict)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _has_non_finite(value: Any) -> bool:
    """Whether a float that JSON would turn into ``null`` hides in ``value``."""
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        return any(_has_non_finite(v) for v in value.values())
    if kind is list:
        return any(_has_non_finite(v) for v in value)
    return False


def _fields_mask(dto: BaseModel) -> int:
    fields_set = dto.model_fields_set
    return sum(1 << i for i, name in enumerate(_TEMPLATE_FIELDS) if name in fields_set)


@lru_cache(maxsize=256)
def _fields_of_mask(mask: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(_TEMPLATE_FIELDS) if mask >> i & 1)


def encode_state(state: EngineState) -> bytes | None:
    """JSON of a load, or ``None`` if JSON cannot hold it exactly.

    Shaped for decoding, which is most of a warm load: each template is its field
    mapping (orjson builds it, the model adopts it as is), with its source file as an
    index into a list of files and the fields it had set as a bit mask alongside; a
    verdict without issues or features is just its id and instance.
    """
    instances = [[i.name, i.type, dict(i.defaults), i.declared_index] for i in state.instances]
    instance_index = {instance.name: n for n, instance in enumerate(state.instances)}
    files: dict[str | None, int | None] = {None: None}
    templates: dict[str, list[dict[str, Any]]] = {}
    masks: dict[str, list[int]] = {}
    known_nulls = 0
    for name, by_id in state.templates.items():
        rows, bits = templates[name], masks[name] = [], []
        for template in by_id.values():
            values = dict(template.__dict__)
            source = values["source_file"]
            if source not in files:
                files[source] = len(files) - 1
            values["source_file"] = files[source]
            known_nulls += sum(value is None for value in values.values())
            rows.append(values)
            bits.append(_fields_mask(template))
    templates_json = _dumps(templates)
    instances_json = _dumps(instances)
    if templates_json is None or instances_json is None:
        return None
    # JSON writes NaN and infinity as null. Every null of a faithful dump is a field
    # left at None; if there are more, look for the non-finite numbers they may be.
    if templates_json.count(b"null") != known_nulls and any(
        _has_non_finite(t.configuration) or _has_non_finite(t.metadata) or _has_non_finite(t.tags)
        for by_id in state.templates.values()
        for t in by_id.values()
    ):
        return None
    if b"null" in instances_json and any(_has_non_finite(i[2]) for i in instances):
        return None
    verdicts = []
    for template_id, instance, issues, features in state.verdicts:
        verdict: list[Any] = [template_id, instance_index[instance.name]]
        if issues or features:
            verdict += [issues, features]
        verdicts.append(verdict)
    parts = (
        instances_json,
        _dumps([f for f in files if f is not None]),
        templates_json,
        _dumps(masks),
        _dumps(verdicts),
        _dumps(state.file_issues),
        _dumps(state.validated_at),
    )
    if any(part is None for part in parts):
        return None
    return b"[" + b",".join(parts) + b"]"  # type: ignore[arg-type]


def decode_state(data: Any) -> EngineState:
    """The load encoded by :func:`encode_state`; raises CorruptEntryError on anything else."""
    from templar.state import EngineState, ProviderInstance

    try:
        instances_json, files, templates_json, masks, verdicts, issues_json, validated_at = data
        state = EngineState(from_cache=True, validated_at=datetime.fromisoformat(validated_at))
        state.instances = instances = [
            ProviderInstance(str(name), str(kind), dict(defaults), index)
            for name, kind, defaults, index in instances_json
        ]
        fromiso = datetime.fromisoformat
        new, fields_of = TemplateDTO.__new__, _fields_of_mask
        sources: dict[int | None, str | None] = {None: None, **dict(enumerate(files))}
        for name, items in templates_json.items():
            templates: dict[str, TemplateDTO] = {}
            bits = masks[name]
            # the shape of one template and the count; the checksum vouches for the rest
            if len(bits) != len(items) or (items and items[0].keys() != _TEMPLATE_KEYS):
                raise CorruptEntryError("templates of another shape")
            for values, mask in zip(items, bits):  # noqa: B905 - lengths checked above
                if values["created_at"] is not None:
                    values["created_at"] = fromiso(values["created_at"])
                if values["updated_at"] is not None:
                    values["updated_at"] = fromiso(values["updated_at"])
                values["source_file"] = sources[values["source_file"]]
                # what model_construct does, without its per-field work (see above)
                template = new(TemplateDTO)
                _set(template, "__dict__", values)
                _set(template, "__pydantic_fields_set__", set(fields_of(mask)))
                _set(template, "__pydantic_extra__", None)
                _set(template, "__pydantic_private__", None)
                templates[values["template_id"]] = template
            state.templates[name] = templates
        state.verdicts = [
            (verdict[0], instances[verdict[1]], [], [])
            if len(verdict) == 2
            else (
                verdict[0],
                instances[verdict[1]],
                [_issue(i) for i in verdict[2]],
                [str(f) for f in verdict[3]],
            )
            for verdict in verdicts
        ]
        state.file_issues = [_issue(values) for values in issues_json]
    except CorruptEntryError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise CorruptEntryError(f"unexpected content ({type(e).__name__}: {e})") from e
    return state


_TEMPLATE_KEYS = frozenset(_TEMPLATE_FIELDS)


def _issue(values: dict[str, Any]) -> ValidationIssueDTO:
    if values.keys() != _ISSUE_FIELDS:
        raise CorruptEntryError("an issue of another shape")
    values["severity"] = Severity(values["severity"])
    issue: ValidationIssueDTO = _construct(ValidationIssueDTO, values, set(_ISSUE_FIELDS))
    return issue


def encode_layer(layer: RawLayer) -> bytes | None:
    """JSON of one parsed layer, or ``None`` if JSON cannot hold it exactly."""
    source = layer.source
    templates = _dumps(
        [[t.template_id, t.body, list(t.doc_path), t.provider_type] for t in layer.templates]
    )
    if templates is None:
        return None
    known_nulls = sum(t.provider_type is None for t in layer.templates)  # see encode_state
    if templates.count(b"null") != known_nulls and any(
        _has_non_finite(t.body) for t in layer.templates
    ):
        return None
    head = _dumps([int(source.kind), source.scope, source.location])
    issues = _dumps(layer.issues)
    if head is None or issues is None:
        return None
    nulls = b"true" if layer.may_hold_nulls else b"false"
    return b"[%s,%s,%s,%s]" % (head, templates, issues, nulls)


def decode_layer(data: Any, source: LayerSource) -> RawLayer:
    """The layer encoded by :func:`encode_layer`, checked to be ``source``'s."""
    try:
        (kind, scope, location), templates, issues, may_hold_nulls = data
        if (LayerKind(kind), scope, location) != (source.kind, source.scope, source.location):
            raise CorruptEntryError("an entry of another file")
        return RawLayer(
            source,
            [
                RawTemplate(str(tid), body, tuple(doc_path), provider_type)
                for tid, body, doc_path, provider_type in templates
                if type(body) is dict
            ],
            [_issue(values) for values in issues],
            may_hold_nulls is not False,
        )
    except CorruptEntryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CorruptEntryError(f"unexpected content ({type(e).__name__}: {e})") from e


# -- helpers ------------------------------------------------------------------------------


def _prepare_directory(path: Path) -> str | None:
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


def _timestamp(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def _warn(message: str) -> None:
    warnings.warn(f"templar: {message}", TemplarCacheWarning, stacklevel=4)
