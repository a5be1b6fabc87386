"""The ``templates`` group: its global options, plugin commands, and the entry point."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from templar.cli.answers import Recording, note_warning, pending_warnings
from templar.cli.commands.cache import cache_group
from templar.cli.commands.plugins import plugins_command, schema_command
from templar.cli.commands.query import list_command, show_command
from templar.cli.commands.storage import history_command, migrate_command
from templar.cli.commands.validate import validate_command
from templar.cli.commands.watch import watch_command
from templar.cli.commands.write import apply_command, delete_command, set_command
from templar.cli.context import (
    EXIT_FAILURE,
    CliContext,
    exit_on_closed_pipe,
    fail,
    show_warning,
)
from templar.cli.render import COLOR_OPTION, color_setting

#: ``ctx.meta`` key of a ``--config-dir`` given after the command (``ctx.meta`` is shared
#: by a context and its parents): shell completion, which runs no group callback and
#: so has no :class:`CliContext`, reads it there (:mod:`templar.cli.complete`).
CONFIG_DIR_AFTER_COMMAND = "templar.config_dir_after_command"


def _set_global_option(ctx: click.Context, param: click.Parameter, value: object) -> None:
    """A global option given after the command: it overrides the one before it."""
    if ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.DEFAULT:
        return
    if param.name == "config_dir" and value is not None:
        ctx.meta[CONFIG_DIR_AFTER_COMMAND] = str(value)
    obj = ctx.find_object(CliContext)
    if obj is None:  # completing: no group callback ran (see CONFIG_DIR_AFTER_COMMAND)
        return
    if param.name == "config_dir":
        obj.config_dir = str(value)
    elif param.name == "debug":
        obj.debug = bool(value)
    elif param.name == "no_cache":
        obj.use_cache = not value
    elif param.name == "color":
        ctx.color = color_setting(str(value))


def _global_options() -> list[click.Option]:
    """The group's global options, for a command to accept after its name as well."""
    common = {"expose_value": False, "callback": _set_global_option}
    return [
        click.Option(
            ["--config-dir"],
            type=click.Path(file_okay=False),
            help="Config directory (a global option: also accepted before the command).",
            **common,  # type: ignore[arg-type]
        ),
        click.Option(["--debug"], is_flag=True, help="Show tracebacks.", **common),  # type: ignore[arg-type]
        click.Option(
            ["--no-cache"],
            is_flag=True,
            help="Read every file; neither use nor update the on-disk cache.",
            **common,  # type: ignore[arg-type]
        ),
        click.Option(["--color"], **COLOR_OPTION, **common),  # type: ignore[arg-type]
    ]


def accept_global_options(command: click.Command) -> None:
    """Let ``command`` (and, for a group, its subcommands) take the global options too.

    ``templates list --config-dir DIR`` then works like ``templates --config-dir DIR
    list``, as people expect from git, docker or kubectl. An option the command
    already defines under one of those names is left alone.
    """
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for option in _global_options():
        if not taken.intersection(option.opts):
            command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


class TemplarGroup(click.Group):
    """The ``templates`` group: core commands, then those plugins add."""

    _plugins_loaded = False
    core_commands: set[str] | None = None  # the names plugins may not take, once loaded

    @property
    def core_names(self) -> set[str]:
        """The commands the core defines: names a plugin command may not take."""
        return self.core_commands if self.core_commands is not None else set(self.commands)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add ``cmd``, core or plugin, accepting the global options after its name."""
        accept_global_options(cmd)
        super().add_command(cmd, name)

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from templar.errors import PluginError
        from templar.plugin_commands import register_commands
        from templar.plugins import PluginHost

        core = self.core_commands = set(self.commands)
        try:
            register_commands(PluginHost(), self, lambda name: name in core)
        except PluginError as e:  # strict mode: a broken plugin stops even --help
            fail(type(e).__name__, e.message, e.context, False, EXIT_FAILURE)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A core command, else one a plugin registers (plugins load on first miss)."""
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI with warnings as one ``warning:`` line each, each line once.

        Set here, before any parsing, because plugin commands load (and may warn)
        while the command line is resolved. Every engine has its own plugin host, so
        one broken plugin would otherwise be reported by each. Restored on return, so
        running the CLI in-process leaves the caller's settings alone.
        """
        seen: set[str] = set()

        def once(message: Warning | str, category: type[Warning], *rest: Any, **more: Any) -> None:
            note_warning(message, category)
            if str(message) not in seen:
                seen.add(str(message))
                show_warning(message, category, *rest, **more)

        with warnings.catch_warnings():
            warnings.showwarning = once
            for message in pending_warnings():  # met while looking for a cached answer
                once(message, type(message) if isinstance(message, Warning) else UserWarning, "", 0)
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a reader that went away (``| head``) ends it quietly, exit 0."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            exit_on_closed_pipe()

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, plugins' included."""
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=TemplarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    envvar="TEMPLAR_CONFIG_DIR",
    help="Config directory (default: $TEMPLAR_CONFIG_DIR, else $ORB_CONFIG_DIR, else the "
    "current directory).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read every file; neither use nor update the on-disk cache.",
)
@click.option("--color", **COLOR_OPTION)
@click.version_option(
    version=None,
    package_name="templar-engine",
    prog_name="templates",
    message="%(prog)s %(version)s",
)
@click.pass_context
def cli(
    ctx: click.Context, config_dir: str | None, debug: bool, no_cache: bool, color: str
) -> None:
    """Discover, merge, validate and inspect provider templates.

    The options above may also follow the command: templates list --config-dir DIR.
    """
    ctx.obj = CliContext(config_dir, debug, use_cache=not no_cache)
    ctx.color = color_setting(color)


for _command in (
    list_command,
    show_command,
    validate_command,
    plugins_command,
    schema_command,
    cache_group,
    watch_command,
    history_command,
    migrate_command,
    set_command,
    apply_command,
    delete_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None, recording: Recording | None = None) -> None:
    """Run the ``templates`` command line (:func:`templar.cli.main` is the console
    script: it tries the cached answer first). With ``recording``, what the command
    prints is captured and stored as its answer when it may be (:mod:`.answers`)."""
    code: object = 0
    if recording is not None:
        recording.start()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="templates")
    except BrokenPipeError:  # output outside a command (--help | head)
        code = None
        exit_on_closed_pipe()
    except SystemExit as done:
        code = done.code if done.code is not None else 0
        # Output still buffered when the command ended may meet the closed pipe now.
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            code = None
            exit_on_closed_pipe(done.code if isinstance(done.code, int) else 0)
        raise
    finally:
        if recording is not None:
            recording.finish()
            if type(code) is int:
                recording.store(code)
