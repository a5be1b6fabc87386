"""Fixtures of the k8s plugin's tests; the engine fixtures come from ``templar.testing``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

import templar_k8s.plugin

#: The ORB sample files, beside the repository (``../shared/...``).
ORB_SAMPLES = Path(
    os.environ.get("TEMPLAR_ORB_SAMPLES")
    or Path(__file__).resolve().parents[3].parent / "shared" / "anchor-samples" / "orb"
)


@pytest.fixture
def templar_plugins() -> Sequence[object]:
    return [templar_k8s.plugin]


@pytest.fixture
def orb_samples() -> Path:
    if not (ORB_SAMPLES / "k8s_templates.json").is_file():
        pytest.fail(f"ORB samples not found in {ORB_SAMPLES}; set TEMPLAR_ORB_SAMPLES")
    return ORB_SAMPLES
