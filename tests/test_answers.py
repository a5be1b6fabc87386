"""Whole answers of read-only commands (templar.cli.answers, templar.cache.answers).

Every test runs ``templates`` as real processes on real files with a real diskcache
directory: the first run computes the answer the normal way and stores it, the next
one must print the same bytes and exit the same way without importing pydantic, and
any change of an input must make the command run the normal way again.

An answer is only stored when every input is older than the clock granularity
(``CLOCK_GRANULARITY_NS``): the config directories are made first and aged by one
wait, and a test that edits a file waits again before it expects a stored answer.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import time
from pathlib import Path

import diskcache
import pytest

from templar.bench.corpus import write_single_file
from templar.cache.answers import ANSWER, CLOCK_GRANULARITY_NS, SETTINGS_FILE_NAMES
from templar.settings import SETTINGS_FILE_NAMES as ENGINE_SETTINGS_FILE_NAMES

SAMPLES = Path(__file__).parent.parent / "sample_configs"
WAIT = CLOCK_GRANULARITY_NS / 1e9 + 0.2

#: Runs the console entry point and, however it ends, reports which modules it had
#: imported into the file named by $ANSWERS_TEST_REPORT (not a variable Templar reads).
RUNNER = """
import json, os, sys
from templar.cli import main
try:
    main(sys.argv[1:])
finally:
    with open(os.environ["ANSWERS_TEST_REPORT"], "w") as report:
        json.dump(sorted(sys.modules), report)
"""

CONFIGS = {
    "samples": SAMPLES,
    "broken": SAMPLES / "broken",
    "orb": SAMPLES / "orb",
}
#: config copies each test may change as it likes
SCRATCH = (
    "layer-edit",
    "new-file",
    "settings-edit",
    "environment",
    "cache-dir",
    "no-cache",
    "ttl",
    "terminal",
    "corrupt",
    "clear",
    "plugin",
    "broken-plugin",
    "cache-setting",
    "sql",
)


class Run:
    """One finished ``templates`` process."""

    def __init__(self, done: subprocess.CompletedProcess[bytes], modules: list[str]) -> None:
        self.stdout, self.stderr, self.code = done.stdout, done.stderr, done.returncode
        self.modules = set(modules)

    @property
    def served(self) -> bool:
        """Answered from the cache: neither pydantic nor the engine was imported."""
        return "pydantic" not in self.modules and "templar.engine" not in self.modules

    def same_output(self, other: Run) -> bool:
        return (self.stdout, self.stderr, self.code) == (other.stdout, other.stderr, other.code)


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the sample configs and scratch configs, older than the granularity."""
    root = tmp_path_factory.mktemp("answers")
    for name, source in CONFIGS.items():
        shutil.copytree(source, root / name)
    for name in SCRATCH:
        shutil.copytree(SAMPLES, root / name, ignore=shutil.ignore_patterns("broken", "orb"))
    plugin = root / "plugin-site"
    (plugin / "answers_plugin").mkdir(parents=True)
    (plugin / "answers_plugin" / "__init__.py").write_text(_plugin_source("first"))
    dist = plugin / "answers_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: answers-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[templar]\nanswers = answers_plugin\n")
    broken = root / "broken-site"
    (broken / "broken_plugin").mkdir(parents=True)
    (broken / "broken_plugin" / "__init__.py").write_text(
        "raise RuntimeError('broken on purpose')\n"
    )
    dist = broken / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[templar]\nbroken = broken_plugin\n")
    (root / "cwd").mkdir()  # on sys.path (python -c): keep it unchanged
    (root / "reports").mkdir()
    settings = root / "cache-setting" / "templar.yaml"
    settings.write_text(settings.read_text() + "\ncache:\n  dir: ../cache-from-setting\n")
    write_single_file(root / "large", 400, "json")  # entries big enough for value files
    (root / "cache").mkdir(mode=0o700)
    (root / "other-cache").mkdir(mode=0o700)
    time.sleep(WAIT)
    return root


def _plugin_source(message: str) -> str:
    """A plugin that warns about every template of the 'generic' type with
    ``message``: editing it changes what ``validate`` prints."""
    return (
        "from templar import Severity, ValidationIssueDTO, hookimpl\n\n"
        "@hookimpl\n"
        "def templar_validate_template(template, provider, instance, configuration):\n"
        "    if template.provider_type != 'generic':\n"
        "        return None\n"
        f"    return [ValidationIssueDTO(code='answers-test', severity=Severity.WARNING,"
        f" message={message!r}, field='name')]\n"
    )


