"""Saving and deleting templates: where a change lands, and checking it before it does.

:class:`TemplateWriter` is what :meth:`templar.TemplateEngine.save_template`,
:meth:`~templar.TemplateEngine.set_fields` and
:meth:`~templar.TemplateEngine.delete_template` delegate to. For one template of one
provider instance it reads the instance's layers afresh (with their versions),
decides which layer each change goes to, rebuilds the merged template as it would
be after the change and validates it; only a valid result is written, through the
storage contract (:class:`~templar.storage.WritableStorage`), so files and SQL work
alike. Where a change goes:

* an edit lands in the layer holding the winning value of the field it changes;
* ``layer="instance" | "type" | "provider" | "shared"`` picks the layer instead;
* a new template goes to the provider layer (``{type}prov_templates``), created in
  the format of its siblings if missing.

A layer written in a provider's external key style (a HostFactory camelCase file)
gets its keys back in that style. A write that loses a race with another writer (the
layer changed since it was read) is done again from a fresh read, a few times.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from templar.discover import discover_instances
from templar.errors import ConcurrencyError, StorageError, TemplarError, TemplateNotFoundError
from templar.hierarchy import Hierarchy, group_layers, layers_of
from templar.merge import FieldPath, leaf_paths, merge_versions, value_at, winning_version
from templar.models import ChangeEvent, LayerKind, Severity, ValidationIssueDTO
from templar.state import ProviderInstance
from templar.storage import LayerChange, LayerSource, RawLayer, RawTemplate
from templar.validate import Validator

if TYPE_CHECKING:
    from templar.merge import TemplateVersion
    from templar.providers import ProviderSpec
    from templar.reload import Reloader
    from templar.session import EngineSession

#: The layer names users pick, and the kind each is.
LAYER_KINDS = {
    "instance": LayerKind.INSTANCE,
    "type": LayerKind.TYPE,
    "provider": LayerKind.PROVIDER,
    "shared": LayerKind.SHARED,
}
#: How often a write that lost a race is done again from a fresh read.
RETRIES = 8
#: Fields the engine adds when reading; never written back.
_READ_ONLY = frozenset({"source_file", "file_priority", "provenance"})


class InvalidTemplateError(TemplarError):
    """A write was refused because the merged template would not validate; raised by
    :class:`TemplateWriter`. ``issues`` holds the errors; no file was touched."""

    def __init__(self, message: str, issues: list[ValidationIssueDTO]) -> None:
        super().__init__(message, issues=[i.model_dump(mode="json") for i in issues])
        self.issues = issues


@dataclass
class WriteResult:
    """What a save or a delete did."""

    template_id: str
    provider_instance: str
    #: location -> new version of each layer written
    written: dict[str, str] = field(default_factory=dict)
    created: bool = False
    deleted: bool = False
    #: delete: lower layers that still hold the template (it falls back to them)
    still_in: list[str] = field(default_factory=list)


def parse_layer(layer: str | None) -> LayerKind | None:
    """``"instance"`` -> :attr:`LayerKind.INSTANCE`, ...; ``None`` stays ``None``."""
    if layer is None:
        return None
    try:
        return LAYER_KINDS[layer]
    except KeyError:
        raise StorageError(
            f"unknown layer '{layer}'; choose one of {', '.join(LAYER_KINDS)}", field="layer"
        ) from None


class TemplateWriter:
    """Saves and deletes templates of one engine session (see the module docstring)."""

    def __init__(self, session: EngineSession, reloader: Reloader) -> None:
        self.session = session
        self.reloader = reloader

    def __repr__(self) -> str:
        return f"<TemplateWriter {self.session.config_dir}>"

    # -- the public operations --------------------------------------------------------

    def set_fields(
        self,
        template_id: str,
        values: Mapping[FieldPath, Any],
        *,
        layer: str | None = None,
        provider: str | None = None,
    ) -> WriteResult:
        """Set fields of one template (canonical paths such as
        ``("configuration", "max_number")``); a ``None`` value unsets the field."""
        kind = parse_layer(layer)
        return self._retrying(lambda: self._set_once(template_id, dict(values), kind, provider))

    def save_template(
        self, template: Any, *, layer: str | None = None, provider: str | None = None
    ) -> WriteResult:
        """Create or update one template (a :class:`~templar.TemplateDTO` or a mapping in
        Templar's canonical spelling). Each field that differs from the effective
        template is written; a field left out is left as it is (``None`` unsets it)."""
        body = _canonical_body(template)
        template_id = str(body.get("template_id") or "")
        if not template_id:
            raise StorageError("a template to save needs a template_id", field="template_id")
        kind = parse_layer(layer)
        return self._retrying(lambda: self._save_once(template_id, body, kind, provider))

    def delete_template(
        self,
        template_id: str,
        *,
        provider: str | None = None,
        layer: str | None = None,
        all_layers: bool = False,
    ) -> WriteResult:
        """Remove ``template_id`` from one layer (the highest holding it, or ``layer``),
        or from every layer with ``all_layers``; says which lower layers still hold it."""
        kind = parse_layer(layer)
        return self._retrying(lambda: self._delete_once(template_id, provider, kind, all_layers))

    # -- one attempt ----------------------------------------------------------------

    def _retrying(self, attempt: Any) -> WriteResult:
        for tries in range(RETRIES):
            try:
                result: WriteResult = attempt()
            except ConcurrencyError:
                if tries == RETRIES - 1:
                    raise
                continue
            self._announce(result)
            return result
        raise AssertionError("unreachable")

    def _set_once(
        self,
        template_id: str,
        values: dict[FieldPath, Any],
        kind: LayerKind | None,
        provider: str | None,
    ) -> WriteResult:
        context = self._context(template_id, provider)
        if not context.versions:
            raise TemplateNotFoundError(
                f"template '{template_id}' not found for provider instance "
                f"'{context.instance.name}'",
                template_id=template_id,
            )
        edits: dict[str, dict[str, Any]] = {}  # location -> new raw body
        targets: dict[str, LayerSource] = {}
        for path, value in values.items():
            source = self._target(context, path, kind)
            body = edits.get(source.location)
            if body is None:
                body = context.raw_body(source)
            _set_raw(body, context.raw_path(source, path, body), value)
            edits[source.location] = body
            targets[source.location] = source
        return self._commit(context, edits, targets, created=False)

    def _save_once(
        self,
        template_id: str,
        body: dict[str, Any],
        kind: LayerKind | None,
        provider: str | None,
    ) -> WriteResult:
        context = self._context(template_id, provider, body)
        if not context.versions:
            source = self._source(context, kind or LayerKind.PROVIDER)
            raw = context.external(source, body)
            return self._commit(
                context, {source.location: raw}, {source.location: source}, created=True
            )
        merged = merge_versions(context.versions, self.session.settings.merge)
        values: dict[FieldPath, Any] = {}
        for path in _paths(body):
            if value_at(merged, path) != value_at(body, path):
                values[path] = value_at(body, path)
        values.pop(("template_id",), None)
        if not values:
            return WriteResult(template_id, context.instance.name)
        return self._set_once(template_id, values, kind, provider)

    def _delete_once(
        self, template_id: str, provider: str | None, kind: LayerKind | None, all_layers: bool
    ) -> WriteResult:
        context = self._context(template_id, provider)
        holding = [
            layer
            for layer in context.layers
            if any(t.template_id == template_id for t in layer.templates)
        ]
        if not holding:
            raise TemplateNotFoundError(
                f"template '{template_id}' is in no layer of provider instance "
                f"'{context.instance.name}'",
                template_id=template_id,
            )
        if all_layers:
            chosen = holding
        elif kind is not None:
            chosen = [layer for layer in holding if layer.source.kind is kind]
            if not chosen:
                raise TemplateNotFoundError(
                    f"the {kind.label} layer of '{context.instance.name}' does not hold "
                    f"template '{template_id}'; it is in: "
                    + ", ".join(layer.source.location for layer in holding),
                    template_id=template_id,
                )
        else:
            chosen = [holding[-1]]  # the highest priority one: what is seen
        result = WriteResult(template_id, context.instance.name, deleted=True)
        storage = self._storage()
        for layer in chosen:
            change = LayerChange(layer.source, layer.version, remove=frozenset({template_id}))
            result.written[layer.source.location] = storage.write(change)
        result.still_in = [
            layer.source.location
            for layer in holding
            if layer not in chosen and layer.source.kind > min(c.source.kind for c in chosen)
        ]
        return result

    # -- the pieces -------------------------------------------------------------------

    def _storage(self) -> Any:
        storage = self.session.storage
        if not callable(getattr(storage, "write", None)) or not storage.can_write():  # type: ignore[attr-defined]
            raise StorageError(
                f"storage backend '{storage.name}' cannot be written to", field="storage.backend"
            )
        return storage

    def _context(
        self, template_id: str, provider: str | None, body: Mapping[str, Any] | None = None
    ) -> _Context:
        """The instance, its layers read afresh, and the template's versions in them."""
        from templar.storage.atomic import check_safe_name

        check_safe_name(template_id, "template id")
        if provider is not None:
            check_safe_name(provider, "provider instance name")
        storage = self._storage()
        read_one = getattr(storage, "read_template", None)
        layers = [
            read_one(source, template_id) if read_one is not None else storage.read(source)
            for source in storage.list_sources()
        ]
        if read_one is None:
            for layer in layers:
                layer.templates = [t for t in layer.templates if t.template_id == template_id]
        settings = self.session.settings
        instances = discover_instances(
            layers,
            settings.providers,
            self.session.providers,
            self.session.locator,
            [],
            settings.orb,
        )
        by_kind = group_layers(layers)
        holding = [
            i
            for i in instances
            if i.type in self.session.providers
            and Hierarchy(settings, self.session.settings_file, self.session.locator)
            .collect_versions(i, self.session.providers[i.type], by_kind, [], only={template_id})
            .get(template_id)
        ]
        instance = _instance_of(
            instances, holding, template_id, provider, body, set(self.session.providers)
        )
        spec = self.session.providers.get(instance.type)
        if spec is None:
            raise StorageError(f"provider type '{instance.type}' is not installed")
        layers = layers_of(instance, by_kind)
        return _Context(self, instance, spec, layers, template_id)

    def _source(self, context: _Context, kind: LayerKind) -> LayerSource:
        scope = {
            LayerKind.INSTANCE: context.instance.name,
            LayerKind.TYPE: context.instance.type,
            LayerKind.PROVIDER: context.instance.type,
            LayerKind.SHARED: None,
        }[kind]
        source: LayerSource = self._storage().source_for(kind, scope)
        return source

    def _target(self, context: _Context, path: FieldPath, kind: LayerKind | None) -> LayerSource:
        """The layer a change of ``path`` goes to."""
        if kind is not None:
            return self._source(context, kind)
        winner = winning_version(context.versions, path, self.session.settings.merge)
        if (
            winner is not None
            and winner.layer.source is not None
            and winner.layer.kind <= (LayerKind.SHARED)
        ):
            return winner.layer.source
        # the value lives in a defaults layer (or nowhere): the highest file layer
        # holding the template takes it
        files = [v for v in context.versions if v.layer.source and v.layer.kind <= LayerKind.SHARED]
        top = min(files, key=lambda v: v.layer.kind)
        assert top.layer.source is not None
        return top.layer.source

    def _commit(
        self,
        context: _Context,
        edits: dict[str, dict[str, Any]],
        targets: dict[str, LayerSource],
        *,
        created: bool,
    ) -> WriteResult:
        """Validate the template as it would be after ``edits``, then write them."""
        layers = context.with_bodies(edits, targets)
        versions = context.versions_of(layers)
        validator = Validator(
            self.session.settings.merge, self.session.plugins, self.session.locator
        )
        _dto, verdict = validator.validate(
            context.instance, context.spec, context.template_id, versions
        )
        errors = [i for i in verdict[2] if i.severity is Severity.ERROR]
        if errors:
            details = "; ".join(f"{i.field or '-'}: {i.message}" for i in errors)
            raise InvalidTemplateError(
                f"template '{context.template_id}' would not be valid after this change, "
                f"nothing written: {details}",
                errors,
            )
        storage = self._storage()
        result = WriteResult(context.template_id, context.instance.name, created=created)
        for location, body in edits.items():
            source = targets[location]
            read = next((layer for layer in context.layers if layer.source == source), None)
            expected = read.version if read is not None else storage.version(source)
            change = LayerChange(source, expected, put={context.template_id: body})
            result.written[location] = storage.write(change)
        return result

    def _announce(self, result: WriteResult) -> None:
        """Tell the engine and its plugins: reload what is loaded (which fires
        ``templar_on_change``), or emit the event of the write itself."""
        if not result.written:
            return
        if self.session.current is not None and not self.session.state.from_cache:
            self.reloader.reload()
            return
        self.session.current = None  # the next query loads the files written
        ids = {result.provider_instance: [result.template_id]}
        event = ChangeEvent(files=sorted(result.written))
        if result.created:
            event.added = ids
        elif result.deleted and not result.still_in:
            event.removed = ids
        else:
            event.changed = ids
        self.reloader.emit(event)


@dataclass
class _Context:
    """One template of one instance, as its layers hold it right now."""

    writer: TemplateWriter
    instance: ProviderInstance
    spec: ProviderSpec
    layers: list[RawLayer]
    template_id: str
    versions: list[TemplateVersion] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.versions = self.versions_of(self.layers)

    def versions_of(self, layers: list[RawLayer]) -> list[TemplateVersion]:
        session = self.writer.session
        hierarchy = Hierarchy(session.settings, session.settings_file, session.locator)
        found = hierarchy.collect_versions(
            self.instance, self.spec, group_layers(layers), [], only={self.template_id}
        )
        return found.get(self.template_id, [])

    def raw(self, source: LayerSource) -> RawTemplate | None:
        layer = next((layer for layer in self.layers if layer.source == source), None)
        if layer is None:
            return None
        return next((t for t in layer.templates if t.template_id == self.template_id), None)

    def raw_body(self, source: LayerSource) -> dict[str, Any]:
        """A copy of the template's body in ``source``, or a new one in its style."""
        raw = self.raw(source)
        if raw is not None:
            return copy.deepcopy(raw.body)
        return self.external(source, {"template_id": self.template_id})

    def camel(self, source: LayerSource) -> bool:
        """Whether ``source`` writes keys in the provider's external (camelCase) style."""
        if self.spec.key_style is None:
            return False
        layer = next((layer for layer in self.layers if layer.source == source), None)
        bodies = [t.body for t in layer.templates] if layer else []
        if not bodies and _head_mentions(source.location, b"templateId"):
            return True  # the layer was read for one template only: its text says
        if not bodies:  # a new file: the style of the instance's other files
            bodies = [t.body for other in self.layers for t in other.templates]
            return any(
                _head_mentions(other.source.location, b"templateId") for other in self.layers
            ) or any("templateId" in body for body in bodies[:20])
        return any("templateId" in body for body in bodies[:20])

    def external(self, source: LayerSource, canonical: Mapping[str, Any]) -> dict[str, Any]:
        """A canonical body as ``source`` writes it: camelCase and flat in a HostFactory
        file (through the provider's key-style adapter), as it is elsewhere."""
        body = {k: copy.deepcopy(v) for k, v in canonical.items() if v is not None}
        style = self.spec.key_style
        if style is None or not self.camel(source):
            return body
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "configuration" and isinstance(value, dict):
                for inner, inner_value in value.items():
                    out[style.to_external(inner)] = inner_value
            else:
                out[style.to_external(key)] = value
        return out

    def raw_path(self, source: LayerSource, path: FieldPath, body: dict[str, Any]) -> FieldPath:
        """Where canonical ``path`` is (or would be) written in ``source``'s body."""
        raw = self.raw(source)
        version = next((v for v in self.versions if v.layer.source == source), None)
        if raw is not None and version is not None:
            doc_path = version.doc_path_of(path)
            relative = tuple(doc_path[len(raw.doc_path) :])
            written = doc_path[: len(raw.doc_path)] == tuple(raw.doc_path)
            if written and value_at(body, relative) is not _MISSING:
                return relative  # the field is written there already: change it in place
        style = self.spec.key_style
        if style is not None and self.camel(source):
            if path[0] == "configuration" and len(path) > 1 and "configuration" not in body:
                return (style.to_external(str(path[1])), *path[2:])
            if path[0] != "configuration":
                return (style.to_external(str(path[0])), *path[1:])
        return path

    def with_bodies(
        self, edits: dict[str, dict[str, Any]], targets: dict[str, LayerSource]
    ) -> list[RawLayer]:
        """The layers as they would be with ``edits`` (location -> new body) applied."""
        out = []
        seen = set()
        for layer in self.layers:
            body = edits.get(layer.source.location)
            if body is None:
                out.append(layer)
                continue
            seen.add(layer.source.location)
            templates = list(layer.templates)
            index = next(
                (i for i, t in enumerate(templates) if t.template_id == self.template_id), None
            )
            if index is None:
                templates.append(RawTemplate(self.template_id, body, ("templates", len(templates))))
            else:
                old = templates[index]
                templates[index] = RawTemplate(
                    self.template_id, body, old.doc_path, old.provider_type
                )
            out.append(RawLayer(layer.source, templates, [], True, layer.version))
        for location, body in edits.items():
            if location not in seen:
                new = RawLayer(
                    targets[location], [RawTemplate(self.template_id, body, ("templates", 0))]
                )
                out.append(new)
        return layers_of(self.instance, group_layers(out))


def _instance_of(
    instances: list[ProviderInstance],
    holding: list[ProviderInstance],
    template_id: str,
    provider: str | None,
    body: Mapping[str, Any] | None,
    installed: set[str],
) -> ProviderInstance:
    """The provider instance a write is for: ``provider``, else the one whose layers
    hold the template, else the one the body names, else the only one. With no
    instance declared, a provider type no file names yet has its implicit instance."""
    implicit = not instances or all(i.name == i.type for i in instances)
    if provider is not None:
        found = next((i for i in instances if i.name == provider), None)
        if found is not None:
            return found
        if implicit and provider in installed:
            return ProviderInstance(provider, provider)
        raise StorageError(
            f"unknown provider instance '{provider}'; known: "
            + (", ".join(i.name for i in instances) or "none"),
            field="provider",
        )
    if len(holding) == 1:
        return holding[0]
    if len(holding) > 1:
        raise StorageError(
            f"template '{template_id}' is defined for several provider instances "
            f"({', '.join(i.name for i in holding)}); say which with provider=/--provider",
            field="provider",
        )
    named = str((body or {}).get("provider_name") or (body or {}).get("provider_type") or "")
    if named:
        match = [i for i in instances if named in (i.name, i.type)]
        if match:
            return match[0]
        if implicit and named in installed:
            return ProviderInstance(named, named)
    if len(instances) == 1:
        return instances[0]
    if not instances and "generic" in installed:
        return ProviderInstance("generic", "generic")
    raise StorageError(
        f"say which provider instance template '{template_id}' is for (provider=/--provider); "
        f"known: {', '.join(i.name for i in instances) or 'none'}",
        field="provider",
    )


def _head_mentions(location: str, word: bytes) -> bool:
    """Whether the first 64 kB of the file at ``location`` (if it is one) hold ``word``."""
    try:
        with open(location, "rb") as f:
            return word in f.read(65536)
    except OSError:
        return False


def _paths(body: dict[str, Any]) -> list[FieldPath]:
    """The leaves of ``body``: the fields a save compares and writes."""
    return list(leaf_paths(body))


def _canonical_body(template: Any) -> dict[str, Any]:
    if hasattr(template, "model_dump"):
        data = template.model_dump(mode="json", exclude_none=True)
    elif isinstance(template, Mapping):
        data = copy.deepcopy(dict(template))
    else:
        raise TypeError(f"a template is a TemplateDTO or a mapping, not {type(template).__name__}")
    return {k: v for k, v in data.items() if k not in _READ_ONLY}


#: what :func:`templar.merge.value_at` returns for a path that is not there
_MISSING = value_at({}, ("missing",))


def _set_raw(body: dict[str, Any], path: FieldPath, value: Any) -> None:
    """Set (``None``: remove) ``path`` in ``body``, making the mappings on the way."""
    node = body
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
