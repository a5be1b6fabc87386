"""Parity with ORB, shown by a differential test on the real-world development set.

Each ORB file of ``samples/realworld/`` has ``orb-list.json`` beside it: what
``orb templates list`` (orb-py 1.8.5) printed for a config dir holding the file as
``aws_templates.json`` (``templates.json`` for a file so named) and that ``config.json``
(see ``samples/realworld/SOURCES.md``). The same dir is built here, and Templar's
``templates list --style hostfactory --format json`` must list the same template ids
with the same ``imageId``, ``maxNumber``, ``priceType`` and instance types, except
where a difference is one of the deliberate choices of :data:`DELIBERATE` below
(also in the plugin README): each exception is checked against what the file says, so
it can only excuse the difference it names.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from templar.cli import cli

#: the development set copied into these tests (the conftest's REALWORLD_SAMPLES)
REALWORLD_SAMPLES = Path(__file__).resolve().parent / "samples" / "realworld"

#: The deliberate differences: why Templar's listing differs from ORB's there.
DELIBERATE: dict[str, str] = {
    "placeholder-id": (
        "ORB lists templates whose subnet, security group or image ids are placeholders "
        "(subnet-xxxxx, ami-native123); AWS rejects such a request, so Templar leaves the "
        "template out and names it on stderr with the error"
    ),
    "max-instances-ignored": (
        "ORB 1.8.5 ignores max_instances, its own snake_case name of maxNumber, and prints "
        "maxNumber 1; Templar reads it"
    ),
    "vm-type-dropped": (
        "ORB 1.8.5 prints no vmType in its listing, and no vmTypes for snake_case "
        "instance_types / machine_types; Templar prints the instance types the file names "
        "(and ORB's packaged default machine_type t2.micro where the file sets no vmType)"
    ),
    "vm-types-collapsed": (
        "given both vmType and vmTypes, ORB 1.8.5 prints vmTypes {vmType: 1}; Templar "
        "prints the vmTypes the file writes"
    ),
}
#: ORB's packaged template default machine_type (orb/providers/aws/config/aws_defaults.json)
ORB_DEFAULT_VM_TYPE = "t2.micro"
COMPARED = ("imageId", "maxNumber", "priceType", "instance types")

_SINGLE_TYPE_KEYS = ("vmType", "vm_type", "instance_type", "instanceType", "machine_type")
_MANY_TYPE_KEYS = ("vmTypes", "vm_types", "instance_types", "instanceTypes", "machine_types")
_MAX_KEYS = ("maxNumber", "max_number", "max_machines")
_PLACEHOLDER_FIELDS = ("subnet_ids", "subnet_id", "security_group_ids", "image_id")

ORB_DIRS = sorted(d.name for d in REALWORLD_SAMPLES.iterdir() if (d / "orb-list.json").is_file())


@dataclass
class Parity:
    """What one sample dir shows."""

    orb_ids: list[str]
    templar_ids: list[str]
    fields: int = 0
    matched: int = 0
    excused: dict[str, list[str]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def excuse(self, reason: str, what: str) -> None:
        assert reason in DELIBERATE
        self.excused.setdefault(reason, []).append(what)


def orb_dir(sample: Path, config_dir: Path) -> None:
    """The config dir ORB listed: config.json and the file under ORB's name."""
    (template_file,) = [
        p for p in sample.iterdir() if p.name not in ("config.json", "orb-list.json")
    ]
    shutil.copyfile(sample / "config.json", config_dir / "config.json")
    name = "templates.json" if template_file.name == "templates.json" else "aws_templates.json"
    shutil.copyfile(template_file, config_dir / name)


def source_templates(sample: Path) -> dict[str, dict[str, Any]]:
    """The templates of the sample file as written, by id; of an id written twice, the
    first (ORB and Templar both keep it). Empty for a file that is not JSON."""
    (template_file,) = [
        p for p in sample.iterdir() if p.name not in ("config.json", "orb-list.json")
    ]
    try:
        data = json.loads(template_file.read_text())
    except json.JSONDecodeError:
        return {}
    listed = data.get("templates", []) if isinstance(data, dict) else data
    if isinstance(listed, dict):  # id to body
        listed = [{"template_id": k, **v} for k, v in listed.items() if isinstance(v, dict)]
    out: dict[str, dict[str, Any]] = {}
    for template in listed:
        if isinstance(template, dict):
            out.setdefault(str(template.get("template_id", template.get("templateId"))), template)
    return out


def instance_types(template: dict[str, Any]) -> set[str]:
    """Every instance type a listed or written template names."""
    out: set[str] = set()
    for key in _SINGLE_TYPE_KEYS:
        if isinstance(template.get(key), str) and template[key]:
            out.add(template[key])
    for key in _MANY_TYPE_KEYS:
        value = template.get(key)
        if isinstance(value, dict):
            out.update(value)
        elif isinstance(value, list):
            out.update(str(v) for v in value)
    return out


