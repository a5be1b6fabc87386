"""Rules that relate several fields of an ``aws`` template, and its supported features.

Each rule has a stable ``code`` (``aws-...``) that tools may match on; the README lists
them. Messages name keys in HostFactory's spelling, which is how most files write them;
``field`` is the canonical dotted path (``configuration.iops``).
"""

from __future__ import annotations

from typing import Protocol

from templar import Severity, TemplateDTO, ValidationIssueDTO
from templar.errors import did_you_mean

from templar_aws.configuration import PROVIDER_APIS, AwsConfiguration

#: APIs whose fleets have a type, and the types each accepts.
FLEET_TYPES = {"EC2Fleet": ("instant", "request", "maintain"), "SpotFleet": ("request", "maintain")}
#: Spot allocation strategies an API does not accept (ASG has no ``diversified``).
UNSUPPORTED_SPOT_STRATEGIES = {"ASG": ("diversified",)}
#: Fields used only by spot capacity, and only by the on-demand part of a mix.
SPOT_ONLY_FIELDS = ("max_spot_price", "pools_count", "spot_fleet_request_expiry")
MIX_ONLY_FIELDS = ("percent_on_demand", "vm_types_on_demand")


class _Report(Protocol):
    def __call__(
        self, code: str, field: str, message: str, severity: Severity = Severity.ERROR
    ) -> None: ...


_EXTERNAL = {
    "max_spot_price": "maxSpotPrice",
    "pools_count": "poolsCount",
    "spot_fleet_request_expiry": "spotFleetRequestExpiry",
    "percent_on_demand": "percentOnDemand",
    "vm_types_on_demand": "vmTypesOnDemand",
}


def check_template(template: TemplateDTO) -> list[ValidationIssueDTO]:
    """Every cross-field issue of one validated ``aws`` template."""
    config = AwsConfiguration.model_validate(template.configuration)
    issues: list[ValidationIssueDTO] = []

    def report(code: str, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        issues.append(
            ValidationIssueDTO(code=code, severity=severity, message=message, field=field)
        )

    api = template.provider_api
    if api is not None and api not in PROVIDER_APIS:
        report(
            "aws-provider-api-invalid",
            "provider_api",
            f"providerApi '{api}' is not one of {', '.join(PROVIDER_APIS)}"
            + did_you_mean(api, PROVIDER_APIS),
        )
        api = None

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
    if config.vm_type and config.vm_types:
        report(
            "aws-instance-type-conflict",
            "configuration.vm_types",
            "both vmType and vmTypes are set; keep one (a higher layer can unset the other "
            "with null)",
        )
    if config.launch_template_version is not None and not config.launch_template_id:
        report(
            "aws-launch-template-version-without-id",
            "configuration.launch_template_version",
            "launchTemplateVersion is set but launchTemplateId is not",
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

    if not config.attributes:
        report(
            "aws-attributes-missing",
            "configuration.attributes",
            "no attributes: HostFactory needs type, ncpus and nram to match demand to this "
            "template ('templates list --style hostfactory' prints empty attributes)",
            Severity.WARNING,
        )
    _check_volume(config, report)
    _check_pricing(config, api, report)
    _check_api(config, api, report)
    return issues


def _check_volume(config: AwsConfiguration, report: _Report) -> None:
    if config.iops is not None and config.volume_type not in ("io1", "io2"):
        volume = f"volumeType '{config.volume_type}'" if config.volume_type else "no volumeType"
        report(
            "aws-iops-volume-type",
            "configuration.iops",
            f"iops applies to io1 and io2 volumes only, and this template has {volume}",
        )


def _check_pricing(config: AwsConfiguration, api: str | None, report: _Report) -> None:
    price = config.price_type or "ondemand"
    if price == "heterogeneous" and config.percent_on_demand is None:
        report(
            "aws-percent-on-demand-required",
            "configuration.percent_on_demand",
            "priceType heterogeneous needs percentOnDemand (0..100), the on-demand share",
        )
    if config.pools_count is not None and config.allocation_strategy != "lowestPrice":
        strategy = config.allocation_strategy or "none"
        report(
            "aws-pools-count-strategy",
            "configuration.pools_count",
            f"poolsCount applies to allocationStrategy lowestPrice only (this template has {strategy})",
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
    if api == "RunInstances" and price == "heterogeneous":
        report(
            "aws-price-type-unsupported",
            "configuration.price_type",
            "RunInstances cannot mix on-demand and spot capacity; use EC2Fleet, SpotFleet or "
            "ASG for priceType heterogeneous",
        )


def _check_api(config: AwsConfiguration, api: str | None, report: _Report) -> None:
    if api is None:
        return
    fleet_types = FLEET_TYPES.get(api)
    if config.fleet_type is not None:
        if fleet_types is None:
            report(
                "aws-fleet-type-ignored",
                "configuration.fleet_type",
                f"fleetType applies to EC2Fleet and SpotFleet; {api} ignores it",
                Severity.WARNING,
            )
        elif config.fleet_type not in fleet_types:
            report(
                "aws-fleet-type-unsupported",
                "configuration.fleet_type",
                f"{api} has no fleetType '{config.fleet_type}' (it accepts "
                f"{', '.join(fleet_types)})",
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
    if (
        fleet_types
        and config.fleet_type
        and isinstance(spec_type, str)
        and spec_type != config.fleet_type
    ):
        report(
            "aws-native-spec-fleet-type",
            "configuration.provider_api_spec",
            f"provider_api_spec says Type '{spec_type}' but fleetType is "
            f"'{config.fleet_type}'; ORB sends the native spec, so the fleet is '{spec_type}'",
            Severity.WARNING,
        )


def supported_features(template: TemplateDTO) -> list[str]:
    """The features one validated ``aws`` template uses, for ``supported_features``."""
    config = template.configuration
    price = config.get("price_type", "ondemand")
    features = []
    if price in ("ondemand", "heterogeneous"):
        features.append("on-demand")
    if price in ("spot", "heterogeneous"):
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
