"""``templates plugins`` and ``templates schema``: what the installed plugins provide."""

from __future__ import annotations

import json

import click

from templar.cli.complete import provider_types
from templar.cli.context import CliContext, handles_errors
from templar.cli.options import FORMAT, data_format
from templar.cli.render import echo_data, echo_table, schema_rows


@click.command("plugins")
@FORMAT
@click.pass_obj
@handles_errors
def plugins_command(obj: CliContext, output_format: str) -> None:
    """List loaded plugins: name, version, hooks, load time and failures; then the
    provider types and storage backends they register, with their descriptions."""
    from templar.models import printable
    from templar.plugin_commands import register_commands
    from templar.plugins import PluginHost

    host = PluginHost()
    # Plugin commands are registered on a scratch group, so that a command clash is
    # shown as the status of the plugin that caused it.
    root = click.get_current_context().find_root().command
    core: set[str] = getattr(root, "core_names", set())
    register_commands(host, click.Group(), lambda name: name in core)
    infos = host.plugin_infos()
    # what each plugin registered, with the one line its spec says about it
    registered: list[tuple[str, str, str, str]] = [
        *(("provider", n, e.plugin, e.spec.description) for n, e in host.providers.items()),
        *(("storage", n, e.plugin, e.spec.description) for n, e in host.storages.items()),
    ]
    provides: dict[str, list[dict[str, str]]] = {}
    for kind, name, plugin, description in registered:
        entry = {"kind": kind, "name": name, "description": description}
        provides.setdefault(plugin, []).append(entry)
    if output_format in ("json", "yaml"):
        data = [{**i.model_dump(mode="json"), "provides": provides.get(i.name, [])} for i in infos]
        if output_format == "json":
            click.echo(json.dumps(data, indent=2))
        else:
            echo_data(data, "yaml")
        return
    rows = [
        [
            i.name + (" (builtin)" if i.builtin else ""),
            i.version or "",
            ", ".join(i.registered),
            ", ".join(h.removeprefix("templar_") for h in i.hooks),
            f"{i.load_time_ms:.1f} ms",
            i.error or "ok",
        ]
        for i in infos
    ]
    echo_table(["PLUGIN", "VERSION", "REGISTERS", "HOOKS", "LOAD", "STATUS"], rows)
    listed = [
        [printable(p["name"]), p["kind"], printable(plugin), printable(p["description"])]
        for i in infos
        for plugin in [i.name]
        for p in provides.get(plugin, [])
    ]
    if listed:
        click.echo()
        echo_table(["NAME", "KIND", "PLUGIN", "DESCRIPTION"], listed)


@click.command("schema")
@click.option(
    "--type",
    "provider_type",
    default="generic",
    show_default=True,
    help="Provider type (templates plugins lists them, with what each is).",
    shell_complete=provider_types,
)
@click.option(
    "--effective",
    is_flag=True,
    help="Schema of one effective template as the engine hands it out (list --format "
    "json), instead of a layer file as written.",
)
@data_format(default="json")
@click.pass_obj
@handles_errors
def schema_command(
    obj: CliContext, provider_type: str, effective: bool, output_format: str
) -> None:
    """Print the JSON Schema of a provider type's templates.

    By default, the schema of a layer file as people write it (awsprov_templates.yaml
    and friends: the three file shapes, flat keys in the provider's spelling), for
    editor completion and checking; with --effective, of one effective template.
    --format table lists the fields of one template: name, type, default, description.
    """
    from templar.errors import TemplarError, unknown_provider_type
    from templar.plugins import PluginHost
    from templar.schema import layer_file_schema, template_schema

    providers = PluginHost().providers
    entry = providers.get(provider_type)
    if entry is None:
        raise TemplarError(
            unknown_provider_type(provider_type, providers),
            provider_type=provider_type,
        )
    schema = template_schema(entry.spec) if effective else layer_file_schema(entry.spec)
    if output_format == "table":
        echo_table(["FIELD", "TYPE", "DEFAULT", "DESCRIPTION"], schema_rows(schema), empty="")
    elif output_format == "yaml":
        echo_data(schema, "yaml")
    else:
        click.echo(json.dumps(schema, indent=2))
