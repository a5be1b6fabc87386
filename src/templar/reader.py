"""Reading template files: a fast path for loading, ruamel.yaml for everything careful.

The reader is the cost of a cold load (DESIGN.md, "Speed"), so plain YAML goes through
rapidyaml, which emits JSON that orjson decodes: about fifteen times faster than
libyaml. rapidyaml's JSON emitter does not follow the YAML 1.2 core schema on a few
rarely written scalars (``~``, ``True``, ``0x1F``, ``.inf``, ``012``) and ignores tags
and aliases, so :data:`_NEEDS_CAREFUL_READ` sends any file that contains one of those
to ruamel.yaml's safe loader instead. Both paths give the same data for every file;
``tests/test_reader.py`` holds them to it.

Line and column numbers are only needed for errors and ``--explain``, so they come
from a separate, lazy, round-trip parse: :class:`templar.positions.PositionIndex`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from templar.errors import TemplateParseError

#: Source features rapidyaml's JSON emitter drops silently: tags, anchors and aliases,
#: tabs, document markers and directives. Any of these sends a file the careful way.
_CAREFUL_SOURCE = re.compile(rb"[!&*\t]")
_CAREFUL_LINE_STARTS = (b"---", b"...", b"%")

#: Plain scalars whose YAML 1.2 core-schema type rapidyaml does not resolve (``~``,
#: ``True``, ``0x1F``, ``012``, ``.inf``, ...) come out of its JSON emitter as quoted
#: strings; so do the same words written quoted. Finding one in the emitted JSON sends
#: the file the careful way, which tells the two apart. Over-matching only costs speed.
_AMBIGUOUS_JSON_STRING = re.compile(
    r'"(?:~|True|TRUE|False|FALSE|Null|NULL|<<'
    r'|[-+]?\.?(?:inf|Inf|INF|nan|NaN|NAN)|[-+]?0[0-9xXoObB_][^"]*|\+[^"]*)"'
)

#: An alias-expanded document larger than this many nodes is refused (billion laughs).
MAX_EXPANDED_NODES = 2_000_000
#: Deeper nesting is refused: no template needs it, and the merge and validation
#: recurse once per level. (rapidyaml hands anything deeper than 64 to the careful path.)
MAX_DEPTH = 100

JSON_SUFFIXES = frozenset({".json"})


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
    """Parse the bytes of a YAML or JSON file into plain Python data.

    Raises :class:`TemplateParseError` with the file, line and column for bytes that
    are not UTF-8, that do not parse, that use an unsafe tag, or that expand beyond
    :data:`MAX_EXPANDED_NODES` through aliases.
    """
    return parse_document_noting_nulls(path, raw)[0]


def parse_document_noting_nulls(path: Path, raw: bytes) -> tuple[Any, bool]:
    """:func:`parse_document`, and whether the data may hold a ``null`` anywhere.

    ``False`` is a promise (the merge then skips looking for nulls to drop); it is
    cheap to know on the fast paths, where the JSON text is at hand.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    _check_utf8(path, raw)
    if not raw.strip():
        return None, False
    if path.suffix.lower() in JSON_SUFFIXES:
        return _parse_json(path, raw), b"null" in raw
    fast = _parse_yaml_fast(raw)
    if fast is not None:
        return fast
    return _parse_yaml_carefully(path, raw), True


def read_document(path: Path) -> Any:
    """Read and parse one template file (see :func:`parse_document`)."""
    return parse_document(path, read_bytes(path))


def _check_utf8(path: Path, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise TemplateParseError(
            f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
            file=path,
            line=line,
            column=column,
            code="encoding-error",
        ) from e


def _parse_json(path: Path, raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise TemplateParseError(
            f"invalid JSON: {e.msg}",
            file=path,
            line=e.lineno,
            column=e.colno,
        ) from e


def _parse_yaml_fast(raw: bytes) -> tuple[Any, bool] | None:
    """rapidyaml -> JSON -> orjson: the data and whether the JSON has a null; or
    ``None`` when the file needs the careful reader: a feature the fast path drops,
    an ambiguous scalar, or any parse error (the careful reader then produces the
    precise message)."""
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
    if _AMBIGUOUS_JSON_STRING.search(emitted):
        return None
    try:
        return orjson.loads(emitted), "null" in emitted
    except orjson.JSONDecodeError:
        return None


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


def _careful_loader() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import SafeConstructor

    class _Constructor(SafeConstructor):
        """Safe constructor held to the YAML 1.2 core schema where ruamel.yaml is more
        lenient: timestamps stay the strings written, and ``1_000`` is a string."""

        def construct_yaml_int(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            return super().construct_yaml_float(node)

    _Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)
    _Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
    _Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _Constructor
    return yaml


def _parse_yaml_carefully(path: Path, raw: bytes) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = _careful_loader().load(raw.decode("utf-8"))
    except RecursionError as e:
        raise TemplateParseError(
            f"nested deeper than {MAX_DEPTH} levels; refused", file=path, code="too-deep"
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
        code = "unsafe-tag" if "could not determine a constructor" in problem else "parse-error"
        raise TemplateParseError(
            f"invalid YAML: {problem.strip() or e}",
            file=path,
            line=line,
            column=column,
            code=code,
        ) from e
    except YAMLError as e:
        raise TemplateParseError(f"invalid YAML: {e}", file=path) from e
    _check_expansion(path, data)
    return data


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
