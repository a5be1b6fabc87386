"""What identifies an invocation of ``templates``, besides the files it reads: the
arguments, the config directory they resolve to, the environment and the terminal.

:mod:`templar.cli.answers` keys a cached answer on :func:`invocation_key_material`;
this module imports nothing of Templar, so a cached answer is found before anything
heavy is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

#: environment variables read by Templar, its plugins, click and the terminal code:
#: every one whose name starts so, and the names below, are part of an answer's key
ENVIRONMENT_PREFIXES = ("TEMPLAR_", "ORB_")
ENVIRONMENT_NAMES = (
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "LINES",
    "TERM",
    "HOME",
    "XDG_CACHE_HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "PYTHONPATH",
)

_GLOBAL_OPTIONS_WITH_VALUES = frozenset({"--config-dir", "--color"})


def invocation_key_material(args: Sequence[str]) -> dict[str, Any]:
    """Everything about this invocation, besides files, that can change its output."""
    import shutil

    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(ENVIRONMENT_PREFIXES) or name in ENVIRONMENT_NAMES
    }
    streams = (sys.stdin, sys.stdout, sys.stderr)
    return {
        "argv": list(args),
        "cwd": os.getcwd(),
        "env": env,
        "tty": [_isatty(stream) for stream in streams],
        "terminal": list(shutil.get_terminal_size()),
        "encoding": [
            [getattr(s, "encoding", None), getattr(s, "errors", None)] for s in streams[1:]
        ],
        # -W / PYTHONWARNINGS and -X options can turn a warning into an error
        "python": [
            sys.executable,
            sys.version,
            repr(sys.flags),
            sys.warnoptions,
            sorted(map(str, sys._xoptions.items())),
            sys.path,
        ],
    }


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def config_dir_of(args: Sequence[str]) -> str | None:
    """The resolved config directory the arguments name (``--config-dir``, given before
    or after the command, else ``$TEMPLAR_CONFIG_DIR``, ``$ORB_CONFIG_DIR``, ``.``);
    ``None`` when it is not a directory (the command will say so)."""
    chosen: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config-dir" and index + 1 < len(args):
            chosen = args[index + 1]
        elif arg.startswith("--config-dir="):
            chosen = arg.partition("=")[2]
    if chosen is None:
        chosen = os.environ.get("TEMPLAR_CONFIG_DIR") or os.environ.get("ORB_CONFIG_DIR") or "."
    path = os.path.realpath(os.path.expanduser(chosen))
    return path if os.path.isdir(path) else None


def command_of(args: Sequence[str]) -> str | None:
    """The command the arguments name: the first word that is neither a global option
    nor the value of one (``--config-dir DIR``, ``--color WHEN``)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUES:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None
