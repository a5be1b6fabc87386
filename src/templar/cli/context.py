"""What every command shares: its context object, and errors turned into exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from templar.cli.answers import note_engine
from templar.cli.answers import refuse as refuse_answer

if TYPE_CHECKING:
    from templar.engine import TemplateEngine

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


class CliContext:
    """What every command gets as ``ctx.obj``; plugin commands use :meth:`engine` too."""

    def __init__(self, config_dir: str | None, debug: bool, use_cache: bool = True) -> None:
        self.config_dir = config_dir
        self.debug = debug
        self.use_cache = use_cache
        self._engine: TemplateEngine | None = None

    def engine(self) -> TemplateEngine:
        """The engine of ``--config-dir`` (created once per command)."""
        if self._engine is None:
            from templar.engine import TemplateEngine

            self._engine = TemplateEngine(self.config_dir, use_cache=self.use_cache)
            note_engine(self._engine)
        return self._engine


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the CLI: one ``warning: ...`` line on stderr."""
    from templar.cli.render import severity_label

    click.echo(f"{severity_label('warning')}: {message}", err=True)


def handles_errors(f: F) -> F:
    """Turn Templar errors into one clear line (or a JSON error object) and an exit code."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from templar.errors import (
            AmbiguousTemplateError,
            ConfigurationError,
            StorageError,
            TemplarError,
        )

        ctx = click.get_current_context()
        obj: CliContext = ctx.obj
        # The JSON error object only when JSON was asked for: a command whose output
        # is JSON by default (schema) still tells a person at a terminal in one line.
        as_json = (
            kwargs.get("output_format") == "json"
            and ctx.get_parameter_source("output_format") is not ParameterSource.DEFAULT
        )
        try:
            return f(*args, **kwargs)
        except TemplarError as e:
            if obj.debug:
                traceback.print_exc()
            code = EXIT_USAGE if isinstance(e, (ConfigurationError, StorageError)) else EXIT_FAILURE
            message = e.message
            if isinstance(e, AmbiguousTemplateError):  # the API says provider=, we --provider
                message = (
                    f"template '{e.template_id}' exists in several provider instances "
                    f"({', '.join(e.instances)}); choose one with --provider"
                )
            fail(type(e).__name__, message, e.context, as_json, code)
        except BrokenPipeError:
            exit_on_closed_pipe()
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as e:
            if obj.debug:
                raise
            fail(
                "InternalError",
                f"{type(e).__name__}: {e} (run with --debug for the traceback)",
                {},
                as_json,
                EXIT_FAILURE,
            )

    return wrapper  # type: ignore[return-value]


def fail(
    error_type: str, message: str, context: dict[str, Any], as_json: bool, code: int
) -> NoReturn:
    """End the command: one ``error:`` line on stderr, or the JSON error object on stdout."""
    refuse_answer(f"{error_type}: {message}")  # an error is shown again, with its time
    if as_json:
        payload = {
            "error": True,
            "error_type": error_type,
            "message": message,
            "context": context,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        click.echo(json.dumps(payload, default=str))
    else:
        from templar.cli.render import severity_label

        click.echo(f"{severity_label('error')}: {message}", err=True)
    sys.exit(code)


def exit_on_closed_pipe(code: int = EXIT_OK) -> NoReturn:
    """The reader of stdout went away (``templates list | head -1``): stop quietly.

    Exit 0, as git and ruff do: the reader had what it wanted. Standard output is
    pointed at the null device so that Python's own flush at exit finds no closed
    pipe and prints no "Exception ignored" message.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (click's test runner)
        pass
    sys.exit(code)
