"""Comment-preserving edits of single templates inside a YAML or JSON document.

A layer file may hold ten thousand templates and the comments that explain them. To
change, add or remove one template, :func:`edit_document` touches only the text of
that template and leaves every other byte as it was:

1. **Find the span.** A line scan finds where the template's entry starts and ends
   (YAML: the lines of its ``- `` item or ``id:`` key at the container's indentation;
   JSON: :meth:`json.JSONDecoder.raw_decode`, in C, from element to element). The
   entry's text alone is parsed to check that the scan found exactly that template.
2. **Re-render only that entry.** YAML: ruamel.yaml round-trips the entry's text
   (comments, quotes, flow style kept), the change is applied to the loaded nodes in
   place, and it is dumped with the indentation that reproduces the entry best. JSON:
   ``json.dumps`` with the entry's own indentation and separators.
3. **Keep every line that did not change.** The round trip may still normalise a
   line that was not edited (``~`` becomes empty, ``True`` becomes ``true``, a long
   inline list is re-spaced). So the new text is a three-way merge: the dump of the
   unchanged entry is the base, the original text is one side (formatting only), the
   dump of the changed entry the other (the edit); edited lines come from the new
   dump, all others from the original.
4. **Splice** the entry's new text into the document.

Anything the scan cannot vouch for (flow-style containers, several documents,
anchors referenced across templates, ...) goes the slow, always-right way: the
whole document through the same round trip and merge.

The three file shapes are handled alike: a list of templates, a mapping with a
``templates`` list (or mapping), and a mapping of id to body; other top-level keys
(``scheduler_type``) stay where they are. Bodies are written as given: converting
to the layer's key style (camelCase in a HostFactory file) is the caller's job.
"""

from __future__ import annotations

import bisect
import functools
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

from templar.errors import TemplarError, TemplateParseError
from templar.reader import parse_document
from templar.storage import jsonedit
from templar.storage.jsonedit import template_id_of

Format = Literal["yaml", "json"]

#: ruamel.yaml's line width; large so that no long value is folded onto a new line.
_WIDTH = 1_000_000
#: Indentations tried when re-dumping a YAML entry: (mapping, sequence, offset).
_YAML_INDENTS = ((2, 2, 0), (2, 4, 2), (4, 4, 0), (4, 6, 4), (2, 3, 1), (4, 4, 2), (3, 3, 0))
#: The indentation of a YAML document Templar creates: `- ` indented under its key.
_NEW_YAML_INDENT = (2, 4, 2)


class DocumentEditError(TemplarError):
    """A document cannot be edited as asked (it does not parse, or its shape holds no templates)."""


def format_of(path: Path) -> Format:
    """``json`` for a ``.json`` file, else ``yaml``."""
    return "json" if path.suffix.lower() == ".json" else "yaml"


def edit_document(
    text: str | None,
    fmt: Format,
    put: Mapping[str, Mapping[str, Any]] | None = None,
    remove: Iterable[str] = (),
    *,
    name: str = "<document>",
) -> str:
    """The text of a document after putting and removing templates.

    ``put`` maps template ids to whole bodies: an id already in the document is
    replaced in place, a new one is appended to its templates. ``remove`` deletes ids
    (an id the document does not hold is ignored). ``text`` ``None`` is a document
    that does not exist yet; it is created as ``templates: [...]`` (YAML) or
    ``{"templates": [...]}`` (JSON). ``name`` is used in error messages.
    """
    for template_id in remove:
        if text is not None:
            text = _remove(text, fmt, str(template_id), name)
    for template_id, body in (put or {}).items():
        text = _put(text, fmt, str(template_id), dict(body), name)
    if text is None:
        text = _new_document(fmt, [])
    return text


