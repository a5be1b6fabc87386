"""Discovery: the provider instances of a load, and what is wrong with its layers as a
whole (files for instances or types nobody declared, unknown provider types, one id in
two files of one layer).

Instances are declared in the engine config; with none declared, each provider type
found in the layers gets one instance named after it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.errors import did_you_mean, unknown_provider_type
from templar.hierarchy import LayersByKind, layers_of, shared_applies
from templar.locate import Locator
from templar.models import LayerKind, Severity, ValidationIssueDTO
from templar.state import GENERIC_TYPE, ProviderInstance
from templar.storage import LayerSource, RawLayer, RawTemplate

if TYPE_CHECKING:
    from templar.orb import OrbConfig
    from templar.settings import ProviderInstanceSettings


def discover_instances(
    layers: Sequence[RawLayer],
    declared: Sequence[ProviderInstanceSettings],
    installed: Collection[str],
    locator: Locator,
    file_issues: list[ValidationIssueDTO],
    orb: OrbConfig | None = None,
) -> list[ProviderInstance]:
    """The declared provider instances, or, with none declared, one per type found:
    in type and provider file names, in ``provider_type`` fields of the shared layer
    (``generic`` for templates naming none), and in instance file names that are
    the name of an installed provider type (``awsinst_templates.yaml``).

    Layers that no instance will read, and shared templates naming a type no instance
    has, are reported in ``file_issues`` (in the words of ORB's ``config.json`` when
    the directory is an ORB config dir, ``orb``).
    """
    if declared:
        instances = [
            ProviderInstance(p.name, p.type, p.defaults, index) for index, p in enumerate(declared)
        ]
    else:
        types: set[str] = set()
        for layer in layers:
            source = layer.source
            if source.kind is LayerKind.SHARED:
                types.update(t.provider_type or GENERIC_TYPE for t in layer.templates)
            elif source.kind is LayerKind.INSTANCE:
                if source.scope is not None and source.scope in installed:
                    types.add(source.scope)
            elif source.scope:
                types.add(source.scope)
        instances = [ProviderInstance(t, t) for t in sorted(types)]
    names = {i.name for i in instances}
    type_names = {i.type for i in instances}
    for layer in layers:
        source = layer.source
        scope = source.scope or ""
        if source.kind is LayerKind.INSTANCE and scope not in names and orb is not None:
            listed = orb.provider(scope)
            file_issues.append(
                locator.issue(
                    "unknown-instance",
                    f"file is for provider instance '{scope}', which is disabled in "
                    f"{listed.file.label}; file not loaded"
                    if listed is not None
                    else f"file is for provider instance '{scope}', which {orb.config_file.name} "
                    f"does not declare{did_you_mean(scope, names)} (provider.providers[]: "
                    "name, type); file not loaded",
                    source=source,
                    severity=Severity.WARNING,
                )
            )
        elif source.kind is LayerKind.INSTANCE and scope not in names:
            file_issues.append(
                locator.issue(
                    "unknown-instance",
                    f"file is for provider instance '{scope}', which is not declared"
                    f"{did_you_mean(scope, names)}; declare it under 'providers:' in "
                    "templar.yaml (name and type); file not loaded",
                    source=source,
                    severity=Severity.WARNING,
                )
            )
        elif source.kind in (LayerKind.TYPE, LayerKind.PROVIDER) and scope not in type_names:
            file_issues.append(
                locator.issue(
                    "unused-layer",
                    f"no provider instance of type '{scope}' is declared"
                    f"{did_you_mean(scope, type_names)}; file not loaded",
                    source=source,
                    severity=Severity.WARNING,
                )
            )
        elif source.kind is LayerKind.SHARED:
            for template in layer.templates:
                wanted = template.provider_type
                if not declared or wanted is None or wanted in type_names:
                    _report_untaken(
                        template, source, instances, locator, file_issues, bool(declared)
                    )
                    continue
                where: dict[str, Any] = {
                    "source": source,
                    "doc_path": template.doc_path,
                    "template_id": template.template_id,
                    "field": "provider_type",
                }
                if wanted in installed:
                    file_issues.append(
                        locator.issue(
                            "no-instance-for-type",
                            f"template names provider type '{wanted}', but no provider "
                            "instance of that type is declared; template not loaded",
                            severity=Severity.WARNING,
                            **where,
                        )
                    )
                else:
                    file_issues.append(
                        locator.issue(
                            "unknown-provider-type",
                            unknown_provider_type(wanted, installed),
                            **where,
                        )
                    )
    return instances


def _report_untaken(
    template: RawTemplate,
    source: LayerSource,
    instances: Sequence[ProviderInstance],
    locator: Locator,
    file_issues: list[ValidationIssueDTO],
    declared: bool,
) -> None:
    """Report a shared template that no instance takes: every template in every file
    either appears or is reported. (A type no instance has is reported by the caller;
    what is left is a ``provider_name`` that pins it where it cannot go.)"""
    if any(shared_applies(template, i, declared=declared) for i in instances):
        return
    pinned = template.body.get("provider_name", template.body.get("providerName"))
    names = {i.name: i for i in instances}
    written = "provider_name" if "provider_name" in template.body else "providerName"
    if pinned not in names:
        message = (
            f"template names provider_name '{pinned}', which is no provider instance"
            f"{did_you_mean(str(pinned), names)} (instances: {', '.join(names) or 'none'}); "
            "template not loaded"
        )
    else:
        instance = names[str(pinned)]
        wanted = template.provider_type or GENERIC_TYPE
        message = (
            f"template names provider_name '{pinned}', an instance of type "
            f"'{instance.type}', and provider type '{wanted}'; template not loaded"
        )
    file_issues.append(
        locator.issue(
            "unknown-provider-name",
            message,
            severity=Severity.WARNING,
            source=source,
            doc_path=(*template.doc_path, written),
            template_id=template.template_id,
            field="provider_name",
        )
    )


def check_ambiguous(
    by_kind: Mapping[tuple[LayerKind, str | None], list[RawLayer]],
    locator: Locator,
    file_issues: list[ValidationIssueDTO],
) -> None:
    """One id in two files of one layer (``.yaml`` and ``.json``) is ambiguous: keep the
    first. Each group of ``by_kind`` loses the later definitions (in a copy of the
    layer: the layer reader keeps the layer as read for the next reload)."""
    for group in by_kind.values():
        if len(group) < 2:
            continue
        seen: dict[str, str] = {}
        for index, layer in enumerate(group):
            kept = []
            for template in layer.templates:
                if template.template_id in seen:
                    file_issues.append(
                        locator.issue(
                            "ambiguous-template-id",
                            f"template '{template.template_id}' is also defined in "
                            f"{Path(seen[template.template_id]).name}, a file of the same "
                            "layer; that definition is kept",
                            source=layer.source,
                            doc_path=template.doc_path,
                            template_id=template.template_id,
                            field="template_id",
                        )
                    )
                    continue
                seen[template.template_id] = layer.source.location
                kept.append(template)
            if len(kept) != len(layer.templates):
                group[index] = RawLayer(layer.source, kept, layer.issues)


def check_lookalike_ids(
    layers: Sequence[RawLayer], locator: Locator, file_issues: list[ValidationIssueDTO]
) -> None:
    """Two different template ids of one config that look the same (one skeleton,
    :func:`templar.lookalikes.skeleton`: ``pop`` in Cyrillic letters, U+0440 U+043E U+0440, beside ``pop``): a
    ``lookalike-template-id`` warning at each id not written in ASCII, with a
    did-you-mean naming the other. A config of ASCII ids is not looked at further."""
    if all(t.template_id.isascii() for layer in layers for t in layer.templates):
        return
    from templar.lookalikes import skeleton

    by_skeleton: dict[str, dict[str, tuple[RawLayer, RawTemplate]]] = {}
    for layer in layers:
        for template in layer.templates:
            ids = by_skeleton.setdefault(skeleton(template.template_id), {})
            ids.setdefault(template.template_id, (layer, template))
    for ids in by_skeleton.values():
        if len(ids) < 2:
            continue
        for template_id, (layer, template) in ids.items():
            if template_id.isascii():
                continue  # the id it is taken for is reported, not this one
            others = sorted(i for i in ids if i != template_id)
            where = ids[others[0]][0].source.location
            file_issues.append(
                locator.issue(
                    "lookalike-template-id",
                    f"template id '{template_id}' looks the same as "
                    + " and ".join(f"'{other}'" for other in others)
                    + f" ({Path(where).name}) but is written in other letters"
                    f"; did you mean '{others[0]}'?",
                    source=layer.source,
                    doc_path=_id_path(template),
                    severity=Severity.WARNING,
                    template_id=template_id,
                    field="template_id",
                )
            )


def _id_path(template: RawTemplate) -> tuple[Any, ...]:
    """Where a template's id is written: its ``template_id`` key, else the template."""
    for key in ("template_id", "templateId"):
        if key in template.body:
            return (*template.doc_path, key)
    return template.doc_path


