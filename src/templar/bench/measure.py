"""What the benchmark times: loads inside this process, whole processes, and their floors."""

from __future__ import annotations

import gc
import os
import queue
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from templar.bench.corpus import FULL, OVERLAY

# Whole processes moved to templar.bench.processes; importable here as before.
from templar.bench.processes import Command as Command
from templar.bench.processes import ProcessRun as ProcessRun
from templar.bench.processes import process_environment as process_environment
from templar.bench.processes import processes_in_turn as processes_in_turn
from templar.bench.processes import run_process as run_process
from templar.bench.processes import templates_command as templates_command


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off for the duration, as the engine runs a large load."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- loads inside this process ------------------------------------------------------------


def floor_cold_load(directory: Path) -> int:
    """The floor of a cold load: the fastest correct reader for the format, then pydantic
    validation of every full template (the core model and the ``aws`` configuration
    model, keys put in Templar's spelling); no merge, no rules."""
    from templar.engine import TemplateEngine
    from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS, TemplateDTO
    from templar.reader import read_document

    spec = TemplateEngine(directory, use_cache=False).providers["aws"]
    model = spec.configuration_model
    count = 0
    with gc_paused():
        path = next(p for p in directory.iterdir() if p.stem == FULL)
        document = read_document(path)
        for raw in document["templates"]:
            core: dict[str, Any] = {"provider_type": "aws", "provider_name": "aws"}
            configuration: dict[str, Any] = {}
            for key, value in raw.items():
                name = CORE_FIELD_ALIASES.get(key, key)
                if name in CORE_FIELDS:
                    core[name] = value
                else:
                    configuration[spec.canonical_key(key)] = value
            TemplateDTO.model_validate({**core, "configuration": configuration})
            model.model_validate(configuration)
            count += 1
    return count


def engine_cold_load(directory: Path) -> int:
    """A new engine loading the directory: discovery, read, merge, validation."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory, use_cache=False)
    return len(engine.list_templates(active_only=False))


@contextmanager
def _without_cache_env() -> Iterator[None]:
    before = os.environ.pop("TEMPLAR_CACHE_DIR", None)
    try:
        yield
    finally:
        if before is not None:
            os.environ["TEMPLAR_CACHE_DIR"] = before


def engine_first_load(directory: Path, cache_dir: Path) -> int:
    """A new engine loading the directory with the cache on but empty, as the first
    command after ``templates cache clear`` does: the cold load, plus writing the
    parsed files and the load into the cache (see :func:`empty_cache`)."""
    from templar.engine import TemplateEngine
    from templar.settings import CacheSettings, EngineSettings

    settings = EngineSettings(cache=CacheSettings(dir=cache_dir))
    with _without_cache_env():
        engine = TemplateEngine(directory, settings=settings)
        count = len(engine.list_templates(active_only=False))
    assert not engine.state.from_cache, "expected an empty cache"
    return count


def empty_cache(directory: Path, cache_dir: Path) -> None:
    """``templates cache clear`` on ``cache_dir``: the set-up of :func:`engine_first_load`."""
    from templar.engine import TemplateEngine
    from templar.settings import CacheSettings, EngineSettings

    settings = EngineSettings(cache=CacheSettings(dir=cache_dir))
    with _without_cache_env():
        TemplateEngine(directory, settings=settings).clear_cache()


def engine_warm_load(directory: Path) -> int:
    """A new engine served from the on-disk cache (``$TEMPLAR_CACHE_DIR``)."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory)
    count = len(engine.list_templates(active_only=False))
    assert engine.state.from_cache, "expected a cache hit"
    return count


def cached_entry_file(directory: Path) -> Path:
    """The file the cache keeps the load of ``directory`` in (loading it first)."""
    import diskcache

    from templar.engine import TemplateEngine

    engine = TemplateEngine(directory)
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

    with gc_paused():
        blob = entry.read_bytes()
        data = orjson.loads(memoryview(blob)[blob.index(b"\n") + 1 :])
    return len(data)


