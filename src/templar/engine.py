"""The engine: discover layers, merge them per provider instance, validate, answer queries."""

from __future__ import annotations

import gc
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, ValidationError

from templar.errors import (
    ConfigurationError,
    StorageError,
    TemplarError,
    TemplateNotFoundError,
    did_you_mean,
    unknown_provider_type,
)
from templar.merge import (
    FieldPath,
    LayerRef,
    TemplateVersion,
    explain_versions,
    merge_versions,
    normalize,
    value_at,
    winning_version,
)
from templar.models import (
    CORE_FIELDS,
    ChangeEvent,
    FieldProvenance,
    LayerKind,
    Severity,
    SourceLocation,
    TemplateCacheEntryDTO,
    TemplateDTO,
    TemplateExplanation,
    TemplateValidationResultDTO,
    ValidationIssueDTO,
    ValidationReport,
)
from templar.plugins import PluginHost
from templar.positions import PositionIndex
from templar.providers import GenericConfiguration, ProviderSpec
from templar.settings import (
    EngineSettings,
    load_settings,
    resolve_config_dir,
    validate_settings,
)
from templar.storage import LayerSource, RawLayer, RawTemplate, StorageBackend

if TYPE_CHECKING:
    from templar.cache import CacheInfo, TemplateCache
    from templar.snapshot import LayerReader, StorageSnapshot
    from templar.watch import Watcher

GENERIC_TYPE = "generic"


@dataclass(frozen=True)
class ProviderInstance:
    """A provider instance: declared in the engine config, or one per type found."""

    name: str
    type: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    declared_index: int | None = None


@dataclass
class EngineState:
    """Everything one load produced."""

    instances: list[ProviderInstance] = field(default_factory=list)
    templates: dict[str, dict[str, TemplateDTO]] = field(default_factory=dict)
    file_issues: list[ValidationIssueDTO] = field(default_factory=list)
    versions: dict[tuple[str, str], list[TemplateVersion]] = field(default_factory=dict)
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: (template id, instance, type, issues, supported features), one per template;
    #: the result DTOs are built from these only when someone asks (most loads don't).
    verdicts: list[tuple[str, ProviderInstance, list[ValidationIssueDTO], list[str]]] = field(
        default_factory=list
    )
    _results: list[TemplateValidationResultDTO] | None = None
    #: template ids served from their last good version, per instance (hot reload)
    stale: dict[str, set[str]] = field(default_factory=dict)
    #: the layers this load assembled, by location; hot reload keeps the last good ones
    layers: dict[str, RawLayer] = field(default_factory=dict)
    #: the storage fingerprint this load was made from, and its cache key if cached
    fingerprint: str | None = None
    cache_key: str | None = None
    #: read from the on-disk cache: templates and verdicts only, no versions
    from_cache: bool = False

    @property
    def results(self) -> list[TemplateValidationResultDTO]:
        """One validation result per template."""
        if self._results is None or len(self._results) != len(self.verdicts):
            self._results = [
                TemplateValidationResultDTO.model_construct(
                    validation_time=self.validated_at,
                    template_id=template_id,
                    provider_instance=instance.name,
                    provider_type=instance.type,
                    is_valid=not any(i.severity is Severity.ERROR for i in issues),
                    errors=[i for i in issues if i.severity is Severity.ERROR],
                    warnings=[i for i in issues if i.severity is not Severity.ERROR],
                    supported_features=features,
                )
                for template_id, instance, issues, features in self.verdicts
            ]
        return self._results


Verdict = tuple[str, ProviderInstance, list[ValidationIssueDTO], list[str]]


@dataclass
class _AssemblyMemo:
    """What the last assembly computed, so that a reload merges and validates only
    the templates whose layers changed (the layer reader hands back the very same
    template objects for everything unchanged)."""

    versions: dict[tuple[int, str], tuple[RawTemplate, TemplateVersion]] = field(
        default_factory=dict
    )
    defaults: dict[tuple[str, str, str], list[TemplateVersion]] = field(default_factory=dict)
    verdicts: dict[tuple[str, str], tuple[list[TemplateVersion], TemplateDTO | None, Verdict]] = (
        field(default_factory=dict)
    )


