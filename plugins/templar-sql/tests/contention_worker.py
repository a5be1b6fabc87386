"""One of the writer processes of test_sql_contention.py (run as a script).

``python contention_worker.py URL NAME WRITES`` connects, prints ``ready``, waits for a
line on its standard input (so that every process starts at once), then makes ``WRITES`` successful updates of each of: the shared
template ``hot`` (appending its own token to ``hits``), its own ``cold-NAME`` in the same
layer, and its own ``own-NAME`` in a layer of its own. Every update reads the layer,
changes the body, and writes with the version it read; a ConcurrencyError is counted and
the update is tried again from a fresh read after a random pause. Prints one JSON line: what it wrote, and how
many attempts and conflicts it had.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

import orjson
from templar.errors import ConcurrencyError
from templar.models import LayerKind
from templar.storage import LayerChange

from templar_sql import SqlStorage


def update(storage: SqlStorage, kind: LayerKind, scope: str, template_id: str, token: str) -> int:
    """Append ``token`` to the ``hits`` of one template until a write succeeds; the number
    of conflicts met on the way."""
    source = storage.source_for(kind, scope)
    conflicts = 0
    while True:
        layer = storage.read(source)
        current = next((t.body for t in layer.templates if t.template_id == template_id), None)
        body: dict[str, Any] = {"template_id": template_id, "hits": []}
        if current is not None:
            body = {**current, "hits": [*current["hits"]]}
        body["hits"].append(token)
        try:
            storage.write(LayerChange(source, layer.version, put={template_id: body}, actor=token))
            return conflicts
        except ConcurrencyError:
            conflicts += 1
            # As a real client would: back off a random while before trying again, so
            # that eight writers do not keep colliding in lockstep.
            time.sleep(random.uniform(0, 0.005 * min(conflicts, 8)))


def main() -> None:
    url, name, writes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    storage = SqlStorage(url)
    storage.list_sources()  # connected before the start
    print("ready", flush=True)
    sys.stdin.readline()
    conflicts = {"hot": 0, "cold": 0, "own": 0}
    tokens = []
    for n in range(writes):
        token = f"{name}-{n}"
        tokens.append(token)
        conflicts["hot"] += update(storage, LayerKind.PROVIDER, "aws", "hot", token)
        conflicts["cold"] += update(storage, LayerKind.PROVIDER, "aws", f"cold-{name}", token)
        conflicts["own"] += update(storage, LayerKind.INSTANCE, name, f"own-{name}", token)
    storage.close()
    sys.stdout.write(
        orjson.dumps({"name": name, "tokens": tokens, "conflicts": conflicts}).decode()
    )


if __name__ == "__main__":
    main()