_WARM_IN_A_NEW_PROCESS = """
import sys, time
from templar.engine import TemplateEngine
start = time.perf_counter()
engine = TemplateEngine(sys.argv[1])
engine.list_templates(active_only=False)
elapsed = time.perf_counter() - start
assert engine.state.from_cache
print(elapsed)
"""


_FLOOR_IN_A_NEW_PROCESS = """
import sys, time, gc
import orjson
start = time.perf_counter()
gc.disable()
blob = open(sys.argv[1], "rb").read()
data = orjson.loads(memoryview(blob)[blob.index(b"\\n") + 1 :])
elapsed = time.perf_counter() - start
assert data
print(elapsed)
"""


def floor_warm_load_in_a_new_process(entry: Path) -> float:
    """The warm floor timed as :func:`warm_load_in_a_new_process` times the engine: in
    a fresh interpreter, its import (orjson) before the clock starts, then the cached
    bytes read and decoded."""
    return _seconds_in_a_new_process(_FLOOR_IN_A_NEW_PROCESS, entry, "the warm floor")


#: The least a ``templates list --style hostfactory --format json`` must do for one file
#: of full templates, as a whole process: read it with orjson, validate each template
#: once with the ``aws`` configuration model and the core DTO, export it in
#: HostFactory's spelling, write the document. No discovery, merge, provenance, rules
#: or issues; the collector off and the last objects left to the OS. It prints what
#: Templar prints, byte for byte (the benchmark checks): the same job, at its floor.
#: Given ``unvalidated``, it validates nothing: the core DTO is built unchecked
#: (``model_construct``) and the configuration exported as read. That output is not
#: Templar's (no defaults, no normalised values); it bounds what any list built on these
#: models and this export could gain by validating less.
_LIST_FLOOR = """
import gc, sys
gc.disable()
import orjson
from templar.engine import TemplateEngine
from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS, TemplateDTO

path, validate = sys.argv[1], sys.argv[3:] != ["unvalidated"]
spec = TemplateEngine(sys.argv[2], use_cache=False).providers["aws"]
model, style, canonical = spec.configuration_model, spec.key_style, spec.canonical_key
exported = []
for raw in orjson.loads(open(path, "rb").read())["templates"]:
    core = {"provider_type": "aws", "provider_name": "aws", "source_file": path,
            "file_priority": 2}
    configuration = {}
    for key, value in raw.items():
        name = CORE_FIELD_ALIASES.get(key, key)
        if name in CORE_FIELDS:
            core[name] = value
        else:
            configuration[canonical(key)] = value
    if validate:
        core["configuration"] = model.model_validate(configuration).model_dump(
            mode="json", exclude_none=True
        )
        template = TemplateDTO.model_validate(core)
    else:
        core["configuration"] = configuration
        template = TemplateDTO.model_construct(**core)
    exported.append(style.export_template(template))
out = orjson.dumps({"templates": exported}, option=orjson.OPT_INDENT_2)
sys.stdout.buffer.write(out + b"\\n")
sys.stdout.flush()
gc.freeze()
"""


def list_floor_command(directory: Path, env: dict[str, str], *, validate: bool = True) -> Command:
    """:data:`_LIST_FLOOR` on the one file of ``directory`` (a whole process), without
    any validation unless ``validate``."""
    (path,) = (p for p in directory.iterdir() if p.is_file() and p.suffix == ".json")
    flag = [] if validate else ["unvalidated"]
    return Command([sys.executable, "-c", _LIST_FLOOR, str(path), str(directory), *flag], env)


def settled(directory: Path) -> None:
    """Wait until every file in ``directory`` is older than the clock granularity: a
    command's answer is not stored while an input may still change unseen
    (:mod:`templar.cache.answers`), and "warm" means the answer is there, as it is for
    HostFactory polling a config written long before."""
    from templar.cache.answers import CLOCK_GRANULARITY_NS

    newest = max(
        (max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in directory.rglob("*")),
        default=0,
    )
    wait = (newest + CLOCK_GRANULARITY_NS - time.time_ns()) / 1e9
    if wait > 0:
        time.sleep(wait + 0.05)


