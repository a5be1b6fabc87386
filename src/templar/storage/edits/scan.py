"""The YAML span scan: where one template's entry starts and ends in a document's text,
found line by line without parsing the document whole."""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from templar.errors import TemplateParseError
from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS
from templar.reader import parse_document
from templar.storage import jsonedit
from templar.storage.edits.kinds import Format
from templar.storage.jsonedit import template_id_of


class ScanUnsure(Exception):
    """:func:`find_template` cannot vouch for the document: read it whole instead."""


@dataclass
class Scan:
    """One template looked up in a document's text by the scan: what it found
    (:attr:`found`: its body and document path, ``None`` when the document does not
    hold it) and where, so that an edit of the very same text needs no second scan.
    :attr:`version` is the version of the bytes scanned, set by whoever read them."""

    template_id: str
    fmt: Format
    found: tuple[Any, tuple[Any, ...]] | None
    json: jsonedit.JsonScan | None = None
    yaml: tuple[Container, Entry | None] | None = None
    version: str | None = None
    #: ``(text, bom, crlf)`` of the bytes scanned (see ``document_text``), if kept
    text: tuple[str, bool, bool] | None = None


def scan_document(text: str, fmt: Format, template_id: str) -> Scan:
    """Look ``template_id`` up without parsing the document whole (the scan of
    :func:`~templar.storage.edits.edit_document`). Raises :class:`ScanUnsure` when the
    scan cannot vouch for the document."""
    try:
        if fmt == "json":
            scanned = jsonedit.scan_template(text, template_id)
            container_json = scanned.container
            if container_json.kind == "map":
                _refuse_one_template(
                    [e.key for e in container_json.entries], top=not scanned.envelope
                )
            return Scan(template_id, fmt, scanned.found(text), json=scanned)
        container = yaml_container(text)
        if container.kind == "map":
            _refuse_one_template(container.keys or [], top=False)
        entry = yaml_find(text, container, template_id)
    except (ScanRefused, ValueError, IndexError, jsonedit.JsonEditError) as e:
        raise ScanUnsure(str(e)) from e
    found = None
    if entry is not None:
        prefix: tuple[Any, ...] = ("templates",) if container.header is not None else ()
        key: Any = entry.key if container.kind == "map" else entry.index
        found = (entry.body, (*prefix, key))
    return Scan(template_id, fmt, found, yaml=(container, entry))


#: keys that make a mapping one template rather than a mapping of id to body, as
#: :func:`templar.storage.documents.templates_from_document` decides
_TEMPLATE_KEYS = frozenset({*CORE_FIELDS, *CORE_FIELD_ALIASES})


def _refuse_one_template(keys: Sequence[str | None], *, top: bool) -> None:
    """A mapping read as one of id to body must be one to the reader too: not when a
    key is a template field's name (the reader takes it as one template), nor a JSON
    root holding ``templates`` that is no list or mapping (the reader refuses it)."""
    if any(key in _TEMPLATE_KEYS for key in keys) or (top and "templates" in keys):
        raise ScanRefused("a mapping the reader takes as one template, or refuses")


def find_template(text: str, fmt: Format, template_id: str) -> tuple[Any, tuple[Any, ...]] | None:
    """The body of ``template_id`` in a document and its document path, found without
    parsing the document whole; ``None`` when the document does not hold it. Raises
    :class:`ScanUnsure` when the scan cannot tell."""
    return scan_document(text, fmt, template_id).found


# --------------------------------------------------------------------------- spans


@dataclass
class Entry:
    """Where one template sits in the text (whole lines), and what it reads as."""

    index: int  # its position among the container's entries
    start: int  # offset of its first line
    end: int  # offset past its last content line (trailing comments stay outside)
    key: str | None  # the mapping key it is written under, for id->body shapes
    body: Any = None


@dataclass
class Container:
    """The sequence or mapping of templates: its entries' first lines, by offset."""

    kind: Literal["seq", "map"]
    indent: int  # the column of its entries
    starts: list[int]
    limit: int  # offset where the container's text ends
    keys: list[str] | None = None  # map: the key of each entry
    #: the ``templates:`` line (start, end past its newline), if the container is under one
    header: tuple[int, int] | None = None

    def entry(self, text: str, n: int) -> Entry:
        """Entry ``n``, its span ending at its last content line."""
        start = self.starts[n]
        stop = self.starts[n + 1] if n + 1 < len(self.starts) else self.limit
        end = start
        for match in _CONTENT_LINE.finditer(text, start, stop):
            end = match.end()
        if end < len(text) and text[end] == "\n":
            end += 1
        return Entry(n, start, end, self.keys[n] if self.keys is not None else None)

    def insert_at(self, text: str) -> int:
        """Where a new entry goes: after the last one's last content line."""
        if self.starts:
            return self.entry(text, len(self.starts) - 1).end
        return self.header[1] if self.header else 0


def _is_directive(key: str) -> bool:
    return key.startswith("_")


# --------------------------------------------------------------------------- YAML scan


