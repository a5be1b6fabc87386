"""Provenance: where every field of one effective template comes from
(``templates show ID --explain``, :meth:`templar.TemplateEngine.explain`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from templar.errors import AmbiguousTemplateError, TemplateNotFoundError, did_you_mean
from templar.locate import FieldPath, Locator
from templar.merge import TemplateVersion, explain_versions, value_at
from templar.models import (
    FieldProvenance,
    LayerKind,
    SourceLocation,
    TemplateDTO,
    TemplateExplanation,
)
from templar.state import EngineState


def explain(
    state: EngineState,
    template_id: str,
    provider: str | None,
    *,
    merge: str,
    locator: Locator,
) -> TemplateExplanation:
    """The provenance of ``template_id`` (of instance ``provider``, when given) in a
    load that kept its versions (one not served from the cache)."""
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
        names = [k[0] for k in keys]
        raise AmbiguousTemplateError(template_id, names)
    instance = next(i for i in state.instances if i.name == keys[0][0])
    versions = state.versions[keys[0]]
    fields = []
    explained = sorted(explain_versions(versions, merge), key=lambda item: _field_order(item[0]))
    for path, value, winner, shadowed in explained:
        fields.append(
            FieldProvenance(
                field=".".join(str(p) for p in path),
                value=value,
                source=source_location(locator, winner, path, value),
                shadowed=[source_location(locator, v, path, old) for v, old in shadowed],
                unset=value is None and value_at(winner.body, path) is None,
            )
        )
    layers = [
        source_location(locator, v, (), None) for v in sorted(versions, key=lambda v: v.layer.kind)
    ]
    return TemplateExplanation(
        template_id=template_id,
        provider_instance=instance.name,
        provider_type=instance.type,
        merge=merge_of(versions, merge),
        layers=layers,
        fields=fields,
    )


def explain_load(
    state: EngineState,
    template_id: str,
    provider: str | None,
    *,
    merge: str,
    locator: Locator,
) -> TemplateExplanation:
    """The provenance of ``template_id`` in any load holding its versions or served
    stale: :func:`explain`, or :func:`explain_cached` when the storage could not be
    read and ``state`` is the last cached load (:attr:`EngineState.served_stale`)."""
    if state.served_stale is not None:
        return explain_cached(state, template_id, provider, merge=merge)
    return explain(state, template_id, provider, merge=merge, locator=locator)


def explain_cached(
    state: EngineState, template_id: str, provider: str | None, *, merge: str
) -> TemplateExplanation:
    """What ``explain`` can say of a load served from the cache because the storage
    could not be read (:attr:`EngineState.served_stale`): the template's values as
    cached, each from "the last cached load", since the cache keeps no versions."""
    found = [
        (instance, by_id[template_id])
        for instance in state.instances
        if provider in (None, instance.name)
        and template_id in (by_id := state.templates.get(instance.name, {}))
    ]
    stale = f" (from the last cached load: {state.served_stale})"
    if not found:
        known = {
            tid for name, ids in state.templates.items() if provider in (None, name) for tid in ids
        }
        raise TemplateNotFoundError(
            f"no template '{template_id}'"
            + (f" in provider instance '{provider}'" if provider else "")
            + did_you_mean(template_id, known)
            + stale,
            template_id=template_id,
        )
    if len(found) > 1:
        raise AmbiguousTemplateError(template_id, [instance.name for instance, _ in found])
    instance, template = found[0]
    cached = SourceLocation(
        layer="cached",
        priority=template.file_priority or 0,
        file=template.source_file,
        record={"served": state.served_stale},
    )
    values = template.model_dump(exclude={"source_file", "file_priority"}, exclude_unset=True)
    fields = []
    for name, value in values.items():
        nested = value if isinstance(value, dict) and value else {None: value}
        for key, item in nested.items():
            field = name if key is None else f"{name}.{key}"
            fields.append(
                FieldProvenance(
                    field=field, value=item, source=cached.model_copy(update={"value": item})
                )
            )
    return TemplateExplanation(
        template_id=template_id,
        provider_instance=instance.name,
        provider_type=instance.type,
        merge=merge,
        layers=[cached],
        fields=fields,
    )


def source_location(
    locator: Locator, version: TemplateVersion, path: FieldPath, value: Any
) -> SourceLocation:
    """Where ``version`` sets ``path`` (the whole template when empty) to ``value``."""
    source = version.layer.source
    line = column = None
    if source is not None:
        doc_path = version.doc_path_of(path) if path else version.doc_path
        position = locator.position(source, doc_path)
        line, column = position if position else (None, None)
    return SourceLocation(
        layer=version.layer.label or version.layer.kind.label,
        priority=int(version.layer.kind),
        file=source.location if source else None,
        line=line,
        column=column,
        value=value,
        record=locator.record(source, version.doc_path) if line is None else None,
    )


def merge_of(versions: Sequence[TemplateVersion], mode: str) -> str:
    """How one template merged: ``replace`` when a layer replaced the lower ones."""
    if any(v.merge == "replace" for v in versions):
        return "replace"
    files = [v for v in versions if v.layer.kind <= LayerKind.SHARED]
    return "replace" if mode == "replace" and any(v.merge != "deep" for v in files) else "deep"


_CORE_ORDER = {name: i for i, name in enumerate(TemplateDTO.model_fields)}


def _field_order(path: FieldPath) -> int:
    """Explain core fields in the DTO's order; keys within a field keep merge order."""
    return _CORE_ORDER.get(str(path[0]), len(_CORE_ORDER))
