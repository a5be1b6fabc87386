"""Reading a storage's layers again and again, doing only the work a change needs.

A :class:`LayerReader` belongs to one engine and remembers, for each layer file, what
it last saw: its ``stat`` (size, mtime, ctime, inode), the SHA-256 of its bytes, and
the parsed layer. A snapshot then costs one ``stat`` per unchanged file, a read and a
hash per changed one; parsing happens only for files whose content really changed,
and even then templates that came out equal to before are the same objects as before,
so the engine's memo knows it need not merge or validate them again.

Trusting an unchanged ``stat`` is git's "racy clean" problem: a file rewritten within
the timestamp granularity of its previous write keeps its mtime. So a file is only
trusted on ``stat`` when its mtime and ctime are older than when it was read by more
than :data:`RACY_WINDOW_NS`; a file written just now is hashed again. (No program can
set a ctime: a write that restores size and mtime still moves it.)

What the reader saw is also kept in the cache, so that a new process, too, hashes only
the files that changed since some process last hashed them: the warm path reads no
template file at all.

The reader knows storages only through the storage contract: a backend whose
``watched_files()`` names files is fingerprinted as above, and each layer it reads says
(:attr:`~templar.storage.RawLayer.version`) which bytes it parsed. A backend with no
files (or no ``watched_files``) has no bytes to hash: its own ``fingerprint()`` keys
the cache and every layer is read again.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from templar import reader
from templar.storage import LayerSource, RawLayer, StorageBackend

if TYPE_CHECKING:
    from templar.cache import TemplateCache

#: A file is hashed again until it is this much older than when it was last read
#: (FAT timestamps have a 2 s granularity; every other filesystem is finer).
RACY_WINDOW_NS = 2_000_000_000

_MISSING, _UNREADABLE = "missing", "unreadable"

StatKey = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class FileState:
    """One file as a snapshot saw it."""

    location: str
    stat: StatKey | None
    digest: str

    @property
    def readable(self) -> bool:
        """True when the file could be read (its digest is a content hash)."""
        return not self.digest.startswith((_MISSING, _UNREADABLE))


@dataclass
class StorageSnapshot:
    """The layer sources of a storage at one moment, and a fingerprint of their content."""

    sources: list[LayerSource]
    fingerprint: str
    files: dict[str, FileState] = field(default_factory=dict)
    #: the files read and hashed while taking the snapshot (the others were trusted on stat)
    hashed: set[str] = field(default_factory=set)
    #: false when a file changed between the snapshot and its parse: do not cache
    consistent: bool = True


@dataclass
class _Seen:
    stat: StatKey
    digest: str
    read_at_ns: int


class LayerReader:
    """Snapshots and parsed layers of one storage, re-reading only what changed."""

    def __init__(
        self, storage: StorageBackend, cache: TemplateCache | None = None, *, scope: Path
    ) -> None:
        self.storage = storage
        self.cache = cache
        #: what the file states kept in the cache are filed under (the config directory)
        self.scope = scope
        self._seen: dict[str, _Seen] = {}
        self._seen_restored = False
        self._parsed: dict[str, tuple[str, RawLayer]] = {}
        #: locations whose layer changed (added, edited, removed) in the last :meth:`layers`
        self.changed: set[str] = set()

    def __repr__(self) -> str:
        return f"LayerReader({self.storage!r})"

    def snapshot(self) -> StorageSnapshot:
        """Every layer source and a fingerprint that changes when any of them does."""
        storage = self.storage
        sources = storage.list_sources()
        files = self._files()
        if not files:
            return StorageSnapshot(sources, f"{storage.name}:{storage.fingerprint()}")
        snapshot = StorageSnapshot(sources, "")
        locations = list(dict.fromkeys([s.location for s in sources] + files))
        if self.cache is not None and not self._seen_restored:
            self._seen_restored = True
            for location, (stat, digest, read_at) in self.cache.load_file_states(
                self.scope
            ).items():
                self._seen.setdefault(location, _Seen(stat, digest, read_at))
        for location in locations:
            snapshot.files[location] = self._observe(location, snapshot.hashed)
        if self.cache is not None and snapshot.hashed:  # something was hashed: remember it
            self.cache.store_file_states(
                self.scope,
                {
                    loc: (seen.stat, seen.digest, seen.read_at_ns)
                    for loc in locations
                    if (seen := self._seen.get(loc)) is not None
                },
            )
        described = [
            [loc, *(state.stat[:2] if state.stat else (None, None)), state.digest]
            for loc, state in sorted(snapshot.files.items())
        ]
        snapshot.fingerprint = hashlib.sha256(orjson.dumps(described)).hexdigest()
        return snapshot

    def _files(self) -> list[str]:
        """The storage's files, ``[]`` for a backend that has none (or cannot say)."""
        watched_files = getattr(self.storage, "watched_files", None)  # optional in the contract
        return [str(path) for path in watched_files()] if callable(watched_files) else []

    def _observe(self, location: str, hashed: set[str]) -> FileState:
        try:
            st = os.stat(location)
        except OSError:
            self._seen.pop(location, None)
            return FileState(location, None, _MISSING)
        key: StatKey = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        seen = self._seen.get(location)
        if (
            seen is not None
            and seen.stat == key
            and seen.read_at_ns - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_WINDOW_NS
        ):
            return FileState(location, key, seen.digest)
        read_at = time.time_ns()
        try:
            data = reader.read_regular_file(Path(location))
        except OSError as e:
            self._seen.pop(location, None)
            return FileState(location, key, f"{_UNREADABLE}:{e.errno}")
        digest = hashlib.sha256(data).hexdigest()
        hashed.add(location)
        self._seen[location] = _Seen(key, digest, read_at)
        return FileState(location, key, digest)

    def layers(self, snapshot: StorageSnapshot) -> list[RawLayer]:
        """The parsed layers of ``snapshot``, in its source order.

        Unchanged files give the very layer objects of the previous call; changed ones
        come from the cache of parsed files or are parsed, and :attr:`changed` names them.
        """
        self.changed = set()
        if not snapshot.files:
            self.changed = {s.location for s in snapshot.sources}
            return [self.storage.read(source) for source in snapshot.sources]
        out = []
        for source in snapshot.sources:
            location = source.location
            state = snapshot.files[location]
            known = self._parsed.get(location)
            if known is not None and state.readable and known[0] == state.digest:
                out.append(known[1])
                continue
            layer = self._parse(source, state, snapshot)
            if known is not None:
                layer = share_unchanged(known[1], layer)
            self._parsed[location] = (state.digest, layer)
            self.changed.add(location)
            out.append(layer)
        current = {s.location for s in snapshot.sources}
        for location in [loc for loc in self._parsed if loc not in current]:
            del self._parsed[location]
            self.changed.add(location)
        return out

    def _parse(self, source: LayerSource, state: FileState, snapshot: StorageSnapshot) -> RawLayer:
        if not state.readable:
            return self.storage.read(source)  # reports why, as an issue
        if self.cache is not None:
            cached = self.cache.load_layer(source, state.digest)
            if cached is not None:
                cached.version = state.digest
                return cached
        layer = self.storage.read(source)
        if layer.version != state.digest:
            # The file changed between the snapshot and the read (or the backend does
            # not say what it read): this load must not be cached as the snapshot's.
            snapshot.consistent = False
        elif self.cache is not None:
            self.cache.store_layer(state.digest, layer)
        return layer


def share_unchanged(old: RawLayer, new: RawLayer) -> RawLayer:
    """``new``, with each template written exactly as before replaced by the old object.

    Equality is that of the JSON text, so ``1``, ``1.0`` and ``true`` stay different
    (Python's ``==`` would call them equal).
    """
    previous = {t.template_id: t for t in old.templates}
    templates = []
    for template in new.templates:
        before = previous.get(template.template_id)
        if (
            before is not None
            and before.doc_path == template.doc_path
            and before.provider_type == template.provider_type
            and _same_json(before.body, template.body)
        ):
            templates.append(before)
        else:
            templates.append(template)
    return RawLayer(new.source, templates, new.issues, new.may_hold_nulls, new.version)


def _same_json(a: object, b: object) -> bool:
    try:
        text = orjson.dumps(a)
        # ``null`` may stand for NaN or infinity, which JSON cannot tell apart from it.
        return b"null" not in text and text == orjson.dumps(b)
    except (TypeError, orjson.JSONEncodeError):
        return False
