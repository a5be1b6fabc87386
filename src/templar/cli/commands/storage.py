"""``templates history ID`` and ``templates migrate --from A --to B``: the storage's
audit trail, and copying every layer between storages."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from templar.cli.context import EXIT_FAILURE, CliContext, handles_errors
from templar.cli.options import FORMAT
from templar.cli.render import echo_data, plural

#: From this many templates on, a migration shows a progress bar.
PROGRESS_FROM = 500


@click.command("history")
@click.argument("template_id")
@FORMAT
@click.pass_obj
@handles_errors
def history_command(obj: CliContext, template_id: str, output_format: str) -> None:
    """Every recorded change of TEMPLATE_ID, oldest first: when, who, what, versions.

    The sql storage keeps this audit trail; file storage has none (use git).
    """
    from templar.errors import StorageError, TemplarError

    storage = obj.engine().storage
    history = getattr(storage, "history", None)
    if not callable(history):
        raise StorageError(
            f"storage backend '{storage.name}' keeps no history of changes "
            "(the sql backend does; for files, use your version control)",
            field="storage.backend",
        )
    entries = history(template_id)
    if not entries:
        raise TemplarError(
            f"no change of template '{template_id}' is recorded", template_id=template_id
        )
    rows = [_entry_data(entry) for entry in entries]
    if output_format in ("json", "yaml"):
        echo_data(rows, output_format)
        return
    click.echo(f"{'WHEN (UTC)':<20} {'WHO':<24} {'ACTION':<7} {'LAYER':<20} VERSION  FIELDS")
    for row in rows:
        versions = f"{row['old_version'] or '-'} -> {row['new_version']}"
        fields = ", ".join(row["changed_fields"]) or "-"
        when = str(row["at"])[:19].replace("T", " ")
        click.echo(
            f"{when:<20} {row['actor']:<24} {row['action']:<7} {row['layer']:<20} "
            f"{versions:<8} {fields}"
        )


def _entry_data(entry: Any) -> dict[str, Any]:
    is_row = dataclasses.is_dataclass(entry) and not isinstance(entry, type)
    data = dataclasses.asdict(entry) if is_row else dict(entry)
    data["at"] = data["at"].isoformat() if hasattr(data["at"], "isoformat") else data["at"]
    return data


@click.command("migrate")
@click.option(
    "--from", "origin_spec", required=True, metavar="STORAGE", help="file:DIR or sql:URL."
)
@click.option("--to", "target_spec", required=True, metavar="STORAGE", help="file:DIR or sql:URL.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.pass_obj
@handles_errors
def migrate_command(obj: CliContext, origin_spec: str, target_spec: str, dry_run: bool) -> None:
    """Copy every template layer from one storage to another, then verify.

    Each layer keeps its kind and scope (its priority): provider, type, instance and
    shared layers of a Templar or ORB config dir become the same layers in SQL, and
    back. Running it twice changes nothing. It ends by loading both sides and checking
    that the effective templates are the same (ids and content hashes); exit 1 if not.

    \b
    templates migrate --from file:./config --to sql:sqlite:///templates.db
    templates migrate --from sql:postgresql://db/templar --to file:./config --dry-run
    """
    from templar.plugins import PluginHost
    from templar.storage.migrate import (
        apply_migration,
        compare_effective,
        open_storage,
        plan_migration,
        writable,
    )

    here = Path(obj.config_dir) if obj.config_dir else None
    host = PluginHost()
    origin = open_storage(origin_spec, host, config_dir=here)
    target = open_storage(target_spec, host, config_dir=here)
    destination = writable(target)
    plans = plan_migration(origin.storage, destination)
    total = sum(p.changes + p.unchanged for p in plans)
    for plan in plans:
        layer = plan.target.kind.label + (f" {plan.target.scope}" if plan.target.scope else "")
        click.echo(
            f"{layer:<24} {len(plan.created)} to create, {len(plan.updated)} to update, "
            f"{len(plan.removed)} to remove, {plan.unchanged} unchanged  -> {plan.target.location}"
        )
    changes = sum(p.changes for p in plans)
    if dry_run:
        click.echo(
            f"dry run: {plural(changes, 'change')} in {plural(len(plans), 'layer')}; "
            "nothing written"
        )
        return
    if total >= PROGRESS_FROM:
        bar: Any = click.progressbar(length=total, label="migrating", file=sys.stderr)
        with bar:
            apply_migration(plans, destination, progress=bar.update)
    else:
        apply_migration(plans, destination)
    click.echo(f"wrote {plural(changes, 'change')} in {plural(len(plans), 'layer')}")
    comparison = compare_effective(origin, target, config_dir=here)
    if not comparison.identical:
        for difference in comparison.differences[:20]:
            click.echo(f"  {difference}", err=True)
        click.echo(
            f"error: the effective templates differ ({len(comparison.differences)} "
            f"difference{'s' if len(comparison.differences) > 1 else ''})",
            err=True,
        )
        raise SystemExit(EXIT_FAILURE)
    click.echo(
        f"verified: {plural(comparison.origin_count, 'effective template')} identical on both "
        "sides (ids and content hashes)"
    )
