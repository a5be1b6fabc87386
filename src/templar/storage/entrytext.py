"""One template's entry in a layer file, as the one-template read found it: its text,
where that text starts in the file, and the positions in it, so that ``locate`` on a
template read alone (:meth:`templar.storage.files.FileStorage.read_template`) indexes
that entry only, not the whole file, and says what the whole file's index would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.positions import Location, PositionIndex

if TYPE_CHECKING:
    from templar.storage.edits import Scan


@dataclass
class EntryText:
    """The text of one template's entry in a file, where it starts there, and its
    position index, built the first time a position in it is asked for."""

    path: Path
    #: the template's document path in the file, and in its own text parsed alone
    doc_path: tuple[Any, ...]
    inner: tuple[Any, ...]
    raw: bytes
    #: the 1-based line the text starts on, and the characters before it on that line
    line: int
    column: int
    #: where the template itself is, when its own text cannot say (a JSON value)
    own: Location | None = None
    index: PositionIndex | None = None
    indexed: bool = False

    @classmethod
    def of(cls, path: Path, text: str, scan: Scan) -> EntryText:
        """The entry ``scan`` found in ``text`` (the text it scanned)."""

        def place(offset: int) -> Location:  # 1-based line, characters before on it
            return (text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset) - 1)

        assert scan.found is not None
        own = None
        container, found = scan.yaml if scan.yaml is not None else (None, None)
        if container is not None and found is not None:  # whole lines
            start, end = found.start, found.end
            inner: tuple[Any, ...] = (found.key,) if container.kind == "map" else (0,)
        elif scan.json is not None and scan.json.index is not None:  # a value, maybe mid-line
            member = scan.json.container.entries[scan.json.index]
            start, end, inner = member.value_start, member.value_end, ()
            own_line, before = place(member.start)  # its key, or the value in a list
            own = (own_line, before + 1)
        else:
            from templar.storage.edits import ScanUnsure

            raise ScanUnsure("the scan found the template but says not where")
        line, column = place(start)
        raw = text[start:end].encode()
        return cls(path, scan.found[1], inner, raw, line, column, own)

    def locate(self, doc_path: tuple[Any, ...], *, value: bool = False) -> Location | None:
        """Where ``doc_path`` (at or below the template) is in the file: as the whole
        file's :class:`PositionIndex` would say, from the entry's text alone."""
        if not self.indexed:
            self.index = PositionIndex.parse(self.path, self.raw)
            self.indexed = True
        below = tuple(doc_path[len(self.doc_path) :])
        path = (*self.inner, *below)
        found = self.index.locate(path, value=value) if self.index and path else None
        if found is None:  # nothing below the template is there: the template itself
            return self.own
        line, column = found
        return (line + self.line - 1, column + self.column if line == 1 else column)
