"""Bad input: each case is a clear issue at the right file, line and column, and every
other file still loads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from templar import ConfigurationError, TemplateEngine
from tests.conftest import WriteFile, as_unprivileged

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


CASES = [
    # id, file name, content, expected code, line, column, message fragment
    (
        "yaml-syntax",
        "templates.yaml",
        "- template_id: x\n  name: [oops\n  size: 1\n",
        "parse-error",
        3,
        7,
        "invalid YAML",
    ),
    (
        "yaml-unclosed",
        "templates.yaml",
        "- template_id: x\n  name: [oops\n",
        "parse-error",
        3,
        1,
        "(started at line 2, column 9)",
    ),
    (
        "json-syntax",
        "templates.json",
        '[{"template_id": "x",}]',
        "parse-error",
        1,
        21,
        "invalid JSON",
    ),
    (
        "scalar-top-level",
        "templates.yaml",
        "42\n",
        "invalid-shape",
        1,
        1,
        "top level is an integer",
    ),
    (
        "templates-not-a-list",
        "templates.yaml",
        "templates: nope\n",
        "invalid-shape",
        1,
        1,
        "'templates' must be a list",
    ),
    (
        "item-not-a-mapping",
        "templates.yaml",
        "- just a string\n",
        "invalid-template",
        1,
        3,
        "must be a mapping",
    ),
    (
        "missing-id",
        "templates.yaml",
        "- name: anonymous\n",
        "missing-template-id",
        1,
        3,
        "no template_id",
    ),
    (
        "bad-id-type",
        "templates.yaml",
        "- template_id: [1]\n",
        "invalid-template-id",
        1,
        3,
        "must be a string",
    ),
    (
        "duplicate-id",
        "templates.yaml",
        "- template_id: x\n- template_id: y\n- template_id: x\n",
        "duplicate-template-id",
        3,
        3,
        "first defined at line 1",
    ),
    (
        "unknown-provider-type",
        "templates.yaml",
        "- template_id: x\n  provider_type: awz\n",
        "unknown-provider-type",
        1,
        3,
        "unknown provider type 'awz'",
    ),
    (
        "core-field-wrong-type",
        "templates.yaml",
        "- template_id: x\n  tags: [a, b]\n",
        "invalid-field",
        2,
        9,
        "valid dictionary",
    ),
    (
        "core-field-wrong-type-json",
        "templates.json",
        '[\n  {"template_id": "x",\n   "is_active": "perhaps"}\n]',
        "invalid-field",
        3,
        17,
        "valid boolean",
    ),
    (
        "python-tag",
        "templates.yaml",
        "- template_id: x\n  configuration: !!python/object/apply:os.system [echo pwned]\n",
        "unsafe-tag",
        2,
        18,
        "python/object",
    ),
    ("alias-bomb", "templates.yaml", BILLION_LAUGHS, "alias-bomb", None, None, "alias"),
    (
        "deep-nesting",
        "templates.yaml",
        "- template_id: x\n  configuration: {a: " + "[" * 500 + "]" * 500 + "}\n",
        "too-deep",
        None,
        None,
        "deeper than 100 levels",
    ),
    ("recursive-alias", "templates.yaml", "a: &a [*a]\n", "alias-bomb", None, None, "recursive"),
    (
        "not-utf8",
        "templates.yaml",
        "- template_id: x\n  name: caf\xe9\n".encode("latin-1"),
        "encoding-error",
        2,
        12,
        "not valid UTF-8",
    ),
    (
        "near-miss-core-field",
        "templates.yaml",
        "- template_id: x\n  descriptoin: typo\n",
        "unknown-key",
        2,
        3,
        "did you mean 'description'",
    ),
]


@pytest.mark.parametrize(
    ("file_name", "content", "expected_code", "line", "column", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_is_reported_precisely_and_the_rest_still_loads(
    write: WriteFile,
    config_dir: Path,
    file_name: str,
    content: str | bytes,
    expected_code: str,
    line: int | None,
    column: int | None,
    fragment: str,
) -> None:
    write(file_name, content)
    write("genericinst_templates.yaml", "- template_id: good\n  name: still here\n")

    started = time.monotonic()
    engine = TemplateEngine(config_dir)
    report = engine.validate()
    elapsed = time.monotonic() - started

    matching = [i for i in report.issues if i.code == expected_code]
    assert matching, [i.format_line() for i in report.issues]
    issue = matching[0]
    assert issue.file == str(config_dir / file_name)
    assert (issue.line, issue.column) == (line, column), issue.format_line()
    assert fragment in issue.message
    assert engine.get_template("good") is not None
    assert elapsed < 10, "hostile input must be refused in bounded time"


def test_duplicate_id_keeps_the_first_definition(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", "- template_id: x\n  name: first\n- template_id: x\n  name: second\n")
    engine = TemplateEngine(config_dir)
    assert engine.get_template("x").name == "first"  # type: ignore[union-attr]
    [issue] = engine.validate().errors
    assert "line 1" in issue.message and issue.line == 3


def test_same_id_in_yaml_and_json_of_one_layer_is_ambiguous(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.json", [{"template_id": "x", "name": "json"}])
    write("templates.yaml", "- template_id: other\n- template_id: x\n  name: yaml\n")
    report = TemplateEngine(config_dir).validate()
    [issue] = report.errors
    assert issue.code == "ambiguous-template-id"
    assert (issue.file, issue.line, issue.column) == (str(config_dir / "templates.yaml"), 2, 3)
    assert "templates.json" in issue.message


def test_unreadable_layer_file_is_an_issue_not_a_crash(config_dir: Path, write: WriteFile) -> None:
    (config_dir / "genericprov_templates.yaml").symlink_to(config_dir / "missing-target.yaml")
    write("templates.yaml", [{"template_id": "ok"}])
    engine = TemplateEngine(config_dir)
    [issue] = engine.validate().errors
    assert issue.code == "unreadable-file"
    assert "cannot read file" in issue.message
    assert engine.get_template("ok") is not None


def test_permission_denied_is_an_issue() -> None:
    # as a user file modes apply to (``nobody`` when the tests run as root), through the
    # command line: the unreadable layer is named, the readable one still lists
    prefix = as_unprivileged()
    base = Path(tempfile.mkdtemp(prefix="templar-unreadable-", dir="/tmp"))
    try:
        base.chmod(0o755)
        config = base / "config"
        config.mkdir()
        (config / "templates.yaml").write_text("- template_id: ok\n")
        secret = config / "genericprov_templates.yaml"
        secret.write_text("- template_id: x\n")
        secret.chmod(0)
        templates = [*prefix, str(Path(sys.executable).with_name("templates")), "--no-cache"]
        env = {**os.environ, "TEMPLAR_PLUGINS": ""}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            command = [*templates, "--config-dir", str(config), *args]
            return subprocess.run(
                command, env=env, cwd=base, capture_output=True, text=True, timeout=60
            )

        checked = run("validate")
        assert checked.returncode == 1, checked.stdout + checked.stderr
        [line] = [line for line in checked.stdout.splitlines() if "unreadable-file" in line]
        assert line.startswith("config/genericprov_templates.yaml:1:1: error ") and (
            "ermission" in line
        ), line
        listed = run("list", "--format", "json")
        assert [t["template_id"] for t in json.loads(listed.stdout)] == ["ok"], listed.stderr
    finally:
        shutil.rmtree(base)


def test_missing_config_dir_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        TemplateEngine(tmp_path / "nope")


@pytest.mark.parametrize(
    ("settings", "expected_error"),
    [
        (
            "marge: deep\n",
            r"templar.yaml:1:1: marge: unknown key 'marge' \(did you mean 'merge'\?\)",
        ),
        (
            "providers:\n  - {name: prod, typ: aws}\n",
            r"templar.yaml:2:18: providers.0.typ: unknown key 'typ' \(did you mean 'type'\?\) \(and 1 more problem\)",
        ),
        ("merge: shallow\n", r"templar.yaml:1:8: merge: Input should be 'deep' or 'replace'"),
        (
            "providers:\n  - name: a\n    type: aws\n    defualts: {}\n",
            r"templar.yaml:4:5: providers.0.defualts: unknown key 'defualts' \(did you mean 'defaults'\?\)",
        ),
        ("providers:\n  - {name: a, type: x}\n  - {name: a, type: y}\n", r"declared twice"),
        (
            "cache:\n  ttl_second: 5\n",
            r"templar.yaml:2:3: cache.ttl_second: unknown key 'ttl_second' \(did you mean 'ttl_seconds'\?\)",
        ),
        ("- a list\n", r"must be a mapping"),
        ("merge: [unclosed\n", r"templar.yaml:2:1: invalid YAML"),
    ],
)
def test_engine_config_errors_name_file_line_and_field(
    write: WriteFile, config_dir: Path, settings: str, expected_error: str
) -> None:
    write("templar.yaml", settings)
    with pytest.raises(ConfigurationError, match=expected_error):
        TemplateEngine(config_dir)


def test_a_template_with_no_valid_version_is_not_listed(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", "- template_id: bad\n  is_active: nope\n- template_id: fine\n")
    engine = TemplateEngine(config_dir)
    assert [t.template_id for t in engine.list_templates(active_only=False)] == ["fine"]
    results = {r.template_id: r for r in engine.validate().results}
    assert not results["bad"].is_valid and results["fine"].is_valid


def test_did_you_mean_for_a_nested_key_uses_the_nested_model(
    write: WriteFile, config_dir: Path
) -> None:
    from tests.providers_for_tests import SizedPlugin

    write("sizedprov_templates.yaml", "- template_id: t\n  size: 2\n  limits:\n    memroy: 2Gi\n")
    [issue] = TemplateEngine(config_dir, plugins=[SizedPlugin()]).validate().errors
    assert issue.code == "unknown-key" and issue.field == "configuration.limits.memroy"
    assert issue.message == "unknown key 'memroy' (did you mean 'memory'?)"
    assert (issue.line, issue.column) == (4, 5)


def test_a_provider_field_close_to_a_core_field_is_no_typo(
    write: WriteFile, config_dir: Path
) -> None:
    from tests.providers_for_tests import SizedPlugin

    write(
        "sizedprov_templates.yaml",
        "- template_id: t\n  size: 2\n  descriptor: fine\n  descripton: typo\n",
    )
    report = TemplateEngine(config_dir, plugins=[SizedPlugin()]).validate()
    assert [(i.code, i.line) for i in report.issues] == [("unknown-key", 4)]
    assert "did you mean 'description'" in report.issues[0].message


def test_a_layer_file_with_only_comments_is_a_warning(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", "# templates go here\n")
    write("templar.yaml", "# nothing configured yet\n")
    report = TemplateEngine(config_dir).validate()
    assert [(i.code, i.severity.value) for i in report.issues] == [("empty-file", "warning")]


def test_a_declared_instance_of_an_unknown_type_is_one_error_in_templar_yaml(
    write: WriteFile, config_dir: Path
) -> None:
    write(
        "templar.yaml",
        "providers:\n  - name: prod\n    type: generc\n  - {name: ok, type: generic}\n",
    )
    write("templates.yaml", "- template_id: a\n- template_id: b\n")
    engine = TemplateEngine(config_dir)
    [issue] = engine.validate().file_issues
    assert (issue.code, issue.file, issue.line, issue.column) == (
        "unknown-provider-type",
        str(config_dir / "templar.yaml"),
        3,
        11,
    )
    assert "provider instance 'prod'" in issue.message and "did you mean 'generic'" in issue.message
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]


def test_a_fifo_named_like_a_layer_is_reported_not_waited_on(
    config_dir: Path, write: WriteFile
) -> None:
    os.mkfifo(config_dir / "genericprov_templates.yaml")
    write("templates.yaml", [{"template_id": "ok"}])
    for use_cache in (True, False):
        engine = TemplateEngine(config_dir, use_cache=use_cache)
        [issue] = engine.validate().errors
        assert issue.code == "unreadable-file" and "not a regular file" in issue.message
        assert engine.get_template("ok") is not None


def test_an_id_mapping_entry_naming_another_id_warns_and_the_key_wins(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.yaml", "web:\n  template_id: other\n  name: Web\n")
    engine = TemplateEngine(config_dir)
    assert [t.template_id for t in engine.list_templates()] == ["web"]
    [issue] = engine.validate().issues
    assert (issue.code, issue.severity.value, issue.line, issue.column) == (
        "template-id-mismatch",
        "warning",
        2,
        3,
    )
