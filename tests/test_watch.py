"""Hot reload with real files and real watchfiles events."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from templar import (
    ChangeEvent,
    StorageError,
    TemplarPluginWarning,
    TemplarWatchWarning,
    TemplateEngine,
    hookimpl,
)
from templar.watch import Watcher, watch
from tests.conftest import WriteFile

#: Short enough to keep the suite fast, long enough to fold a save's several events.
DEBOUNCE_MS = 30
#: How long to wait for an event that must come; and to be sure one does not.
TIMEOUT = 10.0
QUIET = 0.4


def yaml_templates(*items: tuple[str, str]) -> str:
    return "".join(f"- template_id: {tid}\n  name: {name}\n" for tid, name in items)


class Events:
    """The events a watcher delivered through its ``on_change`` callback."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ChangeEvent] = queue.Queue()

    def __call__(self, event: ChangeEvent) -> None:
        self.queue.put(event)

    def next(self) -> ChangeEvent:
        return self.queue.get(timeout=TIMEOUT)

    def none(self) -> None:
        try:
            event = self.queue.get(timeout=QUIET)
        except queue.Empty:
            return
        pytest.fail(f"unexpected event {event!r}")


@pytest.fixture
def watching(config_dir: Path) -> Iterator[Callable[..., tuple[TemplateEngine, Events]]]:
    """Start an engine watching ``config_dir`` in the background; stopped afterwards."""
    watchers: list[Watcher] = []

    def start(debounce_ms: int = DEBOUNCE_MS, **kwargs: Any) -> tuple[TemplateEngine, Events]:
        engine = TemplateEngine(config_dir, **kwargs)
        events = Events()
        watcher = engine.watch(events, debounce_ms=debounce_ms)
        assert watcher.ready.is_set()
        watchers.append(watcher)
        return engine, events

    yield start
    for watcher in watchers:
        watcher.stop()
        assert not watcher.running


@pytest.fixture
def two(write: WriteFile) -> None:
    write("templates.yaml", yaml_templates(("a", "A"), ("b", "B")))


def name_of(engine: TemplateEngine, tid: str, provider: str | None = None) -> str | None:
    template = engine.get_template(tid, provider)
    return template.name if template else None


def test_editing_a_value(two: None, config_dir: Path, watching: Any) -> None:
    engine, events = watching()
    (config_dir / "templates.yaml").write_text(yaml_templates(("a", "A2"), ("b", "B")))
    event = events.next()
    assert event.changed == {"generic": ["a"]}
    assert (event.added, event.removed, event.stale, event.issues) == ({}, {}, {}, [])
    assert event.files == [str(config_dir / "templates.yaml")]
    assert not event.full_reload
    assert name_of(engine, "a") == "A2"
    events.none()


