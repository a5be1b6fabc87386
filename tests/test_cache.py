"""The on-disk cache: real diskcache, real files, new engines standing in for new processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import diskcache
import pytest
from click.testing import CliRunner

import templar.reader
from templar import (
    EngineSettings,
    LayerKind,
    LayerSource,
    RawLayer,
    RawTemplate,
    StorageSpec,
    TemplarCacheWarning,
    TemplateEngine,
    hookimpl,
    snapshot,
)
from templar.cache import resolve_cache_dir
from templar.cli import cli
from templar.settings import CacheSettings
from templar.storage import FileStorage
from tests.conftest import WriteFile
from tests.providers_for_tests import SizedPlugin

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_configs"


@pytest.fixture
def cache_dir() -> Path:
    return Path(os.environ["TEMPLAR_CACHE_DIR"])


def template(tid: str, **fields: Any) -> dict[str, Any]:
    return {"template_id": tid, **fields}


def load(config_dir: Path, **kwargs: Any) -> TemplateEngine:
    """A new engine, loaded: what a new process would see."""
    engine = TemplateEngine(config_dir, **kwargs)
    engine.list_templates()
    return engine


def damage_entry(cache_dir: Path, key: str, damage: Callable[[bytes], bytes]) -> None:
    """Rewrite an entry's bytes where diskcache keeps them (a file, or a row for small
    values), as a disk error or another program would: behind diskcache's back."""
    with sqlite3.connect(cache_dir / "cache.db") as db:
        ((filename, value),) = db.execute(
            "SELECT filename, value FROM Cache WHERE key = ?", (key,)
        ).fetchall()
        if filename is not None:
            path = cache_dir / filename
            path.write_bytes(damage(path.read_bytes()))
        else:
            db.execute("UPDATE Cache SET value = ? WHERE key = ?", (damage(value), key))


@pytest.fixture
def simple(write: WriteFile, config_dir: Path) -> Path:
    write("templates.yaml", [template("a", name="A"), template("b", name="B")])
    write("genericinst_templates.yaml", [template("a", description="overlay")])
    return config_dir


# -- where the cache lives ------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "setting", "expected"),
    [
        ("{tmp}/from-env", None, "{tmp}/from-env"),
        ("{tmp}/from-env", "{tmp}/from-setting", "{tmp}/from-env"),
        # a directory named by templar.yaml gets Templar's own marked subdirectory
        (None, "{tmp}/from-setting", "{tmp}/from-setting/templar-cache"),
        (None, "relative/cache", "{config}/relative/cache/templar-cache"),
        (None, None, "{tmp}/xdg/templar"),
    ],
    ids=["env", "env-over-setting", "setting", "relative-setting", "platform-default"],
)
def test_cache_directory_precedence(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    config_dir: Path,
    env: str | None,
    setting: str | None,
    expected: str,
) -> None:
    def fill(text: str) -> str:
        return text.format(tmp=tmp_path, config=config_dir)

    if env is None:
        monkeypatch.delenv("TEMPLAR_CACHE_DIR")
    else:
        monkeypatch.setenv("TEMPLAR_CACHE_DIR", fill(env))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = CacheSettings(dir=Path(fill(setting)) if setting else None)
    assert resolve_cache_dir(settings, config_dir) == Path(fill(expected))


def test_the_cache_directory_is_created_private(
    simple: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.umask(0)  # the most permissive umask: the mode must not depend on it
    try:
        load(simple)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


def test_a_cache_directory_others_can_write_is_not_used(simple: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o777)
    os.chmod(cache_dir, 0o777)
    with pytest.warns(TemplarCacheWarning, match="writable by other users.*not using it"):
        engine = load(simple)
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]
    assert list(cache_dir.iterdir()) == []


def test_a_cache_directory_that_cannot_be_created_is_not_used(
    simple: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(TemplarCacheWarning, match="cannot be created.*not using it"):
        engine = load(simple)
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]


@pytest.mark.parametrize(
    "make_engine",
    [
        lambda d: TemplateEngine(d, use_cache=False),
        lambda d: TemplateEngine(d, settings={"cache": {"enabled": False}}),
    ],
    ids=["use_cache=False", "cache.enabled=false"],
)
def test_a_disabled_cache_writes_nothing(
    simple: Path, cache_dir: Path, make_engine: Callable[[Path], TemplateEngine]
) -> None:
    for _ in range(2):
        engine = make_engine(simple)
        assert len(engine.list_templates()) == 2
        assert not engine.state.from_cache
        assert engine.cache is None
    assert not cache_dir.exists()


