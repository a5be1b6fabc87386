"""Options several commands share, so they are spelled and documented once.

One ``--format`` vocabulary: a command that prints data takes ``table|json|yaml``
(:data:`FORMAT`); a command that reports issues takes ``text|json|github|sarif``
(:data:`REPORT_FORMAT`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

DATA_FORMATS = ("table", "json", "yaml")
REPORT_FORMATS = ("text", "json", "github", "sarif")


def data_format(default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format table|json|yaml`` with the given default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(DATA_FORMATS),
        default=default,
        show_default=True,
        help="Output format: a table for people, JSON or YAML for programs.",
    )


FORMAT = data_format()

#: Kept for plugin commands written against the old name; the same as :data:`FORMAT`.
TABLE_OR_JSON = FORMAT


def report_format(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format text|json|github|sarif`` for commands that report validation issues."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(REPORT_FORMATS),
        default="text",
        show_default=True,
        help=help_text,
    )
