"""The audit trail: one ``template_audit`` row per changed template per write, and the
:class:`AuditEntry` each row reads back as (``SqlStorage.history``, ``templates history``).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from templar_sql.tables import AUDIT


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


def default_actor() -> str:
    """``user@host`` of this process: who a change is by when the writer names no one."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = os.environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def audit_row(
    *,
    at: datetime,
    actor: str,
    action: str,
    layer_kind: str,
    layer_scope: str,
    template_id: str,
    old_version: int | None,
    new_version: int,
    old_body: str | None,
    new_body: str | None,
) -> dict[str, Any]:
    """The ``template_audit`` row of one change (``create``, ``update`` or ``delete``);
    the bodies are JSON text, ``None`` where the template is absent, and the changed
    fields are worked out from them."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "layer_kind": layer_kind,
        "layer_scope": layer_scope,
        "template_id": template_id,
        "old_version": old_version,
        "new_version": new_version,
        "changed_fields": changed_fields(old_body, new_body),
        "old_body": old_body,
        "new_body": new_body,
    }


def changed_fields(old_text: str | None, new_text: str | None) -> str:
    """The dotted paths of the fields that differ between two JSON bodies (``None``: no
    template), sorted, as a JSON list. A nested mapping is followed into; any other
    value differs when it is unequal or of another type (``1`` is not ``true``)."""
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


def read_history(conn: Connection, template_id: str | None = None) -> list[AuditEntry]:
    """The audit trail, oldest first: of one template id (every layer), or of all."""
    statement = select(AUDIT).order_by(AUDIT.c.id)
    if template_id is not None:
        statement = statement.where(AUDIT.c.template_id == template_id)
    return [_audit_entry(dict(row._mapping)) for row in conn.execute(statement)]


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


__all__ = ["AuditEntry", "audit_row", "changed_fields", "default_actor", "read_history"]
