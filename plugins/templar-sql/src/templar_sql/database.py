"""One database as :class:`~templar_sql.storage.SqlStorage` talks to it.

Its URL as SQLAlchemy takes it, one pooled SQLAlchemy engine per database per process,
SQLite set up for writers that wait instead of failing, and :meth:`Database.run`: every
query and every write goes through it, so that a transient failure is retried with a
bounded backoff, a missing schema is created on first use, and any other failure becomes
a :class:`~templar.errors.StorageError` that names the database.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import SQLModel
from templar.errors import StorageError, TemplarError

from templar_sql.tables import (
    APPEND_ONLY_AUDIT,
    AUDIT,
    LAYERS,
    SCHEMA_VERSION,
    STATE,
    TEMPLATES,
    check_schema_version,
)

T = TypeVar("T")

#: Delays between attempts of an operation that failed for a transient reason.
RETRY_DELAYS = (0.05, 0.15, 0.4)
#: Key of the advisory lock that serialises schema creation between processes.
_SCHEMA_LOCK_KEY = 0x7E3A_5C11


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


class MissingState(DBAPIError):
    """The tables exist but the state row does not (a database emptied by hand): raised
    by the queries that read it, and taken by :meth:`Database.run` as a missing table."""

    def __init__(self) -> None:
        super().__init__("templar_state has no row", None, Exception("no such table"))


class Database:
    """The database at ``url`` (already :func:`normalise_url`-ed), on the engine this
    process shares for it.

    :param connect_timeout: seconds to wait for a PostgreSQL server to answer.
    """

    def __init__(self, url: str, connect_timeout: float) -> None:
        self.url = url
        #: the SQLAlchemy engine (and its connection pool), shared by every
        #: :class:`Database` on the same URL and timeout in this process
        self.engine = _shared_engine(url, connect_timeout)
        #: ``sqlite``, ``postgresql``, ...
        self.dialect = self.engine.dialect.name
        #: True once the schema is known to be there (created, or its version read):
        #: from then on a missing table is an error, not a reason to create the schema
        self.schema_ready = False

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return unquote(make_url(self.url).render_as_string(hide_password=True))

    def close(self) -> None:
        """Close every pooled connection (the next query opens one)."""
        self.engine.dispose()

    def run(self, what: str, operation: Callable[[Connection], T], *, write: bool = False) -> T:
        """``operation`` on a connection (in a transaction when ``write``), retried with
        a bounded backoff when the database is unreachable or busy; creates the schema
        the first time a table is missing. ``what`` completes "could not ..." in the
        message of the :class:`~templar.errors.StorageError` raised when it fails."""
        attempts = iter(RETRY_DELAYS)
        while True:
            try:
                with self.engine.connect() as conn:
                    if write:
                        return self._in_transaction(conn, what, operation)
                    return operation(conn)
            except TemplarError:
                raise
            except DBAPIError as e:
                if not self.schema_ready and _is_missing_table(e):
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
        with self.engine.connect() as conn:
            conn = conn.execution_options(templar_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                tables = [STATE, LAYERS, TEMPLATES, AUDIT]
                SQLModel.metadata.create_all(conn, tables=tables)
                for statement in APPEND_ONLY_AUDIT.get(self.dialect, []):
                    conn.exec_driver_sql(statement)
                row = conn.execute(select(STATE.c.schema_version).where(STATE.c.id == 1)).first()
                if row is None:
                    conn.execute(
                        insert(STATE).values(
                            id=1,
                            schema_version=SCHEMA_VERSION,
                            change_counter=0,
                            database_id=uuid.uuid4().hex,
                            created_at=datetime.now(UTC),
                        )
                    )
                else:
                    check_schema_version(row[0], self.display_url)
        self.schema_ready = True


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
    if isinstance(error, MissingState):
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


__all__ = ["RETRY_DELAYS", "Database", "MissingState", "normalise_url"]
