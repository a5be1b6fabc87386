"""``templates watch``: reload on every change and print what changed."""

from __future__ import annotations

import click

from templar.cli.context import CliContext, handles_errors
from templar.cli.render import display_path, event_line, issue_line


@click.command("watch")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per change: a summary, or a JSON object (JSON lines).",
)
@click.option(
    "--debounce",
    "debounce_ms",
    type=click.IntRange(min=0),
    help="Quiet time in milliseconds before reloading (default: watch.debounce_ms, 50).",
)
@click.pass_obj
@handles_errors
def watch_command(obj: CliContext, output_format: str, debounce_ms: int | None) -> None:
    """Reload whenever a template file or templar.yaml changes; print each change.

    Runs until interrupted (Ctrl-C), then exits 0. A template whose new version is
    invalid stays in service as it last was and is listed as stale.
    """
    engine = obj.engine()
    count = len(engine.list_templates(active_only=False))
    report = engine.validate()

    def ready() -> None:
        # What is already wrong, once, so a watch started on a broken file says so.
        for issue in report.issues:
            click.echo(issue_line(issue), err=True)
        errors = len(report.errors)
        problems = f", {errors} error{'s' * (errors != 1)}" if errors else ""
        click.echo(
            f"watching {display_path(str(engine.config_dir))}: {count} templates{problems} "
            "(Ctrl-C to stop)",
            err=True,
        )

    watcher = engine.watch(debounce_ms=debounce_ms)
    watcher.on_ready = ready
    try:
        for event in watcher:
            if output_format == "json":
                click.echo(event.model_dump_json())
            else:
                click.echo(event_line(event))
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    click.echo("stopped", err=True)
