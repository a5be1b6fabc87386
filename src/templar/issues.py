"""Validation issues: how bad one is (:class:`Severity`), where it points
(:class:`PositionAnchor`), the issue itself (:class:`ValidationIssueDTO`, whose line and
column may be found only when first read), and :func:`printable`, which every shown
issue goes through.

Users and plugins import these from :mod:`templar.models`, their public home, which
also names them in pickles and reprs; :mod:`templar.locate` is the one factory of
located issues.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
)

__all__ = ["PositionAnchor", "Severity", "ValidationIssueDTO", "printable"]


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
