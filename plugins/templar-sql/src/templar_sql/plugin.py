"""The ``sql`` storage backend, registered through the ``templar`` entry-point group.

``pyproject.toml`` declares ``[project.entry-points.templar] sql = "templar_sql.plugin"``:
installing this distribution is all it takes; ``storage: {backend: sql, url: ...}`` in
``templar.yaml`` (or ``$TEMPLAR_STORAGE_URL``) selects it.

Every ``templates`` command loads this module, whatever its storage: SQLAlchemy,
SQLModel and the database drivers are imported only when the backend is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from templar import hookimpl
from templar.storage import StorageSpec

if TYPE_CHECKING:
    from templar.settings import EngineSettings

    from templar_sql.storage import SqlStorage


def open_from_settings(config_dir: Path, settings: EngineSettings) -> SqlStorage:
    """The storage factory: :meth:`templar_sql.SqlStorage.from_settings`."""
    from templar_sql.storage import SqlStorage

    return SqlStorage.from_settings(config_dir, settings)


def open_url(url: str, config_dir: Path) -> SqlStorage:
    """The backend on an explicit URL: :meth:`templar_sql.SqlStorage.from_url`."""
    from templar_sql.storage import SqlStorage

    return SqlStorage.from_url(url, config_dir)


#: The backend as this plugin registers it.
SQL_STORAGE = StorageSpec(
    name="sql",
    factory=open_from_settings,
    description="Template layers as rows in SQLite or PostgreSQL, with versioned writes "
    "and an audit trail.",
    url_schemes=("sqlite", "postgresql", "postgres"),
    from_url=open_url,
)


@hookimpl
def templar_register_storage(register: Callable[[StorageSpec], None]) -> None:
    """Register the ``sql`` storage backend."""
    register(SQL_STORAGE)
