"""One engine's pipeline, wired together: its settings, storage, cache, layer reader
and assembler, and the load they produce.

:class:`EngineSession` is what :class:`templar.TemplateEngine` delegates to and what
:mod:`templar.reload` drives. A load is served from the cache when its key matches,
else assembled from the layers (each changed file parsed, or taken from the cache of
parsed files) and then cached.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from templar.assemble import Assembler
from templar.errors import StorageError, TemplarStaleWarning, did_you_mean
from templar.locate import Locator
from templar.plugins import PluginHost
from templar.providers import ProviderSpec
from templar.query import check_scope
from templar.settings import EngineSettings, load_settings
from templar.state import EngineState
from templar.storage import STORAGE_URL_VARIABLE, StorageBackend, backend_for_url

if TYPE_CHECKING:
    from templar.cache import TemplateCache
    from templar.snapshot import LayerReader, StorageSnapshot


@dataclass
class _OldestGeneration:
    """What :func:`gc_paused` moved to the oldest generation since the last full
    collection, and how many objects that collection left alive."""

    moved: int = 0
    alive: int = 0


_oldest = _OldestGeneration()
#: A full collection is owed once this many objects, or a quarter of those alive after
#: the last one (the interpreter's own rule for its oldest generation), were moved.
FULL_COLLECTION_AFTER = 100_000


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a large load.

    A load allocates hundreds of thousands of acyclic objects; collections triggered
    by them, and the young-generation sweep when the collector is re-enabled, would
    double its time. Afterwards everything tracked goes straight to the oldest
    generation (``freeze`` then ``unfreeze``). The interpreter runs a full collection
    only when its young collections have promoted enough, which objects moved this way
    never count towards: the cyclic garbage of every load stayed for good (a process
    making engines or reloading all day grew without limit). So the objects moved are
    counted here, and once enough are, the next load starts with a full collection: a
    one-shot command never pays for it, a long-running process stays flat.
    """
    if _oldest.moved >= max(FULL_COLLECTION_AFTER, _oldest.alive // 4):
        gc.collect()
        _oldest.moved = 0
        _oldest.alive = len(gc.get_objects())
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        young = gc.get_count()[0]  # allocated since the last collection: what is moved
        gc.freeze()
        gc.unfreeze()
        _oldest.moved += young
        if was_enabled:
            gc.enable()


class EngineSession:
    """The pipeline of one engine and its current load.

    :param config_dir: the config directory.
    :param settings: the engine settings.
    :param settings_file: the file they were read from; ``None`` when there is none or
        when they came from code.
    :param settings_from_file: whether a reload reads the engine config again.
    :param plugins: the engine's own plugin host.
    :param use_cache: whether the on-disk cache may be used at all.
    """

    def __init__(
        self,
        config_dir: Path,
        settings: EngineSettings,
        settings_file: Path | None,
        *,
        settings_from_file: bool,
        plugins: PluginHost,
        use_cache: bool,
    ) -> None:
        self.config_dir = config_dir
        self.settings = settings
        self.settings_file = settings_file
        self.settings_from_file = settings_from_file
        self.plugins = plugins
        self.use_cache = use_cache
        #: the current load, ``None`` until something asks for it
        self.current: EngineState | None = None
        self._storage: StorageBackend | None = None
        self._cache: TemplateCache | None = None
        self._reader: LayerReader | None = None
        self._locator: Locator | None = None
        self._assembler: Assembler | None = None
        #: how many times :meth:`one_template` read one template without a full load
        self.one_template_reads = 0
        #: what :meth:`one_template` read, by (id, provider), beside which current load
        self._one_template: dict[tuple[str, str | None], EngineState | None] = {}
        self._one_template_beside: EngineState | None = None

    def __repr__(self) -> str:
        return f"<EngineSession {self.config_dir}>"

    # -- the parts ------------------------------------------------------------------

    @property
    def providers(self) -> dict[str, ProviderSpec]:
        """Registered provider types by name."""
        return {name: entry.spec for name, entry in self.plugins.providers.items()}

    @property
    def storage(self) -> StorageBackend:
        """The storage backend named by ``storage.backend`` in the engine config (when it
        names none, by the scheme of ``$TEMPLAR_STORAGE_URL`` if that is set)."""
        if self._storage is None:
            name = self.settings.storage.backend
            url = os.environ.get(STORAGE_URL_VARIABLE)
            if url and "backend" not in self.settings.storage.model_fields_set:
                specs = {n: e.spec for n, e in self.plugins.storages.items()}
                name = backend_for_url(url, specs)
            entry = self.plugins.storages.get(name)
            if entry is None:
                hint = did_you_mean(name, self.plugins.storages)
                raise StorageError(
                    f"unknown storage backend '{name}'{hint}; installed: "
                    f"{', '.join(sorted(self.plugins.storages)) or 'none'}",
                    field="storage.backend",
                )
            self._storage = entry.spec.factory(self.config_dir, self.settings)
        return self._storage

    @property
    def cache(self) -> TemplateCache | None:
        """The on-disk cache, or ``None`` when not to be used."""
        if not (self.use_cache and self.settings.cache.enabled):
            return None
        if self._cache is None:
            from templar.cache import TemplateCache

            self._cache = TemplateCache.for_settings(self.settings.cache, self.config_dir)
        return self._cache

    @property
    def locator(self) -> Locator:
        """Locates issues and provenance in this engine's layers and config."""
        if self._locator is None:
            self._locator = Locator(self.storage, self.settings_file)
        return self._locator

    @property
    def assembler(self) -> Assembler:
        """Assembles loads, remembering the last one."""
        if self._assembler is None:
            self._assembler = Assembler(
                self.settings, self.settings_file, self.plugins, self.locator, self.config_dir
            )
        return self._assembler

    def layer_reader(self) -> LayerReader:
        """Snapshots and parsed layers of the storage."""
        storage = self.storage
        if self._reader is None or self._reader.storage is not storage:
            from templar.snapshot import LayerReader

            self._reader = LayerReader(storage, self.cache, scope=self.config_dir)
        return self._reader

    def reset(self) -> None:
        """Forget the storage, the layers read and the memos (settings or plugins changed)."""
        self._storage = None
        self._reader = None
        self._cache = None
        self._locator = None
        self._assembler = None
        self._one_template = {}

    def forget(self) -> None:
        """Forget the parts and the current load: the next query loads again."""
        self.reset()
        self.current = None

    def read_settings_again(self) -> bool:
        """Read the engine config again (when it came from a file); ``True`` when it
        changed, in which case the pipeline was reset."""
        if not self.settings_from_file:
            return False
        settings, settings_file = load_settings(self.config_dir)
        if settings != self.settings or settings_file != self.settings_file:
            self.settings, self.settings_file = settings, settings_file
            self.reset()
            return True
        if self._locator is not None:
            self._locator.forget_settings()  # the lines of templar.yaml may have moved
        return False

    # -- loading --------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        """The current load, loading first if needed."""
        if self.current is None:
            self.current = self.load()
        return self.current

    def one_template(
        self, template_id: str, provider: str | None = None, *, versions: bool = False
    ) -> EngineState | None:
        """A load holding only ``template_id``, read from its own entries in the layers
        (:mod:`templar.lookup`), for a query about one template when nothing is loaded;
        ``None`` when the current load answers (it holds the versions provenance needs,
        if ``versions``) or only a full load can.

        The same question is answered the same until the next load, as from a load
        (an engine's answers hold until :meth:`~templar.TemplateEngine.reload`). An
        engine asked about template after template loads everything after
        :data:`~templar.lookup.ONE_TEMPLATE_READS` such reads."""
        from templar.lookup import ONE_TEMPLATE_READS, assemble_one

        current = self.current
        if current is not None and not (versions and current.from_cache):
            return None
        if current is not self._one_template_beside:  # loaded or reloaded since
            self._one_template, self._one_template_beside = {}, current
        key = (template_id, provider)
        if key in self._one_template:
            return self._one_template[key]
        if self.one_template_reads >= ONE_TEMPLATE_READS:
            return None
        self.one_template_reads += 1
        # a scratch assembler: the session's remembers the last full load for the next
        assembler = Assembler(
            self.settings, self.settings_file, self.plugins, self.locator, self.config_dir
        )
        state = assemble_one(self.storage, assembler, template_id, provider)
        self._one_template[key] = state
        return state

    def explained_load(self, template_id: str, provider: str | None) -> EngineState:
        """The load provenance of ``template_id`` is read from: its own entries when
        nothing is loaded yet (:meth:`one_template`); else the current load, read again
        from the layers when it came from the cache, which keeps results, not provenance."""
        state = self.one_template(template_id, provider, versions=True)
        if state is not None:
            return state
        check_scope(self.state, self.providers, provider, None)
        if self.state.from_cache and self.state.served_stale is None:
            self.current = self.load(from_cache=False)
        return self.state

    def load(self, *, from_cache: bool = True) -> EngineState:
        """A load: from the cache when its key matches, else from the layers, then cached."""
        cache = self.cache
        try:
            with gc_paused():
                reader = self.layer_reader()
                try:
                    snapshot = reader.snapshot()
                except StorageError as unreachable:
                    return self._last_good(unreachable)
                key = self.cache_key(snapshot) if cache is not None else None
                if cache is not None and key is not None and from_cache:
                    cached = cache.load_state(key)
                    if cached is not None:
                        state = cached.state
                        state.fingerprint, state.cache_key = snapshot.fingerprint, key
                        return state
                failures = self.plugin_failures()
                state = self.assembler.assemble(reader.layers(snapshot))
                state.fingerprint = snapshot.fingerprint
                self._store(state, snapshot, key, failures)
                return state
        finally:
            if cache is not None:
                cache.close()

    def cache_key(self, snapshot: StorageSnapshot | None) -> str:
        """Everything that can change a load, hashed (see :mod:`templar.cache`); with
        no snapshot, everything but the storage's content: the key under which the last
        load of this config is found (:meth:`_last_good`)."""
        from templar.cache import plugins_fingerprint, state_key

        material = {
            "config_dir": str(self.config_dir),
            "settings": self.settings.model_dump_json(exclude={"cache", "watch"}),
            "settings_file": str(self.settings_file),
            "plugins": plugins_fingerprint(self.plugins),
            "storage": self.settings.storage.backend,
        }
        if snapshot is not None:
            material["fingerprint"] = snapshot.fingerprint
        return state_key(material)

    def _last_good(self, unreachable: StorageError) -> EngineState:
        """The last load cached for this config, served with a stale warning when the
        storage cannot be read; re-raises when there is none."""
        cache = self.cache
        cached = cache.load_last_state(self.cache_key(None)) if cache is not None else None
        if cached is None:
            raise unreachable
        served = (
            f"{unreachable.message}; serving the templates cached at "
            f"{cached.cached_at:%Y-%m-%d %H:%M:%S %Z}, which may be out of date"
        )
        warnings.warn(f"templar: {served}", TemplarStaleWarning, stacklevel=4)
        cached.state.served_stale = served
        return cached.state

    def plugin_failures(self) -> list[tuple[str, str | None]]:
        """Every plugin failure so far, as (plugin, error)."""
        return [(i.name, i.error) for i in self.plugins.infos.values() if i.error]

    def _store(
        self,
        state: EngineState,
        snapshot: StorageSnapshot,
        key: str | None,
        failures_before: list[tuple[str, str | None]],
    ) -> None:
        """Cache a load made from ``snapshot``, unless a plugin failed while making it
        (its warning must come again next time) or a file changed under the reader."""
        cache = self.cache
        if cache is None or key is None or not snapshot.consistent:
            return
        if self.plugin_failures() != failures_before:
            return
        # A storage without files (a database) may become unreachable: its last load
        # is kept to be served, with a warning, when it is (files are always there).
        last_good = None if snapshot.files else self.cache_key(None)
        # the contents the load was made from: its issues are cached without their lines
        digests = {loc: f.digest for loc, f in snapshot.files.items() if f.readable}
        if cache.store_state(key, state, self.config_dir, last_good=last_good, digests=digests):
            state.cache_key = key