def test_a_new_layer_file_an_instance_overlay_appears(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    (config_dir / "genericinst_templates.yaml").write_text(
        "- template_id: a\n  description: overlay\n- template_id: c\n  name: C\n"
    )
    event = events.next()
    assert event.changed == {"generic": ["a"]}
    assert event.added == {"generic": ["c"]}
    assert engine.get_template("a").description == "overlay"  # type: ignore[union-attr]
    assert engine.get_template("a").file_priority == 1  # type: ignore[union-attr]


def test_deleting_a_layer_file(two: None, write: WriteFile, watching: Any) -> None:
    overlay = write("genericinst_templates.yaml", "- template_id: a\n  name: overlay\n")
    engine, events = watching()
    assert name_of(engine, "a") == "overlay"
    overlay.unlink()
    event = events.next()
    assert event.changed == {"generic": ["a"]}
    assert name_of(engine, "a") == "A"


def test_a_save_by_write_to_temp_and_rename(two: None, config_dir: Path, watching: Any) -> None:
    engine, events = watching()
    target = config_dir / "templates.yaml"
    temp = config_dir / ".templates.yaml.swp~"  # outside the hierarchy itself
    temp.write_text(yaml_templates(("a", "A"), ("b", "renamed")))
    os.replace(temp, target)
    event = events.next()
    assert event.changed == {"generic": ["b"]}
    assert name_of(engine, "b") == "renamed"
    events.none()


def test_a_syntax_error_mid_edit_keeps_the_last_good_state_and_the_fix_recovers(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    path = config_dir / "templates.yaml"
    path.write_text("- template_id: a\n  name: [unclosed\n- template_id: b\n")
    broken = events.next()
    assert [(i.code, i.severity.value, i.line) for i in broken.issues] == [
        ("parse-error", "error", 3)
    ]
    assert broken.stale == {"generic": ["a", "b"]}
    assert (broken.changed, broken.removed) == ({}, {})
    assert name_of(engine, "a") == "A"  # the last good version stays in service
    assert engine.stale_templates() == {"generic": ["a", "b"]}
    assert any(i.code == "parse-error" for i in engine.validate().errors)

    path.write_text(yaml_templates(("a", "fixed"), ("b", "B")))
    fixed = events.next()
    assert fixed.stale == {}
    assert fixed.changed == {"generic": ["a", "b"]}  # a changed, b recovered
    assert fixed.issues == []
    assert name_of(engine, "a") == "fixed"
    assert engine.stale_templates() == {}
    assert engine.validate().errors == []


def test_an_invalid_value_keeps_the_last_good_version_marked_stale(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    path = config_dir / "templates.yaml"
    path.write_text(
        "- template_id: a\n  name: A\n  is_active: perhaps\n- template_id: b\n  name: B2\n"
    )
    event = events.next()
    assert event.stale == {"generic": ["a"]}
    assert event.changed == {"generic": ["b"]}
    assert [(i.code, i.template_id, i.field) for i in event.issues] == [
        ("invalid-field", "a", "is_active")
    ]
    assert engine.get_template("a").is_active is True  # type: ignore[union-attr]
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]

    path.write_text(yaml_templates(("a", "A"), ("b", "B2")))
    recovered = events.next()
    assert recovered.changed == {"generic": ["a"]}
    assert recovered.stale == {}


def test_a_file_outside_the_hierarchy_gives_no_event(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    (config_dir / "notes.txt").write_text("hello")
    (config_dir / "templates.yaml.bak").write_text("- template_id: z\n")
    (config_dir / "README.md").write_text("# hi")
    events.none()
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]


def test_a_burst_of_saves_gives_one_event(two: None, config_dir: Path, watching: Any) -> None:
    # saves 5 ms apart; the debounce is generous so that a busy test machine pausing
    # this thread cannot split the burst
    engine, events = watching(debounce_ms=200)
    path = config_dir / "templates.yaml"
    for i in range(25):
        path.write_text(yaml_templates(("a", f"A{i}"), ("b", "B")))
        time.sleep(0.005)
    event = events.next()
    assert event.changed == {"generic": ["a"]}
    events.none()
    assert name_of(engine, "a") == "A24"


def test_a_change_to_templar_yaml_is_a_full_reload(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    (config_dir / "templar.yaml").write_text(
        "provider_defaults:\n  generic:\n    description: from the engine config\n"
    )
    event = events.next()
    assert event.full_reload
    assert event.changed == {"generic": ["a", "b"]}
    assert engine.get_template("b").description == "from the engine config"  # type: ignore[union-attr]
    assert engine.settings.provider_defaults == {
        "generic": {"description": "from the engine config"}
    }


def test_a_broken_templar_yaml_is_an_error_event_and_keeps_serving(
    two: None, config_dir: Path, watching: Any
) -> None:
    engine, events = watching()
    settings = config_dir / "templar.yaml"
    settings.write_text("merge: sideways\n")
    event = events.next()
    assert event.full_reload
    assert [(i.code, i.field, i.line) for i in event.issues] == [("config-error", "merge", 1)]
    assert name_of(engine, "a") == "A"
    settings.write_text("merge: replace\n")
    fixed = events.next()
    assert fixed.full_reload
    assert engine.settings.merge == "replace"


class Recorder:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    @hookimpl
    def templar_on_change(self, event: ChangeEvent, engine: TemplateEngine) -> None:
        self.events.append(event)


class Exploding:
    @hookimpl
    def templar_on_change(self, event: ChangeEvent, engine: TemplateEngine) -> None:
        raise RuntimeError("plugin bug")


def test_plugins_receive_the_event_and_a_failing_plugin_does_not_stop_the_watcher(
    two: None, config_dir: Path, watching: Any
) -> None:
    recorder = Recorder()
    with pytest.warns(TemplarPluginWarning, match="raised in templar_on_change"):
        engine, events = watching(plugins=[Exploding(), recorder])
        path = config_dir / "templates.yaml"
        path.write_text(yaml_templates(("a", "A1"), ("b", "B")))
        first = events.next()
        path.write_text(yaml_templates(("a", "A2"), ("b", "B")))
        second = events.next()
    assert recorder.events == [first, second]
    assert name_of(engine, "a") == "A2"


def test_a_failing_callback_is_reported_and_watching_goes_on(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    seen: list[ChangeEvent] = []

    def callback(event: ChangeEvent) -> None:
        seen.append(event)
        raise ValueError("callback bug")

    path = config_dir / "templates.yaml"
    with (
        pytest.warns(TemplarWatchWarning, match="on_change callback raised"),
        engine.watch(callback, debounce_ms=DEBOUNCE_MS) as watcher,
    ):
        path.write_text(yaml_templates(("a", "A1"), ("b", "B")))
        _wait_for(lambda: len(seen) == 1)
        path.write_text(yaml_templates(("a", "A2"), ("b", "B")))
        _wait_for(lambda: len(seen) == 2)
    assert len(watcher.failures) == 2
    assert name_of(engine, "a") == "A2"


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_iterating_and_stopping_from_another_thread(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    watcher = engine.watch(debounce_ms=DEBOUNCE_MS)
    path = config_dir / "templates.yaml"

    def edit_then_stop() -> None:
        assert watcher.ready.wait(TIMEOUT)
        path.write_text(yaml_templates(("a", "iterated"), ("b", "B")))
        _wait_for(lambda: name_of(engine, "a") == "iterated")
        watcher.stop()

    thread = threading.Thread(target=edit_then_stop)
    thread.start()
    received = list(watcher)  # ends when stop() is called
    thread.join()
    assert [e.changed for e in received] == [{"generic": ["a"]}]


def test_watch_starts_the_watcher_only_when_given_a_callback(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    to_iterate = watch(engine, debounce_ms=DEBOUNCE_MS)  # the engine, or its reloader
    assert not to_iterate.running and not to_iterate.ready.is_set()
    events = Events()
    started = watch(engine.reloader, events, debounce_ms=DEBOUNCE_MS)
    try:
        assert started.running and started.ready.is_set()
        (config_dir / "templates.yaml").write_text(yaml_templates(("a", "called"), ("b", "B")))
        assert events.next().changed == {"generic": ["a"]}
    finally:
        started.stop()
    assert not started.running


def test_awatch_under_asyncio(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    path = config_dir / "templates.yaml"

    async def main() -> list[ChangeEvent]:
        watcher = engine.awatch(debounce_ms=DEBOUNCE_MS)
        received: list[ChangeEvent] = []

        async def edit() -> None:
            while not watcher.ready.is_set():
                await asyncio.sleep(0.01)
            path.write_text(yaml_templates(("a", "async"), ("b", "B")))

        task = asyncio.create_task(edit())
        async for event in watcher:
            received.append(event)
            watcher.stop()
        await task
        return received

    received = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert [e.changed for e in received] == [{"generic": ["a"]}]
    assert name_of(engine, "a") == "async"


@pytest.mark.parametrize(
    ("setting", "argument", "expected"),
    [(None, None, 50), (200, None, 200), (200, 10, 10), (None, 0, 0)],
)
def test_debounce_comes_from_the_setting_or_the_argument(
    two: None, config_dir: Path, setting: int | None, argument: int | None, expected: int
) -> None:
    settings = {"watch": {"debounce_ms": setting}} if setting is not None else {}
    engine = TemplateEngine(config_dir, settings=settings)
    assert Watcher(engine, debounce_ms=argument).debounce_ms == expected


def test_the_debounce_waits_for_quiet(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    events = Events()
    path = config_dir / "templates.yaml"
    with engine.watch(events, debounce_ms=300):
        written = time.monotonic()
        path.write_text(yaml_templates(("a", "slow"), ("b", "B")))
        events.next()
        assert time.monotonic() - written >= 0.3


def test_a_negative_debounce_is_refused(two: None, config_dir: Path) -> None:
    with pytest.raises(ValueError, match="debounce_ms"):
        TemplateEngine(config_dir).watch(debounce_ms=-1)


def test_storage_without_files_cannot_be_watched(config_dir: Path) -> None:
    from tests.test_cache import CountingStoragePlugin

    engine = TemplateEngine(
        config_dir, settings={"storage": {"backend": "counting"}}, plugins=[CountingStoragePlugin()]
    )
    with pytest.raises(StorageError, match="no files to watch"):
        engine.watch()


# -- templates watch ----------------------------------------------------------------------


class Process:
    """A ``templates watch`` subprocess whose output is read with a timeout: a reader
    thread per stream, so that a hung process fails the test instead of hanging it."""

    def __init__(self, config_dir: Path, *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "templar", "--config-dir", str(config_dir), "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        self._lines = {"stdout": queue.Queue[str | None](), "stderr": queue.Queue[str | None]()}
        self._readers = [
            threading.Thread(target=self._read, args=(name,), daemon=True) for name in self._lines
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        with getattr(self.popen, name) as stream:
            for line in stream:
                self._lines[name].put(line)
        self._lines[name].put(None)

    def line(self, name: str = "stdout") -> str:
        """The next line of ``stdout`` or ``stderr``; fails after TIMEOUT seconds."""
        try:
            line = self._lines[name].get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no line on {name} within {TIMEOUT} s")
        return line or ""

    def stop(self) -> tuple[str, str]:
        """Ctrl-C, then what is left of stdout and stderr once it exited."""
        self.popen.send_signal(signal.SIGINT)
        self.popen.wait(timeout=TIMEOUT)
        rest = {}
        for name, lines in self._lines.items():
            text = []
            while (line := lines.get(timeout=TIMEOUT)) is not None:
                text.append(line)
            rest[name] = "".join(text)
        return rest["stdout"], rest["stderr"]

    def kill(self) -> None:
        """End it if it is still running, and its readers with it."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        for reader in self._readers:
            reader.join(TIMEOUT)


def start_cli(config_dir: Path, *args: str) -> Process:
    process = Process(config_dir, *args)
    ready = process.line("stderr")
    assert ready.startswith("watching "), ready
    assert "2 templates" in ready
    return process


@pytest.mark.parametrize("output_format", ["json", "text"])
def test_templates_watch_prints_one_line_per_event_and_exits_cleanly_on_ctrl_c(
    two: None, config_dir: Path, output_format: str
) -> None:
    process = start_cli(config_dir, "--format", output_format, "--debounce", str(DEBOUNCE_MS))
    try:
        path = config_dir / "templates.yaml"
        path.write_text(yaml_templates(("a", "A1"), ("b", "B")))
        first = process.line()
        path.write_text("- template_id: a\n  name: [\n")
        second = process.line()
        rest, err = process.stop()
    finally:
        process.kill()
    assert process.popen.returncode == 0, err
    assert rest == ""
    assert err == "stopped\n"
    if output_format == "json":
        one, two_ = json.loads(first), json.loads(second)
        assert one["changed"] == {"generic": ["a"]}
        assert two_["stale"] == {"generic": ["a", "b"]}
        assert two_["issues"][0]["code"] == "parse-error"
    else:
        assert first.rstrip().endswith("changed generic: a")
        assert "stale generic: a, b; 1 new issue: " in second
        assert "error parse-error" in second


def test_a_save_while_the_engine_loads_is_not_missed(two: None, config_dir: Path) -> None:
    engine = TemplateEngine(config_dir)
    engine.list_templates()  # loaded: the watcher will start from this state
    (config_dir / "templates.yaml").write_text(yaml_templates(("a", "early"), ("b", "B")))
    events = Events()
    with engine.watch(events, debounce_ms=DEBOUNCE_MS):  # the watch begins after the save
        event = events.next()
    assert event.changed == {"generic": ["a"]}
    assert name_of(engine, "a") == "early"


def test_templates_watch_shows_what_is_already_broken_when_it_starts(
    two: None, config_dir: Path
) -> None:
    (config_dir / "genericprov_templates.yaml").write_text("- template_id: c\n  name: [\n")
    process = Process(config_dir)
    try:
        issue = process.line("stderr")
        ready = process.line("stderr")
        process.stop()
    finally:
        process.kill()
    assert "genericprov_templates.yaml:3:1: error parse-error" in issue
    assert ready.startswith("watching ") and "2 templates, 1 error (Ctrl-C to stop)" in ready


@pytest.mark.filterwarnings("ignore::templar.TemplarWatchWarning")  # "could not reload"
def test_the_config_directory_deleted_and_recreated_is_followed(
    two: None, config_dir: Path, watching: Any
) -> None:
    # issue 9, item 6: the watch followed the old directory and went deaf
    import shutil

    engine, events = watching()
    assert name_of(engine, "a") == "A"
    shutil.rmtree(config_dir)
    time.sleep(QUIET)  # the reload fails with a warning; the last good state is kept
    assert name_of(engine, "a") == "A"
    deadline = time.monotonic() + TIMEOUT
    config_dir.mkdir()
    (config_dir / "templates.yaml").write_text(yaml_templates(("a", "again"), ("c", "C")))
    while name_of(engine, "c") != "C" and time.monotonic() < deadline:
        events.next()
    assert (name_of(engine, "a"), name_of(engine, "c")) == ("again", "C")
    # and the new directory is watched like the old one
    (config_dir / "templates.yaml").write_text(yaml_templates(("a", "edited"), ("c", "C")))
    while name_of(engine, "a") != "edited" and time.monotonic() < deadline:
        events.next()
    assert name_of(engine, "a") == "edited"
