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
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import SQLModel
from templar.errors import ConcurrencyError, StorageError, TemplarError
from templar.models import LayerKind, Severity, ValidationIssueDTO
from templar.storage import STORAGE_URL_VARIABLE, LayerSource, RawLayer, RawTemplate

from templar_sql.tables import (
    APPEND_ONLY_AUDIT,
    SCHEMA_VERSION,
    AuditRecord,
    LayerRecord,
    StateRecord,
    TemplateRecord,
)

if TYPE_CHECKING:
    from templar.settings import EngineSettings
    from templar.storage import LayerChange

T = TypeVar("T")

#: The environment variable that names the database, over ``storage.url``.
URL_ENVIRONMENT_VARIABLE = STORAGE_URL_VARIABLE
#: The PostgreSQL channel every write notifies, with the layer's location as payload.
NOTIFY_CHANNEL = "templar_changes"
#: Key of the advisory lock that serialises schema creation between processes.
_SCHEMA_LOCK_KEY = 0x7E3A_5C11
#: Delays between attempts of an operation that failed for a transient reason.
RETRY_DELAYS = (0.05, 0.15, 0.4)

_KIND_NAMES = {
    LayerKind.INSTANCE: "instance",
    LayerKind.TYPE: "type",
    LayerKind.PROVIDER: "provider",
    LayerKind.SHARED: "shared",
}
_KINDS_BY_NAME = {name: kind for kind, name in _KIND_NAMES.items()}

_state = cast(Table, StateRecord.__table__)  # type: ignore[attr-defined]
_layers = cast(Table, LayerRecord.__table__)  # type: ignore[attr-defined]
_templates = cast(Table, TemplateRecord.__table__)  # type: ignore[attr-defined]
_audit = cast(Table, AuditRecord.__table__)  # type: ignore[attr-defined]