def warm_load_in_a_new_process(directory: Path) -> float:
    """A warm load timed inside a fresh interpreter: nothing in memory but modules."""
    return _seconds_in_a_new_process(_WARM_IN_A_NEW_PROCESS, directory, "the warm load")


def _seconds_in_a_new_process(script: str, argument: Path, what: str) -> float:
    """Run ``script`` in a fresh interpreter; it prints the seconds it timed."""
    out = subprocess.run(
        [sys.executable, "-c", script, str(argument)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{what} in a new process failed:\n{out.stderr[-2000:]}")
    return float(out.stdout)


class Editor:
    """Edits one value of one layer file, differently each time; restores it after.

    The first ``maxNumber`` of the instance overlay, or the first ``name`` of the file
    of full templates (its ``maxNumber`` is overridden by higher layers: editing it
    would change nothing).
    """

    _PATTERNS: ClassVar[dict[tuple[str, str], tuple[bytes, bytes]]] = {
        ("yaml", "maxNumber"): (rb"(?m)^(\s*)maxNumber: [^\n]*$", rb"\1maxNumber: %d"),
        ("yaml", "name"): (rb"(?m)^(\s*)name: [^\n]*$", rb"\1name: Edited %d"),
        ("json", "maxNumber"): (rb'"maxNumber": -?\d+', rb'"maxNumber": %d'),
        ("json", "name"): (rb'"name": "[^"]*"', rb'"name": "Edited %d"'),
    }

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = path.read_bytes()
        self.count = 0
        fmt = "json" if path.suffix == ".json" else "yaml"
        field = "maxNumber" if path.stem == OVERLAY else "name"
        pattern, self.replacement = self._PATTERNS[(fmt, field)]
        self.pattern = re.compile(pattern)

    def edit(self) -> None:
        """Write the file with the next new value."""
        self.count += 1
        # maxNumber is at most 10,000: a higher value would be an error, not a change
        new = self.replacement.replace(b"%d", b"%d" % (5_000 + self.count))
        edited = self.pattern.sub(new, self.original, count=1)
        assert edited != self.original, f"nothing to edit in {self.path}"
        self.path.write_bytes(edited)

    def restore(self) -> None:
        """Put the original bytes back."""
        self.path.write_bytes(self.original)


def incremental_reload(path: Path, repeat: int) -> float:
    """``engine.reload()`` after editing ``path``, on an engine that has loaded."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(path.parent)
    engine.reload()  # from the files: the layers are in memory
    editor = Editor(path)
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


def incremental_new_engine(path: Path, repeat: int) -> float:
    """A new engine after editing ``path``: the other files from the parsed-file cache."""
    from templar.engine import TemplateEngine

    editor = Editor(path)
    times = []
    try:
        for _ in range(repeat):
            editor.edit()
            gc.collect()
            start = time.perf_counter()
            engine = TemplateEngine(path.parent)
            engine.list_templates()
            times.append(time.perf_counter() - start)
            assert not engine.state.from_cache
    finally:
        editor.restore()
    return statistics.median(times)


def hot_reload_latencies(path: Path, edits: int) -> list[float]:
    """Seconds from writing ``path`` to the change event, for each of ``edits`` edits."""
    from templar.engine import TemplateEngine

    engine = TemplateEngine(path.parent)
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


Figure = tuple[Callable[[], Any], int] | tuple[Callable[[], Any], int, Callable[[], Any]]


def measure_in_turn(figures: list[Figure]) -> list[float]:
    """Median wall times of several functions, run in turn (each ``runs`` times),
    each after its untimed set-up function if it has one, so that a figure and what it
    is compared to see the same load of a shared machine."""
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
