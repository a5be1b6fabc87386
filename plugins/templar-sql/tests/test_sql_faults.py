"""The PostgreSQL server killed mid-run: reads and writes fail fast and clearly, nothing
is half-written, and everything works again once the server is back."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from templar.errors import StorageError
from templar.models import LayerKind
from templar.storage import LayerChange, LayerSource

from templar_sql import SqlStorage
from templar_sql.database import RETRY_DELAYS
from templar_sql.pgserver import ThrowawayPostgres, find_bin_dir


@pytest.fixture(scope="module")
def server_to_kill(postgres_server: ThrowawayPostgres) -> Iterator[ThrowawayPostgres]:
    """A server of this module's own, to kill (the session's serves the other tests)."""
    assert find_bin_dir() is not None
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def own_server(server_to_kill: ThrowawayPostgres) -> Iterator[ThrowawayPostgres]:
    """That server, running at the start of each test and again after it."""
    if server_to_kill.pid is None:
        server_to_kill.start()
    yield server_to_kill
    if server_to_kill.pid is None:
        server_to_kill.start()


def test_a_killed_server_fails_reads_and_writes_cleanly_then_recovers(
    own_server: ThrowawayPostgres,
) -> None:
    url = own_server.create_database("faults")
    storage = SqlStorage(url, connect_timeout=1)
    source = storage.source_for(LayerKind.PROVIDER, "aws")
    storage.write(LayerChange(source, None, put={"web": {"max_number": 1}}))
    version = storage.version(source)
    assert version == "1"

    own_server.kill()
    started = time.monotonic()
    with pytest.raises(StorageError, match="could not list the layers") as caught:
        storage.list_sources()
    elapsed = time.monotonic() - started
    assert "templar@" in str(caught.value)  # names the database
    assert elapsed >= sum(RETRY_DELAYS) * 0.9  # it did retry, with backoff...
    assert elapsed < sum(RETRY_DELAYS) + 5  # ...a bounded number of times
    with pytest.raises(StorageError, match="could not write the provider layer"):
        storage.write(LayerChange(source, version, put={"web": {"max_number": 2}}))

    own_server.start()
    # The same storage object reconnects; the failed write changed nothing.
    assert storage.list_sources() == [source]
    layer = storage.read(source)
    assert layer.version == "1"
    assert layer.templates[0].body == {"max_number": 1}
    assert [e.action for e in storage.history("web")] == ["create"]
    assert storage.write(LayerChange(source, "1", put={"web": {"max_number": 3}})) == "2"


def test_a_broken_pooled_connection_is_retried_not_reported(
    own_server: ThrowawayPostgres,
) -> None:
    url = own_server.create_database("blip")
    storage = SqlStorage(url)
    assert storage.list_sources() == []  # a pooled connection to the old server process
    own_server.kill()
    own_server.start()
    # The pooled connection is dead: the first attempt fails, the retry reconnects.
    assert storage.list_sources() == []
    source = storage.source_for(LayerKind.SHARED, None)
    own_server.kill()
    own_server.start()
    assert storage.write(LayerChange(source, None, put={"a": {}})) == "1"


def test_watching_survives_a_server_restart(own_server: ThrowawayPostgres) -> None:
    url = own_server.create_database("watch")
    watcher, writer = SqlStorage(url), SqlStorage(url)
    writer.list_sources()
    stop = threading.Event()
    batches: list[set[str]] = []
    arrived = threading.Condition()

    def follow() -> None:
        for batch in watcher.changes(stop):
            with arrived:
                batches.append(batch)
                arrived.notify_all()

    def wait_for(count: int) -> None:
        with arrived:
            assert arrived.wait_for(lambda: len(batches) >= count, timeout=15), batches

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        wait_for(1)
        source = writer.source_for(LayerKind.TYPE, "aws")
        writer.write(LayerChange(source, None, put={"web": {}}))
        wait_for(2)
        assert batches[:2] == [set(), {"sql:templates/type/aws"}]
        own_server.kill()
        own_server.start()
        wait_for(3)
        assert batches[2] == set()  # back: "read everything again"
        writer.write(LayerChange(source, "1", put={"web": {"n": 1}}))
        wait_for(4)
        assert batches[3] == {"sql:templates/type/aws"}
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def run_cli(config_dir: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``templates ARGS`` as a real process on ``config_dir``."""
    environment = {**os.environ, "TEMPLAR_CACHE_DIR": str(cache_dir)}
    environment.pop("TEMPLAR_STORAGE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "templar", "--config-dir", str(config_dir), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def sql_config(
    server: ThrowawayPostgres, tmp_path: Path, database: str, web: dict[str, Any]
) -> tuple[SqlStorage, LayerSource, Path, Path]:
    """A new database holding the template ``web`` in its shared layer, its storage and
    that layer, and a config dir reading it (failing fast: ``connect_timeout`` 1 s)
    with the cache dir to run the CLI with."""
    url = server.create_database(database)
    storage = SqlStorage(url, connect_timeout=1)
    shared = storage.source_for(LayerKind.SHARED, None)
    storage.write(LayerChange(shared, None, put={"web": web}))
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "templar.yaml").write_text(
        f"storage:\n  backend: sql\n  url: '{url}'\n  connect_timeout: 1\n"
    )
    return storage, shared, config_dir, tmp_path / "cache"


