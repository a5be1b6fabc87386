"""The library API as a new user meets it: list and search agree on inactive templates,
an ambiguous id has its own error, and clear_cache() clears this engine's entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from templar import AmbiguousTemplateError, TemplarError, TemplateEngine
from templar.cli import cli
from templar.testing import write_layer


@pytest.fixture
def mixed(config_dir: Path) -> Path:
    write_layer(
        config_dir,
        "templates.yaml",
        "- {template_id: on, configuration: {zone: a}}\n"
        "- {template_id: off, is_active: false, configuration: {zone: a}}\n",
    )
    return config_dir


def ids(templates: list) -> list[str]:  # type: ignore[type-arg]
    return [t.template_id for t in templates]


def test_list_and_search_leave_out_inactive_templates_alike(mixed: Path) -> None:
    engine = TemplateEngine(mixed)
    assert ids(engine.list_templates()) == ids(engine.search_templates({})) == ["on"]
    assert ids(engine.search_templates({"zone": "a"})) == ["on"]
    everything = ["on", "off"]
    assert ids(engine.list_templates(active_only=False)) == everything
    assert ids(engine.search_templates({}, active_only=False)) == everything
    assert ids(engine.search_templates({"zone": "a"}, active_only=False)) == everything


def test_a_search_on_is_active_is_obeyed_as_written(mixed: Path) -> None:
    engine = TemplateEngine(mixed)
    assert ids(engine.search_templates({"is_active": False})) == ["off"]
    assert ids(engine.search_templates({"is_active": "false"})) == ["off"]
    assert engine.search_templates({"is_active": False}, active_only=True) == []


def test_list_filter_on_is_active_finds_inactive_templates_without_all(mixed: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config-dir", str(mixed), "list", "--filter", "is_active=false", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert [t["template_id"] for t in json.loads(result.stdout)] == ["off"]


@pytest.fixture
def two_instances(config_dir: Path) -> Path:
    write_layer(
        config_dir,
        "templar.yaml",
        "providers:\n  - {name: east, type: generic}\n  - {name: west, type: generic}\n",
    )
    write_layer(config_dir, "templates.yaml", "- {template_id: web}\n")
    return config_dir


def test_an_ambiguous_id_raises_its_own_error_in_api_words(two_instances: Path) -> None:
    engine = TemplateEngine(two_instances)
    with pytest.raises(AmbiguousTemplateError) as caught:
        engine.get_template("web")
    error = caught.value
    assert isinstance(error, TemplarError)
    assert error.instances == ["east", "west"]
    assert error.template_id == "web"
    assert str(error) == (
        "template 'web' exists in several provider instances (east, west); "
        "pass provider= to choose one"
    )
    assert "--provider" not in str(error)
    with pytest.raises(AmbiguousTemplateError):
        engine.explain("web")
    assert engine.get_template("web", provider="west") is not None


def test_the_cli_words_an_ambiguous_id_with_its_option(two_instances: Path) -> None:
    result = CliRunner().invoke(cli, ["--config-dir", str(two_instances), "show", "web"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: template 'web' exists in several provider instances (east, west); "
        "choose one with --provider\n"
    )


@pytest.fixture
def two_dirs(tmp_path: Path) -> tuple[TemplateEngine, TemplateEngine]:
    engines = []
    for name in ("a", "b"):
        directory = tmp_path / name
        directory.mkdir()
        write_layer(directory, "templates.yaml", f"- {{template_id: {name}}}\n")
        write_layer(directory, "generictype_templates.yaml", f"- {{template_id: {name}2}}\n")
        engine = TemplateEngine(directory)
        engine.list_templates()  # loaded and cached
        engines.append(engine)
    return engines[0], engines[1]


def _cached(engine: TemplateEngine) -> bool:
    return TemplateEngine(engine.config_dir).cache_info().current is not None


def test_clear_cache_clears_only_this_engines_entries(
    two_dirs: tuple[TemplateEngine, TemplateEngine],
) -> None:
    a, b = two_dirs
    before = a.cache_info()
    assert before.loads == 2 and before.parsed_files == 4
    assert _cached(a) and _cached(b)
    removed = a.clear_cache()
    assert removed == 3  # a's load and its two parsed files
    after = b.cache_info()
    assert (after.loads, after.parsed_files) == (1, 2)
    assert not _cached(a)
    assert _cached(b)
    assert ids(TemplateEngine(a.config_dir).list_templates()) == ["a", "a2"]  # rebuilt


def test_clear_cache_everything_empties_the_cache_directory(
    two_dirs: tuple[TemplateEngine, TemplateEngine],
) -> None:
    a, b = two_dirs
    assert a.clear_cache(everything=True) == 6
    info = b.cache_info()
    assert (info.loads, info.parsed_files, info.hits, info.misses) == (0, 0, 0, 0)


def test_cache_clear_command_and_its_all_flag(
    two_dirs: tuple[TemplateEngine, TemplateEngine],
) -> None:
    a, b = two_dirs
    result = CliRunner().invoke(cli, ["cache", "clear", "--config-dir", str(a.config_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("removed 3 entries of ")
    assert _cached(b)
    result = CliRunner().invoke(cli, ["cache", "clear", "--all", "--config-dir", str(b.config_dir)])
    assert result.stdout.startswith("removed 3 entries from ")
    assert not _cached(b)
