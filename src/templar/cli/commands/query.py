"""``templates list`` and ``templates show``: the effective templates."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from templar.cli.answers import read_only
from templar.cli.commands.styled import echo_styled, left_out, name_left_out
from templar.cli.complete import provider_instances, provider_types, template_ids
from templar.cli.context import CliContext, handles_errors
from templar.cli.options import FORMAT
from templar.cli.render import (
    display_path,
    echo_data,
    echo_explanation,
    echo_table,
    echo_template_table,
)

if TYPE_CHECKING:
    from templar.models import TemplateDTO


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
        invalid = echo_styled(engine, templates, style, output_format, provider, provider_type)
    else:
        _echo_listed(templates, output_format)
        invalid = left_out(engine, provider, provider_type, None) if strict else []
        name_left_out(invalid)
    if strict and invalid:
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
