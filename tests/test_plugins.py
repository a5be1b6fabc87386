"""Plugins: registration through hooks, failure isolation, allow-list, strict mode, one
plugin manager per engine, and a real entry-point install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from templar import (
    PluginError,
    ProviderSpec,
    Severity,
    StorageSpec,
    TemplarPluginWarning,
    TemplateEngine,
    ValidationIssueDTO,
    hookimpl,
)
from templar.cli import cli
from templar.storage import FileStorage
from tests.conftest import WriteFile
from tests.providers_for_tests import SizedPlugin

PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """templar-example and templar-broken really installed by pip, into a private target."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PLUGINS_DIR / "templar-example"),
            str(PLUGINS_DIR / "templar-broken"),
        ],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def site(installed_plugins: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(installed_plugins))
    monkeypatch.delenv("TEMPLAR_PLUGINS")
    return installed_plugins


def test_entry_point_plugin_is_discovered_in_a_real_process(
    installed_plugins: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    env["PYTHONPATH"] = str(installed_plugins)
    templates = Path(sys.executable).with_name("templates")
    done = subprocess.run(
        [str(templates), "plugins", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["example"]["version"] == "1.2.3"
    assert plugins["example"]["registered"] == ["example"]
    assert "templar_validate_template" in plugins["example"]["hooks"]
    assert "failed to import" in plugins["broken"]["error"]
    assert "warning: templar: plugin 'broken' failed to import" in done.stderr

    done = subprocess.run(
        [str(templates), "hello"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout == "hello from templar-example\n"


def test_entry_point_provider_validates_templates(
    site: Path, write: WriteFile, config_dir: Path
) -> None:
    write(
        "exampleprov_templates.yaml",
        "- template_id: dark\n  color: black\n- template_id: typo\n  colour: red\n",
    )
    with pytest.warns(TemplarPluginWarning, match="plugin 'broken' failed to import"):
        engine = TemplateEngine(config_dir)
    report = engine.validate()
    by_code = {i.code: i for i in report.issues}
    assert by_code["example-no-black"].severity is Severity.WARNING
    assert (by_code["example-no-black"].line, by_code["example-no-black"].field) == (
        2,
        "configuration.color",
    )
    assert by_code["unknown-key"].message == "unknown key 'colour' (did you mean 'color'?)"
    assert by_code["unknown-key"].line == 4


def test_allow_list_loads_only_the_named_plugins(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPLAR_PLUGINS", "example")
    engine = TemplateEngine(site)  # any directory will do
    assert "example" in engine.providers
    names = {i.name for i in engine.plugins.plugin_infos()}
    assert "broken" not in names

    monkeypatch.setenv("TEMPLAR_PLUGINS", "")
    assert set(TemplateEngine(site).providers) == {"generic"}


def test_strict_mode_makes_a_failing_plugin_fatal(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPLAR_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin 'broken' failed to import"):
        TemplateEngine(site)
    result = CliRunner().invoke(cli, ["--config-dir", str(site), "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: plugin 'broken' failed to import")


class RaisingPlugin:
    @hookimpl
    def templar_register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        register(ProviderSpec(name="half-registered"))
        raise RuntimeError("boom")

    @hookimpl
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        return [
            ValidationIssueDTO(code="from-a-skipped-plugin", severity=Severity.ERROR, message="x")
        ]


class ClashingPlugin:
    @hookimpl
    def templar_register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        register(ProviderSpec(name="generic"))


class FaultyValidator:
    @hookimpl
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        raise ValueError("validator bug")


def test_a_plugin_raising_in_a_registry_hook_is_named_and_skipped(
    config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine(config_dir, plugins=[RaisingPlugin()])
    with pytest.warns(
        TemplarPluginWarning,
        match=r"plugin 'RaisingPlugin' raised in templar_register_providers: RuntimeError: boom",
    ):
        templates = engine.list_templates()
    assert [t.template_id for t in templates] == ["t"]
    # skipped means skipped: its other hooks do not run, its registrations are gone
    assert engine.validate().issues == []
    assert "half-registered" not in engine.providers


def test_name_clashes_are_owned_by_the_core(config_dir: Path) -> None:
    engine = TemplateEngine(config_dir, plugins=[ClashingPlugin()])
    with pytest.warns(
        TemplarPluginWarning,
        match=r"registered ProviderSpec 'generic', already registered by 'templar.builtin' \(ignored\)",
    ):
        spec = engine.providers["generic"]
    assert spec.description.startswith("Any mapping")
    assert engine.plugins.providers["generic"].plugin == "templar.builtin"


def test_a_validator_that_raises_becomes_an_issue(config_dir: Path, write: WriteFile) -> None:
    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine(config_dir, plugins=[FaultyValidator()])
    report = engine.validate()
    [issue] = report.errors
    assert issue.code == "plugin-error"
    assert "FaultyValidator" in issue.message and "validator bug" in issue.message


def test_two_engines_in_one_process_do_not_share_plugins(
    config_dir: Path, write: WriteFile
) -> None:
    write("sizedprov_templates.yaml", [{"template_id": "s", "size": 30, "max_number": 2}])
    with_plugin = TemplateEngine(config_dir, plugins=[SizedPlugin()])
    without = TemplateEngine(config_dir)

    assert "sized" in with_plugin.providers and "sized" not in without.providers
    template = with_plugin.get_template("s")
    assert template is not None and template.configuration["color"] == "blue"
    assert with_plugin.validate().results[0].supported_features == ["big"]
    assert [i.code for i in without.validate().errors] == ["unknown-provider-type"]


def test_register_and_unregister_a_plugin_on_one_engine(config_dir: Path, write: WriteFile) -> None:
    write("sizedprov_templates.yaml", [{"template_id": "s", "size": 1, "max_number": 3}])
    engine = TemplateEngine(config_dir)
    assert engine.get_template("s") is None
    name = engine.register_plugin(SizedPlugin(), name="sized-plugin")
    report = engine.validate()
    [issue] = report.errors
    assert (issue.code, issue.field, issue.line) == (
        "sized-max-over-size",
        "configuration.max_number",
        3,
    )
    engine.unregister_plugin(name)
    assert [i.code for i in engine.validate().errors] == ["unknown-provider-type"]


class MemoryStorage:
    """A storage backend holding layers in memory, registered by a plugin."""

    name = "memory"

    def __init__(self, config_dir: Path, settings: Any) -> None:
        self.inner = FileStorage(config_dir)

    def list_sources(self) -> list[Any]:
        return self.inner.list_sources()

    def read(self, source: Any) -> Any:
        return self.inner.read(source)

    def locate(self, source: Any, doc_path: Any, *, value: bool = False) -> Any:
        return self.inner.locate(source, doc_path, value=value)

    def fingerprint(self) -> str:
        return "memory"


class MemoryStoragePlugin:
    @hookimpl
    def templar_register_storage(self, register: Callable[[StorageSpec], None]) -> None:
        register(StorageSpec("memory", MemoryStorage))


def test_storage_backends_are_plugins_chosen_by_the_engine_config(
    config_dir: Path, write: WriteFile
) -> None:
    from templar import StorageError

    write("templates.yaml", [{"template_id": "t"}])
    write("templar.yaml", "storage: {backend: memory}\n")
    engine = TemplateEngine(config_dir, plugins=[MemoryStoragePlugin()])
    assert isinstance(engine.storage, MemoryStorage)
    assert [t.template_id for t in engine.list_templates()] == ["t"]

    write("templar.yaml", "storage: {backend: memroy}\n")
    with pytest.raises(
        StorageError, match="unknown storage backend 'memroy' \\(did you mean 'memory'\\?\\)"
    ):
        TemplateEngine(config_dir, plugins=[MemoryStoragePlugin()]).list_templates()


def test_strict_mode_help_is_one_error_line_not_a_traceback(installed_plugins: Path) -> None:
    # A real process: the CLI loads plugin commands once per process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    env["PYTHONPATH"] = str(installed_plugins)
    env["TEMPLAR_STRICT_PLUGINS"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "templar", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: plugin 'broken' failed to import"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
