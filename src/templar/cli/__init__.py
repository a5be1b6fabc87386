"""The ``templates`` command line.

Only this package knows about exit codes: 0 success, 1 a failure of the command
(invalid templates, unknown template id), 2 a usage or engine-config error.

Layout: :mod:`templar.cli.app` is the group, its global options and the entry point;
:mod:`templar.cli.context` the per-command context and the error handling;
:mod:`templar.cli.options` the options several commands share (``--format``);
:mod:`templar.cli.render` tables, JSON, YAML and the one-line forms of issues and
events; :mod:`templar.cli.commands` one module per command family;
:mod:`templar.cli.answers` the whole answers of read-only commands, replayed from the
cache before anything else is imported. A new command is a module in ``commands/``
plus one ``cli.add_command`` line in ``app.py``.

The names below are imported on first use (PEP 562): ``templates list`` answered from
the cache imports neither click's command tree, pydantic, the engine nor a plugin.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from templar.cli.app import TemplarGroup, cli
    from templar.cli.context import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliContext, handles_errors

_HOMES = {
    "TemplarGroup": "templar.cli.app",
    "cli": "templar.cli.app",
    **dict.fromkeys(
        ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "CliContext", "handles_errors"],
        "templar.cli.context",
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``templates`` console script: the cached answer of a
    read-only command when there is a valid one, else the command itself."""
    from templar.cli.answers import serve

    recording = serve(argv)  # exits here on a hit
    from templar.cli.app import main as run

    run(argv, recording)


def console_main() -> None:
    """The ``templates`` console script (and ``python -m templar``): :func:`main`, in a
    process that ends with it.

    What the command built (an engine and its load, held in reference cycles) is left
    for the OS to reclaim: the interpreter's last collection would walk and free all of
    it one object at a time, 0.4 s after a 10,000-template listing was written. Exit
    handlers (atexit, weakref.finalize: temporary directories) still run; a process
    that calls :func:`main` and goes on keeps its collector as it was."""
    try:
        main()
    finally:
        gc.freeze()


def __getattr__(name: str) -> Any:
    """A public name of the CLI, imported on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'templar.cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliContext",
    "TemplarGroup",
    "cli",
    "console_main",
    "handles_errors",
    "main",
]
