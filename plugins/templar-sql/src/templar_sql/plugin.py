"""The ``sql`` storage backend, registered through the ``templar`` entry-point group.

``pyproject.toml`` declares ``[project.entry-points.templar] sql = "templar_sql.plugin"``:
installing this distribution is all it takes; ``storage: {backend: sql, url: ...}`` in
``templar.yaml`` (or ``$TEMPLAR_STORAGE_URL``) selects it.
"""

from __future__ import annotations

from collections.abc import Callable

from templar import hookimpl
from templar.storage import StorageSpec

from templar_sql.storage import SqlStorage

#: The backend as this plugin registers it.
SQL_STORAGE = StorageSpec(
    name="sql",
    factory=SqlStorage.from_settings,
    description="Template layers as rows in SQLite or PostgreSQL, with versioned writes "
    "and an audit trail.",
    url_schemes=("sqlite", "postgresql", "postgres"),
    from_url=SqlStorage.from_url,
)


@hookimpl
def templar_register_storage(register: Callable[[StorageSpec], None]) -> None:
    """Register the ``sql`` storage backend."""
    register(SQL_STORAGE)
