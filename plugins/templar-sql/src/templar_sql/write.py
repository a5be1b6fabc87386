"""One write to one layer, in the transaction :meth:`SqlStorage.write` opens.

It locks the layer row, compares its version with the one the writer read (raising
:class:`~templar.errors.ConcurrencyError` when another writer got there first), writes
the template rows and one audit row per changed template, bumps the layer version and
the change counter, and (PostgreSQL) notifies watchers. The checks of a change's ids,
bodies and expected version, made before any connection is opened, are here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from templar.errors import ConcurrencyError, StorageError
from templar.storage import LayerSource

from templar_sql.audit import audit_row
from templar_sql.layers import KINDS_BY_NAME, location_of
from templar_sql.notify import notify_change
from templar_sql.tables import AUDIT, LAYERS, STATE, TEMPLATES


def checked_id(template_id: object) -> str:
    """``template_id``, refused unless it is a non-empty string without NUL."""
    if not isinstance(template_id, str) or not template_id or "\0" in template_id:
        raise StorageError(f"invalid template id {template_id!r}: a non-empty string without NUL")
    return template_id


def encode_body(template_id: str, body: Mapping[str, Any]) -> str:
    """``body`` as the JSON text the ``templates`` table stores, keys in their order;
    refused unless it is a mapping that JSON can hold without a NUL character."""
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


def parse_version(version: str | None, source: LayerSource) -> int:
    """The layer version a writer read, as a number (``None``, absent: 0); a version of
    another storage is a :class:`~templar.errors.ConcurrencyError`."""
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


def write_layer(
    conn: Connection,
    source: LayerSource,
    kind_name: str,
    scope: str,
    expected: int,
    puts: dict[str, str],
    removes: set[str],
    actor: str,
) -> int:
    """Save ``puts`` (id -> encoded body) and remove ``removes`` in the layer, if it is
    still at version ``expected``; the layer's version after (unchanged when nothing
    differs from what is stored)."""
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
            TEMPLATES.c.template_id, TEMPLATES.c.id, TEMPLATES.c.version, TEMPLATES.c.body
        ).where(
            TEMPLATES.c.layer_id == layer_id,
            TEMPLATES.c.template_id.in_(bindparam("ids", expanding=True)),
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
            audit_row(
                at=now,
                actor=actor,
                action="create" if old is None else "update",
                layer_kind=kind_name,
                layer_scope=scope,
                template_id=tid,
                old_version=None if old is None else old[1],
                new_version=new_version,
                old_body=old[2] if old else None,
                new_body=body_text,
            )
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
            audit_row(
                at=now,
                actor=actor,
                action="delete",
                layer_kind=kind_name,
                layer_scope=scope,
                template_id=tid,
                old_version=old[1],
                new_version=new_version,
                old_body=old[2],
                new_body=None,
            )
        )
    if not audits:
        return current
    if layer_id is None:
        layer_id = _create_layer(conn, kind_name, scope, now)
    if inserts:
        conn.execute(
            insert(TEMPLATES),
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
            update(TEMPLATES)
            .where(TEMPLATES.c.id == bindparam("row_id"))
            .values(body=bindparam("body"), version=new_version, updated_at=now),
            updates,
        )
    if deletes:
        conn.execute(
            delete(TEMPLATES).where(TEMPLATES.c.id.in_(bindparam("ids", expanding=True))),
            {"ids": deletes},
        )
    conn.execute(insert(AUDIT), audits)
    conn.execute(
        update(LAYERS).where(LAYERS.c.id == layer_id).values(version=new_version, updated_at=now)
    )
    conn.execute(
        update(STATE).where(STATE.c.id == 1).values(change_counter=STATE.c.change_counter + 1)
    )
    if conn.dialect.name == "postgresql":
        notify_change(conn, source.location)
    return new_version


def _lock_layer(conn: Connection, kind_name: str, scope: str) -> tuple[int | None, int]:
    """The layer's row id and version, locked until the transaction ends (PostgreSQL:
    ``FOR UPDATE``; SQLite: the write transaction is ``BEGIN IMMEDIATE``)."""
    row = conn.execute(
        select(LAYERS.c.id, LAYERS.c.version)
        .where(LAYERS.c.kind == kind_name, LAYERS.c.scope == scope)
        .with_for_update()
    ).first()
    return (None, 0) if row is None else (int(row[0]), int(row[1]))


def _create_layer(conn: Connection, kind_name: str, scope: str, now: datetime) -> int:
    """Insert the layer row; when a concurrent writer created it first, this waits for
    it and reports the conflict (the layer is no longer absent)."""
    values = {"kind": kind_name, "scope": scope, "version": 0, "created_at": now, "updated_at": now}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(LAYERS).values(values).on_conflict_do_nothing()
        row_id = conn.execute(statement.returning(LAYERS.c.id)).scalar()
        if row_id is None:
            current = conn.execute(
                select(LAYERS.c.version).where(LAYERS.c.kind == kind_name, LAYERS.c.scope == scope)
            ).scalar()
            location = location_of(KINDS_BY_NAME[kind_name], scope or None)
            raise ConcurrencyError(
                f"{location}: created by another writer meanwhile (now at version {current}, "
                "expected absent). Load again and retry.",
                layer=location,
                expected_version=None,
                actual_version=str(current),
            )
        return int(row_id)
    key = conn.execute(insert(LAYERS).values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


__all__ = ["checked_id", "encode_body", "parse_version", "write_layer"]
