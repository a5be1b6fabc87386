"""The engine's writes (issue 10: ``templates set``, ``apply``, ``delete``) on SQL storage,
unchanged: the edit lands in the layer holding the value, with its audit row."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from templar.cli import cli
from templar.models import LayerKind
from templar.storage import LayerChange

from templar_sql import SqlStorage

# The engine's writes arrive with issue 10 (templar.write); until then there is nothing
# to run on SQL storage.
pytest.importorskip("templar.write")


@pytest.fixture
def on_sql(sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqlStorage:
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", sql_url)
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEMPLAR_PLUGINS", "sql")
    storage = SqlStorage(sql_url)
    provider = storage.source_for(LayerKind.PROVIDER, "generic")
    storage.write(
        LayerChange(
            provider,
            None,
            put={"web": {"template_id": "web", "name": "a", "configuration": {"max_number": 5}}},
            actor="seed",
        )
    )
    return storage


def templates(config_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config-dir", str(config_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_set_and_delete_on_sql_storage(on_sql: SqlStorage, tmp_path: Path) -> None:
    templates(tmp_path, "list")  # a warm cache first: the write must not be hidden by it
    templates(tmp_path, "set", "web", "configuration.max_number=20")
    assert '"max_number": 20' in templates(tmp_path, "show", "web", "--format", "json")
    provider = on_sql.source_for(LayerKind.PROVIDER, "generic")
    assert on_sql.read(provider).templates[0].body["configuration"] == {"max_number": 20}
    history = on_sql.history("web")
    assert [(e.action, e.old_version, e.new_version) for e in history] == [
        ("create", None, 1),
        ("update", 1, 2),
    ]
    assert history[1].changed_fields == ["configuration.max_number"]
    templates(tmp_path, "delete", "web", "--yes")
    assert on_sql.read(provider).templates == []
    assert on_sql.history("web")[-1].action == "delete"