def location_of(kind: LayerKind, scope: str | None) -> str:
    """The location string of a SQL layer: ``sql:templates/<layer>[/<scope>]``.

    It names the table and the layer; provenance adds the template id and version.
    """
    name = _KIND_NAMES[kind]
    return f"sql:{_templates.name}/{name}" + (f"/{scope}" if scope else "")


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail (:meth:`SqlStorage.history`)."""

    at: datetime
    actor: str
    action: str
    layer: str
    template_id: str
    old_version: int | None
    new_version: int
    changed_fields: list[str]
    old_body: dict[str, Any] | None
    new_body: dict[str, Any] | None


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
        self._engine = _shared_engine(self.url, connect_timeout)
        self.dialect = self._engine.dialect.name
        self._schema_ready = False
        self._listed: str | None = None  # the fingerprint of the last list_sources
        self._lock = threading.Lock()
        #: (location, template id) -> the version of the write that last changed it
        self.template_versions: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"SqlStorage({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return unquote(make_url(self.url).render_as_string(hide_password=True))

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
        self._engine.dispose()

    # -- reading ------------------------------------------------------------------------

    def list_sources(self) -> list[LayerSource]:
        """Every layer in the database; the same query reads the change counter, so the
        :meth:`fingerprint` asked right after costs nothing more."""
        fingerprint, layers = self._run("list the layers", self._list)
        self._listed = fingerprint
        return [LayerSource(kind, scope, location_of(kind, scope)) for kind, scope, _ in layers]

    def fingerprint(self) -> str:
        """``<database id>:<change counter>``: one primary-key lookup (none at all right
        after :meth:`list_sources`, whose query read it)."""
        with self._lock:
            listed, self._listed = self._listed, None
        if listed is not None:
            return listed
        return self._run("read the change counter", self._fingerprint)

    def read(self, source: LayerSource) -> RawLayer:
        """The templates of one layer, in the order they were first written. A body that
        is not a JSON object becomes an issue, not an exception."""
        kind_name, scope = _kind_scope(source)
        rows, version = self._run(
            f"read the {kind_name} layer", lambda conn: _read_layer(conn, kind_name, scope)
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
        kind_name, scope = _kind_scope(source)
        return {
            "table": _templates.name,
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

        def query(conn: Connection) -> list[AuditEntry]:
            statement = select(_audit).order_by(_audit.c.id)
            if template_id is not None:
                statement = statement.where(_audit.c.template_id == template_id)
            return [_audit_entry(dict(row._mapping)) for row in conn.execute(statement)]

        return self._run("read the audit trail", query)

    # -- writing ------------------------------------------------------------------------

    def can_write(self) -> bool:
        """True: a role without write rights is reported by :meth:`write` itself."""
        return True

    def source_for(self, kind: LayerKind, scope: str | None) -> LayerSource:
        """The layer of that kind and scope (rows are created by the first write)."""
        source = LayerSource(kind, scope, location_of(kind, scope) if kind in _KIND_NAMES else "")
        _kind_scope(source)
        return source

    def version(self, source: LayerSource) -> str | None:
        """The layer's version (incremented by every write to it), or ``None`` if no
        write ever created it."""
        kind_name, scope = _kind_scope(source)

        def query(conn: Connection) -> str | None:
            found = conn.execute(
                select(_layers.c.version).where(
                    _layers.c.kind == kind_name, _layers.c.scope == scope
                )
            ).scalar()
            return None if found is None else str(found)

        return self._run("read a layer version", query)

    def write(self, change: LayerChange) -> str:
        """Apply ``change`` in one transaction with its audit rows; the new version.

        Puts whose body equals what is stored, and removes of ids the layer does not
        hold, change nothing: a write that changes nothing keeps the version.
        """
        kind_name, scope = _kind_scope(change.source)
        puts = {_checked_id(tid): _encode(tid, body) for tid, body in change.put.items()}
        removes = {_checked_id(tid) for tid in change.remove}
        both = sorted(set(puts) & removes)
        if both:
            raise StorageError(
                f"template '{both[0]}' is both saved and removed in one change",
                template_id=both[0],
            )
        expected = _parse_version(change.expected_version, change.source)
        actor = change.actor or default_actor()
        source = change.source

        def transaction(conn: Connection) -> int:
            return self._write(conn, source, kind_name, scope, expected, puts, removes, actor)

        return str(self._run(f"write the {kind_name} layer", transaction, write=True))

    def _write(
        self,
        conn: Connection,
        source: LayerSource,
        kind_name: str,
        scope: str,
        expected: int,
        puts: dict[str, str],
        removes: set[str],
        actor: str,
    ) -> int:
        now = datetime.now(UTC)
        layer_id, current = _lock_layer(conn, kind_name, scope)
        if current != expected:
            names = sorted(set(puts) | removes)
            what = ", ".join(f"'{n}'" for n in names[:5]) + (" ..." if len(names) > 5 else "")
            raise ConcurrencyError(
                f"template {what} in {source.location}: the layer is at version {current}, "
                f"not {expected or 'absent'} as read; another writer changed it. "
                "Load again and retry.",
                template_id=names[0] if names else None,
                layer=source.location,
                expected_version=str(expected) if expected else None,
                actual_version=str(current) if current else None,
            )
        ids = sorted(set(puts) | removes)
        existing: dict[str, tuple[int, int, str]] = {}
        if layer_id is not None and ids:
            statement = select(
                _templates.c.template_id, _templates.c.id, _templates.c.version, _templates.c.body
            ).where(
                _templates.c.layer_id == layer_id,
                _templates.c.template_id.in_(bindparam("ids", expanding=True)),
            )
            for tid, row_id, version, body in conn.execute(statement, {"ids": ids}):
                existing[tid] = (row_id, version, body)
        new_version = current + 1
        inserts, updates, deletes, audits = [], [], [], []
        for tid, body_text in puts.items():
            old = existing.get(tid)
            if old is not None and old[2] == body_text:
                continue
            audits.append(
                {
                    "at": now,
                    "actor": actor,
                    "action": "create" if old is None else "update",
                    "layer_kind": kind_name,
                    "layer_scope": scope,
                    "template_id": tid,
                    "old_version": None if old is None else old[1],
                    "new_version": new_version,
                    "changed_fields": _changed_fields(old[2] if old else None, body_text),
                    "old_body": old[2] if old else None,
                    "new_body": body_text,
                }
            )
            if old is None:
                inserts.append({"template_id": tid, "body": body_text})
            else:
                updates.append({"row_id": old[0], "body": body_text})
        for tid in sorted(removes):
            old = existing.get(tid)
            if old is None:
                continue
            deletes.append(old[0])
            audits.append(
                {
                    "at": now,
                    "actor": actor,
                    "action": "delete",
                    "layer_kind": kind_name,
                    "layer_scope": scope,
                    "template_id": tid,
                    "old_version": old[1],
                    "new_version": new_version,
                    "changed_fields": _changed_fields(old[2], None),
                    "old_body": old[2],
                    "new_body": None,
                }
            )
        if not audits:
            return current
        if layer_id is None:
            layer_id = _create_layer(conn, kind_name, scope, now)
        if inserts:
            conn.execute(
                insert(_templates),
                [
                    {
                        "layer_id": layer_id,
                        "template_id": row["template_id"],
                        "body": row["body"],
                        "version": new_version,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for row in inserts
                ],
            )
        if updates:
            conn.execute(
                update(_templates)
                .where(_templates.c.id == bindparam("row_id"))
                .values(body=bindparam("body"), version=new_version, updated_at=now),
                updates,
            )
        if deletes:
            conn.execute(
                delete(_templates).where(_templates.c.id.in_(bindparam("ids", expanding=True))),
                {"ids": deletes},
            )
        conn.execute(insert(_audit), audits)
        conn.execute(
            update(_layers)
            .where(_layers.c.id == layer_id)
            .values(version=new_version, updated_at=now)
        )
        conn.execute(
            update(_state)
            .where(_state.c.id == 1)
            .values(change_counter=_state.c.change_counter + 1)
        )
        if self.dialect == "postgresql":
            conn.execute(
                select(func.pg_notify(NOTIFY_CHANNEL, bindparam("where"))),
                {"where": source.location},
            )
        return new_version

    # -- watching -----------------------------------------------------------------------

    def changes(self, stop: threading.Event) -> Iterator[set[str]]:
        """Yield the locations of layers that changed, until ``stop`` is set.

        PostgreSQL: ``LISTEN`` on :data:`NOTIFY_CHANNEL`, so a commit anywhere arrives
        within milliseconds. Elsewhere: the layer versions every ``poll_interval``.
        The first item is the empty set, once the watch is in place; so is the first
        item after the database came back from being unreachable.
        """
        if self.dialect == "postgresql":
            yield from self._listen(stop)
        else:
            yield from self._poll(stop)

    def _poll(self, stop: threading.Event) -> Iterator[set[str]]:
        seen: dict[str, int] | None = None
        while not stop.is_set():
            try:
                _, layers = self._run("poll the change counter", self._list)
            except StorageError:
                seen = None  # unreachable: say "everything" once it is back
                stop.wait(max(self.poll_interval, RETRY_DELAYS[-1]))
                continue
            now = {location_of(kind, scope): version for kind, scope, version in layers}
            if seen is None:
                yield set()
            elif now != seen:
                yield {loc for loc in now.keys() | seen.keys() if now.get(loc) != seen.get(loc)}
            seen = now
            stop.wait(self.poll_interval)

    def _listen(self, stop: threading.Event) -> Iterator[set[str]]:
        import psycopg

        args, params = self._engine.dialect.create_connect_args(self._engine.url)
        while not stop.is_set():
            try:
                connection = psycopg.connect(*args, **params, autocommit=True)
            except psycopg.OperationalError:
                stop.wait(RETRY_DELAYS[-1])
                continue
            try:
                with connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    yield set()  # listening: whatever happened before is read again
                    while not stop.is_set():
                        changed = set()
                        # Wait a little for the first, then take what else is already there.
                        for notice in connection.notifies(timeout=0.1, stop_after=1):
                            changed.add(notice.payload)
                        if changed:
                            for notice in connection.notifies(timeout=0.0):
                                changed.add(notice.payload)
                            yield changed
            except psycopg.OperationalError:
                stop.wait(RETRY_DELAYS[0])  # the server went away: reconnect, then reread

    # -- plumbing -----------------------------------------------------------------------

    def _run(self, what: str, operation: Callable[[Connection], T], *, write: bool = False) -> T:
        """``operation`` on a connection (in a transaction when ``write``), retried with
        a bounded backoff when the database is unreachable or busy; creates the schema
        the first time a table is missing."""
        attempts = iter(RETRY_DELAYS)
        while True:
            try:
                with self._engine.connect() as conn:
                    if write:
                        return self._in_transaction(conn, what, operation)
                    return operation(conn)
            except TemplarError:
                raise
            except DBAPIError as e:
                if not self._schema_ready and _is_missing_table(e):
                    self._ensure_schema()
                    continue
                delay = next(attempts, None) if _is_transient(e) else None
                if delay is None:
                    raise StorageError(
                        f"{self.display_url}: could not {what}: {_reason(e)}",
                        url=self.display_url,
                    ) from e
                time.sleep(delay)

    def _in_transaction(
        self, conn: Connection, what: str, operation: Callable[[Connection], T]
    ) -> T:
        """``operation`` in a write transaction. A failure before the commit rolls back
        (and may be retried); a failure of the commit itself may or may not have applied
        the write, so it is never retried: it is reported as such."""
        conn = conn.execution_options(templar_write=True)
        transaction = conn.begin()
        try:
            result = operation(conn)
        except BaseException:
            with contextlib.suppress(DBAPIError):
                transaction.rollback()
            raise
        try:
            transaction.commit()
        except DBAPIError as e:
            raise StorageError(
                f"{self.display_url}: could not {what}: the connection broke while committing, "
                "so the write may or may not have been applied; look at the template's "
                f"history before trying again ({_reason(e)})",
                url=self.display_url,
            ) from e
        return result

    def _ensure_schema(self) -> None:
        """Create the tables, triggers and state row if they are missing (once per
        database, serialised between processes)."""
        with self._engine.connect() as conn:
            conn = conn.execution_options(templar_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                tables = [_state, _layers, _templates, _audit]
                SQLModel.metadata.create_all(conn, tables=tables)
                for statement in APPEND_ONLY_AUDIT.get(self.dialect, []):
                    conn.exec_driver_sql(statement)
                row = conn.execute(select(_state.c.schema_version).where(_state.c.id == 1)).first()
                if row is None:
                    conn.execute(
                        insert(_state).values(
                            id=1,
                            schema_version=SCHEMA_VERSION,
                            change_counter=0,
                            database_id=uuid.uuid4().hex,
                            created_at=datetime.now(UTC),
                        )
                    )
                else:
                    _check_schema_version(row[0], self.display_url)
        self._schema_ready = True

    def _list(self, conn: Connection) -> tuple[str, list[tuple[LayerKind, str | None, int]]]:
        statement = (
            select(
                _state.c.schema_version,
                _state.c.database_id,
                _state.c.change_counter,
                _layers.c.kind,
                _layers.c.scope,
                _layers.c.version,
            )
            .select_from(_state.outerjoin(_layers, true()))
            .where(_state.c.id == 1)
        )
        rows = conn.execute(statement).all()
        if not rows:
            raise _MissingState
        _check_schema_version(rows[0][0], self.display_url)
        self._schema_ready = True
        layers = []
        for _, _, _, kind, scope, version in rows:
            if kind is None:
                continue
            if kind in _KINDS_BY_NAME:
                layers.append((_KINDS_BY_NAME[kind], scope or None, int(version)))
        return f"{rows[0][1]}:{rows[0][2]}", sorted(layers, key=lambda k: (k[0], k[1] or ""))

    def _fingerprint(self, conn: Connection) -> str:
        row = conn.execute(
            select(_state.c.database_id, _state.c.change_counter).where(_state.c.id == 1)
        ).first()
        if row is None:
            raise _MissingState
        return f"{row[0]}:{row[1]}"


class _MissingState(DBAPIError):
    """The tables exist but the state row does not (a database emptied by hand)."""

    def __init__(self) -> None:
        super().__init__("templar_state has no row", None, Exception("no such table"))


def _read_layer(conn: Connection, kind_name: str, scope: str) -> tuple[list[Any], int | None]:
    version = conn.execute(
        select(_layers.c.id, _layers.c.version).where(
            _layers.c.kind == kind_name, _layers.c.scope == scope
        )
    ).first()
    if version is None:
        return [], None
    rows = conn.execute(
        select(_templates.c.template_id, _templates.c.body, _templates.c.version)
        .where(_templates.c.layer_id == version[0])
        .order_by(_templates.c.id)
    ).all()
    return list(rows), int(version[1])


def _lock_layer(conn: Connection, kind_name: str, scope: str) -> tuple[int | None, int]:
    """The layer's row id and version, locked until the transaction ends (PostgreSQL:
    ``FOR UPDATE``; SQLite: the write transaction is ``BEGIN IMMEDIATE``)."""
    row = conn.execute(
        select(_layers.c.id, _layers.c.version)
        .where(_layers.c.kind == kind_name, _layers.c.scope == scope)
        .with_for_update()
    ).first()
    return (None, 0) if row is None else (int(row[0]), int(row[1]))


def _create_layer(conn: Connection, kind_name: str, scope: str, now: datetime) -> int:
    """Insert the layer row; when a concurrent writer created it first, this waits for
    it and reports the conflict (the layer is no longer absent)."""
    values = {"kind": kind_name, "scope": scope, "version": 0, "created_at": now, "updated_at": now}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(_layers).values(values).on_conflict_do_nothing()
        row_id = conn.execute(statement.returning(_layers.c.id)).scalar()
        if row_id is None:
            current = conn.execute(
                select(_layers.c.version).where(
                    _layers.c.kind == kind_name, _layers.c.scope == scope
                )
            ).scalar()
            location = location_of(_KINDS_BY_NAME[kind_name], scope or None)
            raise ConcurrencyError(
                f"{location}: created by another writer meanwhile (now at version {current}, "
                "expected absent). Load again and retry.",
                layer=location,
                expected_version=None,
                actual_version=str(current),
            )
        return int(row_id)
    key = conn.execute(insert(_layers).values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _kind_scope(source: LayerSource) -> tuple[str, str]:
    """The kind name and scope column of a source, refusing layers SQL cannot hold."""
    kind_name = _KIND_NAMES.get(source.kind)
    if kind_name is None:
        raise StorageError(
            f"a {source.kind.label} layer lives in the engine config, not in SQL storage"
        )
    if source.kind is LayerKind.SHARED:
        if source.scope:
            raise StorageError(f"the shared layer has no scope (got '{source.scope}')")
        return kind_name, ""
    if not source.scope or "\0" in source.scope:
        raise StorageError(f"a {kind_name} layer needs a scope (an instance name or a type)")
    return kind_name, source.scope


def _checked_id(template_id: object) -> str:
    if not isinstance(template_id, str) or not template_id or "\0" in template_id:
        raise StorageError(f"invalid template id {template_id!r}: a non-empty string without NUL")
    return template_id


def _encode(template_id: str, body: Mapping[str, Any]) -> str:
    if not isinstance(body, Mapping):
        raise StorageError(
            f"template '{template_id}': a body must be a mapping", template_id=template_id
        )
    try:
        encoded = orjson.dumps(dict(body), option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError) as e:
        raise StorageError(
            f"template '{template_id}' cannot be stored as JSON: {e}", template_id=template_id
        ) from e
    if "\\u0000" in encoded:
        raise StorageError(
            f"template '{template_id}' holds a NUL character", template_id=template_id
        )
    return encoded


def _parse_version(version: str | None, source: LayerSource) -> int:
    if version is None:
        return 0
    try:
        number = int(version)
    except ValueError:
        raise ConcurrencyError(
            f"{source.location}: version '{version}' is not a SQL layer version (was it read "
            "from another storage?)",
            layer=source.location,
            expected_version=version,
        ) from None
    return number


def _changed_fields(old_text: str | None, new_text: str | None) -> str:
    old = orjson.loads(old_text) if old_text else {}
    new = orjson.loads(new_text) if new_text else {}
    return orjson.dumps(sorted(_diff_paths(old, new, ""))).decode()


def _diff_paths(old: Any, new: Any, prefix: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                yield path
            elif old[key] != new[key] or type(old[key]) is not type(new[key]):
                yield from _diff_paths(old[key], new[key], path)
    elif old != new or type(old) is not type(new):
        yield prefix


def _audit_entry(row: Mapping[str, Any]) -> AuditEntry:
    at = row["at"]
    if at.tzinfo is None:  # SQLite keeps no time zone; it was written as UTC
        at = at.replace(tzinfo=UTC)
    scope = row["layer_scope"]
    return AuditEntry(
        at=at,
        actor=row["actor"],
        action=row["action"],
        layer=row["layer_kind"] + (f" {scope}" if scope else ""),
        template_id=row["template_id"],
        old_version=row["old_version"],
        new_version=row["new_version"],
        changed_fields=orjson.loads(row["changed_fields"]),
        old_body=orjson.loads(row["old_body"]) if row["old_body"] else None,
        new_body=orjson.loads(row["new_body"]) if row["new_body"] else None,
    )


def _check_schema_version(found: int, where: str) -> None:
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"{where}: the database schema is version {found}, newer than this templar-sql "
            f"understands ({SCHEMA_VERSION}); upgrade templar-sql",
            url=where,
        )


def default_actor() -> str:
    """``user@host`` of this process: who a change is by when the writer names no one."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = os.environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def normalise_url(url: str, config_dir: Path | None = None) -> str:
    """``url`` as SQLAlchemy takes it: ``postgres://`` and ``postgresql://`` use psycopg
    3, and a relative SQLite path is made relative to ``config_dir``."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StorageError(f"not a database URL: {url!r} ({e})", field="storage.url") from e
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        if not path.is_absolute() and config_dir is not None:
            path = config_dir / path
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


_ENGINES: dict[tuple[str, float], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _shared_engine(url: str, connect_timeout: float) -> Engine:
    """One SQLAlchemy engine (and connection pool) per database per process, as
    SQLAlchemy recommends: a new TemplateEngine on the same database reuses connections
    instead of opening one (and having the dialect probe the server) every time."""
    key = (url, connect_timeout)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _create_engine(url, connect_timeout)
        return engine


@atexit.register
def _dispose_engines() -> None:
    """Close pooled connections at exit, rather than leave them to the collector."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()


