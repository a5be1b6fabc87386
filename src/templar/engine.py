"""The engine users import: :class:`TemplateEngine`, a facade over the pipeline.

Each method delegates to the module that does the work: :mod:`templar.session` (the
pipeline and the current load), query, provenance, reload, watch, write, cache.admin.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import templar.cache  # its front imports templar.cache.admin on first use
from templar import provenance, query
from templar.models import (
    ChangeEvent,
    TemplateCacheEntryDTO,
    TemplateDTO,
    TemplateExplanation,
    ValidationReport,
)
from templar.plugins import PluginHost
from templar.providers import ProviderSpec
from templar.reload import Reloader
from templar.session import EngineSession, gc_paused
from templar.settings import EngineSettings, resolve_config_dir, settings_for
from templar.state import EngineState, ProviderInstance
from templar.storage import StorageBackend

if TYPE_CHECKING:  # runtime hints (typing.get_type_hints) resolve all but these
    from templar.cache import CacheInfo, TemplateCache
    from templar.watch import Watcher
    from templar.write import TemplateWriter, WriteResult

__all__ = ["EngineState", "ProviderInstance", "TemplateEngine", "gc_paused"]


class TemplateEngine:
    """Templates of one config directory: discovered, merged, validated, queried.

    Each engine owns its plugin manager, settings and state; several can live in one
    process. Loading is lazy: the first query loads, :meth:`reload` loads again; and
    :meth:`get_template` or :meth:`explain` asked before anything is loaded reads only
    that template (:mod:`templar.lookup`), answering it the same until :meth:`reload`.

    :param config_dir: the config directory; default ``$TEMPLAR_CONFIG_DIR``, else
        ``$ORB_CONFIG_DIR``, else ``.``. A directory holding ORB's ``config.json`` (and
        no ``templar.yaml``) is read as ORB reads it (:mod:`templar.orb`).
    :param settings: engine settings to use instead of the directory's ``templar.yaml``.
    :param plugins: plugin objects or modules to register on this engine only.
    :param load_entrypoints: load plugins from the ``templar`` entry-point group.
    :param use_cache: use the on-disk cache (when ``cache.enabled``); ``False`` always
        reads the files and writes nothing.
    """

    def __init__(
        self,
        config_dir: str | os.PathLike[str] | None = None,
        *,
        settings: EngineSettings | Mapping[str, Any] | None = None,
        plugins: Sequence[object] = (),
        load_entrypoints: bool = True,
        use_cache: bool = True,
    ) -> None:
        directory = resolve_config_dir(config_dir)
        #: the pipeline and the current load, which every method delegates to
        self.session = EngineSession(
            directory,
            *settings_for(directory, settings),
            settings_from_file=settings is None,
            plugins=PluginHost(load_entrypoints=load_entrypoints, extra_plugins=plugins),
            use_cache=use_cache,
        )
        #: reloads the session: the public API that hot reload drives
        self.reloader = Reloader(self.session, self._emit)

    @classmethod
    def from_settings(
        cls,
        settings: EngineSettings | Mapping[str, Any],
        *,
        config_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> TemplateEngine:
        """An engine configured in code rather than by ``templar.yaml``."""
        return cls(config_dir, settings=settings, **kwargs)

    def __repr__(self) -> str:
        return f"TemplateEngine(config_dir={str(self.config_dir)!r})"

    @property
    def config_dir(self) -> Path:
        """The config directory."""
        return self.session.config_dir

    @property
    def settings(self) -> EngineSettings:
        """The engine settings in force."""
        return self.session.settings

    @property
    def settings_file(self) -> Path | None:
        """The engine config file they were read from, if any."""
        return self.session.settings_file

    @property
    def plugins(self) -> PluginHost:
        """This engine's own plugin host."""
        return self.session.plugins

    @property
    def use_cache(self) -> bool:
        """Whether the on-disk cache may be used (see ``use_cache=``)."""
        return self.session.use_cache

    @property
    def providers(self) -> dict[str, ProviderSpec]:
        """Registered provider types by name."""
        return self.session.providers

    @property
    def storage(self) -> StorageBackend:
        """The storage backend named by ``storage.backend`` in the engine config."""
        return self.session.storage

    @property
    def cache(self) -> TemplateCache | None:
        """The on-disk cache, or ``None`` when ``use_cache=False`` or ``cache.enabled`` is false."""
        return self.session.cache

    @property
    def state(self) -> EngineState:
        """The current load, loading first if needed."""
        return self.session.state

    @property
    def instances(self) -> list[ProviderInstance]:
        """The provider instances of this config, declared or found."""
        return list(self.state.instances)

    def register_plugin(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object on this engine only; the next query reloads."""
        registered = self.plugins.register(plugin, name)
        self.session.forget()
        return registered

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin registered with :meth:`register_plugin`; the next query reloads."""
        self.plugins.unregister(name)
        self.session.forget()

    def list_templates(
        self,
        provider: str | None = None,
        provider_type: str | None = None,
        active_only: bool = True,
    ) -> list[TemplateDTO]:
        """Every valid effective template, instance by instance, in file order: of instance
        ``provider`` or of type ``provider_type`` only, when given; without those that say
        ``is_active: false`` unless ``active_only`` is false (as in :meth:`search_templates`)."""
        query.check_scope(self.state, self.providers, provider, provider_type)
        return query.list_templates(self.state, provider, provider_type, active_only)

    def get_template(self, template_id: str, provider: str | None = None) -> TemplateDTO | None:
        """One template by id, or ``None``, active or not. Without ``provider``, an id
        that several instances define raises :class:`~templar.AmbiguousTemplateError`
        naming them; an unknown ``provider`` is a :class:`~templar.TemplarError`."""
        state = self.session.one_template(template_id, provider) or self.state
        query.check_scope(state, self.providers, provider, None)
        return query.get_template(state, template_id, provider)

    def search_templates(
        self,
        criteria: Mapping[str, Any],
        *,
        provider: str | None = None,
        provider_type: str | None = None,
        active_only: bool | None = None,
    ) -> list[TemplateDTO]:
        """Templates whose fields equal every criterion; ``search_templates({})`` is
        ``list_templates()``. Inactive ones are left out unless ``active_only=False`` or,
        when ``active_only`` is not given, a criterion is on ``is_active`` itself.

        Keys are field names or dotted paths (``configuration.max_number``); a key that is
        not a core field is looked up in ``configuration``. A value matches when equal, equal
        as text (``"5"`` matches ``5``, ``"true"`` matches ``True``), or in a list field."""
        return query.search_templates(
            self.state, self.providers, criteria, provider, provider_type, active_only
        )

    def validate(self) -> ValidationReport:
        """Validation results of every template and every file. Never raises for bad content."""
        return query.validation_report(self.state)

    def explain(self, template_id: str, provider: str | None = None) -> TemplateExplanation:
        """Where every field of one effective template comes from. With nothing loaded
        yet, only that template's entries are read (:mod:`templar.lookup`)."""
        state = self.session.explained_load(template_id, provider)
        return provenance.explain_load(
            state, template_id, provider, merge=self.settings.merge, locator=self.session.locator
        )

    def stale_templates(self) -> dict[str, list[str]]:
        """Template ids served from their last good version (hot reload), per instance."""
        return {name: sorted(ids) for name, ids in self.state.stale.items() if ids}

    def reload(self) -> ChangeEvent:
        """Load again from the files, and ``templar.yaml`` unless settings came from code;
        only changed files are parsed, and only templates whose layers changed merged and
        validated, again. Returns what changed; plugins see it in ``templar_on_change``."""
        return self.reloader.reload() or ChangeEvent()

    def watch(
        self,
        on_change: Callable[[ChangeEvent], Any] | None = None,
        *,
        debounce_ms: int | None = None,
    ) -> Watcher:
        """Hot reload: reload whenever a layer file or ``templar.yaml`` changes, once no change
        came for ``debounce_ms`` (default ``watch.debounce_ms``). Iterate the returned
        :class:`~templar.watch.Watcher` for :class:`ChangeEvent` objects, or give ``on_change``
        to have it called with each from a background thread; ``stop()`` ends either. An
        invalid new version of a template leaves its last good one, listed as stale (see
        docs/cache-and-hot-reload.md)."""
        from templar.watch import watch

        return watch(self.reloader, on_change, debounce_ms=debounce_ms)

    def awatch(self, *, debounce_ms: int | None = None) -> Watcher:
        """:meth:`watch` for asyncio: ``async for event in engine.awatch(): ...``."""
        from templar.watch import Watcher

        return Watcher(self.reloader, debounce_ms=debounce_ms)

    def _emit(self, event: ChangeEvent) -> None:
        for _ in self.plugins.call_each("templar_on_change", event=event, engine=self):
            pass

    @cached_property
    def writer(self) -> TemplateWriter:
        """Saves and deletes this engine's templates (:mod:`templar.write`)."""
        from templar.write import TemplateWriter

        return TemplateWriter(self.session, self.reloader)

    def save_template(
        self,
        template: TemplateDTO | Mapping[str, Any],
        layer: str | None = None,
        provider: str | None = None,
    ) -> WriteResult:
        """Create or update one template, given whole, keeping the files' comments and
        layout. An edit lands in the layer holding the winning value of each field it
        changes, a new template in the provider layer; ``layer`` (``instance``, ``type``,
        ``provider``, ``shared``) picks one. An invalid merged result raises
        :class:`~templar.write.InvalidTemplateError` and nothing is written."""
        return self.writer.save_template(template, layer=layer, provider=provider)

    def set_fields(
        self,
        template_id: str,
        values: Mapping[str, Any],
        layer: str | None = None,
        provider: str | None = None,
    ) -> WriteResult:
        """Set fields of one template by dotted path (``{"configuration.max_number": 20}``;
        ``None`` unsets); where each lands and the validation are as for :meth:`save_template`."""
        return self.writer.set_fields(template_id, values, layer=layer, provider=provider)

    def delete_template(
        self,
        template_id: str,
        provider: str | None = None,
        layer: str | None = None,
        all_layers: bool = False,
    ) -> WriteResult:
        """Remove a template from one layer (the highest holding it, or ``layer``), or
        from all with ``all_layers``. ``WriteResult.still_in`` names the lower layers
        that still hold it: the template then falls back to them rather than vanishing."""
        return self.writer.delete_template(
            template_id, provider=provider, layer=layer, all_layers=all_layers
        )

    def cache_entries(self) -> list[TemplateCacheEntryDTO]:
        """The templates of the current load as the on-disk cache holds them, with the
        number of times that cached load was served; empty when it is not cached."""
        return templar.cache.cache_entries(self.session)

    def cache_info(self) -> CacheInfo:
        """Directory, size, entries, hits and misses of the cache, and this config's entry."""
        return templar.cache.cache_info(self.session)

    def clear_cache(self, *, everything: bool = False) -> int:
        """Remove this engine's entries (the loads of its config directory, the parsed files
        of its layers) from the cache; returns how many there were. Other config directories
        keep theirs; ``everything=True`` empties the whole cache directory and its counters."""
        return templar.cache.clear_cache(self.session, everything=everything)
