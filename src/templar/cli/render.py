"""How the CLI prints: tables, JSON, YAML, and the one-line forms of issues and events."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from templar.models import printable

if TYPE_CHECKING:
    from templar.models import (
        ChangeEvent,
        SourceLocation,
        TemplateDTO,
        TemplateExplanation,
        ValidationIssueDTO,
    )


def plural(count: int, noun: str) -> str:
    """``1 load``, ``2 loads``."""
    return f"{count} {noun}{'s' * (count != 1)}"


def human_size(size: int) -> str:
    """A byte count as ``512 B``, ``1.5 KB``, ... ``2.0 GB``."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def display_path(path: str | None) -> str:
    """A path relative to the current directory where it can be, ``-`` for none."""
    if not path:
        return "-"
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def issue_line(issue: ValidationIssueDTO) -> str:
    """One issue as one line, its file relative to the current directory."""
    if issue.file:
        return issue.model_copy(update={"file": display_path(issue.file)}).format_line()
    return issue.format_line()


def event_line(event: ChangeEvent) -> str:
    """One change event as one line: what moved, per provider instance, then new issues."""
    parts = ["full reload"] if event.full_reload else []
    for label, by_instance in (
        ("added", event.added),
        ("changed", event.changed),
        ("removed", event.removed),
        ("stale", event.stale),
    ):
        parts += [
            f"{label} {printable(name)}: {', '.join(map(printable, ids))}"
            for name, ids in by_instance.items()
        ]
    if event.issues:
        count = len(event.issues)
        parts.append(
            f"{count} new issue{'s' * (count != 1)}: "
            + " | ".join(issue_line(issue) for issue in event.issues)
        )
    when = event.timestamp.astimezone().strftime("%H:%M:%S")
    return f"{when} " + ("; ".join(parts) or "no change")


def echo_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "(no templates)"
) -> None:
    """Columns padded to their widest cell; ``empty`` on stderr when there is no row."""
    # a cell shows what it holds, never a control character for the terminal to obey
    rows = [[printable(str(c)) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    click.echo(line.rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows and empty:
        click.echo(empty, err=True)


def echo_data(data: Any, output_format: str) -> None:
    """``data`` as indented JSON (``json``) or block YAML (anything else)."""
    if output_format == "json":
        import orjson

        # The standard library's indenting encoder is pure Python: 0.1 s for 1,000
        # templates, more than the whole warm load. orjson writes the same JSON.
        options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        click.echo(orjson.dumps(data, option=options).decode())
        return
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.dump(data, sys.stdout)


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _flatten(data: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, _cell(value)


def echo_template_table(template: TemplateDTO) -> None:
    """One effective template for people: FIELD and VALUE, nested keys as dotted paths.

    Unset fields and empty mappings are left out; lists are shown as JSON.
    """
    data = template.model_dump(mode="json", exclude_none=True)
    if data.get("source_file"):
        data["source_file"] = display_path(data["source_file"])
    rows = [
        (field, value)
        for field, value in _flatten(data)
        if value != "{}"  # an empty mapping (no tags, no metadata) says nothing
    ]
    echo_table(["FIELD", "VALUE"], rows, empty="")


def _schema_type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in prop:
            return " | ".join(_schema_type(p) for p in prop[key])
    kind = prop.get("type", "any")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_schema_type(prop['items'])}"
    return " | ".join(kind) if isinstance(kind, list) else str(kind)


def schema_rows(schema: dict[str, Any]) -> list[list[str]]:
    """The fields of one template in a JSON Schema (``templates schema --format table``).

    A layer-file schema describes its template under ``$defs.Template``; the
    spellings an editor should not suggest (``doNotSuggest``) are left out.
    """
    template = schema.get("$defs", {}).get("Template", schema)
    properties: dict[str, dict[str, Any]] = template.get("properties", {})
    return [
        [
            name,
            _schema_type(prop),
            "" if "default" not in prop else _cell(prop["default"]),
            str(prop.get("description", prop.get("title", ""))),
        ]
        for name, prop in properties.items()
        if not prop.get("doNotSuggest")
    ]


def echo_explanation(explanation: TemplateExplanation) -> None:
    """``show --explain``: the layers, then every field with where it came from."""
    click.echo(
        f"template {explanation.template_id}  (provider instance {explanation.provider_instance}, "
        f"type {explanation.provider_type}, merge {explanation.merge})"
    )
    click.echo("layers, highest priority first:")
    for layer in explanation.layers:
        click.echo(f"  {layer.priority}  {layer.layer:<18} {where_of(layer)}")
    click.echo("fields:")
    for field in explanation.fields:
        at = where_of(field.source)
        if field.unset:
            click.echo(f"  {field.field} unset by null    <- {field.source.layer} {at}")
        else:
            value = json.dumps(field.value, default=str)
            click.echo(f"  {field.field} = {value}    <- {field.source.layer} {at}")
        for old in field.shadowed:
            click.echo(
                f"      shadows {json.dumps(old.value, default=str)} from {old.layer} "
                f"{where_of(old)}"
            )


def where_of(source: SourceLocation) -> str:
    """:func:`where` of a provenance source; a row (SQL) adds its id and version."""
    shown = where(source.file, source.line, source.column, source.layer)
    record = source.record or {}
    if "id" in record:
        shown += f" (id {record['id']}, version {record.get('version', '?')})"
    return shown


def where(file: str | None, line: int | None, column: int | None, layer: str = "") -> str:
    """``file:line:column`` (relative), the file alone, or for no file ``(plugin)``
    (a plugin's defaults) or ``(built in)`` (another layer in no file, such as ORB's
    packaged defaults)."""
    if not file:
        return "(plugin)" if not layer or layer.startswith("plugin") else "(built in)"
    shown = display_path(file)
    return f"{shown}:{line}:{column}" if line else shown
