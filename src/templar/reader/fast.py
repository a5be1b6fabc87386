"""The fast YAML path: rapidyaml emits JSON that orjson decodes, for files it reads
exactly as the careful path would; any other file is handed back (``None``)."""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from templar.reader.document import MAX_DEPTH, has_long_digit_run, members_and_depth

#: Source features rapidyaml's JSON emitter drops or mangles: tabs, non-printable
#: characters (which YAML refuses and the careful reader reports where they are),
#: escaped surrogates (after which rapidyaml drops the rest of the mapping), and NEL,
#: LS and PS, which ruamel.yaml reads as line breaks and rapidyaml as text. Any of
#: these sends a file the careful way.
_CAREFUL_SOURCE = re.compile(
    rb"[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
    rb"|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]"
    rb"|\xef\xbf[\xbe\xbf]"
    rb"|\\[uU]0*[dD][89a-fA-F]"
)
#: the bytes each multi-byte sequence of :data:`_CAREFUL_SOURCE` starts with
_CAREFUL_LEADS = (b"\xc2", b"\xe2\x80", b"\xef\xbf")
#: every byte but the single-byte ones :data:`_CAREFUL_SOURCE` looks for: deleting these
#: from a file leaves those it holds (a C pass, ten times faster than the expression)
_NOT_CONTROL = bytes(
    b for b in range(256) if b == 0x0A or b == 0x0D or 0x20 <= b < 0x7F or b > 0x7F
)
#: Where a tag, an anchor or an alias may be: a ``!``, ``&`` or ``*`` after a space, a
#: line break or ``[{,:``. Only those that start a node are one (:func:`_has_node_property`
#: decides): the ``!`` of ``#!/bin/bash`` or of ``[ ! -f x ]`` in a quoted or block
#: scalar, or the ``&&`` of a shell line, is text and keeps the fast path.
#: A block scalar with an explicit indentation indicator (``|2-``): rapidyaml reads one
#: holding only spaces as empty, ruamel.yaml as its spaces.
_EXPLICIT_BLOCK_INDENT = re.compile(rb"(?m)[|>](?:[1-9][+-]?|[+-][1-9])[ ]*(?:#[^\n]*)?\r?$")
_PROPERTY_CANDIDATE = re.compile(rb"(?:\A|(?<=[\s\[{,:]))[!&*]")
_CAREFUL_LINE_STARTS = (b"---", b"...", b"%")

#: Plain scalars whose YAML 1.2 core-schema type rapidyaml does not resolve (``~``,
#: ``True``, ``0x1F``, ``012``, ``.inf``, ...) come out of its JSON emitter as quoted
#: strings; so do the same words written quoted. Finding one in the emitted JSON sends
#: the file the careful way, which tells the two apart. Over-matching only costs speed.
_AMBIGUOUS_JSON_STRING = re.compile(
    rb'"(?:~|True|TRUE|False|FALSE|Null|NULL|<<'
    rb'|[-+]?\.?(?:inf|Inf|INF|nan|NaN|NAN)|[-+]?0[0-9xXoObB_][^"]*|\+[^"]*)"'
)
#: Every member of a JSON object ends its key with ``"`` then ``:``. Counting these
#: (strings holding ``\":`` only over-count) and comparing with the members decoded
#: tells whether orjson silently kept the last of two equal keys.
_MEMBER_END = re.compile(rb'"\s*:')


