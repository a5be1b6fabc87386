"""Plugin commands: what ``templar_register_commands`` adds to the ``templates`` command
line, each plugin's in turn, refusing names the core already uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from templar.errors import PluginError

if TYPE_CHECKING:
    from templar.plugins import PluginHost


def register_commands(host: PluginHost, cli: Any, reserved: Callable[[str], bool]) -> None:
    """Let plugins add commands to ``cli``; refuse names the core already uses.

    A refused name is a failure of the plugin that registered it (its status in
    ``templates plugins``); its other commands are kept.
    """
    guarded = _GuardedGroup(cli, reserved, host)
    # One plugin at a time, so a clash names the plugin that caused it.
    for impl in host.pm.hook.templar_register_commands.get_hookimpls():
        guarded.plugin = impl.plugin_name
        try:
            impl.function(cli=guarded)
        except PluginError:
            raise
        except Exception as e:
            host.fail(impl.plugin_name, "raised in templar_register_commands", e)


class _GuardedGroup:
    """Proxy of the CLI group handed to plugins: a clash with a core command is refused."""

    def __init__(self, group: Any, reserved: Callable[[str], bool], host: PluginHost) -> None:
        self._group = group
        self._reserved = reserved
        self._host = host
        self.plugin = "?"  # the plugin whose hook is running

    def __getattr__(self, name: str) -> Any:
        return getattr(self._group, name)

    def add_command(self, cmd: Any, name: str | None = None) -> None:
        name = name or cmd.name
        if self._reserved(name):
            self._host.fail(
                self.plugin,
                f"registers a command '{name}', which is a core command",
                outcome="command ignored",
            )
            return
        self._group.add_command(cmd, name)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        import click

        def decorator(f: Callable[..., Any]) -> Any:
            cmd = click.command(*args, **kwargs)(f)
            self.add_command(cmd)
            return cmd

        return decorator