class TemplateEngine:
    """Templates of one config directory: discovered, merged, validated, queried.

    Each engine owns its plugin manager, settings and state; several can live in one
    process. Loading is lazy: the first query loads, :meth:`reload` loads again.

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
        self.config_dir = resolve_config_dir(config_dir)
        self.settings_file: Path | None = None
        self._settings_from_file = settings is None
        if settings is None:
            self.settings, self.settings_file = load_settings(self.config_dir)
        elif isinstance(settings, EngineSettings):
            self.settings = settings
        else:
            self.settings = validate_settings(dict(settings))
        self.plugins = PluginHost(load_entrypoints=load_entrypoints, extra_plugins=plugins)
        self.use_cache = use_cache
        self._storage: StorageBackend | None = None
        self._state: EngineState | None = None
        self._config_positions: dict[str, PositionIndex | None] = {}
        self._cache: TemplateCache | None = None
        self._reader: LayerReader | None = None
        self._memo_in = self._memo_out = _AssemblyMemo()

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

    # -- plugins and storage -------------------------------------------------------

    def register_plugin(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object on this engine only; the next query reloads."""
        registered = self.plugins.register(plugin, name)
        self._reset_pipeline()
        self._state = None
        return registered

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin registered with :meth:`register_plugin`; the next query reloads."""
        self.plugins.unregister(name)
        self._reset_pipeline()
        self._state = None

    @property
    def providers(self) -> dict[str, ProviderSpec]:
        """Registered provider types by name."""
        return {name: entry.spec for name, entry in self.plugins.providers.items()}

    @property
    def storage(self) -> StorageBackend:
        """The storage backend named by ``storage.backend`` in the engine config."""
        if self._storage is None:
            name = self.settings.storage.backend
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
        """The on-disk cache, or ``None`` when ``use_cache=False`` or ``cache.enabled``
        is false."""
        if not (self.use_cache and self.settings.cache.enabled):
            return None
        if self._cache is None:
            from templar.cache import TemplateCache

            self._cache = TemplateCache.for_settings(self.settings.cache, self.config_dir)
        return self._cache

    def _reset_pipeline(self) -> None:
        """Forget the storage, the layers read and the memo (settings or plugins changed)."""
        self._storage = None
        self._reader = None
        self._cache = None
        self._memo_in = self._memo_out = _AssemblyMemo()
        self._config_positions = {}

    def _layer_reader(self) -> LayerReader:
        storage = self.storage
        if self._reader is None or self._reader.storage is not storage:
            from templar.snapshot import LayerReader

            self._reader = LayerReader(storage, self.cache, scope=self.config_dir)
        return self._reader

    # -- queries ----------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        """The current load, loading first if needed."""
        if self._state is None:
            self._state = self._load()
        return self._state

    def reload(self) -> ChangeEvent:
        """Load again from the files, and ``templar.yaml`` unless settings came from code.

        Only files that changed are parsed again, and only templates whose layers
        changed are merged and validated again. Returns what changed; when something
        did, plugins see the event through ``templar_on_change``.
        """
        return self._reload(keep_last_good=False) or ChangeEvent()

    def watch(
        self,
        on_change: Callable[[ChangeEvent], Any] | None = None,
        *,
        debounce_ms: int | None = None,
    ) -> Watcher:
        """Hot reload: reload whenever a layer file or ``templar.yaml`` changes.

        Without ``on_change``, iterate the returned :class:`~templar.watch.Watcher` for
        :class:`ChangeEvent` objects. With it, the watcher runs in a background thread
        and calls ``on_change`` for each event. Either way ``stop()`` ends it. A template
        whose new version is invalid keeps its last good version and is listed as
        stale; see docs/cache-and-hot-reload.md.

        :param debounce_ms: quiet time before reloading; default ``watch.debounce_ms``.
        """
        from templar.watch import Watcher

        watcher = Watcher(self, debounce_ms=debounce_ms, on_change=on_change)
        return watcher.start() if on_change is not None else watcher

    def awatch(self, *, debounce_ms: int | None = None) -> Watcher:
        """:meth:`watch` for asyncio: ``async for event in engine.awatch(): ...``."""
        from templar.watch import Watcher

        return Watcher(self, debounce_ms=debounce_ms)

    def stale_templates(self) -> dict[str, list[str]]:
        """Template ids served from their last good version (hot reload), per instance."""
        return {name: sorted(ids) for name, ids in self.state.stale.items() if ids}

    # -- the cache ----------------------------------------------------------------------

    def cache_entries(self) -> list[TemplateCacheEntryDTO]:
        """The templates of the current load as the on-disk cache holds them, with the
        number of times that cached load was served; empty when it is not cached."""
        state = self.state
        cache = self.cache
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

    def cache_info(self) -> CacheInfo:
        """Directory, size, entries, hits and misses of the cache, and the entry of
        this config directory (``templates cache info``)."""
        from templar.cache import CacheInfo, TemplateCache

        cache = self.cache
        if cache is None:
            unused = TemplateCache.for_settings(self.settings.cache, self.config_dir)
            info = CacheInfo(
                directory=str(unused.directory), enabled=False, ttl_seconds=unused.ttl_seconds
            )
            return info
        try:
            key = self._cache_key(self._layer_reader().snapshot())
            return cache.info(key)
        finally:
            cache.close()

    def clear_cache(self) -> int:
        """Empty the cache directory; returns how many entries it held."""
        from templar.cache import TemplateCache

        cache = self.cache or TemplateCache.for_settings(self.settings.cache, self.config_dir)
        try:
            return cache.clear()
        finally:
            cache.close()

    @property
    def instances(self) -> list[ProviderInstance]:
        """The provider instances of this config, declared or found."""
        return list(self.state.instances)

    def list_templates(
        self,
        provider: str | None = None,
        provider_type: str | None = None,
        active_only: bool = True,
    ) -> list[TemplateDTO]:
        """Every valid effective template, instance by instance, in file order.

        :param provider: only this provider instance.
        :param provider_type: only instances of this provider type.
        :param active_only: leave out templates with ``is_active: false``.
        """
        self._check_scope(provider, provider_type)
        out: list[TemplateDTO] = []
        for instance in self.state.instances:
            if provider is not None and instance.name != provider:
                continue
            if provider_type is not None and instance.type != provider_type:
                continue
            for template in self.state.templates.get(instance.name, {}).values():
                if active_only and not template.is_active:
                    continue
                out.append(template)
        return out

    def _check_scope(self, provider: str | None, provider_type: str | None) -> None:
        """A provider instance or type that does not exist is a typo, not an empty answer."""
        names = [i.name for i in self.state.instances]
        if provider is not None and provider not in names:
            raise TemplarError(
                f"unknown provider instance '{provider}'{did_you_mean(provider, names)}; "
                f"instances: {', '.join(names) or 'none'}",
                provider=provider,
            )
        types = {i.type for i in self.state.instances} | set(self.providers)
        if provider_type is not None and provider_type not in types:
            raise TemplarError(
                unknown_provider_type(provider_type, self.providers),
                provider_type=provider_type,
            )

    def get_template(self, template_id: str, provider: str | None = None) -> TemplateDTO | None:
        """One template by id, or ``None``. Without ``provider``, an id that several
        instances define is an error naming them; an unknown ``provider`` is an error."""
        self._check_scope(provider, None)
        found = [
            (instance.name, templates[template_id])
            for instance in self.state.instances
            if (provider is None or instance.name == provider)
            and template_id in (templates := self.state.templates.get(instance.name, {}))
        ]
        if len(found) > 1:
            names = ", ".join(name for name, _ in found)
            raise TemplarError(
                f"template '{template_id}' exists in several provider instances ({names}); "
                "choose one with provider= (--provider on the command line)",
                template_id=template_id,
            )
        return found[0][1] if found else None

    def search_templates(
        self,
        criteria: Mapping[str, Any],
        *,
        provider: str | None = None,
        provider_type: str | None = None,
        active_only: bool = False,
    ) -> list[TemplateDTO]:
        """Templates whose fields equal every criterion (inactive ones included by default).

        Keys are field names or dotted paths (``configuration.max_number``); a key
        that is not a core field is looked up in ``configuration``. A value matches
        when equal, equal as text (``"5"`` matches ``5``, ``"true"`` matches ``True``),
        or contained in a list field. The other arguments are as for :meth:`list_templates`.
        """
        templates = self.list_templates(provider, provider_type, active_only)
        if not criteria:
            return templates
        return [t for t in templates if _matches_all(t.model_dump(mode="json"), criteria)]

    def validate(self) -> ValidationReport:
        """Validation results of every template and every file. Never raises for bad content."""
        state = self.state
        return ValidationReport(results=list(state.results), file_issues=list(state.file_issues))

    def explain(self, template_id: str, provider: str | None = None) -> TemplateExplanation:
        """Where every field of one effective template comes from."""
        self._check_scope(provider, None)
        state = self.state
        if state.from_cache:  # the cache keeps results, not provenance: read the files
            self._state = state = self._load(from_cache=False)
        keys = [
            (i.name, template_id)
            for i in state.instances
            if (provider is None or i.name == provider) and (i.name, template_id) in state.versions
        ]
        if not keys:
            known = {tid for (name, tid) in state.versions if provider in (None, name)}
            raise TemplateNotFoundError(
                f"no template '{template_id}'"
                + (f" in provider instance '{provider}'" if provider else "")
                + did_you_mean(template_id, known),
                template_id=template_id,
            )
        if len(keys) > 1:
            names = ", ".join(k[0] for k in keys)
            raise TemplarError(
                f"template '{template_id}' exists in several provider instances ({names}); "
                "choose one with provider= (--provider on the command line)",
                template_id=template_id,
            )
        instance = next(i for i in state.instances if i.name == keys[0][0])
        versions = state.versions[keys[0]]
        mode = self.settings.merge
        fields = []
        explained = sorted(explain_versions(versions, mode), key=lambda item: _field_order(item[0]))
        for path, value, winner, shadowed in explained:
            fields.append(
                FieldProvenance(
                    field=".".join(str(p) for p in path),
                    value=value,
                    source=self._location(winner, path, value),
                    shadowed=[self._location(v, path, old) for v, old in shadowed],
                    unset=value is None and value_at(winner.body, path) is None,
                )
            )
        layers = [self._location(v, (), None) for v in sorted(versions, key=lambda v: v.layer.kind)]
        return TemplateExplanation(
            template_id=template_id,
            provider_instance=instance.name,
            provider_type=instance.type,
            merge=_merge_of(versions, mode),
            layers=layers,
            fields=fields,
        )

    # -- loading ----------------------------------------------------------------------

    def _load(self, *, from_cache: bool = True) -> EngineState:
        """A load: from the cache when its key matches, else from the layers (each
        changed file parsed, or taken from the cache of parsed files), then cached."""
        cache = self.cache
        try:
            with gc_paused():
                reader = self._layer_reader()
                snapshot = reader.snapshot()
                key = self._cache_key(snapshot) if cache is not None else None
                if cache is not None and key is not None and from_cache:
                    cached = cache.load_state(key)
                    if cached is not None:
                        state = cached.state
                        state.fingerprint, state.cache_key = snapshot.fingerprint, key
                        return state
                failures = self._plugin_failures()
                state = self._assemble(reader.layers(snapshot))
                state.fingerprint = snapshot.fingerprint
                self._store(state, snapshot, key, failures)
                return state
        finally:
            if cache is not None:
                cache.close()

    def _cache_key(self, snapshot: StorageSnapshot) -> str:
        """Everything that can change a load, hashed (see :mod:`templar.cache`)."""
        from templar.cache import plugins_fingerprint, state_key

        return state_key(
            {
                "config_dir": str(self.config_dir),
                "settings": self.settings.model_dump_json(exclude={"cache", "watch"}),
                "settings_file": str(self.settings_file),
                "plugins": plugins_fingerprint(self.plugins),
                "storage": self.settings.storage.backend,
                "fingerprint": snapshot.fingerprint,
            }
        )

    def _plugin_failures(self) -> list[tuple[str, str | None]]:
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
        if self._plugin_failures() != failures_before:
            return
        if cache.store_state(key, state, self.config_dir):
            state.cache_key = key

    def _reload(
        self, *, keep_last_good: bool, files: Iterable[str] = (), full: bool = False
    ) -> ChangeEvent | None:
        """Bring the state up to date with the files; the event, or ``None`` when
        nothing an observer would care about changed.

        ``keep_last_good`` is hot reload's rule: templates that break keep their last
        good version (stale), and a file that stops parsing keeps its templates.
        """
        from templar.changes import change_event, keep_parsable_layers, something_happened

        old = self._state
        if self._settings_from_file:
            settings, settings_file = load_settings(self.config_dir)
            if full or settings != self.settings or settings_file != self.settings_file:
                self.settings, self.settings_file = settings, settings_file
                self._reset_pipeline()
                full = True
            self._config_positions = {}  # the lines of templar.yaml may have moved
        elif full:
            self._reset_pipeline()
        cache = self.cache
        try:
            with gc_paused():
                reader = self._layer_reader()
                snapshot = reader.snapshot()
                if (
                    old is not None
                    and not old.from_cache
                    and snapshot.fingerprint == old.fingerprint
                ):
                    return None
                layers = reader.layers(snapshot)
                kept: set[str] = set()
                if keep_last_good and old is not None:
                    layers, kept = keep_parsable_layers(layers, old.layers)
                partial = self._assemble_changed(old, layers) if old and not full else None
                state = partial or self._assemble(layers)
                state.fingerprint = snapshot.fingerprint
                # A reload does not write the load into the cache: it reuses template
                # objects this engine has handed out (and a hot reload may hold last
                # good versions), which a caller may have changed; a new process then
                # loads from the files and the cache of parsed files, and stores that.
                event = change_event(
                    old,
                    state,
                    keep_last_good=keep_last_good,
                    stale_layers=kept,
                    files=files or reader.changed,
                    full_reload=full,
                )
        finally:
            if cache is not None:
                cache.close()
        self._state = state
        if old is None or not something_happened(event, old, state):
            return None
        self._emit(event)
        return event

    def _emit(self, event: ChangeEvent) -> None:
        for _ in self.plugins.call_each("templar_on_change", event=event, engine=self):
            pass

    def _prepare_hot_reload(self) -> None:
        """Have the layers in memory (a load from the cache has none) before watching."""
        if self._state is None or self._state.from_cache:
            self._state = self._load(from_cache=False)

    def _hot_reload(self, files: Sequence[str], *, full: bool) -> ChangeEvent | None:
        """One settled batch of file changes, applied; ``None`` if it changed nothing.

        A ``templar.yaml`` that no longer loads is reported as an error event and the
        last good state stays in service.
        """
        try:
            return self._reload(keep_last_good=True, files=files, full=full)
        except ConfigurationError as e:
            file, line, column = (e.context.get(k) for k in ("file", "line", "column"))
            where = f"{file}:{line}:{column}: " if line else f"{file}: "
            issue = ValidationIssueDTO(
                code="config-error",
                severity=Severity.ERROR,
                message=e.message.removeprefix(where),
                file=file,
                line=line,
                column=column,
                field=e.context.get("field"),
            )
            event = ChangeEvent(issues=[issue], files=list(files), full_reload=True)
            self._emit(event)
            return event

    def _assemble(self, layers: Sequence[RawLayer]) -> EngineState:
        state = EngineState()
        # what the previous assembly computed is looked up in ``_memo_in``; this one's
        # goes to ``_memo_out``, so entries of templates gone are dropped
        self._memo_in, self._memo_out = self._memo_out, _AssemblyMemo()
        state.layers = {layer.source.location: layer for layer in layers}
        for layer in layers:
            state.file_issues.extend(layer.issues)
        if not layers:
            state.file_issues.append(
                ValidationIssueDTO(
                    code="no-templates",
                    severity=Severity.WARNING,
                    message=f"no template files found in {self.config_dir} (expected names "
                    "such as templates.yaml, {type}prov_templates.yaml; see the user guide)",
                    file=str(self.config_dir),
                )
            )
        providers = self.providers
        state.instances = self._instances(layers, state)
        by_kind: dict[tuple[LayerKind, str | None], list[RawLayer]] = defaultdict(list)
        for layer in layers:
            by_kind[(layer.source.kind, layer.source.scope)].append(layer)
        self._check_ambiguous(by_kind, state)

        for instance in state.instances:
            spec = providers.get(instance.type)
            if spec is None:
                self._report_unknown_type(instance, by_kind, state)
                continue
            versions = self._collect_versions(instance, spec, by_kind, state)
            templates: dict[str, TemplateDTO] = {}
            for template_id, template_versions in versions.items():
                state.versions[(instance.name, template_id)] = template_versions
                dto, verdict = self._validated(instance, spec, template_id, template_versions)
                state.verdicts.append(verdict)
                if dto is not None:
                    templates[template_id] = dto
            state.templates[instance.name] = templates
        return state

    def _assemble_changed(self, old: EngineState, layers: Sequence[RawLayer]) -> EngineState | None:
        """What :meth:`_assemble` would make of ``layers``, computed from ``old`` by
        merging and validating only the templates that changed; ``None`` when the
        change is more than edited values (a file or a template appeared, vanished or
        moved, a provider type changed, an issue is attached to a changed file).

        This is the hot-reload path: an edit in a 10,000-template config touches a
        handful of templates, and walking all of them would cost more than the edit.
        """
        if old.from_cache or list(old.layers) != [layer.source.location for layer in layers]:
            return None
        changed = [
            (old.layers[layer.source.location], layer)
            for layer in layers
            if layer is not old.layers[layer.source.location]
        ]
        touched = {after.source.location for _, after in changed}
        if any(issue.file in touched for issue in old.file_issues):
            return None
        affected: set[str] = set()
        for before, after in changed:
            if after.issues or [(t.template_id, t.provider_type) for t in before.templates] != [
                (t.template_id, t.provider_type) for t in after.templates
            ]:
                return None
            affected.update(
                t.template_id
                for b, t in zip(before.templates, after.templates, strict=True)
                if b is not t
            )
        # issues carry line numbers, which an edit may have moved: validate again
        affected.update(
            tid
            for tid, _, issues, _ in old.verdicts
            if issues and any(issue.file in touched for issue in issues)
        )
        by_kind: dict[tuple[LayerKind, str | None], list[RawLayer]] = defaultdict(list)
        for layer in layers:
            by_kind[(layer.source.kind, layer.source.scope)].append(layer)
        if any(len(by_kind[(a.source.kind, a.source.scope)]) > 1 for _, a in changed):
            return None  # one id in two files of a layer: the ambiguity check decides

        state = EngineState(instances=old.instances, file_issues=list(old.file_issues))
        state.layers = {layer.source.location: layer for layer in layers}
        state.versions = dict(old.versions)
        state.verdicts = list(old.verdicts)
        state.templates = {  # what a full assembly serves: no last good version kept
            name: {t: d for t, d in ts.items() if t not in old.stale[name]}
            if old.stale.get(name)
            else dict(ts)
            for name, ts in old.templates.items()
        }
        if not affected:
            return state
        position = {
            (instance.name, tid): n
            for n, (tid, instance, _, _) in enumerate(old.verdicts)
            if tid in affected
        }
        scratch = EngineState()
        providers = self.providers
        for instance in state.instances:
            spec = providers.get(instance.type)
            if spec is None:
                continue
            fresh = self._collect_versions(instance, spec, by_kind, scratch, only=affected)
            if scratch.file_issues:
                return None
            templates = state.templates.setdefault(instance.name, {})
            reorder = False
            for tid, versions in fresh.items():
                key = (instance.name, tid)
                if key not in position:
                    return None
                state.versions[key] = versions
                dto, verdict = self._validated(instance, spec, tid, versions)
                state.verdicts[position[key]] = verdict
                if dto is not None and tid in templates:
                    templates[tid] = dto
                else:
                    reorder = True  # valid before or after, not both: rebuild in order
                    templates.pop(tid, None)
                    if dto is not None:
                        templates[tid] = dto
            if reorder:
                order = [tid for tid, i, _, _ in state.verdicts if i.name == instance.name]
                state.templates[instance.name] = {
                    tid: templates[tid] for tid in order if tid in templates
                }
        return state

    def _instances(self, layers: Sequence[RawLayer], state: EngineState) -> list[ProviderInstance]:
        """The declared provider instances, or, with none declared, one per type found:
        in type and provider file names, in ``provider_type`` fields of the shared layer
        (``generic`` for templates naming none), and in instance file names that are
        the name of an installed provider type (``awsinst_templates.yaml``)."""
        declared = self.settings.providers
        if declared:
            instances = [
                ProviderInstance(p.name, p.type, p.defaults, index)
                for index, p in enumerate(declared)
            ]
        else:
            types: set[str] = set()
            for layer in layers:
                source = layer.source
                if source.kind is LayerKind.SHARED:
                    types.update(t.provider_type or GENERIC_TYPE for t in layer.templates)
                elif source.kind is LayerKind.INSTANCE:
                    if source.scope in self.providers:
                        types.add(source.scope)
                elif source.scope:
                    types.add(source.scope)
            instances = [ProviderInstance(t, t) for t in sorted(types)]
        names = {i.name for i in instances}
        type_names = {i.type for i in instances}

        def warn(code: str, message: str, file: str, **extra: Any) -> None:
            state.file_issues.append(
                ValidationIssueDTO(
                    code=code, severity=Severity.WARNING, message=message, file=file, **extra
                )
            )

        for layer in layers:
            source = layer.source
            scope = source.scope or ""
            orb = self.settings.orb
            if source.kind is LayerKind.INSTANCE and scope not in names and orb is not None:
                listed = orb.provider(scope)
                warn(
                    "unknown-instance",
                    f"file is for provider instance '{scope}', which is disabled in "
                    f"{listed.file.label}; file not loaded"
                    if listed is not None
                    else f"file is for provider instance '{scope}', which {orb.config_file.name} "
                    f"does not declare{did_you_mean(scope, names)} (provider.providers[]: "
                    "name, type); file not loaded",
                    source.location,
                )
            elif source.kind is LayerKind.INSTANCE and scope not in names:
                warn(
                    "unknown-instance",
                    f"file is for provider instance '{scope}', which is not declared"
                    f"{did_you_mean(scope, names)}; declare it under 'providers:' in "
                    "templar.yaml (name and type); file not loaded",
                    source.location,
                )
            elif source.kind in (LayerKind.TYPE, LayerKind.PROVIDER) and scope not in type_names:
                warn(
                    "unused-layer",
                    f"no provider instance of type '{scope}' is declared"
                    f"{did_you_mean(scope, type_names)}; file not loaded",
                    source.location,
                )
            elif source.kind is LayerKind.SHARED and declared:
                for template in layer.templates:
                    wanted = template.provider_type
                    if wanted is None or wanted in type_names:
                        continue
                    line, column = self._locate(source, template.doc_path)
                    where: dict[str, Any] = {
                        "template_id": template.template_id,
                        "field": "provider_type",
                        "line": line,
                        "column": column,
                    }
                    if wanted in self.providers:
                        warn(
                            "no-instance-for-type",
                            f"template names provider type '{wanted}', but no provider "
                            "instance of that type is declared; template not loaded",
                            source.location,
                            **where,
                        )
                    else:
                        state.file_issues.append(
                            ValidationIssueDTO(
                                code="unknown-provider-type",
                                severity=Severity.ERROR,
                                message=unknown_provider_type(wanted, self.providers),
                                file=source.location,
                                **where,
                            )
                        )
        return instances

    def _check_ambiguous(
        self, by_kind: Mapping[tuple[LayerKind, str | None], list[RawLayer]], state: EngineState
    ) -> None:
        """One id in two files of one layer (``.yaml`` and ``.json``) is ambiguous: keep the first."""
        for group in by_kind.values():
            if len(group) < 2:
                continue
            seen: dict[str, str] = {}
            for index, layer in enumerate(group):
                kept = []
                for template in layer.templates:
                    if template.template_id in seen:
                        line, column = self._locate(layer.source, template.doc_path)
                        state.file_issues.append(
                            ValidationIssueDTO(
                                code="ambiguous-template-id",
                                severity=Severity.ERROR,
                                message=f"template '{template.template_id}' is also defined in "
                                f"{Path(seen[template.template_id]).name}, a file of the same "
                                "layer; that definition is kept",
                                template_id=template.template_id,
                                field="template_id",
                                file=layer.source.location,
                                line=line,
                                column=column,
                            )
                        )
                        continue
                    seen[template.template_id] = layer.source.location
                    kept.append(template)
                if len(kept) != len(layer.templates):
                    # a copy: the layer reader keeps the layer as read for the next reload
                    group[index] = RawLayer(layer.source, kept, layer.issues)

    def _report_unknown_type(
        self,
        instance: ProviderInstance,
        by_kind: Mapping[tuple[LayerKind, str | None], list[RawLayer]],
        state: EngineState,
    ) -> None:
        known = list(self.providers)
        if instance.declared_index is not None and self.settings_file is not None:
            # The type is named once, in templar.yaml: say so there, once.
            file = str(self.settings_file)
            path: tuple[Any, ...] = ("providers", instance.declared_index, "type")
            declared = self.settings.orb.provider(instance.name) if self.settings.orb else None
            if declared is not None and declared.file.path is not None:
                file, path = str(declared.file.path), (*declared.doc_path, "type")
            position = self._config_position(file, path, value=True)
            line, column = position if position else (None, None)
            state.file_issues.append(
                ValidationIssueDTO(
                    code="unknown-provider-type",
                    severity=Severity.ERROR,
                    message=f"provider instance '{instance.name}': "
                    f"{unknown_provider_type(instance.type, known)}; its templates are not loaded",
                    provider_instance=instance.name,
                    field=".".join(str(p) for p in path),
                    file=file,
                    line=line,
                    column=column,
                )
            )
            return
        for layer in self._layers_of(instance, by_kind):
            for template in layer.templates:
                if layer.source.kind is LayerKind.SHARED and not self._shared_applies(
                    template, instance
                ):
                    continue
                line, column = self._locate(layer.source, template.doc_path)
                state.file_issues.append(
                    ValidationIssueDTO(
                        code="unknown-provider-type",
                        severity=Severity.ERROR,
                        message=unknown_provider_type(instance.type, known),
                        template_id=template.template_id,
                        provider_instance=instance.name,
                        field="provider_type",
                        file=layer.source.location,
                        line=line,
                        column=column,
                    )
                )

    def _shared_applies(self, template: RawTemplate, instance: ProviderInstance) -> bool:
        """Whether a template of the shared layer belongs to ``instance``.

        A template naming a provider type belongs to the instances of that type. One
        naming none belongs to every declared instance; with no instance declared, to
        the built-in ``generic`` provider. A ``provider_name`` narrows it to the
        instance of that name.
        """
        if template.provider_type is not None:
            if template.provider_type != instance.type:
                return False
        elif not self.settings.providers and instance.type != GENERIC_TYPE:
            return False
        # ORB pins a template to one provider instance with provider_name.
        pinned = template.body.get("provider_name", template.body.get("providerName"))
        return pinned in (None, "", instance.name)

    @staticmethod
    def _layers_of(
        instance: ProviderInstance,
        by_kind: Mapping[tuple[LayerKind, str | None], list[RawLayer]],
    ) -> list[RawLayer]:
        """The file layers of an instance, lowest priority first."""
        shared = [
            layer
            for (kind, _), group in by_kind.items()
            if kind is LayerKind.SHARED
            for layer in group
        ]
        return [
            *shared,
            *by_kind.get((LayerKind.PROVIDER, instance.type), []),
            *by_kind.get((LayerKind.TYPE, instance.type), []),
            *by_kind.get((LayerKind.INSTANCE, instance.name), []),
        ]

    def _collect_versions(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        by_kind: Mapping[tuple[LayerKind, str | None], list[RawLayer]],
        state: EngineState,
        only: set[str] | None = None,
    ) -> dict[str, list[TemplateVersion]]:
        """The versions of each template of ``instance``, lowest priority first (of the
        ids in ``only``, when given)."""
        versions: dict[str, list[TemplateVersion]] = {}
        for layer in self._layers_of(instance, by_kind):
            source = layer.source
            ref = LayerRef(source.kind, source, source.kind.label)
            for template in layer.templates:
                if only is not None and template.template_id not in only:
                    continue
                if source.kind is LayerKind.SHARED:
                    if not self._shared_applies(template, instance):
                        continue
                elif template.provider_type not in (None, instance.type):
                    line, column = self._locate(source, template.doc_path)
                    state.file_issues.append(
                        ValidationIssueDTO(
                            code="provider-type-mismatch",
                            severity=Severity.ERROR,
                            message=f"provider_type '{template.provider_type}' in a layer of "
                            f"provider instance '{instance.name}' (type '{instance.type}'); "
                            "template skipped",
                            template_id=template.template_id,
                            provider_instance=instance.name,
                            field="provider_type",
                            file=source.location,
                            line=line,
                            column=column,
                        )
                    )
                    continue
                version = self._normalized(template, spec, ref, layer.may_hold_nulls)
                versions.setdefault(template.template_id, []).append(version)
        if not versions:
            return versions
        defaults = self._defaults_versions(instance, spec)
        return {tid: [*defaults, *own] for tid, own in versions.items()}

    def _normalized(
        self, template: RawTemplate, spec: ProviderSpec, ref: LayerRef, may_hold_nulls: bool
    ) -> TemplateVersion:
        """``template`` in canonical form, from the memo when it is the same object."""
        key = (id(template), spec.name)
        known = self._memo_in.versions.get(key) or self._memo_out.versions.get(key)
        if known is not None and known[0] is template:
            version = known[1]
        else:
            body = template.body
            if self.settings.orb is not None:
                from templar.orb import without_empty

                body = without_empty(body)  # ORB: an empty value is "not set"
            version = normalize(body, spec, ref, template.doc_path)
            # The id may be a mapping key rather than a field: record it either way,
            # so provenance shows every layer that defines the template.
            version.body["template_id"] = template.template_id
            version.may_hold_nulls = may_hold_nulls
        self._memo_out.versions[key] = (template, version)
        return version

    def _validated(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        template_id: str,
        versions: list[TemplateVersion],
    ) -> tuple[TemplateDTO | None, Verdict]:
        """:meth:`_validate`, skipped when the versions are the very objects validated
        last time without any issue (issues carry line numbers, which may have moved)."""
        key = (instance.name, template_id)
        known = self._memo_in.verdicts.get(key)
        if (
            known is not None
            and not known[2][2]
            and len(known[0]) == len(versions)
            and all(a is b for a, b in zip(known[0], versions, strict=True))
        ):
            dto, verdict = known[1], known[2]
        else:
            dto, verdict = self._validate(instance, spec, template_id, versions)
        self._memo_out.verdicts[key] = (versions, dto, verdict)
        return dto, verdict

    def _defaults_versions(
        self, instance: ProviderInstance, spec: ProviderSpec
    ) -> list[TemplateVersion]:
        key = (instance.name, instance.type, spec.name)
        known = self._memo_in.defaults.get(key) or self._memo_out.defaults.get(key)
        if known is None:
            known = self._make_defaults_versions(instance, spec)
        self._memo_out.defaults[key] = known
        return known

    def _make_defaults_versions(
        self, instance: ProviderInstance, spec: ProviderSpec
    ) -> list[TemplateVersion]:
        out = []
        if spec.defaults:
            ref = LayerRef(LayerKind.PLUGIN_DEFAULTS, None, f"plugin-defaults ({spec.name})")
            out.append(normalize(dict(spec.defaults), spec, ref))
        orb = self.settings.orb
        if orb is not None:
            from templar.orb import defaults_versions

            return [*out, *defaults_versions(orb, instance.name, instance.type, spec)]
        settings_source = (
            LayerSource(LayerKind.TYPE_DEFAULTS, instance.type, str(self.settings_file))
            if self.settings_file
            else None
        )
        type_defaults = self.settings.provider_defaults.get(instance.type)
        if type_defaults:
            ref = LayerRef(LayerKind.TYPE_DEFAULTS, settings_source, "type-defaults")
            out.append(normalize(type_defaults, spec, ref, ("provider_defaults", instance.type)))
        if instance.defaults:
            ref = LayerRef(LayerKind.INSTANCE_DEFAULTS, settings_source, "instance-defaults")
            path = ("providers", instance.declared_index, "defaults")
            out.append(normalize(dict(instance.defaults), spec, ref, path))
        return out

    # -- validation -------------------------------------------------------------------

    def _validate(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        template_id: str,
        versions: list[TemplateVersion],
    ) -> tuple[
        TemplateDTO | None, tuple[str, ProviderInstance, list[ValidationIssueDTO], list[str]]
    ]:
        mode = self.settings.merge
        merged = merge_versions(versions, mode)
        issues: list[ValidationIssueDTO] = []

        def add(
            code: str,
            message: str,
            path: FieldPath,
            severity: Severity = Severity.ERROR,
            at_value: bool = False,
        ) -> None:
            issues.append(
                self._issue(
                    code, message, path, severity, instance, template_id, versions, at_value
                )
            )

        for version in versions:
            if version.merge not in (None, "deep", "replace") and version.layer.source:
                line, column = self._locate(
                    version.layer.source, (*version.doc_path, "_merge"), value=True
                )
                issues.append(
                    ValidationIssueDTO(
                        code="invalid-merge",
                        severity=Severity.WARNING,
                        message=f"_merge must be 'deep' or 'replace', not {version.merge!r}"
                        f"{did_you_mean(str(version.merge), ['deep', 'replace'])}; ignored",
                        template_id=template_id,
                        provider_instance=instance.name,
                        field="_merge",
                        file=version.layer.source.location,
                        line=line,
                        column=column,
                    )
                )
        near_misses = [m for v in versions for m in v.near_misses]
        # A model that forbids unknown keys reports a typo itself, as an error.
        if near_misses and spec.configuration_model.model_config.get("extra") == "forbid":
            near_misses = []
        declared = _field_names(spec.configuration_model, spec) if near_misses else []
        if near_misses:
            for written, close in near_misses:
                if written in declared or spec.canonical_key(written) in declared:
                    continue  # the provider declares it: not a typo of a core field
                add(
                    "unknown-key",
                    f"'{written}' is not a core field and was read as configuration "
                    f"(did you mean '{close}'?)",
                    ("configuration", spec.canonical_key(written)),
                    Severity.WARNING,
                )

        configuration: dict[str, Any] | None = merged.get("configuration", {})
        if spec.configuration_model is not GenericConfiguration:
            try:
                model = spec.configuration_model.model_validate(configuration)
                configuration = model.model_dump(mode="json", exclude_none=True)
            except ValidationError as e:
                for error in e.errors():
                    self._add_pydantic_error(add, error, ("configuration",), spec, versions)
                configuration = None

        winner = versions[-1]  # versions run from the lowest priority to the highest file layer
        core: dict[str, Any] = {k: v for k, v in merged.items() if k != "configuration"}
        named = core.get("provider_name")
        if named not in (None, instance.name):
            issues.append(
                self._issue(
                    "provider-name-mismatch",
                    f"provider_name '{named}' is not the provider instance this layer belongs "
                    f"to ('{instance.name}'); the instance name is used",
                    ("provider_name",),
                    Severity.WARNING,
                    instance,
                    template_id,
                    versions,
                    at_value=True,
                )
            )
        core["provider_name"] = instance.name
        core["provider_type"] = instance.type
        core["template_id"] = template_id
        core["configuration"] = configuration if configuration is not None else {}
        core["source_file"] = winner.layer.file
        core["file_priority"] = int(winner.layer.kind)
        dto: TemplateDTO | None = None
        try:
            dto = TemplateDTO.model_validate(core)
        except ValidationError as e:
            for error in e.errors():
                self._add_pydantic_error(add, error, (), spec, versions)
        if configuration is None:
            dto = None

        features: list[str] = []
        if dto is not None:
            features = self._plugin_checks(dto, spec, instance, template_id, versions, issues)
        verdict = (template_id, instance, issues, features)
        if any(i.severity is Severity.ERROR for i in issues):
            dto = None
        return dto, verdict

    def _plugin_checks(
        self,
        dto: TemplateDTO,
        spec: ProviderSpec,
        instance: ProviderInstance,
        template_id: str,
        versions: list[TemplateVersion],
        issues: list[ValidationIssueDTO],
    ) -> list[str]:
        if not self.plugins.pm.hook.templar_validate_template.get_hookimpls():
            return spec.features_for(dto) if spec.supported_features else []
        failures: list[tuple[str, Exception]] = []
        for plugin, found in self.plugins.call_each(
            "templar_validate_template",
            failures,
            template=dto,
            provider=spec,
            instance=instance.name,
        ):
            for issue in found or ():
                if not isinstance(issue, ValidationIssueDTO):
                    self.plugins.fail(plugin, f"returned {issue!r} from templar_validate_template")
                    continue
                path = tuple(issue.field.split(".")) if issue.field else ()
                located = self._issue(
                    issue.code,
                    issue.message,
                    path,
                    issue.severity,
                    instance,
                    template_id,
                    versions,
                    at_value=True,
                )
                issues.append(located.model_copy(update={"field": issue.field}))
        for plugin, error in failures:
            issues.append(
                self._issue(
                    "plugin-error",
                    f"plugin '{plugin}' raised in templar_validate_template: "
                    f"{type(error).__name__}: {error}",
                    (),
                    Severity.ERROR,
                    instance,
                    template_id,
                    versions,
                )
            )
        try:
            return spec.features_for(dto)
        except Exception as e:
            self.plugins.fail(spec.name, "raised computing supported features", e)
            return []

    def _add_pydantic_error(
        self,
        add: Any,
        error: Any,
        prefix: FieldPath,
        spec: ProviderSpec,
        versions: list[TemplateVersion],
    ) -> None:
        loc = tuple(error["loc"])
        path = prefix + loc
        kind = error["type"]
        if kind == "extra_forbidden":
            written = _written_key(versions, path)
            if prefix:
                nested = _model_at(spec.configuration_model, loc[:-1])
                candidates = _field_names(nested, spec) if nested is not None else []
                if len(loc) == 1:
                    candidates += list(CORE_FIELDS)
            else:
                candidates = list(CORE_FIELDS)
            add("unknown-key", f"unknown key '{written}'" + did_you_mean(written, candidates), path)
        elif kind == "missing":
            add("missing-field", "field required", path)
        else:
            message = error["msg"]
            if "input" in error and not isinstance(error["input"], (dict, list)):
                message += f" (got {error['input']!r})"
            add("invalid-field", message, path, Severity.ERROR, True)

    def _issue(
        self,
        code: str,
        message: str,
        path: FieldPath,
        severity: Severity,
        instance: ProviderInstance,
        template_id: str,
        versions: list[TemplateVersion],
        at_value: bool = False,
    ) -> ValidationIssueDTO:
        version = winning_version(versions, path, self.settings.merge) if path else None
        if version is None:
            version = max(versions, key=lambda v: -v.layer.kind)
        source = version.layer.source
        line = column = None
        if source is not None:
            doc_path = version.doc_path_of(path) if path else version.doc_path
            line, column = self._locate(source, doc_path, value=at_value)
        return ValidationIssueDTO(
            code=code,
            severity=severity,
            message=message,
            template_id=template_id,
            provider_instance=instance.name,
            field=".".join(str(p) for p in path) if path else None,
            file=source.location if source else None,
            line=line,
            column=column,
        )

    def _locate(
        self, source: LayerSource, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> tuple[int | None, int | None]:
        if source.kind in (LayerKind.TYPE_DEFAULTS, LayerKind.INSTANCE_DEFAULTS):
            position = self._config_position(source.location, doc_path, value=value)
        else:
            position = self.storage.locate(source, doc_path, value=value)
        return position if position else (None, None)

    def _config_position(
        self, file: str, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> tuple[int, int] | None:
        """Where ``doc_path`` is in an engine config file (``templar.yaml``, or an ORB
        ``config.json`` / ``default_config.json``); each file is indexed once."""
        if file not in self._config_positions:
            self._config_positions[file] = PositionIndex.build(Path(file))
        index = self._config_positions[file]
        return index.locate(doc_path, value=value) if index else None

    def _location(self, version: TemplateVersion, path: FieldPath, value: Any) -> SourceLocation:
        source = version.layer.source
        line = column = None
        if source is not None:
            doc_path = version.doc_path_of(path) if path else version.doc_path
            line, column = self._locate(source, doc_path)
        return SourceLocation(
            layer=version.layer.label or version.layer.kind.label,
            priority=int(version.layer.kind),
            file=source.location if source else None,
            line=line,
            column=column,
            value=value,
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a large load.

    A load allocates hundreds of thousands of acyclic objects; collections triggered
    by them, and the young-generation sweep when the collector is re-enabled, would
    double its time. Afterwards everything tracked goes straight to the oldest
    generation (``freeze`` then ``unfreeze``), where full collections still see it:
    nothing is leaked, nothing is swept twice.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _merge_of(versions: Sequence[TemplateVersion], mode: str) -> str:
    """How one template merged: ``replace`` when a layer replaced the lower ones."""
    if any(v.merge == "replace" for v in versions):
        return "replace"
    files = [v for v in versions if v.layer.kind <= LayerKind.SHARED]
    return "replace" if mode == "replace" and any(v.merge != "deep" for v in files) else "deep"


_CORE_ORDER = {name: i for i, name in enumerate(TemplateDTO.model_fields)}


def _field_order(path: FieldPath) -> int:
    """Explain core fields in the DTO's order; keys within a field keep merge order."""
    return _CORE_ORDER.get(str(path[0]), len(_CORE_ORDER))


