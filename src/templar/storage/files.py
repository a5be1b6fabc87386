"""The file backend: layers as files in one config directory, named as DESIGN.md says.

``{I}inst_templates.{ext}``, ``{T}type_templates.{ext}``, ``{T}prov_templates.{ext}``
and ``templates.{ext}``, with ``ext`` one of ``yaml``, ``yml``, ``json``. Registered as
the ``file`` storage by :mod:`templar.builtin`, through the same hook as any plugin.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.errors import StorageError, TemplateParseError
from templar.models import LayerKind, Severity, ValidationIssueDTO
from templar.orb.packaged import CONFIG_FILE, DEFAULTS_FILE
from templar.positions import Location, PositionIndex
from templar.reader import parse_document, parse_layer_document, read_bytes, read_regular_file
from templar.settings import SETTINGS_FILE_NAMES
from templar.storage import LayerChange, LayerSource, RawLayer
from templar.storage.documents import raw_template, templates_from_document, unparsable_layer
from templar.storage.entrytext import EntryText

if TYPE_CHECKING:
    from templar.settings import EngineSettings
    from templar.storage.edits import Scan

_LAYER_FILE = re.compile(
    r"^(?:(?P<scope>.+?)(?P<kind>inst|type|prov)_)?templates\.(?P<ext>yaml|yml|json)$"
)
_KIND_BY_SUFFIX = {"inst": LayerKind.INSTANCE, "type": LayerKind.TYPE, "prov": LayerKind.PROVIDER}

#: ORB's config files: their change can make a directory an ORB dir, or change one
ORB_CONFIG_FILES = (CONFIG_FILE, DEFAULTS_FILE)
#: How often watchfiles' loop looks at what it collected (and at ``stop``), in ms.
WATCH_STEP_MS = 5
#: How long watchfiles waits for the OS before looking at ``stop`` again, in ms.
WATCH_TIMEOUT_MS = 50

#: How many :meth:`FileStorage.read_template` scans are kept for the writes after them.
_SCANS_KEPT = 8

#: what a position index was built from: size, mtime, ctime, inode
_StatKey = tuple[int, int, int, int]


class FileStorage:
    """Layers as files in one config directory, named as DESIGN.md's hierarchy says."""

    name = "file"

    def __init__(self, config_dir: Path, settings: EngineSettings | None = None) -> None:
        self.config_dir = config_dir
        self._positions: dict[str, tuple[_StatKey | None, PositionIndex | None]] = {}
        #: (location, template id) -> the scan :meth:`read_template` made (see there)
        self._scans: dict[tuple[str, str], Scan] = {}
        #: the entries :meth:`read_template` found, by file, and the file's stat then
        self._entries: dict[str, tuple[_StatKey | None, list[EntryText]]] = {}
        #: what a file name makes of a file: Templar's hierarchy names, and in an ORB
        #: config dir ORB's names as well (see :mod:`templar.orb`)
        self.layer_source_for: Callable[[Path], LayerSource | None] = layer_source_for
        #: config files beside the engine config whose change changes the templates
        self.config_files: list[Path] = []
        if settings is not None and settings.orb is not None:
            instances = [(p.name, p.type) for p in settings.providers]
            self.layer_source_for = settings.orb.layer_namer(instances)
            self.config_files = settings.orb.watched_files()

    def __repr__(self) -> str:
        return f"FileStorage({str(self.config_dir)!r})"

    @classmethod
    def from_settings(cls, config_dir: Path, settings: EngineSettings) -> FileStorage:
        """The :data:`~templar.storage.StorageFactory` registered for ``file``."""
        return cls(config_dir, settings)

    def list_sources(self) -> list[LayerSource]:
        """Every template file of the config directory, by its hierarchy name."""
        sources = []
        for path in sorted(self.config_dir.iterdir()):
            source = self.layer_source_for(path)
            if source is not None:
                sources.append(source)
        return sources

    def read(self, source: LayerSource) -> RawLayer:
        """Parse one layer file into its templates, with every problem as an issue.

        The layer's :attr:`~templar.storage.RawLayer.version` is the SHA-256 of the bytes
        parsed, so that a caller can tell whether it read what it hashed before.
        """
        path = Path(source.location)
        try:
            raw = read_bytes(path)
        except TemplateParseError as e:
            return unparsable_layer(source, e)
        version = hashlib.sha256(raw).hexdigest()
        try:
            document = parse_layer_document(path, raw)
        except TemplateParseError as e:
            layer = unparsable_layer(source, e)
        else:
            layer = templates_from_document(document.data, source, lambda p: self.locate(source, p))
            layer.may_hold_nulls = document.may_hold_nulls
            # what the reader noted without stopping (a key written twice: the first kept)
            layer.issues[:0] = [
                ValidationIssueDTO(
                    code=issue.code,
                    severity=Severity.WARNING if issue.warning else Severity.ERROR,
                    message=issue.reason,
                    file=source.location,
                    line=issue.line,
                    column=issue.column,
                )
                for issue in document.issues
            ]
        layer.version = version
        return layer

    def locate(
        self, source: LayerSource, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> Location | None:
        """See :meth:`~templar.storage.StorageBackend.locate`. The round-trip parse is done
        once per file, and again only after the file changed on disk."""
        location = source.location
        key = _stat_key(location)
        known = self._positions.get(location)
        if (known is None or known[0] != key) and location in self._entries:
            entries_key, entries = self._entries[location]
            if entries_key == key and key is not None:
                for entry in entries:
                    if tuple(doc_path[: len(entry.doc_path)]) == entry.doc_path:
                        return entry.locate(doc_path, value=value)
        if known is None or known[0] != key or key is None:
            known = (key, PositionIndex.build(Path(location)))
            self._positions[location] = known
        index = known[1]
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
        return files + self.config_files

    def changes(self, stop: threading.Event) -> Iterator[set[str]]:
        """See :meth:`~templar.storage.StorageBackend.changes`: watchfiles on the config
        directory, layer files and the engine config only (an editor's swap file wakes
        nothing), each batch as watchfiles hands it over.

        A watch follows one directory (an inode): when the config directory is deleted,
        or replaced (``rm -r cfg; mkdir cfg``, a checkout, a deploy that swaps it), its
        watch would go deaf. So the directory's identity is checked at every wake-up
        (at least every ``WATCH_TIMEOUT_MS``): on a change everything is read again
        (the templates go, with an error, while it is missing) and the new directory
        is watched as soon as it exists."""
        import watchfiles

        while not stop.is_set():
            watched = _directory_identity(self.config_dir)
            if watched is None:
                stop.wait(WATCH_TIMEOUT_MS / 1000)  # gone: wait for it to come back
                continue
            try:
                first = True
                for batch in watchfiles.watch(
                    self.config_dir,
                    watch_filter=lambda _change, path: self.is_watched(path),
                    step=WATCH_STEP_MS,
                    stop_event=stop,
                    rust_timeout=WATCH_TIMEOUT_MS,
                    yield_on_timeout=True,
                    recursive=False,
                ):
                    if first:
                        # The watch is in place: whatever changed before it is found by
                        # reading everything once more.
                        first = False
                        yield set()
                    if batch:
                        yield {path for _change, path in batch}
                    if _directory_identity(self.config_dir) != watched:
                        break  # deleted or replaced: read all again, watch the new one
            except (OSError, RuntimeError):
                pass  # the directory went away under the watch: as above
            if stop.is_set():
                return
            yield set()

    def read_template(self, source: LayerSource, template_id: str) -> RawLayer:
        """:meth:`read`, keeping only ``template_id``, and found without parsing the
        whole file when a scan of its text can vouch for it (a write to a file of ten
        thousand templates parses one); the layer's version is the file's. The scan is
        kept for a :meth:`write` of the same template that finds the file unchanged.

        The entry's text is remembered too, so that :meth:`locate` finds positions in
        the template by indexing that text alone rather than the whole file (``show
        --explain`` of one template of ten thousand)."""
        from templar.storage.edits import (
            DocumentEditError,
            ScanUnsure,
            document_text,
            format_of,
            scan_document,
        )

        path = Path(source.location)
        stat_then = _stat_key(source.location)  # before reading: a change after it is seen
        try:
            raw = read_bytes(path)
            decoded = document_text(raw, str(path))
            text = decoded[0]
            scan = scan_document(text, format_of(path), template_id)
            found = scan.found
            entry = EntryText.of(path, text, scan) if found is not None else None
            if entry is not None and found is not None and scan.json is not None:
                # the reader's meaning of the value (a key written twice, a NaN), not json's
                found = (parse_document(path, entry.raw), found[1])
        except (TemplateParseError, DocumentEditError, ScanUnsure):
            layer = self.read(source)
            layer.templates = [t for t in layer.templates if t.template_id == template_id]
            return layer
        layer = RawLayer(source, version=hashlib.sha256(raw).hexdigest())
        scan.version = layer.version
        scan.text = decoded
        self._remember_scan(source.location, scan)
        if entry is not None and found is not None and isinstance(found[0], dict):
            body, doc_path = found
            layer.templates.append(raw_template(template_id, body, doc_path))
            known = self._entries.get(source.location)
            entries = known[1] if known is not None and known[0] == stat_then else []
            entries = [e for e in entries if e.doc_path != entry.doc_path][-_SCANS_KEPT:]
            self._entries[source.location] = (stat_then, [*entries, entry])
        return layer

    def _remember_scan(self, location: str, scan: Scan) -> None:
        """Keep the last few scans (a write uses the one of the file it changes)."""
        self._scans.pop((location, scan.template_id), None)
        self._scans[(location, scan.template_id)] = scan
        while len(self._scans) > _SCANS_KEPT:
            del self._scans[next(iter(self._scans))]

    # -- writing (see templar.storage.WritableStorage) -------------------------------

    def can_write(self) -> bool:
        """True when the config directory can be written to (files are replaced by
        renaming a new file over them, so the directory must be writable)."""
        return os.access(self.config_dir, os.W_OK | os.X_OK)

    def version(self, source: LayerSource) -> str | None:
        """The SHA-256 of the layer file's bytes (as :attr:`RawLayer.version`), ``None``
        when the file does not exist."""
        from templar.storage.atomic import file_version

        return file_version(Path(source.location))

    def source_for(self, kind: LayerKind, scope: str | None) -> LayerSource:
        """The file of that layer: an existing one, else the name it would be created
        under, with the extension its siblings use (YAML when there are none). In an
        ORB config dir, ORB's own name (``{provider_name}_templates.json``) when ORB
        would read the file as that layer."""
        from templar.storage.atomic import check_safe_name

        if scope is not None:
            check_safe_name(
                scope, "provider instance name" if kind is LayerKind.INSTANCE else "provider type"
            )
        existing = [s for s in self.list_sources() if s.kind is kind and s.scope == scope]
        if existing:
            return existing[0]
        siblings = self.list_sources()
        same_scope = [s for s in siblings if s.scope == scope] or siblings
        extensions = [Path(s.location).suffix.lstrip(".") for s in same_scope]
        ext = max(set(extensions), key=extensions.count) if extensions else "yaml"
        suffix = {LayerKind.INSTANCE: "inst", LayerKind.TYPE: "type", LayerKind.PROVIDER: "prov"}
        names = []
        if self.layer_source_for is not layer_source_for and kind is not LayerKind.PROVIDER:
            names.append(f"{scope}_templates.{ext}" if scope else f"templates.{ext}")
        names.append(
            f"{scope}{suffix[kind]}_templates.{ext}"
            if scope and kind in suffix
            else f"templates.{ext}"
        )
        for name in names:
            candidate = self.layer_source_for(self.config_dir / name)
            if candidate is not None and candidate.kind is kind and candidate.scope == scope:
                return candidate
        raise StorageError(
            f"no file name in {self.config_dir} is read as the {kind.label} layer of '{scope}'",
            field="layer",
        )

    def write(self, change: LayerChange) -> str:
        """Apply ``change`` to its file: only the templates it names are touched (comments
        and layout of the rest stay byte for byte), atomically, under the file's lock,
        refused with :class:`~templar.errors.ConcurrencyError` if the file is no longer at
        ``change.expected_version``. Unsafe ids and scopes are refused before any file
        is opened."""
        from templar.storage.atomic import check_inside, check_safe_name
        from templar.storage.edits import edit_file

        source = change.source
        if source.scope is not None:
            check_safe_name(source.scope, "provider instance name")
        for template_id in [*change.put, *change.remove]:
            check_safe_name(template_id, "template id")
        path = Path(source.location)
        check_inside(self.config_dir, path)
        if self.layer_source_for(path) != source:
            raise StorageError(f"{path} is not the {source.kind.label} layer it is said to be")
        ids = [*change.put, *change.remove]
        scan = self._scans.pop((source.location, ids[0]), None) if len(ids) == 1 else None
        version = edit_file(path, change.expected_version, change.put, change.remove, scan)
        self._positions.pop(source.location, None)
        self._entries.pop(source.location, None)
        return version or ""

    def is_watched(self, path: str) -> bool:
        """:func:`is_watched`, knowing this directory's names (an ORB dir's too)."""
        name = Path(path).name
        if name in ORB_CONFIG_FILES or any(name == p.name for p in self.config_files):
            return True  # config.json appearing makes the directory an ORB dir
        return is_watched(path) or self.layer_source_for(Path(path)) is not None


def is_watched(path: str) -> bool:
    """True for the files whose change can change the templates: layer files and the
    engine config. Anything else in the config directory is ignored."""
    name = Path(path).name
    return name in SETTINGS_FILE_NAMES or layer_source_for(Path(path)) is not None


def layer_source_for(path: Path) -> LayerSource | None:
    """The layer a file is, from its name, or ``None`` if it is not a template file."""
    match = _LAYER_FILE.match(path.name)
    if match is None:
        return None
    # Anything so named is a layer, even when it cannot be read (a dangling symlink, a
    # directory): reading it then reports why, instead of the layer silently vanishing.
    kind = _KIND_BY_SUFFIX[match["kind"]] if match["kind"] else LayerKind.SHARED
    return LayerSource(kind, match["scope"], str(path))


def _directory_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a directory, or ``None`` when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _stat_key(location: str) -> _StatKey | None:
    try:
        st = os.stat(location)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
