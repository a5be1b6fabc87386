"""The shapes of a template document, into raw templates; reused by every backend.

A parsed document (from a file, a SQL row, anything) is a list of templates, a mapping
``{"templates": [...]}`` (other top-level keys such as ``scheduler_type`` kept and
ignored), one template object (a mapping with ``template_id`` or another core field at
its top) or a mapping of template id to body. :func:`templates_from_document` accepts
all three and turns every problem into an issue of the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from templar.errors import TemplateParseError
from templar.locate import anchor_at, located_issue
from templar.lookalikes import scripts_of, skeleton
from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS, Severity
from templar.positions import Location
from templar.storage import LayerSource, RawLayer, RawTemplate


def unparsable_layer(source: LayerSource, error: TemplateParseError) -> RawLayer:
    """The layer of a document that cannot be read or parsed: no template, one issue."""
    position = (error.line, error.column) if error.line else None
    issue = located_issue(error.code, error.reason, file=source.location, position=position)
    return RawLayer(source, issues=[issue])


def templates_from_document(
    data: Any, source: LayerSource, locate: Callable[[tuple[Any, ...]], Location | None]
) -> RawLayer:
    """Split a parsed document into templates. Accepts DESIGN.md's shapes: a list,
    ``{"templates": [...]}`` (other keys ignored), one template object and a mapping of
    id to body (where the key is the id)."""
    layer = RawLayer(source)
    file = source.location

    def issue(code: str, message: str, doc_path: tuple[Any, ...], **extra: Any) -> None:
        position = (lambda: locate(doc_path)) if doc_path else (1, 1)
        anchor = anchor_at(file, doc_path) if doc_path else None
        layer.issues.append(
            located_issue(code, message, file=file, position=position, anchor=anchor, **extra)
        )

    entries: Iterable[tuple[tuple[Any, ...], Any, str | None]]
    if data is None:
        issue("empty-file", "file holds no templates", (), severity=Severity.WARNING)
        return layer
    if isinstance(data, list):
        entries = (((i,), item, None) for i, item in enumerate(data))
    elif isinstance(data, dict) and "templates" in data:
        inner = data["templates"]
        if isinstance(inner, list):
            entries = ((("templates", i), item, None) for i, item in enumerate(inner))
        elif isinstance(inner, dict) and _is_one_template(inner):
            entries = [(("templates",), inner, None)]
        elif isinstance(inner, dict):
            entries = (
                (("templates", k), v, str(k)) for k, v in inner.items() if not _is_directive(k)
            )
        else:
            issue(
                "invalid-shape",
                f"'templates' must be a list of templates, not {_kind(inner)}",
                ("templates",),
            )
            return layer
    elif isinstance(data, dict) and _is_one_template(data):
        # one template object (as ORB's and HostFactory's tools write one): its own
        # template_id is its id, and its mappings (tags, attributes) are its fields
        entries = [((), data, None)]
    elif isinstance(data, dict) and any(isinstance(v, dict) for v in data.values()):
        # Keys starting with "_" hold anchors to share (``_base: &base``) or comments.
        entries = (((k,), v, str(k)) for k, v in data.items() if not _is_directive(k))
    else:
        issue(
            "invalid-shape",
            f"top level is {_kind(data)}; expected a list of templates, "
            "a mapping with a 'templates' list, one template (with its template_id), "
            "or a mapping of template id to template",
            (),
        )
        return layer

    first_seen: dict[str, tuple[Any, ...]] = {}
    for doc_path, body, key_id in entries:
        if not isinstance(body, dict):
            issue("invalid-template", f"a template must be a mapping, not {_kind(body)}", doc_path)
            continue
        raw_id = body.get("template_id", body.get("templateId", key_id))
        if key_id is not None and raw_id != key_id and str(raw_id) != key_id:
            written = "template_id" if "template_id" in body else "templateId"
            issue(
                "template-id-mismatch",
                f"{written} '{raw_id}' is not the key '{key_id}' it is written under; "
                f"the key is the id",
                (*doc_path, written),
                severity=Severity.WARNING,
                template_id=key_id,
                field="template_id",
            )
            raw_id = key_id
        if raw_id is None or raw_id == "":
            issue("missing-template-id", "template has no template_id", doc_path)
            continue
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            issue(
                "invalid-template-id",
                f"template_id must be a string, not {_kind(raw_id)}",
                doc_path,
                field="template_id",
            )
            continue
        template_id = str(raw_id)
        if template_id in first_seen:
            first = locate(first_seen[template_id])
            where = f" (first defined at line {first[0]})" if first else ""
            issue(
                "duplicate-template-id",
                f"template '{template_id}' is defined twice in this file{where}; "
                "the first definition is kept",
                doc_path,
                template_id=template_id,
                field="template_id",
            )
            continue
        first_seen[template_id] = doc_path
        confusable = _confusable_id(template_id)
        if confusable is not None:
            issue(
                "confusable-template-id",
                confusable,
                doc_path,
                severity=Severity.WARNING,
                template_id=template_id,
                field="template_id",
            )
        layer.templates.append(raw_template(template_id, body, doc_path))
    return layer


def raw_template(template_id: str, body: dict[str, Any], doc_path: tuple[Any, ...]) -> RawTemplate:
    """One template as read from a layer, with the provider type it names (either spelling)."""
    provider_type = body.get("provider_type", body.get("providerType"))
    return RawTemplate(
        template_id,
        body,
        doc_path,
        str(provider_type) if provider_type not in (None, "") else None,
    )


#: keys that make a top-level mapping one template rather than a mapping of id to body
_TEMPLATE_KEYS = frozenset({*CORE_FIELDS, *CORE_FIELD_ALIASES})


def _is_one_template(data: dict[Any, Any]) -> bool:
    """Whether a mapping is one template: it has a ``template_id`` / ``templateId``, or
    another core template field (``name``, ``provider_api``, ``tags``, ...) at its top.
    A mapping of id to body has ids there, which are not field names."""
    return any(isinstance(key, str) and key in _TEMPLATE_KEYS for key in data)


def _is_directive(key: Any) -> bool:
    return str(key).startswith("_")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), f"a {type(value).__name__}")


def _confusable_id(template_id: str) -> str | None:
    """Why ``template_id`` may be taken for another id, or ``None``: it mixes the
    letters of several scripts (``web-server`` with a Cyrillic e, U+0435), or is written
    entirely in letters drawn like ASCII ones (U+0440 U+043E U+0440, Cyrillic, reads as ``pop``)."""
    if template_id.isascii():
        return None
    scripts = scripts_of(template_id)
    looks_like = skeleton(template_id)
    if len(scripts) > 1:
        return f"template id '{template_id}' mixes {' and '.join(sorted(scripts))} letters" + (
            f"; it looks like '{looks_like}'" if looks_like != template_id else ""
        )
    if scripts and looks_like.isascii():
        return (
            f"template id '{template_id}' is written in {''.join(scripts)} letters "
            f"that look like the ASCII '{looks_like}'"
        )
    return None