def templar_list(config_dir: Path) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(
        cli,
        [
            "--config-dir",
            str(config_dir),
            "--no-cache",
            "list",
            "--style",
            "hostfactory",
            "--format",
            "json",
        ],
        env={"TEMPLAR_PLUGINS": "aws", "TEMPLAR_CONFIG_DIR": None, "ORB_CONFIG_DIR": None},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def compare(sample: Path, config_dir: Path) -> Parity:
    orb = {
        t["templateId"]: t for t in json.loads((sample / "orb-list.json").read_text())["templates"]
    }
    document, stderr = templar_list(config_dir)
    mine = {t["templateId"]: t for t in document["templates"]}
    written = source_templates(sample)
    parity = Parity(list(orb), list(mine))
    for template_id in [t for t in mine if t not in orb]:
        parity.mismatches.append(f"{template_id}: listed by Templar, not by ORB")
    for template_id in [t for t in orb if t not in mine]:
        left_out = [
            line for line in stderr.splitlines() if line.startswith(f"left out: {template_id} (")
        ]
        placeholder = any(
            "invalid-field" in line
            and any(f"configuration.{f}" in line for f in _PLACEHOLDER_FIELDS)
            for line in left_out
        )
        if placeholder:
            parity.excuse("placeholder-id", template_id)
        else:
            parity.mismatches.append(f"{template_id}: listed by ORB, not by Templar ({left_out})")
    for template_id in [t for t in orb if t in mine]:
        ours, theirs, source = mine[template_id], orb[template_id], written[template_id]
        for name in COMPARED:
            parity.fields += 1
            if name == "instance types":
                a, b = instance_types(ours), instance_types(theirs)
            else:
                a, b = ours.get(name), theirs.get(name)
            if a == b:
                parity.matched += 1
                continue
            what = f"{template_id}.{name}: Templar {a!r}, ORB {b!r}"
            reason = _deliberate(name, a, b, source)
            if reason:
                parity.excuse(reason, what)
            else:
                parity.mismatches.append(what)
    return parity


def _deliberate(name: str, ours: Any, theirs: Any, source: dict[str, Any]) -> str | None:
    """The :data:`DELIBERATE` reason for one difference, if what the file says shows it."""
    if name == "maxNumber":
        written_max = next((source[k] for k in _MAX_KEYS if k in source), None)
        if theirs == 1 and written_max is None and source.get("max_instances") == ours:
            return "max-instances-ignored"
    if name == "instance types":
        named = instance_types(source)
        if not any(source.get(k) for k in ("vmType", "vm_type", "instance_type", "machine_type")):
            named.add(ORB_DEFAULT_VM_TYPE)  # ORB's packaged default fills vmType
        if ours == named or ours == instance_types(source):
            if not theirs:
                return "vm-type-dropped"
            single = source.get("vmType")
            if isinstance(source.get("vmTypes"), dict) and theirs == {single}:
                return "vm-types-collapsed"
    return None


@pytest.mark.parametrize("sample", ORB_DIRS)
def test_templar_lists_what_orb_lists(sample: str, tmp_path: Path) -> None:
    orb_dir(REALWORLD_SAMPLES / sample, tmp_path)
    parity = compare(REALWORLD_SAMPLES / sample, tmp_path)
    assert parity.mismatches == []
    excused_ids = len(parity.excused.get("placeholder-id", []))
    assert len(parity.templar_ids) + excused_ids == len(parity.orb_ids)


def test_the_parity_figures_add_up(tmp_path: Path) -> None:
    """Over the whole development set: every ORB id is listed by Templar or left out
    for a placeholder, and every compared field matches or differs for a reason of
    :data:`DELIBERATE`. Run with ``-s`` to see the figures."""
    totals = {"orb ids": 0, "ids matched": 0, "fields": 0, "fields matched": 0}
    excused: dict[str, int] = {}
    for sample in ORB_DIRS:
        config_dir = tmp_path / sample
        config_dir.mkdir()
        orb_dir(REALWORLD_SAMPLES / sample, config_dir)
        parity = compare(REALWORLD_SAMPLES / sample, config_dir)
        assert parity.mismatches == [], sample
        totals["orb ids"] += len(parity.orb_ids)
        totals["ids matched"] += len(set(parity.orb_ids) & set(parity.templar_ids))
        totals["fields"] += parity.fields
        totals["fields matched"] += parity.matched
        for reason, items in parity.excused.items():
            excused[reason] = excused.get(reason, 0) + len(items)
    print(f"\nORB parity on {len(ORB_DIRS)} dirs: {totals}; deliberate differences: {excused}")
    assert totals["ids matched"] + excused.get("placeholder-id", 0) == totals["orb ids"]
    field_excuses = sum(n for reason, n in excused.items() if reason != "placeholder-id")
    assert totals["fields matched"] + field_excuses == totals["fields"]
    assert totals["ids matched"] > 0 and totals["fields matched"] > 0


def test_every_deliberate_difference_is_in_the_plugin_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for reason in DELIBERATE:
        assert f"`{reason}`" in readme, reason
    assert re.search(r"## .*ORB", readme)
