"""``templates validate``: every template checked; the exit code says whether all passed."""

from __future__ import annotations

import json
import sys

import click

from templar.cli.context import EXIT_FAILURE, EXIT_OK, CliContext, handles_errors
from templar.cli.render import issue_line


@click.command("validate")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_obj
@handles_errors
def validate_command(obj: CliContext, strict: bool, output_format: str) -> None:
    """Validate every template; exit 1 on errors (and on warnings with --strict)."""
    report = obj.engine().validate()
    errors, warns = report.errors, report.warnings
    failed = bool(errors) or (strict and bool(warns))
    if output_format == "json":
        payload = {
            "valid": not failed,
            "templates": len(report.results),
            "error_count": len(errors),
            "warning_count": len(warns),
            "issues": [i.model_dump(mode="json") for i in report.issues],
            "results": [r.model_dump(mode="json") for r in report.results],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for issue in report.issues:
            click.echo(issue_line(issue))
        valid = sum(r.is_valid for r in report.results)
        click.echo(
            f"{len(report.results)} template{'s' * (len(report.results) != 1)}, {valid} valid; "
            f"{len(errors)} error{'s' * (len(errors) != 1)}, "
            f"{len(warns)} warning{'s' * (len(warns) != 1)}",
            err=True,
        )
    sys.exit(EXIT_FAILURE if failed else EXIT_OK)
