"""One storage contract, three backends: files, SQLite and PostgreSQL give the engine the
same load, merge, provenance, writes, conflicts and watch events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from templar import ChangeEvent, TemplateEngine
from templar.errors import ConcurrencyError
from templar.models import LayerKind
from templar.storage import LayerChange, StorageBackend, WritableStorage
from templar.storage.files import FileStorage

import templar_sql.plugin
from templar_sql import SqlStorage

Layers = dict[tuple[LayerKind, str | None], dict[str, dict[str, Any]]]

_FILE_NAMES = {
    LayerKind.INSTANCE: "{scope}inst_templates.json",
    LayerKind.TYPE: "{scope}type_templates.json",
    LayerKind.PROVIDER: "{scope}prov_templates.json",
    LayerKind.SHARED: "templates.json",
}


@dataclass
class Backend:
    """One backend under test: how to fill it and how to open it."""

    name: str
    config_dir: Path
    url: str | None

    def settings(self) -> dict[str, Any]:
        storage: dict[str, Any] = {"backend": "file"}
        if self.url:
            storage = {"backend": "sql", "url": self.url, "poll_interval": 0.01}
        return {"storage": storage, "cache": {"enabled": False}}

    def engine(self) -> TemplateEngine:
        return TemplateEngine(
            self.config_dir,
            settings=self.settings(),
            plugins=[templar_sql.plugin],
            load_entrypoints=False,
        )

    def storage(self) -> StorageBackend:
        if self.url:
            return SqlStorage(self.url)
        return FileStorage(self.config_dir)

    def writable(self) -> WritableStorage:
        storage = self.storage()
        if not callable(getattr(storage, "write", None)):
            pytest.skip(f"{self.name} storage cannot write yet (file writes: issue 10)")
        return storage  # type: ignore[return-value]

    def fill(self, layers: Layers) -> None:
        """Make these layers exist, as a user of this backend would."""
        if self.url is None:
            for (kind, scope), templates in layers.items():
                name = _FILE_NAMES[kind].format(scope=scope or "")
                (self.config_dir / name).write_text(json.dumps(list(templates.values())))
            return
        storage = SqlStorage(self.url)
        for (kind, scope), templates in layers.items():
            source = storage.source_for(kind, scope)
            storage.write(LayerChange(source, storage.version(source), put=templates))


@pytest.fixture(params=["file", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    url = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'templates.db'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_server").create_database()
    yield Backend(request.param, config_dir, url)


LAYERS: Layers = {
    (LayerKind.PROVIDER, "generic"): {
        "web": {
            "template_id": "web",
            "name": "web",
            "configuration": {"size": "s", "zone": "a", "disk": 10},
        },
        "db": {"template_id": "db", "name": "db"},
    },
    (LayerKind.TYPE, "generic"): {"web": {"template_id": "web", "configuration": {"size": "m"}}},
    (LayerKind.INSTANCE, "generic"): {
        "web": {"template_id": "web", "description": "mine", "configuration": {"disk": None}}
    },
    (LayerKind.SHARED, None): {"shared": {"template_id": "shared", "name": "everyone"}},
}


def test_load(backend: Backend) -> None:
    backend.fill(LAYERS)
    engine = backend.engine()
    assert sorted(t.template_id for t in engine.list_templates()) == ["db", "shared", "web"]
    assert engine.validate().issues == []


def test_merge(backend: Backend) -> None:
    backend.fill(LAYERS)
    web = backend.engine().get_template("web")
    assert web is not None
    assert web.configuration == {"size": "m", "zone": "a"}  # deep, and null unsets
    assert web.description == "mine"
    assert web.file_priority == int(LayerKind.INSTANCE)


def test_provenance(backend: Backend) -> None:
    backend.fill(LAYERS)
    engine = backend.engine()
    sources = {(s.kind, s.scope): s.location for s in backend.storage().list_sources()}
    fields = {f.field: f for f in engine.explain("web").fields}
    size = fields["configuration.size"]
    assert size.source.layer == "type"
    assert size.source.file == sources[(LayerKind.TYPE, "generic")]
    assert [(s.layer, s.value) for s in size.shadowed] == [("provider", "s")]
    assert fields["configuration.disk"].unset
    if backend.url:
        assert size.source.record is not None and size.source.record["id"] == "web"
    else:
        assert size.source.line is not None


def test_save_and_delete(backend: Backend) -> None:
    backend.fill(LAYERS)
    storage = backend.writable()
    source = storage.source_for(LayerKind.PROVIDER, "generic")
    before = storage.version(source)
    body = {**LAYERS[(LayerKind.PROVIDER, "generic")]["db"], "name": "renamed"}
    after = storage.write(LayerChange(source, before, put={"db": body}))
    assert after != before and storage.version(source) == after
    assert backend.engine().get_template("db").name == "renamed"  # type: ignore[union-attr]
    storage.write(LayerChange(source, after, remove=frozenset({"db"})))
    assert backend.engine().get_template("db") is None


def test_conflicts(backend: Backend) -> None:
    backend.fill(LAYERS)
    storage, other = backend.writable(), backend.writable()
    source = storage.source_for(LayerKind.PROVIDER, "generic")
    read = storage.version(source)
    other.write(LayerChange(source, read, put={"db": {"template_id": "db", "name": "theirs"}}))
    with pytest.raises(ConcurrencyError):
        storage.write(LayerChange(source, read, put={"db": {"template_id": "db", "name": "mine"}}))
    assert backend.engine().get_template("db").name == "theirs"  # type: ignore[union-attr]


def test_watch(backend: Backend) -> None:
    backend.fill(LAYERS)
    engine = backend.engine()
    assert engine.get_template("late") is None
    events: list[ChangeEvent] = []
    arrived = threading.Event()

    def on_change(event: ChangeEvent) -> None:
        events.append(event)
        arrived.set()

    watcher = engine.watch(on_change, debounce_ms=20)
    try:
        backend.fill(
            {
                (LayerKind.SHARED, None): {
                    **LAYERS[(LayerKind.SHARED, None)],
                    "late": {"template_id": "late"},
                }
            }
        )
        assert arrived.wait(10), watcher.failures
        assert events[0].added == {"generic": ["late"]}
    finally:
        watcher.stop()