def _written_key(versions: Sequence[TemplateVersion], path: FieldPath) -> str:
    """The key of ``path`` as a file wrote it (``maxNumbr``, not ``max_numbr``)."""
    for version in sorted(versions, key=lambda v: v.layer.kind):
        if len(path) >= 2 and path[:2] in version.origins:
            return str(version.origins[path[:2]][-1]) if len(path) == 2 else str(path[-1])
    return str(path[-1])


def _field_names(model: type[BaseModel], spec: ProviderSpec) -> list[str]:
    """Every spelling of the fields of ``model``: names, aliases, external names."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(name)
        if info.alias:
            names.append(info.alias)
        if spec.key_style is not None:
            names.append(spec.key_style.to_external(name))
    return names


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model a pydantic error location points into, if it is one."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # an item of a list field: same model as the field's items
        info = current.model_fields.get(str(part)) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        current = _first_model(info.annotation) if info is not None else None
    return current


def _first_model(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model inside an annotation (``Model | None``, ``list[Model]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _first_model(argument)
        if found is not None:
            return found
    return None


def _matches_all(data: dict[str, Any], criteria: Mapping[str, Any]) -> bool:
    """Whether a template, dumped once, meets every criterion of ``search_templates``."""
    return all(_matches(data, key, expected) for key, expected in criteria.items())


def _matches(data: dict[str, Any], key: str, expected: Any) -> bool:
    path = key.split(".")
    if path[0] not in data:
        path = ["configuration", *path]
    value: Any = data
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        if candidate == expected or _as_text(candidate) == _as_text(expected):
            return True
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
