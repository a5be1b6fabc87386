"""Shape-level create and delete: putting or removing one template in a list, a
``templates`` mapping or an id mapping, and the slow whole-document path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from templar.errors import TemplateParseError
from templar.reader import parse_document
from templar.storage import jsonedit
from templar.storage.edits.kinds import DocumentEditError, Format
from templar.storage.edits.linemerge import three_way
from templar.storage.edits.roundtrip import (
    NEW_YAML_INDENT,
    best_yaml_indent,
    reindent,
    round_trip_yaml,
    sibling_style,
    update_node,
    yaml_dump,
    yaml_entry_text,
    yaml_new_entry,
)
from templar.storage.edits.scalars import scalar_edit
from templar.storage.edits.scan import (
    Container,
    Entry,
    Scan,
    ScanRefused,
    yaml_container,
    yaml_find,
)
from templar.storage.jsonedit import template_id_of

# --------------------------------------------------------------------------- operations


def put_entry(
    text: str | None,
    fmt: Format,
    template_id: str,
    body: dict[str, Any],
    name: str,
    scan: Scan | None = None,
) -> str:
    """``text`` with ``template_id`` replaced by ``body``, or ``body`` added; ``scan``
    is :func:`~templar.storage.edits.scan.scan_document` of this very text, if known."""
    if text is None or not text.strip() or _only_comments(text, fmt):
        return (text or "") + new_document(fmt, [jsonedit.with_id(body, template_id)])
    try:
        if fmt == "json":
            return jsonedit.put_template(text, template_id, body, scan.json if scan else None)
        if scan is not None and scan.yaml is not None:
            container, entry = scan.yaml
        else:
            container = yaml_container(text)
            entry = yaml_find(text, container, template_id)
        return _yaml_put(text, container, entry, template_id, body)
    except ScanRefused:
        return _slow_edit(text, fmt, {template_id: body}, (), name)
    except (ValueError, IndexError, DocumentEditError, jsonedit.JsonEditError) as e:
        raise DocumentEditError(f"{name}: cannot edit: {e}", file=name) from e


def _yaml_put(
    text: str, container: Container, entry: Entry | None, template_id: str, body: dict[str, Any]
) -> str:
    if container.kind == "seq":
        body = jsonedit.with_id(body, template_id)
    expected: Any = [body] if container.kind == "seq" else {template_id: body}
    if entry is not None:
        chunk = text[entry.start : entry.end]
        quick = scalar_edit(chunk, container.kind, entry.body, body)
        if quick is not None:
            try:
                _verify(quick, "yaml", expected)
            except ScanRefused:
                quick = None  # read back otherwise (a plain "20" for a string): the general way
        new = quick if quick is not None else yaml_entry_text(chunk, container, body)
        if quick is None:
            _verify(new, "yaml", expected)
        return text[: entry.start] + new + text[entry.end :]
    style = sibling_style(text, container)
    new = yaml_new_entry(container.kind, container.indent, template_id, body, style)
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
        raise ScanRefused("rendered entry does not parse") from e
    if data != json.loads(json.dumps(expected)):
        raise ScanRefused("rendered entry reads back differently")


def remove_entry(
    text: str, fmt: Format, template_id: str, name: str, scan: Scan | None = None
) -> str:
    """``text`` without ``template_id``; ``scan`` as for :func:`put_entry`."""
    if not text.strip() or _only_comments(text, fmt):
        return text
    try:
        if fmt == "json":
            return jsonedit.remove_template(text, template_id, scan.json if scan else None)
        if scan is not None and scan.yaml is not None:
            container, entry = scan.yaml
        else:
            container = yaml_container(text)
            entry = yaml_find(text, container, template_id)
    except ScanRefused:
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


#: a line :func:`~templar.storage.edits.scan.is_content` would call content: after its
#: spaces, something other than a comment (a regex, not a loop over a big file's lines)
_A_CONTENT_LINE = re.compile(r"^[ ]*(?=[^ #\n])[^\n]*\S", re.M)


def _has_content(text: str) -> bool:
    return _A_CONTENT_LINE.search(text) is not None


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
    return fmt == "yaml" and not _has_content(text)


def new_document(fmt: Format, bodies: list[dict[str, Any]]) -> str:
    if fmt == "json":
        return jsonedit.new_document(bodies)
    if not bodies:
        return "templates: []\n"
    return "templates:\n" + "".join(reindent(yaml_dump(bodies, NEW_YAML_INDENT), 2))


# --------------------------------------------------------------------------- slow path


def _slow_edit(
    text: str, fmt: Format, put: Mapping[str, dict[str, Any]], remove: Iterable[str], name: str
) -> str:
    """Edit a YAML document the scan could not vouch for: round-trip all of it, apply
    the change to the loaded nodes, dump, and merge so that unedited lines stay."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    yaml = round_trip_yaml()
    try:
        data = yaml.load(text)
    except YAMLError as e:
        raise DocumentEditError(
            f"{name}: cannot edit a file that does not parse: {e}", file=name
        ) from e
    original = text.splitlines(keepends=True)
    indent_style, base = best_yaml_indent(original, data)
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
                container[index] = update_node(container[index], body)
    elif isinstance(container, dict):
        for template_id in remove:
            container.pop(template_id, None)
        for template_id, body in put.items():
            container[template_id] = (
                update_node(container[template_id], body) if template_id in container else body
            )
    else:
        raise DocumentEditError(f"{name}: 'templates' is neither a list nor a mapping", file=name)
    theirs = yaml_dump(data, indent_style)
    return "".join(three_way(original, base, theirs))
