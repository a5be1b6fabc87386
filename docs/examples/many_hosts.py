"""Many hosts over one PostgreSQL: host B watches, host A writes, B sees it at once.

Each "host" is a separate process with its own TemplateEngine (and its own disk
cache); the only thing they share is the database. B's ``engine.watch()`` follows
PostgreSQL's LISTEN/NOTIFY, so A's commit reaches it within milliseconds.

    python docs/examples/many_hosts.py              # on a throwaway PostgreSQL
    python docs/examples/many_hosts.py URL          # on yours (an empty database)

Needs templar-sql with its postgres extra, and for the throwaway server the
PostgreSQL server binaries (Debian: apt-get install -y postgresql).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from templar import ChangeEvent, TemplateEngine
from templar.models import LayerKind
from templar.storage import LayerChange

CONFIG = """\
storage:
  backend: sql
  url: '{url}'
watch:
  debounce_ms: 5   # one commit is one change: no editor's burst of saves to fold
"""


def host_b(config_dir: str) -> None:
    """The watching host: print one JSON line for the first change it sees."""
    engine = TemplateEngine(config_dir)
    seen = threading.Event()

    def on_change(event: ChangeEvent) -> None:
        print(json.dumps({"seen_at": time.time(), "added": event.added}), flush=True)
        seen.set()

    watcher = engine.watch(on_change)  # returns once LISTEN is in place
    print("ready", flush=True)
    seen.wait(30)
    watcher.stop()


def host_a(url: str) -> None:
    """The writing host: start B, write one template, report what B saw and when."""
    config_dir = Path(tempfile.mkdtemp(prefix="templar-host-"))
    (config_dir / "templar.yaml").write_text(CONFIG.format(url=url))
    engine = TemplateEngine(config_dir)
    print(f"host A: {len(engine.list_templates())} templates in {engine.storage!r}")
    b = subprocess.Popen(
        [sys.executable, __file__, "--watch", str(config_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert b.stdout is not None
    if b.stdout.readline().strip() != "ready":
        sys.exit("host B did not start watching")
    storage = engine.storage
    layer = storage.source_for(LayerKind.PROVIDER, "generic")
    written_at = time.time()
    storage.write(  # type: ignore[attr-defined]
        LayerChange(
            layer,
            storage.version(layer),  # type: ignore[attr-defined]
            put={"web-small": {"template_id": "web-small", "name": "from host A"}},
            actor="host-a",
        )
    )
    line = b.stdout.readline()
    b.wait(30)
    report = json.loads(line)
    latency_ms = (report["seen_at"] - written_at) * 1000
    print(f"host A: wrote web-small; host B's watch saw {report['added']} {latency_ms:.0f} ms later")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--watch"]:
        host_b(sys.argv[2])
    elif len(sys.argv) > 1:
        host_a(sys.argv[1])
    else:
        from templar_sql.pgserver import ThrowawayPostgres

        with ThrowawayPostgres() as server:
            host_a(server.create_database("hosts"))
