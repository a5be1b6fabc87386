"""The hierarchy: which layers make up a provider instance, in which order, and the
versions of each of its templates, lowest priority first.

For an instance ``I`` of type ``T`` (DESIGN.md, "The hierarchy"): plugin defaults,
type defaults, instance defaults (from the engine config), then the shared layer,
``{T}prov``, ``{T}type`` and ``{I}inst`` files. A template of the shared layer belongs
to an instance by its ``provider_type`` and ``provider_name`` (:func:`shared_applies`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.locate import Locator
from templar.merge import KeyPlans, LayerRef, TemplateVersion, normalize
from templar.models import LayerKind, ValidationIssueDTO
from templar.providers import ProviderSpec
from templar.state import GENERIC_TYPE, ProviderInstance, RollingMemo
from templar.storage import LayerSource, RawLayer, RawTemplate

if TYPE_CHECKING:
    from templar.settings import EngineSettings

#: the layers of a load, by (kind, scope): ``(TYPE, "aws")`` -> its files
LayersByKind = Mapping[tuple[LayerKind, str | None], list[RawLayer]]


def group_layers(layers: Sequence[RawLayer]) -> dict[tuple[LayerKind, str | None], list[RawLayer]]:
    """``layers`` by kind and scope, each group in the order given."""
    by_kind: dict[tuple[LayerKind, str | None], list[RawLayer]] = defaultdict(list)
    for layer in layers:
        by_kind[(layer.source.kind, layer.source.scope)].append(layer)
    return by_kind


def layers_of(instance: ProviderInstance, by_kind: LayersByKind) -> list[RawLayer]:
    """The file layers of an instance, lowest priority first."""
    shared = [
        layer for (kind, _), group in by_kind.items() if kind is LayerKind.SHARED for layer in group
    ]
    return [
        *shared,
        *by_kind.get((LayerKind.PROVIDER, instance.type), []),
        *by_kind.get((LayerKind.TYPE, instance.type), []),
        *by_kind.get((LayerKind.INSTANCE, instance.name), []),
    ]


def shared_applies(template: RawTemplate, instance: ProviderInstance, *, declared: bool) -> bool:
    """Whether a template of the shared layer belongs to ``instance``.

    A template naming a provider type belongs to the instances of that type. One
    naming none belongs to every declared instance (``declared``: the engine config
    declares instances); with none declared, to the built-in ``generic`` provider. A
    ``provider_name`` narrows it to the instance of that name.
    """
    if template.provider_type is not None:
        if template.provider_type != instance.type:
            return False
    elif not declared and instance.type != GENERIC_TYPE:
        return False
    # ORB pins a template to one provider instance with provider_name.
    pinned = template.body.get("provider_name", template.body.get("providerName"))
    return pinned in (None, "", instance.name)


class Hierarchy:
    """The versions of each template of each instance, remembered from one assembly to
    the next so that an unchanged template is not normalised again.

    :param settings: the engine settings (declared instances, defaults).
    :param settings_file: the file the defaults layers were read from, if any.
    :param locator: locates the issues found here.
    """

    def __init__(
        self, settings: EngineSettings, settings_file: Path | None, locator: Locator
    ) -> None:
        self.settings = settings
        self.settings_file = settings_file
        self.locator = locator
        self.versions: RollingMemo[tuple[int, str], tuple[RawTemplate, TemplateVersion]] = (
            RollingMemo()
        )
        self.defaults: RollingMemo[tuple[str, str, str], list[TemplateVersion]] = RollingMemo()
        #: how each key reads, per provider type (see :class:`templar.merge.KeyPlans`)
        self.key_plans: dict[str, KeyPlans] = {}

    def __repr__(self) -> str:
        return f"<Hierarchy {self.versions!r}>"

    def roll(self) -> None:
        """A new assembly starts: see :meth:`RollingMemo.roll`."""
        self.versions.roll()
        self.defaults.roll()

    def forget(self, replaced: Sequence[RawTemplate]) -> None:
        """Drop what is remembered of templates a reload replaced. The incremental
        reload does not roll the memos (most templates stay), so without this every
        edit would leave its old versions here for good."""
        gone = {id(template) for template in replaced}
        if not gone:
            return
        for memo in (self.versions.previous, self.versions.current):
            for key in [k for k, (template, _) in memo.items() if k[0] in gone]:
                if id(memo[key][0]) in gone:
                    del memo[key]

    def collect_versions(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        by_kind: LayersByKind,
        file_issues: list[ValidationIssueDTO],
        only: set[str] | None = None,
    ) -> dict[str, list[TemplateVersion]]:
        """The versions of each template of ``instance``, lowest priority first (of the
        ids in ``only``, when given); a template of the wrong provider type is skipped
        with an issue in ``file_issues``."""
        declared = bool(self.settings.providers)
        orb = self.settings.orb is not None  # read once: a pydantic private attribute
        versions: dict[str, list[TemplateVersion]] = {}
        for layer in layers_of(instance, by_kind):
            source = layer.source
            ref = LayerRef(source.kind, source, source.kind.label)
            for template in layer.templates:
                if only is not None and template.template_id not in only:
                    continue
                if source.kind is LayerKind.SHARED:
                    if not shared_applies(template, instance, declared=declared):
                        continue
                elif template.provider_type not in (None, instance.type):
                    file_issues.append(
                        self.locator.issue(
                            "provider-type-mismatch",
                            f"provider_type '{template.provider_type}' in a layer of "
                            f"provider instance '{instance.name}' (type '{instance.type}'); "
                            "template skipped",
                            source=source,
                            doc_path=template.doc_path,
                            template_id=template.template_id,
                            provider_instance=instance.name,
                            field="provider_type",
                        )
                    )
                    continue
                version = self._normalized(template, spec, ref, layer.may_hold_nulls, orb)
                versions.setdefault(template.template_id, []).append(version)
        if not versions:
            return versions
        defaults = self._defaults_versions(instance, spec)
        return {tid: [*defaults, *own] for tid, own in versions.items()}

    def _normalized(
        self,
        template: RawTemplate,
        spec: ProviderSpec,
        ref: LayerRef,
        may_hold_nulls: bool,
        orb: bool,
    ) -> TemplateVersion:
        """``template`` in canonical form, from the memo when it is the same object
        (``orb``: the settings come from an ORB config dir)."""
        key = (id(template), spec.name)
        known = self.versions.get(key)
        if known is not None and known[0] is template:
            version = known[1]
        else:
            body = template.body
            if orb:
                from templar.orb import without_empty

                body = without_empty(body)  # ORB: an empty value is "not set"
            plans = self.key_plans.get(spec.name)
            if plans is None or plans.provider is not spec:
                plans = self.key_plans[spec.name] = KeyPlans(spec)
            version = normalize(body, spec, ref, template.doc_path, plans)
            # The id may be a mapping key rather than a field: record it either way,
            # so provenance shows every layer that defines the template.
            version.body["template_id"] = template.template_id
            version.may_hold_nulls = may_hold_nulls
            version.shallow = orb  # ORB: field by field
        self.versions.put(key, (template, version))
        return version

    def _defaults_versions(
        self, instance: ProviderInstance, spec: ProviderSpec
    ) -> list[TemplateVersion]:
        key = (instance.name, instance.type, spec.name)
        known = self.defaults.get(key)
        if known is None:
            known = self._make_defaults_versions(instance, spec)
        self.defaults.put(key, known)
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
        type_defaults: Any = self.settings.provider_defaults.get(instance.type)
        if type_defaults:
            ref = LayerRef(LayerKind.TYPE_DEFAULTS, settings_source, "type-defaults")
            out.append(normalize(type_defaults, spec, ref, ("provider_defaults", instance.type)))
        if instance.defaults:
            ref = LayerRef(LayerKind.INSTANCE_DEFAULTS, settings_source, "instance-defaults")
            path = ("providers", instance.declared_index, "defaults")
            out.append(normalize(dict(instance.defaults), spec, ref, path))
        return out