def parse_yaml_fast(raw: bytes) -> tuple[Any, bool] | None:
    """rapidyaml -> JSON -> orjson: the data and whether the JSON has a null; or
    ``None`` when the file needs the careful reader: a feature the fast path drops,
    an ambiguous scalar, a long integer, a key written twice, or any parse error (the
    careful reader then produces the precise message)."""
    # Each check first asks, at C speed, whether what its expression looks for can be
    # there at all: over a file of 10,000 templates the expressions alone took 0.35 s.
    if _has_careful_source(raw) or raw.startswith(_CAREFUL_LINE_STARTS):
        return None
    if (b"|" in raw or b">" in raw) and _EXPLICIT_BLOCK_INDENT.search(raw):
        return None
    if (
        (b"!" in raw or b"&" in raw or b"*" in raw)
        and _PROPERTY_CANDIDATE.search(raw)
        and _has_node_property(raw)
    ):
        return None
    if any(b"\n" + marker in raw for marker in _CAREFUL_LINE_STARTS):
        return None
    import ryml

    try:
        with _native_stderr_silenced():
            tree = ryml.parse_in_arena(raw)
            emitted = ryml.emit_json_malloc(tree, tree.root_id())
    except Exception:
        return None
    if not emitted:
        return None, False  # only comments: an empty document
    try:
        text = emitted.encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8, which rapidyaml passed on
        return None
    # A run of 19 digits or more may be an integer orjson cannot hold exactly (it turns
    # those beyond 64 bits into floats): such a file is read exactly instead.
    if _AMBIGUOUS_JSON_STRING.search(text) or has_long_digit_run(text):
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    # The exact count, not dumped_key_ends' proof: a string starting with ":" counts
    # here too, which sends such a file the careful way, and that must stay, since
    # rapidyaml reads a flow mapping's plain ``::1`` or ``:8080`` that ruamel.yaml refuses.
    members, depth = members_and_depth(data)
    if len(_MEMBER_END.findall(text)) != members or depth > MAX_DEPTH:
        return None  # a key written twice (the careful reader names both lines), too deep
    return data, b"null" in text


def _has_careful_source(raw: bytes) -> bool:
    """Whether ``raw`` holds what :data:`_CAREFUL_SOURCE` matches. Its multi-byte
    sequences start ``\\xc2``, ``\\xe2\\x80`` or ``\\xef\\xbf``, its escapes ``\\u`` or
    ``\\U``: without those, the single-byte controls alone decide."""
    if raw.translate(None, _NOT_CONTROL):
        return True
    multibyte = not raw.isascii() and any(lead in raw for lead in _CAREFUL_LEADS)
    escaped = b"\\u" in raw or b"\\U" in raw
    return (multibyte or escaped) and _CAREFUL_SOURCE.search(raw) is not None


def _has_node_property(raw: bytes) -> bool:
    """Whether a ``!``, ``&`` or ``*`` of ``raw`` may start a node (a tag, an anchor or
    an alias), rather than sit in a quoted scalar, a block scalar, a plain scalar or a
    comment. ``True`` whenever a line is not plain enough to tell: over-answering only
    costs speed, under-answering would read a tagged file wrong."""
    if _may_quote_over_lines(raw):
        # A line of a quoted scalar over several lines cannot be read alone (its text
        # may hold a " #", or look like a block scalar's header): leave it to ruamel.
        return True
    blocks = _block_scalars(raw)
    at, size = 0, len(raw)
    while (match := _PROPERTY_CANDIDATE.search(raw, at)) is not None:
        start = raw.rfind(b"\n", 0, match.start()) + 1
        inside = bisect_right(blocks, (start, size)) - 1
        if inside >= 0 and blocks[inside][0] <= start < blocks[inside][1]:
            at = blocks[inside][1]  # the content of a block scalar is text: skip it
            continue
        tokens = _line_tokens(_line_at(raw, start))
        if tokens is None or tokens.property:
            return True
        end = raw.find(b"\n", match.start())
        at = size if end < 0 else end + 1  # the next line
    return False


#: A line whose quoted scalars, read left to right, leave one open at its end: a double
#: quote (``\\"`` escapes) or a single one (``''`` escapes) that does not close on the
#: line. An apostrophe in a plain scalar (``don't``) looks the same: that only costs speed.
_QUOTE_LEFT_OPEN = re.compile(
    rb"(?m)^(?:[^\"'\n]++|\"(?:[^\"\\\n]++|\\.)*+\"|'(?:[^'\n]++|'')*+')*+[\"']"
)


def _may_quote_over_lines(raw: bytes) -> bool:
    """Whether a line leaves a quoted scalar open: it may go on over lines."""
    return _QUOTE_LEFT_OPEN.search(raw) is not None


#: a line that may end opening a block scalar (:func:`_line_tokens` confirms it)
_MAYBE_BLOCK_HEADER = re.compile(rb"(?m)[|>][+-]?(?:[ ]+#[^\n]*|[ ]*)\r?$")


