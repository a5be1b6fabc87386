"""The in-process figures of each corpus size: cold, warning, first, warm and
incremental loads and hot-reload latency, beside their floors."""

from __future__ import annotations

import shutil
import statistics

from templar.bench import corpus, measure
from templar.bench.processfigures import ProcessFigures
from templar.bench.report import Row
from templar.bench.run import Step, cache_directory


class LoadFigures(ProcessFigures):
    """The steps of the ``load`` and ``reload`` figures, for one size."""

    # -- four layers, each size ----------------------------------------------------------

    def size_steps(self, index: int, size: int) -> list[Step]:
        fmt, work = self.fmt, self.workdir
        clean = work / f"layers-{size}-{fmt}"
        warn = work / f"layers-{size}-{fmt}-warn"
        script = work / f"layers-{size}-{fmt}-script"
        overlay = clean / f"{corpus.OVERLAY}.{fmt}"
        full = clean / f"{corpus.FULL}.{fmt}"
        cache = work / f"cache-{size}-{fmt}"
        shared: dict[str, float] = {}

        def generate() -> None:
            corpus.write_layers(clean, size, fmt)
            if "load" in self.groups:
                corpus.write_layers(warn, size, fmt, "warn")
                corpus.write_layers(script, size, fmt, "script")
            with cache_directory(cache):
                assert measure.engine_cold_load(clean) == size

        def loads() -> None:
            assert measure.floor_cold_load(clean) == size
            assert measure.engine_cold_load(warn) == size
            assert measure.engine_cold_load(script) == size
            first_cache = work / f"first-load-cache-{size}-{fmt}"
            with cache_directory(cache):
                entry = measure.cached_entry_file(clean)
                assert measure.engine_warm_load(clean) == size
                timings = measure.measure_in_turn(
                    [
                        (lambda: measure.floor_cold_load(clean), self.repeat),
                        (lambda: measure.engine_cold_load(clean), self.repeat),
                        (lambda: measure.engine_cold_load(warn), self.repeat),
                        (lambda: measure.engine_cold_load(script), self.repeat),
                        (
                            lambda: measure.engine_first_load(clean, first_cache),
                            self.repeat,
                            lambda: measure.empty_cache(clean, first_cache),
                        ),
                        (lambda: measure.floor_warm_load(entry), 5 * self.repeat),
                        (lambda: measure.engine_warm_load(clean), 5 * self.repeat),
                    ]
                )
                floor, cold, cold_warn, cold_script, first, warm_floor, warm = timings
            shutil.rmtree(first_cache, ignore_errors=True)
            shared.update(cold=cold, warm_floor=warm_floor)
            add = self.rows.append
            add(Row(size, "cold load", cold, "cold floor", floor, "<= 1.5x", cold <= 1.5 * floor))
            add(
                Row(
                    size,
                    "cold load, every template warns",
                    cold_warn,
                    "cold load, no warning",
                    cold,
                    "<= 1.3x",
                    cold_warn <= 1.3 * cold,
                )
            )
            add(
                Row(
                    size,
                    "cold load, every template has a #!/bin/bash user data script",
                    cold_script,
                    "cold load, no script",
                    cold,
                    "<= 1.3x",
                    cold_script <= 1.3 * cold,
                )
            )
            add(Row(size, "cold load, empty cache", first, "cold load", cold, "(info)", True))
            add(
                Row(
                    size,
                    "warm load",
                    warm,
                    "warm floor",
                    warm_floor,
                    "<= 3x",
                    warm <= 3 * warm_floor,
                )
            )
            # The cold load a user meets with the cache on is the first, which fills it;
            # beside it, for the record, the cold load of an engine without a cache.
            add(
                Row(
                    size,
                    "warm load",
                    warm,
                    "cold, empty cache",
                    first,
                    ">= 5x faster",
                    first >= 5 * warm,
                    speed=True,
                )
            )
            add(Row(size, "warm load", warm, "cold, no cache", cold, "(info)", True, speed=True))

        def new_process() -> None:
            # The in-process floor also times a collector pass over what it decoded and
            # its freeing, which the new-process figure does not: it flatters that figure
            # (at 10,000 it is several times the decode). The floor beside it is timed as
            # the figure is: inside a fresh interpreter, after its first import (the
            # engine; orjson for the floor), up to the decoded value. The target stays
            # on the in-process row, as the issue words it.
            with cache_directory(cache):
                entry = measure.cached_entry_file(clean)
                fresh_runs, floor_runs = [], []
                for _ in range(3 * self.repeat):
                    fresh_runs.append(measure.warm_load_in_a_new_process(clean))
                    floor_runs.append(measure.floor_warm_load_in_a_new_process(entry))
            fresh = statistics.median(fresh_runs)
            new_floor = statistics.median(floor_runs)
            floor = shared["warm_floor"]
            self.rows.append(
                Row(
                    size,
                    "warm load, new process",
                    fresh,
                    "warm floor (in-process)",
                    floor,
                    "<= 3x",
                    fresh <= 3 * floor,
                )
            )
            self.rows.append(
                Row(
                    size,
                    "warm load, new process",
                    fresh,
                    "warm floor, new process",
                    new_floor,
                    "(info)",
                    True,
                )
            )

        def incremental() -> None:
            with cache_directory(cache):
                reload_seconds = measure.incremental_reload(overlay, max(self.repeat, 5))
                # information: a new process re-merges and re-validates every template
                # (the memo lives in the engine), so only reading is saved
                new_engine = measure.incremental_new_engine(overlay, max(self.repeat, 3))
            cold = shared["cold"]
            self.rows.append(
                Row(
                    size,
                    "incremental reload()",
                    reload_seconds,
                    "cold load",
                    cold,
                    ">= 3x faster",
                    cold >= 3 * reload_seconds,
                    speed=True,
                )
            )
            self.rows.append(
                Row(
                    size,
                    "incremental, new engine",
                    new_engine,
                    "cold load",
                    cold,
                    "(info)",
                    True,
                    speed=True,
                )
            )

        def hot_reload() -> None:
            with cache_directory(cache):
                latencies = sorted(measure.hot_reload_latencies(overlay, self.edits))
                big = measure.hot_reload_latencies(full, max(3, self.edits // 5))
            median = statistics.median(latencies)
            p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
            add = self.rows.append
            add(Row(size, "hot reload median", median, "budget", 0.150, "(info)", True))
            add(Row(size, "hot reload p95", p95, "budget", 0.150, "< 1x", p95 < 0.150))
            add(
                Row(
                    size,
                    "hot reload, full-template file",
                    statistics.median(big),
                    "budget",
                    0.150,
                    "(info)",
                    True,
                )
            )

        def cli_list() -> None:
            with cache_directory(cache):
                self.rows += self.cli_list_rows(clean, size)

        steps: list[Step] = [(f"{size:,} templates: generate the corpora", generate)]
        if "load" in self.groups:
            steps += [
                (f"{size:,} templates: cold and warm loads, with and without warnings", loads),
                (f"{size:,} templates: warm load in a new process", new_process),
                (f"{size:,} templates: incremental reload", incremental),
            ]
        if "reload" in self.groups:
            steps.append((f"{size:,} templates: hot-reload latency", hot_reload))
        if "cli" in self.groups and index == 0:
            steps.append((f"{size:,} templates: templates list, whole process", cli_list))
        return steps
