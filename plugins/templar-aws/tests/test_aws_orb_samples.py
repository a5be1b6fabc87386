"""The real ORB / HostFactory sample files, copied unchanged under their hierarchy names."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from templar import Severity, TemplateEngine
from templar.testing import EngineFactory, WriteLayer, issue_codes

SSM_AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
HF_ATTRIBUTES = {
    "type": ["String", "X86_64"],
    "ncores": ["Numeric", "2"],
    "ncpus": ["Numeric", "1"],
    "nram": ["Numeric", "4096"],
}


def _copy(samples: Path, name: str, config_dir: Path, as_name: str) -> None:
    shutil.copyfile(samples / name, config_dir / as_name)
    assert (config_dir / as_name).read_bytes() == (samples / name).read_bytes()


def _ids(samples: Path, name: str) -> list[str]:
    return [t["templateId"] for t in json.loads((samples / name).read_text())["templates"]]


def test_awsprov_templates_load_as_the_provider_layer(
    orb_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine
) -> None:
    _copy(orb_samples, "awsprov_templates.json", templar_config_dir, "awsprov_templates.json")
    report = templar_engine.validate()
    assert report.issues == []
    templates = {t.template_id: t for t in templar_engine.list_templates()}
    assert list(templates) == _ids(orb_samples, "awsprov_templates.json")
    assert len(templates) == 13

    fleet = templates["EC2FleetInstant"]
    assert (fleet.provider_type, fleet.provider_name, fleet.provider_api) == (
        "aws",
        "aws",
        "EC2Fleet",
    )
    assert fleet.file_priority == 3
    assert fleet.configuration == {
        "max_number": 2,
        "attributes": HF_ATTRIBUTES,
        "image_id": SSM_AL2023,
        "subnet_ids": ["subnet-0f984e48e6e899311"],
        "vm_type": "t2.micro",
        "price_type": "ondemand",
        "fleet_type": "instant",
        "key_name": "HF_SSH_KEY",
        "security_group_ids": ["sg-0528dfedb6d763b16"],
    }
    assert templates["SpotFleetMaintain"].configuration["fleet_type"] == "maintain"
    assert "fleet_type" not in templates["ASG"].configuration
    assert templates["EC2FleetNativeSpec"].configuration["provider_api_spec_file"] == (
        "examples/ec2fleet-price-capacity-optimized.json"
    )
    assert templates["RunInstancesNativeSpec"].configuration["launch_template_spec_file"] == (
        "examples/launch-template-basic.json"
    )
    features = {r.template_id: r.supported_features for r in report.results}
    assert features["EC2FleetInstant"] == ["on-demand", "fleet-instant"]
    assert features["RunInstancesNativeSpec"] == ["on-demand", "launch-template", "native-spec"]


def test_aws_templates_need_the_image_orb_takes_from_its_defaults(
    orb_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine
) -> None:
    """ORB's own aws_templates.json names no image and no subnet: ORB fills them from
    its config's template defaults. Alone, each template is an aws-image-required error;
    its attributes are derived from the instance type, as ORB does."""
    _copy(orb_samples, "aws_templates.json", templar_config_dir, "awstype_templates.json")
    report = templar_engine.validate()
    ids = _ids(orb_samples, "aws_templates.json")
    assert len(ids) == 20
    assert [r.template_id for r in report.results] == ids
    assert issue_codes(report, severity=Severity.ERROR) == ["aws-image-required"] * 20
    assert issue_codes(report, severity=Severity.WARNING) == []
    error = report.errors[0]
    assert (error.template_id, error.field, error.line) == (
        "EC2Fleet-Instant-OnDemand",
        "configuration.image_id",
        4,
    )


def test_aws_templates_load_with_defaults_in_the_engine_config(
    orb_samples: Path,
    templar_config_dir: Path,
    templar_write: WriteLayer,
    templar_engine_factory: EngineFactory,
) -> None:
    _copy(orb_samples, "aws_templates.json", templar_config_dir, "awstype_templates.json")
    templar_write(
        "templar.yaml",
        """\
        provider_defaults:
          aws:
            image_id: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64
            subnetIds: [subnet-0f984e48e6e899311]
        """,
    )
    templar_engine = templar_engine_factory()
    report = templar_engine.validate()
    assert report.errors == []
    templates = {t.template_id: t for t in templar_engine.list_templates()}
    assert list(templates) == _ids(orb_samples, "aws_templates.json")
    mixed = templates["EC2Fleet-Request-Mixed"]
    assert mixed.name == "EC2 Fleet Request Mixed"
    assert mixed.provider_api == "EC2Fleet"
    assert mixed.created_at == datetime(2026, 7, 6, 22, 7, 11, 806849)
    assert mixed.file_priority == 2
    assert mixed.configuration == {
        "max_number": 100,
        "image_id": SSM_AL2023,
        "subnet_ids": ["subnet-0f984e48e6e899311"],
        "vm_types": {"t3.medium": 2, "t3.large": 2, "t3.xlarge": 4},
        "price_type": "heterogeneous",
        "max_spot_price": 0.1,
        "allocation_strategy": "diversified",
        "allocation_strategy_on_demand": "lowestPrice",
        "percent_on_demand": 40,
        "fleet_type": "request",
        "volume_type": "gp3",
        "instance_tags": {"Environment": "test"},
    }
    assert templates["EC2Fleet-Maintain-Mixed"].configuration["allocation_strategy_on_demand"] == (
        "prioritized"
    )
    assert templates["SpotFleet-Maintain-CapacityOptimized"].configuration[
        "allocation_strategy"
    ] == ("capacityOptimized")
    assert "fleet_type" not in templates["ASG-Spot"].configuration
    features = {r.template_id: r.supported_features for r in report.results}
    assert features["EC2Fleet-Instant-Mixed"] == [
        "on-demand",
        "spot",
        "on-demand-mix",
        "weighted-instance-types",
        "fleet-instant",
    ]
    # Where a value came from: the type layer wins, the image from the engine config.
    explained = {f.field: f for f in templar_engine.explain("ASG-Mixed").fields}
    assert explained["configuration.image_id"].source.layer == "type-defaults"
    assert explained["configuration.percent_on_demand"].source.layer == "type"


def test_shared_templates_json_goes_to_generic_without_declared_providers(
    orb_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine
) -> None:
    _copy(orb_samples, "templates.json", templar_config_dir, "templates.json")
    assert templar_engine.validate().issues == []
    [template] = templar_engine.list_templates()
    assert (template.template_id, template.provider_type) == ("TestTemplate", "generic")
    assert template.provider_api == "EC2Fleet"
    assert template.configuration["max_instances"] == 2
    assert template.configuration["instance_type"] == "t2.micro"


def test_shared_templates_json_reads_as_aws_through_orb_internal_names(
    orb_samples: Path,
    templar_config_dir: Path,
    templar_write: WriteLayer,
    templar_engine_factory: EngineFactory,
) -> None:
    _copy(orb_samples, "templates.json", templar_config_dir, "templates.json")
    templar_write("templar.yaml", {"providers": [{"name": "aws-main", "type": "aws"}]})
    templar_engine = templar_engine_factory()
    assert templar_engine.validate().issues == []
    [template] = templar_engine.list_templates()
    assert (template.provider_name, template.provider_type, template.file_priority) == (
        "aws-main",
        "aws",
        4,
    )
    assert template.configuration == {
        "max_number": 2,
        "attributes": HF_ATTRIBUTES,
        "image_id": SSM_AL2023,
        "subnet_ids": ["subnet-0f984e48e6e899311"],
        "vm_type": "t2.micro",
        "price_type": "ondemand",
        "key_name": "HF_SSH_KEY",
        "security_group_ids": ["sg-0528dfedb6d763b16"],
    }


def test_awslabs_fixture_reports_its_placeholder_ids(
    orb_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine
) -> None:
    """The awslabs test fixture uses made-up ids such as ami-native123: not AWS ids."""
    _copy(
        orb_samples,
        "awslabs-fixtures/awsprov_templates.json",
        templar_config_dir,
        "awsprov_templates.json",
    )
    report = templar_engine.validate()
    assert [t.template_id for t in templar_engine.list_templates()] == [
        "test-template-1",
        "test-template-2",
    ]
    assert sorted((e.template_id, e.field) for e in report.errors) == sorted(
        (template, field)
        for template in (
            "native-launch-template-spec",
            "native-provider-api-spec",
            "native-both-specs",
        )
        for field in (
            "configuration.image_id",
            "configuration.subnet_ids.0",
            "configuration.security_group_ids.0",
        )
    )
    assert {e.code for e in report.errors} == {"invalid-field"}
    test1 = templar_engine.get_template("test-template-1")
    assert test1 is not None
    assert test1.configuration["image_id"] == "ami-12345678"
    assert test1.configuration["attributes"]["nram"] == ["Numeric", "1024"]


def test_awslabs_native_specs_pass_through_once_ids_are_real(
    orb_samples: Path,
    templar_config_dir: Path,
    templar_write: WriteLayer,
    templar_engine_factory: EngineFactory,
) -> None:
    """With real ids in an instance layer, the inline native specs (Jinja and all) load."""
    _copy(
        orb_samples,
        "awslabs-fixtures/awsprov_templates.json",
        templar_config_dir,
        "awsprov_templates.json",
    )
    templar_write("templar.yaml", {"providers": [{"name": "lab", "type": "aws"}]})
    real = {
        "imageId": "ami-0123456789abcdef0",
        "subnetId": "subnet-0123456789abcdef0",
        "securityGroupIds": ["sg-0123456789abcdef0"],
    }
    templar_write(
        "labinst_templates.json",
        {
            t: real
            for t in (
                "native-launch-template-spec",
                "native-provider-api-spec",
                "native-both-specs",
            )
        },
    )
    templar_engine = templar_engine_factory()
    report = templar_engine.validate()
    assert report.errors == []
    both = templar_engine.get_template("native-both-specs")
    assert both is not None
    spec = both.configuration["launch_template_spec"]
    assert spec["LaunchTemplateName"] == "advanced-lt-{{ request_id }}"
    assert both.configuration["provider_api_spec"]["Type"] == "instant"
    codes = issue_codes(report, "native-provider-api-spec", severity=Severity.WARNING)
    assert "aws-native-spec-fleet-type" in codes