def _block_scalars(raw: bytes) -> list[tuple[int, int]]:
    """The content of every block scalar, as sorted ``(first line start, end)`` spans:
    after a line opening one, the lines more indented than the first of them (blank
    lines included), up to the first line indented less."""
    spans: list[tuple[int, int]] = []
    for match in _MAYBE_BLOCK_HEADER.finditer(raw):
        begin = raw.rfind(b"\n", 0, match.start()) + 1
        header = _line_at(raw, begin)
        tokens = _line_tokens(header)
        if tokens is None or not tokens.block_header or tokens.property:
            continue
        content = raw.find(b"\n", match.start())
        if content < 0:
            continue
        content += 1
        first = re.compile(rb"[ ]*[^ \r\n]").match  # the first line that is not blank
        at = content
        while at < len(raw):
            line_end = raw.find(b"\n", at)
            line_end = len(raw) if line_end < 0 else line_end
            if first(raw, at, line_end):
                break
            at = line_end + 1
        indent = _indent(_line_at(raw, at)) if at < len(raw) else 0
        if indent <= _indent(header):
            continue  # an empty block scalar
        less = re.compile(rb"\n {0,%d}(?=[^ \r\n])" % (indent - 1)).search(raw, at)
        spans.append((content, less.start() + 1 if less else len(raw)))
    spans.sort()
    return spans


class _Line:
    """What :func:`_line_tokens` found on one line."""

    __slots__ = ("block_header", "property")

    def __init__(self) -> None:
        self.property = False  # a node starts with ``!``, ``&`` or ``*``
        self.block_header = False  # the line ends opening a block scalar (``|``, ``>-``)


#: the rest of a line after a block scalar's ``|`` or ``>``: chomping, then a comment;
#: an explicit indentation digit is left to the careful reader
_BLOCK_HEADER_REST = re.compile(rb"[+-]?(?:[ ]+(?:#.*)?)?")


def _line_tokens(line: bytes) -> _Line | None:
    """The node starts of one line outside a block scalar (after the indentation, a
    ``- ``, a ``? ``, a key's ``: `` or a flow ``[``, ``{`` or ``,``), skipping quoted
    scalars, plain scalars and the comment; ``None`` when a quote does not close on
    the line (a scalar over several lines) or a header has an indentation digit."""
    found = _Line()
    at, end = 0, len(line)
    while at < end:
        while at < end and line[at] == 0x20:  # spaces before a node
            at += 1
        if at >= end:
            break
        char = line[at : at + 1]
        following = line[at + 1 : at + 2]
        if char in b"!&*":
            found.property = True
            return found
        if char == b"#":
            break  # a comment, to the end of the line
        if char in b"-?" and following in (b"", b" "):
            at += 1  # a sequence entry or an explicit key: a node follows
            continue
        if char in b"[{,":
            at += 1
            continue
        if char in b"]}":
            at += 1
            at = _after_scalar(line, at)
            continue
        if char in b"|>":
            if _BLOCK_HEADER_REST.fullmatch(line, at + 1) is None:
                return None
            found.block_header = True
            break
        if char in b"\"'":
            closed = _closing_quote(line, at)
            if closed is None:
                return None
            at = _after_scalar(line, closed + 1)
            continue
        at = _after_scalar(line, _end_of_plain(line, at))
    return found


#: what ends a plain scalar on its line: a key's ``: ``, a comment, a flow indicator
_PLAIN_END = re.compile(rb": |:$| #|[,\[\]{}]")


def _end_of_plain(line: bytes, at: int) -> int:
    """Where a plain scalar starting at ``at`` ends: before ``: ``, `` #``, a flow
    indicator, or at the end of the line (a ``!`` or ``&`` inside it is text)."""
    found = _PLAIN_END.search(line, at)
    return found.start() if found else len(line)


def _after_scalar(line: bytes, at: int) -> int:
    """Past a scalar: past a key's ``:`` when one follows, so a node starts next."""
    end = len(line)
    probe = at
    while probe < end and line[probe] == 0x20:
        probe += 1
    if probe < end and line[probe] == 0x3A:
        return probe + 1
    return at


_DOUBLE_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')
_SINGLE_QUOTED = re.compile(rb"'(?:[^']|'')*'")


def _closing_quote(line: bytes, at: int) -> int | None:
    """The index of the quote closing the one at ``at`` on this line, or ``None``."""
    quoted = (_DOUBLE_QUOTED if line[at] == 0x22 else _SINGLE_QUOTED).match(line, at)
    return quoted.end() - 1 if quoted else None


def _line_at(raw: bytes, start: int) -> bytes:
    stop = raw.find(b"\n", start)
    return raw[start : stop if stop >= 0 else len(raw)].rstrip(b"\r")


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" "))


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """rapidyaml's C++ core prints its parse errors straight to file descriptor 2; the
    careful path reports them properly, so keep the raw text off the user's terminal."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