def report_unknown_type(
    instance: ProviderInstance,
    by_kind: LayersByKind,
    installed: Collection[str],
    locator: Locator,
    file_issues: list[ValidationIssueDTO],
    *,
    declared: bool,
    orb: OrbConfig | None = None,
) -> None:
    """An instance whose provider type no plugin registered: one issue where the type is
    named in the engine config (ORB's ``config.json`` in an ORB dir), or one per
    template of its layers."""
    if instance.declared_index is not None and locator.settings_file is not None:
        # The type is named once, in templar.yaml: say so there, once.
        file = str(locator.settings_file)
        path: tuple[Any, ...] = ("providers", instance.declared_index, "type")
        listed = orb.provider(instance.name) if orb is not None else None
        if listed is not None and listed.file.path is not None:
            file, path = str(listed.file.path), (*listed.doc_path, "type")
        file_issues.append(
            locator.settings_issue(
                "unknown-provider-type",
                f"provider instance '{instance.name}': "
                f"{unknown_provider_type(instance.type, installed)}; its templates are not loaded",
                path,
                file=file,
                value=True,
                provider_instance=instance.name,
                field=".".join(str(p) for p in path),
            )
        )
        return
    for layer in layers_of(instance, by_kind):
        for template in layer.templates:
            if layer.source.kind is LayerKind.SHARED and not shared_applies(
                template, instance, declared=declared
            ):
                continue
            file_issues.append(
                locator.issue(
                    "unknown-provider-type",
                    unknown_provider_type(instance.type, installed),
                    source=layer.source,
                    doc_path=template.doc_path,
                    template_id=template.template_id,
                    provider_instance=instance.name,
                    field="provider_type",
                )
            )
