"""Saving and deleting templates through the engine and the CLI (templar.write)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from templar import TemplateEngine, hookimpl
from templar.cli import cli
from templar.errors import StorageError
from templar.models import LayerKind
from templar.storage import LayerChange, LayerSource
from templar.write import InvalidTemplateError
from tests.providers_for_tests import SizedPlugin

PROVIDER_LAYER = """\
# provider layer: the full templates
- template_id: web
  name: Web
  configuration:
    replicas: 2      # two is enough for staging
    image: nginx:1.27
- template_id: db
  configuration:
    replicas: 1
"""
INSTANCE_LAYER = """\
# instance overrides
- template_id: web
  configuration:
    replicas: 4   # prod
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "genericprov_templates.yaml").write_text(PROVIDER_LAYER)
    (tmp_path / "genericinst_templates.yaml").write_text(INSTANCE_LAYER)
    return tmp_path


def engine(config_dir: Path, **kwargs: Any) -> TemplateEngine:
    return TemplateEngine(config_dir, use_cache=False, **kwargs)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.startswith(".")}


def test_an_edit_lands_where_the_winning_value_lives(config_dir: Path) -> None:
    e = engine(config_dir)
    result = e.set_fields("web", {"configuration.replicas": 6})
    assert list(result.written) == [str(config_dir / "genericinst_templates.yaml")]
    assert (config_dir / "genericinst_templates.yaml").read_text() == INSTANCE_LAYER.replace(
        "replicas: 4   # prod", "replicas: 6   # prod"
    )
    assert (config_dir / "genericprov_templates.yaml").read_text() == PROVIDER_LAYER
    assert e.get_template("web").configuration["replicas"] == 6  # type: ignore[union-attr]


def test_the_writer_takes_fields_by_path_or_by_dotted_name(config_dir: Path) -> None:
    e = engine(config_dir)
    e.writer.set_fields("web", {("configuration", "replicas"): 7, "configuration.image": "x:1"})
    assert (config_dir / "genericinst_templates.yaml").read_text() == INSTANCE_LAYER.replace(
        "replicas: 4   # prod", "replicas: 7   # prod"
    )
    assert (config_dir / "genericprov_templates.yaml").read_text() == PROVIDER_LAYER.replace(
        "nginx:1.27", "x:1"
    )


def test_a_field_only_the_provider_layer_has_is_changed_there(config_dir: Path) -> None:
    engine(config_dir).set_fields("web", {"configuration.image": "nginx:1.28"})
    assert (config_dir / "genericprov_templates.yaml").read_text() == PROVIDER_LAYER.replace(
        "nginx:1.27", "nginx:1.28"
    )
    assert (config_dir / "genericinst_templates.yaml").read_text() == INSTANCE_LAYER


def test_layer_option_picks_the_layer_and_creates_its_file(config_dir: Path) -> None:
    engine(config_dir).set_fields("db", {"configuration.replicas": 3}, layer="type")
    created = config_dir / "generictype_templates.yaml"
    from templar.reader import read_document

    assert read_document(created) == {
        "templates": [{"template_id": "db", "configuration": {"replicas": 3}}]
    }
    assert engine(config_dir).get_template("db").configuration["replicas"] == 3  # type: ignore[union-attr]


def test_a_new_template_goes_to_the_provider_layer(tmp_path: Path) -> None:
    (tmp_path / "templates.yaml").write_text("- template_id: base\n")
    e = engine(tmp_path)
    result = e.save_template({"template_id": "new", "configuration": {"replicas": 1}})
    assert result.created
    assert list(result.written) == [str(tmp_path / "genericprov_templates.yaml")]
    assert engine(tmp_path).get_template("new") is not None


def test_a_hostfactory_file_gets_camel_case_keys_back(tmp_path: Path) -> None:
    layer = tmp_path / "sizedprov_templates.json"
    layer.write_text(
        json.dumps(
            {
                "scheduler_type": "hostfactory",
                "templates": [{"templateId": "hf", "maxNumber": 2, "size": 9}],
            },
            indent=2,
        )
        + "\n"
    )
    e = engine(tmp_path, plugins=[SizedPlugin()])
    e.set_fields("hf", {"configuration.max_number": 5})
    e.save_template({"template_id": "hf2", "configuration": {"max_number": 1, "size": 3}})
    data = json.loads(layer.read_text())
    assert list(data) == ["scheduler_type", "templates"]
    assert data["templates"][0] == {"templateId": "hf", "maxNumber": 5, "size": 9}
    assert data["templates"][1] == {"templateId": "hf2", "maxNumber": 1, "size": 3}


