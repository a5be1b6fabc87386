"""``templates watch``: reload on every change and print what changed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from templar.cli.annotations import github_annotation, sarif_log
from templar.cli.context import CliContext, handles_errors
from templar.cli.options import report_format
from templar.cli.render import display_path, event_line, issue_line

if TYPE_CHECKING:
    from templar.models import ValidationIssueDTO


@click.command("watch")
@report_format(
    "One line per change: text, a summary; json, the change event (JSON lines); "
    "github, an annotation per new issue; sarif, a SARIF 2.1.0 log of the new issues "
    "(JSON lines). github and sarif report the issues already there first."
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

    from templar import __version__

    def report_issues(issues: Sequence[ValidationIssueDTO]) -> None:
        """github and sarif: the issues on stdout, where CI reads them."""
        if output_format == "github":
            for issue in issues:
                click.echo(github_annotation(issue))
        else:
            click.echo(json.dumps(sarif_log(issues, __version__), separators=(",", ":")))

    def ready() -> None:
        # What is already wrong, once, so a watch started on a broken file says so.
        if output_format in ("github", "sarif"):
            report_issues(report.issues)
        else:
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
            elif output_format in ("github", "sarif"):
                report_issues(event.issues)
            else:
                click.echo(event_line(event))
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    click.echo("stopped", err=True)