def run(
    root: Path,
    config: str,
    *args: str,
    env: dict[str, str] | None = None,
    cache: str | None = "cache",
    terminal: bool = False,
) -> Run:
    """``templates --config-dir ROOT/CONFIG ARGS`` in a new process."""
    report = root / "reports" / f"modules-{time.monotonic_ns()}.json"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEMPLAR_", "ORB_")) and key not in ("NO_COLOR", "COLUMNS")
    }
    environment["ANSWERS_TEST_REPORT"] = str(report)
    if cache is not None:  # else the engine config (or the user cache dir) says where
        environment["TEMPLAR_CACHE_DIR"] = str(root / cache)
    environment.update(env or {})
    argv = [sys.executable, "-c", RUNNER, "--config-dir", str(root / config), *args]
    if terminal:
        done = _run_in_terminal(argv, environment, root / "cwd")
    else:
        done = subprocess.run(
            argv, capture_output=True, env=environment, cwd=root / "cwd", timeout=120
        )
    modules = json.loads(report.read_text())
    report.unlink()
    return Run(done, modules)


def _run_in_terminal(
    argv: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdout=secondary, stderr=subprocess.PIPE, env=env, cwd=cwd)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.stderr is not None
        with process.stderr:
            stderr = process.stderr.read()
        code = process.wait(timeout=120)
    finally:
        os.close(primary)
    return subprocess.CompletedProcess(argv, code, b"".join(chunks), stderr)


def stored_then_served(root: Path, config: str, *args: str, **options: object) -> Run:
    """Run twice: the first computes and stores, the second must be served, byte for
    byte the same. Returns the served run."""
    first = run(root, config, *args, **options)  # type: ignore[arg-type]
    second = run(root, config, *args, **options)  # type: ignore[arg-type]
    assert not first.served
    assert second.served, f"not served from the cache: {second.stderr[-500:]!r}"
    assert second.same_output(first)
    return second


def test_settings_file_names_are_the_engines() -> None:
    assert SETTINGS_FILE_NAMES == ENGINE_SETTINGS_FILE_NAMES