def test_an_invalid_result_is_refused_and_no_file_is_touched(tmp_path: Path) -> None:
    (tmp_path / "sizedprov_templates.yaml").write_text(
        "- templateId: hf\n  maxNumber: 2   # keep\n  size: 1\n"
    )
    before = snapshot(tmp_path)
    with pytest.raises(InvalidTemplateError) as caught:
        engine(tmp_path, plugins=[SizedPlugin()]).set_fields("hf", {"configuration.size": 0})
    assert caught.value.issues and "size" in str(caught.value)
    assert snapshot(tmp_path) == before


def test_delete_says_when_lower_layers_still_hold_it(config_dir: Path) -> None:
    result = engine(config_dir).delete_template("web")
    assert list(result.written) == [str(config_dir / "genericinst_templates.yaml")]
    assert result.still_in == [str(config_dir / "genericprov_templates.yaml")]
    assert engine(config_dir).get_template("web").configuration["replicas"] == 2  # type: ignore[union-attr]
    result = engine(config_dir).delete_template("web", all_layers=True)
    assert engine(config_dir).get_template("web") is None
    assert (
        "# provider layer: the full templates"
        in (config_dir / "genericprov_templates.yaml").read_text()
    )


@pytest.mark.parametrize("bad", ["../escape", "a/b", "/abs", "a\0b", ".."])
def test_unsafe_ids_and_scopes_are_refused_before_any_file_is_opened(
    tmp_path: Path, bad: str
) -> None:
    (tmp_path / "templates.yaml").write_text("- template_id: a\n")
    e = engine(tmp_path)
    with pytest.raises(StorageError, match="refused"):
        e.set_fields(bad, {"name": "x"})
    storage: Any = e.storage
    source = LayerSource(LayerKind.INSTANCE, bad, str(tmp_path / f"{bad}inst_templates.yaml"))
    with pytest.raises(StorageError, match="refused"):
        storage.write(LayerChange(source, None, put={"a": {"template_id": "a"}}))
    with pytest.raises(StorageError, match="refused"):
        storage.source_for(LayerKind.INSTANCE, bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["templates.yaml"]


def test_writes_fire_the_change_hook(config_dir: Path) -> None:
    events = []

    class Recorder:
        @hookimpl
        def templar_on_change(self, event: Any, engine: Any) -> None:
            events.append(event)

    e = engine(config_dir, plugins=[Recorder()])
    e.list_templates()  # loaded: the write reloads and the reload fires the hook
    e.set_fields("web", {"configuration.replicas": 8})
    assert events and events[-1].changed == {"generic": ["web"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("20", 20), ("true", True), ('"20"', "20"), ("m5.large", "m5.large"), ("1.5", 1.5)],
)
def test_cli_set_reads_values_as_yaml_scalars(config_dir: Path, value: str, expected: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--config-dir", str(config_dir), "--no-cache", "set", "db", f"metadata.note={value}"],
    )
    assert result.exit_code == 0, result.output
    assert engine(config_dir).get_template("db").metadata["note"] == expected  # type: ignore[union-attr]


def test_cli_set_example_of_the_issue(config_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config-dir",
            str(config_dir),
            "--no-cache",
            "set",
            "web",
            "configuration.replicas=20",
            "--layer",
            "instance",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "replicas: 20  # prod" in (config_dir / "genericinst_templates.yaml").read_text()


def test_cli_invalid_set_exits_non_zero_and_names_the_field(config_dir: Path) -> None:
    before = snapshot(config_dir)
    result = CliRunner().invoke(
        cli, ["--config-dir", str(config_dir), "--no-cache", "set", "db", "is_active=maybe"]
    )
    assert result.exit_code == 1
    assert "is_active" in result.output
    assert snapshot(config_dir) == before


def test_cli_apply_and_delete(config_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    incoming = tmp_path_factory.mktemp("in") / "new.yaml"
    incoming.write_text(
        "- template_id: web\n  replicas: 9\n- template_id: cache\n  image: redis:7\n"
    )
    runner = CliRunner()
    base = ["--config-dir", str(config_dir), "--no-cache"]
    shown = runner.invoke(cli, [*base, "apply", str(incoming)], input="n\n")
    assert shown.exit_code == 1 and '+    "replicas": 9' in shown.output
    assert "cache" not in (config_dir / "genericprov_templates.yaml").read_text()
    applied = runner.invoke(cli, [*base, "apply", str(incoming), "--yes"])
    assert applied.exit_code == 0, applied.output
    e = engine(config_dir)
    assert e.get_template("web").configuration["replicas"] == 9  # type: ignore[union-attr]
    assert e.get_template("cache") is not None
    deleted = runner.invoke(cli, [*base, "delete", "web", "--yes"])
    assert deleted.exit_code == 0 and "still holds 'web'" in deleted.output


def test_a_running_watch_in_another_process_sees_a_write(config_dir: Path) -> None:
    """``templates watch`` as a real process; ``templates set`` as another one."""
    import os
    import selectors
    import subprocess
    import sys
    import time

    script = Path(sys.executable).with_name("templates")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "templar"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    watcher = subprocess.Popen(
        [*command, "--config-dir", str(config_dir), "--no-cache", "watch", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert watcher.stderr is not None and watcher.stdout is not None
        assert b"watching" in watcher.stderr.readline()
        done = subprocess.run(
            [
                *command,
                "--config-dir",
                str(config_dir),
                "--no-cache",
                "set",
                "db",
                "configuration.replicas=5",
            ],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        selector = selectors.DefaultSelector()
        selector.register(watcher.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        line = b""
        while time.monotonic() < deadline and b'"db"' not in line:
            if selector.select(timeout=1):
                line = watcher.stdout.readline()
        selector.close()
        event = json.loads(line)
        assert event["changed"] == {"generic": ["db"]}
    finally:
        watcher.terminate()
        watcher.communicate(timeout=30)


def test_cli_writes_leave_no_stray_file_in_the_config_dir(
    config_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """set, apply and delete: the config dir then holds its layer files and the one
    self-ignoring .templar/ (locks), no lock or temporary file beside the layers."""
    incoming = tmp_path_factory.mktemp("in") / "new.yaml"
    incoming.write_text("- template_id: cache\n  image: redis:7\n")
    base = ["--config-dir", str(config_dir), "--no-cache"]
    runner = CliRunner()
    for command in (
        ["set", "web", "configuration.replicas=3"],
        ["apply", str(incoming), "--yes"],
        ["delete", "cache", "--yes"],
        ["set", "db", "configuration.replicas=2", "--layer", "instance"],
    ):
        result = runner.invoke(cli, [*base, *command])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in config_dir.iterdir()) == [
        ".templar",
        "genericinst_templates.yaml",
        "genericprov_templates.yaml",
    ]
    assert (config_dir / ".templar" / ".gitignore").read_text().endswith("*\n")
    assert sorted(t.template_id for t in engine(config_dir).list_templates()) == ["db", "web"]


def test_a_flat_field_name_is_the_configuration_field_as_a_flat_body_reads(
    config_dir: Path,
) -> None:
    """``replicas=5`` is ``configuration.replicas=5``: a top-level name that is no core
    field is configuration, as in a body written flat; it lands where the value lives."""
    result = CliRunner().invoke(
        cli, ["--config-dir", str(config_dir), "--no-cache", "set", "web", "replicas=5"]
    )
    assert result.exit_code == 0, result.output
    assert (config_dir / "genericinst_templates.yaml").read_text() == INSTANCE_LAYER.replace(
        "replicas: 4", "replicas: 5"
    )
    assert (config_dir / "genericprov_templates.yaml").read_text() == PROVIDER_LAYER


@pytest.mark.parametrize("flat", [True, False])
def test_a_new_template_is_written_as_its_file_writes_the_others(
    tmp_path: Path, flat: bool
) -> None:
    """Provider keys flat beside the core fields in a file that writes them so, under
    ``configuration:`` in one that nests them (the write reads only its own template
    from the file, so the file's text tells)."""
    layer = tmp_path / "genericprov_templates.yaml"
    layer.write_text(
        "# flat\n- template_id: web\n  replicas: 3\n"
        if flat
        else "# nested\n- template_id: web\n  configuration:\n    replicas: 3\n"
    )
    engine(tmp_path).save_template(
        {"template_id": "cache", "configuration": {"image": "redis:7"}}, provider="generic"
    )
    added = layer.read_text().split("- template_id: cache\n")[1]
    assert added == ("  image: redis:7\n" if flat else "  configuration:\n    image: redis:7\n")


def _templates_command() -> list[str]:
    import sys

    script = Path(sys.executable).with_name("templates")
    return [str(script)] if script.exists() else [sys.executable, "-m", "templar"]


def test_a_write_invalidates_the_cache_and_the_cached_answers(
    config_dir: Path, templar_cache_dir: Path
) -> None:
    """Real processes sharing one cache dir: ``list`` is answered from the cache once
    it has run, ``set`` changes a value to one of the same length (same file size, the
    same second), and the next ``list`` shows the new value."""
    import os
    import subprocess

    env = {
        **os.environ,
        "TEMPLAR_CACHE_DIR": str(templar_cache_dir),
        "TEMPLAR_CONFIG_DIR": str(config_dir),
    }
    env.pop("ORB_CONFIG_DIR", None)

    def run(*args: str) -> str:
        done = subprocess.run(
            [*_templates_command(), *args], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def replicas() -> int:
        shown = json.loads(run("show", "db", "--format", "json"))
        return int(shown["configuration"]["replicas"])

    assert replicas() == 1
    assert replicas() == 1  # now cached (engine cache, and the answer)
    size = (config_dir / "genericprov_templates.yaml").stat().st_size
    run("set", "db", "configuration.replicas=7")
    assert (config_dir / "genericprov_templates.yaml").stat().st_size == size
    assert replicas() == 7
    cached = TemplateEngine(config_dir)  # the engine cache (templar_cache_dir), in-process
    assert cached.get_template("db").configuration["replicas"] == 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("siblings", "expected"),
    [
        ({"generictype_templates.json": '[{"template_id": "a"}]'}, "genericprov_templates.json"),
        ({"templates.yml": "- template_id: a\n"}, "genericprov_templates.yml"),
        ({}, "genericprov_templates.yaml"),
    ],
)
def test_a_new_provider_file_takes_the_format_of_its_siblings(
    tmp_path: Path, siblings: dict[str, str], expected: str
) -> None:
    for name, text in siblings.items():
        (tmp_path / name).write_text(text)
    result = engine(tmp_path).save_template(
        {"template_id": "new", "configuration": {"replicas": 1}}, provider="generic"
    )
    assert list(result.written) == [str(tmp_path / expected)]
    assert engine(tmp_path).get_template("new") is not None


def test_an_empty_value_unsets_the_field(config_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config-dir", str(config_dir), "--no-cache", "set", "web", "configuration.image="]
    )
    assert result.exit_code == 0, result.output
    assert "configuration.image unset" in result.output
    assert "image:" not in (config_dir / "genericprov_templates.yaml").read_text()
    assert "image" not in engine(config_dir).get_template("web").configuration  # type: ignore[union-attr]


_ENGINE_SAVER = """
import sys, time
from pathlib import Path
from templar import TemplateEngine
config_dir, number, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
engine = TemplateEngine(config_dir, use_cache=False)
while not go.exists():
    time.sleep(0.001)
engine.save_template({"template_id": f"t{number}", "configuration": {"replicas": number}})
"""


def test_eight_processes_saving_through_the_engine_lose_nothing(tmp_path: Path) -> None:
    """The user's path (engine.save_template: read, validate, write with the version
    read, redo on a conflict), eight processes at once into one file."""
    import subprocess
    import sys
    import time

    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    (config_dir / "genericprov_templates.yaml").write_text("# eight writers\n- template_id: base\n")
    go = tmp_path / "go"
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", _ENGINE_SAVER, str(config_dir), str(n), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    time.sleep(1.5)  # every process imported and waiting
    go.touch()
    errors = [s.communicate(timeout=120)[1] for s in savers]
    assert all(s.returncode == 0 for s in savers), errors
    ids = sorted(t.template_id for t in engine(config_dir).list_templates())
    assert ids == sorted(["base", *(f"t{n}" for n in range(8))])
    assert (config_dir / "genericprov_templates.yaml").read_text().startswith("# eight writers\n")


def test_template_layers_reads_one_templates_entries_as_a_full_read_has_them(
    config_dir: Path,
) -> None:
    """The one-template read shared by writes and show: every layer, each holding only
    that template, found by the file backend's scan, equal to a full read filtered."""
    from templar.storage import template_layers
    from templar.storage.files import FileStorage

    storage = FileStorage(config_dir)
    one = template_layers(storage, "web")
    full = [storage.read(source) for source in storage.list_sources()]
    assert [layer.source for layer in one] == [layer.source for layer in full]
    assert [layer.version for layer in one] == [layer.version for layer in full]
    assert [[(t.template_id, t.body) for t in layer.templates] for layer in one] == [
        [(t.template_id, t.body) for t in layer.templates if t.template_id == "web"]
        for layer in full
    ]
