"""Copying every layer from one storage to another: ``templates migrate``.

A storage is named ``file:DIR`` (a Templar config dir or an ORB config dir) or
``sql:URL`` (``sql:sqlite:///templates.db``, ``sql:postgresql://host/db``; a bare URL
whose scheme a backend serves works too). :func:`plan_migration` compares the two
sides layer by layer (kind and scope, which is the layer's priority) and says what
each target layer needs so that it holds exactly what the origin layer holds: ids to
create, to update (the body differs), to remove. :func:`apply_migration` writes those
changes, one :class:`~templar.storage.LayerChange` per layer with the version it
read, so a second run finds nothing to do. :func:`compare_effective` then loads both
sides with the same engine config and compares the effective templates: same ids,
same content hashes.

Bodies are copied as the origin layer stores them (a HostFactory file's camelCase
stays camelCase), with one addition: a body that names its id only by its key in a
mapping-shaped file gets ``template_id``, so that no target shape loses it. So
file -> SQL -> file gives the same effective templates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson

from templar.errors import StorageError
from templar.models import Severity
from templar.storage import (
    LayerChange,
    LayerSource,
    StorageBackend,
    StorageSpec,
    WritableStorage,
    backend_for_url,
)

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.plugins import PluginHost
    from templar.settings import EngineSettings

#: Fields the engine adds that name where a template was read, not what it is.
_WHERE_FIELDS = frozenset({"source_file", "file_priority"})


@dataclass
class OpenedStorage:
    """One side of a migration: its backend, and the config dir and settings its
    templates are loaded with."""

    spec: str
    storage: StorageBackend
    config_dir: Path | None
    settings: EngineSettings | None


@dataclass
class LayerPlan:
    """What one target layer needs to hold exactly what its origin layer holds."""

    origin: LayerSource
    target: LayerSource
    expected_version: str | None
    put: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changes(self) -> int:
        """How many templates this layer's write creates, updates or removes."""
        return len(self.created) + len(self.updated) + len(self.removed)


@dataclass
class Comparison:
    """The effective templates of both sides, compared."""

    origin_count: int
    target_count: int
    differences: list[str]

    @property
    def identical(self) -> bool:
        """True when both sides have the same ids with the same content hashes."""
        return not self.differences


def open_storage(spec: str, host: PluginHost, *, config_dir: Path | None = None) -> OpenedStorage:
    """The storage ``spec`` names: ``file:DIR``, ``sql:URL``, or a URL whose scheme a
    registered backend serves (``sqlite:///x.db``)."""
    from templar.settings import load_settings

    kind, _, rest = spec.partition(":")
    if kind == "file" and rest:
        from templar.settings import resolve_config_dir
        from templar.storage.files import FileStorage

        directory = Path(rest).expanduser()
        directory.mkdir(parents=True, exist_ok=True)
        directory = resolve_config_dir(directory)
        settings, _ = load_settings(directory)
        return OpenedStorage(spec, FileStorage(directory, settings), directory, settings)
    url = rest if kind == "sql" else spec
    specs = {name: entry.spec for name, entry in host.storages.items()}
    if not url or ":" not in url:
        raise StorageError(
            f"not a storage: '{spec}'; use file:DIR or sql:URL (sql:sqlite:///templates.db)"
        )
    backend: StorageSpec = specs[backend_for_url(url, specs)]
    if backend.from_url is None:
        raise StorageError(f"storage backend '{backend.name}' cannot be opened from a URL")
    return OpenedStorage(spec, backend.from_url(url, config_dir or Path.cwd()), None, None)


def writable(opened: OpenedStorage) -> WritableStorage:
    """``opened``'s backend, if it can be written to."""
    storage = opened.storage
    can_write = getattr(storage, "can_write", None)
    if not callable(can_write) or not can_write():
        raise StorageError(f"{opened.spec}: this storage cannot be written to")
    return cast("WritableStorage", storage)


