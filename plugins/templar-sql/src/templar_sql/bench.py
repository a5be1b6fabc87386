"""The SQL columns of the benchmark: ``python -m templar_sql.bench``.

On the core benchmark's four-layer HostFactory corpus (:mod:`templar.bench.corpus`,
JSON), migrated into SQLite and into a throwaway PostgreSQL (or ``--postgres URL``, an
empty database), measured in one run, in turn, medians of ``--repeat`` runs:

* cold load (a new engine, no cache) from PostgreSQL and from SQLite, against the
  same cold load from the files: target <= 1.5x for PostgreSQL;
* warm load (a new engine; the cache hit after the one change-counter query) from
  PostgreSQL and SQLite, against the warm load from the files: target <= 1.2x;
* ``templates set`` on one template in PostgreSQL: the database time of reading the
  layer version and writing the change with its audit row: target <= 50 ms.

Compare the ratios, not the seconds: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from templar.bench import corpus, measure
from templar.bench.report import Row, print_report
from templar.engine import TemplateEngine
from templar.models import LayerKind
from templar.settings import CacheSettings, load_settings
from templar.storage import LayerChange
from templar.storage.files import FileStorage
from templar.storage.migrate import apply_migration, plan_migration

from templar_sql.storage import SqlStorage


@contextmanager
def _cache_dir(path: Path) -> Iterator[None]:
    before = os.environ.pop("TEMPLAR_CACHE_DIR", None)
    os.environ["TEMPLAR_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        os.environ.pop("TEMPLAR_CACHE_DIR", None)
        if before is not None:
            os.environ["TEMPLAR_CACHE_DIR"] = before


def sql_engine(directory: Path, url: str, cache: Path | None) -> TemplateEngine:
    """An engine with the corpus's engine config, over the SQL database at ``url``."""
    settings, _ = load_settings(directory)
    storage = settings.storage.model_copy(update={"backend": "sql"})
    storage.url = url  # type: ignore[attr-defined]  # storage settings allow extra keys
    update: dict[str, object] = {"storage": storage}
    if cache is not None:
        update["cache"] = CacheSettings(dir=cache)
    return TemplateEngine.from_settings(
        settings.model_copy(update=update), config_dir=directory, use_cache=cache is not None
    )


def sql_load(directory: Path, url: str, cache: Path | None = None, *, warm: bool = False) -> int:
    """A new engine loading from SQL; with ``warm``, it must be served from the cache."""
    engine = sql_engine(directory, url, cache)
    count = len(engine.list_templates(active_only=False))
    assert engine.state.from_cache == warm, "warm load missed the cache" if warm else "cached"
    engine.storage.close()  # type: ignore[attr-defined]
    return count


def migrate(directory: Path, url: str) -> None:
    """Copy the corpus's layers into the database at ``url``."""
    settings, _ = load_settings(directory)
    target = SqlStorage(url)
    apply_migration(plan_migration(FileStorage(directory, settings), target), target)
    target.close()


def set_one(url: str, rounds: int) -> float:
    """Median database time of a one-template edit: read the layer's version, write."""
    storage = SqlStorage(url)
    layer = storage.source_for(LayerKind.INSTANCE, "aws")
    template_id = corpus.template_id(0)
    body = next(t.body for t in storage.read(layer).templates if t.template_id == template_id)
    spent = []
    for n in range(rounds):
        start = time.perf_counter()
        storage.write(
            LayerChange(
                layer, storage.version(layer), put={template_id: {**body, "maxNumber": 10 + n}}
            )
        )
        spent.append(time.perf_counter() - start)
    storage.close()
    return statistics.median(spent)


def run(size: int, repeat: int, postgres: str | None, work: Path) -> list[Row]:
    """Every SQL row for a corpus of ``size`` templates."""
    clean = corpus.write_layers(work / f"layers-{size}-json", size, "json")
    sqlite_url = f"sqlite:///{work / f'templates-{size}.db'}"
    server = None
    if postgres is None:
        from templar_sql.pgserver import ThrowawayPostgres

        server = ThrowawayPostgres(durable=True).start()
        postgres = server.create_database("bench")
    try:
        migrate(clean, sqlite_url)
        migrate(clean, postgres)
        caches = {name: work / f"cache-{name}" for name in ("file", "sqlite", "pg")}
        for path in caches.values():
            shutil.rmtree(path, ignore_errors=True)
        with _cache_dir(caches["file"]):
            assert measure.engine_cold_load(clean) == size
            measure.cached_entry_file(clean)  # fills the file cache
        assert sql_load(clean, sqlite_url, caches["sqlite"]) == size
        assert sql_load(clean, postgres, caches["pg"]) == size

        def file_warm() -> None:
            with _cache_dir(caches["file"]):
                measure.engine_warm_load(clean)

        cold_file, cold_sqlite, cold_pg, warm_file, warm_sqlite, warm_pg = measure.measure_in_turn(
            [
                (lambda: measure.engine_cold_load(clean), repeat),
                (lambda: sql_load(clean, sqlite_url), repeat),
                (lambda: sql_load(clean, postgres), repeat),
                (file_warm, 5 * repeat),
                (lambda: sql_load(clean, sqlite_url, caches["sqlite"], warm=True), 5 * repeat),
                (lambda: sql_load(clean, postgres, caches["pg"], warm=True), 5 * repeat),
            ]
        )
        set_pg = set_one(postgres, 10 * repeat)
        set_sqlite = set_one(sqlite_url, 10 * repeat)
    finally:
        if server is not None:
            server.close()
    return [
        Row(size, "cold load, PostgreSQL", cold_pg, "cold load, files", cold_file, "<= 1.5x",
            cold_pg <= 1.5 * cold_file),
        Row(size, "cold load, SQLite", cold_sqlite, "cold load, files", cold_file, "(info)", True),
        Row(size, "warm load, PostgreSQL", warm_pg, "warm load, files", warm_file, "<= 1.2x",
            warm_pg <= 1.2 * warm_file),
        Row(size, "warm load, SQLite", warm_sqlite, "warm load, files", warm_file, "(info)", True),
        Row(1, "set one template, PostgreSQL (db time)", set_pg, "50 ms", 0.05, "<= 1x",
            set_pg <= 0.05),
        Row(1, "set one template, SQLite (db time)", set_sqlite, "50 ms", 0.05, "(info)", True),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m templar_sql.bench [--size N] [--repeat N] [--postgres URL]``."""
    parser = argparse.ArgumentParser(prog="python -m templar_sql.bench", description=__doc__)
    parser.add_argument("--size", type=int, default=10_000, help="templates (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database")
    parser.add_argument("--format", choices=("table", "json", "yaml"), default="table")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="templar-sql-bench-"))
    try:
        rows = run(args.size, args.repeat, args.postgres, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_report(rows, args.format)
    return 1 if args.check and not all(r.ok for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
