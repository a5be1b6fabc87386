"""Located issues: the one factory that makes them, and the one translation of
pydantic's validation errors into them.

Every :class:`~templar.models.ValidationIssueDTO` that points into a file is made by
:func:`located_issue`, usually through a :class:`Locator`, which knows where a
document path of a layer (or of the engine config) is. The position is handed over
as a *callable* and resolved in :func:`located_issue` alone, so that resolving it
later, when an issue is shown, changes this module and nothing else.

:func:`field_problems` turns a pydantic ``ValidationError`` into :class:`FieldProblem`
objects (code, path, message), for templates and the engine config alike.

This module sits low in the pipeline (below settings and storage): it knows layers
only as "something with a kind and a location".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, get_args

from pydantic import BaseModel, ValidationError

from templar.errors import did_you_mean
from templar.models import LayerKind, PositionAnchor, Severity, ValidationIssueDTO
from templar.positions import Location, PositionIndex

#: a path into a template, as the merge and pydantic see it
FieldPath = tuple[Any, ...]
#: a position, or how to find it
Position = tuple[int, int | None] | Callable[[], Location | None] | None

#: layers that live in the engine config rather than in the storage
SETTINGS_KINDS = frozenset({LayerKind.TYPE_DEFAULTS, LayerKind.INSTANCE_DEFAULTS})


def located_issue(
    code: str,
    message: str,
    *,
    severity: Severity = Severity.ERROR,
    file: str | None = None,
    position: Position = None,
    template_id: str | None = None,
    provider_instance: str | None = None,
    field: str | None = None,
    anchor: PositionAnchor | None = None,
) -> ValidationIssueDTO:
    """An issue in ``file`` at ``position``: a 1-based ``(line, column)``, or a callable
    returning one (or ``None`` when unknown), called only when the issue's line or
    column is first needed (see :meth:`ValidationIssueDTO.deferred`). ``anchor`` is
    what that callable looks up, as data: with it the cache keeps the issue unresolved."""
    fields: dict[str, Any] = {
        "code": code,
        "severity": severity,
        "message": message,
        "template_id": template_id,
        "provider_instance": provider_instance,
        "field": field,
        "file": file,
    }
    if callable(position):
        # found when the issue is shown or serialised, never for a plain list or get
        return ValidationIssueDTO.deferred(position, anchor=anchor, **fields)
    line, column = position if position else (None, None)
    return ValidationIssueDTO(**fields, line=line, column=column)


def anchor_at(file: str, doc_path: FieldPath, *, value: bool = False) -> PositionAnchor | None:
    """The anchor of ``doc_path`` in ``file``, or ``None`` when a part of the path is
    neither text nor an integer (a date as a mapping key): such an issue is resolved
    before it is cached, as JSON could not give the path back."""
    if any(type(part) not in (str, int) for part in doc_path):
        return None
    return PositionAnchor(file, tuple(doc_path), value)


class AnchoredPositions:
    """Finds the positions of anchored issues (:class:`~templar.models.PositionAnchor`),
    each file indexed once per content: an issue read back from the cache is resolved
    against the bytes it was found in, and a file whose content changed since gives
    ``None`` (no line), never a line of other content."""

    def __init__(self) -> None:
        self._indexes: dict[str, tuple[str | None, PositionIndex | None]] = {}

    def __repr__(self) -> str:
        return f"AnchoredPositions({len(self._indexes)} files)"

    def locate(self, anchor: PositionAnchor) -> Location | None:
        """1-based (line, column) of the anchor's path in its file's content."""
        known = self._indexes.get(anchor.file)
        if known is None or known[0] != anchor.digest:
            known = (anchor.digest, PositionIndex.build(Path(anchor.file), digest=anchor.digest))
            self._indexes[anchor.file] = known
        index = known[1]
        return index.locate(anchor.doc_path, value=anchor.value) if index else None


class LayerLike(Protocol):
    """What locating needs of a :class:`~templar.storage.LayerSource`."""

    @property
    def kind(self) -> LayerKind: ...

    @property
    def location(self) -> str: ...


class PositionFinder(Protocol):
    """What locating needs of a storage backend: its ``locate``."""

    def locate(self, source: Any, doc_path: tuple[Any, ...], *, value: bool = False) -> Any:
        """1-based (line, column) of ``doc_path`` in ``source``, or ``None``."""
        ...


class Locator:
    """Where document paths are, in the layers of one storage and in the engine config,
    and the located issues that point there.

    :param storage: the storage whose layers are located.
    :param settings_file: the engine config file (the defaults layers live there).
    """

    def __init__(self, storage: PositionFinder, settings_file: Path | None) -> None:
        self.storage = storage
        self.settings_file = settings_file
        self._config_indexes: dict[str, PositionIndex | None] = {}

    def __repr__(self) -> str:
        return f"Locator({self.storage!r}, settings_file={self.settings_file!r})"

    def forget_settings(self) -> None:
        """The engine config was read again: its lines may have moved."""
        self._config_indexes = {}

    def config_position(
        self, file: str, doc_path: FieldPath, *, value: bool = False
    ) -> Location | None:
        """Where ``doc_path`` is in an engine config file (``templar.yaml``, or an ORB
        ``config.json`` / ``default_config.json``); each file is indexed once."""
        if file not in self._config_indexes:
            self._config_indexes[file] = PositionIndex.build(Path(file))
        index = self._config_indexes[file]
        return index.locate(doc_path, value=value) if index else None

    def settings_position(self, doc_path: FieldPath, *, value: bool = False) -> Location | None:
        """Where ``doc_path`` is in the engine config file, if there is one."""
        if self.settings_file is None:
            return None
        return self.config_position(str(self.settings_file), doc_path, value=value)

    def position(
        self, source: LayerLike | None, doc_path: FieldPath, *, value: bool = False
    ) -> Location | None:
        """Where ``doc_path`` is in ``source`` (of its value when ``value``)."""
        if source is None:
            return None
        if source.kind in SETTINGS_KINDS:  # defaults layers: traced to their config file
            return self.config_position(source.location, doc_path, value=value)
        found: Location | None = self.storage.locate(source, doc_path, value=value)
        return found

    def record(self, source: LayerLike | None, doc_path: FieldPath) -> dict[str, Any] | None:
        """What names the row ``doc_path`` is in, for a storage of rows rather than lines
        (its optional ``describe``: SQL's table, layer, id and version), else ``None``."""
        describe = getattr(self.storage, "describe", None)  # optional in the contract
        if source is None or source.kind in SETTINGS_KINDS or not callable(describe):
            return None
        described: dict[str, Any] | None = describe(source, doc_path)
        return described

    def issue(
        self,
        code: str,
        message: str,
        *,
        source: LayerLike | None = None,
        doc_path: FieldPath = (),
        value: bool = False,
        severity: Severity = Severity.ERROR,
        template_id: str | None = None,
        provider_instance: str | None = None,
        field: str | None = None,
    ) -> ValidationIssueDTO:
        """An issue at ``doc_path`` of ``source`` (nowhere in particular when ``None``)."""
        return located_issue(
            code,
            message,
            severity=severity,
            file=source.location if source is not None else None,
            # an empty path is the whole document: no position to look for
            position=(lambda: self.position(source, doc_path, value=value))
            if source is not None and doc_path
            else None,
            template_id=template_id,
            provider_instance=provider_instance,
            field=field,
            anchor=anchor_at(source.location, doc_path, value=value)
            if source is not None and doc_path
            else None,
        )

    def settings_issue(
        self,
        code: str,
        message: str,
        doc_path: FieldPath,
        *,
        file: str | None = None,
        value: bool = False,
        severity: Severity = Severity.ERROR,
        provider_instance: str | None = None,
        field: str | None = None,
    ) -> ValidationIssueDTO:
        """An issue at ``doc_path`` of an engine config file (default: the settings
        file)."""
        if file is None and self.settings_file is not None:
            file = str(self.settings_file)
        return located_issue(
            code,
            message,
            severity=severity,
            file=file,
            position=(lambda: self.config_position(file, doc_path, value=value)) if file else None,
            provider_instance=provider_instance,
            field=field,
            anchor=anchor_at(file, doc_path, value=value) if file else None,
        )


def issue_from_context(
    code: str, message: str, context: dict[str, Any], *, severity: Severity = Severity.ERROR
) -> ValidationIssueDTO:
    """An issue from the ``file``/``line``/``column``/``field`` context of a
    :class:`~templar.errors.TemplarError` (a parse or configuration error)."""
    line, column = context.get("line"), context.get("column")
    return located_issue(
        code,
        message,
        severity=severity,
        file=context.get("file"),
        position=(line, column) if line else None,
        field=context.get("field"),
    )


# -- pydantic errors ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """One pydantic error, in Templar's words."""

    #: ``unknown-key``, ``missing-field`` or ``invalid-field``
    code: str
    #: the path of the field, ``prefix`` included
    path: FieldPath
    message: str
    #: whether the problem is the value (point at it) rather than the key
    at_value: bool

    @property
    def dotted(self) -> str:
        """The path as a dotted field name (``configuration.max_number``)."""
        return ".".join(str(part) for part in self.path)


#: the names a mistyped key is compared to: ``candidates(nested_model, loc)``
Candidates = Callable[[type[BaseModel] | None, FieldPath], Iterable[str]]


def _model_fields(model: type[BaseModel] | None, loc: FieldPath) -> Iterable[str]:
    return list(model.model_fields) if model is not None else []


def field_problems(
    error: ValidationError,
    model: type[BaseModel],
    *,
    prefix: FieldPath = (),
    candidates: Candidates = _model_fields,
    written: Callable[[FieldPath], str] | None = None,
) -> list[FieldProblem]:
    """The problems of ``error``, raised validating ``model``, in pydantic's order.

    :param prefix: where ``model`` sits in the document (``("configuration",)``).
    :param candidates: the names an unknown key may be a typo of, given the model the
        key was found in (default: that model's field names).
    :param written: the key as the file wrote it, given its path (default: pydantic's).
    """
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = prefix + loc
        kind = item["type"]
        if kind == "extra_forbidden":
            key = written(path) if written is not None else str(loc[-1])
            names = list(candidates(model_at(model, loc[:-1]), loc))
            problems.append(
                FieldProblem(
                    "unknown-key", path, f"unknown key '{key}'" + did_you_mean(key, names), False
                )
            )
        elif kind == "missing":
            problems.append(FieldProblem("missing-field", path, "field required", False))
        else:
            message = item["msg"]
            if "input" in item and not isinstance(item["input"], (dict, list)):
                message += f" (got {item['input']!r})"
            problems.append(FieldProblem("invalid-field", path, message, True))
    return problems


def model_at(model: type[BaseModel], loc: FieldPath) -> type[BaseModel] | None:
    """The nested model a pydantic error location points into, if it is one."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # an item of a list field: same model as the field's items
        info = current.model_fields.get(str(part)) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        current = _first_model(info.annotation) if info is not None else None
    return current


def _first_model(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model inside an annotation (``Model | None``, ``list[Model]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _first_model(argument)
        if found is not None:
            return found
    return None
