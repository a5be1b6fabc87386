"""templar-sql: Templar's template layers in a SQL database.

SQLite works with nothing else installed (``sqlite:///templates.db``); PostgreSQL, for
many hosts over one database, with the ``postgres`` extra
(``postgresql+psycopg://user@host/db``). See the README of this distribution.
"""

from __future__ import annotations

from templar_sql.storage import (
    NOTIFY_CHANNEL,
    URL_ENVIRONMENT_VARIABLE,
    AuditEntry,
    SqlStorage,
    default_actor,
    location_of,
    normalise_url,
)
from templar_sql.tables import SCHEMA_VERSION

__all__ = [
    "NOTIFY_CHANNEL",
    "SCHEMA_VERSION",
    "URL_ENVIRONMENT_VARIABLE",
    "AuditEntry",
    "SqlStorage",
    "default_actor",
    "location_of",
    "normalise_url",
]
