"""``templates validate``: every template checked; the exit code says whether all passed."""

from __future__ import annotations

import json
import sys

import click

from templar.cli.annotations import github_annotation, sarif_log
from templar.cli.answers import read_only
from templar.cli.context import EXIT_FAILURE, EXIT_OK, CliContext, handles_errors
from templar.cli.options import report_format
from templar.cli.render import echo_data, issue_line


@click.command("validate")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@report_format(
    "text: file:line:column lines; json: the whole report; github: GitHub Actions "
    "annotations; sarif: a SARIF 2.1.0 log for code scanning."
)
@click.pass_obj
@handles_errors
@read_only
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
    elif output_format == "sarif":
        from templar import __version__

        echo_data(sarif_log(report.issues, __version__), "json")
    else:
        line = github_annotation if output_format == "github" else issue_line
        for issue in report.issues:
            click.echo(line(issue))
        valid = sum(r.is_valid for r in report.results)
        click.echo(
            f"{len(report.results)} template{'s' * (len(report.results) != 1)}, {valid} valid; "
            f"{len(errors)} error{'s' * (len(errors) != 1)}, "
            f"{len(warns)} warning{'s' * (len(warns) != 1)}",
            err=True,
        )
    sys.exit(EXIT_FAILURE if failed else EXIT_OK)
