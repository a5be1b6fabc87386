"""Eight processes writing the same and different templates of one PostgreSQL database
at once: no update is lost, and every write that did not apply said so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
from templar.models import LayerKind

from templar_sql import SqlStorage

WORKER = Path(__file__).with_name("contention_worker.py")
PROCESSES = 8
WRITES = 3


def test_eight_writers_lose_no_update_and_report_every_conflict(postgres_url: str) -> None:
    SqlStorage(postgres_url).list_sources()  # the schema, before the race
    names = [f"w{i}" for i in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), postgres_url, name, str(WRITES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for worker in workers:  # every one imported and connected
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    for worker in workers:  # then all at once
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(orjson.loads(out))

    storage = SqlStorage(postgres_url)
    shared = storage.read(storage.source_for(LayerKind.PROVIDER, "aws"))
    bodies = {t.template_id: t.body for t in shared.templates}
    every_token = sorted(token for report in reports for token in report["tokens"])
    # No update lost: every successful write of every process is in the final bodies.
    assert sorted(bodies["hot"]["hits"]) == every_token
    for report in reports:
        assert bodies[f"cold-{report['name']}"]["hits"] == report["tokens"]
        own = storage.read(storage.source_for(LayerKind.INSTANCE, report["name"]))
        assert own.version == str(WRITES)  # nobody else writes there: no conflict, no gap
        assert own.templates[0].body["hits"] == report["tokens"]
        assert report["conflicts"]["own"] == 0
    # Every write that applied made one version and one audit row; the others raised.
    successes = PROCESSES * WRITES * 2
    assert shared.version == str(successes)
    history = storage.history()
    assert len(history) == successes + PROCESSES * WRITES
    assert sorted(e.new_version for e in history if e.layer == "provider aws") == list(
        range(1, successes + 1)
    )
    conflicts = sum(r["conflicts"]["hot"] + r["conflicts"]["cold"] for r in reports)
    assert conflicts > 0  # the writers really did race
