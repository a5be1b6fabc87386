"""Change notification: a write tells watchers which layer it changed.

PostgreSQL: the write sends ``NOTIFY`` on :data:`NOTIFY_CHANNEL` inside its transaction,
so it arrives on commit, and a watcher ``LISTEN``s on its own connection. Elsewhere
(SQLite) a watcher polls the layer versions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine, bindparam, func, select
from templar.errors import StorageError
from templar.models import LayerKind

from templar_sql.database import RETRY_DELAYS
from templar_sql.layers import location_of

#: The PostgreSQL channel every write notifies, with the layer's location as payload.
NOTIFY_CHANNEL = "templar_changes"


def notify_change(conn: Connection, location: str) -> None:
    """Send the layer's ``location`` on :data:`NOTIFY_CHANNEL` (PostgreSQL only),
    delivered when the transaction of ``conn`` commits."""
    conn.execute(
        select(func.pg_notify(NOTIFY_CHANNEL, bindparam("where"))),
        {"where": location},
    )


def poll(
    list_layers: Callable[[], list[tuple[LayerKind, str | None, int]]],
    stop: threading.Event,
    interval: float,
) -> Iterator[set[str]]:
    """The locations of the layers whose version changed between two calls of
    ``list_layers``, ``interval`` seconds apart, until ``stop`` is set; the empty set
    first, and again once the database is reachable after a
    :class:`~templar.errors.StorageError`."""
    seen: dict[str, int] | None = None
    while not stop.is_set():
        try:
            layers = list_layers()
        except StorageError:
            seen = None  # unreachable: say "everything" once it is back
            stop.wait(max(interval, RETRY_DELAYS[-1]))
            continue
        now = {location_of(kind, scope): version for kind, scope, version in layers}
        if seen is None:
            yield set()
        elif now != seen:
            yield {loc for loc in now.keys() | seen.keys() if now.get(loc) != seen.get(loc)}
        seen = now
        stop.wait(interval)


def listen(engine: Engine, stop: threading.Event) -> Iterator[set[str]]:
    """The locations that writes on the PostgreSQL database of ``engine`` notified,
    batched, until ``stop`` is set; the empty set first, and again after every
    reconnection (whatever happened meanwhile is to be read again)."""
    import psycopg

    args, params = engine.dialect.create_connect_args(engine.url)
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


__all__ = ["NOTIFY_CHANNEL", "listen", "notify_change", "poll"]
