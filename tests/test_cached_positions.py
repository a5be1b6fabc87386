"""Issues cost nothing until shown, with the cache too (issue 7): a cold load that writes
the cache finds no line; a warm load's issues find theirs when shown, against the
content they were found in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from templar import TemplateEngine
from templar.positions import PositionIndex

from .conftest import WriteFile

# Each template has an issue of a different stage: the reader's (the id written under
# another key), the assembly's (a provider type nobody registers, a provider_name no
# instance has) and validation's (a value of the wrong type).
LAYER = """\
templates:
  # comments move every line below them
  web:
    template_id: webx
    provider_type: generic
  db:
    provider_type: nosuch
  cache:
    provider_type: generic
    provider_name: generic-mian
  queue:
    provider_type: generic
    is_active: maybe
"""
TEMPLAR_YAML = """\
providers:
  - name: generic-main
    type: generic
  - name: ghost
    type: nosuch-either
"""


def _lines(engine: TemplateEngine) -> list[str]:
    return [issue.format_line() for issue in engine.validate().issues]


def test_a_cold_list_that_writes_the_cache_finds_no_line(
    config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", LAYER)
    write("templar.yaml", TEMPLAR_YAML)
    before = PositionIndex.built
    cold = TemplateEngine(config_dir, load_entrypoints=False)
    cold.list_templates()
    assert cold.cache_info().loads == 1  # the load was cached ...
    assert PositionIndex.built == before  # ... and no file was indexed for it

    # served from the cache: the issues find their lines when shown, and they are the
    # lines a load without the cache gives
    warm = TemplateEngine(config_dir, load_entrypoints=False)
    warm.list_templates()
    assert warm.state.from_cache
    assert PositionIndex.built == before  # a warm list indexes nothing either
    expected = _lines(TemplateEngine(config_dir, load_entrypoints=False, use_cache=False))
    assert _lines(warm) == expected
    located = [line for line in expected if "templates.yaml:" in line]
    assert {line.split(":")[1] for line in located} == {"4", "6", "10", "13"}  # real lines
    assert any("templar.yaml:" in line for line in expected)  # and the engine config's


def test_a_file_changed_since_the_cache_gives_no_line_rather_than_a_wrong_one(
    config_dir: Path, write: WriteFile
) -> None:
    layer = write("templates.yaml", LAYER)
    TemplateEngine(config_dir, load_entrypoints=False).list_templates()
    warm = TemplateEngine(config_dir, load_entrypoints=False)
    issues = warm.validate().issues  # read from the cache, not yet located
    assert warm.state.from_cache
    layer.write_text("# two lines\n# more\n" + LAYER)  # every line moves down by two
    mismatch = next(i for i in issues if i.code == "template-id-mismatch")
    invalid = next(i for i in issues if i.code == "invalid-field")
    assert (mismatch.line, invalid.line) == (None, None)  # not 4 and 13 of other content
    # a new load sees the new content, and its lines
    fresh = TemplateEngine(config_dir, load_entrypoints=False).validate().issues
    assert next(i for i in fresh if i.code == "template-id-mismatch").line == 6


#: when a load was validated: the warm one was validated when the cache was written
_WHEN = r'"validation_time": "[^"]*"'


def _templates(config_dir: Path, cache_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "templar", "--config-dir", str(config_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TEMPLAR_CACHE_DIR": str(cache_dir), "TEMPLAR_PLUGINS": "", "PATH": ""},
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def test_the_cli_prints_the_same_lines_from_a_warm_cache_as_cold(
    tmp_path: Path, config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", LAYER)
    write("templar.yaml", TEMPLAR_YAML)
    cache_dir = tmp_path / "cli-cache"
    commands = [
        ("validate",),
        ("validate", "--format", "json"),
        ("show", "queue", "--explain"),
        ("show", "queue", "--explain", "--format", "json"),
    ]
    uncached = {c: _templates(config_dir, cache_dir, "--no-cache", *c) for c in commands}
    _templates(config_dir, cache_dir, "list")  # a cold list writes the cache
    warm = {c: _templates(config_dir, cache_dir, *c) for c in commands}
    assert re.sub(_WHEN, "", warm[commands[1]]) == re.sub(_WHEN, "", uncached[commands[1]])
    del warm[commands[1]], uncached[commands[1]]
    assert warm == uncached
    report = json.loads(_templates(config_dir, cache_dir, "validate", "--format", "json"))
    assert all(i["line"] for i in report["issues"] if i["file"].endswith("templates.yaml"))
    info = json.loads(_templates(config_dir, cache_dir, "cache", "info", "--format", "json"))
    assert info["hits"] >= 1  # the commands above were served from the cache
