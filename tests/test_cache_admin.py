"""templar.cache.admin: one engine's part of the cache, listed, reported and cleared,
called with an engine's session as :class:`templar.TemplateEngine` calls it."""

from __future__ import annotations

from pathlib import Path

import pytest

from templar import TemplateEngine
from templar.cache import admin
from tests.conftest import WriteFile


@pytest.fixture
def cached(write: WriteFile, config_dir: Path) -> TemplateEngine:
    """An engine whose load (two templates, two layer files) is in the cache."""
    write("templates.yaml", "- {template_id: a}\n- {template_id: b}\n")
    write("generictype_templates.yaml", "- {template_id: a, name: typed}\n")
    TemplateEngine(config_dir).list_templates()  # writes the cache
    return TemplateEngine(config_dir)


def test_cache_entries_are_the_cached_templates_of_the_load(cached: TemplateEngine) -> None:
    entries = admin.cache_entries(cached.session)
    assert [e.template.template_id for e in entries] == ["a", "b"]
    assert {e.hit_count for e in entries} == {1}  # this engine's load was the one hit
    assert {e.ttl_seconds for e in entries} == {cached.settings.cache.ttl_seconds}


def test_no_entries_without_a_cache_or_for_a_load_not_cached(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.yaml", "- {template_id: a}\n")
    assert admin.cache_entries(TemplateEngine(config_dir, use_cache=False).session) == []
    # a zero TTL: the load is made but not cached
    engine = TemplateEngine(config_dir, settings={"cache": {"ttl_seconds": 0}})
    assert engine.state.cache_key is None and engine.cache is not None
    assert admin.cache_entries(engine.session) == []


def test_cache_info_reports_the_directory_and_the_current_entry(
    cached: TemplateEngine, tmp_path: Path
) -> None:
    info = admin.cache_info(cached.session)
    assert info.enabled and info.directory == str(tmp_path / "templar-cache")
    assert (info.loads, info.parsed_files) == (1, 2)
    assert info.current is not None and info.current.templates == 2
    assert info.current.config_dir == str(cached.config_dir)


def test_cache_info_without_a_cache_names_the_directory_it_would_use(
    cached: TemplateEngine, tmp_path: Path
) -> None:
    info = admin.cache_info(TemplateEngine(cached.config_dir, use_cache=False).session)
    assert not info.enabled and info.directory == str(tmp_path / "templar-cache")
    assert (info.entries, info.current) == (0, None)


def test_clear_cache_removes_this_configs_entries_even_without_a_cache_in_use(
    cached: TemplateEngine,
) -> None:
    uncached = TemplateEngine(cached.config_dir, use_cache=False)
    assert admin.clear_cache(uncached.session) == 3  # the load and its two parsed files
    assert admin.cache_info(cached.session).entries == 0


def test_clear_cache_of_a_storage_that_cannot_be_listed_clears_what_lies_under_the_dir(
    cached: TemplateEngine, write: WriteFile
) -> None:
    write("templar.yaml", "storage: {backend: nosuch}\n")  # the storage cannot be made now
    broken = TemplateEngine(cached.config_dir)
    assert admin.clear_cache(broken.session) == 3  # the load, and the files under the dir
    assert admin.cache_info(cached.session).entries == 0


def test_clearing_everything_asks_nothing_of_the_storage(
    cached: TemplateEngine, write: WriteFile, config_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "templates.yaml").write_text("- {template_id: z}\n")
    TemplateEngine(other).list_templates()  # another config's entries, same cache dir
    write("templar.yaml", "storage: {backend: nosuch}\n")
    assert admin.clear_cache(TemplateEngine(config_dir).session, everything=True) == 5
    assert admin.cache_info(TemplateEngine(other).session).entries == 0
