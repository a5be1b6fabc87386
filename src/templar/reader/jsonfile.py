"""The JSON path: orjson, checked for what it reads silently inexactly (integers beyond
64 bits, a key written twice), which then goes to an exact reader."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson

from templar.errors import TemplateParseError
from templar.reader.careful import read_carefully
from templar.reader.document import (
    MAX_DEPTH,
    MAX_INTEGER,
    MIN_INTEGER,
    DocumentIssue,
    ParsedDocument,
    dumped_key_ends,
    has_long_digit_run,
    members_and_depth,
    too_deep,
)

JSON_SUFFIXES = frozenset({".json"})
#: Every member of a JSON object ends its key with ``"`` then ``:``. Counting these
#: (strings holding ``\":`` only over-count) and comparing with the members decoded
#: tells whether orjson silently kept the last of two equal keys.
_MEMBER_END_BYTES = re.compile(rb'"\s*:')


def parse_json(path: Path, raw: bytes) -> ParsedDocument:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise TemplateParseError(
            f"invalid JSON: {e.msg}",
            file=path,
            line=e.lineno,
            column=e.colno,
        ) from e
    # A run of 19 digits or more may be an integer orjson cannot hold exactly (it turns
    # those beyond 64 bits into floats), and orjson keeps the last of two equal keys,
    # silently: read such a file exactly (JSON is YAML 1.2).
    if has_long_digit_run(raw):
        return _read_json_exactly(path, raw)
    written = len(_MEMBER_END_BYTES.findall(raw))
    # the cheap proof first (see dumped_key_ends); the exact walk when it proves nothing
    quick = None if b"\\u" in raw else dumped_key_ends(data)
    if quick is None or quick[0] != written:
        members, depth = members_and_depth(data)
        if written != members:
            return _read_json_exactly(path, raw)
    elif not quick[1]:
        depth = members_and_depth(data)[1]
    else:
        depth = 0
    if depth > MAX_DEPTH:
        raise too_deep(path)
    return ParsedDocument(data, b"null" in raw)


def _read_json_exactly(path: Path, raw: bytes) -> ParsedDocument:
    """A JSON file orjson would have read inexactly: the careful reader (JSON is YAML
    1.2), or, for what YAML refuses and JSON allows (a DEL inside a string), the
    standard library with exact integers and the first of two equal keys kept."""
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        return read_carefully(path, raw, json_text=True)
    except TemplateParseError as e:
        cause = e.__cause__
        if not isinstance(cause, (ReaderError, MarkedYAMLError)) or hasattr(cause, "code"):
            raise
    issues: list[DocumentIssue] = []

    def first_kept(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key, value in pairs:
            if key in mapping:
                issues.append(
                    DocumentIssue(
                        "duplicate-key",
                        f"key '{key}' is written twice in one mapping; the first is kept",
                    )
                )
            else:
                mapping[key] = value
        return mapping

    data = json.loads(raw, object_pairs_hook=first_kept)
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, int) and not MIN_INTEGER <= node <= MAX_INTEGER:
            raise TemplateParseError(
                f"integer {str(node)[:40]} is outside the range JSON readers hold exactly "
                "(-2**63 to 2**64-1); write it as a string",
                file=path,
                code="number-out-of-range",
            )
    return ParsedDocument(data, b"null" in raw, issues)
