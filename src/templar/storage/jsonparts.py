"""The value level of JSON edits (see :mod:`templar.storage.jsonedit`): the members of a
container with their offsets, found by one C-level decode per value, and the splices
that turn one value's text into another's, laid out as the document already is."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from templar.errors import TemplarError

_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class JsonEditError(TemplarError):
    """A JSON document is not in a shape whose templates can be edited."""


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


Splice = tuple[int, int, str]


def _apply(text: str, splices: list[Splice]) -> str:
    for start, end, new in sorted(splices, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


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
