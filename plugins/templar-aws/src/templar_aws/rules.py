"""Rules that relate several fields of an ``aws`` template, and its supported features.

Each rule has a stable ``code`` (``aws-...``) that tools may match on; the README lists
them. Messages name keys in HostFactory's spelling, which is how most files write them;
``field`` is the canonical dotted path (``configuration.iops``).

A rule is an error only where AWS, HostFactory or ORB would refuse the template, and its
message ends with where that is written down (:data:`RULE_SOURCES`); anything else that
looks wrong is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import orjson
from templar import Severity, TemplateDTO, ValidationIssueDTO
from templar.errors import did_you_mean

from templar_aws.configuration import AwsConfiguration
from templar_aws.instance_types import derived_attributes
from templar_aws.values import (
    IOPS_VOLUME_TYPES,
    NATIVE_SPEC_KEYS,
    PROVIDER_API_ALIASES,
    PROVIDER_APIS,
)

_EC2_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference"
_ORB = "github.com/finos/open-resource-broker src/orb/providers/aws/domain/template"
#: Where each error rule comes from: the AWS API reference, ORB's or IBM's code.
RULE_SOURCES = {
    "aws-provider-api-invalid": f"ORB: {_ORB}/value_objects.py (ProviderApi)",
    "aws-image-required": f"AWS: {_EC2_API}/API_RunInstances.html (ImageId)",
    "aws-instance-type-required": "HostFactory: IBM's awsprov_templates.json reference (vmType "
    "is required); ORB: derive_attributes needs the type",
    "aws-native-spec-conflict": f"ORB: {_ORB}/aws_template_aggregate.py "
    "(validate_native_spec_mutual_exclusion)",
    "aws-iops-volume-type": f"AWS: {_EC2_API}/API_EbsBlockDevice.html (Iops)",
    "aws-price-type-unsupported": f"AWS: {_EC2_API}/API_RunInstances.html (one market type); "
    "ORB: aws_defaults.json (RunInstances supports_spot false)",
    "aws-fleet-type-unsupported": f"AWS: {_EC2_API}/API_SpotFleetRequestConfigData.html (Type)",
    "aws-allocation-strategy-unsupported": "AWS: https://docs.aws.amazon.com/autoscaling/ec2/"
    "APIReference/API_InstancesDistribution.html (SpotAllocationStrategy)",
    "aws-unrendered-placeholder": "AWS: a '{{ ... }}' value is not an id, name or type any "
    "EC2 API accepts",
    "aws-attributes-missing": "HostFactory: IBM's awsprov_templates.json reference (attributes "
    "is required)",
}

#: APIs whose fleets have a type, and the types each accepts.
FLEET_TYPES = {"EC2Fleet": ("instant", "request", "maintain"), "SpotFleet": ("request", "maintain")}
#: Spot allocation strategies an API does not accept (ASG has no ``diversified``).
UNSUPPORTED_SPOT_STRATEGIES = {"ASG": ("diversified",)}
#: Fields used only by spot capacity, and only by the on-demand part of a mix.
#: (LSF's spotPrice is not one: in LSF a spotPrice is what makes the request spot.)
SPOT_ONLY_FIELDS = ("max_spot_price", "pools_count", "spot_fleet_request_expiry")
MIX_ONLY_FIELDS = ("percent_on_demand", "vm_types_on_demand")


class _Report(Protocol):
    def __call__(
        self, code: str, field: str, message: str, severity: Severity = Severity.ERROR
    ) -> None: ...


_EXTERNAL = {
    "max_spot_price": "maxSpotPrice",
    "spot_price": "spotPrice",
    "pools_count": "poolsCount",
    "spot_fleet_request_expiry": "spotFleetRequestExpiry",
    "percent_on_demand": "percentOnDemand",
    "vm_types_on_demand": "vmTypesOnDemand",
}


def check_template(
    template: TemplateDTO, config: AwsConfiguration | None = None
) -> list[ValidationIssueDTO]:
    """Every cross-field issue of one validated ``aws`` template."""
    if config is None:
        config = AwsConfiguration.model_validate(template.configuration)
    issues: list[ValidationIssueDTO] = []

    def report(code: str, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        issues.append(
            ValidationIssueDTO(code=code, severity=severity, message=message, field=field)
        )

    api, handler_fleet_type = effective_provider_api(template.provider_api)
    if api is not None and api not in PROVIDER_APIS:
        report(
            "aws-provider-api-invalid",
            "provider_api",
            f"providerApi '{api}' is not one of {', '.join(PROVIDER_APIS)}"
            + did_you_mean(api, [*PROVIDER_APIS, *PROVIDER_API_ALIASES]),
        )
        api = None

    if config.max_number <= 0:
        report(
            "aws-max-number-not-positive",
            "configuration.max_number",
            f"maxNumber is {config.max_number}: ORB refuses a template below 1 (its "
            "Template: max_machines must be greater than 0), and with 0 HostFactory can "
            "request no host from it",
            Severity.WARNING,
        )

    launch_template = bool(
        config.launch_template_id or config.launch_template_spec or config.launch_template_spec_file
    )
    if not config.image_id and not launch_template:
        report(
            "aws-image-required",
            "configuration.image_id",
            "no image: set imageId (an AMI id or an SSM parameter path) or a launch template "
            "(launchTemplateId, launch_template_spec or launch_template_spec_file)",
        )
    if not (config.vm_type or config.vm_types or config.abis_instance_requirements) and not (
        launch_template
    ):
        report(
            "aws-instance-type-required",
            "configuration.vm_type",
            "no instance type: set vmType, vmTypes or abisInstanceRequirements (or use a "
            "launch template that names one)",
        )
    # vmType with vmTypes is no conflict: ORB writes both (vmType the first of vmTypes) and
    # provisions vmTypes; an ORB config's template_defaults often give a vmType beside a
    # template's vmTypes. The README says which one is used.
    if config.launch_template_version is not None and not config.launch_template_id:
        report(
            "aws-launch-template-version-without-id",
            "configuration.launch_template_version",
            "launchTemplateVersion is set but launchTemplateId is not, so it is not used",
            Severity.WARNING,
        )
    for inline, file in (
        ("provider_api_spec", "provider_api_spec_file"),
        ("launch_template_spec", "launch_template_spec_file"),
    ):
        if getattr(config, inline) is not None and getattr(config, file) is not None:
            report(
                "aws-native-spec-conflict",
                f"configuration.{file}",
                f"both {inline} and {file} are set; keep one",
            )

    if not config.attributes and derived_attributes(template.configuration) is None:
        report(
            "aws-attributes-missing",
            "configuration.attributes",
            "no attributes and no instance type to derive them from: HostFactory needs type, "
            "ncpus and nram to match demand to this template",
        )
    fleet_type = config.fleet_type or metadata_fleet_type(template) or handler_fleet_type
    for path, value in _placeholders(template.configuration):
        report(
            "aws-unrendered-placeholder",
            f"configuration.{path}",
            f"'{value}' is an unrendered template placeholder: nothing fills it in before the "
            "value reaches AWS (only ORB's native specs are rendered)",
        )
    _check_volume(config, report)
    _check_pricing(config, api, report)
    _check_api(config, api, fleet_type, report)
    return [_with_source(issue) for issue in issues]


#: Keys whose text is passed through as written: ORB renders its native specs (Jinja) when
#: it provisions, and a user data script may hold any text.
_RENDERED_KEYS = (*NATIVE_SPEC_KEYS, "user_data", "user_data_script")


def _placeholders(configuration: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(dotted path, value) of each text value holding ``{{`` outside the native specs."""
    try:
        # orjson writes ``{`` and ``%`` as they are: text holding neither pair anywhere
        # (nearly every template) needs no walk, which costs ten times the dump
        dumped = orjson.dumps(configuration)
    except (TypeError, orjson.JSONEncodeError):
        dumped = b"{{"
    if b"{{" not in dumped and b"{%" not in dumped:
        return
    stack: list[tuple[str, Any]] = [
        (key, value) for key, value in configuration.items() if key not in _RENDERED_KEYS
    ]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "{{" in value or "{%" in value:
                yield path, value
        elif isinstance(value, dict):
            stack.extend((f"{path}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", v) for i, v in enumerate(value))


