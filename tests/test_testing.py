"""templar.testing, the fixtures for plugin authors: engines and CLI runs on temporary
directories, the cache included (never the user's)."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from templar import TemplateEngine
from templar.testing import EngineFactory, RunCli, WriteLayer


def test_the_engine_fixture_caches_in_a_temporary_directory(
    templar_write: WriteLayer, templar_engine: TemplateEngine, tmp_path: Path
) -> None:
    templar_write("templates.yaml", [{"template_id": "t"}])
    assert [t.template_id for t in templar_engine.list_templates()] == ["t"]
    cache = templar_engine.cache
    assert cache is not None and cache.directory == tmp_path / "templar-cache"
    assert (tmp_path / "templar-cache").is_dir()  # the load was cached there


def test_the_cli_fixture_caches_in_the_same_temporary_directory(
    templar_write: WriteLayer, templar_cli: RunCli, templar_cache_dir: Path
) -> None:
    templar_write("templates.yaml", [{"template_id": "t"}])
    result: Result = templar_cli("cache", "info", "--format", "json")
    assert result.exit_code == 0, result.output
    assert str(templar_cache_dir) in result.output


def test_engines_made_by_the_factory_share_the_temporary_cache(
    templar_engine_factory: EngineFactory, templar_write: WriteLayer, templar_cache_dir: Path
) -> None:
    templar_write("templates.yaml", [{"template_id": "t"}])
    first = templar_engine_factory()
    first.list_templates()
    second = templar_engine_factory()
    second.list_templates()
    assert second.state.from_cache
    assert second.cache is not None and second.cache.directory == templar_cache_dir
