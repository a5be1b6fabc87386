"""Every exception Templar raises on purpose.

Bad template *content* is never an exception: it becomes a validation issue in the
report returned by :meth:`templar.TemplateEngine.validate`. Exceptions are for what
stops the engine from working at all: a broken engine config, a storage that cannot
be reached, a plugin that cannot load in strict mode. Only the CLI turns them into
exit codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class TemplarError(Exception):
    """Base class of every error Templar raises on purpose.

    ``context`` carries machine-readable detail (file, line, field, ...) that the CLI
    prints with ``--format json``.
    """

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class ConfigurationError(TemplarError):
    """The engine configuration is unusable.

    Raised by :func:`templar.settings.load_settings` for a ``templar.yaml`` that does
    not parse or does not validate, and by the engine for a missing config directory.
    """


class TemplateParseError(TemplarError):
    """A file could not be read as YAML or JSON.

    Raised by :mod:`templar.reader`; the engine catches it and reports it as an issue
    (``code``: ``parse-error``, ``encoding-error``, ``unsafe-tag``, ...) so that every
    other file still loads. ``reason`` is the message without the location prefix.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        code: str = "parse-error",
    ) -> None:
        where = str(file) if file else "<input>"
        if line is not None:
            where += f":{line}:{column or 1}"
        super().__init__(
            f"{where}: {reason}", file=str(file) if file else None, line=line, column=column
        )
        self.reason = reason
        self.file = str(file) if file else None
        self.line = line
        self.column = column
        self.code = code


class StorageError(TemplarError):
    """A storage backend cannot list or read its layers (unknown backend, unreachable database)."""


class PluginError(TemplarError):
    """A plugin failed to load or misbehaved while ``TEMPLAR_STRICT_PLUGINS=1`` is set,
    or two plugins registered the same provider type or storage backend."""


class ConcurrencyError(TemplarError):
    """A write lost a race with another writer (raised by storage backends that write)."""


class TemplateNotFoundError(TemplarError):
    """:meth:`templar.TemplateEngine.get_template` or ``explain`` was asked for an id that no layer defines."""


class AmbiguousTemplateError(TemplarError):
    """An id that several provider instances define was asked for without ``provider``.

    Raised by :meth:`templar.TemplateEngine.get_template` and ``explain``; the message
    names the instances, which are also in ``instances`` (and ``context``). Pass
    ``provider=`` to choose one.
    """

    def __init__(self, template_id: str, instances: Sequence[str]) -> None:
        super().__init__(
            f"template '{template_id}' exists in several provider instances "
            f"({', '.join(instances)}); pass provider= to choose one",
            template_id=template_id,
            instances=list(instances),
        )
        self.template_id = template_id
        self.instances = list(instances)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class TemplarPluginWarning(UserWarning):
    """A plugin failed to import, raised in a hook, or lost a name clash, and was skipped.

    Warned by :class:`templar.plugins.PluginHost`; ``TEMPLAR_STRICT_PLUGINS=1`` turns
    it into a :class:`PluginError`.
    """


class TemplarCacheWarning(UserWarning):
    """The on-disk cache could not be used as it is, and Templar went on without it.

    Warned by :mod:`templar.cache` when an entry is corrupt, truncated or foreign
    (it is dropped and the templates are loaded from their files), when the cache
    database cannot be opened, or when the cache directory is unsafe (owned or
    writable by another user) and is therefore not used. Never fatal: a command
    still gives the right answer, only slower.
    """


class TemplarStaleWarning(UserWarning):
    """The storage could not be reached, and the last load cached for this config was
    served instead: it may be out of date.

    Warned by :class:`templar.session.EngineSession` when reading the storage fails with
    a :class:`StorageError` (a database that is down or unreachable) and the on-disk
    cache holds an earlier load. Writes are not served from the cache: they fail.
    """


class TemplarWatchWarning(UserWarning):
    """Hot reload met something it could not apply, and kept watching.

    Warned by :mod:`templar.watch` when an ``on_change`` callback raises or a change
    cannot be loaded at all; the last good templates stay in service.
    """


def unknown_provider_type(name: str, installed: Iterable[str]) -> str:
    """The message for a provider type no plugin registers, with a did-you-mean."""
    known = sorted(installed)
    return (
        f"unknown provider type '{name}'{did_you_mean(name, known)}; installed: {', '.join(known)}"
    )