def _create_engine(url: str, connect_timeout: float) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = create_engine(
                parsed, connect_args={"timeout": 30.0, "check_same_thread": False}
            )
            _make_sqlite_transactional(engine)
            return engine
        if backend == "postgresql":
            return create_engine(
                parsed,
                connect_args={"connect_timeout": max(1, round(connect_timeout))},
                pool_size=2,
                max_overflow=4,
            )
        return create_engine(parsed)
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        hint = " (install templar-sql[postgres])" if backend == "postgresql" else ""
        raise StorageError(
            f"no database driver for {parsed.drivername}{hint}: {e}", field="storage.url"
        ) from e


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions, so that a write begins
    with ``BEGIN IMMEDIATE`` (it holds the write lock from its first read, and a second
    writer waits instead of failing at commit), and use WAL so readers never wait."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("templar_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_missing_table(error: DBAPIError) -> bool:
    if isinstance(error, _MissingState):
        return True
    original = error.orig
    return getattr(original, "sqlstate", None) == "42P01" or "no such table" in str(original)


def _is_transient(error: DBAPIError) -> bool:
    """Worth trying again: the connection broke, the server is (re)starting, the
    database is locked by another writer, or PostgreSQL chose this one as a deadlock
    or serialisation victim."""
    return bool(error.connection_invalidated) or isinstance(error, OperationalError)


def _reason(error: DBAPIError) -> str:
    first = str(error.orig).strip().splitlines()
    return first[0] if first else type(error.orig).__name__


__all__ = [
    "NOTIFY_CHANNEL",
    "URL_ENVIRONMENT_VARIABLE",
    "AuditEntry",
    "SqlStorage",
    "default_actor",
    "location_of",
    "normalise_url",
]