def test_no_cache_flag_reads_the_files_and_writes_nothing(simple: Path, cache_dir: Path) -> None:
    args = ["--config-dir", str(simple), "--no-cache", "list", "--format", "json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [t["template_id"] for t in json.loads(result.stdout)] == ["a", "b"]
    assert not cache_dir.exists()


# -- warm loads -------------------------------------------------------------------------


def test_a_new_engine_is_served_from_the_cache_without_reading_a_template(
    simple: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = load(simple)
    assert not cold.state.from_cache

    def no_reading(self: FileStorage, source: LayerSource) -> RawLayer:
        raise AssertionError(f"read {source.location} on a warm load")

    monkeypatch.setattr(FileStorage, "read", no_reading)
    warm = load(simple)
    assert warm.state.from_cache
    assert warm.list_templates() == cold.list_templates()
    assert warm.get_template("a").description == "overlay"  # type: ignore[union-attr]


def test_warm_and_cold_loads_are_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything list/show/validate use, on the demo config (every layer kind, both
    plugins, defaults, warnings and errors) and on the deliberately broken one."""
    monkeypatch.setenv("TEMPLAR_PLUGINS", "aws,k8s")
    for name, source in [("samples", SAMPLES), ("broken", SAMPLES / "broken")]:
        config = shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("*.md"))
        try:
            cold = load(config, plugins=[SizedPlugin()])
        except Exception as e:  # the broken samples include a broken engine config
            pytest.fail(f"{name}: {e}")
        warm = load(config, plugins=[SizedPlugin()])
        assert warm.state.from_cache, name
        assert cold.list_templates(), name
        assert cold.validate().errors or name == "samples"
        assert warm.instances == cold.instances
        for active_only in (True, False):
            cold_list = cold.list_templates(active_only=active_only)
            warm_list = warm.list_templates(active_only=active_only)
            assert warm_list == cold_list
            assert [t.model_dump(mode="json") for t in warm_list] == [
                t.model_dump(mode="json") for t in cold_list
            ]
            assert [t.model_fields_set for t in warm_list] == [
                t.model_fields_set for t in cold_list
            ]
        assert warm.validate() == cold.validate()
        assert warm.validate().model_dump(mode="json") == cold.validate().model_dump(mode="json")
        assert warm.search_templates({"is_active": "true"}) == cold.search_templates(
            {"is_active": "true"}
        )
        some = cold.list_templates()[0]
        # explain needs provenance, which the cache does not keep: it reads the files
        assert warm.explain(some.template_id, some.provider_name) == cold.explain(
            some.template_id, some.provider_name
        )


def test_values_json_cannot_hold_are_refused_not_cached(config_dir: Path, write: WriteFile) -> None:
    # .inf/.nan are refused by the reader (issue 9, item 9); a key is text as written
    write("templates.yaml", "- template_id: a\n  limit: .inf\n")
    write("genericprov_templates.yaml", "- template_id: b\n  1: one\n")
    cold = load(config_dir)
    assert [i.code for i in cold.validate().file_issues] == ["non-finite-number"]
    warm = load(config_dir)
    assert warm.state.from_cache
    assert warm.get_template("a") is None
    assert warm.get_template("b").configuration == {"1": "one"}  # type: ignore[union-attr]


def test_hit_counts_and_entry_dto(simple: Path) -> None:
    cold = load(simple)
    assert {e.hit_count for e in cold.cache_entries()} == {0}
    load(simple)
    third = load(simple)
    entries = third.cache_entries()
    assert [e.template.template_id for e in entries] == ["a", "b"]
    entry = entries[0]
    assert entry.hit_count == 2
    assert entry.ttl_seconds == 300
    assert not entry.is_expired
    assert 0 <= entry.age_seconds < 60
    assert entry.template == third.get_template("a")
    dumped = entry.model_dump(mode="json")
    assert {"is_expired", "age_seconds", "hit_count", "cached_at"} <= set(dumped)
    info = third.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    assert info.current is not None and info.current.hit_count == 2


# -- a stale result is never served -------------------------------------------------------


def edit_same_size_and_mtime(config: Path) -> None:
    """Change a value without changing the file's size or mtime (ctime moves: no
    program can set it)."""
    path = config / "templates.yaml"
    before = path.stat()
    text = path.read_text()
    assert "name: A" in text
    path.write_text(text.replace("name: A", "name: Z"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the files get older than the racy window (shortened to keep tests fast), so
    that their stat is trusted and only a change of it makes them hashed again."""
    monkeypatch.setattr(snapshot, "RACY_WINDOW_NS", 50_000_000)
    time.sleep(0.1)


def add_layer_file(config: Path) -> None:
    (config / "generictype_templates.yaml").write_text("- template_id: a\n  name: Z\n")


def delete_layer_file(config: Path) -> None:
    (config / "genericinst_templates.yaml").unlink()


def change_engine_config(config: Path) -> None:
    (config / "templar.yaml").write_text("provider_defaults: {generic: {name: Z}}\n")


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (edit_same_size_and_mtime, lambda e: e.get_template("a").name == "Z"),
        (add_layer_file, lambda e: e.get_template("a").name == "Z"),
        (delete_layer_file, lambda e: e.get_template("a").description is None),
        (change_engine_config, lambda e: e.get_template("b").name == "B"),
    ],
    ids=["edit", "new-layer-file", "deleted-layer-file", "templar.yaml"],
)
def test_a_changed_file_gives_a_fresh_load(
    simple: Path,
    change: Callable[[Path], None],
    check: Callable[[TemplateEngine], bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settle(monkeypatch)
    load(simple)
    time.sleep(0.1)  # the next load trusts the stat of every file it did not see change
    assert load(simple).state.from_cache
    change(simple)
    engine = load(simple)
    assert not engine.state.from_cache
    assert check(engine)
    assert load(simple).state.from_cache  # and the fresh load is cached in turn


def test_a_warm_load_reads_no_template_file(simple: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files older than the racy window are trusted on their stat, in a new process
    too: the content hashes the last process computed are kept in the cache."""
    settle(monkeypatch)
    load(simple)
    time.sleep(0.1)
    read: list[str] = []
    real_read = templar.reader.read_regular_file

    def spying_read(path: Path) -> bytes:
        read.append(path.name)
        return real_read(path)

    monkeypatch.setattr(templar.reader, "read_regular_file", spying_read)
    warm = load(simple)
    assert warm.state.from_cache
    assert not [name for name in read if name.endswith(".yaml")], read


def test_a_file_written_just_now_is_hashed_again(
    simple: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(simple)  # the files are seconds old: their stat is not trusted yet
    read: list[str] = []
    real_read = templar.reader.read_regular_file

    def spying_read(path: Path) -> bytes:
        read.append(path.name)
        return real_read(path)

    monkeypatch.setattr(templar.reader, "read_regular_file", spying_read)
    assert load(simple).state.from_cache
    assert sorted(read) == ["genericinst_templates.yaml", "templates.yaml"]


def test_templar_yaml_change_applies_its_defaults(simple: Path) -> None:
    load(simple)
    (simple / "templar.yaml").write_text("provider_defaults: {generic: {tags: {team: x}}}\n")
    engine = load(simple)
    assert not engine.state.from_cache
    assert engine.get_template("b").tags == {"team": "x"}  # type: ignore[union-attr]


class Tagger:
    """A plugin whose presence changes validation: a warning on every template."""

    @hookimpl
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        from templar import Severity, ValidationIssueDTO

        return [ValidationIssueDTO(code="tagged", severity=Severity.WARNING, message="hi")]


def test_installing_a_plugin_gives_a_fresh_load(simple: Path) -> None:
    load(simple)
    with_plugin = load(simple, plugins=[Tagger()])
    assert not with_plugin.state.from_cache
    assert {i.code for i in with_plugin.validate().warnings} == {"tagged"}
    assert load(simple, plugins=[Tagger()]).state.from_cache
    without = load(simple)
    assert without.state.from_cache
    assert without.validate().warnings == []


def test_a_different_setting_gives_a_fresh_load(simple: Path) -> None:
    load(simple)
    engine = load(simple, settings={"merge": "replace"})
    assert not engine.state.from_cache
    assert engine.get_template("a").name is None  # type: ignore[union-attr]


class CountingStorage:
    """A storage plugin whose fingerprint never changes (as a database without a change
    counter would be): only the TTL makes the engine read it again."""

    name = "counting"
    reads = 0
    value = "first"

    def __init__(self, config_dir: Path, settings: EngineSettings) -> None:
        self.location = str(config_dir / "db")

    def list_sources(self) -> list[LayerSource]:
        return [LayerSource(LayerKind.SHARED, None, self.location)]

    def read(self, source: LayerSource) -> RawLayer:
        CountingStorage.reads += 1
        body = {"template_id": "a", "name": CountingStorage.value}
        return RawLayer(source, [RawTemplate("a", body, (0,))])

    def locate(self, source: LayerSource, doc_path: Any, *, value: bool = False) -> None:
        return None

    def fingerprint(self) -> str:
        return "always-the-same"


class CountingStoragePlugin:
    @hookimpl
    def templar_register_storage(self, register: Callable[[StorageSpec], None]) -> None:
        register(StorageSpec("counting", CountingStorage))


def test_ttl_expiry_makes_the_engine_consult_the_storage_again(config_dir: Path) -> None:
    settings = {"storage": {"backend": "counting"}, "cache": {"ttl_seconds": 0.5}}
    CountingStorage.reads, CountingStorage.value = 0, "first"

    def engine() -> TemplateEngine:
        return load(config_dir, settings=settings, plugins=[CountingStoragePlugin()])

    assert engine().get_template("a").name == "first"  # type: ignore[union-attr]
    assert CountingStorage.reads == 1
    CountingStorage.value = "second"  # changed behind the fingerprint's back
    warm = engine()
    assert warm.state.from_cache
    assert CountingStorage.reads == 1
    assert warm.get_template("a").name == "first"  # type: ignore[union-attr]
    time.sleep(0.6)
    assert warm.cache_entries()[0].is_expired
    fresh = engine()
    assert not fresh.state.from_cache
    assert CountingStorage.reads == 2
    assert fresh.get_template("a").name == "second"  # type: ignore[union-attr]


# -- parsed files are cached one by one ---------------------------------------------------


def test_an_edit_reparses_only_the_edited_file(
    simple: Path, write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("genericprov_templates.yaml", [template("b", name="prov")])
    load(simple)
    parsed: list[str] = []
    real_read = FileStorage.read

    def counting_read(self: FileStorage, source: LayerSource) -> RawLayer:
        parsed.append(Path(source.location).name)
        return real_read(self, source)

    monkeypatch.setattr(FileStorage, "read", counting_read)
    write("genericinst_templates.yaml", [template("a", description="edited")])
    engine = load(simple)
    assert parsed == ["genericinst_templates.yaml"]
    assert not engine.state.from_cache
    assert engine.get_template("a").description == "edited"  # type: ignore[union-attr]
    assert engine.get_template("b").name == "prov"  # type: ignore[union-attr]


# -- never pickle; corrupt entries are dropped and rebuilt --------------------------------


def test_the_cache_holds_only_json(simple: Path, cache_dir: Path) -> None:
    load(simple)
    with sqlite3.connect(cache_dir / "cache.db") as db:
        rows = db.execute("SELECT key, mode, filename, value FROM Cache").fetchall()
    assert rows
    for key, mode, filename, value in rows:
        assert isinstance(key, str)
        assert mode != diskcache.core.MODE_PICKLE, key
        if filename is not None:
            value = (cache_dir / filename).read_bytes()
        if key.startswith(("state:", "layer:", "files:")):
            header, _, payload = value.partition(b"\n")
            assert json.loads(header)["magic"] == "templar-cache"
            json.loads(payload)
        elif key.startswith("meta:"):
            json.loads(value)
        else:  # counters
            assert key.startswith(("hits:", "stats:")) and isinstance(value, int), key


class Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_pickled_entry_planted_in_the_cache_is_not_unpickled(
    simple: Path, cache_dir: Path, tmp_path: Path
) -> None:
    engine = load(simple)
    key = "state:" + str(engine.state.cache_key)
    marker = tmp_path / "code-ran"
    with diskcache.Cache(str(cache_dir)) as cache:  # the default Disk pickles
        cache.set(key, Payload(marker))
    with pytest.warns(TemplarCacheWarning, match="corrupt \\(a pickled value\\)"):
        warm = load(simple)
    assert not marker.exists()
    assert not warm.state.from_cache
    assert [t.template_id for t in warm.list_templates()] == ["a", "b"]
    assert load(simple).state.from_cache  # rebuilt


def flip_a_byte(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[-len(damaged) // 3] ^= 0x20
    return bytes(damaged)


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def foreign_json(data: bytes) -> bytes:
    return b'{"templates": []}'


def with_header(data: bytes, **changes: Any) -> bytes:
    header, _, payload = data.partition(b"\n")
    return json.dumps({**json.loads(header), **changes}).encode() + b"\n" + payload


def valid_json_wrong_shape(data: bytes) -> bytes:
    payload = b'[[], {"generic": [{"template_id": "evil"}]}, {"generic": [0]}, [], [], "x"]'
    header = json.loads(data.partition(b"\n")[0])
    header.update(length=len(payload), crc32=zlib.crc32(payload))
    return json.dumps(header).encode() + b"\n" + payload


@pytest.mark.parametrize(
    ("damage", "expected_error"),
    [
        (flip_a_byte, "checksum mismatch"),
        (truncate, "truncated"),
        (foreign_json, "no header|not written by Templar"),
        (lambda data: with_header(data, format=999), "format 999"),
        (lambda data: with_header(data, key="state:" + "0" * 64), "another key"),
        (valid_json_wrong_shape, "another shape|unexpected content"),
    ],
    ids=["bit-flip", "truncated", "foreign", "other-format", "other-key", "wrong-shape"],
)
def test_a_damaged_entry_is_dropped_and_rebuilt(
    simple: Path, cache_dir: Path, damage: Callable[[bytes], bytes], expected_error: str
) -> None:
    cold = load(simple)
    damage_entry(cache_dir, f"state:{cold.state.cache_key}", damage)
    with pytest.warns(TemplarCacheWarning, match=expected_error):
        engine = load(simple)
    assert not engine.state.from_cache
    assert engine.list_templates() == cold.list_templates()
    rebuilt = load(simple)  # no warning: filterwarnings=error would fail the test
    assert rebuilt.state.from_cache
    assert rebuilt.list_templates() == cold.list_templates()


def test_a_damaged_parsed_file_entry_is_dropped_and_rebuilt(
    simple: Path, cache_dir: Path, write: WriteFile
) -> None:
    load(simple)
    with diskcache.Cache(str(cache_dir)) as cache:
        layer_keys = [k for k in cache.iterkeys() if k.startswith("layer:")]
        for key in layer_keys:
            cache.set(key, b"garbage")
    write("templates.yaml", [template("a", name="A"), template("b", name="B2")])
    with pytest.warns(TemplarCacheWarning, match="no header"):
        engine = load(simple)
    assert engine.get_template("a").description == "overlay"  # type: ignore[union-attr]
    assert engine.get_template("b").name == "B2"  # type: ignore[union-attr]


def test_a_corrupt_cache_database_is_recreated(simple: Path, cache_dir: Path) -> None:
    load(simple)
    for name in ("cache.db-wal", "cache.db-shm"):
        (cache_dir / name).unlink(missing_ok=True)
    (cache_dir / "cache.db").write_bytes(b"this is not a database" * 100)
    with pytest.warns(TemplarCacheWarning, match="corrupt.*recreated"):
        engine = load(simple)
    assert [t.template_id for t in engine.list_templates()] == ["a", "b"]
    assert load(simple).state.from_cache


# -- the cache command ------------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cache_info_and_clear(simple: Path, cache_dir: Path) -> None:
    base = ["--config-dir", str(simple)]
    result = invoke(*base, "cache", "info")
    assert result.exit_code == 0
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["directory"] == str(cache_dir)
    assert lines["age"].startswith("- ")

    for _ in range(3):
        assert invoke(*base, "list").exit_code == 0
    info = json.loads(invoke(*base, "cache", "info", "--format", "json").stdout)
    assert info["directory"] == str(cache_dir)
    assert info["enabled"] is True
    assert (info["hits"], info["misses"]) == (2, 1)
    assert info["loads"] == 1
    assert info["parsed_files"] == 2
    assert info["entries"] == 3
    assert info["size_bytes"] > 0
    assert info["current"]["hit_count"] == 2
    assert info["current"]["templates"] == 2
    assert 0 <= info["current"]["age_seconds"] < 60

    text = invoke(*base, "cache", "info").stdout
    assert "entries    3 (1 load, 2 parsed files, 0 answers)" in text
    assert "served 2 times" in text

    # `cache clear` alone removes this config dir's entries (tests/test_api_defaults.py);
    # --all empties the directory, counters included
    result = invoke(*base, "cache", "clear", "--all")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"removed 3 entries from {cache_dir}"
    info = json.loads(invoke(*base, "cache", "info", "--format", "json").stdout)
    assert (info["entries"], info["hits"], info["misses"], info["current"]) == (0, 0, 0, None)
    assert not load(simple).state.from_cache


# -- several processes at once ----------------------------------------------------------------


def templates_list(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "templar", "--config-dir", str(config)]
    return subprocess.Popen(
        [*command, "list", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def versions(config_dir: Path) -> Iterator[list[str]]:
    """Names the shared layer goes through; each version is saved atomically."""
    yield [f"v{i}" for i in range(12)]


def save(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def test_parallel_processes_sharing_a_cache_while_a_file_changes(
    config_dir: Path, cache_dir: Path, versions: list[str]
) -> None:
    shared = config_dir / "templates.yaml"
    overlay = config_dir / "genericinst_templates.yaml"
    overlay.write_text("- template_id: t0\n  description: overlay\n")

    def text(version: str) -> str:
        return "".join(f"- template_id: t{i}\n  name: {version}-{i}\n" for i in range(50))

    save(shared, text(versions[0]))
    env = {**os.environ, "TEMPLAR_CACHE_DIR": str(cache_dir), "TEMPLAR_PLUGINS": ""}
    stop = threading.Event()

    def writer() -> None:
        for version in versions[1:]:
            if stop.wait(0.15):
                return
            save(shared, text(version))

    thread = threading.Thread(target=writer)
    thread.start()
    outputs: list[tuple[int, str, str]] = []
    try:
        for _round in range(2):
            procs = [templates_list(config_dir, env) for _ in range(8)]
            outputs += [(p.wait(60), *p.communicate()) for p in procs]
    finally:
        stop.set()
        thread.join()
    save(shared, text("final"))
    final = [templates_list(config_dir, env) for _ in range(8)]
    finals = [(p.wait(60), *p.communicate()) for p in final]

    seen = set()
    for code, out, err in [*outputs, *finals]:
        assert code == 0, err
        assert err == "", err  # no corrupt entry, no database error
        data = json.loads(out)
        names = [t["name"] for t in data]
        version = names[0].split("-")[0]
        seen.add(version)
        # every answer is one complete version of the file, never a mix or a stale one
        assert names == [f"{version}-{i}" for i in range(50)]
        assert data[0]["description"] == "overlay"
        assert version in {*versions, "final"}
    for _code, out, _err in finals:
        assert json.loads(out)[0]["name"] == "final-0"
    assert len(seen) >= 2  # the file really changed while they ran


_LIST_AND_REPORT_MODULES = """
import contextlib, io, json, sys
from templar.cli import cli
with contextlib.redirect_stdout(io.StringIO()):
    cli.main(["--config-dir", sys.argv[1], "list", "--format", "json"], standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


def test_a_warm_list_imports_no_yaml_watch_or_sql_library(simple: Path, cache_dir: Path) -> None:
    """`templates list` pays only for what it uses (python -X importtime shows the rest)."""
    env = {**os.environ, "TEMPLAR_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-c", _LIST_AND_REPORT_MODULES, str(simple)]
    cold = json.loads(subprocess.run(command, capture_output=True, check=True, env=env).stdout)
    warm = json.loads(subprocess.run(command, capture_output=True, check=True, env=env).stdout)
    roots = {name.split(".")[0] for name in warm}
    assert "ryml" in cold  # the cold load read YAML...
    assert not roots & {"ryml", "ruamel"}  # ...the warm one never touches it
    for modules in (cold, warm):
        assert not {m.split(".")[0] for m in modules} & {
            "watchfiles",
            "anyio",
            "asyncio",
            "sqlalchemy",
            "psycopg",
            "psycopg2",
        }


def test_a_caller_changing_a_returned_template_does_not_reach_other_processes(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "templates.yaml").write_text("- template_id: a\n  size: 1\n  nested: {k: v}\n")
    (config / "genericinst_templates.yaml").write_text("- template_id: b\n")
    engine = TemplateEngine(config)
    mine = engine.get_template("a")
    assert mine is not None
    mine.configuration["size"] = 999  # the docs say read-only; a caller did it anyway
    (config / "genericinst_templates.yaml").write_text("- template_id: b\n  name: edited\n")
    engine.reload()
    other_process = TemplateEngine(config)
    template = other_process.get_template("a")
    assert template is not None and template.configuration == {"size": 1, "nested": {"k": "v"}}
    assert other_process.get_template("b").name == "edited"  # type: ignore[union-attr]