def _with_source(issue: ValidationIssueDTO) -> ValidationIssueDTO:
    source = RULE_SOURCES.get(issue.code)
    if source is None or issue.severity != Severity.ERROR:
        return issue
    return issue.model_copy(update={"message": f"{issue.message} (source: {source})"})


def effective_provider_api(api: str | None) -> tuple[str | None, str | None]:
    """``providerApi`` as ORB reads it, and the fleet type a legacy handler name implies:
    ``AutoScalingGroup`` is ``ASG``; ``EC2FleetInstant`` is ``EC2Fleet``, fleet ``instant``."""
    if api is None:
        return None, None
    return PROVIDER_API_ALIASES.get(api, (api, None))


def metadata_fleet_type(template: TemplateDTO) -> str | None:
    """ORB's ``metadata.fleet_type`` (or ``metadata.providerConfig.fleet_type``), which ORB
    uses when the template sets no ``fleetType``."""
    metadata = template.metadata or {}
    value = metadata.get("fleet_type")
    if not value and isinstance(metadata.get("providerConfig"), dict):
        value = metadata["providerConfig"].get("fleet_type")
    if isinstance(value, str) and value.strip().lower() in ("instant", "request", "maintain"):
        return value.strip().lower()
    return None


def _check_volume(config: AwsConfiguration, report: _Report) -> None:
    if config.iops is None:
        return
    if config.volume_type is None:
        report(
            "aws-iops-volume-type",
            "configuration.iops",
            "iops applies to gp3, io1 and io2 volumes, and this template names no volumeType "
            "(ORB's default is gp3; the AMI's may not be)",
            Severity.WARNING,
        )
    elif config.volume_type not in IOPS_VOLUME_TYPES:
        report(
            "aws-iops-volume-type",
            "configuration.iops",
            f"iops applies to gp3, io1 and io2 volumes, and this template has volumeType "
            f"'{config.volume_type}'",
        )


