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

The package front (this module) reads files and picks a path; the paths are
:mod:`templar.reader.fast` (rapidyaml), :mod:`templar.reader.careful` (ruamel.yaml)
and :mod:`templar.reader.jsonfile` (orjson), and :mod:`templar.reader.document`
holds what they return and the bounds all three check.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

from templar.errors import ConfigurationError, TemplateParseError
from templar.reader.careful import parse_yaml_carefully, read_carefully
from templar.reader.document import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_INTEGER,
    MIN_INTEGER,
    DocumentIssue,
    ParsedDocument,
    line_and_column,
)
from templar.reader.fast import parse_yaml_fast
from templar.reader.jsonfile import JSON_SUFFIXES, parse_json

__all__ = [
    "JSON_SUFFIXES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_INTEGER",
    "MIN_INTEGER",
    "DocumentIssue",
    "ParsedDocument",
    "parse_document",
    "parse_document_noting_nulls",
    "parse_layer_document",
    "parse_yaml_carefully",
    "parse_yaml_fast",
    "read_bytes",
    "read_carefully",
    "read_document",
    "read_regular_file",
]


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
        return parse_json(path, raw)
    fast = parse_yaml_fast(raw)
    if fast is not None:
        return ParsedDocument(*fast)
    return read_carefully(path, raw)


def read_document(path: Path) -> Any:
    """Read and parse one file strictly (see :func:`parse_document`)."""
    return parse_document(path, read_bytes(path))


def read_config_mapping(path: Path, what: str) -> dict[str, Any] | None:
    """The mapping a config file (``templar.yaml``, ORB's ``config.json``) holds, or
    ``None`` when it is empty; a file that does not parse or holds anything else is a
    :class:`~templar.errors.ConfigurationError` naming its line (``what`` names the
    file in the message: "the engine config")."""
    try:
        data = read_document(path)
    except TemplateParseError as e:
        raise ConfigurationError(e.message, **e.context) from e
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}:1:1: {what} must be a mapping, not {type(data).__name__}",
            file=str(path),
            line=1,
            column=1,
        )
    return data


def _check_utf8(path: Path, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, column = line_and_column(raw, e.start)
        raise TemplateParseError(
            f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
            file=path,
            line=line,
            column=column,
            code="encoding-error",
        ) from e
