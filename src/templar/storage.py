"""Where layers live: the storage backend contract and the built-in file storage.

A backend lists its :class:`LayerSource` objects and reads each into a
:class:`RawLayer`; the engine does the rest (instances, merge, validation). The file
storage is registered through the ``templar_register_storage`` hook like any other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from templar.errors import TemplateParseError
from templar.models import LayerKind, Severity, ValidationIssueDTO
from templar.reader import (
    Location,
    PositionIndex,
    parse_document_noting_nulls,
    read_bytes,
    read_regular_file,
)
from templar.settings import SETTINGS_FILE_NAMES

if TYPE_CHECKING:
    from templar.settings import EngineSettings

_LAYER_FILE = re.compile(
    r"^(?:(?P<scope>.+?)(?P<kind>inst|type|prov)_)?templates\.(?P<ext>yaml|yml|json)$"
)
_KIND_BY_SUFFIX = {"inst": LayerKind.INSTANCE, "type": LayerKind.TYPE, "prov": LayerKind.PROVIDER}


@dataclass(frozen=True, order=True)
class LayerSource:
    """One layer as a backend knows it: its kind, its scope and where it lives.

    ``scope`` is the instance name for ``INSTANCE`` layers, the provider type for
    ``TYPE`` and ``PROVIDER`` layers and ``None`` for the shared layer.
    """

    kind: LayerKind
    scope: str | None
    location: str

    def __repr__(self) -> str:
        scope = f" {self.scope}" if self.scope else ""
        return f"<{self.kind.label}{scope} layer {self.location}>"


@dataclass(slots=True)
class RawTemplate:
    """One template as written in one layer, before merging."""

    template_id: str
    body: dict[str, Any]
    doc_path: tuple[Any, ...]
    provider_type: str | None = None


@dataclass
class RawLayer:
    """What a backend read from one :class:`LayerSource`."""

    source: LayerSource
    templates: list[RawTemplate] = field(default_factory=list)
    issues: list[ValidationIssueDTO] = field(default_factory=list)
    #: ``False`` promises that no template body holds a null (the merge skips looking)
    may_hold_nulls: bool = True


class StorageBackend(Protocol):
    """The contract of a storage backend (``file`` built in, ``sql`` as a plugin)."""

    name: str

    def list_sources(self) -> list[LayerSource]:
        """Every layer source the backend holds, in no particular order."""
        ...

    def read(self, source: LayerSource) -> RawLayer:
        """Read one source. Bad content becomes issues in the result, never an exception."""
        ...

    def locate(
        self, source: LayerSource, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> Location | None:
        """1-based (line, column) of ``doc_path`` in ``source`` (of its value when
        ``value``), for errors and ``--explain``; ``None`` if unknown."""
        ...

    def fingerprint(self) -> str:
        """A string that changes whenever any layer changes (used by the cache)."""
        ...


StorageFactory = Callable[[Path, "EngineSettings"], StorageBackend]


@dataclass(frozen=True)
class StorageSpec:
    """A storage backend, registered by a plugin through ``templar_register_storage``."""

    name: str
    factory: StorageFactory
    description: str = ""


class FileStorage:
    """Layers as files in one config directory, named as DESIGN.md's hierarchy says."""

    name = "file"

    def __init__(self, config_dir: Path, settings: EngineSettings | None = None) -> None:
        self.config_dir = config_dir
        self._positions: dict[str, PositionIndex | None] = {}

    def __repr__(self) -> str:
        return f"FileStorage({str(self.config_dir)!r})"

    @classmethod
    def from_settings(cls, config_dir: Path, settings: EngineSettings) -> FileStorage:
        """The :data:`StorageFactory` registered for ``file``."""
        return cls(config_dir, settings)

    def list_sources(self) -> list[LayerSource]:
        """Every template file of the config directory, by its hierarchy name."""
        sources = []
        for path in sorted(self.config_dir.iterdir()):
            source = layer_source_for(path)
            if source is not None:
                sources.append(source)
        return sources

    def read(self, source: LayerSource) -> RawLayer:
        """Parse one layer file into its templates, with every problem as an issue."""
        try:
            raw = read_bytes(Path(source.location))
        except TemplateParseError as e:
            return _unparsable(source, e)
        return self.parse(source, raw)

    def parse(self, source: LayerSource, raw: bytes) -> RawLayer:
        """Parse the bytes of one layer file, already read (the cache hashes them first,
        so that what is parsed is exactly what the cache key describes)."""
        try:
            data, may_hold_nulls = parse_document_noting_nulls(Path(source.location), raw)
        except TemplateParseError as e:
            return _unparsable(source, e)
        layer = templates_from_document(data, source, lambda p: self.locate(source, p))
        layer.may_hold_nulls = may_hold_nulls
        return layer

    def forget(self, location: str) -> None:
        """Drop what is remembered of one file (its positions) after it changed."""
        self._positions.pop(location, None)

    def locate(
        self, source: LayerSource, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> Location | None:
        """See :meth:`StorageBackend.locate`; the round-trip parse is done once per file."""
        if source.location not in self._positions:
            self._positions[source.location] = PositionIndex.build(Path(source.location))
        index = self._positions[source.location]
        return index.locate(doc_path, value=value) if index else None

    def fingerprint(self) -> str:
        """Hash of the names, sizes, mtimes and contents of every layer file and the engine config."""
        digest = hashlib.blake2b(digest_size=16)
        for path in self.watched_files():
            try:
                stat = path.stat()
                digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
                digest.update(hashlib.blake2b(read_regular_file(path), digest_size=16).digest())
            except OSError:
                digest.update(f"{path.name}\0missing\0".encode())
        return digest.hexdigest()

    def watched_files(self) -> list[Path]:
        """The files whose change changes the result: layer files and the engine config."""
        files = [Path(s.location) for s in self.list_sources()]
        files += [
            self.config_dir / n for n in SETTINGS_FILE_NAMES if (self.config_dir / n).exists()
        ]
        return files


def _unparsable(source: LayerSource, error: TemplateParseError) -> RawLayer:
    """The layer of a file that cannot be read or parsed: no template, one issue."""
    issue = ValidationIssueDTO(
        code=error.code,
        severity=Severity.ERROR,
        message=error.reason,
        file=source.location,
        line=error.line,
        column=error.column,
    )
    return RawLayer(source, issues=[issue])


def layer_source_for(path: Path) -> LayerSource | None:
    """The layer a file is, from its name, or ``None`` if it is not a template file."""
    match = _LAYER_FILE.match(path.name)
    if match is None:
        return None
    # Anything so named is a layer, even when it cannot be read (a dangling symlink, a
    # directory): reading it then reports why, instead of the layer silently vanishing.
    kind = _KIND_BY_SUFFIX[match["kind"]] if match["kind"] else LayerKind.SHARED
    return LayerSource(kind, match["scope"], str(path))


def templates_from_document(
    data: Any, source: LayerSource, locate: Callable[[tuple[Any, ...]], Location | None]
) -> RawLayer:
    """Split a parsed document into templates. Accepts DESIGN.md's three shapes:
    a list, ``{"templates": [...]}`` (other keys ignored) and a mapping of id to body."""
    layer = RawLayer(source)
    file = source.location

    def issue(code: str, message: str, doc_path: tuple[Any, ...], **extra: Any) -> None:
        position = locate(doc_path) if doc_path else (1, 1)
        line, column = position if position else (None, None)
        layer.issues.append(
            ValidationIssueDTO(
                code=code,
                severity=extra.pop("severity", Severity.ERROR),
                message=message,
                file=file,
                line=line,
                column=column,
                **extra,
            )
        )

    entries: Iterable[tuple[tuple[Any, ...], Any, str | None]]
    if data is None:
        issue("empty-file", "file holds no templates", (), severity=Severity.WARNING)
        return layer
    if isinstance(data, list):
        entries = (((i,), item, None) for i, item in enumerate(data))
    elif isinstance(data, dict) and "templates" in data:
        inner = data["templates"]
        if isinstance(inner, list):
            entries = ((("templates", i), item, None) for i, item in enumerate(inner))
        elif isinstance(inner, dict):
            entries = (
                (("templates", k), v, str(k)) for k, v in inner.items() if not _is_directive(k)
            )
        else:
            issue(
                "invalid-shape",
                f"'templates' must be a list of templates, not {_kind(inner)}",
                ("templates",),
            )
            return layer
    elif isinstance(data, dict) and any(isinstance(v, dict) for v in data.values()):
        # Keys starting with "_" hold anchors to share (``_base: &base``) or comments.
        entries = (((k,), v, str(k)) for k, v in data.items() if not _is_directive(k))
    else:
        issue(
            "invalid-shape",
            f"top level is {_kind(data)}; expected a list of templates, "
            "a mapping with a 'templates' list, or a mapping of template id to template",
            (),
        )
        return layer

    first_seen: dict[str, tuple[Any, ...]] = {}
    for doc_path, body, key_id in entries:
        if not isinstance(body, dict):
            issue("invalid-template", f"a template must be a mapping, not {_kind(body)}", doc_path)
            continue
        raw_id = body.get("template_id", body.get("templateId", key_id))
        if key_id is not None and raw_id != key_id and str(raw_id) != key_id:
            written = "template_id" if "template_id" in body else "templateId"
            issue(
                "template-id-mismatch",
                f"{written} '{raw_id}' is not the key '{key_id}' it is written under; "
                f"the key is the id",
                (*doc_path, written),
                severity=Severity.WARNING,
                template_id=key_id,
                field="template_id",
            )
            raw_id = key_id
        if raw_id is None or raw_id == "":
            issue("missing-template-id", "template has no template_id", doc_path)
            continue
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            issue(
                "invalid-template-id",
                f"template_id must be a string, not {_kind(raw_id)}",
                doc_path,
                field="template_id",
            )
            continue
        template_id = str(raw_id)
        if template_id in first_seen:
            first = locate(first_seen[template_id])
            where = f" (first defined at line {first[0]})" if first else ""
            issue(
                "duplicate-template-id",
                f"template '{template_id}' is defined twice in this file{where}; "
                "the first definition is kept",
                doc_path,
                template_id=template_id,
                field="template_id",
            )
            continue
        first_seen[template_id] = doc_path
        provider_type = body.get("provider_type", body.get("providerType"))
        layer.templates.append(
            RawTemplate(
                template_id,
                body,
                doc_path,
                str(provider_type) if provider_type not in (None, "") else None,
            )
        )
    return layer


def _is_directive(key: Any) -> bool:
    return str(key).startswith("_")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), f"a {type(value).__name__}")
