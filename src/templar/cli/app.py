"""The ``templates`` group: its global options, plugin commands, and the entry point."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

import click

from templar.cli.commands.cache import cache_group
from templar.cli.commands.plugins import plugins_command, schema_command
from templar.cli.commands.query import list_command, show_command
from templar.cli.commands.validate import validate_command
from templar.cli.commands.watch import watch_command
from templar.cli.context import EXIT_FAILURE, CliContext, fail, show_warning


class TemplarGroup(click.Group):
    """The ``templates`` group: core commands, then those plugins add."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from templar.errors import PluginError
        from templar.plugins import PluginHost, register_commands

        core = set(self.commands)
        try:
            register_commands(PluginHost(), self, lambda name: name in core)
        except PluginError as e:  # strict mode: a broken plugin stops even --help
            fail(type(e).__name__, e.message, e.context, False, EXIT_FAILURE)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A core command, else one a plugin registers (plugins load on first miss)."""
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, plugins' included."""
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=TemplarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    envvar="TEMPLAR_CONFIG_DIR",
    help="Config directory (default: $TEMPLAR_CONFIG_DIR, else the current directory).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read every file; neither use nor update the on-disk cache.",
)
@click.version_option(
    version=None,
    package_name="templar-engine",
    prog_name="templates",
    message="%(prog)s %(version)s",
)
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, debug: bool, no_cache: bool) -> None:
    """Discover, merge, validate and inspect provider templates."""
    # Warnings (a plugin that failed to load, ...) as one line each; restored when the
    # command ends, so running the CLI in-process leaves the caller's settings alone.
    ctx.with_resource(warnings.catch_warnings())
    warnings.showwarning = show_warning
    ctx.obj = CliContext(config_dir, debug, use_cache=not no_cache)


for _command in (
    list_command,
    show_command,
    validate_command,
    plugins_command,
    schema_command,
    cache_group,
    watch_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``templates`` console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="templates")
    except BrokenPipeError:
        # The reader went away (``templates list | head``): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_FAILURE)