def _check_pricing(config: AwsConfiguration, api: str | None, report: _Report) -> None:
    price = config.price_type or "ondemand"
    # percentOnDemand is optional: IBM's default is 0 (all spot), as is ORB's.
    if config.pools_count is not None and config.allocation_strategy != "lowestPrice":
        strategy = config.allocation_strategy or "none"
        report(
            "aws-pools-count-strategy",
            "configuration.pools_count",
            f"poolsCount is used with allocationStrategy lowestPrice only (this template has "
            f"{strategy}), so AWS ignores it",
            Severity.WARNING,
        )
    if price == "ondemand":
        for name in SPOT_ONLY_FIELDS:
            if getattr(config, name) is not None:
                report(
                    "aws-spot-field-ignored",
                    f"configuration.{name}",
                    f"{_EXTERNAL[name]} is only used by spot capacity, and priceType is ondemand",
                    Severity.WARNING,
                )
    if price != "heterogeneous":
        for name in MIX_ONLY_FIELDS:
            if getattr(config, name) is not None:
                report(
                    "aws-on-demand-field-ignored",
                    f"configuration.{name}",
                    f"{_EXTERNAL[name]} is only used by priceType heterogeneous, and priceType "
                    f"is {price}",
                    Severity.WARNING,
                )
    if config.vm_types_priority and config.vm_types:
        unknown = sorted(set(config.vm_types_priority) - set(config.vm_types))
        if unknown:
            report(
                "aws-priority-unknown-type",
                "configuration.vm_types_priority",
                f"vmTypesPriority names {', '.join(unknown)}, which vmTypes does not list",
                Severity.WARNING,
            )
    if config.allocation_strategy == "prioritized" and price == "spot":
        report(
            "aws-allocation-strategy-unsupported",
            "configuration.allocation_strategy",
            "prioritized is an on-demand allocation strategy; spot capacity has no "
            "prioritized (use capacityOptimizedPrioritized)",
        )
    if api == "RunInstances" and price == "heterogeneous":
        report(
            "aws-price-type-unsupported",
            "configuration.price_type",
            "RunInstances cannot mix on-demand and spot capacity; use EC2Fleet, SpotFleet or "
            "ASG for priceType heterogeneous",
        )


