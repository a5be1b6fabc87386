"""One engine's part of the cache, as the ``templates cache`` commands see it: the
templates of its cached load (:func:`cache_entries`), the cache directory and that
load's entry (:func:`cache_info`), and removing its entries (:func:`clear_cache`).

:meth:`templar.TemplateEngine.cache_entries`, :meth:`~templar.TemplateEngine.cache_info`
and :meth:`~templar.TemplateEngine.clear_cache` delegate here with the engine's session
(:class:`CacheOwner`). An engine that uses no cache (``use_cache=False`` or
``cache.enabled: false``) lists no entries, reports the directory it would use as not
enabled, and clears that directory all the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from templar.cache.template_cache import CacheInfo, TemplateCache
from templar.errors import TemplarError
from templar.models import TemplateCacheEntryDTO
from templar.settings import EngineSettings
from templar.state import EngineState
from templar.storage import StorageBackend

__all__ = ["CacheOwner", "Snapshots", "cache_entries", "cache_info", "clear_cache"]


class Snapshots(Protocol):
    """Takes snapshots of a storage (:class:`~templar.snapshot.LayerReader`)."""

    def snapshot(self) -> Any: ...


class CacheOwner(Protocol):
    """What these functions read of an engine (its :class:`~templar.session.EngineSession`)."""

    @property
    def config_dir(self) -> Path: ...
    @property
    def settings(self) -> EngineSettings: ...
    @property
    def cache(self) -> TemplateCache | None: ...
    @property
    def storage(self) -> StorageBackend: ...
    @property
    def state(self) -> EngineState: ...
    def layer_reader(self) -> Snapshots: ...
    def cache_key(self, snapshot: Any) -> str: ...


def cache_entries(owner: CacheOwner) -> list[TemplateCacheEntryDTO]:
    """The templates of the current load (loading first if needed) as the cache holds
    them, with the number of times that cached load was served; empty when the engine
    uses no cache or the load is not cached."""
    state = owner.state
    cache = owner.cache
    if cache is None or state.cache_key is None:
        return []
    info = cache.entry_info(state.cache_key)
    if info is None:
        return []
    return [
        TemplateCacheEntryDTO(
            template=template,
            cached_at=info.cached_at,
            ttl_seconds=cache.ttl_seconds,
            hit_count=info.hit_count,
        )
        for templates in state.templates.values()
        for template in templates.values()
    ]


def cache_info(owner: CacheOwner) -> CacheInfo:
    """Directory, size, entries, hits and misses of the cache, and the entry of the
    load of the engine's storage as it is now (found without loading). Without a
    cache in use: the directory the settings name, reported as not enabled."""
    cache = owner.cache
    if cache is None:
        unused = TemplateCache.for_settings(owner.settings.cache, owner.config_dir)
        return CacheInfo(
            directory=str(unused.directory), enabled=False, ttl_seconds=unused.ttl_seconds
        )
    try:
        return cache.info(owner.cache_key(owner.layer_reader().snapshot()))
    finally:
        cache.close()


def clear_cache(owner: CacheOwner, *, everything: bool = False) -> int:
    """Remove the engine's entries from the cache it uses, or else from the one its
    settings name; returns how many there were.

    Those are the loads of its config directory, what the layer reader saw there, and
    the parsed files of the layers its storage lists (when it cannot list them now,
    those under the config directory). ``everything=True`` empties the whole cache
    directory and its hit/miss counters instead."""
    cache = owner.cache or TemplateCache.for_settings(owner.settings.cache, owner.config_dir)
    try:
        if everything:
            return cache.clear()
        try:
            locations = {source.location for source in owner.storage.list_sources()}
        except (OSError, TemplarError):  # cannot list now: what lies under the dir
            locations = set()
        return cache.clear_config_dir(owner.config_dir, locations)
    finally:
        cache.close()
