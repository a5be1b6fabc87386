"""Building a layer's body for a write: one template as its layers hold it now, and its
body back in the layer's own key style (camelCase in a HostFactory file)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from templar.hierarchy import Hierarchy, group_layers, layers_of
from templar.merge import FieldPath, leaf_paths, value_at
from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS
from templar.state import ProviderInstance
from templar.storage import LayerSource, RawLayer, RawTemplate

if TYPE_CHECKING:
    from templar.merge import TemplateVersion
    from templar.providers import ProviderSpec
    from templar.write import TemplateWriter

from templar.write.layer import head_matches, head_mentions

#: Top-level keys that are no provider configuration (see :func:`templar.merge.normalize`).
_CORE_KEYS = frozenset({*CORE_FIELDS, *CORE_FIELD_ALIASES, "templateId", "configuration"})
#: a ``configuration`` key, in YAML or JSON, and a template id key
_CONFIGURATION_KEY = re.compile(rb"""(?m)^[ \t]*(?:-[ \t]+)?["']?configuration["']?[ \t]*:""")
_ID_KEY = re.compile(rb"""(?m)^[ \t]*(?:-[ \t]+)?["']?(?:template_id|templateId)["']?[ \t]*:""")
#: Fields the engine adds when reading; never written back.
_READ_ONLY = frozenset({"source_file", "file_priority", "provenance"})


@dataclass
class LayerContext:
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
        if not bodies and head_mentions(source.location, b"templateId"):
            return True  # the layer was read for one template only: its text says
        if not bodies:  # a new file: the style of the instance's other files
            bodies = [t.body for other in self.layers for t in other.templates]
            return any(
                head_mentions(other.source.location, b"templateId") for other in self.layers
            ) or any("templateId" in body for body in bodies[:20])
        return any("templateId" in body for body in bodies[:20])

    def flat(self, source: LayerSource) -> bool:
        """Whether ``source`` writes provider configuration flat, beside the core fields
        (``"key_name": ...``), rather than under ``configuration:``: a camelCase
        HostFactory file and ORB's snake_case files do; Templar's own files nest it.
        Told by the layer's own bodies, else its siblings', else (a new file) by the
        directory: flat in an ORB config dir, where ORB reads only flat fields."""
        if self.camel(source):
            return True
        layer = next((layer for layer in self.layers if layer.source == source), None)
        for bodies in (
            [t.body for t in layer.templates] if layer else [],
            [t.body for other in self.layers for t in other.templates],
        ):
            if bodies:
                return not any("configuration" in body for body in bodies) and any(
                    key not in _CORE_KEYS for body in bodies for key in body
                )
        # the layer was read for one template only (not this one): its text says
        if head_matches(source.location, _CONFIGURATION_KEY):
            return False
        if head_matches(source.location, _ID_KEY):
            return True  # templates there, none nesting their configuration
        return self.writer.session.settings.orb is not None

    def external(self, source: LayerSource, canonical: Mapping[str, Any]) -> dict[str, Any]:
        """A canonical body as ``source`` writes it: flat (configuration beside the core
        fields) where the layer is (:meth:`flat`), and camelCase in a HostFactory file
        (through the provider's key-style adapter); as it is elsewhere."""
        body = {k: copy.deepcopy(v) for k, v in canonical.items() if v is not None}
        style = self.spec.key_style
        camel = style is not None and self.camel(source)
        if not camel and not self.flat(source):
            return body
        rename = style.to_external if camel and style is not None else str
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "configuration" and isinstance(value, dict):
                for inner, inner_value in value.items():
                    spelled = None if camel else self._spelling(("configuration", inner))
                    out[spelled or rename(inner)] = inner_value
            else:
                out[rename(key)] = value
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
        camel = style is not None and self.camel(source)
        if camel or self.flat(source):
            rename = style.to_external if camel and style is not None else str
            if path[0] == "configuration" and len(path) > 1 and "configuration" not in body:
                for key in body:  # written already, under any of its names (even empty)
                    if key not in _CORE_KEYS and self.spec.canonical_key(str(key)) == path[1]:
                        return (key, *path[2:])
                if not camel:
                    # a key new to this snake_case file: spelled as the template's other
                    # layers spell it (ORB's machine_type, from its template_defaults),
                    # else in Templar's spelling
                    spelled = self._spelling(path[:2])
                    if spelled is not None:
                        return (spelled, *path[2:])
                return (rename(str(path[1])), *path[2:])
            if path[0] != "configuration":
                return (rename(str(path[0])), *path[1:])
        return path

    def _spelling(self, path: FieldPath) -> str | None:
        """How another layer of the template, or (in an ORB dir) ORB's template
        defaults, write the configuration key ``path`` flat, if under another name than
        Templar's: ORB's ``machine_type`` for ``vm_type``."""
        for version in [*reversed(self.versions), *self._orb_defaults()]:
            origin = version.origins.get(path)
            if origin is not None and len(origin) == 1 and origin[0] != path[1]:
                return str(origin[0])
        return None

    def _orb_defaults(self) -> list[TemplateVersion]:
        """ORB's template defaults for this instance (none outside an ORB dir)."""
        orb = self.writer.session.settings.orb
        if orb is None:
            return []
        from templar.orb import defaults_versions

        return defaults_versions(orb, self.instance.name, self.instance.type, self.spec)

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


def canonical_path(spec: ProviderSpec, path: FieldPath) -> FieldPath:
    """A field path as a user may write it, in Templar's spelling, as a body written
    flat is read (:func:`templar.merge.normalize`): ``configuration.instanceType`` and
    ``configuration.machine_type`` are ``configuration.vm_type`` for aws, a top-level
    core alias is its core field, and any other top-level name is configuration
    (``maxNumber`` is ``configuration.max_number``). A core field's own name stays."""
    if not path:
        return path
    head = str(path[0])
    if head == "configuration":
        if len(path) == 1:
            return path
        return ("configuration", spec.canonical_key(str(path[1])), *path[2:])
    if head in CORE_FIELDS:
        return path
    if head in spec.core_keys:
        core = spec.core_keys[head]
        if core is not None:
            return (core, *path[1:])
    elif head in CORE_FIELD_ALIASES:
        return (CORE_FIELD_ALIASES[head], *path[1:])
    return ("configuration", spec.canonical_key(head), *path[1:])


def paths(body: dict[str, Any]) -> list[FieldPath]:
    """The leaves of ``body``: the fields a save compares and writes."""
    return list(leaf_paths(body))


def canonical_body(template: Any) -> dict[str, Any]:
    if hasattr(template, "model_dump"):
        data = template.model_dump(mode="json", exclude_none=True)
    elif isinstance(template, Mapping):
        data = copy.deepcopy(dict(template))
    else:
        raise TypeError(f"a template is a TemplateDTO or a mapping, not {type(template).__name__}")
    return {k: v for k, v in data.items() if k not in _READ_ONLY}


#: what :func:`templar.merge.value_at` returns for a path that is not there
_MISSING = value_at({}, ("missing",))


def set_raw(body: dict[str, Any], path: FieldPath, value: Any) -> None:
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