def _check_api(
    config: AwsConfiguration, api: str | None, fleet_type: str | None, report: _Report
) -> None:
    if api is None:
        return
    fleet_types = FLEET_TYPES.get(api)
    if fleet_type is not None:
        if fleet_types is None and config.fleet_type is not None:
            report(
                "aws-fleet-type-ignored",
                "configuration.fleet_type",
                f"fleetType applies to EC2Fleet and SpotFleet; {api} ignores it",
                Severity.WARNING,
            )
        elif fleet_types is not None and fleet_type not in fleet_types:
            report(
                "aws-fleet-type-unsupported",
                "configuration.fleet_type",
                f"{api} has no fleetType '{fleet_type}' (it accepts {', '.join(fleet_types)})",
            )
    if config.allocation_strategy in UNSUPPORTED_SPOT_STRATEGIES.get(api, ()):
        report(
            "aws-allocation-strategy-unsupported",
            "configuration.allocation_strategy",
            f"{api} does not support allocationStrategy '{config.allocation_strategy}'",
        )
    if api == "RunInstances" and config.vm_types and len(config.vm_types) > 1:
        report(
            "aws-single-instance-type",
            "configuration.vm_types",
            f"RunInstances launches one instance type; vmTypes lists {len(config.vm_types)} "
            "and their weights are ignored (use EC2Fleet, SpotFleet or ASG)",
            Severity.WARNING,
        )
    spec_type = (config.provider_api_spec or {}).get("Type")
    if fleet_types and fleet_type and isinstance(spec_type, str) and spec_type != fleet_type:
        report(
            "aws-native-spec-fleet-type",
            "configuration.provider_api_spec",
            f"provider_api_spec says Type '{spec_type}' but fleetType is "
            f"'{fleet_type}'; ORB sends the native spec, so the fleet is '{spec_type}'",
            Severity.WARNING,
        )


def supported_features(template: TemplateDTO) -> list[str]:
    """The features one validated ``aws`` template uses, for ``supported_features``."""
    config = template.configuration
    price = config.get("price_type", "ondemand")
    features = []
    if price in ("ondemand", "heterogeneous"):
        features.append("on-demand")
    if price in ("spot", "heterogeneous") or config.get("spot_price"):
        features.append("spot")
    if price == "heterogeneous":
        features.append("on-demand-mix")
    if config.get("vm_types"):
        features.append("weighted-instance-types")
    if config.get("abis_instance_requirements"):
        features.append("attribute-based-instance-selection")
    if any(
        config.get(k)
        for k in ("launch_template_id", "launch_template_spec", "launch_template_spec_file")
    ):
        features.append("launch-template")
    if any(
        config.get(k)
        for k in (
            "provider_api_spec",
            "provider_api_spec_file",
            "launch_template_spec",
            "launch_template_spec_file",
        )
    ):
        features.append("native-spec")
    if len(config.get("subnet_ids") or ()) > 1:
        features.append("multi-subnet")
    if config.get("fleet_type"):
        features.append(f"fleet-{config['fleet_type']}")
    return features
