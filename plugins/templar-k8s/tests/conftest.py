"""Fixtures of the k8s plugin's tests; the engine fixtures come from ``templar.testing``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

import templar_k8s.plugin

#: The sample files copied into these tests (sources and licences in ``samples/*/SOURCES.md``).
SAMPLES = Path(__file__).resolve().parent / "samples"
#: The ORB / HostFactory sample files; ``TEMPLAR_ORB_SAMPLES`` points the tests at another copy.
ORB_SAMPLES = Path(os.environ.get("TEMPLAR_ORB_SAMPLES") or SAMPLES / "orb")
#: The real-world development set: one directory per file, with ``orb-list.json`` where ORB listed it.
REALWORLD_SAMPLES = SAMPLES / "realworld"


@pytest.fixture
def templar_plugins() -> Sequence[object]:
    return [templar_k8s.plugin]


@pytest.fixture
def orb_samples() -> Path:
    if not (ORB_SAMPLES / "k8s_templates.json").is_file():
        pytest.fail(f"ORB samples not found in {ORB_SAMPLES}; is TEMPLAR_ORB_SAMPLES right?")
    return ORB_SAMPLES


@pytest.fixture
def realworld_samples() -> Path:
    """The real-world development set copied into these tests."""
    return REALWORLD_SAMPLES