def test_reading_commands_serve_the_last_cached_load_while_the_server_is_down(
    own_server: ThrowawayPostgres, tmp_path: Path
) -> None:
    storage, shared, config_dir, cache_dir = sql_config(
        own_server, tmp_path, "stale", {"template_id": "web"}
    )
    fresh = run_cli(config_dir, cache_dir, "list", "--format", "json")
    assert fresh.returncode == 0, fresh.stderr
    assert "web" in fresh.stdout and "warning" not in fresh.stderr

    own_server.kill()
    stale = run_cli(config_dir, cache_dir, "list", "--format", "json")
    assert stale.returncode == 0, stale.stderr
    assert stale.stdout == fresh.stdout  # the same templates...
    assert "could not list the layers" in stale.stderr  # ...said to be stale
    assert "may be out of date" in stale.stderr
    with pytest.raises(StorageError):  # writes are never served from the cache
        storage.write(LayerChange(shared, "1", put={"web": {"template_id": "web", "n": 1}}))

    never_cached = tmp_path / "other-cache"
    unreachable = run_cli(config_dir, never_cached, "list")
    assert unreachable.returncode != 0
    assert "could not list the layers" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    own_server.start()
    assert storage.read(shared).templates[0].body == {"template_id": "web"}  # unchanged


def test_a_writing_command_fails_clearly_and_changes_nothing_while_the_server_is_down(
    own_server: ThrowawayPostgres, tmp_path: Path
) -> None:
    pytest.importorskip("templar.write")  # templates set arrives with issue 10
    storage, shared, config_dir, cache_dir = sql_config(
        own_server, tmp_path, "set_while_down", {"template_id": "web", "name": "a"}
    )
    assert run_cli(config_dir, cache_dir, "list").returncode == 0  # cached
    own_server.kill()
    refused = run_cli(config_dir, cache_dir, "set", "web", "name=b")
    assert refused.returncode != 0
    assert "error:" in refused.stderr and "could not" in refused.stderr
    assert "Traceback" not in refused.stderr
    own_server.start()
    assert storage.read(shared).templates[0].body == {"template_id": "web", "name": "a"}
    assert [e.action for e in storage.history("web")] == ["create"]


def test_explain_while_the_server_is_down_says_so_or_serves_the_stale_load(
    own_server: ThrowawayPostgres, tmp_path: Path
) -> None:
    _, _, config_dir, cache_dir = sql_config(
        own_server, tmp_path, "explain_down", {"template_id": "web", "name": "Web"}
    )
    fresh = run_cli(config_dir, cache_dir, "show", "web", "--explain")
    assert fresh.returncode == 0, fresh.stderr
    assert "sql:templates/shared (id web" in fresh.stdout  # provenance names the row

    own_server.kill()
    # as list does: the last cached load, said to be stale; a template it does not
    # hold is still "no template", but never while the storage is said to be fine
    stale = run_cli(config_dir, cache_dir, "show", "web", "--explain")
    assert "could not list the layers" in stale.stderr, stale.stderr
    assert "may be out of date" in stale.stderr
    assert "Traceback" not in stale.stderr
    assert stale.returncode == 0, stale.stderr
    assert "web" in stale.stdout and "Web" in stale.stdout
    plain = run_cli(config_dir, cache_dir, "show", "web")
    assert plain.returncode == 0 and "Web" in plain.stdout, plain.stderr
    assert "may be out of date" in plain.stderr

    # never cached: the storage is unreachable, and the message says that, not "no template"
    unreachable = run_cli(config_dir, tmp_path / "other-cache", "show", "web", "--explain")
    assert unreachable.returncode != 0
    assert "could not list the layers" in unreachable.stderr, unreachable.stderr
    assert "no template" not in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    own_server.start()
