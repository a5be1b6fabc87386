"""Reading template files: a fast path for loading, ruamel.yaml for everything careful.

The reader is the cost of a cold load (DESIGN.md, "Speed"), so plain YAML goes through
rapidyaml, which emits JSON that orjson decodes: about fifteen times faster than
libyaml. rapidyaml's JSON emitter does not follow the YAML 1.2 core schema on a few
rarely written scalars (``~``, ``True``, ``0x1F``, ``.inf``, ``012``), ignores tags and
aliases, keeps the last of two equal keys and mangles some escapes, so a file that
might hold one of those goes to ruamel.yaml's safe loader instead. Which path reads a
file only changes how fast it is read, never what it means: both give the same data
and the same issues for every file, and ``tests/test_reader.py`` and
``tests/test_fuzz.py`` hold them to it.

One meaning per document, on every path (YAML fast, YAML careful, JSON):

- YAML 1.2 core schema, whatever ``%YAML`` directive the file carries (a directive
  other than 1.2 is a warning and is ignored);
- mapping keys are text, as written (``true:`` is the key ``"true"``, ``1e3:`` is
  ``"1e3"``), as they must be to print as JSON;
- a key written twice in one mapping is a ``duplicate-key`` error naming both lines;
  the first is kept and the rest of the file still loads;
- integers are exact; one outside what JSON readers hold exactly (-2**63 to 2**64-1)
  is refused, so is ``.inf``/``.nan`` (JSON has neither, and ``null`` would mean
  "unset"), a lone surrogate escape, ``!!binary`` data that is not UTF-8 text and a
  non-printable character: what loads can always be printed;
- work and memory are bounded by the size of the input: aliases and ``<<`` merge keys
  are expanded by reference, and a document expanding past
  :data:`MAX_EXPANDED_NODES` or nesting past :data:`MAX_DEPTH` is refused.

Line and column numbers are only needed for errors and ``--explain``, so they come
from a separate, lazy, round-trip parse: :class:`templar.positions.PositionIndex`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from templar.errors import TemplateParseError

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
_LONG_DIGITS_BYTES = re.compile(rb"\d{19,}")
#: Every member of a JSON object ends its key with ``"`` then ``:``. Counting these
#: (strings holding ``\":`` only over-count) and comparing with the members decoded
#: tells whether orjson silently kept the last of two equal keys.
_MEMBER_END = re.compile(r'"\s*:')
_MEMBER_END_BYTES = re.compile(rb'"\s*:')

#: An alias-expanded document larger than this many nodes is refused (billion laughs);
#: the keys copied by ``<<`` merge keys count against the same budget.
MAX_EXPANDED_NODES = 2_000_000
#: Deeper nesting is refused: no template needs it, and the merge and validation
#: recurse once per level. (rapidyaml hands anything deeper than 64 to the careful path.)
MAX_DEPTH = 100
#: The integers every JSON reader of the output holds exactly (orjson writes no other).
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1

JSON_SUFFIXES = frozenset({".json"})


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


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``; an ``OSError`` if it is not a regular file. A FIFO or a
    device named like a layer would otherwise block the read, and the command, forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def read_bytes(path: Path) -> bytes:
    """Read ``path``, turning OS errors into a :class:`TemplateParseError`."""
    try:
        return read_regular_file(path)
    except OSError as e:
        raise TemplateParseError(
            f"cannot read file: {e.strerror or e}", file=path, code="unreadable-file"
        ) from e


def parse_document(path: Path, raw: bytes) -> Any:
    """Parse the bytes of a YAML or JSON file into plain Python data, strictly.

    Raises :class:`TemplateParseError` with the file, line and column for bytes that
    are not UTF-8, that do not parse, that use an unsafe tag, that hold a value JSON
    cannot print, that expand beyond :data:`MAX_EXPANDED_NODES` through aliases or
    merge keys, or that write a key twice in one mapping.
    """
    return parse_document_noting_nulls(path, raw)[0]


def parse_document_noting_nulls(path: Path, raw: bytes) -> tuple[Any, bool]:
    """:func:`parse_document`, and whether the data may hold a ``null`` anywhere."""
    document = parse_layer_document(path, raw)
    for issue in document.issues:
        if not issue.warning:
            raise TemplateParseError(
                issue.reason, file=path, line=issue.line, column=issue.column, code=issue.code
            )
    return document.data, document.may_hold_nulls


def parse_layer_document(path: Path, raw: bytes) -> ParsedDocument:
    """Parse the bytes of one layer file, keeping going past what need not stop it.

    Raises :class:`TemplateParseError` as :func:`parse_document` does, except for a key
    written twice (the first is kept) and an ignored ``%YAML`` directive, which come
    back in :attr:`ParsedDocument.issues`.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    _check_utf8(path, raw)
    if not raw.strip():
        return ParsedDocument(None, False)
    if path.suffix.lower() in JSON_SUFFIXES:
        return _parse_json(path, raw)
    fast = _parse_yaml_fast(raw)
    if fast is not None:
        return ParsedDocument(*fast)
    return _read_carefully(path, raw)


