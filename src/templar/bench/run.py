"""One benchmark run's settings and the rows it collects, the groups of figures it
knows, and the helpers every figure uses."""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from templar.bench.report import Row

GROUPS = ("load", "reload", "cli", "orb", "set")
Step = tuple[str, Callable[[], None]]


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


class RunSettings:
    """One benchmark run's settings, and the rows its steps produce."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.sizes: list[int] = args.sizes
        self.fmt: str = args.corpus_format
        self.repeat: int = args.repeat
        self.edits: int = args.edits
        self.groups: set[str] = args.only
        self.workdir = workdir
        self.orb_arg: str | None = args.orb
        self.install_orb: bool = args.install_orb
        self.rows: list[Row] = []


def megabytes(peak: int | None) -> float | None:
    return None if peak is None else peak / 1024 / 1024
