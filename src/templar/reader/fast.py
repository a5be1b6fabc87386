"""The fast YAML path: rapidyaml emits JSON that orjson decodes, for files it reads
exactly as the careful path would; any other file is handed back (``None``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from templar.reader.document import MAX_DEPTH, members_and_depth

#: Source features rapidyaml's JSON emitter drops or mangles: tags, anchors and
#: aliases, tabs, non-printable characters (which YAML refuses and the careful reader
#: reports where they are), and escaped surrogates (after which rapidyaml drops the
#: rest of the mapping), and NEL, LS and PS, which ruamel.yaml reads as line breaks
#: and rapidyaml as text. Any of these sends a file the careful way. A tag, an anchor
#: or an alias only ever starts a node, after a space, a line break or ``[{,:``: a
#: ``!`` inside ``#!/bin/bash`` or an ``&`` inside ``R&D`` is text, and keeps the fast
#: path (over-matching, ``"a !b"``, only costs speed).
_CAREFUL_SOURCE = re.compile(
    rb"(?:\A|(?<=[\s\[{,:]))[!&*]"
    rb"|[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
    rb"|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]"
    rb"|\xef\xbf[\xbe\xbf]"
    rb"|\\[uU]0*[dD][89a-fA-F]"
)
_CAREFUL_LINE_STARTS = (b"---", b"...", b"%")

#: Plain scalars whose YAML 1.2 core-schema type rapidyaml does not resolve (``~``,
#: ``True``, ``0x1F``, ``012``, ``.inf``, ...) come out of its JSON emitter as quoted
#: strings; so do the same words written quoted. Finding one in the emitted JSON sends
#: the file the careful way, which tells the two apart. Over-matching only costs speed.
_AMBIGUOUS_JSON_STRING = re.compile(
    r'"(?:~|True|TRUE|False|FALSE|Null|NULL|<<'
    r'|[-+]?\.?(?:inf|Inf|INF|nan|NaN|NAN)|[-+]?0[0-9xXoObB_][^"]*|\+[^"]*)"'
)
#: A run of 19 digits or more may be an integer orjson cannot hold exactly (it turns
#: those beyond 64 bits into floats): such a file is read exactly instead.
_LONG_DIGITS = re.compile(r"\d{19,}")
#: Every member of a JSON object ends its key with ``"`` then ``:``. Counting these
#: (strings holding ``\":`` only over-count) and comparing with the members decoded
#: tells whether orjson silently kept the last of two equal keys.
_MEMBER_END = re.compile(r'"\s*:')


def parse_yaml_fast(raw: bytes) -> tuple[Any, bool] | None:
    """rapidyaml -> JSON -> orjson: the data and whether the JSON has a null; or
    ``None`` when the file needs the careful reader: a feature the fast path drops,
    an ambiguous scalar, a long integer, a key written twice, or any parse error (the
    careful reader then produces the precise message)."""
    if _CAREFUL_SOURCE.search(raw) or raw.startswith(_CAREFUL_LINE_STARTS):
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
    if _AMBIGUOUS_JSON_STRING.search(emitted) or _LONG_DIGITS.search(emitted):
        return None
    try:
        data = orjson.loads(emitted)
    except orjson.JSONDecodeError:
        return None
    members, depth = members_and_depth(data)
    if len(_MEMBER_END.findall(emitted)) != members or depth > MAX_DEPTH:
        return None  # a key written twice (the careful reader names both lines), too deep
    return data, "null" in emitted


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
