"""``templates list`` and ``templates show``: the effective templates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

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
    from templar.engine import TemplateEngine
    from templar.models import TemplateDTO


@click.command("list")
@click.option("--provider", help="Only this provider instance.")
@click.option("--type", "provider_type", help="Only instances of this provider type.")
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
    "Templates of providers without that style are left out.",
)
@FORMAT
@click.pass_obj
@handles_errors
def list_command(
    obj: CliContext,
    provider: str | None,
    provider_type: str | None,
    filters: Sequence[str],
    show_all: bool,
    style: str | None,
    output_format: str,
) -> None:
    """List effective templates."""
    criteria = {}
    for item in filters:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--filter")
        criteria[field.strip()] = value
    engine = obj.engine()
    templates = engine.search_templates(
        criteria, provider=provider, provider_type=provider_type, active_only=not show_all
    )
    if style is not None:
        _echo_styled(engine, templates, style, output_format)
        return
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
        echo_table(["ID", "PROVIDER", "TYPE", "API", "NAME", "ACTIVE", "SOURCE (PRIORITY)"], rows)
        return
    echo_data([t.model_dump(mode="json") for t in templates], output_format)


def _echo_styled(
    engine: TemplateEngine, templates: Sequence[TemplateDTO], style: str, output_format: str
) -> None:
    """``list --style``: each template as its provider's key style exports it."""
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
    echo_data({"templates": exported}, output_format)


@click.command("show")
@click.argument("template_id")
@click.option("--provider", help="The provider instance, when several define the id.")
@click.option("--explain", is_flag=True, help="Show where every value comes from.")
@FORMAT
@click.pass_obj
@handles_errors
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
