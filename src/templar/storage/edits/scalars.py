"""The quick YAML edit: a change of scalar values only, made in the entry's text.

``templates set ID FIELD=VALUE`` mostly changes one scalar a file already writes
(``maxNumber: 200  # why``). Loading and dumping the entry with ruamel.yaml is the
general way (:mod:`templar.storage.edits.roundtrip`); for this case the value's own
text can be replaced where it stands, in its quoting style, the comment after it kept
in its column. :func:`scalar_edit` does that when every difference between the old and
the new body is a scalar at a key path both have, written on the key's own line as a
plain or quoted scalar; anything else (a new or removed key, a list item, a block or
flow value) returns ``None`` and the caller takes the general way. The caller checks
that the result reads back as the new body, so a misjudged line can never be written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from templar.storage.edits.scan import indent_of

_KEY = re.compile(
    r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?&*!|>%@`{\[][^#\n]*?)[ \t]*:(?:[ \t]+|$)"""
)
#: what a plain scalar may not start with if it is to be edited here
_NOT_PLAIN = tuple("|>[{&*!%@`\"'")


def scalar_edit(chunk: str, kind: str, old: Any, new: Any) -> str | None:
    """``chunk`` (one entry: a ``- `` item or an ``id:`` key) with the scalars that
    differ between ``old`` and ``new`` (the entry's body before and after) replaced in
    place; ``None`` when the change is not only that."""
    changes = list(_changed_scalars(old, new, ()))
    if not changes or any(change is None for change in changes):
        return None
    lines = chunk.splitlines(keepends=True)
    body_lines, body_indent = _body_region(lines, kind)
    if body_indent is None:
        return None
    for change in changes:
        assert change is not None
        path, value = change
        found = _find_line(lines, body_lines, body_indent, path)
        if found is None:
            return None
        number, start = found
        replaced = _replace_scalar(lines[number], start, value)
        if replaced is None:
            return None
        lines[number] = replaced
    return "".join(lines)


def _changed_scalars(
    old: Any, new: Any, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any] | None]:
    """(path, new value) of each scalar that differs; ``None`` for any other change."""
    if isinstance(old, dict) and isinstance(new, dict):
        if list(old) != list(new) or not all(isinstance(k, str) for k in old):
            yield None
            return
        for key in old:
            yield from _changed_scalars(old[key], new[key], (*path, key))
        return
    if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
        if type(old) is not type(new) or old != new:
            yield None
        return
    if type(old) is type(new) and old == new:
        return
    if new is None or not path:
        yield None
        return
    yield path, new


def _virtual(line: str) -> str:
    """A ``- key: value`` line as if the dash were a space (its key's column)."""
    stripped = line.lstrip(" ")
    if stripped.startswith("- "):
        return line[: len(line) - len(stripped)] + "  " + stripped[2:]
    return line


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _body_region(lines: list[str], kind: str) -> tuple[list[int], int | None]:
    """The line numbers of the entry's body mapping and the column of its keys."""
    numbers = [n for n, line in enumerate(lines) if _is_content(line)]
    if not numbers:
        return [], None
    if kind == "seq":
        first = _virtual(lines[numbers[0]])
        if first == lines[numbers[0]]:
            return [], None  # not a "- key: value" item
        return numbers, indent_of(first)
    rest = numbers[1:]  # "id:" then the body below it
    head = lines[numbers[0]].split(" #")[0].rstrip()
    if not rest or not head.endswith(":"):
        return [], None
    return rest, indent_of(lines[rest[0]])


def _find_line(
    lines: list[str], region: list[int], indent: int, path: tuple[str, ...]
) -> tuple[int, int] | None:
    """(line number, column where its value starts) of ``path`` in the region."""
    key, rest = path[0], path[1:]
    for position, number in enumerate(region):
        line = _virtual(lines[number])
        if indent_of(line) != indent:
            continue
        match = _KEY.match(line, indent)
        if match is None or _unquote(match["key"]) != key:
            continue
        if not rest:
            return number, match.end()
        below = []
        for other in region[position + 1 :]:
            if indent_of(_virtual(lines[other])) <= indent:
                break
            below.append(other)
        if not below:
            return None
        return _find_line(lines, below, indent_of(_virtual(lines[below[0]])), rest)
    return None


def _unquote(key: str) -> str:
    if key.startswith('"'):
        return str(json.loads(key))
    if key.startswith("'"):
        return key[1:-1].replace("''", "'")
    return key.strip()


def _replace_scalar(line: str, start: int, value: Any) -> str | None:
    """``line`` with the scalar starting at column ``start`` replaced by ``value``
    written in the old scalar's style, a comment after it kept in its column."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    text = body[start:]
    if not text or text.startswith(("|", ">", "[", "{", "&", "*", "!", "%", "@", "`")):
        return None
    if text[0] == '"':
        end = _closing_double(text)
        style = "double"
    elif text[0] == "'":
        end = _closing_single(text)
        style = "single"
    else:
        comment = re.search(r"[ \t]#", text)
        end = comment.start() if comment else len(text.rstrip())
        style = "plain"
    if end is None:
        return None
    rendered = _render(value, style)
    if rendered is None:
        return None
    after = text[end:]
    if after.strip() and not after.lstrip().startswith("#"):
        return None  # something else after the value: not a lone scalar
    if after.strip():
        gap = len(after) - len(after.lstrip())
        gap = max(1, gap + (end - len(rendered)))  # the comment keeps its column
        after = " " * gap + after.lstrip()
    else:
        after = ""
    return body[:start] + rendered + after + ending


def _closing_double(text: str) -> int | None:
    at = 1
    while at < len(text):
        if text[at] == "\\":
            at += 2
            continue
        if text[at] == '"':
            return at + 1
        at += 1
    return None


def _closing_single(text: str) -> int | None:
    at = 1
    while at < len(text):
        if text[at] == "'":
            if text[at + 1 : at + 2] == "'":
                at += 2
                continue
            return at + 1
        at += 1
    return None


def _render(value: Any, style: str) -> str | None:
    """A scalar as YAML writes it; strings in the old style where they can be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
        )
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        return None
    if style == "single" and "'" not in value:
        return "'" + value + "'"
    if style == "plain" and value and value == value.strip() and not value.startswith(_NOT_PLAIN):
        return value  # the caller's read-back check refuses one that reads otherwise
    return json.dumps(value, ensure_ascii=False)
