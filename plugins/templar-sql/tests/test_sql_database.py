"""templar_sql.database.normalise_url: the URL as SQLAlchemy takes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from templar.errors import StorageError

from templar_sql.database import normalise_url


@pytest.mark.parametrize(
    ("url", "config_dir", "expected"),
    [
        ("postgres://u@h/db", None, "postgresql+psycopg://u@h/db"),
        (
            "postgresql://u:p%40ss@h:5433/db?sslmode=require",
            None,
            "postgresql+psycopg://u:p%40ss@h:5433/db?sslmode=require",
        ),
        ("postgresql+psycopg://u@h/db", None, "postgresql+psycopg://u@h/db"),
        ("  sqlite:///rel.db\n", Path("/cfg"), "sqlite:////cfg/rel.db"),
        ("sqlite:///sub/rel.db", Path("/cfg"), "sqlite:////cfg/sub/rel.db"),
        ("sqlite:///rel.db", None, "sqlite:///rel.db"),
        ("sqlite:////abs/x.db", Path("/cfg"), "sqlite:////abs/x.db"),
        ("sqlite:///~/x.db", Path("/cfg"), "sqlite:////home/ann/x.db"),
        ("sqlite://", Path("/cfg"), "sqlite://"),
        ("mysql://u@h/db", Path("/cfg"), "mysql://u@h/db"),
    ],
)
def test_normalise_url(
    url: str,
    config_dir: Path | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    assert normalise_url(url, config_dir) == expected


def test_an_in_memory_sqlite_database_stays_in_memory() -> None:
    assert make_url(normalise_url("sqlite:///:memory:", Path("/cfg"))).database == ":memory:"


@pytest.mark.parametrize(
    ("url", "expected_error"),
    [
        ("not a url", r"not a database URL: 'not a url'"),
        ("://nothing", r"not a database URL: '://nothing'"),
    ],
)
def test_a_string_that_is_no_url_is_refused(url: str, expected_error: str) -> None:
    with pytest.raises(StorageError, match=expected_error):
        normalise_url(url)