def edit_file(
    path: Path,
    expected_version: str | None,
    put: Mapping[str, Mapping[str, Any]] | None = None,
    remove: Iterable[str] = (),
) -> str | None:
    """Put and remove templates in the file at ``path``: :func:`edit_document` on its
    text, written by :func:`templar.storage.atomic.update_file` (atomic, under the file's
    lock, refused with :class:`~templar.errors.ConcurrencyError` unless the file is
    still at ``expected_version``; ``None``: it must not exist yet). A byte-order mark
    and Windows line endings are kept. Returns the new version."""
    from templar.storage.atomic import update_file

    fmt = format_of(path)
    remove = tuple(remove)

    def compute(current: bytes | None) -> bytes:
        if current is None:
            return edit_document(None, fmt, put, remove, name=str(path)).encode()
        bom = current.startswith(b"\xef\xbb\xbf")
        try:
            text = current.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DocumentEditError(f"{path}: not UTF-8, not edited", file=str(path)) from e
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        if crlf:
            text = text.replace("\r\n", "\n")
        new = edit_document(text, fmt, put, remove, name=str(path))
        if crlf:
            new = new.replace("\n", "\r\n")
        return (b"\xef\xbb\xbf" if bom else b"") + new.encode()

    return update_file(path, expected_version, compute)


class ScanUnsure(Exception):
    """:func:`find_template` cannot vouch for the document: read it whole instead."""


def find_template(text: str, fmt: Format, template_id: str) -> tuple[Any, tuple[Any, ...]] | None:
    """The body of ``template_id`` in a document and its document path, found without
    parsing the document whole (the scan of :func:`edit_document`); ``None`` when the
    document does not hold it. Raises :class:`ScanUnsure` when the scan cannot tell."""
    try:
        if fmt == "json":
            found = jsonedit.find_template(text, template_id)
            if found is None:
                return None
            return found
        container = _yaml_container(text)
        entry = _yaml_find(text, container, template_id)
    except (_ScanRefused, ValueError, IndexError, jsonedit.JsonEditError) as e:
        raise ScanUnsure(str(e)) from e
    if entry is None:
        return None
    prefix: tuple[Any, ...] = ("templates",) if container.header is not None else ()
    key: Any = entry.key if container.kind == "map" else entry.index
    return entry.body, (*prefix, key)


# --------------------------------------------------------------------------- spans


@dataclass
class _Entry:
    """Where one template sits in the text (whole lines), and what it reads as."""

    index: int  # its position among the container's entries
    start: int  # offset of its first line
    end: int  # offset past its last content line (trailing comments stay outside)
    key: str | None  # the mapping key it is written under, for id->body shapes
    body: Any = None


@dataclass
class _Container:
    """The sequence or mapping of templates: its entries' first lines, by offset."""

    kind: Literal["seq", "map"]
    indent: int  # the column of its entries
    starts: list[int]
    limit: int  # offset where the container's text ends
    keys: list[str] | None = None  # map: the key of each entry
    #: the ``templates:`` line (start, end past its newline), if the container is under one
    header: tuple[int, int] | None = None

    def entry(self, text: str, n: int) -> _Entry:
        """Entry ``n``, its span ending at its last content line."""
        start = self.starts[n]
        stop = self.starts[n + 1] if n + 1 < len(self.starts) else self.limit
        end = start
        for match in _CONTENT_LINE.finditer(text, start, stop):
            end = match.end()
        if end < len(text) and text[end] == "\n":
            end += 1
        return _Entry(n, start, end, self.keys[n] if self.keys is not None else None)

    def insert_at(self, text: str) -> int:
        """Where a new entry goes: after the last one's last content line."""
        if self.starts:
            return self.entry(text, len(self.starts) - 1).end
        return self.header[1] if self.header else 0


def _is_directive(key: str) -> bool:
    return key.startswith("_")


# --------------------------------------------------------------------------- YAML scan


