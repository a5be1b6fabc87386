"""Where layers live: the storage contract every backend follows.

A backend lists its :class:`LayerSource` objects and reads each into a
:class:`RawLayer`; the engine does the rest (instances, merge, validation). Backends
are registered through the ``templar_register_storage`` hook as a :class:`StorageSpec`:
the file storage (:mod:`templar.storage.files`) is built in and registered like any
other; the SQL storage is the plugin ``templar-sql``.

The read side is :class:`StorageBackend`. A backend that can also be written to
follows :class:`WritableStorage`: it applies one :class:`LayerChange` at a time,
atomically, and refuses one made from a stale version of the layer.

Engine code calls only what these protocols declare; it never asks which class a
backend is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from templar.models import LayerKind, ValidationIssueDTO
from templar.positions import Location

if TYPE_CHECKING:
    from templar.settings import EngineSettings

__all__ = [
    "STORAGE_URL_VARIABLE",
    "FileStorage",
    "LayerChange",
    "LayerSource",
    "Location",
    "RawLayer",
    "RawTemplate",
    "StorageBackend",
    "StorageFactory",
    "StorageSpec",
    "WritableStorage",
    "backend_for_url",
]


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
    #: the version of the layer these templates were read from, when the backend knows
    #: it (files: the SHA-256 of the bytes parsed); what a writer passes back as
    #: :attr:`LayerChange.expected_version`
    version: str | None = None


class StorageBackend(Protocol):
    """The contract of a storage backend (``file`` built in, ``sql`` as a plugin).

    ``list_sources``, ``read``, ``locate`` and ``fingerprint`` are required.
    ``watched_files`` and ``changes`` may be left out: a backend without
    ``watched_files`` is read in full whenever its fingerprint changes, and one without
    ``changes`` cannot be watched (``engine.reload()`` still picks up its changes).

    A backend of rows rather than lines may also have
    ``describe(source, doc_path) -> dict | None``: what names the row of the template at
    ``doc_path`` (SQL: ``table``, ``layer``, ``scope``, ``id``, ``version``), which
    ``--explain`` shows where a file would have a line and column.
    """

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
        """A string that changes whenever any layer changes (used by the cache); cheap,
        e.g. a SQL change counter."""
        ...

    def watched_files(self) -> list[Path]:
        """The files whose content is the layers (and the engine config), or ``[]`` for
        a backend that is not made of files.

        When there are files, the engine fingerprints them itself, one ``stat`` per
        unchanged file, and reads again only the layers whose bytes changed; the
        :attr:`RawLayer.version` of a layer read from a file is the SHA-256 of its bytes.
        """
        ...

    def changes(self, stop: threading.Event) -> Iterator[set[str]]:
        """Block until something changes and yield the locations that changed, until
        ``stop`` is set.

        The first item comes as soon as the watch is in place and is the empty set, as
        is any later item that cannot say what changed: "something changed, read
        everything again" (a change made before the watch was in place is not lost).
        Files: watchfiles; SQL: LISTEN/NOTIFY or polling the change counter. The watcher
        (:mod:`templar.watch`) debounces; a backend yields as it learns.
        """
        ...


@dataclass(frozen=True)
class LayerChange:
    """One atomic write to one layer, as :meth:`WritableStorage.write` applies it."""

    source: LayerSource
    #: the version the writer read (:attr:`RawLayer.version`); ``None``: the layer must
    #: not exist yet
    expected_version: str | None
    #: template id -> the whole body as THIS layer stores it (its key style: camelCase
    #: in a HostFactory file)
    put: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    #: template ids to delete from this layer
    remove: frozenset[str] = frozenset()
    #: who made the change, for the audit trail; ``None``: the OS user
    actor: str | None = None


class WritableStorage(StorageBackend, Protocol):
    """A storage backend that can also be written to."""

    def can_write(self) -> bool:
        """True when writes are possible (a read-only directory or role says no)."""
        ...

    def version(self, source: LayerSource) -> str | None:
        """The current version of ``source`` (file: content hash; SQL: row version), or
        ``None`` if the layer does not exist."""
        ...

    def source_for(self, kind: LayerKind, scope: str | None) -> LayerSource:
        """Where a layer of that kind and scope lives, or would be created (files:
        ``{scope}{inst|type|prov}_templates.<ext of its siblings, yaml if none>``)."""
        ...

    def write(self, change: LayerChange) -> str:
        """Apply ``change`` atomically and return the layer's new version.

        Refuses unsafe ids and scopes before opening anything; raises
        :class:`~templar.errors.ConcurrencyError`, naming the layer and both versions,
        when ``change.expected_version`` is not the layer's current version.
        """
        ...


#: ``factory(config_dir, settings)`` makes a backend for one engine
StorageFactory = Callable[[Path, "EngineSettings"], StorageBackend]


@dataclass(frozen=True)
class StorageSpec:
    """A storage backend, registered by a plugin through ``templar_register_storage``."""

    name: str
    factory: StorageFactory
    description: str = ""
    #: URL schemes this backend serves (``sqlite``, ``postgresql``): a
    #: ``$TEMPLAR_STORAGE_URL`` with one of them selects it when ``templar.yaml`` names
    #: no ``storage.backend``
    url_schemes: tuple[str, ...] = ()
    #: ``from_url(url, config_dir)`` opens the backend on an explicit URL, whatever the
    #: engine config and environment say (``templates migrate --to sql:URL``)
    from_url: Callable[[str, Path], StorageBackend] | None = None


#: The environment variable naming the storage by URL (``sqlite:///templates.db``); the
#: backend reads it itself, the engine uses its scheme to pick the backend.
STORAGE_URL_VARIABLE = "TEMPLAR_STORAGE_URL"


def backend_for_url(url: str, specs: Mapping[str, StorageSpec]) -> str:
    """The name of the backend serving ``url``'s scheme (``postgresql+psycopg://`` is
    ``postgresql``); raises :class:`~templar.errors.StorageError` when none does."""
    from templar.errors import StorageError

    scheme = url.split(":", 1)[0].split("+", 1)[0].strip().lower()
    for name, spec in specs.items():
        if scheme in spec.url_schemes:
            return name
    served = sorted({s for spec in specs.values() for s in spec.url_schemes})
    raise StorageError(
        f"${STORAGE_URL_VARIABLE}: no installed storage backend serves '{scheme}:' URLs"
        f" (served: {', '.join(served) or 'none'}; SQL URLs need the templar-sql plugin)",
        field="storage.url",
    )


# The built-in backend, importable from here as it always was. Imported last: it
# builds on the names above.
from templar.storage.files import FileStorage  # noqa: E402


def template_layers(storage: StorageBackend, template_id: str) -> list[RawLayer]:
    """Every layer of ``storage``, each holding only ``template_id``'s entries: what a
    one-template question reads (``templates set``, ``show``). A backend with the
    optional ``read_template(source, template_id)`` (the file backend: a scan of each
    file's text, no whole-file parse) is asked for that; any other is read whole and
    filtered. May raise what :meth:`StorageBackend.list_sources` raises."""
    read_template = getattr(storage, "read_template", None)
    if callable(read_template):
        return [read_template(source, template_id) for source in storage.list_sources()]
    layers = [storage.read(source) for source in storage.list_sources()]
    for layer in layers:
        layer.templates = [t for t in layer.templates if t.template_id == template_id]
    return layers
