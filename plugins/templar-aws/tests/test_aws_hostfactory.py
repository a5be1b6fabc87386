"""The hostfactory key style: both spellings in, HostFactory's document out, and the
editor schema of awsprov_templates.yaml."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from templar import TemplateEngine
from templar.testing import RunCli, WriteLayer, make_engine, write_layer

import templar_aws.plugin
from templar_aws import AWS_PROVIDER, HOSTFACTORY

#: The ``hostfactory_template`` fixture of conftest.py.
TemplateFactory = Callable[..., dict[str, Any]]

LT = "lt-0e8c754449b27161c"


def test_camel_and_snake_layers_merge_as_one_field(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template(maxNumber=10, priceType="spot")])
    templar_write(
        "awstype_templates.yaml",
        """\
        t1:
          max_number: 20
          subnet_ids: [subnet-1a2b3c4d, subnet-5e6f7a8b]
          max_spot_price: 0.25
        """,
    )
    assert templar_engine.validate().issues == []
    template = templar_engine.get_template("t1")
    assert template is not None
    assert template.configuration["max_number"] == 20
    # subnetId (HostFactory) in one layer, subnet_ids in another: one key, replaced.
    assert template.configuration["subnet_ids"] == ["subnet-1a2b3c4d", "subnet-5e6f7a8b"]
    explained = {f.field: f for f in templar_engine.explain("t1").fields}
    subnets = explained["configuration.subnet_ids"]
    assert subnets.source.layer == "type"
    assert [(s.layer, s.value) for s in subnets.shadowed] == [
        ("provider", "subnet-0f984e48e6e899311")
    ]


def test_a_higher_layer_unsets_vm_type_to_switch_to_weighted_types(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template()])
    templar_write("awstype_templates.yaml", "t1: {vmTypes: {m5.large: 1, m5.xlarge: 2}}\n")
    both = templar_engine.get_template("t1")
    assert both is not None
    assert (both.configuration["vm_type"], list(both.configuration["vm_types"])) == (
        "t3.medium",
        ["m5.large", "m5.xlarge"],
    )
    templar_write("awstype_templates.yaml", "t1: {vmType: null, vmTypes: {m5.large: 1}}\n")
    templar_engine.reload()
    assert templar_engine.validate().issues == []
    weighted = templar_engine.get_template("t1")
    assert weighted is not None and "vm_type" not in weighted.configuration


def test_export_is_the_hostfactory_entry(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write(
        "awsprov_templates.json",
        [
            hostfactory_template(
                name="Compute",
                subnetId="subnet-1a2b3c4d,subnet-5e6f7a8b",
                instanceTags={"team": "hpc", "env": "prod"},
            ),
        ],
    )
    templar_write("awstype_templates.yaml", "t1: {description: ''}\n")
    template = templar_engine.get_template("t1")
    assert template is not None
    exported = HOSTFACTORY.export_template(template)
    assert list(exported)[:3] == ["templateId", "maxNumber", "attributes"]
    assert exported == {
        "templateId": "t1",
        "maxNumber": 10,
        "attributes": {
            "type": ["String", "X86_64"],
            "ncpus": ["Numeric", "2"],
            "nram": ["Numeric", "4096"],
        },
        "imageId": "ami-0123456789abcdef0",
        "subnetId": "subnet-1a2b3c4d,subnet-5e6f7a8b",
        "vmType": "t3.medium",
        "priceType": "ondemand",
        "instanceTags": "team=hpc;env=prod",
        "keyName": "hf-key",
        "securityGroupIds": ["sg-0528dfedb6d763b16"],
        "name": "Compute",
        "providerApi": "EC2Fleet",
        "providerType": "aws",
        "providerName": "aws",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"vmType": "t3.medium"}, ("2", "4096")),
        ({"vmType": "t2.micro"}, ("1", "1024")),
        ({"vmType": "c5.2xlarge"}, ("8", "16384")),
        ({"vmType": "r6i.xlarge,r6i.2xlarge"}, ("4", "32768")),
        ({"vmType": None, "vmTypes": {"m5.4xlarge": 2, "m5.large": 1}}, ("16", "65536")),
        (
            {
                "vmType": None,
                "abisInstanceRequirements": {
                    "vcpu_count": {"min": 4, "max": 8},
                    "memory_mib": {"min": 8192},
                },
            },
            ("4", "8192"),
        ),
    ],
)
def test_export_derives_missing_attributes_from_the_instance_type_as_orb_does(
    hostfactory_template: TemplateFactory,
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template(attributes=None, **fields)])
    assert templar_engine.validate().errors == []
    template = templar_engine.get_template("t1")
    assert template is not None
    ncpus, nram = expected
    assert HOSTFACTORY.export_template(template)["attributes"] == {
        "type": ["String", "X86_64"],
        "ncpus": ["Numeric", ncpus],
        "nram": ["Numeric", nram],
    }


def test_a_template_with_no_type_to_derive_attributes_from_is_reported(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    """HostFactory needs attributes: with none and no instance type, the template is an
    error, so it is never exported with empty attributes."""
    body = hostfactory_template(attributes=None, vmType=None, launchTemplateId=LT)
    templar_write("awsprov_templates.json", [body])
    [error] = templar_engine.validate().errors
    assert (error.code, error.field) == ("aws-attributes-missing", "configuration.attributes")
    assert "IBM's awsprov_templates.json reference" in error.message
    assert templar_engine.get_template("t1") is None


def test_export_uses_the_api_and_fleet_type_orb_uses(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write(
        "awsprov_templates.json",
        [
            hostfactory_template("legacy", awsHandler="EC2FleetInstant"),
            hostfactory_template("alias", providerApi="AutoScalingGroup"),
            hostfactory_template(
                "meta",
                priceType="heterogeneous",
                metadata={
                    "fleet_type": "maintain",
                    "percent_on_demand": 40,
                    "fleet_role": "spot-fleet-role",
                },
            ),
        ],
    )
    assert templar_engine.validate().errors == []
    exported = {
        t.template_id: HOSTFACTORY.export_template(t) for t in templar_engine.list_templates()
    }
    assert (exported["legacy"]["providerApi"], exported["legacy"]["fleetType"]) == (
        "EC2Fleet",
        "instant",
    )
    assert exported["alias"]["providerApi"] == "ASG"
    assert "fleetType" not in exported["alias"]
    meta = exported["meta"]
    assert (meta["fleetType"], meta["percentOnDemand"], meta["fleetRole"]) == (
        "maintain",
        40,
        "spot-fleet-role",
    )
    # The legacy key is read as the core field, not kept as configuration.
    legacy = templar_engine.get_template("legacy")
    assert legacy is not None and legacy.provider_api == "EC2FleetInstant"
    assert "aws_handler" not in legacy.configuration


def test_export_reads_back_to_the_same_templates(
    orb_samples: Path,
    templar_config_dir: Path,
    tmp_path: Path,
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
) -> None:
    shutil.copyfile(
        orb_samples / "awsprov_templates.json", templar_config_dir / "awsprov_templates.json"
    )
    templar_write(
        "awstype_templates.yaml",
        "EC2FleetInstant: {instanceTags: 'team=hpc;owner=x', subnetIds: "
        "[subnet-1a2b3c4d, subnet-5e6f7a8b], priceType: spot, maxSpotPrice: 0.3}\n",
    )
    before = templar_engine.list_templates()
    again = tmp_path / "again"
    again.mkdir()
    write_layer(
        again,
        "awsprov_templates.json",
        {"templates": [HOSTFACTORY.export_template(t) for t in before]},
    )
    after = make_engine(again, templar_aws.plugin)
    assert after.validate().issues == []
    assert [t.configuration for t in after.list_templates()] == [t.configuration for t in before]
    assert after.get_template("EC2FleetInstant") == before[0].model_copy(
        update={"source_file": str(again / "awsprov_templates.json"), "file_priority": 3}
    )


def test_list_style_hostfactory_prints_get_available_templates(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template("a"), hostfactory_template("b")])
    templar_write("templates.yaml", [{"template_id": "g", "provider_type": "generic", "x": 1}])
    templar_write(
        "templar.yaml",
        {"providers": [{"name": "aws", "type": "aws"}, {"name": "g", "type": "generic"}]},
    )
    result = templar_cli("list", "--style", "hostfactory", "--format", "json", entry_points=["aws"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["templates"]
    assert [t["templateId"] for t in document["templates"]] == ["a", "b"]
    assert all(t["maxNumber"] == 10 and t["attributes"]["ncpus"] for t in document["templates"])
    assert "left out templates of providers without style 'hostfactory': 1 generic" in result.stderr

    as_yaml = templar_cli(
        "list", "--style", "hostfactory", "--format", "yaml", entry_points=["aws"]
    )
    assert as_yaml.exit_code == 0 and as_yaml.stdout.startswith("templates:\n- templateId: a\n")
    by_default = templar_cli(
        "list", "--style", "hostfactory", "--type", "aws", entry_points=["aws"]
    )
    assert json.loads(by_default.stdout) == document
    assert by_default.stderr == ""


@pytest.mark.parametrize(
    ("args", "expected_error"),
    [
        (
            ["--style", "hostfactroy"],
            "no provider has the key style 'hostfactroy' (did you mean 'hostfactory'?); installed: hostfactory",
        ),
        (
            ["--style", "hostfactory", "--format", "table"],
            "--style prints a document: use --format json or yaml",
        ),
    ],
)
def test_list_style_usage_errors(
    hostfactory_template: TemplateFactory,
    templar_write: WriteLayer,
    templar_cli: RunCli,
    args: list[str],
    expected_error: str,
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template()])
    result = templar_cli("list", *args, entry_points=["aws"])
    assert result.exit_code == 2
    assert expected_error in result.stderr


def test_file_schema_accepts_the_samples_and_catches_typos(
    orb_samples: Path, templar_cli: RunCli
) -> None:
    result = templar_cli("schema", "--type", "aws", entry_points=["aws"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("awsprov_templates.json", "aws_templates.json", "templates.json"):
        document = json.loads((orb_samples / name).read_text())
        assert list(validator.iter_errors(document)) == [], name
    properties = schema["$defs"]["Template"]["properties"]
    # Completion offers each key once, in HostFactory's spelling; the others validate.
    suggested = [k for k, v in properties.items() if not v.get("doNotSuggest")]
    assert {"templateId", "maxNumber", "subnetId", "vmTypes", "instanceTags"} <= set(suggested)
    assert not {"template_id", "max_number", "subnetIds", "subnet_id", "max_instances"} & set(
        suggested
    )
    for bad in (
        [{"templateId": "t", "maxNumbr": 2}],
        [{"templateId": "t", "priceType": "dedicated"}],
        [{"templateId": "t", "subnetIds": ["net-1"]}],
        [{"maxNumber": 2}],
        {"templates": [{"templateId": "t", "attributes": {"ncpus": ["Numeric"]}}]},
    ):
        assert list(validator.iter_errors(bad)), bad
    good = {
        "t1": {
            "maxNumber": 2,
            "_merge": "replace",
            "_comment": "x",
            "configuration": {"keyName": "k"},
        }
    }
    assert list(validator.iter_errors(good)) == []


def test_effective_template_schema(templar_cli: RunCli) -> None:
    result = templar_cli("schema", "--type", "aws", "--effective", entry_points=["aws"])
    schema = json.loads(result.stdout)
    assert "source_file" in schema["properties"]
    configuration = schema["properties"]["configuration"]
    assert configuration == {"$ref": "#/$defs/AwsConfiguration"}
    assert "max_number" in schema["$defs"]["AwsConfiguration"]["required"]
    assert AWS_PROVIDER.configuration_model.__name__ == "AwsConfiguration"


def test_an_id_exported_by_two_instances_is_pointed_out(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write(
        "templar.yaml", "providers:\n  - {name: prod, type: aws}\n  - {name: dev, type: aws}\n"
    )
    templar_write("awsprov_templates.json", [hostfactory_template()])
    result = templar_cli("list", "--style", "hostfactory", entry_points=["aws"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["templates"]) == 2
    assert "ids exported more than once" in result.stderr and "(prod, dev)" in result.stderr
    result = templar_cli(
        "list", "--style", "hostfactory", "--provider", "dev", entry_points=["aws"]
    )
    assert (
        len(json.loads(result.stdout)["templates"]) == 1 and "more than once" not in result.stderr
    )
