"""``templates set``, ``templates apply`` and ``templates delete``: writing templates.

Every write keeps the comments and layout of the files it touches, lands in the layer
holding the value it changes (or ``--layer``), and is refused, with the issues and
no file touched, when the merged template would not be valid (see :mod:`templar.write`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from templar.cli.context import CliContext, handles_errors
from templar.cli.render import display_path

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.write import WriteResult

LAYER = click.option(
    "--layer",
    type=click.Choice(["instance", "type", "provider", "shared"]),
    help="Write to this layer instead of the one holding the value (a new template: provider).",
)
PROVIDER = click.option("--provider", help="The provider instance the template belongs to.")


def parse_scalar(text: str) -> Any:
    """A command-line value read as a YAML scalar: ``20`` a number, ``true`` a boolean,
    quotes make a string, nothing at all is null (unset)."""
    from templar.reader import parse_document

    if text.strip() == "":
        return None
    return parse_document(Path("value.yaml"), text.encode())


@click.command("set")
@click.argument("template_id")
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@LAYER
@PROVIDER
@click.pass_obj
@handles_errors
def set_command(
    obj: CliContext,
    template_id: str,
    assignments: Sequence[str],
    layer: str | None,
    provider: str | None,
) -> None:
    """Set fields of one template, e.g. ``configuration.max_number=20``.

    VALUE is read as a YAML scalar (20 is a number, true a boolean, quotes make a
    string, nothing unsets); a dotted FIELD reaches into mappings. Comments and layout
    of the file stay as they were."""
    values: dict[str, Any] = {}
    for item in assignments:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="FIELD=VALUE")
        values[field.strip()] = parse_scalar(value)
    result = obj.engine().set_fields(template_id, values, layer=layer, provider=provider)
    for field, value in values.items():
        shown = "unset" if value is None else f"= {json.dumps(value)}"
        click.echo(f"{template_id}: {field} {shown}")
    _echo_written(result)


@click.command("delete")
@click.argument("template_id")
@LAYER
@click.option("--all-layers", is_flag=True, help="Remove the template from every layer.")
@PROVIDER
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@handles_errors
def delete_command(
    obj: CliContext,
    template_id: str,
    layer: str | None,
    all_layers: bool,
    provider: str | None,
    yes: bool,
) -> None:
    """Remove a template from one layer (the highest holding it), or --all-layers.

    When lower layers still hold the template, it falls back to them: the command
    says so."""
    if not yes and not click.confirm(f"delete template '{template_id}'?"):
        click.echo("nothing deleted")
        raise SystemExit(1)
    result = obj.engine().delete_template(
        template_id, provider=provider, layer=layer, all_layers=all_layers
    )
    for location in result.written:
        click.echo(f"removed '{template_id}' from {display_path(location)}")
    for location in result.still_in:
        click.echo(
            f"note: {display_path(location)} still holds '{template_id}'; the template falls "
            "back to it (use --all-layers to remove it everywhere)"
        )


@click.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@LAYER
@PROVIDER
@click.option("--yes", is_flag=True, help="Write without showing the diff and asking.")
@click.pass_obj
@handles_errors
def apply_command(
    obj: CliContext, file: Path, layer: str | None, provider: str | None, yes: bool
) -> None:
    """Create or update every template in FILE (any of the three file shapes), shown
    as a diff first unless --yes."""
    engine = obj.engine()
    planned = _planned(engine, file, provider)
    if not planned:
        click.echo(f"{display_path(str(file))} holds no templates")
        return
    if not yes:
        for template_id, instance, current, new in planned:
            _echo_diff(template_id, instance, current, new)
        if not click.confirm(f"apply {len(planned)} template(s)?"):
            click.echo("nothing written")
            raise SystemExit(1)
    for template_id, instance, _current, new in planned:
        result = engine.save_template(new, layer=layer, provider=instance)
        verb = "created" if result.created else ("updated" if result.written else "unchanged")
        click.echo(f"{template_id}: {verb}")
        _echo_written(result)


def _planned(
    engine: TemplateEngine, file: Path, provider: str | None
) -> list[tuple[str, str, dict[str, Any] | None, dict[str, Any]]]:
    """(id, instance, current canonical body or None, new canonical body) per template."""
    from templar.errors import TemplarError
    from templar.merge import LayerRef, normalize
    from templar.models import LayerKind
    from templar.reader import read_document
    from templar.storage import LayerSource
    from templar.storage.documents import templates_from_document

    source = LayerSource(LayerKind.PROVIDER, None, str(file))
    layer = templates_from_document(read_document(file), source, lambda _p: None)
    errors = [i for i in layer.issues if i.severity.value == "error"]
    if errors:
        raise TemplarError(f"{file}: {errors[0].message}", file=str(file))
    instances = engine.instances
    out = []
    for raw in layer.templates:
        named = provider or raw.body.get("provider_name") or raw.body.get("providerName")
        kind = raw.provider_type
        candidates = [i for i in instances if i.name == named] or [
            i
            for i in instances
            if (kind is None or i.type == kind)
            and engine.state.templates.get(i.name, {}).get(raw.template_id) is not None
        ]
        if not candidates and kind is not None:
            candidates = [i for i in instances if i.type == kind]
        if not candidates and len(instances) == 1:
            candidates = instances
        if len(candidates) != 1:
            raise TemplarError(
                f"{file}: say which provider instance template '{raw.template_id}' is for "
                "(--provider)",
                template_id=raw.template_id,
            )
        instance = candidates[0]
        spec = engine.providers[instance.type]
        new = normalize(dict(raw.body), spec, LayerRef(LayerKind.PROVIDER)).body
        new["template_id"] = raw.template_id
        current = engine.get_template(raw.template_id, provider=instance.name)
        dumped = None
        if current is not None:
            dumped = current.model_dump(
                mode="json", exclude_none=True, exclude={"source_file", "file_priority"}
            )
        out.append((raw.template_id, instance.name, dumped, new))
    return out


def _echo_diff(
    template_id: str, instance: str, current: dict[str, Any] | None, new: dict[str, Any]
) -> None:
    before = json.dumps(current, indent=2, sort_keys=True).splitlines() if current else []
    from templar.merge import deep_merge

    after = json.dumps(deep_merge(current or {}, new), indent=2, sort_keys=True).splitlines()
    label = f"{template_id} ({instance})"
    lines = list(
        difflib.unified_diff(before, after, f"{label} now", f"{label} applied", lineterm="")
    )
    click.echo("\n".join(lines) if lines else f"{label}: no change")


def _echo_written(result: WriteResult) -> None:
    for location in result.written:
        click.echo(f"  wrote {display_path(location)}")
