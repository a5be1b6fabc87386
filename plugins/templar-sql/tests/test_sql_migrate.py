"""``templates migrate`` between file storage and SQL, and ``templates history``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from templar.cli import cli
from templar.models import LayerKind
from templar.settings import load_settings
from templar.storage.files import FileStorage
from templar.storage.migrate import effective_hashes

from templar_sql import SqlStorage

REPOSITORY = Path(__file__).resolve().parents[3]
SAMPLE_CONFIGS = REPOSITORY / "sample_configs"
ORB_DIR = REPOSITORY / "plugins" / "templar-aws" / "tests" / "samples" / "realworld" / "011"


def templates(*args: str, config_dir: Path | None = None) -> Result:
    """``templates ARGS`` in process (entry-point plugins loaded, as a user has them)."""
    where = ["--config-dir", str(config_dir)] if config_dir else []
    return CliRunner().invoke(cli, [*where, *args], catch_exceptions=False)


def file_hashes(directory: Path) -> dict[tuple[str, str], str]:
    settings, _ = load_settings(directory)
    return effective_hashes(FileStorage(directory, settings), settings, directory)


def named(template_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A body as migrate copies it: as written, naming its id if only a key did."""
    if "template_id" in body or "templateId" in body:
        return body
    return {"template_id": template_id, **body}


def test_file_to_sql_copies_every_layer_verifies_and_is_idempotent(
    sql_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIGS, config)
    first = templates("migrate", "--from", f"file:{config}", "--to", f"sql:{sql_url}")
    assert first.exit_code == 0, first.output
    assert "verified: 12 effective templates identical on both sides" in first.output
    storage = SqlStorage(sql_url)
    files = FileStorage(config, load_settings(config)[0])
    assert sorted((s.kind, s.scope) for s in storage.list_sources()) == sorted(
        (s.kind, s.scope) for s in files.list_sources()
    )
    for source in files.list_sources():  # every layer, body for body, in its priority
        copied = storage.read(storage.source_for(source.kind, source.scope))
        assert [(t.template_id, t.body) for t in copied.templates] == [
            (t.template_id, named(t.template_id, t.body)) for t in files.read(source).templates
        ]
    fingerprint = storage.fingerprint()
    again = templates("migrate", "--from", f"file:{config}", "--to", f"sql:{sql_url}")
    assert again.exit_code == 0, again.output
    assert "wrote 0 changes in 11 layers" in again.output
    assert storage.fingerprint() == fingerprint  # running it twice changes nothing


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dry.db'}"
    result = templates(
        "migrate", "--from", f"file:{SAMPLE_CONFIGS}", "--to", f"sql:{url}", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "provider aws             2 to create" in result.output
    assert "dry run: 22 changes in 11 layers; nothing written" in result.output
    assert SqlStorage(url).list_sources() == []


def test_an_orb_config_dir_migrates_with_its_layers_and_defaults(tmp_path: Path) -> None:
    orb = tmp_path / "orb"
    shutil.copytree(ORB_DIR, orb)
    url = f"sqlite:///{tmp_path / 'orb.db'}"
    result = templates("migrate", "--from", f"file:{orb}", "--to", f"sql:{url}")
    assert result.exit_code == 0, result.output
    assert "verified:" in result.output
    storage = SqlStorage(url)
    assert [s.kind for s in storage.list_sources()] == [LayerKind.PROVIDER]


def test_sql_to_file_reproduces_the_effective_templates(sql_url: str, tmp_path: Path) -> None:
    if not callable(getattr(FileStorage, "write", None)):
        pytest.skip("file storage writes arrive with issue 10")
    config = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIGS, config)
    before = file_hashes(config)
    assert templates("migrate", "--from", f"file:{config}", "--to", f"sql:{sql_url}").exit_code == 0
    back = tmp_path / "back"
    back.mkdir()
    shutil.copy(config / "templar.yaml", back / "templar.yaml")
    result = templates("migrate", "--from", f"sql:{sql_url}", "--to", f"file:{back}")
    assert result.exit_code == 0, result.output
    assert file_hashes(back) == before  # file -> SQL -> file: the same effective templates


def test_a_broken_origin_layer_stops_the_migration_before_writing(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "templates.yaml").write_text("- template_id: a\n")
    (config / "genericprov_templates.yaml").write_text("- template_id: b\n  name: [unclosed\n")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli, ["migrate", "--from", f"file:{config}", "--to", f"sql:{url}"])
    assert result.exit_code != 0
    assert "genericprov_templates.yaml:" in result.output
    assert "fix it before migrating" in result.output
    assert SqlStorage(url).list_sources() == []


def test_large_migrations_show_a_progress_bar(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    bodies = [{"template_id": f"t{i}", "name": f"n{i}"} for i in range(600)]
    (config / "genericprov_templates.json").write_text(json.dumps(bodies))
    url = f"sqlite:///{tmp_path / 'big.db'}"
    result = CliRunner().invoke(cli, ["migrate", "--from", f"file:{config}", "--to", f"sql:{url}"])
    assert result.exit_code == 0, result.output
    assert "migrating" in result.stderr
    assert "verified: 600 effective templates identical" in result.stdout


def test_unknown_storages_are_refused_clearly(tmp_path: Path) -> None:
    for spec, message in (
        ("nowhere", "use file:DIR or sql:URL"),
        ("sql:mysql://x/y", "no installed storage backend serves 'mysql:'"),
    ):
        result = CliRunner().invoke(cli, ["migrate", "--from", spec, "--to", f"file:{tmp_path}"])
        assert result.exit_code != 0
        assert message in result.output


def test_history_prints_the_audit_trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    from templar.storage import LayerChange

    storage = SqlStorage(url)
    layer = storage.source_for(LayerKind.PROVIDER, "generic")
    storage.write(LayerChange(layer, None, put={"web": {"name": "a"}}, actor="ann"))
    storage.write(LayerChange(layer, "1", put={"web": {"name": "b"}}, actor="bob"))
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", url)
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(tmp_path / "cache"))
    table = templates("history", "web", config_dir=tmp_path)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("WHEN (UTC)")
    assert "ann" in lines[1] and "create" in lines[1] and "provider generic" in lines[1]
    assert (
        "bob" in lines[2] and "update" in lines[2] and "1 -> 2" in lines[2] and "name" in lines[2]
    )
    as_json = templates("history", "web", "--format", "json", config_dir=tmp_path)
    rows = json.loads(as_json.output)
    assert [(r["actor"], r["old_version"], r["new_version"]) for r in rows] == [
        ("ann", None, 1),
        ("bob", 1, 2),
    ]
    assert rows[1]["old_body"] == {"name": "a"} and rows[1]["new_body"] == {"name": "b"}
    missing = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "history", "nope"])
    assert missing.exit_code == 1 and "no change of template 'nope'" in missing.output


def test_history_on_file_storage_says_there_is_none(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "history", "web"])
    assert result.exit_code != 0
    assert "keeps no history" in result.output
