"""The SQL schema: SQLModel tables for layers, templates, the audit trail and the state row.

``templates`` holds one row per template per layer, its body as JSON text (not a
JSON/JSONB column: JSONB reorders keys and both types decode slower than orjson does,
while a template's key order is part of what its author wrote). ``template_layers``
holds one row per layer with a version that every write to the layer increments;
``templar_state`` is a single row with the schema version and a change counter that
every write increments, so that "did anything change?" is one primary-key lookup.
``template_audit`` is append-only (triggers refuse ``UPDATE`` and ``DELETE``).

Bump :data:`SCHEMA_VERSION` whenever a table changes; a database made by a newer
release is refused with a clear message instead of being misread.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from templar.errors import StorageError

#: The version of this schema, recorded in ``templar_state.schema_version``.
SCHEMA_VERSION = 1


class StateRecord(SQLModel, table=True):
    """The single row (``id = 1``) that says which schema this is and counts changes."""

    __tablename__ = "templar_state"

    id: int = Field(default=1, primary_key=True)
    schema_version: int
    #: incremented by every write; the storage fingerprint
    change_counter: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    #: random, set once when the schema is created: two databases never share a fingerprint
    database_id: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LayerRecord(SQLModel, table=True):
    """One layer: its kind (``instance``, ``type``, ``provider``, ``shared``) and scope."""

    __tablename__ = "template_layers"
    __table_args__ = (UniqueConstraint("kind", "scope", name="uq_template_layers_kind_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    #: the instance name or provider type; ``""`` for the shared layer
    scope: str = ""
    #: incremented by every write to this layer; the version a writer must expect
    version: int = 0
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TemplateRecord(SQLModel, table=True):
    """One template as one layer stores it."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("layer_id", "template_id", name="uq_templates_layer_template"),
    )

    id: int | None = Field(default=None, primary_key=True)
    layer_id: int = Field(foreign_key="template_layers.id", index=True)
    template_id: str
    #: the body as JSON text, keys in the order they were written
    body: str = Field(sa_column=Column(Text, nullable=False))
    #: the layer version of the write that last changed this template
    version: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditRecord(SQLModel, table=True):
    """One change to one template: who, when, what, and the versions before and after."""

    __tablename__ = "template_audit"
    __table_args__ = (Index("ix_template_audit_template", "template_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str
    #: ``create``, ``update`` or ``delete``
    action: str
    layer_kind: str
    layer_scope: str = ""
    template_id: str
    #: the template's version before (``None`` when it was created)
    old_version: int | None = None
    #: the layer version this change made (for a delete: the version it vanished at)
    new_version: int
    #: the dotted fields that differ, as a JSON list
    changed_fields: str = Field(sa_column=Column(Text, nullable=False))
    old_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


#: Every table of the schema, in creation order.
TABLES = (StateRecord, LayerRecord, TemplateRecord, AuditRecord)

# The same tables as SQLAlchemy Core sees them: every query is built on these.
#: ``templar_state``
STATE = cast(Table, StateRecord.__table__)  # type: ignore[attr-defined]
#: ``template_layers``
LAYERS = cast(Table, LayerRecord.__table__)  # type: ignore[attr-defined]
#: ``templates``
TEMPLATES = cast(Table, TemplateRecord.__table__)  # type: ignore[attr-defined]
#: ``template_audit``
AUDIT = cast(Table, AuditRecord.__table__)  # type: ignore[attr-defined]

#: Statements that make ``template_audit`` append-only, per dialect (idempotent).
APPEND_ONLY_AUDIT = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS template_audit_no_update BEFORE UPDATE ON template_audit "
        "BEGIN SELECT RAISE(ABORT, 'template_audit is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS template_audit_no_delete BEFORE DELETE ON template_audit "
        "BEGIN SELECT RAISE(ABORT, 'template_audit is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION template_audit_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'template_audit is append-only'; END $$",
        "DROP TRIGGER IF EXISTS template_audit_append_only ON template_audit",
        "CREATE TRIGGER template_audit_append_only "
        "BEFORE UPDATE OR DELETE OR TRUNCATE ON template_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION template_audit_append_only()",
    ],
}


def check_schema_version(found: int, where: str) -> None:
    """Refuse a database whose schema (``found``) is newer than :data:`SCHEMA_VERSION`:
    a :class:`~templar.errors.StorageError` naming ``where`` (the database's URL)."""
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"{where}: the database schema is version {found}, newer than this templar-sql "
            f"understands ({SCHEMA_VERSION}); upgrade templar-sql",
            url=where,
        )
