"""Cross-field rules: stable codes from the validation hook, each on the right field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from templar import ProviderSpec, TemplateEngine
from templar.testing import WriteLayer, issue_codes

import templar_aws.plugin
from templar_aws import AWS_PROVIDER

#: The ``hostfactory_template`` fixture of conftest.py.
TemplateFactory = Callable[..., dict[str, Any]]

LT = "lt-0e8c754449b27161c"


@pytest.mark.parametrize(
    ("fields", "expected_codes"),
    [
        ({}, []),
        ({"imageId": None}, ["aws-image-required"]),
        ({"imageId": None, "launchTemplateId": LT}, []),
        ({"imageId": None, "launch_template_spec": {"LaunchTemplateData": {}}}, []),
        ({"vmType": None}, ["aws-instance-type-required"]),
        ({"vmType": None, "launchTemplateId": LT}, []),
        ({"vmType": None, "vmTypes": {"t3.large": 2}}, []),
        # vmType with vmTypes: ORB writes both and provisions vmTypes; no issue.
        ({"vmTypes": {"t3.large": 2}}, []),
        ({"vmType": "t3.large", "vmTypes": {"t3.large": 2, "m5.large": 1}}, []),
        ({"launchTemplateVersion": 2}, ["aws-launch-template-version-without-id"]),
        ({"launchTemplateId": LT, "launchTemplateVersion": 2}, []),
        (
            {"provider_api_spec": {"Type": "instant"}, "provider_api_spec_file": "f.json"},
            ["aws-native-spec-conflict"],
        ),
        (
            {"launch_template_spec": {"ImageId": "x"}, "launch_template_spec_file": "lt.json"},
            ["aws-native-spec-conflict"],
        ),
        ({"iops": 3000}, ["aws-iops-volume-type"]),
        ({"iops": 3000, "volumeType": "gp2"}, ["aws-iops-volume-type"]),
        ({"iops": 3000, "volumeType": "gp3"}, []),
        ({"iops": 3000, "volumeType": "io1"}, []),
        # percentOnDemand is optional (IBM: default 0).
        ({"priceType": "heterogeneous"}, []),
        ({"priceType": "heterogeneous", "percentOnDemand": 0}, []),
        (
            {"priceType": "spot", "poolsCount": 2, "allocationStrategy": "diversified"},
            ["aws-pools-count-strategy"],
        ),
        ({"priceType": "spot", "poolsCount": 2}, ["aws-pools-count-strategy"]),
        ({"priceType": "spot", "poolsCount": 2, "allocationStrategy": "lowest-price"}, []),
        ({"maxSpotPrice": 0.5}, ["aws-spot-field-ignored"]),
        ({"priceType": "spot", "maxSpotPrice": 0.5, "spotFleetRequestExpiry": 30}, []),
        ({"percentOnDemand": 20}, ["aws-on-demand-field-ignored"]),
        (
            {"priceType": "spot", "vmTypesOnDemand": {"t3.large": 1}},
            ["aws-on-demand-field-ignored"],
        ),
        (
            {"vmType": None, "vmTypes": {"t3.large": 1}, "vmTypesPriority": {"t3.nano": 0}},
            ["aws-priority-unknown-type"],
        ),
        (
            {"providerApi": "RunInstances", "priceType": "heterogeneous", "percentOnDemand": 50},
            ["aws-price-type-unsupported"],
        ),
        ({"providerApi": "SpotFleet", "fleetType": "instant"}, ["aws-fleet-type-unsupported"]),
        ({"providerApi": "SpotFleet", "fleetType": "maintain"}, []),
        ({"providerApi": "EC2Fleet", "fleetType": "instant"}, []),
        ({"providerApi": "ASG", "fleetType": "request"}, ["aws-fleet-type-ignored"]),
        (
            {"providerApi": "ASG", "priceType": "spot", "allocationStrategy": "diversified"},
            ["aws-allocation-strategy-unsupported"],
        ),
        (
            {"providerApi": "SpotFleet", "priceType": "spot", "allocationStrategy": "diversified"},
            [],
        ),
        (
            {
                "providerApi": "RunInstances",
                "vmType": None,
                "vmTypes": {"t3.large": 1, "t3.xlarge": 2},
            },
            ["aws-single-instance-type"],
        ),
        ({"providerApi": "Ec2Fleet"}, ["aws-provider-api-invalid"]),
        ({"providerApi": None}, []),
        (
            {"fleetType": "maintain", "provider_api_spec": {"Type": "instant"}},
            ["aws-native-spec-fleet-type"],
        ),
        # No attributes: derived from the instance type, as ORB does.
        ({"attributes": None}, []),
        ({"attributes": None, "vmType": None, "launchTemplateId": LT}, ["aws-attributes-missing"]),
        ({"providerApi": "AutoScalingGroup"}, []),
        ({"providerApi": "MicroVM"}, []),
        ({"awsHandler": "SpotFleetRequest", "providerApi": None, "fleetType": None}, []),
        (
            {"providerApi": "SpotFleetRequest", "fleetType": None, "metadata": {}},
            [],
        ),
        (
            {"providerApi": "SpotFleet", "metadata": {"fleet_type": "instant"}},
            ["aws-fleet-type-unsupported"],
        ),
        ({"keyName": "{{ key_name }}"}, ["aws-unrendered-placeholder"]),
        ({"priceType": "reserved"}, []),
        # LSF writes no priceType: its spotPrice is what asks for spot capacity.
        ({"spotPrice": 0.02}, []),
        ({"maxNumber": 0}, ["aws-max-number-not-positive"]),
        ({"maxNumber": -1}, ["aws-max-number-not-positive"]),
        ({"allocationStrategy": "prioritized"}, []),
        (
            {"priceType": "spot", "allocationStrategy": "prioritized"},
            ["aws-allocation-strategy-unsupported"],
        ),
        ({"provider_api_spec": {"ImageId": "{{ image_id }}"}}, []),
    ],
)
def test_cross_field_rules(
    hostfactory_template: TemplateFactory,
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_codes: list[str],
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template(**fields)])
    assert issue_codes(templar_engine.validate(), "t1") == expected_codes


def test_rule_issues_are_located_in_the_layer_that_set_the_field(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template(volumeType="gp2")])
    templar_write("awstype_templates.yaml", "t1:\n  iops: 4000\n")
    [issue] = templar_engine.validate().errors
    assert issue.code == "aws-iops-volume-type"
    assert issue.field == "configuration.iops"
    assert issue.message == (
        "iops applies to gp3, io1 and io2 volumes, and this template has volumeType 'gp2' "
        "(source: AWS: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
        "API_EbsBlockDevice.html (Iops))"
    )
    assert issue.file is not None and issue.file.endswith("awstype_templates.yaml")
    assert (issue.line, issue.template_id, issue.provider_instance) == (2, "t1", "aws")


def test_errors_make_the_template_invalid_and_warnings_do_not(
    hostfactory_template: TemplateFactory, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write(
        "awsprov_templates.json",
        [
            hostfactory_template("bad", imageId=None),
            hostfactory_template("warned", maxSpotPrice=0.2),
        ],
    )
    results = {r.template_id: r for r in templar_engine.validate().results}
    assert not results["bad"].is_valid
    assert results["warned"].is_valid and results["warned"].warnings
    assert [t.template_id for t in templar_engine.list_templates()] == ["warned"]


@pytest.mark.parametrize(
    ("fields", "expected_features"),
    [
        ({}, ["on-demand"]),
        (
            {"priceType": "spot", "vmType": None, "vmTypes": {"t3.large": 2}},
            ["spot", "weighted-instance-types"],
        ),
        (
            {"priceType": "heterogeneous", "percentOnDemand": 30, "fleetType": "maintain"},
            ["on-demand", "spot", "on-demand-mix", "fleet-maintain"],
        ),
        ({"imageId": None, "launchTemplateId": LT}, ["on-demand", "launch-template"]),
        ({"provider_api_spec_file": "spec.json"}, ["on-demand", "native-spec"]),
        ({"subnetId": "subnet-1a2b3c4d,subnet-5e6f7a8b"}, ["on-demand", "multi-subnet"]),
        (
            {
                "vmType": None,
                "abisInstanceRequirements": {"vcpu_count": {"min": 2}, "memory_mib": {"min": 1024}},
            },
            ["on-demand", "attribute-based-instance-selection"],
        ),
    ],
)
def test_supported_features_per_template(
    hostfactory_template: TemplateFactory,
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_features: list[str],
) -> None:
    templar_write("awsprov_templates.json", [hostfactory_template(**fields)])
    [result] = templar_engine.validate().results
    assert result.is_valid, result.errors
    assert result.supported_features == expected_features


def test_the_hook_ignores_other_provider_types(
    templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    # An aws-looking template of the generic provider gets no aws rule.
    templar_write("templates.yaml", [{"template_id": "g1", "iops": 5}])
    assert templar_engine.validate().issues == []
    other = ProviderSpec(name="other")
    template = templar_engine.get_template("g1")
    assert template is not None
    assert templar_aws.plugin.templar_validate_templates([template], other, [None]) is None


def test_registered_spec_is_the_public_one(templar_engine: TemplateEngine) -> None:
    assert templar_engine.providers["aws"] is AWS_PROVIDER
    assert templar_engine.providers["aws"].key_style is not None
    assert templar_engine.providers["aws"].key_style.name == "hostfactory"
