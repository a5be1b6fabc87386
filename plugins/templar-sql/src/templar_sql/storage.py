"""The ``sql`` storage backend: template layers as rows, read and written through SQLAlchemy.

One :class:`SqlStorage` per engine. Reading lists the layers and the change counter in
one query (the warm path: a cache hit costs that one round trip) and reads a layer in
one more. Writing applies one :class:`~templar.storage.LayerChange` in one transaction:
it locks the layer row, compares its version with the one the writer read (raising
:class:`~templar.errors.ConcurrencyError` when another writer got there first), writes
the template rows and one audit row per template, bumps the layer version and the
change counter, and (PostgreSQL) sends a ``NOTIFY`` that watchers receive on commit.

Every statement is built by SQLAlchemy with bound parameters: no template id, scope or
body ever becomes part of SQL text.

This class is the storage contract; the work is in the modules it delegates to:
:mod:`~templar_sql.database` (the engine, retries, the schema on first use),
:mod:`~templar_sql.layers` (layers as rows, the read queries), :mod:`~templar_sql.write`
(one write's transaction), :mod:`~templar_sql.audit` (the audit trail) and
:mod:`~templar_sql.notify` (telling watchers what changed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection
from templar.errors import StorageError
from templar.models import LayerKind, Severity, ValidationIssueDTO
from templar.storage import STORAGE_URL_VARIABLE, LayerSource, RawLayer, RawTemplate

from templar_sql.audit import AuditEntry, default_actor, read_history
from templar_sql.database import RETRY_DELAYS, Database, normalise_url
from templar_sql.layers import (
    KIND_NAMES,
    kind_scope,
    list_layers,
    location_of,
    read_fingerprint,
    read_layer,
    read_version,
)
from templar_sql.notify import NOTIFY_CHANNEL, listen, poll
from templar_sql.tables import TEMPLATES
from templar_sql.write import checked_id, encode_body, parse_version, write_layer

if TYPE_CHECKING:
    from templar.settings import EngineSettings
    from templar.storage import LayerChange

#: The environment variable that names the database, over ``storage.url``.
URL_ENVIRONMENT_VARIABLE = STORAGE_URL_VARIABLE


class SqlStorage:
    """Template layers in a SQL database (SQLite, or PostgreSQL with ``templar-sql[postgres]``).

    :param url: a SQLAlchemy URL: ``sqlite:///path.db`` (a relative path is relative to
        ``config_dir``), ``postgresql+psycopg://user@host/db`` (``postgresql://`` and
        ``postgres://`` mean the same).
    :param config_dir: where relative SQLite paths are resolved.
    :param poll_interval: seconds between two looks at the change counter when watching
        a database that has no ``LISTEN`` (SQLite).
    :param connect_timeout: seconds to wait for a PostgreSQL server to answer.
    """

    name = "sql"

    def __init__(
        self,
        url: str,
        *,
        config_dir: Path | None = None,
        poll_interval: float = 0.05,
        connect_timeout: float = 3.0,
    ) -> None:
        self.url = normalise_url(url, config_dir)
        self.poll_interval = poll_interval
        self.connect_timeout = connect_timeout
        self._database = Database(self.url, connect_timeout)
        self.dialect = self._database.dialect
        self._listed: str | None = None  # the fingerprint of the last list_sources
        self._lock = threading.Lock()
        #: (location, template id) -> the version of the write that last changed it
        self.template_versions: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"SqlStorage({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return self._database.display_url

    @classmethod
    def from_settings(cls, config_dir: Path, settings: EngineSettings) -> SqlStorage:
        """The storage factory registered for ``sql``: the URL is ``$TEMPLAR_STORAGE_URL``
        or ``storage.url`` of ``templar.yaml``."""
        options = dict(settings.storage.model_extra or {})
        url = os.environ.get(URL_ENVIRONMENT_VARIABLE) or options.pop("url", None)
        options.pop("url", None)
        if not url:
            raise StorageError(
                "storage backend 'sql' needs a database: set storage.url in templar.yaml "
                f"(for example sqlite:///templates.db) or ${URL_ENVIRONMENT_VARIABLE}",
                field="storage.url",
            )
        known = {"poll_interval", "connect_timeout"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise StorageError(
                f"unknown option storage.{unknown[0]} for backend 'sql'; "
                f"known: url, {', '.join(sorted(known))}",
                field=f"storage.{unknown[0]}",
            )
        return cls(str(url), config_dir=config_dir, **{k: float(v) for k, v in options.items()})

    @classmethod
    def from_url(cls, url: str, config_dir: Path) -> SqlStorage:
        """The backend on ``url`` exactly (``templates migrate``): neither the engine
        config nor ``$TEMPLAR_STORAGE_URL`` is consulted."""
        return cls(url, config_dir=config_dir)

    def close(self) -> None:
        """Close every pooled connection to this database (the next query opens one)."""
        self._database.close()

    # -- reading ------------------------------------------------------------------------

    def list_sources(self) -> list[LayerSource]:
        """Every layer in the database; the same query reads the change counter, so the
        :meth:`fingerprint` asked right after costs nothing more."""
        fingerprint, layers = self._database.run("list the layers", self._list)
        self._listed = fingerprint
        return [LayerSource(kind, scope, location_of(kind, scope)) for kind, scope, _ in layers]

    def fingerprint(self) -> str:
        """``<database id>:<change counter>``: one primary-key lookup (none at all right
        after :meth:`list_sources`, whose query read it)."""
        with self._lock:
            listed, self._listed = self._listed, None
        if listed is not None:
            return listed
        return self._database.run("read the change counter", read_fingerprint)

    def read(self, source: LayerSource) -> RawLayer:
        """The templates of one layer, in the order they were first written. A body that
        is not a JSON object becomes an issue, not an exception."""
        kind_name, scope = kind_scope(source)
        rows, version = self._database.run(
            f"read the {kind_name} layer", lambda conn: read_layer(conn, kind_name, scope)
        )
        layer = RawLayer(source, version=None if version is None else str(version))
        may_hold_nulls = False
        for template_id, body_text, template_version in rows:
            problem: str | None = None
            try:
                body = orjson.loads(body_text)
            except orjson.JSONDecodeError as e:
                body, problem = None, f"its body is not JSON ({e})"
            if not isinstance(body, dict):
                problem = problem or "its body is not a JSON object"
                layer.issues.append(
                    ValidationIssueDTO(
                        code="invalid-template",
                        severity=Severity.ERROR,
                        message=f"template '{template_id}' cannot be read: {problem}",
                        template_id=template_id,
                        file=source.location,
                    )
                )
                continue
            may_hold_nulls = may_hold_nulls or "null" in body_text
            provider_type = body.get("provider_type", body.get("providerType"))
            self.template_versions[(source.location, template_id)] = template_version
            layer.templates.append(
                RawTemplate(
                    template_id,
                    body,
                    (template_id,),
                    str(provider_type) if provider_type not in (None, "") else None,
                )
            )
        layer.may_hold_nulls = may_hold_nulls
        return layer

    def locate(
        self, source: LayerSource, doc_path: tuple[Any, ...], *, value: bool = False
    ) -> tuple[int, int] | None:
        """Rows have no lines: always ``None`` (provenance names the row instead)."""
        return None

    def describe(self, source: LayerSource, doc_path: tuple[Any, ...]) -> dict[str, Any] | None:
        """The row a template is in, for ``--explain``: table, layer, scope, id and the
        version of the write that last changed it (as last read)."""
        if not doc_path:
            return None
        template_id = str(doc_path[0])
        kind_name, scope = kind_scope(source)
        return {
            "table": TEMPLATES.name,
            "layer": kind_name,
            "scope": scope or None,
            "id": template_id,
            "version": self.template_versions.get((source.location, template_id)),
        }

    def watched_files(self) -> list[Path]:
        """No files: the change counter is the fingerprint."""
        return []

    def history(self, template_id: str | None = None) -> list[AuditEntry]:
        """The audit trail, oldest first: of one template id (every layer), or of all."""
        return self._database.run(
            "read the audit trail", lambda conn: read_history(conn, template_id)
        )

    # -- writing ------------------------------------------------------------------------

    def can_write(self) -> bool:
        """True: a role without write rights is reported by :meth:`write` itself."""
        return True

    def source_for(self, kind: LayerKind, scope: str | None) -> LayerSource:
        """The layer of that kind and scope (rows are created by the first write)."""
        source = LayerSource(kind, scope, location_of(kind, scope) if kind in KIND_NAMES else "")
        kind_scope(source)
        return source

    def version(self, source: LayerSource) -> str | None:
        """The layer's version (incremented by every write to it), or ``None`` if no
        write ever created it."""
        kind_name, scope = kind_scope(source)
        return self._database.run(
            "read a layer version", lambda conn: read_version(conn, kind_name, scope)
        )

    def write(self, change: LayerChange) -> str:
        """Apply ``change`` in one transaction with its audit rows; the new version.

        Puts whose body equals what is stored, and removes of ids the layer does not
        hold, change nothing: a write that changes nothing keeps the version.
        """
        kind_name, scope = kind_scope(change.source)
        puts = {checked_id(tid): encode_body(tid, body) for tid, body in change.put.items()}
        removes = {checked_id(tid) for tid in change.remove}
        both = sorted(set(puts) & removes)
        if both:
            raise StorageError(
                f"template '{both[0]}' is both saved and removed in one change",
                template_id=both[0],
            )
        expected = parse_version(change.expected_version, change.source)
        actor = change.actor or default_actor()
        source = change.source

        def transaction(conn: Connection) -> int:
            return write_layer(conn, source, kind_name, scope, expected, puts, removes, actor)

        return str(self._database.run(f"write the {kind_name} layer", transaction, write=True))

    # -- watching -----------------------------------------------------------------------

    def changes(self, stop: threading.Event) -> Iterator[set[str]]:
        """Yield the locations of layers that changed, until ``stop`` is set.

        PostgreSQL: ``LISTEN`` on :data:`~templar_sql.notify.NOTIFY_CHANNEL`, so a commit
        anywhere arrives within milliseconds. Elsewhere: the layer versions every
        ``poll_interval``. The first item is the empty set, once the watch is in place;
        so is the first item after the database came back from being unreachable.
        """
        if self.dialect == "postgresql":
            yield from listen(self._database.engine, stop)
        else:

            def layers() -> list[tuple[LayerKind, str | None, int]]:
                return self._database.run("poll the change counter", self._list)[1]

            yield from poll(layers, stop, self.poll_interval)

    # -- plumbing -----------------------------------------------------------------------

    def _list(self, conn: Connection) -> tuple[str, list[tuple[LayerKind, str | None, int]]]:
        listed = list_layers(conn, self.display_url)
        self._database.schema_ready = True  # list_layers read the schema version
        return listed


# the names this module exported before its split stay importable from it
__all__ = [
    "NOTIFY_CHANNEL",
    "RETRY_DELAYS",
    "URL_ENVIRONMENT_VARIABLE",
    "AuditEntry",
    "SqlStorage",
    "default_actor",
    "location_of",
    "normalise_url",
]
