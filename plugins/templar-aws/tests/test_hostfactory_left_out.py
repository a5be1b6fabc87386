"""``templates list --style hostfactory`` never leaves a template out silently.

HostFactory reads ``{"templates": []}`` as "no capacity": a template left out for its
errors is named on stderr with its first error, the document says how many were left
out, and ``--strict`` makes that exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from templar.testing import RunCli, WriteLayer

TemplateFactory = Callable[..., dict[str, Any]]


def test_invalid_templates_are_named_on_stderr_and_counted_in_the_document(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write(
        "awsprov_templates.json",
        {
            "templates": [
                hostfactory_template("good"),
                hostfactory_template("no-image", imageId=None),
                hostfactory_template("bad-subnet", subnetId="subnet-xxxxx"),
            ]
        },
    )
    result = templar_cli("list", "--style", "hostfactory", entry_points=["aws"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [t["templateId"] for t in document["templates"]] == ["good"]
    assert document["left_out"] == 2
    assert "2 templates" in document["message"] and "1 template listed" in document["message"]
    lines = [line for line in result.stderr.splitlines() if line.startswith("left out:")]
    assert len(lines) == 2
    no_image = next(line for line in lines if "no-image" in line)
    # the first error, located: file:line:column, code, message
    assert "awsprov_templates.json:" in no_image and " error " in no_image
    assert "image" in no_image
    assert any("bad-subnet (aws)" in line and "subnet-xxxxx" in line for line in lines)

    strict = templar_cli("list", "--style", "hostfactory", "--strict", entry_points=["aws"])
    assert strict.exit_code == 1
    assert json.loads(strict.stdout) == document
    assert strict.stderr.count("left out:") == 2


def test_nothing_left_out_leaves_the_document_as_hostfactory_knows_it(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template("a")])
    result = templar_cli("list", "--style", "hostfactory", "--strict", entry_points=["aws"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == ["templates"]
    assert "left out" not in result.stderr


def test_a_file_that_does_not_parse_is_named_and_counted(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template("a")])
    templar_write("awstype_templates.json", b'{"templates": [')
    result = templar_cli("list", "--style", "hostfactory", "--strict", entry_points=["aws"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [t["templateId"] for t in document["templates"]] == ["a"]
    assert document["files_left_out"] == 1 and document["left_out"] == 0
    assert "left out: templates of this file: " in result.stderr
    assert "awstype_templates.json:1:16: error parse-error" in result.stderr


def test_only_the_selected_instances_are_reported(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write(
        "templar.yaml", "providers:\n  - {name: prod, type: aws}\n  - {name: dev, type: aws}\n"
    )
    templar_write("prodinst_templates.json", [hostfactory_template("p", imageId=None)])
    templar_write("devinst_templates.json", [hostfactory_template("d")])
    dev = templar_cli("list", "--style", "hostfactory", "--provider", "dev", entry_points=["aws"])
    assert dev.exit_code == 0 and "left out" not in dev.stderr
    assert list(json.loads(dev.stdout)) == ["templates"]
    prod = templar_cli(
        "list", "--style", "hostfactory", "--provider", "prod", "--strict", entry_points=["aws"]
    )
    assert prod.exit_code == 1 and "left out: p (prod):" in prod.stderr


def test_strict_list_without_style_fails_on_templates_left_out(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write(
        "awsprov_templates.json",
        [hostfactory_template("a"), hostfactory_template("b", imageId=None)],
    )
    plain = templar_cli("list", "--format", "json", entry_points=["aws"])
    assert plain.exit_code == 0 and plain.stderr == ""
    assert [t["template_id"] for t in json.loads(plain.stdout)] == ["a"]
    strict = templar_cli("list", "--format", "json", "--strict", entry_points=["aws"])
    assert strict.exit_code == 1 and "left out: b (aws):" in strict.stderr