_CONTENT_LINE = re.compile(r"^[ ]*[^\s#].*$", re.M)
_TEMPLATES_KEY = re.compile(r"""^(?:templates|"templates"|'templates')[ \t]*:(?P<rest>.*)$""")
_KEY_LINE = re.compile(
    r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?&*!|>%@`{\[][^#\n]*?)[ \t]*:(?:[ \t]|$)"""
)
_REFUSED_TEXT = re.compile(r"^[ ]*\t", re.M)
_ID_LINE = re.compile(
    r"""^[ ]*(?:-[ ]+)?["']?(?:template_id|templateId)["']?[ ]*:[ ]*(?P<value>.*?)[ ]*(?:\#.*)?$"""
)


class ScanRefused(Exception):
    """The fast YAML scan cannot vouch for this document; use the slow path."""


def is_content(line: str) -> bool:
    stripped = line.lstrip(" ")
    return bool(stripped.strip()) and not stripped.startswith("#")


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_end(text: str, pos: int) -> int:
    """Offset past the newline of the line holding ``pos``."""
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _starts(body: str, text: str, begin: int = 0, limit: int | None = None) -> list[int]:
    """Offsets of the lines in ``text[begin:limit]`` that start with the regex ``body``.

    Searched as ``\\n`` + ``body``: a literal first character lets the regex engine
    skip ahead at C speed, where a multi-line ``^`` is tried at every position. (A
    list, not a generator: a big file has ten thousand of them.)
    """
    limit = len(text) if limit is None else limit
    first = [0] if begin == 0 and _compiled(body).match(text, 0, limit) else []
    pattern = _compiled("\n(?:" + body + ")")
    return first + [m.start() + 1 for m in pattern.finditer(text, max(begin - 1, 0), limit)]


def _count(body: str, text: str, begin: int, limit: int) -> int:
    """How many lines in ``text[begin:limit]`` start with the regex ``body``."""
    first = 1 if begin == 0 and _compiled(body).match(text, 0, limit) else 0
    return first + len(_compiled("\n(?:" + body + ")").findall(text, max(begin - 1, 0), limit))


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _first(body: str, text: str, begin: int = 0, limit: int | None = None) -> int | None:
    limit = len(text) if limit is None else limit
    if begin == 0 and _compiled(body).match(text, 0, limit):
        return 0
    match = _compiled("\n(?:" + body + ")").search(text, max(begin - 1, 0), limit)
    return None if match is None else match.start() + 1


_CONTENT = r"[ ]*[^\s#]"
#: a line starting a document, ending one, or a directive (one regex pass, not three)
_DOCUMENT_MARKER = re.compile(r"\n(?:---|\.\.\.|%)")


def yaml_container(text: str) -> Container:
    """The templates container of a block-style YAML document, by a regex scan of
    the whole text (C speed: no Python loop over its lines)."""
    if "\t" in text and _REFUSED_TEXT.search(text):
        raise ScanRefused("tabs in indentation")
    if text.startswith(("---", "...", "%")) or _DOCUMENT_MARKER.search(text):
        raise ScanRefused("document markers")
    first = _first(_CONTENT, text)
    if first is None:
        raise ScanRefused("empty document")
    head = text[first : _line_end(text, first)].rstrip("\r\n")
    if head[0] == " ":
        raise ScanRefused("indented root")
    if head.startswith("- ") or head == "-":
        return _yaml_entries(text, "seq", 0, first, len(text))
    if (
        head.split(" #")[0].strip() in ("[]", "{}")
        and _first(_CONTENT, text, _line_end(text, first)) is None
    ):
        # an emptied document: its only content is "[]" or "{}"
        kind_: Literal["seq", "map"] = "seq" if head.startswith("[") else "map"
        span = (first, _line_end(text, first))
        return Container(kind_, 0, [], span[1], keys=[] if kind_ == "map" else None, header=span)
    header_start = _first(r"""(?:templates|"templates"|'templates')[ \t]*:""", text)
    if header_start is None:
        if head.startswith(("[", "{", "&", "!", "*", "?", "|", ">")):
            raise ScanRefused("flow or special root")
        return _yaml_entries(text, "map", 0, first, len(text))
    header_span = (header_start, _line_end(text, header_start))
    header = _TEMPLATES_KEY.match(text[header_span[0] : header_span[1]].rstrip("\r\n"))
    if header is None:
        raise ScanRefused("templates key not understood")
    rest = header["rest"].split(" #")[0].strip()
    if rest in ("[]", "{}"):
        kind: Literal["seq", "map"] = "seq" if rest == "[]" else "map"
        keys: list[str] | None = [] if kind == "map" else None
        return Container(kind, 2, [], header_span[1], keys=keys, header=header_span)
    if rest:
        raise ScanRefused("templates written inline")
    below = _first(_CONTENT, text, header_span[1])
    if below is None or text[below] not in " -":
        return Container("seq", 2, [], header_span[1], header=header_span)
    top = text[below : _line_end(text, below)]
    kind = "seq" if top.lstrip(" ").startswith("-") else "map"
    indent = indent_of(top)
    if kind == "map" and indent == 0:
        raise ScanRefused("templates mapping not indented")
    # the container ends at the next line at column 0 that is not one of its items
    limit = _first(r"[^\s#-]" if indent == 0 else r"[^\s#]", text, below) or len(text)
    container = _yaml_entries(text, kind, indent, below, limit)
    container.header = header_span
    return container


def _yaml_entries(
    text: str, kind: Literal["seq", "map"], indent: int, begin: int, limit: int
) -> Container:
    """The entries between offsets ``begin`` and ``limit`` at column ``indent``;
    refuses any content line there that is less indented, or at that column but
    not an entry."""
    if indent and _first(rf" {{0,{indent - 1}}}[^\s#]", text, begin, limit) is not None:
        raise ScanRefused("a line outside the container's indentation")
    at_column = rf" {{{indent}}}[^\s#]"
    if kind == "seq":
        starts = _starts(rf" {{{indent}}}-(?:[ ]|\r?\n|$)", text, begin, limit)
        if _count(at_column, text, begin, limit) != len(starts):
            raise ScanRefused("a line at the items' column that is not an item")
        return Container(kind, indent, starts, limit)
    starts = []
    keys = []
    for start in _starts(at_column, text, begin, limit):
        line = text[start + indent : _line_end(text, start)].rstrip("\r\n")
        key = _KEY_LINE.match(line)
        if key is None:
            raise ScanRefused("a line at the keys' column that is not a key")
        starts.append(start)
        keys.append(_unquote_key(key["key"]))
    return Container(kind, indent, starts, limit, keys=keys)


def _unquote_key(key: str) -> str:
    if key.startswith('"'):
        return str(json.loads(key))
    if key.startswith("'"):
        return key[1:-1].replace("''", "'")
    return key.strip()


def yaml_find(text: str, container: Container, template_id: str) -> Entry | None:
    """The first entry whose id is ``template_id``. Only candidate entries are
    parsed; when the id's text is somewhere but no candidate holds it, the whole
    document is parsed to find it (never a duplicate appended by mistake)."""
    if container.kind == "map":
        assert container.keys is not None
        for n, key in enumerate(container.keys):
            if key == template_id and not _is_directive(key):
                return _yaml_check_entry(text, container, n)
        if template_id in text:
            return _yaml_find_by_parse(text, container, template_id)
        return None
    seen: set[int] = set()
    at = text.find(template_id)
    while at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        line = text[line_start : _line_end(text, at)].rstrip("\r\n")
        at = text.find(template_id, at + 1)
        match = _ID_LINE.match(line)
        if match is None or template_id not in match["value"]:
            continue
        n = bisect.bisect_right(container.starts, line_start) - 1
        if n < 0 or n in seen:
            continue
        seen.add(n)
        entry = _yaml_check_entry(text, container, n)
        if template_id_of(entry.body, None) == template_id:
            return entry
    if template_id in text:
        return _yaml_find_by_parse(text, container, template_id)
    return None


def _yaml_find_by_parse(text: str, container: Container, template_id: str) -> Entry | None:
    """:func:`yaml_find` the slow way: parse the document, find the id's index."""
    try:
        data = parse_document(Path("document.yaml"), text.encode())
    except TemplateParseError as e:
        raise ScanRefused("document does not parse") from e
    if isinstance(data, dict) and "templates" in data:
        data = data["templates"]
    items: list[tuple[Any, str | None]]
    if container.kind == "seq" and isinstance(data, list):
        items = [(body, None) for body in data]
    elif container.kind == "map" and isinstance(data, dict):
        items = [(body, str(key)) for key, body in data.items()]
    else:
        raise ScanRefused("shape read differently")
    if len(items) != len(container.starts):
        raise ScanRefused("entry count read differently")
    for n, (body, key) in enumerate(items):
        if key is not None and _is_directive(key):
            continue
        if template_id_of(body, key) == template_id:
            entry = _yaml_check_entry(text, container, n)
            if template_id_of(entry.body, entry.key) != template_id:
                raise ScanRefused("entry read differently")
            return entry
    return None


def _yaml_check_entry(text: str, container: Container, n: int) -> Entry:
    """Entry ``n``, after parsing its own text: refuses the scan unless it is one template."""
    entry = container.entry(text, n)
    try:
        data = parse_document(Path("entry.yaml"), text[entry.start : entry.end].encode())
    except TemplateParseError as e:
        raise ScanRefused("entry does not parse alone") from e
    if container.kind == "seq":
        if not (isinstance(data, list) and len(data) == 1):
            raise ScanRefused("entry is not one item")
        entry.body = data[0]
    else:
        if not (isinstance(data, dict) and len(data) == 1):
            raise ScanRefused("entry is not one key")
        (key, entry.body), *_ = data.items()
        if str(key) != entry.key:
            raise ScanRefused("key read differently")
    return entry
