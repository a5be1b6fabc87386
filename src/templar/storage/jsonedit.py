"""Surgical edits of one template in a JSON document (see :mod:`templar.storage.edits`).

JSON has no comments, but it has a layout people chose: key order, indentation,
small objects kept on one line, the envelope (``{"scheduler_type": ..., "templates":
[...]}``). Spans come from :meth:`json.JSONDecoder.raw_decode`, which parses one value
from a given offset in C, so even a file of ten thousand templates is scanned in a
few tens of milliseconds. A changed body is then written value by value: a changed
scalar replaces just its own text, a new key is inserted after the last one in the
object's layout, a removed key takes its comma with it; only a value whose shape
changed (a list of another length, a scalar become a mapping) is rendered anew,
indented where it stands.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from templar.errors import TemplarError

_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class JsonEditError(TemplarError):
    """A JSON document is not in a shape whose templates can be edited."""


def template_id_of(body: Any, key: str | None) -> str | None:
    """The id the reader gives an entry: its key in an id->body mapping, else its
    ``template_id`` (or ``templateId``) as a string; ``None`` when it has none."""
    if key is not None:
        return key
    if not isinstance(body, dict):
        return None
    raw = body.get("template_id", body.get("templateId"))
    if raw is None or raw == "" or isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    return str(raw)


def with_id(body: dict[str, Any], template_id: str) -> dict[str, Any]:
    """``body`` carrying its id, for a list entry (where nothing else says the id): as
    ``templateId`` in a camelCase body, else ``template_id``, first."""
    if template_id_of(body, None) == template_id:
        return body
    camel = "templateId" in body or any(
        k[:1].islower() and any(c.isupper() for c in k) for k in body
    )
    rest = {k: v for k, v in body.items() if k not in ("template_id", "templateId")}
    return {("templateId" if camel else "template_id"): template_id, **rest}


@dataclass
class _Member:
    """One element of a JSON array or member of an object, with its offsets."""

    key: str | None
    start: int  # of the key (objects) or the value (arrays)
    value_start: int
    value_end: int
    value: Any  # ``_UNREAD`` for a top-level entry until :meth:`read` decodes it

    def read(self, text: str) -> Any:
        """The value, decoded from ``text`` (the document it was found in) if need be."""
        if self.value is _UNREAD:
            self.value = _DECODER.raw_decode(text, self.value_start)[0]
        return self.value


#: a value not decoded yet (see :meth:`_Member.read`)
_UNREAD: Any = object()


@dataclass
class _Style:
    """How the document is laid out: indentation step, separators, escaping."""

    step: int
    key_separator: str
    ensure_ascii: bool

    def render(self, value: Any, line_indent: int, *, multiline: bool) -> str:
        """``value`` as JSON text starting on a line indented ``line_indent``."""
        if not multiline or not isinstance(value, (dict, list)) or not value:
            return json.dumps(
                value, ensure_ascii=self.ensure_ascii, separators=(", ", self.key_separator)
            )
        text = json.dumps(
            value,
            indent=self.step,
            ensure_ascii=self.ensure_ascii,
            separators=(",", self.key_separator),
        )
        return text.replace("\n", "\n" + " " * line_indent)


def _style(text: str) -> _Style:
    head = text[:200_000]
    indents = sorted(
        {len(line) - len(line.lstrip(" ")) for line in head.split("\n")[:400] if line.strip()} - {0}
    )
    step = indents[0] if indents else 2
    key_separator = ":" if '":' in head and '": ' not in head else ": "
    ensure_ascii = "\\u" in head and not any(ord(c) > 127 for c in head)
    return _Style(step, key_separator, ensure_ascii)


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    assert match is not None
    return match.end()


def _members(text: str, open_at: int, *, keep: bool = True) -> list[_Member]:
    """The elements (``[``) or members (``{``) of the container opening at ``open_at``.

    One C-level :meth:`~json.JSONDecoder.raw_decode` per value and as little Python as
    possible around it: this runs over all ten thousand templates of a big file. With
    ``keep`` false the values decoded are dropped at once (decoded again by
    :meth:`_Member.read` when asked for): holding ten thousand templates' objects would
    make the garbage collector walk them again and again, doubling the scan."""
    is_object = text[open_at] == "{"
    close = "}" if is_object else "]"
    members: list[_Member] = []
    append = members.append
    decode = _DECODER.raw_decode
    skip = _WS.match
    pos = skip(text, open_at + 1).end()  # type: ignore[union-attr]
    if text[pos] == close:
        return members
    while True:
        start = pos
        key = None
        if is_object:
            key, pos = decode(text, pos)
            pos = skip(text, pos).end()  # type: ignore[union-attr]
            if text[pos] != ":":
                raise JsonEditError(f"expected ':' at offset {pos}")
            pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
        value, end = decode(text, pos)
        append(
            _Member(None if key is None else str(key), start, pos, end, value if keep else _UNREAD)
        )
        pos = skip(text, end).end()  # type: ignore[union-attr]
        char = text[pos]
        if char == close:
            return members
        if char != ",":
            raise JsonEditError(f"expected ',' or '{close}' at offset {pos}")
        pos = skip(text, pos + 1).end()  # type: ignore[union-attr]


def _close_of(text: str, open_at: int, members: list[_Member]) -> int:
    pos = _skip(text, members[-1].value_end if members else open_at + 1)
    return pos


def _line_indent(text: str, pos: int) -> int:
    line_start = text.rfind("\n", 0, pos) + 1
    line = text[line_start:pos]
    return len(line) - len(line.lstrip(" "))


@dataclass
class _Templates:
    """The container of templates: where it opens and its entries."""

    kind: Literal["seq", "map"]
    open_at: int
    entries: list[_Member]


def _templates(text: str) -> _Templates:
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] not in "[{":
        raise JsonEditError("the top level is neither a list nor an object")
    if text[pos] == "[":
        return _Templates("seq", pos, _members(text, pos, keep=False))
    open_at = _templates_value(text, pos)
    if open_at is not None:
        kind: Literal["seq", "map"] = "seq" if text[open_at] == "[" else "map"
        return _Templates(kind, open_at, _members(text, open_at, keep=False))
    return _Templates("map", pos, _members(text, pos, keep=False))


def _templates_value(text: str, open_at: int) -> int | None:
    """Where the list or mapping under the top-level ``templates`` key opens, found
    without decoding it (it is most of the file); ``None`` without one."""
    pos = _skip(text, open_at + 1)
    while pos < len(text) and text[pos] == '"':
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ":":
            raise JsonEditError(f"expected ':' at offset {pos}")
        pos = _skip(text, pos + 1)
        if key == "templates" and text[pos] in "[{":
            return pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ",":
            return None
        pos = _skip(text, pos + 1)
    return None


def _find(text: str, container: _Templates, template_id: str) -> int | None:
    """The index of the first entry whose id is ``template_id`` (as the reader keeps
    the first), looking only at the entries whose text holds the id where the id can
    only be spelled one way."""
    entries = container.entries
    if container.kind == "map":
        for n, entry in enumerate(entries):
            if entry.key == template_id and not template_id.startswith("_"):
                return n
        return None
    spellings = {json.dumps(template_id, ensure_ascii=False), json.dumps(template_id)}
    # an id can also be written with escapes (\u0041, \/) or as a number: then every
    # entry is looked at
    if "\\u" in text or "\\/" in text or not _NOT_A_NUMBER.search(template_id):
        candidates: Iterable[int] = range(len(entries))
    else:
        starts = [entry.start for entry in entries]
        found = set()
        for spelling in spellings:
            at = text.find(spelling, container.open_at)
            while at >= 0:
                n = bisect.bisect_right(starts, at) - 1
                if n >= 0:
                    found.add(n)
                at = text.find(spelling, at + 1)
        candidates = sorted(found)
    for n in candidates:
        if template_id_of(entries[n].read(text), None) == template_id:
            return n
    return None


#: an id holding one of these characters is not a JSON number
_NOT_A_NUMBER = re.compile(r"[^0-9eE.+-]")


Splice = tuple[int, int, str]


def _apply(text: str, splices: list[Splice]) -> str:
    for start, end, new in sorted(splices, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


@dataclass
class JsonScan:
    """Where one template is in a JSON document's text: its container and its index
    there (``None``: not in the document). Valid for exactly the text it was made from:
    a write that reads the same bytes as the read before it edits by it, unscanned."""

    container: _Templates
    index: int | None
    envelope: bool

    def found(self, text: str) -> tuple[Any, tuple[Any, ...]] | None:
        """The template's body and document path, or ``None``; ``text`` is the
        document scanned."""
        if self.index is None:
            return None
        entry = self.container.entries[self.index]
        prefix: tuple[Any, ...] = ("templates",) if self.envelope else ()
        key: Any = entry.key if self.container.kind == "map" else self.index
        return entry.read(text), (*prefix, key)


def scan_template(text: str, template_id: str) -> JsonScan:
    """Look ``template_id`` up in ``text``: one pass over the templates container (one
    C-level decode per entry), which also refuses a document that is not valid JSON."""
    try:
        container = _templates(text)
    except ValueError as e:
        raise JsonEditError(f"not valid JSON: {e}") from e
    root = _skip(text, 0)
    envelope = text[root] == "{" and container.open_at != root
    return JsonScan(container, _find(text, container, template_id), envelope)


def find_template(text: str, template_id: str) -> tuple[Any, tuple[Any, ...]] | None:
    """The body of ``template_id`` and its document path, or ``None`` if absent."""
    return scan_template(text, template_id).found(text)


def put_template(
    text: str, template_id: str, body: dict[str, Any], scan: JsonScan | None = None
) -> str:
    """``text`` with the template ``template_id`` replaced by ``body`` (value by value),
    or ``body`` appended to the templates when the document does not hold it. ``scan``
    is :func:`scan_template` of this very text, when the caller has it."""
    scan = scan or scan_template(text, template_id)
    container = scan.container
    style = _style(text)
    if container.kind == "seq":
        body = with_id(body, template_id)
    if scan.index is not None:
        entry = container.entries[scan.index]
        old = entry.read(text)
        splices = _edit_value(text, entry.value_start, entry.value_end, old, body, style)
        new_text = _apply(text, splices)
        delta = len(new_text) - len(text)
        check = json.loads(new_text[entry.value_start : entry.value_end + delta])
        if check != json.loads(json.dumps(body)):
            raise JsonEditError(f"template '{template_id}' did not read back as written")
        return new_text
    key = template_id if container.kind == "map" else None
    splices = _insert_members(text, container.open_at, container.entries, [(key, body)], style)
    return _apply(text, splices)


def remove_template(text: str, template_id: str, scan: JsonScan | None = None) -> str:
    """``text`` without the template ``template_id`` (unchanged when it is not there)."""
    scan = scan or scan_template(text, template_id)
    if scan.index is None:
        return text
    container = scan.container
    return _apply(text, _remove_members(text, container.open_at, container.entries, {scan.index}))


def new_document(bodies: list[dict[str, Any]]) -> str:
    """A new JSON layer file holding ``bodies``, in the HostFactory envelope."""
    return json.dumps({"templates": bodies}, indent=2, ensure_ascii=False) + "\n"


def _edit_value(text: str, start: int, end: int, old: Any, new: Any, style: _Style) -> list[Splice]:
    """The splices turning the value ``old`` at ``text[start:end]`` into ``new``."""
    if type(old) is type(new) and old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and text[start] == "{":
        members = _members(text, start)
        if len({m.key for m in members}) == len(members):
            return _edit_object(text, start, members, new, style)
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and text[start] == "["
    ):
        splices: list[Splice] = []
        for member, value in zip(_members(text, start), new, strict=True):
            splices += _edit_value(
                text, member.value_start, member.value_end, member.value, value, style
            )
        return splices
    multiline = "\n" in text[start:end] or (
        not isinstance(old, (dict, list)) and _is_multiline_container(text, start)
    )
    return [(start, end, style.render(new, _line_indent(text, start), multiline=multiline))]


def _is_multiline_container(text: str, pos: int) -> bool:
    """Whether the value at ``pos`` sits on a line of its own in a multi-line object."""
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].lstrip().startswith('"')


def _edit_object(
    text: str, open_at: int, members: list[_Member], new: dict[str, Any], style: _Style
) -> list[Splice]:
    by_key = {m.key: (n, m) for n, m in enumerate(members)}
    removed = {n for n, m in enumerate(members) if m.key not in new}
    splices = _remove_members(text, open_at, members, removed) if removed else []
    for key, value in new.items():
        if key in by_key:
            member = by_key[key][1]
            splices += _edit_value(
                text, member.value_start, member.value_end, member.value, value, style
            )
    added: list[tuple[str | None, Any]] = [(k, v) for k, v in new.items() if k not in by_key]
    if added:
        kept = [m for n, m in enumerate(members) if n not in removed]
        splices += _insert_members(text, open_at, kept, added, style)
    return splices


def _insert_members(
    text: str,
    open_at: int,
    members: list[_Member],
    added: list[tuple[str | None, Any]],
    style: _Style,
) -> list[Splice]:
    """Append members (key ``None``: array elements) after ``members``, laid out as
    the container already is: one per line, or all on one line."""

    def item(key: str | None, value: Any, indent: int, multiline: bool) -> str:
        rendered_key = (
            ""
            if key is None
            else json.dumps(key, ensure_ascii=style.ensure_ascii) + style.key_separator
        )
        return rendered_key + style.render(value, indent, multiline=multiline)

    if not members:
        close = _close_of(text, open_at, members)
        if "\n" not in text.strip():
            body = ", ".join(item(k, v, 0, False) for k, v in added)
            return [(open_at + 1, close, body)]
        outer = _line_indent(text, open_at)
        inner = outer + style.step
        body = ",\n".join(" " * inner + item(k, v, inner, True) for k, v in added)
        return [(open_at + 1, close, "\n" + body + "\n" + " " * outer)]
    last = members[-1]
    if "\n" in text[open_at : members[0].start]:
        indent = _line_indent(text, last.start)
        body = "".join(",\n" + " " * indent + item(k, v, indent, True) for k, v in added)
        return [(last.value_end, last.value_end, body)]
    between = ", "
    if len(members) > 1:
        between = text[members[-2].value_end : last.start]
    body = "".join(between + item(k, v, 0, False) for k, v in added)
    return [(last.value_end, last.value_end, body)]


def _remove_members(
    text: str, open_at: int, members: list[_Member], removed: set[int]
) -> list[Splice]:
    """Delete the members at the indices ``removed``, with their commas."""
    if len(removed) == len(members):
        close = _close_of(text, open_at, members)
        return [(open_at + 1, close, "")]
    first_kept = min(n for n in range(len(members)) if n not in removed)
    splices: list[Splice] = []
    if first_kept > 0:
        splices.append((members[0].start, members[first_kept].start, ""))
    for n in sorted(removed):
        if n > first_kept:
            splices.append((members[n - 1].value_end, members[n].value_end, ""))
    return splices
