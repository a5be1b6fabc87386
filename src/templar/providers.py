"""What a provider plugin registers: a :class:`ProviderSpec`, and optionally a key style."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from templar.models import TemplateDTO


@runtime_checkable
class KeyStyle(Protocol):
    """Translates a provider's external key spelling to Templar's snake_case and back.

    The engine calls :meth:`to_canonical` on each top-level key of ``configuration``
    (flat HostFactory keys included) before merging, so ``maxNumber`` in one layer and
    ``max_number`` in another are the same field.
    """

    @property
    def name(self) -> str:
        """The style's name, as ``templates list --style NAME`` selects it."""
        ...

    def to_canonical(self, key: str) -> str:
        """The snake_case name of ``key``; ``key`` unchanged if it is already canonical."""
        ...

    def to_external(self, key: str) -> str:
        """The external spelling of the canonical ``key``."""
        ...

    def export_template(self, template: TemplateDTO) -> dict[str, Any]:
        """One template as the external format writes it (``templates list --style NAME``)."""
        ...


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def camel_to_snake(key: str) -> str:
    """``vmTypesOnDemand`` -> ``vm_types_on_demand``; snake_case keys are unchanged."""
    return _CAMEL_BOUNDARY.sub("_", key).replace("-", "_").lower()


def snake_to_camel(key: str) -> str:
    """``vm_types_on_demand`` -> ``vmTypesOnDemand``."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class CamelCaseKeyStyle:
    """A :class:`KeyStyle` for camelCase formats such as IBM HostFactory's.

    ``overrides`` maps canonical names whose external spelling is irregular
    (``{"vm_types_on_demand": "vmTypesOnDemand"}`` is regular; an acronym is not).
    ``aliases`` maps other spellings a file may use to canonical names, for keys that
    were renamed or that another tool spells differently (``{"subnet_id": "subnet_ids"}``):
    they are read, merged and validated as the canonical key, never written.
    """

    name: str = "camel"
    overrides: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def to_canonical(self, key: str) -> str:
        """See :meth:`KeyStyle.to_canonical`."""
        if key in self.aliases:
            return self.aliases[key]
        for canonical, external in self.overrides.items():
            if key == external:
                return canonical
        # An alias is resolved after the conversion too: ``maxInstances`` is ``max_instances``.
        snake = camel_to_snake(key)
        return self.aliases.get(snake, snake)

    def to_external(self, key: str) -> str:
        """See :meth:`KeyStyle.to_external`."""
        return self.overrides.get(key) or snake_to_camel(key)

    def spellings(self, key: str) -> list[str]:
        """Every spelling of the canonical ``key`` this style reads, external first.

        Editors' schemas (``templates schema``) offer the first and accept all.
        """
        names = [self.to_external(key), key, snake_to_camel(key)]
        names += [alias for alias, canonical in self.aliases.items() if canonical == key]
        return list(dict.fromkeys(n for n in names if self.to_canonical(n) == key))

    def export_template(self, template: TemplateDTO) -> dict[str, Any]:
        """Core fields and configuration, flat, in camelCase, empty values dropped."""
        data = template.model_dump(
            mode="json", exclude={"configuration", "source_file", "file_priority"}
        )
        out: dict[str, Any] = {snake_to_camel(k): v for k, v in data.items() if _present(v)}
        for key, value in template.configuration.items():
            if _present(value):
                out[self.to_external(key)] = value
        return out


def _present(value: Any) -> bool:
    return value is not None and value != {} and value != [] and value != ""


FeaturesFor = Callable[["TemplateDTO"], Sequence[str]]


class GenericConfiguration(BaseModel):
    """The ``generic`` provider's configuration: any mapping."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class ProviderSpec:
    """A provider type, registered by a plugin through ``templar_register_providers``.

    :param name: the type name used in file names (``{name}prov_templates.yaml``) and
        in ``provider_type`` fields.
    :param configuration_model: pydantic model of a template's ``configuration``. Use
        ``extra="forbid"`` so a typo is an error with a did-you-mean.
    :param defaults: lowest-priority values for every template of this type (the
        ``plugin-defaults`` layer); may set core fields and configuration keys.
    :param supported_features: the features every template of this type supports, or a
        function of the validated template returning them.
    :param key_style: how this provider spells keys outside Templar, if not snake_case.
    :param description: one line about the provider type, for people reading the code.
    :param core_keys: top-level keys this provider reads differently from the core: a key
        mapped to the core field it spells (``{"awsHandler": "provider_api"}``), or to
        ``None`` to read it as configuration although it spells a core field (ORB's aws
        ``tags`` are the instance tags, not Templar's ``tags``).
    """

    name: str
    configuration_model: type[BaseModel] = GenericConfiguration
    defaults: Mapping[str, Any] = field(default_factory=dict)
    supported_features: Sequence[str] | FeaturesFor = ()
    key_style: KeyStyle | None = None
    description: str = ""
    core_keys: Mapping[str, str | None] = field(default_factory=dict)

    def features_for(self, template: TemplateDTO) -> list[str]:
        """The supported features of one validated template."""
        if callable(self.supported_features):
            return list(self.supported_features(template))
        return list(self.supported_features)

    _canonical_keys: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def canonical_key(self, key: str) -> str:
        """A configuration key in Templar's spelling (memoised: called for every key)."""
        if self.key_style is None:
            return key
        known = self._canonical_keys.get(key)
        if known is None:
            known = self._canonical_keys[key] = self.key_style.to_canonical(key)
        return known
