"""Fixtures of the aws plugin's tests; the engine fixtures come from ``templar.testing``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import templar_aws.plugin

#: The sample files copied into these tests (sources and licences in ``samples/*/SOURCES.md``).
SAMPLES = Path(__file__).resolve().parent / "samples"
#: The ORB / HostFactory sample files; ``TEMPLAR_ORB_SAMPLES`` points the tests at another copy.
ORB_SAMPLES = Path(os.environ.get("TEMPLAR_ORB_SAMPLES") or SAMPLES / "orb")
#: The real-world development set: one directory per file, with ``orb-list.json`` where ORB listed it.
REALWORLD_SAMPLES = SAMPLES / "realworld"


@pytest.fixture
def templar_plugins() -> Sequence[object]:
    return [templar_aws.plugin]


@pytest.fixture
def orb_samples() -> Path:
    if not (ORB_SAMPLES / "awsprov_templates.json").is_file():
        pytest.fail(f"ORB samples not found in {ORB_SAMPLES}; is TEMPLAR_ORB_SAMPLES right?")
    return ORB_SAMPLES


@pytest.fixture
def realworld_samples() -> Path:
    """The real-world development set copied into these tests."""
    return REALWORLD_SAMPLES


TemplateFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def hostfactory_template() -> TemplateFactory:
    """``hostfactory_template(template_id="t1", **fields)``: see :func:`_hostfactory_template`."""
    return _hostfactory_template


def _hostfactory_template(template_id: str = "t1", **fields: Any) -> dict[str, Any]:
    """A valid template as IBM HostFactory writes it; ``fields`` override or add keys
    (``None`` removes one)."""
    body: dict[str, Any] = {
        "templateId": template_id,
        "providerApi": "EC2Fleet",
        "maxNumber": 10,
        "attributes": {
            "type": ["String", "X86_64"],
            "ncpus": ["Numeric", "2"],
            "nram": ["Numeric", "4096"],
        },
        "imageId": "ami-0123456789abcdef0",
        "subnetId": "subnet-0f984e48e6e899311",
        "vmType": "t3.medium",
        "keyName": "hf-key",
        "securityGroupIds": ["sg-0528dfedb6d763b16"],
    }
    for key, value in fields.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body
