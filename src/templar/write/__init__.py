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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from templar.discover import discover_instances
from templar.errors import ConcurrencyError, StorageError, TemplarError, TemplateNotFoundError
from templar.hierarchy import Hierarchy, group_layers, layers_of
from templar.merge import FieldPath, merge_versions, value_at, winning_version
from templar.models import ChangeEvent, LayerKind, Severity, ValidationIssueDTO
from templar.storage import LayerChange, LayerSource, template_layers
from templar.validate import Validator
from templar.write.body import LayerContext, canonical_body, canonical_path, paths, set_raw
from templar.write.layer import LAYER_KINDS as LAYER_KINDS
from templar.write.layer import instance_of
from templar.write.layer import parse_layer as parse_layer

if TYPE_CHECKING:
    from templar.reload import Reloader
    from templar.session import EngineSession

#: How often a write that lost a race is done again from a fresh read.
RETRIES = 8


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
        values: Mapping[str, Any] | Mapping[FieldPath, Any],
        *,
        layer: str | None = None,
        provider: str | None = None,
    ) -> WriteResult:
        """Set fields of one template, named by canonical path (``("configuration",
        "max_number")``) or dotted (``"configuration.max_number"``); a ``None`` value
        unsets the field."""
        kind = parse_layer(layer)
        by_path = {tuple(k.split(".")) if isinstance(k, str) else k: v for k, v in values.items()}
        return self._retrying(lambda: self._set_once(template_id, by_path, kind, provider))

    def save_template(
        self, template: Any, *, layer: str | None = None, provider: str | None = None
    ) -> WriteResult:
        """Create or update one template (a :class:`~templar.TemplateDTO` or a mapping in
        Templar's canonical spelling). Each field that differs from the effective
        template is written; a field left out is left as it is (``None`` unsets it)."""
        body = canonical_body(template)
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
        values = {canonical_path(context.spec, path): value for path, value in values.items()}
        for path, value in values.items():
            source = self._target(context, path, kind)
            body = edits.get(source.location)
            if body is None:
                body = context.raw_body(source)
            set_raw(body, context.raw_path(source, path, body), value)
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
            source = self._source(context, kind or self._new_template_kind())
            raw = context.external(source, body)
            return self._commit(
                context, {source.location: raw}, {source.location: source}, created=True
            )
        merged = merge_versions(context.versions, self.session.settings.merge)
        values: dict[FieldPath, Any] = {}
        for path in paths(body):
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
    ) -> LayerContext:
        """The instance, its layers read afresh, and the template's versions in them."""
        from templar.storage.atomic import check_safe_name

        check_safe_name(template_id, "template id")
        if provider is not None:
            check_safe_name(provider, "provider instance name")
        layers = template_layers(self._storage(), template_id)
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
        instance = instance_of(
            instances, holding, template_id, provider, body, set(self.session.providers)
        )
        spec = self.session.providers.get(instance.type)
        if spec is None:
            raise StorageError(f"provider type '{instance.type}' is not installed")
        layers = layers_of(instance, by_kind)
        return LayerContext(self, instance, spec, layers, template_id)

    def _new_template_kind(self) -> LayerKind:
        """Where a new template goes: the provider layer (``{type}prov_templates``); in an
        ORB config dir, which has no provider layer, ORB's type file
        (``{type}_templates.json``), which ORB reads for every instance of the type."""
        return LayerKind.TYPE if self.session.settings.orb is not None else LayerKind.PROVIDER

    def _source(self, context: LayerContext, kind: LayerKind) -> LayerSource:
        scope = {
            LayerKind.INSTANCE: context.instance.name,
            LayerKind.TYPE: context.instance.type,
            LayerKind.PROVIDER: context.instance.type,
            LayerKind.SHARED: None,
        }[kind]
        storage = self._storage()
        source: LayerSource = storage.source_for(kind, scope)
        if (
            kind is LayerKind.PROVIDER
            and self.session.settings.orb is not None
            and storage.version(source) is None
        ):
            # ORB reads {name}_templates.json, {type}_templates.json and templates.json;
            # a new awsprov_templates.json would hold templates ORB never lists
            raise StorageError(
                f"ORB does not read a provider layer file ({source.location}) in an ORB "
                "config dir; write to --layer type, instance or shared instead",
                field="layer",
            )
        return source

    def _target(
        self, context: LayerContext, path: FieldPath, kind: LayerKind | None
    ) -> LayerSource:
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
        context: LayerContext,
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