_CONTENT_LINE = re.compile(r"^[ ]*[^\s#].*$", re.M)
_TEMPLATES_KEY = re.compile(r"""^(?:templates|"templates"|'templates')[ \t]*:(?P<rest>.*)$""")
_KEY_LINE = re.compile(
    r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?&*!|>%@`{\[][^#\n]*?)[ \t]*:(?:[ \t]|$)"""
)
_REFUSED_TEXT = re.compile(r"^[ ]*\t", re.M)
_ID_LINE = re.compile(
    r"""^[ ]*(?:-[ ]+)?["']?(?:template_id|templateId)["']?[ ]*:[ ]*(?P<value>.*?)[ ]*(?:\#.*)?$"""
)


class _ScanRefused(Exception):
    """The fast YAML scan cannot vouch for this document; use the slow path."""


def _is_content(line: str) -> bool:
    stripped = line.lstrip(" ")
    return bool(stripped.strip()) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_end(text: str, pos: int) -> int:
    """Offset past the newline of the line holding ``pos``."""
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _starts(body: str, text: str, begin: int = 0, limit: int | None = None) -> Iterator[int]:
    """Offsets of the lines in ``text[begin:limit]`` that start with the regex ``body``.

    Searched as ``\\n`` + ``body``: a literal first character lets the regex engine
    skip ahead at C speed, where a multi-line ``^`` is tried at every position.
    """
    limit = len(text) if limit is None else limit
    if begin == 0 and _compiled(body).match(text, 0, limit):
        yield 0
    for match in _compiled("\n(?:" + body + ")").finditer(text, max(begin - 1, 0), limit):
        yield match.start() + 1


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _first(body: str, text: str, begin: int = 0, limit: int | None = None) -> int | None:
    return next(_starts(body, text, begin, limit), None)


_CONTENT = r"[ ]*[^\s#]"


def _yaml_container(text: str) -> _Container:
    """The templates container of a block-style YAML document, by a regex scan of
    the whole text (C speed: no Python loop over its lines)."""
    if "\t" in text and _REFUSED_TEXT.search(text):
        raise _ScanRefused("tabs in indentation")
    if text.startswith(("---", "...", "%")) or any(m in text for m in ("\n---", "\n...", "\n%")):
        raise _ScanRefused("document markers")
    first = _first(_CONTENT, text)
    if first is None:
        raise _ScanRefused("empty document")
    head = text[first : _line_end(text, first)].rstrip("\r\n")
    if head[0] == " ":
        raise _ScanRefused("indented root")
    if head.startswith("- ") or head == "-":
        return _yaml_entries(text, "seq", 0, first, len(text))
    if (
        head.split(" #")[0].strip() in ("[]", "{}")
        and _first(_CONTENT, text, _line_end(text, first)) is None
    ):
        # an emptied document: its only content is "[]" or "{}"
        kind_: Literal["seq", "map"] = "seq" if head.startswith("[") else "map"
        span = (first, _line_end(text, first))
        return _Container(kind_, 0, [], span[1], keys=[] if kind_ == "map" else None, header=span)
    header_start = _first(r"""(?:templates|"templates"|'templates')[ \t]*:""", text)
    if header_start is None:
        if head.startswith(("[", "{", "&", "!", "*", "?", "|", ">")):
            raise _ScanRefused("flow or special root")
        return _yaml_entries(text, "map", 0, first, len(text))
    header_span = (header_start, _line_end(text, header_start))
    header = _TEMPLATES_KEY.match(text[header_span[0] : header_span[1]].rstrip("\r\n"))
    if header is None:
        raise _ScanRefused("templates key not understood")
    rest = header["rest"].split(" #")[0].strip()
    if rest in ("[]", "{}"):
        kind: Literal["seq", "map"] = "seq" if rest == "[]" else "map"
        keys: list[str] | None = [] if kind == "map" else None
        return _Container(kind, 2, [], header_span[1], keys=keys, header=header_span)
    if rest:
        raise _ScanRefused("templates written inline")
    below = _first(_CONTENT, text, header_span[1])
    if below is None or text[below] not in " -":
        return _Container("seq", 2, [], header_span[1], header=header_span)
    top = text[below : _line_end(text, below)]
    kind = "seq" if top.lstrip(" ").startswith("-") else "map"
    indent = _indent(top)
    if kind == "map" and indent == 0:
        raise _ScanRefused("templates mapping not indented")
    # the container ends at the next line at column 0 that is not one of its items
    limit = _first(r"[^\s#-]" if indent == 0 else r"[^\s#]", text, below) or len(text)
    container = _yaml_entries(text, kind, indent, below, limit)
    container.header = header_span
    return container


def _yaml_entries(
    text: str, kind: Literal["seq", "map"], indent: int, begin: int, limit: int
) -> _Container:
    """The entries between offsets ``begin`` and ``limit`` at column ``indent``;
    refuses any content line there that is less indented, or at that column but
    not an entry."""
    if indent and _first(rf" {{0,{indent - 1}}}[^\s#]", text, begin, limit) is not None:
        raise _ScanRefused("a line outside the container's indentation")
    at_column = rf" {{{indent}}}[^\s#]"
    if kind == "seq":
        starts = list(_starts(rf" {{{indent}}}-(?:[ ]|\r?\n|$)", text, begin, limit))
        if sum(1 for _ in _starts(at_column, text, begin, limit)) != len(starts):
            raise _ScanRefused("a line at the items' column that is not an item")
        return _Container(kind, indent, starts, limit)
    starts = []
    keys = []
    for start in _starts(at_column, text, begin, limit):
        line = text[start + indent : _line_end(text, start)].rstrip("\r\n")
        key = _KEY_LINE.match(line)
        if key is None:
            raise _ScanRefused("a line at the keys' column that is not a key")
        starts.append(start)
        keys.append(_unquote_key(key["key"]))
    return _Container(kind, indent, starts, limit, keys=keys)


def _unquote_key(key: str) -> str:
    if key.startswith('"'):
        return str(json.loads(key))
    if key.startswith("'"):
        return key[1:-1].replace("''", "'")
    return key.strip()


def _yaml_find(text: str, container: _Container, template_id: str) -> _Entry | None:
    """The first entry whose id is ``template_id``. Only candidate entries are
    parsed; when the id's text is somewhere but no candidate holds it, the whole
    document is parsed to find it (never a duplicate appended by mistake)."""
    if container.kind == "map":
        assert container.keys is not None
        for n, key in enumerate(container.keys):
            if key == template_id and not _is_directive(key):
                return _yaml_check_entry(text, container, n)
        if template_id in text:
            return _yaml_find_by_parse(text, container, template_id)
        return None
    seen: set[int] = set()
    at = text.find(template_id)
    while at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        line = text[line_start : _line_end(text, at)].rstrip("\r\n")
        at = text.find(template_id, at + 1)
        match = _ID_LINE.match(line)
        if match is None or template_id not in match["value"]:
            continue
        n = bisect.bisect_right(container.starts, line_start) - 1
        if n < 0 or n in seen:
            continue
        seen.add(n)
        entry = _yaml_check_entry(text, container, n)
        if template_id_of(entry.body, None) == template_id:
            return entry
    if template_id in text:
        return _yaml_find_by_parse(text, container, template_id)
    return None


def _yaml_find_by_parse(text: str, container: _Container, template_id: str) -> _Entry | None:
    """:func:`_yaml_find` the slow way: parse the document, find the id's index."""
    try:
        data = parse_document(Path("document.yaml"), text.encode())
    except TemplateParseError as e:
        raise _ScanRefused("document does not parse") from e
    if isinstance(data, dict) and "templates" in data:
        data = data["templates"]
    items: list[tuple[Any, str | None]]
    if container.kind == "seq" and isinstance(data, list):
        items = [(body, None) for body in data]
    elif container.kind == "map" and isinstance(data, dict):
        items = [(body, str(key)) for key, body in data.items()]
    else:
        raise _ScanRefused("shape read differently")
    if len(items) != len(container.starts):
        raise _ScanRefused("entry count read differently")
    for n, (body, key) in enumerate(items):
        if key is not None and _is_directive(key):
            continue
        if template_id_of(body, key) == template_id:
            entry = _yaml_check_entry(text, container, n)
            if template_id_of(entry.body, entry.key) != template_id:
                raise _ScanRefused("entry read differently")
            return entry
    return None


def _yaml_check_entry(text: str, container: _Container, n: int) -> _Entry:
    """Entry ``n``, after parsing its own text: refuses the scan unless it is one template."""
    entry = container.entry(text, n)
    try:
        data = parse_document(Path("entry.yaml"), text[entry.start : entry.end].encode())
    except TemplateParseError as e:
        raise _ScanRefused("entry does not parse alone") from e
    if container.kind == "seq":
        if not (isinstance(data, list) and len(data) == 1):
            raise _ScanRefused("entry is not one item")
        entry.body = data[0]
    else:
        if not (isinstance(data, dict) and len(data) == 1):
            raise _ScanRefused("entry is not one key")
        (key, entry.body), *_ = data.items()
        if str(key) != entry.key:
            raise _ScanRefused("key read differently")
    return entry


# --------------------------------------------------------------------------- YAML render


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    yaml.allow_duplicate_keys = True
    return yaml


def _yaml_dump(data: Any, indent: tuple[int, int, int]) -> list[str]:
    """Dump ``data`` with ruamel.yaml, as lines shifted to start at column 0."""
    yaml = _yaml()
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    out = io.StringIO()
    yaml.dump(data, out)
    lines = out.getvalue().splitlines(keepends=True)
    shift = _indent(lines[0]) if lines else 0
    return [line[shift:] if line[:shift].strip() == "" else line for line in lines]


def _dedent(lines: list[str], indent: int) -> list[str]:
    return [line[indent:] if line[:indent].strip() == "" else line for line in lines]


def _reindent(lines: list[str], indent: int) -> list[str]:
    pad = " " * indent
    return [pad + line if line.strip() else line for line in lines]


def _best_yaml_indent(
    original: list[str], data: Any, prefer: tuple[int, int, int] | None = None
) -> tuple[tuple[int, int, int], list[str]]:
    """The indentation whose dump of ``data`` keeps most of ``original``'s lines
    (``prefer`` wins ties: the style of the container the entry sits in)."""
    best: tuple[float, tuple[int, int, int], list[str]] | None = None
    order = ([prefer] if prefer else []) + [i for i in _YAML_INDENTS if i != prefer]
    for indent in order:
        dumped = _yaml_dump(data, indent)
        score = SequenceMatcher(None, original, dumped, autojunk=False).ratio()
        if best is None or score > best[0]:
            best = (score, indent, dumped)
        if score == 1.0:
            break
    assert best is not None
    return best[1], best[2]


def _preferred_style(container: _Container) -> tuple[int, int, int] | None:
    """Nested lists indented the way the container's own list is, when it is one."""
    if container.kind == "seq" and container.indent in (1, 2, 3, 4):
        return (2, container.indent + 2, container.indent)
    return None


def _yaml_entry_text(chunk: str, container: _Container, new_body: dict[str, Any]) -> str:
    """The entry ``chunk`` re-rendered with ``new_body``, every unedited line kept."""
    yaml = _yaml()
    original = chunk.splitlines(keepends=True)
    indent = container.indent
    dedented = _dedent(original, indent)
    base_data = yaml.load("".join(dedented))
    indent_style, base = _best_yaml_indent(dedented, base_data, _preferred_style(container))
    changed = yaml.load("".join(dedented))
    if container.kind == "seq":
        changed[0] = _update_node(changed[0], new_body)
    else:
        key = next(iter(changed))
        changed[key] = _update_node(changed[key], new_body)
    theirs = _reindent(_yaml_dump(changed, indent_style), indent)
    merged = _three_way(original, _reindent(base, indent), theirs)
    text = "".join(merged)
    return text if text.endswith("\n") else text + "\n"


def _yaml_new_entry(
    kind: str, indent: int, template_id: str, body: dict[str, Any], style: tuple[int, int, int]
) -> str:
    data: Any = [body] if kind == "seq" else {template_id: body}
    return "".join(_reindent(_yaml_dump(data, style), indent))


def _sibling_style(text: str, container: _Container) -> tuple[int, int, int]:
    """The indentation of the last entry of ``container``, to write a new one alike."""
    if not container.starts:
        return _preferred_style(container) or _NEW_YAML_INDENT
    entry = container.entry(text, len(container.starts) - 1)
    lines = _dedent(text[entry.start : entry.end].splitlines(keepends=True), container.indent)
    try:
        return _best_yaml_indent(lines, _yaml().load("".join(lines)), _preferred_style(container))[
            0
        ]
    except Exception:
        return _NEW_YAML_INDENT


def _update_node(node: Any, new: Any) -> Any:
    """``new`` as a value to store in place of ``node``: the same node, changed in
    place, wherever the two agree in shape, so that comments, quoting and flow style
    of the parts that did not change survive the dump."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(node, CommentedMap) and isinstance(new, Mapping):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _update_node(node[key], value) if key in node else value
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        if len(node) == len(new):
            for i, value in enumerate(new):
                node[i] = _update_node(node[i], value)
            return node
        seq = CommentedSeq(new)
        if node.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    same_kind = type(node) is type(new) or (
        isinstance(node, (int, float)) and not isinstance(node, bool) and type(new) in (int, float)
    )
    if same_kind and node == new:
        return node
    if isinstance(node, ScalarString) and isinstance(new, str) and "\n" not in new:
        return type(node)(new)
    return new


# --------------------------------------------------------------------------- merge


def _three_way(ours: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """``theirs``' changes to ``base`` applied to ``ours``, which differs from ``base``
    in formatting only. Where both touch the same lines, ``theirs`` wins."""
    if ours == base:
        return theirs
    if base == theirs:
        return ours
    ops_ours = SequenceMatcher(None, base, ours, autojunk=False).get_opcodes()
    ops_theirs = SequenceMatcher(None, base, theirs, autojunk=False).get_opcodes()
    hunks = sorted(
        [(i1, i2, "o") for tag, i1, i2, _, _ in ops_ours if tag != "equal"]
        + [(i1, i2, "t") for tag, i1, i2, _, _ in ops_theirs if tag != "equal"]
    )
    clusters: list[list[Any]] = []
    for b1, b2, side in hunks:
        if clusters and (b1 < clusters[-1][1] or b1 == clusters[-1][0]):
            clusters[-1][1] = max(clusters[-1][1], b2)
            clusters[-1][2] |= side == "t"
        else:
            clusters.append([b1, b2, side == "t"])
    out: list[str] = []
    pos = 0
    for b1, b2, edited in clusters:
        out += ours[_map(ops_ours, pos) : _map(ops_ours, b1)]
        if edited:
            out += theirs[_map(ops_theirs, b1) : _map(ops_theirs, b2, end=True)]
        else:
            out += ours[_map(ops_ours, b1) : _map(ops_ours, b2, end=True)]
        pos = b2
    out += ours[_map(ops_ours, pos) :]
    return out


def _map(opcodes: Sequence[tuple[str, int, int, int, int]], pos: int, *, end: bool = False) -> int:
    """Where base line ``pos`` (a hunk's edge, or inside an unchanged stretch) falls in
    the other text; an insertion right at ``pos`` counts as before it, or after it
    when ``end``."""
    for tag, i1, i2, j1, _j2 in opcodes:
        if i1 <= pos < i2:
            return j1 + (pos - i1) if tag == "equal" else j1
        if pos == i1 == i2 and not end:
            return j1
    return opcodes[-1][4] if opcodes else 0


# --------------------------------------------------------------------------- operations


def _put(text: str | None, fmt: Format, template_id: str, body: dict[str, Any], name: str) -> str:
    if text is None or not text.strip() or _only_comments(text, fmt):
        return (text or "") + _new_document(fmt, [jsonedit.with_id(body, template_id)])
    try:
        if fmt == "json":
            return jsonedit.put_template(text, template_id, body)
        container = _yaml_container(text)
        entry = _yaml_find(text, container, template_id)
        return _yaml_put(text, container, entry, template_id, body)
    except _ScanRefused:
        return _slow_edit(text, fmt, {template_id: body}, (), name)
    except (ValueError, IndexError, DocumentEditError, jsonedit.JsonEditError) as e:
        raise DocumentEditError(f"{name}: cannot edit: {e}", file=name) from e


def _yaml_put(
    text: str, container: _Container, entry: _Entry | None, template_id: str, body: dict[str, Any]
) -> str:
    if container.kind == "seq":
        body = jsonedit.with_id(body, template_id)
    expected: Any = [body] if container.kind == "seq" else {template_id: body}
    if entry is not None:
        chunk = text[entry.start : entry.end]
        new = _yaml_entry_text(chunk, container, body)
        _verify(new, "yaml", expected)
        return text[: entry.start] + new + text[entry.end :]
    style = _sibling_style(text, container)
    new = _yaml_new_entry(container.kind, container.indent, template_id, body, style)
    _verify(new, "yaml", expected)
    if not container.starts and container.header is not None:
        start, end = container.header
        header = re.sub(r"\s*(\[\]|\{\})", "", text[start:end].rstrip("\r\n"), count=1)
        return text[:start] + (header + "\n" if header.strip() else "") + new + text[end:]
    at = container.insert_at(text)
    glue = "" if at == 0 or text[at - 1] == "\n" else "\n"
    return text[:at] + glue + new + text[at:]


def _verify(fragment: str, fmt: Format, expected: Any) -> None:
    """Refuse (to the slow path) a rendered entry that does not read back as ``expected``."""
    try:
        if fmt == "json":
            data = json.loads(fragment)
        else:
            data = parse_document(Path("entry.yaml"), fragment.encode())
    except (ValueError, TemplateParseError) as e:
        raise _ScanRefused("rendered entry does not parse") from e
    if data != json.loads(json.dumps(expected)):
        raise _ScanRefused("rendered entry reads back differently")


def _remove(text: str, fmt: Format, template_id: str, name: str) -> str:
    if not text.strip() or _only_comments(text, fmt):
        return text
    try:
        if fmt == "json":
            return jsonedit.remove_template(text, template_id)
        container = _yaml_container(text)
        entry = _yaml_find(text, container, template_id)
    except _ScanRefused:
        return _slow_edit(text, fmt, {}, (template_id,), name)
    except (ValueError, IndexError, DocumentEditError, jsonedit.JsonEditError) as e:
        raise DocumentEditError(f"{name}: cannot edit: {e}", file=name) from e
    if entry is None:
        return text
    start = entry.start
    if entry.index > 0:  # above the first entry, comments are the file's own header
        start = max(
            _attached_comments_start(text, entry.start), container.entry(text, entry.index - 1).end
        )
    if len(container.starts) > 1:
        return text[:start] + text[entry.end :]
    # the only entry: say "no templates" explicitly, not with an empty (null) value
    empty = "[]" if container.kind == "seq" else "{}"
    if container.header is not None:
        h_start, h_end = container.header
        header = text[h_start:h_end].rstrip("\r\n")
        return text[:h_start] + header + " " + empty + "\n" + text[h_end:start] + text[entry.end :]
    rest = text[:start] + text[entry.end :]
    return rest if _has_content(rest) else rest + empty + "\n"


def _has_content(text: str) -> bool:
    return any(_is_content(line) for line in text.splitlines())


def _attached_comments_start(text: str, start: int) -> int:
    """The start of the comment lines directly above ``start`` (no blank line between):
    they describe the entry and go with it."""
    pos = start
    while pos > 0:
        prev = text.rfind("\n", 0, pos - 1) + 1
        if text[prev:pos].strip().startswith("#"):
            pos = prev
        else:
            break
    return pos


def _only_comments(text: str, fmt: Format) -> bool:
    return fmt == "yaml" and not any(_is_content(line) for line in text.splitlines())


def _new_document(fmt: Format, bodies: list[dict[str, Any]]) -> str:
    if fmt == "json":
        return jsonedit.new_document(bodies)
    if not bodies:
        return "templates: []\n"
    return "templates:\n" + "".join(_reindent(_yaml_dump(bodies, _NEW_YAML_INDENT), 2))


# --------------------------------------------------------------------------- slow path


def _slow_edit(
    text: str, fmt: Format, put: Mapping[str, dict[str, Any]], remove: Iterable[str], name: str
) -> str:
    """Edit a YAML document the scan could not vouch for: round-trip all of it, apply
    the change to the loaded nodes, dump, and merge so that unedited lines stay."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    yaml = _yaml()
    try:
        data = yaml.load(text)
    except YAMLError as e:
        raise DocumentEditError(
            f"{name}: cannot edit a file that does not parse: {e}", file=name
        ) from e
    original = text.splitlines(keepends=True)
    indent_style, base = _best_yaml_indent(original, data)
    container: Any
    if isinstance(data, CommentedSeq):
        container = data
    elif isinstance(data, CommentedMap) and "templates" in data:
        container = data["templates"]
        if container is None:
            container = data["templates"] = CommentedSeq()
    elif isinstance(data, CommentedMap):
        container = data
    else:
        raise DocumentEditError(f"{name}: holds no templates to edit", file=name)
    remove = set(remove)
    if isinstance(container, list):
        for i in reversed(range(len(container))):
            if template_id_of(container[i], None) in remove:
                del container[i]
        for template_id, body in put.items():
            index = next(
                (
                    i
                    for i, item in enumerate(container)
                    if template_id_of(item, None) == template_id
                ),
                None,
            )
            body = jsonedit.with_id(body, template_id)
            if index is None:
                container.append(body)
            else:
                container[index] = _update_node(container[index], body)
    elif isinstance(container, dict):
        for template_id in remove:
            container.pop(template_id, None)
        for template_id, body in put.items():
            container[template_id] = (
                _update_node(container[template_id], body) if template_id in container else body
            )
    else:
        raise DocumentEditError(f"{name}: 'templates' is neither a list nor a mapping", file=name)
    theirs = _yaml_dump(data, indent_style)
    return "".join(_three_way(original, base, theirs))
