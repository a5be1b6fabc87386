"""Benchmarks: ``python -m templar.bench``.

Generates a corpus of N templates (about 25 fields each, nested mappings and lists)
spread over the four file layers with overrides, then prints, in one run, the
engine's figures beside the floor they are measured against:

* cold load: a new engine reading every layer, merging and validating (no cache),
  against the floor of the fastest correct reader for the format plus pydantic
  validation of the same templates, no merge; and, with the cache on but empty, the
  first load, which also fills the cache;
* warm load: a new engine served from the on-disk cache, as a new process is,
  against the warm floor (reading the cached entry's bytes and decoding them with
  orjson, nothing else) and against the cold load with an empty cache (the cold load
  a user meets with the cache on) and, for the record, without a cache; once more in
  a fresh Python process (modules imported, nothing loaded);
* incremental reload after editing one file of the four (the instance overlay):
  ``engine.reload()`` on a loaded engine, and a new engine finding the other three
  files in the cache of parsed files; both against the cold load;
* hot-reload latency: from writing a file to the change event, median and p95 over
  ``--edits`` edits of the overlay, with the default debounce; and, for
  information, of the file that holds every full template;
* for the first size, a whole ``templates list --format json`` process on a warm
  cache against ``python -c "import pydantic"`` and ``python -c pass``.

Figures are medians of ``--repeat`` runs; compare the ratios, not the seconds: the
machine this runs on is shared and noisy. ``--keep DIR`` keeps the generated corpora
and reuses them on the next run (generating 10,000 templates takes a while).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LAYERS = (
    # (file name stem, share of templates overridden, fields overridden)
    ("templates", 1.0, None),
    ("genericprov_templates", 0.5, 4),
    ("generictype_templates", 0.25, 3),
    ("genericinst_templates", 0.1, 2),
)


def make_template(i: int, rng: random.Random) -> dict[str, Any]:
    """One template of about 25 fields with nested mappings and lists."""
    return {
        "template_id": f"tpl-{i:05d}",
        "name": f"Template {i}",
        "description": f"Generated template number {i} for benchmarking",
        "provider_api": rng.choice(["EC2Fleet", "SpotFleet", "ASG", "RunInstances"]),
        "is_active": i % 17 != 0,
        "tags": {"team": f"team-{i % 12}", "cost-center": f"cc-{i % 40}", "env": "prod"},
        "metadata": {"owner": f"user{i % 50}@example.com", "revision": i % 7},
        "configuration": {
            "max_number": rng.randint(1, 500),
            "image_id": f"ami-{rng.getrandbits(48):012x}",
            "instance_type": rng.choice(["m5.large", "c5.xlarge", "r5.2xlarge"]),
            "subnet_ids": [f"subnet-{rng.getrandbits(32):08x}" for _ in range(3)],
            "security_group_ids": [f"sg-{rng.getrandbits(32):08x}" for _ in range(2)],
            "key_name": f"key-{i % 9}",
            "price_type": rng.choice(["ondemand", "spot"]),
            "percent_on_demand": rng.randint(0, 100),
            "root_device_volume_size": rng.choice([20, 50, 100]),
            "volume_type": "gp3",
            "user_data": f"echo node {i}\nsystemctl start agent\n",
            "attributes": {
                "type": ["String", "X86_64"],
                "ncpus": ["Numeric", str(rng.choice([2, 4, 8]))],
                "nram": ["Numeric", str(rng.choice([4096, 8192]))],
            },
            "weights": {"m5.large": 1, "c5.xlarge": 2, "r5.2xlarge": 4},
            "network": {
                "public_ip": False,
                "mtu": 9001,
                "dns": {"search": ["corp.example", "example"]},
            },
            "retries": 3,
            "timeout_seconds": 30.5,
        },
    }


def override(template: dict[str, Any], fields: int, rng: random.Random) -> dict[str, Any]:
    """A partial higher-layer version of ``template`` changing ``fields`` values."""
    configuration = {
        "max_number": rng.randint(1, 500),
        "instance_type": "m6i.large",
        "network": {"mtu": 1500},
        "retries": 5,
    }
    keys = list(configuration)[:fields]
    return {
        "template_id": template["template_id"],
        "configuration": {k: configuration[k] for k in keys},
    }


def generate_corpus(directory: Path, count: int, fmt: str = "yaml", seed: int = 7) -> Path:
    """Write ``count`` templates over the four layers into ``directory``, unless a
    previous run left exactly that corpus there."""
    marker = directory.with_name(directory.name + ".done")
    recipe = {"count": count, "format": fmt, "seed": seed, "layers": LAYERS}
    if marker.exists() and directory.is_dir():
        done = json.loads(marker.read_text())
        if done.get("recipe") == json.loads(json.dumps(recipe)) and done.get("digest") == _digest(
            directory
        ):
            return directory
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    full = [make_template(i, rng) for i in range(count)]
    for stem, share, fields in LAYERS:
        if fields is None:
            docs = full
        else:
            step = max(1, round(1 / share))
            docs = [override(t, fields, rng) for t in full[::step]]
        _dump({"templates": docs}, directory / f"{stem}.{fmt}", fmt)
    marker.write_text(json.dumps({"recipe": recipe, "digest": _digest(directory)}))
    return directory


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _dump(data: Any, path: Path, fmt: str) -> None:
    if fmt == "json":
        path.write_text(json.dumps(data, indent=1))
        return
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with path.open("w") as f:
        yaml.dump(data, f)


def floor_cold_load(directory: Path) -> int:
    """The floor of a cold load: the fastest correct reader for the format, then
    pydantic validation of every template of the lowest layer; no merge."""
    from templar.engine import gc_paused
    from templar.models import TemplateDTO
    from templar.reader import read_document

    count = 0
    with gc_paused():
        documents = [read_document(p) for p in sorted(directory.iterdir()) if p.is_file()]
        for document in documents:
            if document is None or "templates" not in document:
                continue
            for raw in document["templates"]:
                if "name" in raw:  # full templates only: overrides are partial
                    TemplateDTO.model_validate(
                        {**raw, "provider_type": "generic", "provider_name": "generic"}
                    )
                    count += 1
    return count


def engine_cold_load(directory: Path) -> int:
    """A new engine loading the directory: discovery, read, merge, validation."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory, load_entrypoints=False, use_cache=False)
    return len(engine.list_templates(active_only=False))


