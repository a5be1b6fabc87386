"""The data Templar hands out: templates, validation results, provenance, change events
and cache entries, and the issues they hold (defined in :mod:`templar.issues`).

Import every one of these names from here: it is their public home.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from templar.issues import PositionAnchor, Severity, ValidationIssueDTO, printable

__all__ = [
    "CORE_FIELDS",
    "CORE_FIELD_ALIASES",
    "ChangeEvent",
    "FieldProvenance",
    "LayerKind",
    "PositionAnchor",
    "Severity",
    "SourceLocation",
    "TemplateCacheEntryDTO",
    "TemplateDTO",
    "TemplateExplanation",
    "TemplateValidationResultDTO",
    "ValidationIssueDTO",
    "ValidationReport",
    "printable",
]

#: Core template fields and the HostFactory (camelCase) spelling the engine also reads.
CORE_FIELD_ALIASES: dict[str, str] = {
    "templateId": "template_id",
    "providerApi": "provider_api",
    "providerType": "provider_type",
    "providerName": "provider_name",
    "isActive": "is_active",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
CORE_FIELDS: frozenset[str] = frozenset(
    {
        "template_id",
        "name",
        "description",
        "provider_api",
        "provider_type",
        "provider_name",
        "configuration",
        "metadata",
        "tags",
        "is_active",
        "created_at",
        "updated_at",
    }
)


class LayerKind(IntEnum):
    """The layers of the hierarchy; the value is the priority (1 wins)."""

    INSTANCE = 1
    TYPE = 2
    PROVIDER = 3
    SHARED = 4
    INSTANCE_DEFAULTS = 5
    TYPE_DEFAULTS = 6
    PLUGIN_DEFAULTS = 7

    @property
    def label(self) -> str:
        """Short human name, as printed by ``--explain``."""
        return self.name.lower().replace("_", "-")


class TemplateDTO(BaseModel):
    """One effective template: every layer merged, validated, ready to use."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1)
    name: str | None = None
    description: str | None = None
    provider_api: str | None = None
    provider_type: str
    provider_name: str
    configuration: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    source_file: str | None = Field(
        default=None, description="File of the winning layer (read-only)."
    )
    file_priority: int | None = Field(
        default=None, description="Priority of the winning layer, 1 highest (read-only)."
    )


class TemplateValidationResultDTO(BaseModel):
    """The verdict on one effective template of one provider instance."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    template_id: str
    provider_instance: str
    provider_type: str | None = None
    is_valid: bool
    errors: list[ValidationIssueDTO] = Field(default_factory=list)
    warnings: list[ValidationIssueDTO] = Field(default_factory=list)
    supported_features: list[str] = Field(default_factory=list)
    validation_time: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ValidationReport(BaseModel):
    """What :meth:`templar.TemplateEngine.validate` returns: per-template results and
    the issues that belong to no single template (a file that does not parse, ...)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    results: list[TemplateValidationResultDTO] = Field(default_factory=list)
    file_issues: list[ValidationIssueDTO] = Field(default_factory=list)

    @property
    def issues(self) -> list[ValidationIssueDTO]:
        """Every issue, file-level first, then per template."""
        out = list(self.file_issues)
        for result in self.results:
            out.extend(result.errors)
            out.extend(result.warnings)
        return out

    @property
    def errors(self) -> list[ValidationIssueDTO]:
        """Every issue of severity error."""
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[ValidationIssueDTO]:
        """Every issue of severity warning."""
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def is_valid(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def __iter__(self) -> Iterator[TemplateValidationResultDTO]:  # type: ignore[override]
        """Iterate over the per-template results, as over a list."""
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> TemplateValidationResultDTO:
        return self.results[index]


class SourceLocation(BaseModel):
    """Where a value was written: a layer, its file, and the 1-based line and column."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    layer: str
    priority: int
    file: str | None = None
    line: int | None = None
    column: int | None = None
    value: Any = None
    record: dict[str, Any] | None = Field(
        default=None,
        description="For a layer stored as rows (SQL): the table, layer, scope, template "
        "id and version of the row; no line and column then.",
    )


class FieldProvenance(BaseModel):
    """Where one field of an effective template comes from, and what it shadowed."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    field: str
    value: Any = None
    source: SourceLocation
    shadowed: list[SourceLocation] = Field(default_factory=list)
    unset: bool = Field(
        default=False, description="An explicit null in the source layer removed the field."
    )


class TemplateExplanation(BaseModel):
    """Provenance of every field of one effective template (``templates show --explain``)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    template_id: str
    provider_instance: str
    provider_type: str
    merge: str
    layers: list[SourceLocation] = Field(default_factory=list)
    fields: list[FieldProvenance] = Field(default_factory=list)

    def __getitem__(self, field: str) -> FieldProvenance:
        """The provenance of one field by its dotted name (``configuration.max_number``)."""
        for provenance in self.fields:
            if provenance.field == field:
                return provenance
        raise KeyError(field)


class ChangeEvent(BaseModel):
    """What changed after a reload: template ids per provider instance and new issues."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on `list`'s path

    added: dict[str, list[str]] = Field(default_factory=dict)
    changed: dict[str, list[str]] = Field(default_factory=dict)
    removed: dict[str, list[str]] = Field(default_factory=dict)
    stale: dict[str, list[str]] = Field(default_factory=dict)
    issues: list[ValidationIssueDTO] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    full_reload: bool = False
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def is_empty(self) -> bool:
        """True when nothing was added, changed, removed or newly broken."""
        return not (self.added or self.changed or self.removed or self.stale or self.issues)


class TemplateCacheEntryDTO(BaseModel):
    """One template as the on-disk cache holds it (:meth:`templar.TemplateEngine.cache_entries`).

    ``hit_count`` is how many times the cached load holding this template was served
    instead of reading the files, counted across every process sharing the cache.
    """

    # built on first use: most commands never need it, and every model built at import
    # delays every command
    model_config = ConfigDict(frozen=True, defer_build=True)

    template: TemplateDTO
    cached_at: datetime
    ttl_seconds: float
    hit_count: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def age_seconds(self) -> float:
        """Seconds since the entry was written."""
        return (datetime.now(UTC) - self.cached_at).total_seconds()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_expired(self) -> bool:
        """True once the entry is older than its TTL: it is no longer served."""
        return self.age_seconds > self.ttl_seconds
