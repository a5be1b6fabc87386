"""The ``templates`` command line.

Only this package knows about exit codes: 0 success, 1 a failure of the command
(invalid templates, unknown template id), 2 a usage or engine-config error.

Layout: :mod:`templar.cli.app` is the group, its global options and the entry point;
:mod:`templar.cli.context` the per-command context and the error handling;
:mod:`templar.cli.options` the options several commands share (``--format``);
:mod:`templar.cli.render` tables, JSON, YAML and the one-line forms of issues and
events; :mod:`templar.cli.commands` one module per command family. A new command is
a module in ``commands/`` plus one ``cli.add_command`` line in ``app.py``.
"""

from __future__ import annotations

from templar.cli.app import TemplarGroup, cli, main
from templar.cli.context import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliContext, handles_errors

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliContext",
    "TemplarGroup",
    "cli",
    "handles_errors",
    "main",
]
