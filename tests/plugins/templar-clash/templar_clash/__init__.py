"""Registers a command named like a core one (refused) and one of its own (kept)."""

from __future__ import annotations

from typing import Any

import click

from templar import hookimpl


@hookimpl
def templar_register_commands(cli: Any) -> None:
    @cli.command("list")
    def list_() -> None:
        """Would replace the core's list."""
        click.echo("the clash plugin's list")

    @cli.command("clash-hello")
    def hello() -> None:
        """A command of the plugin's own."""
        click.echo("hello from templar-clash")