def engine_first_load(directory: Path, cache_dir: Path) -> int:
    """A new engine loading the directory with the cache on but empty, as the first
    command after ``templates cache clear`` does: the cold load, plus writing the
    parsed files and the load into the cache (see :func:`empty_cache`)."""
    from templar.engine import TemplateEngine
    from templar.settings import CacheSettings, EngineSettings

    settings = EngineSettings(cache=CacheSettings(dir=cache_dir))
    before = os.environ.pop("TEMPLAR_CACHE_DIR", None)
    try:
        engine = TemplateEngine(directory, settings=settings, load_entrypoints=False)
        count = len(engine.list_templates(active_only=False))
    finally:
        if before is not None:
            os.environ["TEMPLAR_CACHE_DIR"] = before
    assert not engine.state.from_cache, "expected an empty cache"
    return count


def empty_cache(cache_dir: Path) -> None:
    """``templates cache clear`` on ``cache_dir``: the set-up of :func:`engine_first_load`."""
    from templar.cache import TemplateCache

    TemplateCache(cache_dir, ttl_seconds=300).clear()


def engine_warm_load(directory: Path) -> int:
    """A new engine served from the on-disk cache (``$TEMPLAR_CACHE_DIR``)."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory, load_entrypoints=False)
    count = len(engine.list_templates(active_only=False))
    assert engine.state.from_cache, "expected a cache hit"
    return count


def cached_entry_file(directory: Path) -> Path:
    """The file the cache keeps the load of ``directory`` in (loading it first)."""
    import diskcache

    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory, load_entrypoints=False)
    engine.list_templates()
    cache_dir = Path(os.environ["TEMPLAR_CACHE_DIR"])
    with diskcache.Cache(str(cache_dir)) as cache:
        handle = cache.get(f"state:{engine.state.cache_key}", read=True)
        if isinstance(handle, bytes):
            # a small entry lives in the index itself; the floor reads it from a file
            copy = cache_dir / "floor-entry.bin"
            copy.write_bytes(handle)
            return copy
        with handle:
            return Path(handle.name)


def floor_warm_load(entry: Path) -> int:
    """The floor of a warm load: read the cached bytes, decode them with orjson."""
    import orjson

    from templar.engine import gc_paused

    with gc_paused():
        blob = entry.read_bytes()
        data = orjson.loads(memoryview(blob)[blob.index(b"\n") + 1 :])
    return len(data)


_WARM_IN_A_NEW_PROCESS = """
import sys, time
import templar.cache, templar.snapshot  # imported: the CLI figure counts imports
from templar.engine import TemplateEngine
start = time.perf_counter()
engine = TemplateEngine(sys.argv[1], load_entrypoints=False)
engine.list_templates(active_only=False)
elapsed = time.perf_counter() - start
assert engine.state.from_cache
print(elapsed)
"""


def warm_load_in_a_new_process(directory: Path) -> float:
    """A warm load timed inside a fresh interpreter: nothing in memory but modules."""
    out = subprocess.run(
        [sys.executable, "-c", _WARM_IN_A_NEW_PROCESS, str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


class Editor:
    """Edits one value of one layer file, differently each time; restores it after.

    The first ``max_number`` of an overlay, or the first ``name`` of the shared file
    (its ``max_number`` is overridden by the overlay: editing it changes nothing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = path.read_bytes()
        self.count = 0
        self.field = b"name" if path.stem == "templates" else b"max_number"

    def edit(self) -> None:
        self.count += 1
        pattern = re.compile(re.escape(self.field) + rb": [^\n]+")
        new = b"%s: %d" % (self.field, 900_000 + self.count)
        self.path.write_bytes(pattern.sub(new, self.original, count=1))

    def restore(self) -> None:
        self.path.write_bytes(self.original)


def incremental_reload(directory: Path, repeat: int) -> float:
    """``engine.reload()`` after editing the overlay, on an engine that has loaded."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory, load_entrypoints=False)
    engine.reload()  # from the files: the layers are in memory
    editor = Editor(directory / "genericinst_templates.yaml")
    times = []
    try:
        for _ in range(repeat):
            editor.edit()
            gc.collect()
            start = time.perf_counter()
            event = engine.reload()
            times.append(time.perf_counter() - start)
            assert event.changed, "the edit changed nothing"
    finally:
        editor.restore()
    return statistics.median(times)


def incremental_new_engine(directory: Path, repeat: int) -> float:
    """A new engine after editing the overlay: three files from the parsed-file cache."""
    from templar.engine import TemplateEngine

    editor = Editor(directory / "genericinst_templates.yaml")
    times = []
    try:
        for _ in range(repeat):
            editor.edit()
            gc.collect()
            start = time.perf_counter()
            engine = TemplateEngine(directory, load_entrypoints=False)
            engine.list_templates()
            times.append(time.perf_counter() - start)
            assert not engine.state.from_cache
    finally:
        editor.restore()
    return statistics.median(times)


def hot_reload_latencies(path: Path, edits: int) -> list[float]:
    """Seconds from writing ``path`` to the change event, for each of ``edits`` edits."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(path.parent, load_entrypoints=False)
    arrived: queue.Queue[float] = queue.Queue()
    watcher = engine.watch(lambda event: arrived.put(time.perf_counter()))
    editor = Editor(path)
    latencies = []
    try:
        for _ in range(edits):
            start = time.perf_counter()
            editor.edit()
            latencies.append(arrived.get(timeout=60) - start)
    finally:
        watcher.stop()
        editor.restore()
    return latencies


def process_seconds(
    commands: list[list[str]], repeat: int, env: dict[str, str] | None = None
) -> list[float]:
    """Median wall time of whole processes, run in turn so that each sees the same
    load of a shared machine."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, spent in zip(commands, times, strict=True):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env)
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


@contextmanager
def cache_directory(path: Path) -> Iterator[Path]:
    """Point ``$TEMPLAR_CACHE_DIR`` at an empty ``path`` for the duration."""
    shutil.rmtree(path, ignore_errors=True)
    before = os.environ.get("TEMPLAR_CACHE_DIR")
    os.environ["TEMPLAR_CACHE_DIR"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("TEMPLAR_CACHE_DIR", None)
        else:
            os.environ["TEMPLAR_CACHE_DIR"] = before


def row(
    size: int, figure: str, seconds: float, baseline: float, versus: str, target: str, ok: bool
) -> dict[str, Any]:
    """One line of the report; ``ratio`` is seconds/baseline, or the speed-up for
    figures measured against the cold load."""
    faster = versus.startswith("cold") and not figure.startswith("cold")
    ratio = baseline / seconds if faster else seconds / baseline
    return {
        "templates": size,
        "figure": figure,
        "seconds": seconds,
        "floor": baseline,
        "versus": versus,
        "ratio": ratio,
        "unit": "x faster" if faster else "x",
        "target": target,
        "ok": ok,
    }


Figure = tuple[Callable[[], Any], int] | tuple[Callable[[], Any], int, Callable[[], Any]]


def measure_in_turn(figures: list[Figure]) -> list[float]:
    """Median wall times of several functions, run in turn (each ``runs`` times),
    each after its untimed set-up function if it has one."""
    times: list[list[float]] = [[] for _ in figures]
    for round_ in range(max(figure[1] for figure in figures)):
        for (fn, runs, *setup), spent in zip(figures, times, strict=True):
            if round_ >= runs:
                continue
            for prepare in setup:
                prepare()
            gc.collect()
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def run(
    sizes: list[int], fmt: str, repeat: int, workdir: Path, edits: int = 25
) -> list[dict[str, Any]]:
    """Generate the corpora and measure; returns one row per figure."""
    rows: list[dict[str, Any]] = []
    for index, size in enumerate(sizes):
        corpus = generate_corpus(workdir / f"corpus-{size}-{fmt}", size, fmt)
        assert engine_cold_load(corpus) == size
        assert floor_cold_load(corpus) == size
        with cache_directory(workdir / f"cache-{size}-{fmt}"):
            entry = cached_entry_file(corpus)
            assert engine_warm_load(corpus) == size
            # in turn, so that a figure and what it is compared to see the same load
            # of a shared machine; the quick warm figures get more runs
            first_cache = workdir / f"first-load-cache-{size}-{fmt}"
            floor, cold, first, warm_floor, warm = measure_in_turn(
                [
                    (lambda c=corpus: floor_cold_load(c), repeat),
                    (lambda c=corpus: engine_cold_load(c), repeat),
                    (
                        lambda c=corpus, f=first_cache: engine_first_load(c, f),  # type: ignore[misc]
                        repeat,
                        lambda f=first_cache: empty_cache(f),  # type: ignore[misc]
                    ),
                    (lambda e=entry: floor_warm_load(e), 5 * repeat),
                    (lambda c=corpus: engine_warm_load(c), 5 * repeat),
                ]
            )
            shutil.rmtree(first_cache, ignore_errors=True)
            rows.append(
                row(size, "cold load", cold, floor, "cold floor", "<= 1.5x", cold / floor <= 1.5)
            )
            rows.append(
                row(size, "cold load, empty cache", first, cold, "cold load", "(info)", True)
            )
            rows.append(
                row(
                    size,
                    "warm load",
                    warm,
                    warm_floor,
                    "warm floor",
                    "<= 3x",
                    warm <= 3 * warm_floor,
                )
            )
            # The cold load a user meets with the cache on is the first, which fills it;
            # beside it, for the record, the cold load of an engine without a cache.
            rows.append(
                row(
                    size,
                    "warm load",
                    warm,
                    first,
                    "cold, empty cache",
                    ">= 5x",
                    first >= 5 * warm,
                )
            )
            rows.append(row(size, "warm load", warm, cold, "cold, no cache", "(info)", True))
            fresh = statistics.median(warm_load_in_a_new_process(corpus) for _ in range(3 * repeat))
            rows.append(
                row(
                    size,
                    "warm load, new process",
                    fresh,
                    warm_floor,
                    "warm floor",
                    "<= 3x",
                    fresh <= 3 * warm_floor,
                )
            )
            reload_seconds = incremental_reload(corpus, max(repeat, 5))
            rows.append(
                row(
                    size,
                    "incremental reload()",
                    reload_seconds,
                    cold,
                    "cold load",
                    ">= 3x",
                    cold >= 3 * reload_seconds,
                )
            )
            # information: a new process re-merges and re-validates every template
            # (the memo lives in the engine), so only reading is saved
            new_engine = incremental_new_engine(corpus, max(repeat, 3))
            rows.append(
                row(size, "incremental, new engine", new_engine, cold, "cold load", "(info)", True)
            )
            latencies = sorted(hot_reload_latencies(corpus / "genericinst_templates.yaml", edits))
            median = statistics.median(latencies)
            p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
            budget = 0.150
            rows.append(row(size, "hot reload median", median, budget, "150 ms", "(info)", True))
            rows.append(row(size, "hot reload p95", p95, budget, "150 ms", "< 1x", p95 < budget))
            big = sorted(hot_reload_latencies(corpus / f"templates.{fmt}", max(3, edits // 5)))
            rows.append(
                row(
                    size,
                    "hot reload, shared file",
                    statistics.median(big),
                    cold,
                    "cold load",
                    "(info)",
                    True,
                )
            )
            if index == 0:
                rows += cli_rows(corpus, size, repeat)
    return rows


def cli_rows(corpus: Path, size: int, repeat: int) -> list[dict[str, Any]]:
    """A whole ``templates list --format json`` process on a warm cache."""
    script = Path(sys.executable).with_name("templates")
    templates = [str(script)] if script.exists() else [sys.executable, "-m", "templar"]
    command = [*templates, "--config-dir", str(corpus), "list", "--format", "json"]
    # As installed: pip compiles bytecode, as pydantic's was. An environment that
    # forbids writing it would time Templar's compilation against pydantic's .pyc.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(2):  # warm the cache, write the bytecode
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env)
    pydantic = [sys.executable, "-c", "import pydantic"]
    bare = [sys.executable, "-c", "pass"]
    cli, pydantic_seconds, bare_seconds = process_seconds(
        [command, pydantic, bare], max(repeat, 11), env
    )
    return [
        row(
            size,
            "CLI list --format json",
            cli,
            pydantic_seconds,
            "import pydantic",
            "<= +0.25 s",
            cli - pydantic_seconds <= 0.25,
        ),
        row(size, "CLI list --format json", cli, bare_seconds, "python -c pass", "(info)", True),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m templar.bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated template counts")
    parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median kept)")
    parser.add_argument("--edits", type=int, default=25, help="hot-reload edits (>= 20)")
    parser.add_argument("--keep", type=Path, help="write the corpora here and keep them")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="templar-bench-"))
    try:
        rows = run(sizes, args.format, args.repeat, workdir, args.edits)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(
            f"{'templates':>9}  {'figure':<26} {'engine':>10}  {'versus':<16} {'':>10} "
            f"{'ratio':>13}  target"
        )
        for r in rows:
            print(
                f"{r['templates']:>9}  {r['figure']:<26} {r['seconds'] * 1000:>8.1f}ms  "
                f"{r['versus']:<16} {r['floor'] * 1000:>8.1f}ms {r['ratio']:>6.2f}{r['unit']:<7}"
                f"  {r['target']}{'' if r['ok'] else '  MISSED'}"
            )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
