"""Surgical edits of one template in a JSON document (see :mod:`templar.storage.edits`).

JSON has no comments, but it has a layout people chose: key order, indentation,
small objects kept on one line, the envelope (``{"scheduler_type": ..., "templates":
[...]}``). Spans come from :meth:`json.JSONDecoder.raw_decode`, which parses one value
from a given offset in C, so even a file of ten thousand templates is scanned in a
few tens of milliseconds. A changed body is then written value by value: a changed
scalar replaces just its own text, a new key is inserted after the last one in the
object's layout, a removed key takes its comma with it; only a value whose shape
changed (a list of another length, a scalar become a mapping) is rendered anew,
indented where it stands.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from templar.storage.jsonparts import _DECODER as _DECODER
from templar.storage.jsonparts import JsonEditError as JsonEditError
from templar.storage.jsonparts import (
    _apply,
    _edit_value,
    _insert_members,
    _Member,
    _members,
    _remove_members,
    _skip,
    _style,
)


def template_id_of(body: Any, key: str | None) -> str | None:
    """The id the reader gives an entry: its key in an id->body mapping, else its
    ``template_id`` (or ``templateId``) as a string; ``None`` when it has none."""
    if key is not None:
        return key
    if not isinstance(body, dict):
        return None
    raw = body.get("template_id", body.get("templateId"))
    if raw is None or raw == "" or isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    return str(raw)


def with_id(body: dict[str, Any], template_id: str) -> dict[str, Any]:
    """``body`` carrying its id, for a list entry (where nothing else says the id): as
    ``templateId`` in a camelCase body, else ``template_id``, first."""
    if template_id_of(body, None) == template_id:
        return body
    camel = "templateId" in body or any(
        k[:1].islower() and any(c.isupper() for c in k) for k in body
    )
    rest = {k: v for k, v in body.items() if k not in ("template_id", "templateId")}
    return {("templateId" if camel else "template_id"): template_id, **rest}


@dataclass
class _Templates:
    """The container of templates: where it opens and its entries."""

    kind: Literal["seq", "map"]
    open_at: int
    entries: list[_Member]


def _templates(text: str) -> _Templates:
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] not in "[{":
        raise JsonEditError("the top level is neither a list nor an object")
    if text[pos] == "[":
        return _Templates("seq", pos, _members(text, pos, keep=False))
    open_at = _templates_value(text, pos)
    if open_at is not None:
        kind: Literal["seq", "map"] = "seq" if text[open_at] == "[" else "map"
        return _Templates(kind, open_at, _members(text, open_at, keep=False))
    return _Templates("map", pos, _members(text, pos, keep=False))


def _templates_value(text: str, open_at: int) -> int | None:
    """Where the list or mapping under the top-level ``templates`` key opens, found
    without decoding it (it is most of the file); ``None`` without one."""
    pos = _skip(text, open_at + 1)
    while pos < len(text) and text[pos] == '"':
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ":":
            raise JsonEditError(f"expected ':' at offset {pos}")
        pos = _skip(text, pos + 1)
        if key == "templates" and text[pos] in "[{":
            return pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ",":
            return None
        pos = _skip(text, pos + 1)
    return None


def _find(text: str, container: _Templates, template_id: str) -> int | None:
    """The index of the first entry whose id is ``template_id`` (as the reader keeps
    the first), looking only at the entries whose text holds the id where the id can
    only be spelled one way."""
    entries = container.entries
    if container.kind == "map":
        for n, entry in enumerate(entries):
            if entry.key == template_id and not template_id.startswith("_"):
                return n
        return None
    spellings = {json.dumps(template_id, ensure_ascii=False), json.dumps(template_id)}
    # an id can also be written with escapes (\u0041, \/) or as a number: then every
    # entry is looked at
    if "\\u" in text or "\\/" in text or not _NOT_A_NUMBER.search(template_id):
        candidates: Iterable[int] = range(len(entries))
    else:
        starts = [entry.start for entry in entries]
        found = set()
        for spelling in spellings:
            at = text.find(spelling, container.open_at)
            while at >= 0:
                n = bisect.bisect_right(starts, at) - 1
                if n >= 0:
                    found.add(n)
                at = text.find(spelling, at + 1)
        candidates = sorted(found)
    for n in candidates:
        if template_id_of(entries[n].read(text), None) == template_id:
            return n
    return None


#: an id holding one of these characters is not a JSON number
_NOT_A_NUMBER = re.compile(r"[^0-9eE.+-]")


@dataclass
class JsonScan:
    """Where one template is in a JSON document's text: its container and its index
    there (``None``: not in the document). Valid for exactly the text it was made from:
    a write that reads the same bytes as the read before it edits by it, unscanned."""

    container: _Templates
    index: int | None
    envelope: bool

    def found(self, text: str) -> tuple[Any, tuple[Any, ...]] | None:
        """The template's body and document path, or ``None``; ``text`` is the
        document scanned."""
        if self.index is None:
            return None
        entry = self.container.entries[self.index]
        prefix: tuple[Any, ...] = ("templates",) if self.envelope else ()
        key: Any = entry.key if self.container.kind == "map" else self.index
        return entry.read(text), (*prefix, key)


def scan_template(text: str, template_id: str) -> JsonScan:
    """Look ``template_id`` up in ``text``: one pass over the templates container (one
    C-level decode per entry), which also refuses a document that is not valid JSON."""
    try:
        container = _templates(text)
    except ValueError as e:
        raise JsonEditError(f"not valid JSON: {e}") from e
    root = _skip(text, 0)
    envelope = text[root] == "{" and container.open_at != root
    return JsonScan(container, _find(text, container, template_id), envelope)


def find_template(text: str, template_id: str) -> tuple[Any, tuple[Any, ...]] | None:
    """The body of ``template_id`` and its document path, or ``None`` if absent."""
    return scan_template(text, template_id).found(text)


def put_template(
    text: str, template_id: str, body: dict[str, Any], scan: JsonScan | None = None
) -> str:
    """``text`` with the template ``template_id`` replaced by ``body`` (value by value),
    or ``body`` appended to the templates when the document does not hold it. ``scan``
    is :func:`scan_template` of this very text, when the caller has it."""
    scan = scan or scan_template(text, template_id)
    container = scan.container
    style = _style(text)
    if container.kind == "seq":
        body = with_id(body, template_id)
    if scan.index is not None:
        entry = container.entries[scan.index]
        old = entry.read(text)
        splices = _edit_value(text, entry.value_start, entry.value_end, old, body, style)
        new_text = _apply(text, splices)
        delta = len(new_text) - len(text)
        check = json.loads(new_text[entry.value_start : entry.value_end + delta])
        if check != json.loads(json.dumps(body)):
            raise JsonEditError(f"template '{template_id}' did not read back as written")
        return new_text
    key = template_id if container.kind == "map" else None
    splices = _insert_members(text, container.open_at, container.entries, [(key, body)], style)
    return _apply(text, splices)


def remove_template(text: str, template_id: str, scan: JsonScan | None = None) -> str:
    """``text`` without the template ``template_id`` (unchanged when it is not there)."""
    scan = scan or scan_template(text, template_id)
    if scan.index is None:
        return text
    container = scan.container
    return _apply(text, _remove_members(text, container.open_at, container.entries, {scan.index}))


def new_document(bodies: list[dict[str, Any]]) -> str:
    """A new JSON layer file holding ``bodies``, in the HostFactory envelope."""
    return json.dumps({"templates": bodies}, indent=2, ensure_ascii=False) + "\n"
