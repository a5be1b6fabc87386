"""``templates list --style``: the document a provider's key style writes, and the
templates ``list`` leaves out for errors (named on stderr, counted in the document).

The JSON document is written template by template as each is exported, so that the
10,000 exported templates, their JSON text and a copy of it as one string are never in
memory at once (``templates list --style hostfactory`` on a big file: issue 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from templar.cli.render import echo_data, issue_line, plural

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.models import TemplateDTO, ValidationIssueDTO

#: what is written to stdout in one piece while streaming a document (bytes)
_CHUNK_BYTES = 1 << 20


class LeftOut(NamedTuple):
    """A template (or a file) ``list`` leaves out for errors, and its first error."""

    template_id: str | None
    instance: str | None
    error: ValidationIssueDTO


def left_out(
    engine: TemplateEngine,
    provider: str | None,
    provider_type: str | None,
    style: str | None,
) -> list[LeftOut]:
    """The templates of the selected instances (of providers with ``style``, when given)
    that have errors, so are not listed; and the files whose errors leave out templates
    nobody can count (a file that does not parse). ``--filter`` cannot be applied to a
    template that did not validate: these are named whatever it says."""
    from templar.models import Severity

    state = engine.state  # the verdicts: no result object per template is built
    providers = engine.providers

    def selected(instance: str | None, type_name: str | None) -> bool:
        if provider is not None and instance not in (None, provider):
            return False
        if provider_type is not None and type_name not in (None, provider_type):
            return False
        if style is None or type_name is None:
            return True
        spec = providers.get(type_name)
        return spec is not None and spec.key_style is not None and spec.key_style.name == style

    error = Severity.ERROR
    out: list[LeftOut] = []
    listed: set[str] = set()
    for template_id, instance, issues, _ in state.verdicts:
        first = next((i for i in issues if i.severity is error), None) if issues else None
        if first is None:
            listed.add(template_id)
        elif selected(instance.name, instance.type):
            out.append(LeftOut(template_id, instance.name, first))
    named = {item.template_id for item in out}
    for issue in state.file_issues:
        if issue.severity is not error:
            continue
        name = issue.provider_instance
        type_name = next((i.type for i in state.instances if i.name == name), None)
        if not selected(name, type_name):
            continue
        if issue.template_id is None:
            out.append(LeftOut(None, name, issue))
        elif issue.template_id not in listed and issue.template_id not in named:
            named.add(issue.template_id)
            out.append(LeftOut(issue.template_id, name, issue))
    return out


def name_left_out(items: Sequence[LeftOut]) -> None:
    """Name each template (or file) left out on stderr, with its first error."""
    for item in items:
        if item.template_id is None:
            click.echo(f"left out: templates of this file: {issue_line(item.error)}", err=True)
        else:
            instance = f" ({item.instance})" if item.instance else ""
            click.echo(
                f"left out: {item.template_id}{instance}: {issue_line(item.error)}", err=True
            )


def echo_styled(
    engine: TemplateEngine,
    templates: Sequence[TemplateDTO],
    style: str,
    output_format: str,
    provider: str | None = None,
    provider_type: str | None = None,
) -> list[LeftOut]:
    """``list --style``: each template as its provider's key style exports it. A template
    left out for errors is named on stderr with its first error, and the document says
    how many were (HostFactory reads an empty list as "no capacity", not "broken")."""
    from templar.errors import did_you_mean

    ctx = click.get_current_context()
    if output_format == "table":
        if ctx.get_parameter_source("output_format") is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--style prints a document: use --format json or yaml")
        output_format = "json"
    providers = engine.providers
    styles = {spec.key_style.name for spec in providers.values() if spec.key_style is not None}
    if style not in styles:
        raise click.BadParameter(
            f"no provider has the key style '{style}'{did_you_mean(style, styles)}; "
            f"installed: {', '.join(sorted(styles)) or 'none'}",
            param_hint="'--style'",
        )
    chosen: list[tuple[Any, TemplateDTO]] = []  # (key style, template), exported below
    other_styles: dict[str, int] = {}
    instances_of: dict[str, list[str]] = {}
    key_styles: dict[str, Any] = {}  # provider type -> its key style of that name, or None
    for template in templates:
        type_name = template.provider_type
        if type_name not in key_styles:
            spec = providers.get(type_name)
            found = spec.key_style if spec is not None else None
            key_styles[type_name] = found if found is not None and found.name == style else None
        key_style = key_styles[type_name]
        if key_style is None:
            other_styles[type_name] = other_styles.get(type_name, 0) + 1
            continue
        chosen.append((key_style, template))
        instances_of.setdefault(template.template_id, []).append(template.provider_name)
    repeated = {tid: names for tid, names in instances_of.items() if len(names) > 1}
    if repeated:
        listed = "; ".join(f"{tid} ({', '.join(names)})" for tid, names in sorted(repeated.items()))
        click.echo(
            f"note: ids exported more than once, one per provider instance: {listed}; "
            "choose an instance with --provider",
            err=True,
        )
    if other_styles:
        counts = ", ".join(f"{n} {t}" for t, n in sorted(other_styles.items()))
        click.echo(
            f"note: left out templates of providers without style '{style}': {counts}", err=True
        )
    invalid = left_out(engine, provider, provider_type, style)
    name_left_out(invalid)
    tail: dict[str, Any] = {}  # what the document says after the templates
    if invalid:
        templates_left = sum(1 for item in invalid if item.template_id is not None)
        files_left = len(invalid) - templates_left
        parts = [plural(templates_left, "template")] if templates_left else []
        parts += [f"the templates of {plural(files_left, 'file')}"] if files_left else []
        tail["message"] = (
            f"{plural(len(chosen), 'template')} listed; left out for errors: "
            f"{' and '.join(parts)} (named on stderr; run 'templates validate')"
        )
        tail["left_out"] = templates_left
        if files_left:
            tail["files_left_out"] = files_left
    exported = (key_style.export_template(template) for key_style, template in chosen)
    if output_format == "json":
        echo_json_document("templates", exported, tail)
    else:
        echo_data({"templates": list(exported), **tail}, output_format)
    return invalid


def echo_json_document(key: str, items: Iterable[Any], tail: dict[str, Any]) -> None:
    """``{key: [*items], **tail}`` as :func:`templar.cli.render.echo_data` writes it in
    JSON (orjson, indented by two), byte for byte, written as the items come rather than
    built whole first."""
    import orjson

    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    out: list[bytes] = [b"{\n  " + orjson.dumps(key) + b": ["]
    size = 0
    separator = b"\n    "
    for item in items:
        # orjson never writes a newline inside a string: every one is indentation
        text = orjson.dumps(item, option=options).replace(b"\n", b"\n    ")
        out += (separator, text)
        separator = b",\n    "
        size += len(text)
        if size >= _CHUNK_BYTES:
            click.echo(b"".join(out), nl=False)
            out, size = [], 0
    out.append(b"]" if separator == b"\n    " else b"\n  ]")
    for name, value in tail.items():
        text = orjson.dumps(value, option=options).replace(b"\n", b"\n  ")
        out += (b",\n  ", orjson.dumps(name, option=options), b": ", text)
    out.append(b"\n}\n")
    click.echo(b"".join(out), nl=False)
