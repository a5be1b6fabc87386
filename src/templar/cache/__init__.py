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

The package is five parts and this front: :mod:`templar.cache.store` (diskcache,
bytes in and out, sealed and checksummed), :mod:`templar.cache.disk` (never
pickled; value files only where Templar writes them), :mod:`templar.cache.directory`
(where the cache lives, private and marked), :mod:`templar.cache.codec` (states and
layers as JSON) and :mod:`templar.cache.keys`. An entry whose header,
length, checksum or JSON is wrong is dropped with a
:class:`~templar.errors.TemplarCacheWarning` and the load goes on from the files.
What the ``templates cache`` commands do for one engine (list, info, clear) is
:mod:`templar.cache.admin`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from templar.cache.directory import CACHE_DIR_ENV, resolve_cache_dir
from templar.cache.keys import plugins_fingerprint, state_key

if TYPE_CHECKING:
    from templar.cache.admin import cache_entries, cache_info, clear_cache
    from templar.cache.codec import FileStateRecord
    from templar.cache.template_cache import (
        CachedState,
        CacheEntryInfo,
        CacheInfo,
        TemplateCache,
    )

_HOMES = {
    "FileStateRecord": "templar.cache.codec",
    **dict.fromkeys(["cache_entries", "cache_info", "clear_cache"], "templar.cache.admin"),
    **dict.fromkeys(
        ["CacheEntryInfo", "CacheInfo", "CachedState", "TemplateCache"],
        "templar.cache.template_cache",
    ),
}


def __getattr__(name: str) -> Any:
    """``TemplateCache``, its reports and the engine's cache commands
    (:mod:`templar.cache.admin`), imported on first use (PEP 562): they need pydantic,
    and a cached answer (:mod:`templar.cache.answers`) must not."""
    if name not in _HOMES:
        raise AttributeError(f"module 'templar.cache' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CACHE_DIR_ENV",
    "CacheEntryInfo",
    "CacheInfo",
    "CachedState",
    "FileStateRecord",
    "TemplateCache",
    "cache_entries",
    "cache_info",
    "clear_cache",
    "plugins_fingerprint",
    "resolve_cache_dir",
    "state_key",
]
