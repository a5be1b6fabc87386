"""The data Templar hands out: templates, validation results and provenance."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    computed_field,
    model_serializer,
)

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


class Severity(StrEnum):
    """How bad a validation issue is. Only errors make a template invalid."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class PositionAnchor:
    """Where a deferred issue points, in a form that outlives the process that found it:
    the file, the document path in it (of its value when ``value``) and, once known,
    the SHA-256 of the file's content the issue was found in.

    The cache stores an unresolved issue as its anchor, so that a plain list never
    indexes a file; the issue is resolved when shown, against that content only (a file
    whose content changed since gives no line rather than another one)."""

    file: str
    doc_path: tuple[str | int, ...]
    value: bool = False
    digest: str | None = None


class ValidationIssueDTO(BaseModel):
    """One problem found in a file or a template, located as precisely as it can be."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    template_id: str | None = None
    provider_instance: str | None = None
    field: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None

    # Where the issue is, found on first use: most issues of a load are never shown
    # (a plain list or get), and finding a line means indexing the whole file.
    _position: Callable[[], tuple[int, int] | None] | None = PrivateAttr(default=None)
    _anchor: PositionAnchor | None = PrivateAttr(default=None)

    @classmethod
    def deferred(
        cls,
        position: Callable[[], tuple[int, int] | None],
        *,
        anchor: PositionAnchor | None = None,
        **fields: Any,
    ) -> ValidationIssueDTO:
        """An issue whose ``line`` and ``column`` are found by calling ``position`` (a
        1-based ``(line, column)``, or ``None`` when unknown) the first time either is
        read, or the issue is compared, printed or serialised; never before.

        ``anchor`` says in data what ``position`` finds, so that the cache can keep the
        issue unresolved (see :attr:`pending_anchor`)."""
        issue = cls(**fields)
        issue._position = position
        issue._anchor = anchor
        del issue.__dict__["line"], issue.__dict__["column"]
        return issue

    @classmethod
    def construct_deferred(
        cls,
        position: Callable[[], tuple[int, int] | None],
        anchor: PositionAnchor,
        fields: dict[str, Any],
    ) -> ValidationIssueDTO:
        """:meth:`deferred` without validating ``fields`` (every field but ``line`` and
        ``column``): for values that were validated when the issue was first made."""
        issue = cls.model_construct(set(fields) | {"line", "column"}, **fields)
        issue._position = position
        issue._anchor = anchor
        issue.__dict__.pop("line", None), issue.__dict__.pop("column", None)
        return issue

    @property
    def pending_anchor(self) -> PositionAnchor | None:
        """The anchor of a position not found yet (``None`` once ``line`` and
        ``column`` are known, or when the issue has no anchor)."""
        return self._anchor if self._position is not None else None

    def resolve_position(self) -> None:
        """Find ``line`` and ``column`` now, if they are deferred (see :meth:`deferred`)."""
        position = self._position
        if position is None:
            return
        self._position = self._anchor = None  # found: equal to an issue made located
        where = position()
        self.__dict__["line"], self.__dict__["column"] = where if where else (None, None)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name in ("line", "column") and self._position is not None:
                self.resolve_position()
                return self.__dict__[name]
            return super().__getattr__(name)

    @model_serializer(mode="wrap")
    def _resolved_first(self, handler: SerializerFunctionWrapHandler) -> Any:
        self.resolve_position()
        return handler(self)

    def __eq__(self, other: object) -> bool:
        self.resolve_position()
        if isinstance(other, ValidationIssueDTO):
            other.resolve_position()
        return super().__eq__(other)

    def __hash__(self) -> int:
        self.resolve_position()
        return hash(tuple(self.__dict__.get(name) for name in type(self).model_fields))

    def __iter__(self) -> Any:
        self.resolve_position()
        return super().__iter__()

    def __repr_args__(self) -> Any:
        self.resolve_position()
        return super().__repr_args__()

    def __getstate__(self) -> dict[Any, Any]:
        self.resolve_position()
        return super().__getstate__()

    def format_line(self) -> str:
        """``file:line:column: severity code message``, the form editors and CI jump to.

        Always one line: a control character, a line break or a bidirectional override
        in any part (a template id holding CR/LF) is written as an escape, so no
        template can add lines of its own to ``validate``'s output."""
        # Always file:line:column, so every line matches an editor's or CI's pattern;
        # an issue about a whole file points at its start.
        where = f"{printable(self.file or '<config>')}:{self.line or 1}:{self.column or 1}"
        subject = f"[{printable(self.template_id)}] " if self.template_id else ""
        field = f"{printable(self.field)}: " if self.field else ""
        return (
            f"{where}: {self.severity.value} {printable(self.code)} "
            f"{subject}{field}{printable(self.message)}"
        )


#: Characters a terminal or a line-based reader would act on: C0 and C1 controls, DEL,
#: Unicode line and paragraph separators, and bidirectional embeddings and overrides.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character, line break and bidirectional override
    written as a Python-style escape (``\\n``, ``\\x1b``, ``\\u202e``): what a
    template id or value holds is shown, never acted on by the terminal."""
    if text.isprintable() and _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


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
