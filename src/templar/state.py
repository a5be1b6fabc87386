"""The result of one load, as plain data: provider instances, templates, verdicts.

An :class:`EngineState` is what every stage after the merge fills in and what queries,
provenance, the change diff and the cache read. It holds no behaviour beyond building
the validation result DTOs on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from templar.merge import TemplateVersion
from templar.models import Severity, TemplateDTO, TemplateValidationResultDTO, ValidationIssueDTO
from templar.storage import RawLayer

#: the provider type of templates that name none (registered by :mod:`templar.builtin`)
GENERIC_TYPE = "generic"

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ProviderInstance:
    """A provider instance: declared in the engine config, or one per type found."""

    name: str
    type: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    declared_index: int | None = None


#: (template id, instance, issues, supported features): the verdict on one template
Verdict = tuple[str, ProviderInstance, list[ValidationIssueDTO], list[str]]


@dataclass
class EngineState:
    """Everything one load produced."""

    instances: list[ProviderInstance] = field(default_factory=list)
    templates: dict[str, dict[str, TemplateDTO]] = field(default_factory=dict)
    file_issues: list[ValidationIssueDTO] = field(default_factory=list)
    versions: dict[tuple[str, str], list[TemplateVersion]] = field(default_factory=dict)
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: one verdict per template; the result DTOs are built from these only when someone
    #: asks (most loads don't)
    verdicts: list[Verdict] = field(default_factory=list)
    #: template ids served from their last good version, per instance (hot reload)
    stale: dict[str, set[str]] = field(default_factory=dict)
    #: the layers this load assembled, by location; hot reload keeps the last good ones
    layers: dict[str, RawLayer] = field(default_factory=dict)
    #: the storage fingerprint this load was made from, and its cache key if cached
    fingerprint: str | None = None
    cache_key: str | None = None
    #: read from the on-disk cache: templates and verdicts only, no versions
    from_cache: bool = False
    #: why this is the last cached load rather than a read of the storage (which could
    #: not be read: a database that is down), with when it was cached; ``None`` normally
    served_stale: str | None = None
    _results: list[TemplateValidationResultDTO] | None = field(default=None, repr=False)

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

    def all_issues(self) -> list[ValidationIssueDTO]:
        """Every issue of this load: file issues first, then each template's."""
        out = list(self.file_issues)
        out += [issue for _, _, issues, _ in self.verdicts if issues for issue in issues]
        return out

    def instance(self, name: str) -> ProviderInstance | None:
        """The provider instance called ``name``, if this load has one."""
        return next((i for i in self.instances if i.name == name), None)


class RollingMemo(Generic[K, V]):
    """What the previous assembly computed, looked up by this one, which files what it
    computes for the next: entries of templates that are gone are dropped by
    :meth:`roll`.

    A reload merges and validates only the templates whose layers changed because the
    layer reader hands back the very same template objects for everything unchanged,
    and these memos recognise them.
    """

    def __init__(self) -> None:
        self.previous: dict[K, V] = {}
        self.current: dict[K, V] = {}

    def __repr__(self) -> str:
        return f"<RollingMemo {len(self.previous)} previous, {len(self.current)} current>"

    def roll(self) -> None:
        """Start a new assembly: what was current becomes previous."""
        self.previous, self.current = self.current, {}

    def get(self, key: K) -> V | None:
        """The value from this assembly, or else from the previous one."""
        return self.previous.get(key) or self.current.get(key)

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for the next assembly."""
        self.current[key] = value