def plan_migration(origin: StorageBackend, target: WritableStorage) -> list[LayerPlan]:
    """Per origin layer, what its target layer needs. A layer of the origin that does
    not read cleanly (a file that does not parse) stops the migration: copying it
    would lose templates."""
    plans = []
    for source in sorted(origin.list_sources()):
        layer = origin.read(source)
        broken = [i for i in layer.issues if i.severity is Severity.ERROR]
        if broken:
            first = broken[0]
            where = f"{first.file}:{first.line}" if first.line else str(first.file)
            raise StorageError(
                f"{where}: {first.message}; fix it before migrating "
                f"({len(broken)} error{'s' if len(broken) > 1 else ''} in this layer)",
                file=first.file,
                line=first.line,
            )
        destination = target.source_for(source.kind, source.scope)
        existing = {t.template_id: t.body for t in target.read(destination).templates}
        plan = LayerPlan(source, destination, target.version(destination))
        for template in layer.templates:
            body = _naming_its_id(template.template_id, template.body)
            before = existing.get(template.template_id)
            if before is not None and _same(before, body):
                plan.unchanged += 1
                continue
            plan.put[template.template_id] = body
            (plan.created if before is None else plan.updated).append(template.template_id)
        wanted = {t.template_id for t in layer.templates}
        plan.removed = sorted(set(existing) - wanted)
        plans.append(plan)
    return plans


def apply_migration(
    plans: list[LayerPlan],
    target: WritableStorage,
    *,
    actor: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write every plan that changes something, one layer at a time; ``progress`` is
    called with the number of templates each write covered."""
    for plan in plans:
        if plan.changes:
            target.write(
                LayerChange(
                    plan.target,
                    plan.expected_version,
                    put=plan.put,
                    remove=frozenset(plan.removed),
                    actor=actor,
                )
            )
        if progress is not None:
            progress(plan.changes + plan.unchanged)


def compare_effective(
    origin: OpenedStorage, target: OpenedStorage, *, config_dir: Path | None = None
) -> Comparison:
    """Load both sides with the same engine config (the file side's, else
    ``config_dir``'s) and compare their effective templates and verdicts."""
    from templar.settings import load_settings

    settings = origin.settings or target.settings
    directory = origin.config_dir or target.config_dir or config_dir or Path.cwd()
    if settings is None:
        settings, _ = load_settings(directory)
    left = effective_hashes(origin.storage, settings, directory)
    right = effective_hashes(target.storage, settings, directory)
    differences = []
    for key in sorted(left.keys() | right.keys()):
        instance, template_id = key
        if key not in right:
            differences.append(f"{template_id} ({instance}): only in {origin.spec}")
        elif key not in left:
            differences.append(f"{template_id} ({instance}): only in {target.spec}")
        elif left[key] != right[key]:
            differences.append(f"{template_id} ({instance}): differs")
    return Comparison(len(left), len(right), differences)


def effective_hashes(
    storage: StorageBackend, settings: EngineSettings, config_dir: Path
) -> dict[tuple[str, str], str]:
    """(instance, template id) -> SHA-256 of the effective template (without the fields
    naming where it was read) and its verdict, for every template of ``storage``."""
    with _engine_on(storage, settings, config_dir) as engine:
        out = {}
        verdicts = {
            (r.provider_instance, r.template_id): r.is_valid for r in engine.validate().results
        }
        for instance in engine.instances:
            for template in engine.list_templates(provider=instance.name, active_only=False):
                body = template.model_dump(mode="json", exclude=set(_WHERE_FIELDS))
                text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
                out[(instance.name, template.template_id)] = hashlib.sha256(text).hexdigest()
        for key, valid in verdicts.items():
            if not valid:
                out.setdefault(key, "invalid")
        return out


@contextmanager
def _engine_on(
    storage: StorageBackend, settings: EngineSettings, config_dir: Path
) -> Iterator[TemplateEngine]:
    """An engine (no cache) over an already opened ``storage``, with every installed
    plugin for the provider types."""
    from templar.engine import TemplateEngine
    from templar.hookspecs import hookimpl

    name = "templar-migrate-side"

    class _ThisStorage:
        @hookimpl
        def templar_register_storage(self, register: Callable[[StorageSpec], None]) -> None:
            register(StorageSpec(name=name, factory=lambda _dir, _settings: storage))

    side = settings.model_copy(update={"storage": settings.storage.model_copy()})
    side.storage.backend = name
    yield TemplateEngine.from_settings(
        side, config_dir=config_dir, plugins=[_ThisStorage()], use_cache=False
    )


def _naming_its_id(template_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its id in it: a file's mapping of id to body names the id by the
    key only, which a list-shaped file (or a reader of the row alone) would lose."""
    if "template_id" in body or "templateId" in body:
        return body
    return {"template_id": template_id, **body}


def _same(a: Any, b: Any) -> bool:
    try:
        return orjson.dumps(a) == orjson.dumps(b)
    except (TypeError, orjson.JSONEncodeError):
        return bool(a == b)
