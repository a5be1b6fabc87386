"""The template cache: whole loads and parsed layer files in one cache directory
(:class:`TemplateCache`), and what ``templates cache info`` reports of it. The
package front, :mod:`templar.cache`, describes the entries."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from templar.cache import codec
from templar.cache.answers import ANSWER, owner_prefix
from templar.cache.codec import FileStateRecord
from templar.cache.directory import resolve_cache_dir
from templar.cache.disk import CorruptEntryError
from templar.cache.keys import (
    HITS,
    LAST,
    LAYER,
    META,
    STATE,
    STATS_HITS,
    STATS_MISSES,
    files_key,
    layer_key,
)
from templar.cache.store import CacheStore
from templar.locate import AnchoredPositions
from templar.storage import LayerSource, RawLayer

if TYPE_CHECKING:
    from templar.settings import CacheSettings
    from templar.state import EngineState

__all__ = ["CacheEntryInfo", "CacheInfo", "CachedState", "TemplateCache"]

#: how long an entry's age and hits outlive it, so that an expired entry can still be
#: reported as expired
_META_GRACE_SECONDS = 86_400


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
    answers: int = Field(
        default=0, description="Whole answers of read-only commands (templar.cache.answers)."
    )
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
        #: the diskcache directory, bytes in and out
        self.store = CacheStore(directory)
        #: finds the lines of the issues read back unresolved (indexing each file once)
        self.positions = AnchoredPositions()

    def __repr__(self) -> str:
        return f"TemplateCache({str(self.directory)!r}, ttl_seconds={self.ttl_seconds})"

    @classmethod
    def for_settings(cls, settings: CacheSettings, config_dir: Path) -> TemplateCache:
        """The cache an engine with these settings uses."""
        return cls(resolve_cache_dir(settings, config_dir), settings.ttl_seconds)

    def close(self) -> None:
        """Close this thread's database connection (reopened on the next use)."""
        self.store.close()

    # -- whole loads ----------------------------------------------------------------

    def load_state(self, key: str) -> CachedState | None:
        """The cached load under ``key``, counting a hit or a miss; ``None`` on a miss."""
        entry = STATE + key
        found = self.store.read(entry, "state")
        if found is not None and time.time() - found[0] > self.ttl_seconds:
            found = None  # kept as a last good load only: not fresh
        state = None
        if found is not None:
            try:
                state = codec.decode_state(found[1], self.positions)
            except CorruptEntryError as e:
                self.store.drop(entry, e)
        if found is None or state is None:
            self.store.increment(STATS_MISSES)
            return None
        hits = self.store.increment(STATS_HITS, HITS + key)
        return CachedState(state, _timestamp(found[0]), int(hits or 0))

    def store_state(
        self,
        key: str,
        state: EngineState,
        config_dir: Path,
        *,
        last_good: str | None = None,
        digests: Mapping[str, str] | None = None,
    ) -> bool:
        """Write a load under ``key``; ``False`` when it cannot be stored faithfully
        as JSON (a non-finite number, a non-text mapping key) or the TTL is zero.

        ``digests`` (file -> SHA-256 of the content the load was made from) lets issues
        in those files be stored unresolved: writing the cache finds no line.

        With ``last_good`` (a key of the config without the storage fingerprint), the
        entry is also the one :meth:`load_last_state` serves when the storage cannot be
        reached, and is kept a day past its TTL for that."""
        if self.ttl_seconds <= 0:
            return False
        payload = codec.encode_state(state, digests or {})
        if payload is None:
            return False
        now = time.time()
        templates = sum(len(t) for t in state.templates.values())
        meta = {"config_dir": str(config_dir), "templates": templates, "cached_at": now}
        keep = self.ttl_seconds + _META_GRACE_SECONDS
        plain: list[tuple[str, bytes | int, float]] = [
            (HITS + key, 0, keep),
            (META + key, orjson.dumps(meta), keep),
        ]
        if last_good:
            plain.append((LAST + last_good, key.encode(), keep))
        return self.store.write(
            STATE + key,
            "state",
            payload,
            now,
            keep if last_good else self.ttl_seconds,
            plain=plain,
        )

    def load_last_state(self, last_good: str) -> CachedState | None:
        """The last load stored with ``last_good``, whatever its age: what a reading
        command serves, with a warning, when the storage cannot be reached."""
        pointer = self.store.read_plain(LAST + last_good)
        if type(pointer) is not bytes:
            return None
        entry = STATE + pointer.decode(errors="replace")
        found = self.store.read(entry, "state")
        if found is None:
            return None
        try:
            return CachedState(
                codec.decode_state(found[1], self.positions), _timestamp(found[0]), 0
            )
        except CorruptEntryError as e:
            self.store.drop(entry, e)
            return None

    def entry_info(self, key: str) -> CacheEntryInfo | None:
        """Age and hits of the load cached under ``key``, without reading it."""
        raw_meta = self.store.read_plain(META + key)
        if type(raw_meta) is not bytes:
            return None
        try:
            meta = orjson.loads(raw_meta)
            cached_at = _timestamp(meta["cached_at"])
            age = time.time() - float(meta["cached_at"])
            hits = self.store.read_plain(HITS + key)
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

    # -- what the layer reader saw --------------------------------------------------

    def load_file_states(self, config_dir: Path) -> dict[str, FileStateRecord]:
        """``stat``, content hash and time read of the files of ``config_dir``, as the
        last process that hashed them saw them (see :mod:`templar.snapshot`)."""
        key = files_key(config_dir)
        found = self.store.read(key, "files")
        if found is None:
            return {}
        try:
            return codec.decode_file_states(found[1])
        except CorruptEntryError as e:
            self.store.drop(key, e)
            return {}

    def store_file_states(self, config_dir: Path, states: dict[str, FileStateRecord]) -> None:
        """Remember what the layer reader saw (see :meth:`load_file_states`)."""
        key = files_key(config_dir)
        payload = codec.encode_file_states(states)
        if payload is not None:
            expire = self.ttl_seconds + _META_GRACE_SECONDS
            self.store.write(key, "files", payload, time.time(), expire)

    # -- parsed files ---------------------------------------------------------------

    def load_layer(self, source: LayerSource, digest: str) -> RawLayer | None:
        """The parsed layer of ``source`` whose bytes hash to ``digest``, if cached."""
        key = layer_key(source.location, digest)
        found = self.store.read(key, "layer")
        if found is None:
            return None
        try:
            return codec.decode_layer(found[1], source, self.positions)
        except CorruptEntryError as e:
            self.store.drop(key, e)
            return None

    def store_layer(self, digest: str, layer: RawLayer) -> bool:
        """Cache one parsed layer under its path and content hash."""
        if self.ttl_seconds <= 0:
            return False
        payload = codec.encode_layer(layer, digest)
        if payload is None:
            return False
        key = layer_key(layer.source.location, digest)
        return self.store.write(key, "layer", payload, time.time(), self.ttl_seconds)

    # -- the cache command ----------------------------------------------------------

    def info(self, current_key: str | None = None) -> CacheInfo:
        """Size, entries, hits and misses of the directory (``templates cache info``)."""
        info = CacheInfo(directory=str(self.directory), enabled=True, ttl_seconds=self.ttl_seconds)
        counted = self.store.count((STATE, LAYER, ANSWER))
        if counted is None:
            return info
        counts, info.size_bytes = counted
        info.loads, info.parsed_files = counts[STATE], counts[LAYER]
        info.answers = counts[ANSWER]
        info.entries = info.loads + info.parsed_files + info.answers
        info.hits = self.store.read_counter(STATS_HITS)
        info.misses = self.store.read_counter(STATS_MISSES)
        if current_key is not None:
            info.current = self.entry_info(current_key)
        return info

    def clear_config_dir(self, config_dir: Path, locations: Collection[str]) -> int:
        """Remove the entries of one config directory; returns how many there were.

        Its loads (found by the directory recorded with each), what the layer reader
        saw there, and the parsed files at ``locations`` or under ``config_dir``. The
        entries of other config directories and the hit/miss counters stay.
        """
        wanted = str(config_dir)
        inside = wanted.rstrip(os.sep) + os.sep
        doomed: list[str] = [files_key(config_dir)]
        for key, value in self.store.items((META, LAYER)):
            if key.startswith(META):
                try:
                    owner = orjson.loads(value)["config_dir"] if type(value) is bytes else None
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    owner = None
                if owner == wanted:
                    entry = key[len(META) :]
                    doomed += [STATE + entry, HITS + entry, key]
            else:
                location = _layer_location(value)
                if location is not None and (location in locations or location.startswith(inside)):
                    doomed.append(key)
        answers = owner_prefix(str(config_dir))
        doomed += self.store.keys((answers,))
        return self.store.delete(doomed, (STATE, LAYER, ANSWER))

    def clear(self) -> int:
        """Remove every entry and counter; returns how many entries there were."""
        return self.store.clear((STATE, LAYER, ANSWER))


def _layer_location(blob: Any) -> str | None:
    """The file a parsed-layer entry belongs to, read from its payload's head."""
    if type(blob) is not bytes:
        return None
    end = blob.find(b"\n", 0, 1024)
    try:
        head = orjson.loads(blob[end + 1 :])[0] if end >= 0 else None
        return str(head[2]) if isinstance(head, list) and len(head) == 3 else None
    except (orjson.JSONDecodeError, IndexError, TypeError):
        return None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) else 0


def _timestamp(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)
