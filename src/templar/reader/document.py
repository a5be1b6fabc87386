"""What reading one file gives (:class:`ParsedDocument`, :class:`DocumentIssue`) and
the bounds every reading path holds a document to: depth, alias expansion, integers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from templar.errors import TemplateParseError

#: An alias-expanded document larger than this many nodes is refused (billion laughs);
#: the keys copied by ``<<`` merge keys count against the same budget.
MAX_EXPANDED_NODES = 2_000_000
#: Deeper nesting is refused: no template needs it, and the merge and validation
#: recurse once per level. (rapidyaml hands anything deeper than 64 to the careful path.)
MAX_DEPTH = 100
#: The integers every JSON reader of the output holds exactly (orjson writes no other).
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1


@dataclass(frozen=True)
class DocumentIssue:
    """A problem found while reading a file that does not stop it loading: a key
    written twice (the first is kept), an ignored ``%YAML`` directive."""

    code: str
    reason: str
    line: int | None = None
    column: int | None = None
    warning: bool = False


@dataclass
class ParsedDocument:
    """What one file holds: its data, whether the data may hold a ``null`` anywhere
    (``False`` is a promise: the merge then skips looking for nulls), and the issues
    that did not stop it loading."""

    data: Any
    may_hold_nulls: bool = True
    issues: list[DocumentIssue] = field(default_factory=list)


def line_and_column(text: str | bytes, offset: int) -> tuple[int, int]:
    newline: Any = b"\n" if isinstance(text, bytes) else "\n"
    line = text.count(newline, 0, offset) + 1
    return line, offset - (text.rfind(newline, 0, offset) + 1) + 1


def members_and_depth(data: Any) -> tuple[int, int]:
    """The number of mapping members in ``data`` and how deep its containers nest."""
    members = 0
    level = [data] if isinstance(data, (dict, list)) else []
    depth = -1
    while level:
        depth += 1
        below: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                members += len(node)
                below.extend(v for v in node.values() if isinstance(v, (dict, list)))
            else:
                below.extend(v for v in node if isinstance(v, (dict, list)))
        level = below
    return members, depth


#: digits -> ``0``, every other byte kept: a run of 19 digits is then a plain substring
#: search, about ten times faster than a regular expression over the whole text
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
#: a line of an indented dump this deep holds a container below :data:`MAX_DEPTH`
_TOO_DEEP_LINE = b"\n" + b" " * (2 * (MAX_DEPTH + 1))


def has_long_digit_run(text: bytes, length: int = 19) -> bool:
    """Whether ``text`` holds ``length`` digits in a row (``\\d{19}`` in a regex)."""
    return b"0" * length in text.translate(_DIGITS_AS_ZERO)


def dumped_key_ends(data: Any) -> tuple[int, bool] | None:
    """From one indented orjson dump of ``data`` (C speed, where walking the tree in
    Python costs twice orjson's parse): how often ``":`` occurs in it, and whether no
    container nests deeper than :data:`MAX_DEPTH`; ``None`` when orjson cannot dump it.

    The count is one per mapping member plus one per ``"`` followed by ``:`` inside a
    string. The text a JSON file was parsed from, when it holds no ``\\u`` escape,
    counts at least as many ``"\\s*:`` (every key it writes, each string's ``\\"`` before
    a colon, the keys orjson dropped as duplicates), and as many only when it wrote no
    key twice: equal counts prove what :func:`members_and_depth` would count.

    ``False`` for the depth is no verdict (the exact walk decides): in an indented dump
    a container at level ``L`` puts a line at ``2 * L`` spaces or deeper, so without
    such a line at ``MAX_DEPTH + 1`` nothing nests too deep.
    """
    try:
        dumped = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    except (TypeError, orjson.JSONEncodeError):  # orjson's own depth limit (254), ...
        return None
    return dumped.count(b'":'), _TOO_DEEP_LINE not in dumped


def too_deep(path: Path | None) -> TemplateParseError:
    # JSON output, the merge and validation could not handle it
    return TemplateParseError(
        f"nested deeper than {MAX_DEPTH} levels; refused", file=path, code="too-deep"
    )


def check_expansion(path: Path, data: Any) -> None:
    """Refuse documents whose aliases expand past :data:`MAX_EXPANDED_NODES` nodes, or
    that nest deeper than :data:`MAX_DEPTH` levels.

    Aliases load as shared references, cheaply; it is walking them (merging,
    serialising) that would explode. Counting with a memo per shared node keeps this
    check linear in the size of the file, not of the expansion.
    """
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Any, depth: int = 0) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if depth > MAX_DEPTH:
            raise TemplateParseError(
                f"nested deeper than {MAX_DEPTH} levels; refused", file=path, code="too-deep"
            )
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise TemplateParseError("recursive YAML alias refused", file=path, code="alias-bomb")
        in_progress.add(key)
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                raise TemplateParseError(
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes; "
                    "refused (alias bomb?)",
                    file=path,
                    code="alias-bomb",
                )
        in_progress.discard(key)
        sizes[key] = total
        return total

    size(data)
