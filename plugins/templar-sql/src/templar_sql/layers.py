"""Layers as rows: how a :class:`~templar.storage.LayerSource` maps to the ``kind`` and
``scope`` columns of ``template_layers``, the location string a SQL layer is shown by, and
the queries that list the layers and read one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, true
from templar.errors import StorageError
from templar.models import LayerKind
from templar.storage import LayerSource

from templar_sql.database import MissingState
from templar_sql.tables import LAYERS, STATE, TEMPLATES, check_schema_version

#: The ``kind`` column of each layer kind SQL storage holds.
KIND_NAMES = {
    LayerKind.INSTANCE: "instance",
    LayerKind.TYPE: "type",
    LayerKind.PROVIDER: "provider",
    LayerKind.SHARED: "shared",
}
#: The layer kind of each ``kind`` column value.
KINDS_BY_NAME = {name: kind for kind, name in KIND_NAMES.items()}


def location_of(kind: LayerKind, scope: str | None) -> str:
    """The location string of a SQL layer: ``sql:templates/<layer>[/<scope>]``.

    It names the table and the layer; provenance adds the template id and version.
    """
    name = KIND_NAMES[kind]
    return f"sql:{TEMPLATES.name}/{name}" + (f"/{scope}" if scope else "")


def kind_scope(source: LayerSource) -> tuple[str, str]:
    """The kind name and scope column of a source, refusing layers SQL cannot hold."""
    kind_name = KIND_NAMES.get(source.kind)
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


def list_layers(
    conn: Connection, where: str
) -> tuple[str, list[tuple[LayerKind, str | None, int]]]:
    """The fingerprint (``<database id>:<change counter>``) and every layer as (kind,
    scope, version), in one query that also checks the schema version (``where``, the
    database's URL, is named when it is too new)."""
    statement = (
        select(
            STATE.c.schema_version,
            STATE.c.database_id,
            STATE.c.change_counter,
            LAYERS.c.kind,
            LAYERS.c.scope,
            LAYERS.c.version,
        )
        .select_from(STATE.outerjoin(LAYERS, true()))
        .where(STATE.c.id == 1)
    )
    rows = conn.execute(statement).all()
    if not rows:
        raise MissingState
    check_schema_version(rows[0][0], where)
    layers = []
    for _, _, _, kind, scope, version in rows:
        if kind is None:
            continue
        if kind in KINDS_BY_NAME:
            layers.append((KINDS_BY_NAME[kind], scope or None, int(version)))
    return f"{rows[0][1]}:{rows[0][2]}", sorted(layers, key=lambda k: (k[0], k[1] or ""))


def read_fingerprint(conn: Connection) -> str:
    """``<database id>:<change counter>``: one primary-key lookup."""
    row = conn.execute(
        select(STATE.c.database_id, STATE.c.change_counter).where(STATE.c.id == 1)
    ).first()
    if row is None:
        raise MissingState
    return f"{row[0]}:{row[1]}"


def read_layer(conn: Connection, kind_name: str, scope: str) -> tuple[list[Any], int | None]:
    """The (template id, body text, version) rows of one layer in the order they were
    first written, and the layer's version (``None`` when no write created it)."""
    version = conn.execute(
        select(LAYERS.c.id, LAYERS.c.version).where(
            LAYERS.c.kind == kind_name, LAYERS.c.scope == scope
        )
    ).first()
    if version is None:
        return [], None
    rows = conn.execute(
        select(TEMPLATES.c.template_id, TEMPLATES.c.body, TEMPLATES.c.version)
        .where(TEMPLATES.c.layer_id == version[0])
        .order_by(TEMPLATES.c.id)
    ).all()
    return list(rows), int(version[1])


def read_version(conn: Connection, kind_name: str, scope: str) -> str | None:
    """The layer's version, or ``None`` if no write ever created it."""
    found = conn.execute(
        select(LAYERS.c.version).where(LAYERS.c.kind == kind_name, LAYERS.c.scope == scope)
    ).scalar()
    return None if found is None else str(found)


__all__ = [
    "KINDS_BY_NAME",
    "KIND_NAMES",
    "kind_scope",
    "list_layers",
    "location_of",
    "read_fingerprint",
    "read_layer",
    "read_version",
]
