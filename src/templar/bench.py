"""Benchmarks: ``python -m templar.bench``.

Generates a corpus of N templates (about 25 fields each, nested mappings and lists)
spread over the four file layers with overrides, then prints, in one run, the
engine's figures beside the floor they are measured against:

* cold load: a new engine reading every layer, merging and validating, against the
  floor of the fastest correct reader for the format plus pydantic validation of
  the same templates, no merge.

Figures are medians of ``--repeat`` runs; compare the ratios, not the seconds: the
machine this runs on is shared and noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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
    """Write ``count`` templates over the four layers into ``directory``."""
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
    return directory


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

    engine = TemplateEngine(directory, load_entrypoints=False)
    return len(engine.list_templates(active_only=False))


def measure(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(sizes: list[int], fmt: str, repeat: int, workdir: Path) -> list[dict[str, Any]]:
    """Generate the corpora and measure; returns one row per figure."""
    rows: list[dict[str, Any]] = []
    for size in sizes:
        corpus = generate_corpus(workdir / f"corpus-{size}-{fmt}", size, fmt)
        assert engine_cold_load(corpus) == size
        assert floor_cold_load(corpus) == size
        floor = measure(lambda c=corpus: floor_cold_load(c), repeat)  # type: ignore[misc]
        cold = measure(lambda c=corpus: engine_cold_load(c), repeat)  # type: ignore[misc]
        rows.append(
            {
                "templates": size,
                "figure": "cold load",
                "seconds": cold,
                "floor": floor,
                "ratio": cold / floor,
                "target": "<= 1.5x floor",
                "ok": cold / floor <= 1.5,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m templar.bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated template counts")
    parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median kept)")
    parser.add_argument("--keep", type=Path, help="write the corpora here and keep them")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="templar-bench-"))
    try:
        rows = run(sizes, args.format, args.repeat, workdir)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'templates':>9}  {'figure':<28} {'engine':>10} {'floor':>10} {'ratio':>7}  target")
        for row in rows:
            print(
                f"{row['templates']:>9}  {row['figure']:<28} {row['seconds'] * 1000:>8.1f}ms "
                f"{row['floor'] * 1000:>8.1f}ms {row['ratio']:>6.2f}x  {row['target']}"
                f"{'' if row['ok'] else '  MISSED'}"
            )
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
