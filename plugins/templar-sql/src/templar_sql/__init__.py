"""templar-sql: Templar's template layers in a SQL database.

SQLite works with nothing else installed (``sqlite:///templates.db``); PostgreSQL, for
many hosts over one database, with the ``postgres`` extra
(``postgresql+psycopg://user@host/db``). See the README of this distribution.

The names below are imported on first use, so that loading the plugin (which every
``templates`` command does) costs nothing until the backend is opened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from templar_sql.audit import AuditEntry, default_actor
    from templar_sql.database import normalise_url
    from templar_sql.layers import location_of
    from templar_sql.notify import NOTIFY_CHANNEL
    from templar_sql.storage import URL_ENVIRONMENT_VARIABLE, SqlStorage
    from templar_sql.tables import SCHEMA_VERSION

_WHERE = {
    "NOTIFY_CHANNEL": "notify",
    "URL_ENVIRONMENT_VARIABLE": "storage",
    "AuditEntry": "audit",
    "SqlStorage": "storage",
    "default_actor": "audit",
    "location_of": "layers",
    "normalise_url": "database",
    "SCHEMA_VERSION": "tables",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'templar_sql' has no attribute {name!r}")
    return getattr(importlib.import_module(f"templar_sql.{module}"), name)
