"""The SQL backend on SQLite and on PostgreSQL: schema, reads, versioned writes, audit,
parameterised queries, watching, and the engine on top of it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from templar import TemplateEngine
from templar.cli import cli
from templar.errors import ConcurrencyError, StorageError
from templar.models import ChangeEvent, LayerKind
from templar.storage import LayerChange, LayerSource

import templar_sql.plugin
from templar_sql import SCHEMA_VERSION, SqlStorage, location_of


def put(
    storage: SqlStorage,
    kind: LayerKind,
    scope: str | None,
    templates: dict[str, dict[str, Any]],
    *,
    remove: frozenset[str] = frozenset(),
    actor: str | None = "tester",
) -> str:
    """Write ``templates`` into one layer with the version it has now."""
    source = storage.source_for(kind, scope)
    return storage.write(
        LayerChange(source, storage.version(source), put=templates, remove=remove, actor=actor)
    )


def engine_on(config_dir: Path, url: str) -> TemplateEngine:
    return TemplateEngine(
        config_dir,
        settings={"storage": {"backend": "sql", "url": url}, "cache": {"enabled": False}},
        plugins=[templar_sql.plugin],
        load_entrypoints=False,
    )


def test_schema_is_created_on_first_use_with_its_version(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    assert storage.list_sources() == []
    engine = create_engine(storage.url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"templates", "template_layers", "template_audit", "templar_state"} <= tables
        with engine.connect() as conn:
            row = conn.execute(text("SELECT schema_version, change_counter FROM templar_state"))
            assert row.one() == (SCHEMA_VERSION, 0)
    finally:
        engine.dispose()
        storage.close()


def test_a_newer_schema_is_refused_with_a_clear_message(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    storage.list_sources()
    engine = create_engine(storage.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE templar_state SET schema_version = :v"), {"v": 99})
    engine.dispose()
    with pytest.raises(StorageError, match="schema is version 99, newer than"):
        SqlStorage(sql_url).list_sources()


def test_written_layers_read_back_in_order_with_versions(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    first = storage.fingerprint()
    version = put(
        storage,
        LayerKind.PROVIDER,
        "aws",
        {
            "web": {"template_id": "web", "provider_type": "aws", "max_number": 5},
            "db": {"template_id": "db", "maxNumber": 2, "note": None},
        },
    )
    assert version == "1"
    assert storage.fingerprint() != first
    source = storage.source_for(LayerKind.PROVIDER, "aws")
    assert storage.list_sources() == [source]
    assert source.location == "sql:templates/provider/aws"
    layer = storage.read(source)
    assert layer.version == "1"
    assert [t.template_id for t in layer.templates] == ["web", "db"]
    assert layer.templates[0].provider_type == "aws"
    assert layer.templates[1].body == {"template_id": "db", "maxNumber": 2, "note": None}
    assert layer.may_hold_nulls
    assert put(storage, LayerKind.PROVIDER, "aws", {"web": {"template_id": "web"}}) == "2"
    again = storage.read(source)
    assert [t.template_id for t in again.templates] == ["web", "db"]  # an update keeps its place
    assert storage.template_versions[(source.location, "web")] == 2
    assert storage.template_versions[(source.location, "db")] == 1


def test_a_write_that_changes_nothing_keeps_the_version(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    body = {"template_id": "web", "max_number": 5}
    assert put(storage, LayerKind.SHARED, None, {"web": body}) == "1"
    fingerprint = storage.fingerprint()
    assert put(storage, LayerKind.SHARED, None, {"web": dict(body)}) == "1"
    assert put(storage, LayerKind.SHARED, None, {}, remove=frozenset({"absent"})) == "1"
    assert storage.fingerprint() == fingerprint
    assert len(storage.history("web")) == 1


def test_a_stale_version_is_refused_naming_the_template_and_both_versions(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    put(storage, LayerKind.TYPE, "aws", {"web": {"max_number": 1}})
    source = storage.source_for(LayerKind.TYPE, "aws")
    read_version = storage.version(source)
    other = SqlStorage(sql_url)  # another host, same database
    other.write(LayerChange(source, read_version, put={"web": {"max_number": 2}}, actor="other"))
    with pytest.raises(ConcurrencyError) as caught:
        storage.write(LayerChange(source, read_version, put={"web": {"max_number": 3}}))
    message = str(caught.value)
    assert "'web'" in message and "version 2" in message and "not 1" in message
    assert caught.value.context["expected_version"] == "1"
    assert caught.value.context["actual_version"] == "2"
    assert storage.read(source).templates[0].body == {"max_number": 2}  # nothing changed
    assert [e.actor for e in storage.history("web")] == ["tester", "other"]
    with pytest.raises(ConcurrencyError, match="version 2, not absent"):
        storage.write(LayerChange(source, None, put={"new": {}}))


def test_every_write_has_its_audit_rows(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    put(storage, LayerKind.PROVIDER, "aws", {"web": {"max_number": 1, "image": "a"}}, actor="ann")
    put(storage, LayerKind.PROVIDER, "aws", {"web": {"max_number": 2, "image": "a"}}, actor="bob")
    put(storage, LayerKind.PROVIDER, "aws", {}, remove=frozenset({"web"}), actor="cy")
    history = storage.history("web")
    assert [(e.action, e.actor, e.old_version, e.new_version) for e in history] == [
        ("create", "ann", None, 1),
        ("update", "bob", 1, 2),
        ("delete", "cy", 2, 3),
    ]
    assert history[1].changed_fields == ["max_number"]
    assert history[1].old_body == {"max_number": 1, "image": "a"}
    assert history[1].new_body == {"max_number": 2, "image": "a"}
    assert history[2].new_body is None
    assert history[0].layer == "provider aws"
    assert history[0].at <= history[2].at
    assert storage.read(storage.source_for(LayerKind.PROVIDER, "aws")).templates == []


def test_the_audit_table_is_append_only(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    put(storage, LayerKind.SHARED, None, {"web": {}})
    engine = create_engine(storage.url)
    try:
        for statement in ("UPDATE template_audit SET actor = 'x'", "DELETE FROM template_audit"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    assert len(storage.history()) == 1


HOSTILE_IDS = [
    "x'; DROP TABLE templates; --",
    'x"; DROP TABLE template_audit; --',
    "web' OR '1'='1",
    "%_\\",
    "Robert'); DELETE FROM template_layers WHERE ('1'='1",
]


def test_ids_and_scopes_never_reach_sql_text(sql_url: str, tmp_path: Path) -> None:
    storage = SqlStorage(sql_url)
    hostile_scope = "aws'; DROP TABLE template_layers; --"
    bodies = {
        tid: {"template_id": tid, "configuration": {"n": i}} for i, tid in enumerate(HOSTILE_IDS)
    }
    put(storage, LayerKind.SHARED, None, bodies)
    put(storage, LayerKind.INSTANCE, hostile_scope, {HOSTILE_IDS[0]: {"description": "x"}})
    put(storage, LayerKind.SHARED, None, {}, remove=frozenset({HOSTILE_IDS[4]}))
    layer = storage.read(storage.source_for(LayerKind.SHARED, None))
    assert [t.template_id for t in layer.templates] == HOSTILE_IDS[:4]
    assert [e.template_id for e in storage.history(HOSTILE_IDS[0])] == [HOSTILE_IDS[0]] * 2
    assert storage.history("x") == []  # no LIKE, no pattern: exact ids only
    engine = engine_on(tmp_path, sql_url)
    assert {t.template_id for t in engine.list_templates()} == set(HOSTILE_IDS[:4])
    found = engine.get_template(HOSTILE_IDS[0])
    assert found is not None and found.configuration == {"n": 0}
    assert [t.template_id for t in engine.search_templates({"template_id": HOSTILE_IDS[2]})] == [
        HOSTILE_IDS[2]
    ]
    check = create_engine(storage.url)
    try:
        tables = set(inspect(check).get_table_names())
        assert {"templates", "template_layers", "template_audit"} <= tables
    finally:
        check.dispose()


def test_unsafe_writes_are_refused_before_any_query(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{tmp_path / 'never.db'}")
    shared = storage.source_for(LayerKind.SHARED, None)
    for change in (
        LayerChange(shared, None, put={"": {}}),
        LayerChange(shared, None, put={"a\0b": {}}),
        LayerChange(shared, None, put={"a": {"x": "nul\0"}}),
        LayerChange(shared, None, put={"a": {}}, remove=frozenset({"a"})),
        LayerChange(LayerSource(LayerKind.TYPE, None, "x"), None, put={"a": {}}),
        LayerChange(LayerSource(LayerKind.TYPE_DEFAULTS, "aws", "x"), None, put={"a": {}}),
    ):
        with pytest.raises(StorageError):
            storage.write(change)
    assert not (tmp_path / "never.db").exists()


def test_bad_rows_are_issues_not_exceptions(sql_url: str) -> None:
    storage = SqlStorage(sql_url)
    put(storage, LayerKind.SHARED, None, {"good": {"a": 1}, "bad": {"a": 2}, "list": {}})
    engine = create_engine(storage.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE templates SET body = '{not json' WHERE template_id = 'bad'"))
        conn.execute(text("UPDATE templates SET body = '[1, 2]' WHERE template_id = 'list'"))
    engine.dispose()
    layer = storage.read(storage.source_for(LayerKind.SHARED, None))
    assert [t.template_id for t in layer.templates] == ["good"]
    assert sorted((i.template_id, i.code) for i in layer.issues) == [
        ("bad", "invalid-template"),
        ("list", "invalid-template"),
    ]
    assert all(i.file == "sql:templates/shared" for i in layer.issues)


def test_the_engine_merges_sql_layers_like_files(sql_url: str, tmp_path: Path) -> None:
    storage = SqlStorage(sql_url)
    put(
        storage,
        LayerKind.PROVIDER,
        "generic",
        {"web": {"template_id": "web", "configuration": {"size": "s", "zone": "a"}}},
    )
    put(storage, LayerKind.TYPE, "generic", {"web": {"configuration": {"size": "m"}}})
    put(storage, LayerKind.INSTANCE, "generic", {"web": {"description": "mine"}})
    engine = engine_on(tmp_path, sql_url)
    web = engine.get_template("web")
    assert web is not None
    assert web.configuration == {"size": "m", "zone": "a"}
    assert web.description == "mine"
    explanation = engine.explain("web")
    by_field = {f.field: f for f in explanation.fields}
    assert by_field["configuration.size"].source.file == location_of(LayerKind.TYPE, "generic")
    assert by_field["configuration.size"].shadowed[0].value == "s"
    assert by_field["description"].source.layer == "instance"
    assert by_field["configuration.size"].source.record == {
        "table": "templates",
        "layer": "type",
        "scope": "generic",
        "id": "web",
        "version": 1,
    }
    assert by_field["configuration.size"].source.line is None


def test_explain_on_the_command_line_names_the_row(
    sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SqlStorage(sql_url)
    put(storage, LayerKind.PROVIDER, "generic", {"web": {"template_id": "web", "name": "a"}})
    put(storage, LayerKind.PROVIDER, "generic", {"web": {"template_id": "web", "name": "b"}})
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", sql_url)
    monkeypatch.setenv("TEMPLAR_PLUGINS", "sql")
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "show", "web", "--explain"])
    assert result.exit_code == 0, result.output
    assert 'name = "b"    <- provider sql:templates/provider/generic (id web, version 2)' in (
        result.output
    )


def test_storage_url_from_the_environment(
    sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(SqlStorage(sql_url), LayerKind.SHARED, None, {"env": {"template_id": "env"}})
    (tmp_path / "templar.yaml").write_text(
        "storage:\n  backend: sql\n  url: sqlite:///elsewhere.db\n"
    )
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", sql_url)
    engine = TemplateEngine(
        tmp_path, plugins=[templar_sql.plugin], load_entrypoints=False, use_cache=False
    )
    assert [t.template_id for t in engine.list_templates()] == ["env"]
    assert not (tmp_path / "elsewhere.db").exists()


def test_a_missing_url_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPLAR_STORAGE_URL", raising=False)
    engine = TemplateEngine(
        tmp_path,
        settings={"storage": {"backend": "sql"}},
        plugins=[templar_sql.plugin],
        load_entrypoints=False,
    )
    with pytest.raises(StorageError, match=r"set storage\.url"):
        engine.list_templates()


def test_relative_sqlite_paths_are_relative_to_the_config_dir(tmp_path: Path) -> None:
    storage = SqlStorage("sqlite:///sub.db", config_dir=tmp_path)
    put(storage, LayerKind.SHARED, None, {"a": {}})
    assert (tmp_path / "sub.db").is_file()


def test_changes_sees_another_writer(sql_url: str) -> None:
    watching, writer = SqlStorage(sql_url, poll_interval=0.01), SqlStorage(sql_url)
    writer.list_sources()
    stop = threading.Event()
    seen: list[set[str]] = []
    got_two = threading.Event()

    def follow() -> None:
        for batch in watching.changes(stop):
            seen.append(batch)
            if len(seen) == 2:
                got_two.set()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        while not seen:
            thread.join(0.01)
        assert seen == [set()]  # the watch is in place
        put(writer, LayerKind.TYPE, "aws", {"web": {}})
        assert got_two.wait(5)
        assert seen[1] == {"sql:templates/type/aws"}
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_the_url_alone_selects_the_sql_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'alone.db'}"
    put(SqlStorage(url), LayerKind.SHARED, None, {"alone": {"template_id": "alone"}})
    config_dir = tmp_path / "config"
    config_dir.mkdir()  # no templar.yaml at all
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", url)
    engine = TemplateEngine(
        config_dir, plugins=[templar_sql.plugin], load_entrypoints=False, use_cache=False
    )
    assert engine.storage.name == "sql"
    assert [t.template_id for t in engine.list_templates()] == ["alone"]
    monkeypatch.setenv("TEMPLAR_STORAGE_URL", "mysql://x/y")
    with pytest.raises(StorageError, match="no installed storage backend serves 'mysql:'"):
        _ = TemplateEngine(config_dir, plugins=[templar_sql.plugin], load_entrypoints=False).storage


def test_engine_watch_follows_writes_from_elsewhere(sql_url: str, tmp_path: Path) -> None:
    writer = SqlStorage(sql_url)
    put(writer, LayerKind.SHARED, None, {"web": {"template_id": "web", "name": "a"}})
    engine = engine_on(tmp_path, sql_url)
    assert engine.get_template("web") is not None
    events: list[ChangeEvent] = []
    arrived = threading.Event()

    def on_change(event: ChangeEvent) -> None:
        events.append(event)
        arrived.set()

    watcher = engine.watch(on_change, debounce_ms=10)
    try:
        put(writer, LayerKind.SHARED, None, {"db": {"template_id": "db"}})
        assert arrived.wait(10), watcher.failures
        assert events[0].added == {"generic": ["db"]}
        assert events[0].files == ["sql:templates/shared"]
        arrived.clear()
        put(writer, LayerKind.SHARED, None, {"web": {"template_id": "web", "name": "b"}})
        assert arrived.wait(10), watcher.failures
        assert events[-1].changed == {"generic": ["web"]}
        web = engine.get_template("web")
        assert web is not None and web.name == "b"
    finally:
        watcher.stop()
