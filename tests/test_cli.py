"""The ``templates`` command line through click's CliRunner, and once as a real process."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from templar.cli import cli, main
from tests.conftest import WriteFile

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_configs"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def layered(write: WriteFile, config_dir: Path) -> Path:
    write(
        "templates.yaml",
        """
templates:
  - template_id: web
    name: Web
    provider_api: Pod
    configuration: {replicas: 2, zone: a}
  - template_id: old
    is_active: false
  - template_id: worker
    name: Worker
    configuration: {replicas: 1, zone: b}
""",
    )
    write("genericinst_templates.yaml", "- template_id: web\n  replicas: 5\n")
    return config_dir


def test_list_table_shows_ids_providers_and_sources(layered: Path) -> None:
    code, out, _ = run("--config-dir", str(layered), "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "PROVIDER", "TYPE", "API"]
    assert [line.split()[0] for line in lines[1:]] == ["web", "worker"]
    assert "genericinst_templates.yaml (1)" in lines[1]


def test_a_query_leaves_the_garbage_collector_as_it_found_it(layered: Path) -> None:
    # read-only commands run with the collector paused (a one-shot load); an
    # embedding process, or CliRunner in a test, gets it back enabled, or disabled
    assert gc.isenabled()
    for command in (["list"], ["show", "web"], ["validate"]):
        assert run("--config-dir", str(layered), *command)[0] == 0
        assert gc.isenabled(), command
    gc.disable()
    try:
        assert run("--config-dir", str(layered), "list")[0] == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_main_called_in_process_freezes_nothing(layered: Path) -> None:
    # only the console script (console_main) leaves its last objects to the OS
    before = gc.get_freeze_count()
    with pytest.raises(SystemExit) as done:
        main(["--config-dir", str(layered), "list"])
    assert done.value.code == 0 and gc.get_freeze_count() == before


def test_list_json_is_an_array_of_dto_objects(layered: Path) -> None:
    code, out, _ = run("--config-dir", str(layered), "list", "--format", "json", "--all")
    assert code == 0
    data = json.loads(out)
    assert [t["template_id"] for t in data] == ["web", "old", "worker"]
    web = data[0]
    assert web["configuration"] == {"replicas": 5, "zone": "a"}
    assert web["provider_type"] == "generic" and web["provider_name"] == "generic"
    assert web["file_priority"] == 1 and web["source_file"].endswith("genericinst_templates.yaml")
    assert set(web) >= {
        "template_id",
        "name",
        "description",
        "provider_api",
        "is_active",
        "created_at",
        "tags",
        "metadata",
    }


def test_list_filters_by_provider_type_and_field(layered: Path) -> None:
    def ids(*args: str) -> list[str]:
        code, out, _ = run("--config-dir", str(layered), "list", "--format", "json", *args)
        assert code == 0, out
        return [t["template_id"] for t in json.loads(out)]

    assert ids("--filter", "zone=b") == ["worker"]
    assert ids("--filter", "configuration.replicas=5", "--filter", "provider_api=Pod") == ["web"]
    assert ids("--type", "generic") == ["web", "worker"]
    code, _, err = run("--config-dir", str(layered), "list", "--provider", "generc")
    assert code == 1
    assert (
        err
        == "error: unknown provider instance 'generc' (did you mean 'generic'?); instances: generic\n"
    )
    assert ids("--all", "--filter", "is_active=false") == ["old"]


def test_list_yaml_output(layered: Path) -> None:
    from ruamel.yaml import YAML

    code, out, _ = run("--config-dir", str(layered), "list", "--format", "yaml")
    assert code == 0
    assert [t["template_id"] for t in YAML(typ="safe").load(out)] == ["web", "worker"]


def test_bad_filter_is_a_usage_error(layered: Path) -> None:
    code, _, err = run("--config-dir", str(layered), "list", "--filter", "novalue")
    assert code == 2 and "FIELD=VALUE" in err


def test_show_and_show_explain(layered: Path) -> None:
    code, out, _ = run("--config-dir", str(layered), "show", "web", "--format", "json")
    assert code == 0 and json.loads(out)["configuration"]["replicas"] == 5

    code, out, _ = run("--config-dir", str(layered), "show", "web", "--explain")
    assert code == 0
    assert "configuration.replicas = 5" in out
    assert "genericinst_templates.yaml:2:3" in out
    assert "shadows 2 from shared" in out and "templates.yaml:6:" in out

    code, out, _ = run("--config-dir", str(layered), "show", "web", "--explain", "--format", "json")
    fields = {f["field"]: f for f in json.loads(out)["fields"]}
    assert fields["configuration.replicas"]["source"]["line"] == 2


def test_show_unknown_id_suggests_and_fails(layered: Path) -> None:
    code, _, err = run("--config-dir", str(layered), "show", "wbe")
    assert code == 1
    assert err.strip() == "error: no template 'wbe' (did you mean 'web'?)"


def test_validate_exit_codes_and_editor_friendly_lines(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", "- template_id: ok\n")
    assert run("--config-dir", str(config_dir), "validate")[0] == 0

    write("templates.yaml", "- template_id: ok\n  descripton: typo\n")
    code, out, _ = run("--config-dir", str(config_dir), "validate")
    assert code == 0 and "warning unknown-key" in out
    assert run("--config-dir", str(config_dir), "validate", "--strict")[0] == 1

    write("templates.yaml", "- template_id: ok\n- template_id: bad\n  is_active: maybe\n")
    code, out, _ = run("--config-dir", str(config_dir), "validate")
    assert code == 1
    [line] = out.splitlines()
    assert line.endswith(
        "templates.yaml:3:14: error invalid-field [bad] is_active: "
        "Input should be a valid boolean, unable to interpret input (got 'maybe')"
    )

    code, out, _ = run("--config-dir", str(config_dir), "validate", "--format", "json")
    payload = json.loads(out)
    assert code == 1 and payload["valid"] is False and payload["error_count"] == 1
    assert payload["issues"][0]["line"] == 3 and payload["issues"][0]["field"] == "is_active"


@pytest.mark.parametrize(
    ("args", "expected_code", "expected_error"),
    [
        (["--config-dir", "{missing}", "list"], 2, "does not exist"),
        (["--config-dir", "{typo}", "list"], 2, "unknown key 'marge' (did you mean 'merge'?)"),
        (["--config-dir", "{typo}", "validate"], 2, "unknown key 'marge'"),
        (["--config-dir", "{ok}", "show", "nope"], 1, "no template 'nope'"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_errors_are_one_line_or_a_json_object_never_a_traceback(
    tmp_path: Path, args: list[str], expected_code: int, expected_error: str, as_json: bool
) -> None:
    (tmp_path / "typo").mkdir()
    (tmp_path / "typo" / "templar.yaml").write_text("marge: deep\n")
    (tmp_path / "ok").mkdir()
    args = [
        a.format(missing=tmp_path / "missing", typo=tmp_path / "typo", ok=tmp_path / "ok")
        for a in args
    ]
    if as_json:
        args.extend(["--format", "json"])
    code, out, err = run(*args)
    assert code == expected_code
    assert "Traceback" not in out + err
    if as_json:
        payload = json.loads(out)
        assert payload["error"] is True and expected_error in payload["message"]
        assert set(payload) == {"error", "error_type", "message", "context", "timestamp"}
    else:
        assert err.count("\n") == 1 and err.startswith("error: ") and expected_error in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    code, _, err = run("--debug", "--config-dir", str(tmp_path / "missing"), "list")
    assert code == 2 and "Traceback" in err


def test_schema_of_an_unknown_type_is_an_error() -> None:
    code, _, err = run("schema", "--type", "nope")
    assert code == 1 and err == "error: unknown provider type 'nope'; installed: generic\n"


def test_schema_describes_layer_files_as_written_and_effective_templates() -> None:
    import jsonschema

    code, out, _ = run("schema")
    assert code == 0
    validator = jsonschema.Draft202012Validator(json.loads(out))
    for document in (
        [{"template_id": "a", "name": "A", "replicas": 2}],
        {"templates": [{"templateId": "a"}], "scheduler_type": "hostfactory"},
        {"a": {"configuration": {"x": 1}}, "_base": {"name": "shared"}},
    ):
        assert list(validator.iter_errors(document)) == [], document
    assert list(validator.iter_errors([{"name": "no id"}]))
    assert list(validator.iter_errors([{"template_id": "a", "is_active": "maybe"}]))

    code, out, _ = run("schema", "--effective")
    schema = json.loads(out)
    assert code == 0
    assert schema["properties"]["template_id"]["type"] == "string"
    assert "template_id" in schema["required"] and "source_file" in schema["properties"]


def test_plugins_lists_the_builtins_with_their_hooks() -> None:
    code, out, _ = run("plugins", "--format", "json")
    assert code == 0
    [builtin] = [p for p in json.loads(out) if p["builtin"]]
    assert builtin["name"] == "templar.builtin"
    assert builtin["registered"] == ["generic", "file"]
    assert builtin["hooks"] == ["templar_register_providers", "templar_register_storage"]
    assert builtin["error"] is None


def test_version() -> None:
    from templar import __version__

    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"templates {__version__}"


def test_config_dir_from_environment(layered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLAR_CONFIG_DIR", str(layered))
    code, out, _ = run("list", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2


def test_sample_configs_validate_and_broken_samples_fail() -> None:
    result = CliRunner().invoke(
        cli, ["--config-dir", str(SAMPLES), "validate"], env={"TEMPLAR_PLUGINS": "aws,k8s"}
    )
    assert result.exit_code == 0, result.output
    env = {"TEMPLAR_PLUGINS": ""}
    result = CliRunner().invoke(cli, ["--config-dir", str(SAMPLES / "broken"), "validate"], env=env)
    assert result.exit_code == 1
    codes = {line.split()[2] for line in result.stdout.splitlines()}
    assert codes >= {
        "parse-error",
        "encoding-error",
        "invalid-shape",
        "unsafe-tag",
        "alias-bomb",
        "missing-template-id",
        "duplicate-template-id",
        "ambiguous-template-id",
        "unknown-provider-type",
        "invalid-field",
        "unknown-key",
    }
    result = CliRunner().invoke(
        cli, ["--config-dir", str(SAMPLES / "broken" / "config-typo"), "list"], env=env
    )
    assert result.exit_code == 2


def test_the_real_console_script_and_python_m(layered: Path) -> None:
    env = {**os.environ, "TEMPLAR_PLUGINS": ""}
    script = Path(sys.executable).with_name("templates")
    for command in ([str(script)], [sys.executable, "-m", "templar"]):
        done = subprocess.run(
            [*command, "--config-dir", str(layered), "list", "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert [t["template_id"] for t in json.loads(done.stdout)] == ["web", "worker"]
    done = subprocess.run(
        [str(script), "--config-dir", str(layered / "missing"), "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (
        done.returncode == 2
        and done.stderr.startswith("error: ")
        and "Traceback" not in done.stderr
    )


def test_an_empty_config_dir_is_a_warning(config_dir: Path) -> None:
    code, out, _ = run("--config-dir", str(config_dir), "validate")
    assert code == 0 and "warning no-templates no template files found" in out
    assert run("--config-dir", str(config_dir), "validate", "--strict")[0] == 1


def test_every_validate_line_has_file_line_and_column() -> None:
    import json
    import re

    def validate(*args: str) -> str:
        result = CliRunner().invoke(
            cli,
            ["--config-dir", str(SAMPLES / "broken"), "validate", *args],
            env={"TEMPLAR_PLUGINS": ""},
        )
        return result.stdout

    lines = validate().splitlines()  # the summary goes to stderr
    issues = json.loads(validate("--format", "json"))["issues"]
    assert lines and len(lines) == len(issues)
    pattern = re.compile(r"^([^:]+):(\d+):(\d+): (error|warning) ([a-z-]+) ")
    # Issues about a whole file have no position and point at its start (1:1); every
    # other line shows the position the issue really has, not a stand-in.
    whole_file = {"alias-bomb"}
    for line, issue in zip(lines, issues, strict=True):
        match = pattern.match(line)
        assert match, line
        assert match[5] == issue["code"]
        if issue["code"] in whole_file:
            assert issue["line"] is None and match.group(2, 3) == ("1", "1")
        else:
            assert isinstance(issue["line"], int) and isinstance(issue["column"], int), issue
            assert (int(match[2]), int(match[3])) == (issue["line"], issue["column"])
