"""Field by field: what the aws configuration model accepts, normalises and refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from templar import Severity, TemplateEngine
from templar.testing import WriteLayer

#: The ``hostfactory_template`` fixture of conftest.py.
TemplateFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def load(
    templar_write: WriteLayer, templar_engine: TemplateEngine, hostfactory_template: TemplateFactory
) -> Callable[..., TemplateEngine]:
    """``load(**fields)``: the engine on one HostFactory template with ``fields`` changed."""

    def load(**fields: Any) -> TemplateEngine:
        templar_write("awsprov_templates.json", {"templates": [hostfactory_template(**fields)]})
        return templar_engine

    return load


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"max_number": 10, "vm_type": "t3.medium", "price_type": "ondemand"}),
        ({"maxNumber": -1}, {"max_number": -1}),
        ({"maxNumber": "25"}, {"max_number": 25}),
        (
            {"subnetId": "subnet-0f984e48e6e899311, subnet-1a2b3c4d"},
            {"subnet_ids": ["subnet-0f984e48e6e899311", "subnet-1a2b3c4d"]},
        ),
        (
            {"subnetId": None, "subnetIds": ["subnet-1a2b3c4d"]},
            {"subnet_ids": ["subnet-1a2b3c4d"]},
        ),
        ({"subnetId": None, "subnet_id": "subnet-1a2b3c4d"}, {"subnet_ids": ["subnet-1a2b3c4d"]}),
        (
            {"imageId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"},
            {"image_id": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"},
        ),
        ({"imageId": "ami-12345678"}, {"image_id": "ami-12345678"}),
        (
            {
                "attributes": {
                    "type": ["String", "X86_64"],
                    "ncpus": ["Numeric", 2],
                    "nram": ["Numeric", 4096.5],
                    "awshost": ["Boolean", "1"],
                }
            },
            {
                "attributes": {
                    "type": ["String", "X86_64"],
                    "ncpus": ["Numeric", "2"],
                    "nram": ["Numeric", "4096.5"],
                    "awshost": ["Boolean", "1"],
                }
            },
        ),
        (
            {"allocationStrategy": "price-capacity-optimized", "priceType": "spot"},
            {"allocation_strategy": "priceCapacityOptimized"},
        ),
        (
            {"allocationStrategy": "capacity_optimized", "priceType": "spot"},
            {"allocation_strategy": "capacityOptimized"},
        ),
        (
            {"allocationStrategyOnDemand": "lowest-price"},
            {"allocation_strategy_on_demand": "lowestPrice"},
        ),
        ({"priceType": "On-Demand"}, {"price_type": "ondemand"}),
        ({"priceType": "SPOT"}, {"price_type": "spot"}),
        (
            {"instanceTags": "team=hpc; env=prod;"},
            {"instance_tags": {"team": "hpc", "env": "prod"}},
        ),
        (
            {"instanceTags": {"team": "hpc", "cost": 42}},
            {"instance_tags": {"team": "hpc", "cost": "42"}},
        ),
        (
            {"vmType": None, "vmTypes": {"t3.medium": 1, "m5.large": 2}},
            {"vm_types": {"t3.medium": 1, "m5.large": 2}},
        ),
        ({"vmType": "c5.xlarge, c5.2xlarge"}, {"vm_type": "c5.xlarge,c5.2xlarge"}),
        (
            {"launchTemplateId": "lt-0e8c754449b27161c", "launchTemplateVersion": "3"},
            {"launch_template_version": 3},
        ),
        (
            {"launchTemplateId": "lt-0e8c754449b27161c", "launchTemplateVersion": "$Latest"},
            {"launch_template_version": "$Latest"},
        ),
        ({"volumeType": "IO2", "iops": 3000}, {"volume_type": "io2", "iops": 3000}),
        ({"rootDeviceVolumeSize": 16384}, {"root_device_volume_size": 16384}),
        (
            {"fleetRole": "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role"},
            {"fleet_role": "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role"},
        ),
        ({"instanceProfile": "hf-worker"}, {"instance_profile": "hf-worker"}),
        (
            {
                "vmType": None,
                "abisInstanceRequirements": {
                    "VCpuCount": {"Min": 2, "Max": 8},
                    "memory_mib": {"min": 4096},
                    "CpuManufacturers": ["intel"],
                },
            },
            {
                "abis_instance_requirements": {
                    "vcpu_count": {"min": 2, "max": 8},
                    "memory_mib": {"min": 4096},
                    "CpuManufacturers": ["intel"],
                }
            },
        ),
        # ORB's internal snake_case names read as the HostFactory fields.
        (
            {"maxNumber": None, "max_instances": 3, "vmType": None, "instance_type": "t3.large"},
            {"max_number": 3, "vm_type": "t3.large"},
        ),
        ({"configuration": {"keyName": "nested-key"}, "keyName": None}, {"key_name": "nested-key"}),
        # An empty string, list or mapping is "not set" (ORB; IBM's plugin for its options).
        (
            {"keyName": "", "subnetId": [], "instanceTags": "", "vmTypes": {}},
            {"key_name": None, "subnet_ids": None, "instance_tags": None, "vm_types": None},
        ),
        ({"securityGroupIds": []}, {"security_group_ids": None}),
        # ORB's current machine_* names, and its other generic fields.
        (
            {
                "maxNumber": None,
                "imageId": None,
                "vmType": None,
                "keyName": None,
                "max_machines": 4,
                "machine_image": "ami-12345678",
                "machine_types": {"t3.large": 1},
                "machine_ssh_key": "orb-key",
                "machine_disk_size_gb": 40,
                "machine_disk_type": "gp3",
                "machine_role": "hf-worker",
                "machine_bootstrap": "#!/bin/sh\necho hi",
                "network_zones": ["us-east-1a"],
                "monitoring_enabled": True,
                "storage_encryption": True,
                "public_ip_assignment": False,
                "context": "c-123",
            },
            {
                "max_number": 4,
                "image_id": "ami-12345678",
                "vm_types": {"t3.large": 1},
                "key_name": "orb-key",
                "root_device_volume_size": 40,
                "volume_type": "gp3",
                "instance_profile": "hf-worker",
                "user_data_script": "#!/bin/sh\necho hi",
                "network_zones": ["us-east-1a"],
                "monitoring_enabled": True,
                "storage_encryption": True,
                "public_ip_assignment": False,
                "context": "c-123",
            },
        ),
        # Aliases resolve after the key-style conversion: camelCase ORB names read too.
        (
            {
                "maxNumber": None,
                "vmType": None,
                "maxInstances": 6,
                "machineTypes": {"m5.large": 1},
                "machineSshKey": "k",
            },
            {"max_number": 6, "vm_types": {"m5.large": 1}, "key_name": "k"},
        ),
        # ORB's tags are the instance tags.
        ({"tags": {"team": "hpc"}}, {"instance_tags": {"team": "hpc"}}),
        # What orb templates list prints: instanceTags as the JSON text of a mapping.
        ({"instanceTags": '{"team": "hpc"}'}, {"instance_tags": {"team": "hpc"}}),
        # IBM LSF resource connector fields.
        (
            {
                "userData": "zone=us_west_2a",
                "spotPrice": 0.05,
                "placementGroupName": "hpc-pg",
                "tenancy": "dedicated",
                "ebsOptimized": True,
                "interfaceType": "efa",
                "efaCount": 1,
                "onDemandTargetCapacityRatio": 0.5,
                "fleetType": "instant",
                "ec2FleetConfig": "ec2-fleet-config.json",
                "priority": 10,
                "durationInHours": 2,
                "requestValidity": "02:30",
            },
            {
                "user_data": "zone=us_west_2a",
                "spot_price": 0.05,
                "placement_group_name": "hpc-pg",
                "tenancy": "dedicated",
                "ebs_optimized": True,
                "interface_type": "efa",
                "efa_count": 1,
                "on_demand_target_capacity_ratio": 0.5,
                "fleet_type": "instant",
                "ec2_fleet_config": "ec2-fleet-config.json",
                "priority": 10,
                "duration_in_hours": 2,
                "request_validity": "02:30",
            },
        ),
        # LSF attributes: mem for memory, any lsf.shared resource as a custom attribute.
        (
            {
                "attributes": {
                    "type": ["String", "X86_64"],
                    "ncores": ["Numeric", "1"],
                    "ncpus": ["Numeric", "1"],
                    "mem": ["Numeric", "1024"],
                    "awshost": ["Boolean", "1"],
                    "zone": ["String", "us_west_2a"],
                }
            },
            {
                "attributes": {
                    "type": ["String", "X86_64"],
                    "ncores": ["Numeric", "1"],
                    "ncpus": ["Numeric", "1"],
                    "mem": ["Numeric", "1024"],
                    "awshost": ["Boolean", "1"],
                    "zone": ["String", "us_west_2a"],
                }
            },
        ),
    ],
)
def test_accepted_and_normalised(
    load: Callable[..., TemplateEngine],
    fields: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    engine = load(**fields)
    report = engine.validate()
    assert report.errors == []
    template = engine.get_template("t1")
    assert template is not None
    assert {k: template.configuration.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("fields", "expected_field", "expected_error"),
    [
        ({"maxNumber": 10001}, "configuration.max_number", "less than or equal to 10000"),
        ({"maxNumber": -2}, "configuration.max_number", "greater than or equal to -1"),
        ({"maxNumber": True}, "configuration.max_number", "not a boolean"),
        ({"maxNumber": None}, "configuration.max_number", "field required"),
        (
            {"attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "2"]}},
            "configuration.attributes",
            "must define nram",
        ),
        (
            {
                "attributes": {
                    "type": ["String", "X86_64"],
                    "ncpus": ["Numeric", "two"],
                    "nram": ["Numeric", "1"],
                }
            },
            "configuration.attributes.ncpus",
            "'two' is not a number",
        ),
        (
            {"attributes": {"type": "X86_64", "ncpus": ["Numeric", "2"], "nram": ["Numeric", "1"]}},
            "configuration.attributes.type",
            "[kind, value] pair",
        ),
        (
            {
                "attributes": {
                    "type": ["Numeric", "1"],
                    "ncpus": ["Numeric", "2"],
                    "nram": ["Numeric", "1"],
                }
            },
            "configuration.attributes",
            "'type' is String, not Numeric",
        ),
        (
            {
                "attributes": {
                    "type": ["Text", "x"],
                    "ncpus": ["Numeric", "2"],
                    "nram": ["Numeric", "1"],
                }
            },
            "configuration.attributes.type",
            "kind must be",
        ),
        ({"imageId": "ami-xyz"}, "configuration.image_id", "not an AMI id"),
        ({"imageId": "ubuntu"}, "configuration.image_id", "SSM parameter path"),
        ({"subnetId": "net-1234"}, "configuration.subnet_ids.0", "not a subnet id"),
        ({"subnetId": ["subnet-1a2b3c4d", ""]}, "configuration.subnet_ids.1", "not a subnet id"),
        ({"subnetId": "subnet-xxxxx"}, "configuration.subnet_ids.0", "not a subnet id"),
        (
            {"imageId": "{{ image_id }}"},
            "configuration.image_id",
            "unrendered template placeholder",
        ),
        ({"tenancy": "shared"}, "configuration.tenancy", "'default', 'dedicated' or 'host'"),
        ({"interfaceType": "eni"}, "configuration.interface_type", "'interface', 'efa'"),
        (
            {"onDemandTargetCapacityRatio": 1.5},
            "configuration.on_demand_target_capacity_ratio",
            "1",
        ),
        ({"durationInHours": 7}, "configuration.duration_in_hours", "6"),
        ({"instanceTags": {"orb:owner": "x"}}, "configuration.instance_tags", "reserved prefix"),
        (
            {"attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "1"]}},
            "configuration.attributes",
            "nram (Symphony) or mem (LSF)",
        ),
        (
            {"securityGroupIds": ["sg-native123"]},
            "configuration.security_group_ids.0",
            "not a security group id",
        ),
        ({"vmType": "t3 medium"}, "configuration.vm_type", "not an EC2 instance type"),
        (
            {"vmType": None, "vmTypes": {"t3.medium": 0}},
            "configuration.vm_types.t3.medium",
            "greater than or equal to 1",
        ),
        (
            {"vmType": None, "vmTypes": {"t3.medium": 1.5}},
            "configuration.vm_types.t3.medium",
            "fractional part",
        ),
        ({"vmType": None, "vmTypes": ["t3.medium"]}, "configuration.vm_types", "valid dictionary"),
        (
            {"priceType": "dedicated"},
            "configuration.price_type",
            "'ondemand', 'spot', 'heterogeneous' or 'reserved'",
        ),
        (
            {"priceType": "spot", "allocationStrategy": "cheapest"},
            "configuration.allocation_strategy",
            "'lowestPrice'",
        ),
        (
            {"allocationStrategyOnDemand": "diversified"},
            "configuration.allocation_strategy_on_demand",
            "'prioritized'",
        ),
        (
            {"priceType": "heterogeneous", "percentOnDemand": 101},
            "configuration.percent_on_demand",
            "less than or equal to 100",
        ),
        ({"priceType": "spot", "poolsCount": 0}, "configuration.pools_count", "greater than 0"),
        (
            {"priceType": "spot", "maxSpotPrice": 0},
            "configuration.max_spot_price",
            "greater than 0",
        ),
        ({"fleetType": "burst"}, "configuration.fleet_type", "'instant', 'request' or 'maintain'"),
        (
            {"fleetRole": "arn:aws:iam::12:role/x"},
            "configuration.fleet_role",
            "not an IAM role ARN or name",
        ),
        (
            {"instanceProfile": "arn:aws:iam::123456789012:role/x"},
            "configuration.instance_profile",
            "not an instance profile",
        ),
        (
            {"rootDeviceVolumeSize": 0},
            "configuration.root_device_volume_size",
            "greater than or equal to 1",
        ),
        (
            {"rootDeviceVolumeSize": 16385},
            "configuration.root_device_volume_size",
            "less than or equal to 16384",
        ),
        (
            {"volumeType": "gp4"},
            "configuration.volume_type",
            "'gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1' or 'standard'",
        ),
        ({"volumeType": "io1", "iops": 99}, "configuration.iops", "greater than or equal to 100"),
        (
            {"volumeType": "io2", "iops": 256001},
            "configuration.iops",
            "less than or equal to 256000",
        ),
        (
            {"instanceTags": "team=hpc;aws:cloudformation:stack=x"},
            "configuration.instance_tags",
            "reserved prefix 'aws:'",
        ),
        (
            {"instanceTags": {"AWS:owner": "me"}},
            "configuration.instance_tags",
            "reserved prefix 'aws:'",
        ),
        ({"instanceTags": "team"}, "configuration.instance_tags", "'team' is not key=value"),
        ({"instanceTags": "a=1;a=2"}, "configuration.instance_tags", "given twice"),
        ({"instanceTags": {"k" * 129: "v"}}, "configuration.instance_tags", "longer than 128"),
        ({"keyName": "k" * 256}, "configuration.key_name", "at most 255 characters"),
        (
            {"launchTemplateId": "lt-123"},
            "configuration.launch_template_id",
            "not a launch template id",
        ),
        (
            {"launchTemplateId": "lt-0e8c754449b27161c", "launchTemplateVersion": 0},
            "configuration.launch_template_version",
            "1 or more",
        ),
        (
            {"launchTemplateId": "lt-0e8c754449b27161c", "launchTemplateVersion": "$Newest"},
            "configuration.launch_template_version",
            "'$Latest' or '$Default'",
        ),
        (
            {
                "vmType": None,
                "abisInstanceRequirements": {
                    "vcpu_count": {"min": 4, "max": 2},
                    "memory_mib": {"min": 1},
                },
            },
            "configuration.abis_instance_requirements.vcpu_count",
            "max (2) is below min (4)",
        ),
        (
            {"vmType": None, "abisInstanceRequirements": {"vcpu_count": {"min": 4}}},
            "configuration.abis_instance_requirements.memory_mib",
            "field required",
        ),
    ],
)
def test_refused_with_a_located_error(
    load: Callable[..., TemplateEngine],
    fields: dict[str, Any],
    expected_field: str,
    expected_error: str,
) -> None:
    engine = load(**fields)
    report = engine.validate()
    assert engine.get_template("t1") is None
    errors = [(e.field, e.message) for e in report.errors]
    assert any(
        field == expected_field and expected_error in message for field, message in errors
    ), errors
    assert all(
        e.file and e.file.endswith("awsprov_templates.json") and e.line for e in report.errors
    )


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("maxNumbr", "maxNumber"),
        ("vmTyp", "vmType"),
        ("subnetIdz", "subnetId"),
        ("instance_tag", "instance_tags"),
    ],
)
def test_unknown_key_is_an_error_with_did_you_mean(
    load: Callable[..., TemplateEngine], written: str, suggested: str
) -> None:
    engine = load(**{written: "x"})
    [error] = [e for e in engine.validate().errors if e.code == "unknown-key"]
    assert f"unknown key '{written}'" in error.message
    assert f"did you mean '{suggested}'" in error.message
    assert error.severity is Severity.ERROR


def test_error_points_at_the_line_of_the_bad_value(
    templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write(
        "awsprov_templates.yaml",
        """\
        - templateId: t1
          maxNumber: 2
          attributes: {type: [String, X86_64], ncpus: [Numeric, "1"], nram: [Numeric, "1024"]}
          vmType: t3.micro
          imageId: ami-bogus
        """,
    )
    [error] = templar_engine.validate().errors
    assert (error.code, error.field, error.line, error.column) == (
        "invalid-field",
        "configuration.image_id",
        5,
        12,  # the value, where an editor puts the cursor
    )
