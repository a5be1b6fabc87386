"""``templates list`` and ``templates show``: the effective templates."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from templar.cli.answers import read_only
from templar.cli.complete import provider_instances, provider_types, template_ids
from templar.cli.context import CliContext, handles_errors
from templar.cli.options import FORMAT
from templar.cli.render import (
    display_path,
    echo_data,
    echo_explanation,
    echo_table,
    echo_template_table,
    issue_line,
    plural,
)

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.models import TemplateDTO, ValidationIssueDTO


@click.command("list")
@click.option("--provider", help="Only this provider instance.", shell_complete=provider_instances)
@click.option(
    "--type",
    "provider_type",
    help="Only instances of this provider type.",
    shell_complete=provider_types,
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Only templates whose FIELD equals VALUE (dotted paths reach into configuration). Repeatable.",
)
@click.option("--all", "show_all", is_flag=True, help="Include inactive templates.")
@click.option(
    "--style",
    metavar="NAME",
    help='Print the document a provider\'s key style writes, {"templates": [...]}, such as '
    "HostFactory's getAvailableTemplates with 'hostfactory'; JSON unless --format yaml. "
    "Templates of providers without that style are left out; templates with errors are "
    "left out and named on stderr, and the document says how many.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a template is left out for errors (each is named on stderr).",
)
@FORMAT
@click.pass_obj
@handles_errors
@read_only
def list_command(
    obj: CliContext,
    provider: str | None,
    provider_type: str | None,
    filters: Sequence[str],
    show_all: bool,
    style: str | None,
    strict: bool,
    output_format: str,
) -> None:
    """List effective templates (valid ones; 'templates validate' says why one is not)."""
    criteria = {}
    for item in filters:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--filter")
        criteria[field.strip()] = value
    engine = obj.engine()
    templates = engine.search_templates(
        criteria,
        provider=provider,
        provider_type=provider_type,
        # --all includes inactive templates; else a filter on is_active decides, as in the API
        active_only=False if show_all else None,
    )
    if style is not None:
        left_out = _echo_styled(engine, templates, style, output_format, provider, provider_type)
    else:
        _echo_listed(templates, output_format)
        left_out = _left_out(engine, provider, provider_type, None) if strict else []
        _name_left_out(left_out)
    if strict and left_out:
        sys.exit(1)


def _echo_listed(templates: Sequence[TemplateDTO], output_format: str) -> None:
    """``list`` without ``--style``: a table, or the templates as JSON / YAML."""
    if output_format == "table":
        rows = [
            [
                t.template_id,
                t.provider_name,
                t.provider_type,
                t.provider_api or "",
                t.name or "",
                "" if t.is_active else "no",
                f"{display_path(t.source_file)} ({t.file_priority})",
            ]
            for t in templates
        ]
        headers = ["ID", "PROVIDER", "TYPE", "API", "NAME", "ACTIVE", "SOURCE (PRIORITY)"]
        echo_table(headers, rows, keep_end=[6])
        return
    echo_data([t.model_dump(mode="json") for t in templates], output_format)


class LeftOut(NamedTuple):
    """A template (or a file) ``list`` leaves out for errors, and its first error."""

    template_id: str | None
    instance: str | None
    error: ValidationIssueDTO


def _left_out(
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

    report = engine.validate()
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

    out: list[LeftOut] = []
    listed: set[str] = set()
    for result in report.results:
        if result.is_valid:
            listed.add(result.template_id)
        elif result.errors and selected(result.provider_instance, result.provider_type):
            out.append(LeftOut(result.template_id, result.provider_instance, result.errors[0]))
    named = {item.template_id for item in out}
    for issue in report.file_issues:
        if issue.severity is not Severity.ERROR:
            continue
        instance = issue.provider_instance
        type_name = next((i.type for i in engine.instances if i.name == instance), None)
        if not selected(instance, type_name):
            continue
        if issue.template_id is None:
            out.append(LeftOut(None, instance, issue))
        elif issue.template_id not in listed and issue.template_id not in named:
            named.add(issue.template_id)
            out.append(LeftOut(issue.template_id, instance, issue))
    return out


def _name_left_out(left_out: Sequence[LeftOut]) -> None:
    for item in left_out:
        if item.template_id is None:
            click.echo(f"left out: templates of this file: {issue_line(item.error)}", err=True)
        else:
            instance = f" ({item.instance})" if item.instance else ""
            click.echo(
                f"left out: {item.template_id}{instance}: {issue_line(item.error)}", err=True
            )


def _echo_styled(
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
    exported = []
    left_out: dict[str, int] = {}
    instances_of: dict[str, list[str]] = {}
    for template in templates:
        spec = providers.get(template.provider_type)
        key_style = spec.key_style if spec is not None else None
        if key_style is None or key_style.name != style:
            left_out[template.provider_type] = left_out.get(template.provider_type, 0) + 1
            continue
        exported.append(key_style.export_template(template))
        instances_of.setdefault(template.template_id, []).append(template.provider_name)
    repeated = {tid: names for tid, names in instances_of.items() if len(names) > 1}
    if repeated:
        listed = "; ".join(f"{tid} ({', '.join(names)})" for tid, names in sorted(repeated.items()))
        click.echo(
            f"note: ids exported more than once, one per provider instance: {listed}; "
            "choose an instance with --provider",
            err=True,
        )
    if left_out:
        counts = ", ".join(f"{n} {t}" for t, n in sorted(left_out.items()))
        click.echo(
            f"note: left out templates of providers without style '{style}': {counts}", err=True
        )
    invalid = _left_out(engine, provider, provider_type, style)
    _name_left_out(invalid)
    document: dict[str, Any] = {"templates": exported}
    if invalid:
        templates_left = sum(1 for item in invalid if item.template_id is not None)
        files_left = len(invalid) - templates_left
        parts = [plural(templates_left, "template")] if templates_left else []
        parts += [f"the templates of {plural(files_left, 'file')}"] if files_left else []
        document["message"] = (
            f"{plural(len(exported), 'template')} listed; left out for errors: "
            f"{' and '.join(parts)} (named on stderr; run 'templates validate')"
        )
        document["left_out"] = templates_left
        if files_left:
            document["files_left_out"] = files_left
    echo_data(document, output_format)
    return invalid


@click.command("show")
@click.argument("template_id", shell_complete=template_ids)
@click.option(
    "--provider",
    help="The provider instance, when several define the id.",
    shell_complete=provider_instances,
)
@click.option("--explain", is_flag=True, help="Show where every value comes from.")
@FORMAT
@click.pass_obj
@handles_errors
@read_only
def show_command(
    obj: CliContext, template_id: str, provider: str | None, explain: bool, output_format: str
) -> None:
    """Show one effective template."""
    from templar.errors import TemplateNotFoundError

    engine = obj.engine()
    if explain:
        explanation = engine.explain(template_id, provider)
        if output_format == "table":
            echo_explanation(explanation)
        else:
            echo_data(explanation.model_dump(mode="json"), output_format)
        return
    template = engine.get_template(template_id, provider)
    if template is None:
        known = [t.template_id for t in engine.list_templates(provider, active_only=False)]
        from templar.errors import did_you_mean

        invalid = [
            r for r in engine.validate().results if r.template_id == template_id and not r.is_valid
        ]
        why = " (it has validation errors: run 'templates validate')" if invalid else ""
        raise TemplateNotFoundError(
            f"no template '{template_id}'{did_you_mean(template_id, known)}{why}",
            template_id=template_id,
        )
    if output_format == "table":
        echo_template_table(template)
    else:
        echo_data(template.model_dump(mode="json"), output_format)