def test_importing_the_cli_imports_no_engine_pydantic_or_plugin() -> None:
    code = (
        "import sys, templar, templar.cli, templar.cli.answers, templar.cache.answers\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'templar.engine',"
        " 'templar_aws', 'templar_k8s', 'templar.plugins', 'click'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_still_import() -> None:
    import templar

    for name in templar.__all__:
        assert getattr(templar, name) is not None, name
    assert isinstance(templar.__version__, str)


COMMANDS = [
    ("samples", ["list"]),
    ("samples", ["list", "--format", "json"]),
    ("samples", ["list", "--format", "yaml"]),
    ("samples", ["list", "--style", "hostfactory"]),
    ("samples", ["list", "--style", "hostfactory", "--format", "yaml", "--provider", "aws-prod"]),
    ("samples", ["--color", "always", "list", "--filter", "provider_type=aws"]),
    ("samples", ["show", "hf-ondemand", "--provider", "aws-prod"]),
    ("samples", ["show", "web-server", "--format", "json"]),
    ("samples", ["show", "web-server", "--explain"]),
    ("samples", ["validate"]),
    ("samples", ["validate", "--format", "sarif"]),
    ("broken", ["validate"]),
    ("broken", ["validate", "--format", "json"]),
    ("broken", ["validate", "--format", "github"]),
    ("broken", ["list", "--strict"]),
    ("broken", ["list", "--style", "hostfactory"]),
    ("orb", ["list", "--style", "hostfactory"]),
    ("orb", ["validate", "--strict"]),
]


@pytest.mark.parametrize(("config", "args"), COMMANDS, ids=[" ".join(a) for _, a in COMMANDS])
def test_a_served_answer_is_the_computed_one_byte_for_byte(
    aged: Path, config: str, args: list[str]
) -> None:
    served = stored_then_served(aged, config, *args)
    computed = run(aged, config, "--no-cache", *args)
    assert not computed.served
    if args[:1] == ["validate"] and "json" in args:
        # each result says when it was validated: the cached load's time, not now
        assert _without_times(served.stdout) == _without_times(computed.stdout)
        assert (served.stderr, served.code) == (computed.stderr, computed.code)
    else:
        assert served.same_output(computed)


def _without_times(report: bytes) -> object:
    data = json.loads(report)
    for result in data["results"]:
        assert result.pop("validation_time")
    return data


def test_a_large_answer_in_a_fresh_cache_directory_is_stored(aged: Path) -> None:
    # the load goes in a value file, so the cache directory changes, and the next
    # command opens that directory to read it: the cache is not one of its inputs
    (aged / "large-cache").mkdir(mode=0o700)
    time.sleep(WAIT)
    options = {"cache": "large-cache"}
    run(aged, "large", "validate", **options)  # the load goes in a new value file
    served = stored_then_served(aged, "large", "list", "--style", "hostfactory", **options)
    assert len(json.loads(served.stdout)["templates"]) == 400


def test_broken_config_answers_keep_their_errors_and_exit_1(aged: Path) -> None:
    served = stored_then_served(aged, "broken", "validate", "--strict")
    assert served.code == 1
    assert b"error" in served.stdout + served.stderr


def test_an_error_message_is_never_served(aged: Path) -> None:
    first = run(aged, "samples", "show", "no-such-template", "--format", "json")
    second = run(aged, "samples", "show", "no-such-template", "--format", "json")
    assert first.code == second.code == 1
    assert not second.served  # its JSON error object carries the time it was made


def test_editing_a_layer_keeping_its_size_is_seen(aged: Path) -> None:
    stored_then_served(aged, "layer-edit", "list", "--format", "json")
    layer = aged / "layer-edit" / "localinst_templates.yaml"
    text = layer.read_text()
    assert "Database proxy (local)" in text
    layer.write_text(text.replace("Database proxy (local)", "Database proxy (LOCAL)"))
    after = run(aged, "layer-edit", "list", "--format", "json")
    assert not after.served
    assert b"Database proxy (LOCAL)" in after.stdout
    time.sleep(WAIT)
    again = stored_then_served(aged, "layer-edit", "list", "--format", "json")
    assert b"Database proxy (LOCAL)" in again.stdout


def test_a_new_file_in_the_config_directory_is_seen(aged: Path) -> None:
    stored_then_served(aged, "new-file", "list")
    (aged / "new-file" / "localinst_templates.json").write_text(
        '{"brand-new": {"name": "Brand new", "image": "nginx:1"}}'
    )
    after = run(aged, "new-file", "list")
    assert not after.served
    assert b"brand-new" in after.stdout


def test_a_changed_engine_config_is_seen(aged: Path) -> None:
    stored_then_served(aged, "settings-edit", "list")
    settings = aged / "settings-edit" / "templar.yaml"
    settings.write_text(settings.read_text() + "\n# a comment changes nothing but the file\n")
    assert not run(aged, "settings-edit", "list").served


def test_an_environment_variable_is_part_of_the_key(aged: Path) -> None:
    stored_then_served(aged, "environment", "list")
    other = run(aged, "environment", "list", env={"NO_COLOR": "1"})
    assert not other.served
    strict = run(aged, "environment", "list", env={"PYTHONWARNINGS": "error::UserWarning"})
    assert not strict.served  # a warning may become an error
    plugins = run(aged, "environment", "list", env={"TEMPLAR_PLUGINS": "aws"})
    assert not plugins.served
    assert b"k8s" not in plugins.stdout


def test_another_cache_directory_has_its_own_answers(aged: Path) -> None:
    stored_then_served(aged, "cache-dir", "list")
    assert not run(aged, "cache-dir", "list", cache="other-cache").served


def test_no_cache_is_never_served(aged: Path) -> None:
    stored_then_served(aged, "no-cache", "list")
    assert not run(aged, "no-cache", "--no-cache", "list").served
    assert not run(aged, "no-cache", "list", "--no-cache").served


def test_an_answer_expires_with_the_cache_ttl(aged: Path) -> None:
    settings = aged / "ttl" / "templar.yaml"
    ttl = WAIT + 1.0
    settings.write_text(settings.read_text() + f"\ncache:\n  ttl_seconds: {ttl}\n")
    time.sleep(WAIT)
    stored_then_served(aged, "ttl", "list")
    time.sleep(ttl)
    assert not run(aged, "ttl", "list").served


def test_disabled_cache_stores_no_answer(aged: Path) -> None:
    settings = aged / "ttl" / "templar.yaml"
    config = aged / "disabled"
    shutil.copytree(aged / "ttl", config)
    (config / "templar.yaml").write_text(
        settings.read_text().split("\ncache:")[0] + "\ncache:\n  enabled: false\n"
    )
    time.sleep(WAIT)
    assert not run(aged, "disabled", "list").served
    assert not run(aged, "disabled", "list").served


def test_a_terminal_and_a_pipe_have_their_own_answers(aged: Path) -> None:
    stored_then_served(aged, "terminal", "list")
    on_terminal = run(aged, "terminal", "list", terminal=True)
    assert not on_terminal.served
    again = run(aged, "terminal", "list", terminal=True)
    assert again.served
    assert again.stdout == on_terminal.stdout and again.code == on_terminal.code


def _answers(cache: Path) -> list[str]:
    with diskcache.Cache(str(cache)) as raw:
        return [key for key in raw.iterkeys() if key.startswith(ANSWER)]


def test_a_corrupt_answer_is_dropped_not_served(aged: Path) -> None:
    cache = aged / "corrupt-cache"
    cache.mkdir(mode=0o700)
    good = stored_then_served(aged, "corrupt", "list", cache="corrupt-cache")
    (key,) = _answers(cache)
    with diskcache.Cache(str(cache)) as raw:
        blob = raw.get(key)
        raw.set(key, blob[:-10] + b"XXXXXXXXXX")  # same length, wrong checksum
    after = run(aged, "corrupt", "list", cache="corrupt-cache")
    assert not after.served
    assert after.stdout == good.stdout and after.code == 0
    assert b"corrupt" in after.stderr
    assert not run(aged, "corrupt", "list", cache="corrupt-cache").served  # stored again
    assert run(aged, "corrupt", "list", cache="corrupt-cache").served


def test_cache_info_counts_and_clear_removes_answers(aged: Path) -> None:
    cache = aged / "clear-cache"
    cache.mkdir(mode=0o700)
    stored_then_served(aged, "clear", "list", cache="clear-cache")
    stored_then_served(aged, "clear", "validate", cache="clear-cache")
    info = run(aged, "clear", "cache", "info", "--format", "json", cache="clear-cache")
    assert json.loads(info.stdout)["answers"] == 2
    cleared = run(aged, "clear", "cache", "clear", cache="clear-cache")
    assert cleared.code == 0
    assert _answers(cache) == []
    assert not run(aged, "clear", "list", cache="clear-cache").served


def test_editing_a_plugin_is_seen(aged: Path) -> None:
    env = {"PYTHONPATH": str(aged / "plugin-site")}
    first = stored_then_served(aged, "plugin", "validate", env=env)
    assert b"first" in first.stdout
    source = aged / "plugin-site" / "answers_plugin" / "__init__.py"
    source.write_text(_plugin_source("secnd"))  # same size
    after = run(aged, "plugin", "validate", env=env)
    assert not after.served
    assert b"secnd" in after.stdout and b"first" not in after.stdout


def test_a_broken_plugin_answer_is_never_stored(aged: Path) -> None:
    env = {"PYTHONPATH": str(aged / "broken-site")}
    first = run(aged, "broken-plugin", "list", env=env)
    second = run(aged, "broken-plugin", "list", env=env)
    assert b"broken on purpose" in first.stderr
    assert not second.served
    assert second.same_output(first)


def test_cache_dir_of_the_engine_config_holds_the_answers(aged: Path) -> None:
    stored_then_served(aged, "cache-setting", "list", cache=None)
    assert len(_answers(aged / "cache-from-setting" / "templar-cache")) == 1
    assert not run(aged, "cache-setting", "list").served  # $TEMPLAR_CACHE_DIR wins


def test_a_database_storage_answer_is_never_stored(aged: Path) -> None:
    # a database's content has no stat signature: its answers would never go stale
    env = {"TEMPLAR_STORAGE_URL": f"sqlite:///{aged / 'sql-templates.db'}"}
    run(aged, "sql", "list", env=env)
    time.sleep(WAIT)
    first = run(aged, "sql", "list", env=env)
    second = run(aged, "sql", "list", env=env)
    assert not first.served and not second.served
    assert second.same_output(first)
