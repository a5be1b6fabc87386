"""The CLI behaves like the tools people already use: global options anywhere, one
``--format`` vocabulary, quiet closed pipes, colour only where it belongs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from templar.cli import cli
from tests.conftest import WriteFile


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_templates(write: WriteFile, config_dir: Path) -> Path:
    write(
        "templates.yaml",
        "- {template_id: web, name: Web}\n- {template_id: worker, name: Worker, is_active: false}\n",
    )
    return config_dir


@pytest.mark.parametrize(
    "args",
    [
        ("--config-dir", "{dir}", "list", "--format", "json"),
        ("list", "--config-dir", "{dir}", "--format", "json"),
        ("list", "--format", "json", "--config-dir", "{dir}", "--no-cache", "--debug"),
        ("--config-dir", "/does/not/exist", "list", "--config-dir", "{dir}", "--format", "json"),
    ],
    ids=["before", "after", "after-all-three", "after-overrides-before"],
)
def test_global_options_before_or_after_the_command(two_templates: Path, args: tuple[str]) -> None:
    code, out, err = run(*(a.format(dir=two_templates) for a in args))
    assert code == 0, err
    assert [t["template_id"] for t in json.loads(out)] == ["web"]


def test_global_options_after_a_subcommand_of_a_group(two_templates: Path) -> None:
    code, out, err = run("cache", "info", "--config-dir", str(two_templates), "--format", "json")
    assert code == 0, err
    assert "directory" in json.loads(out)


def test_debug_after_the_command_shows_the_traceback(two_templates: Path) -> None:
    code, _, err = run("show", "nope", "--config-dir", str(two_templates), "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert "error: no template 'nope'" in err


def test_no_cache_after_the_command_leaves_the_cache_alone(two_templates: Path) -> None:
    code, _, err = run("list", "--config-dir", str(two_templates), "--no-cache")
    assert code == 0, err
    code, out, _ = run("cache", "info", "--config-dir", str(two_templates), "--format", "json")
    assert json.loads(out)["current"] is None
