"""How the CLI prints: tables, JSON, YAML, and the one-line forms of issues and events."""

from __future__ import annotations

import json
import os
import shutil
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


#: ``--color``: a global option, also accepted after the command.
COLOR_OPTION: dict[str, Any] = {
    "type": click.Choice(["auto", "always", "never"]),
    "default": "auto",
    "show_default": True,
    "envvar": "TEMPLAR_COLOR",
    "help": "Colour: auto (on a terminal, unless NO_COLOR is set), always, never.",
}

_SEVERITY_COLORS = {"error": "red", "warning": "yellow"}


def color_setting(mode: str) -> bool | None:
    """``--color`` as click's context colour: True, False, or None (a TTY decides).

    ``auto`` honours ``NO_COLOR`` (https://no-color.org): set and not empty, no
    colour; ``always`` colours even then, as an explicit flag wins over the variable.
    """
    if mode == "always":
        return True
    if mode == "never":
        return False
    return False if os.environ.get("NO_COLOR") else None


def severity_label(severity: str) -> str:
    """``error`` in bold red, ``warning`` in yellow; plain where colour is off."""
    return click.style(severity, fg=_SEVERITY_COLORS.get(severity), bold=severity == "error")


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
    """One issue as one line, its file relative to the current directory.

    The severity word is coloured; click strips the colour where it is off.
    """
    if issue.file:
        issue = issue.model_copy(update={"file": display_path(issue.file)})
    line = issue.format_line()
    severity = issue.severity.value
    where, sep, rest = line.partition(f": {severity} ")
    return f"{where}: {severity_label(severity)} {rest}" if sep else line


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


def _terminal_width() -> int | None:
    """Columns to fit a table into: the terminal's (or ``$COLUMNS``), None when piped."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return None  # a file or a pipe gets every character
    return shutil.get_terminal_size().columns


def fit_widths(widths: Sequence[int], minimums: Sequence[int], total: int) -> list[int]:
    """Narrow the widest columns, never under their minimum, until the row fits.

    Two spaces separate the columns; a row that cannot fit keeps the minimums.
    """
    fitted = list(widths)
    excess = sum(fitted) + 2 * (len(fitted) - 1) - total
    while excess > 0:
        widest = max(range(len(fitted)), key=lambda i: fitted[i] - minimums[i])
        room = fitted[widest] - minimums[widest]
        if room <= 0:
            break
        fitted[widest] -= 1
        excess -= 1
    return fitted


def _clip(cell: str, width: int, keep_end: bool = False) -> str:
    if len(cell) <= width:
        return cell
    if keep_end:  # a path: its file name is the part worth seeing
        return "…" + cell[len(cell) - width + 1 :]
    return cell[: max(width - 1, 0)] + "…"


def echo_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    empty: str = "(no templates)",
    keep_end: Sequence[int] = (),
) -> None:
    """Columns padded to their widest cell, a bold header; ``empty`` on stderr if no row.

    On a terminal the table fits its width: the widest columns are cut, with ``…``
    (at the start for the columns in ``keep_end``, such as paths).
    """
    # a cell shows what it holds, never a control character for the terminal to obey
    rows = [[printable(str(c)) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    available = _terminal_width()
    if available is not None:
        # The first column (the id) is never cut; the others keep six characters.
        minimums = [widths[0]] + [min(w, 6) for w in widths[1:]]
        widths = fit_widths(widths, minimums, available)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            _clip(c, w, i in keep_end).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    click.echo(click.style(line(headers), bold=True))
    for row in rows:
        click.echo(line(row))
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
    record = source.record or {}
    if record.get("served"):  # the storage could not be read: the last cached load
        return "(the last cached load: which layer wrote each value is not cached)"
    shown = where(source.file, source.line, source.column, source.layer)
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
