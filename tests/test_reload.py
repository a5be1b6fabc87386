"""engine.reload(): only what changed is parsed, merged and validated again; the change
event says what moved, and plugins receive it through templar_on_change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from templar import ChangeEvent, TemplarPluginWarning, TemplateEngine, hookimpl
from tests.conftest import WriteFile


def template(tid: str, **fields: Any) -> dict[str, Any]:
    return {"template_id": tid, "provider_type": "generic", **fields}


class Recorder:
    """A plugin that records the change events it is given."""

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        self.engines: list[TemplateEngine] = []

    @hookimpl
    def templar_on_change(self, event: ChangeEvent, engine: TemplateEngine) -> None:
        self.events.append(event)
        self.engines.append(engine)


class ValidationCounter:
    """A plugin that records which templates the engine validates (the rule hook runs
    once for every template whose models validated)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    @hookimpl
    def templar_validate_template(self, template: Any, provider: Any, instance: Any) -> None:
        self.ids.append(template.template_id)


class Exploding:
    @hookimpl
    def templar_on_change(self, event: ChangeEvent, engine: TemplateEngine) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def test_reload_reports_added_changed_removed_per_instance(
    config_dir: Path, write: WriteFile, recorder: Recorder
) -> None:
    write("templates.yaml", [template("a", name="A"), template("b", name="B")])
    engine = TemplateEngine(config_dir, plugins=[recorder])
    assert [t.name for t in engine.list_templates()] == ["A", "B"]

    write("templates.yaml", [template("a", name="A2"), template("c", name="C")])
    event = engine.reload()

    assert event.changed == {"generic": ["a"]}
    assert event.added == {"generic": ["c"]}
    assert event.removed == {"generic": ["b"]}
    assert event.files == [str(config_dir / "templates.yaml")]
    assert recorder.events == [event]
    assert recorder.engines == [engine]
    assert engine.get_template("a").name == "A2"  # type: ignore[union-attr]


def test_reload_without_a_change_is_an_empty_event_and_no_hook(
    config_dir: Path, write: WriteFile, recorder: Recorder
) -> None:
    write("templates.yaml", [template("a", name="A")])
    engine = TemplateEngine(config_dir, plugins=[recorder])
    engine.list_templates()
    assert engine.reload().is_empty
    assert recorder.events == []


def test_reload_event_lists_the_issues_the_change_introduced(
    config_dir: Path, write: WriteFile, recorder: Recorder
) -> None:
    write("templates.yaml", [template("a", name="A"), template("b", name="B", is_active=True)])
    engine = TemplateEngine(config_dir, plugins=[recorder])
    engine.list_templates()

    write("templates.yaml", [template("a", name="A"), template("b", name="B", is_active="yes?")])
    event = engine.reload()

    assert [(i.code, i.template_id, i.field) for i in event.issues] == [
        ("invalid-field", "b", "is_active")
    ]
    # plain reload() serves the files as they are: the broken template is gone
    assert event.removed == {"generic": ["b"]}
    assert event.stale == {}


def test_a_failing_change_hook_is_reported_and_the_others_still_run(
    config_dir: Path, write: WriteFile, recorder: Recorder
) -> None:
    write("templates.yaml", [template("a", name="A")])
    engine = TemplateEngine(config_dir, plugins=[Exploding(), recorder])
    engine.list_templates()
    write("templates.yaml", [template("a", name="B")])
    with pytest.warns(
        TemplarPluginWarning, match="raised in templar_on_change: RuntimeError: boom"
    ):
        event = engine.reload()
    assert recorder.events == [event]
    assert engine.get_template("a").name == "B"  # type: ignore[union-attr]