def read_document(path: Path) -> Any:
    """Read and parse one file strictly (see :func:`parse_document`)."""
    return parse_document(path, read_bytes(path))


def _check_utf8(path: Path, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, column = _line_and_column(raw, e.start)
        raise TemplateParseError(
            f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
            file=path,
            line=line,
            column=column,
            code="encoding-error",
        ) from e


def _line_and_column(text: str | bytes, offset: int) -> tuple[int, int]:
    newline: Any = b"\n" if isinstance(text, bytes) else "\n"
    line = text.count(newline, 0, offset) + 1
    return line, offset - (text.rfind(newline, 0, offset) + 1) + 1


def _parse_json(path: Path, raw: bytes) -> ParsedDocument:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise TemplateParseError(
            f"invalid JSON: {e.msg}",
            file=path,
            line=e.lineno,
            column=e.colno,
        ) from e
    members, depth = _members_and_depth(data)
    if _LONG_DIGITS_BYTES.search(raw) or len(_MEMBER_END_BYTES.findall(raw)) != members:
        # orjson turns integers beyond 64 bits into floats and keeps the last of two
        # equal keys, silently: read such a file exactly (JSON is YAML 1.2).
        return _read_json_exactly(path, raw)
    if depth > MAX_DEPTH:
        raise _too_deep(path)
    return ParsedDocument(data, b"null" in raw)


def _members_and_depth(data: Any) -> tuple[int, int]:
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


def _too_deep(path: Path | None) -> TemplateParseError:
    # JSON output, the merge and validation could not handle it
    return TemplateParseError(
        f"nested deeper than {MAX_DEPTH} levels; refused", file=path, code="too-deep"
    )


def _parse_yaml_fast(raw: bytes) -> tuple[Any, bool] | None:
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
    members, depth = _members_and_depth(data)
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


@lru_cache(maxsize=1)
def _careful_classes() -> tuple[type, type, type]:
    """The careful loader's constructor, resolver and refusal error (built once: they
    import ruamel.yaml, which a warm command never needs)."""
    from ruamel.yaml.constructor import ConstructorError, SafeConstructor
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from ruamel.yaml.resolver import VersionedResolver

    class Refused(ConstructorError):
        """A value the careful reader refuses, at its mark, with an issue code."""

        def __init__(self, code: str, problem: str, mark: Any) -> None:
            super().__init__(None, None, problem, mark)
            self.code = code

    class Yaml12Resolver(VersionedResolver):
        """YAML 1.2 rules whatever the document's ``%YAML`` directive says."""

        @property
        def processing_version(self) -> Any:
            return (1, 2)

    class Constructor(SafeConstructor):
        """Safe constructor held to one meaning per document (see the module docstring):
        keys are text as written, the first of two equal keys is kept and noted, merge
        keys merge by reference within a budget, and values JSON cannot print are
        refused where they are written. Timestamps stay the strings written, and
        ``1_000`` is a string."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            #: (key, mark of the first, mark of the second) per key written twice
            self.duplicates: list[tuple[str, Any, Any]] = []
            self.merge_budget = MAX_EXPANDED_NODES

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if not isinstance(node, MappingNode):
                raise ConstructorError(
                    None, None, f"expected a mapping node, but found {node.id}", node.start_mark
                )
            merged: list[dict[str, Any]] = []
            own: dict[str, Any] = {}
            marks: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    if "<<" in marks:
                        self.duplicates.append(("<<", marks["<<"], key_node.start_mark))
                        continue
                    marks["<<"] = key_node.start_mark
                    merged.extend(self._merge_sources(node, value_node))
                    continue
                key = self._mapping_key(key_node)
                if key in own:
                    self.duplicates.append((key, marks[key], key_node.start_mark))
                    continue
                marks.setdefault(key, key_node.start_mark)
                own[key] = self.construct_object(value_node, deep=deep)
            if not merged:
                return own
            # Merge by reference: each merged mapping is constructed once (aliases share
            # it) and only its keys are copied, against a budget; expanding the nodes
            # again at every level is what made the merge-key bomb exponential.
            result: dict[str, Any] = {}
            for source in merged:  # the first mapping merged wins (YAML merge spec)
                self.merge_budget -= len(source)
                if self.merge_budget < 0:
                    raise Refused(
                        "alias-bomb",
                        f"YAML merge keys expand to more than {MAX_EXPANDED_NODES:,} keys; "
                        "refused (merge-key bomb?)",
                        node.start_mark,
                    )
                for key, value in source.items():
                    result.setdefault(key, value)
            result.update(own)
            return result

        def _merge_sources(self, node: Any, value_node: Any) -> list[dict[str, Any]]:
            subnodes = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            sources = []
            for subnode in subnodes:
                if not isinstance(subnode, MappingNode):
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping for merging, but found {subnode.id}",
                        subnode.start_mark,
                    )
                source = self.construct_object(subnode, deep=True)
                if not isinstance(source, dict):  # a mapping that merges itself
                    raise Refused("alias-bomb", "recursive YAML alias refused", subnode.start_mark)
                sources.append(source)
            return sources

        def _mapping_key(self, key_node: Any) -> str:
            if not isinstance(key_node, ScalarNode):
                raise Refused(
                    "parse-error",
                    "a mapping key must be a plain value, not a list or a mapping",
                    key_node.start_mark,
                )
            return self._text(key_node.value, key_node)

        def _text(self, value: str, node: Any) -> str:
            if value.isascii():
                return value
            try:
                value.encode("utf-8")
                return value
            except UnicodeEncodeError:
                pass
            try:  # an escaped surrogate pair ("\ud83d\ude00") is one character
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise Refused(
                    "invalid-string",
                    "a lone surrogate escape (\\ud800 to \\udfff) is not a character; "
                    "write the character itself",
                    node.start_mark,
                ) from None

        def construct_yaml_str(self, node: Any) -> Any:
            return self._text(self.construct_scalar(node), node)

        def construct_yaml_int(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            # int() of a huge literal is slow (and refused anyway): don't
            huge = len(node.value.lstrip("+-0xXoObB")) > 40
            value = MAX_INTEGER + 1 if huge else super().construct_yaml_int(node)
            if not MIN_INTEGER <= value <= MAX_INTEGER:
                raise Refused(
                    "number-out-of-range",
                    f"integer {node.value[:40]} is outside the range JSON readers hold "
                    "exactly (-2**63 to 2**64-1); write it as a string",
                    node.start_mark,
                )
            return value

        def construct_yaml_float(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                raise Refused(
                    "non-finite-number",
                    f"'{node.value[:40]}' is not a finite number: JSON has no infinity or "
                    "NaN, and null would mean unset; write a number or a string",
                    node.start_mark,
                )
            return value

        def construct_yaml_binary(self, node: Any) -> Any:
            data = super().construct_yaml_binary(node)
            try:
                return self._text(data.decode("utf-8"), node)
            except UnicodeDecodeError:
                raise Refused(
                    "invalid-value",
                    "!!binary data that is not UTF-8 text; values are text "
                    "(keep the base64 as a plain string)",
                    node.start_mark,
                ) from None

    tags = "tag:yaml.org,2002:"
    Constructor.add_constructor(tags + "timestamp", SafeConstructor.construct_yaml_str)
    Constructor.add_constructor(tags + "str", Constructor.construct_yaml_str)
    Constructor.add_constructor(tags + "int", Constructor.construct_yaml_int)
    Constructor.add_constructor(tags + "float", Constructor.construct_yaml_float)
    Constructor.add_constructor(tags + "binary", Constructor.construct_yaml_binary)
    # a set is a mapping whose values are null, ordered maps and pairs are sequences of
    # one-key mappings: the plain data they are written as, which JSON can print
    Constructor.add_constructor(tags + "set", SafeConstructor.construct_yaml_map)
    Constructor.add_constructor(tags + "omap", SafeConstructor.construct_yaml_seq)
    Constructor.add_constructor(tags + "pairs", SafeConstructor.construct_yaml_seq)
    return Constructor, Yaml12Resolver, Refused


def _careful_loader() -> Any:
    from ruamel.yaml import YAML

    constructor, resolver, _ = _careful_classes()
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = constructor
    yaml.Resolver = resolver
    return yaml


def _parse_yaml_carefully(path: Path, raw: bytes) -> Any:
    """The careful reader's data for ``raw`` (issues that do not stop it left out)."""
    return _read_carefully(path, raw).data


def _read_carefully(path: Path, raw: bytes, *, json_text: bool = False) -> ParsedDocument:
    from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
    from ruamel.yaml.reader import ReaderError

    text = raw.decode("utf-8")
    if json_text:
        # Tabs between JSON tokens are spaces to JSON (orjson has accepted the file, so
        # none is inside a string); YAML refuses some. One character each: columns hold.
        text = text.replace("\t", " ")
    yaml = _careful_loader()
    try:
        with warnings.catch_warnings():
            # an anchor defined again is legal YAML (an alias takes the latest one)
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            data = yaml.load(text)
    except RecursionError as e:
        raise _too_deep(path) from e
    except ReaderError as e:
        at = _line_and_column(text, e.position)
        character = e.character if isinstance(e.character, int) else 0
        raise TemplateParseError(
            f"invalid YAML: control character U+{character:04X} is not allowed; "
            "write it as an escape in a double-quoted string",
            file=path,
            line=at[0],
            column=at[1],
        ) from e
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        started = e.context_mark
        if e.context and started is not None and mark is not None and started.line != mark.line:
            # an unclosed bracket is found where the file ends: say where it opened
            problem += f" (started at line {started.line + 1}, column {started.column + 1})"
        code = getattr(e, "code", None)
        if code is None:
            code = "unsafe-tag" if "could not determine a constructor" in problem else "parse-error"
        kind = "JSON" if json_text else "YAML"
        reason = problem.strip() or str(e)
        raise TemplateParseError(
            reason
            if code != "parse-error" and code != "unsafe-tag"
            else f"invalid {kind}: {reason}",
            file=path,
            line=line,
            column=column,
            code=code,
        ) from e
    except YAMLError as e:
        raise TemplateParseError(f"invalid YAML: {e}", file=path) from e
    _check_expansion(path, data)
    issues = [
        DocumentIssue(
            "duplicate-key",
            f"key '{key}' is written twice in one mapping (first at line {first.line + 1}, "
            f"column {first.column + 1}); the first is kept",
            second.line + 1,
            second.column + 1,
        )
        for key, first, second in yaml.constructor.duplicates
    ]
    declared = getattr(yaml, "version", None)
    if declared is not None and tuple(declared) != (1, 2):
        offset = text.find("%YAML")
        where = _line_and_column(text, offset) if offset >= 0 else (1, 1)
        issues.append(
            DocumentIssue(
                "yaml-version",
                f"%YAML {'.'.join(str(n) for n in declared)} directive ignored: files are "
                "read as YAML 1.2 (yes/no/on/off are strings, 012 is 12)",
                *where,
                warning=True,
            )
        )
    return ParsedDocument(data, True, issues)


def _read_json_exactly(path: Path, raw: bytes) -> ParsedDocument:
    """A JSON file orjson would have read inexactly: the careful reader (JSON is YAML
    1.2), or, for what YAML refuses and JSON allows (a DEL inside a string), the
    standard library with exact integers and the first of two equal keys kept."""
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        return _read_carefully(path, raw, json_text=True)
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


def _check_expansion(path: Path, data: Any) -> None:
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
