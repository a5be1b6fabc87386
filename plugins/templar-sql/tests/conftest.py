"""Fixtures of the sql plugin's tests: one throwaway PostgreSQL server per test session
(a fresh database per test), and ``sql_url`` parametrised over SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import templar_sql.plugin
from templar_sql.pgserver import ThrowawayPostgres, find_bin_dir


@pytest.fixture
def templar_plugins() -> Sequence[object]:
    return [templar_sql.plugin]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of the installed binaries, for the whole session. Missing
    binaries skip PostgreSQL tests on a laptop and fail them in CI."""
    if find_bin_dir() is None:
        message = "PostgreSQL binaries not found (apt-get install -y postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the PostgreSQL tests")
        pytest.skip(message)
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: ThrowawayPostgres) -> str:
    """A new, empty database on the session's server."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database: SQLite in tmp_path, or PostgreSQL on the session server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'templates.db'}"
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    return server.create_database()