def test_reload_parses_only_the_edited_file_and_revalidates_only_what_it_touches(
    config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", [template(f"t{i}", name=f"T{i}") for i in range(20)])
    write("genericinst_templates.yaml", [template("t3", name="overlay")])
    validated = ValidationCounter()
    engine = TemplateEngine(config_dir, use_cache=False, plugins=[validated])
    before = {t.template_id: t for t in engine.list_templates()}
    validated.ids.clear()

    parsed: list[str] = []
    storage = engine.storage
    real_read = storage.read

    def counting_read(source: Any) -> Any:
        parsed.append(Path(source.location).name)
        return real_read(source)

    storage.read = counting_read  # type: ignore[method-assign]

    write("genericinst_templates.yaml", [template("t3", name="overlay 2")])
    event = engine.reload()

    assert parsed == ["genericinst_templates.yaml"]
    assert validated.ids == ["t3"]
    assert event.changed == {"generic": ["t3"]}
    after = {t.template_id: t for t in engine.list_templates()}
    assert after["t3"].name == "overlay 2"
    # untouched templates are the very objects served before
    assert all(after[tid] is before[tid] for tid in before if tid != "t3")


SIZED_CONFIG = """
providers:
  - {name: small, type: sized}
  - {name: big, type: sized, defaults: {size: 50}}
  - {name: plain, type: generic}
"""

SHARED = """
templates:
  - template_id: s1
    provider_type: sized
    size: 5
    maxNumber: 2
  - template_id: s2
    provider_type: sized
    size: 3
    max_number: 9
  - template_id: g1
    name: generic one
  - template_id: g2
    name: generic two
    descripton: typo here
"""

OVERLAY = """
- template_id: s1
  size: 8
- template_id: s2
  color: green
"""


def _snapshot(engine: TemplateEngine) -> Any:
    """Everything a load answers, but the time of validation."""
    report = engine.validate().model_dump(mode="json")
    for result in report["results"]:
        result.pop("validation_time")
    return (
        [t.model_dump(mode="json") for t in engine.list_templates(active_only=False)],
        report,
        [i.name for i in engine.instances],
        list(engine.state.versions),
    )


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("templates.yaml", "size: 5", "size: 6"),  # a value, several instances
        ("templates.yaml", "size: 3", "size: 30"),  # an error (max over size) fixed
        ("templates.yaml", "size: 5", "size: 1"),  # valid to invalid
        ("templates.yaml", "name: generic one", "name: generic 1"),
        ("templates.yaml", "templates:\n", "# a comment moves every line\ntemplates:\n"),
        ("smallinst_templates.yaml", "size: 8", "size: 0"),  # invalid in one instance
        ("smallinst_templates.yaml", "color: green", "color: blue"),
        ("smallinst_templates.yaml", "- template_id: s2\n", "- template_id: s3\n"),
        ("templates.yaml", "  - template_id: g2\n", "  - template_id: g0\n"),
        ("sizedtype_templates.yaml", "- template_id: s1\n  size: 9\n", "[broken\n"),
    ],
)
def test_an_incremental_reload_equals_a_full_load(
    config_dir: Path, write: WriteFile, file: str, old: str, new: str
) -> None:
    from tests.providers_for_tests import SizedPlugin

    write("templar.yaml", SIZED_CONFIG)
    write("templates.yaml", SHARED)
    write("smallinst_templates.yaml", OVERLAY)
    write("sizedtype_templates.yaml", "- template_id: s1\n  size: 9\n")
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)
    engine.list_templates()
    path = config_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    engine.reload()
    fresh = TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)
    assert _snapshot(engine) == _snapshot(fresh)
    # and back again
    path.write_text(text)
    engine.reload()
    fresh = TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)
    assert _snapshot(engine) == _snapshot(fresh)


def test_hot_reload_is_driven_through_the_public_reloader(
    config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", [template("a", name="A")])
    engine = TemplateEngine(config_dir)
    engine.list_templates()
    engine.reloader.prepare()  # what the watcher calls first
    assert not engine.state.from_cache
    (config_dir / "templates.yaml").write_text("- template_id: a\n  name: [\n")
    event = engine.reloader.apply([str(config_dir / "templates.yaml")], full=False)
    assert event is not None and event.stale == {"generic": ["a"]}
    assert engine.get_template("a").name == "A"  # type: ignore[union-attr]  # last good kept
    write("templar.yaml", "merge: [\n")
    broken_config = engine.reloader.apply([str(config_dir / "templar.yaml")], full=True)
    assert broken_config is not None and broken_config.full_reload
    assert [i.code for i in broken_config.issues] == ["config-error"]
