"""The ``configuration`` of an ``aws`` template: the IBM HostFactory / ORB fields, validated.

Field names are snake_case: the engine reads ``maxNumber``, ``max_number`` and ORB's
internal spellings through :data:`templar_aws.keystyle.HOSTFACTORY` before this model
sees them. Each field checks its own value; rules that relate several fields (an image
or a launch template is required, ``iops`` only with io1/io2, ...) live in
:mod:`templar_aws.rules` and are reported through the validation hook.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: The AWS APIs a template can provision through (the core ``provider_api`` field), as
#: ORB's ``ProviderApi`` names them.
PROVIDER_APIS = ("EC2Fleet", "SpotFleet", "ASG", "RunInstances", "MicroVM")
#: Other names of an API: ORB's aliases (``AutoScalingGroup``), and the handler names of
#: ORB's predecessor (``awsHandler: EC2FleetInstant``), which also say the fleet type.
PROVIDER_API_ALIASES: dict[str, tuple[str, str | None]] = {
    "AutoScalingGroup": ("ASG", None),
    "autoscalinggroup": ("ASG", None),
    "asg": ("ASG", None),
    "EC2FleetInstant": ("EC2Fleet", "instant"),
    "EC2FleetRequest": ("EC2Fleet", "request"),
    "EC2FleetMaintain": ("EC2Fleet", "maintain"),
    "SpotFleetRequest": ("SpotFleet", "request"),
    "SpotFleetMaintain": ("SpotFleet", "maintain"),
}
#: EBS volume types (``EbsBlockDevice.VolumeType``), and those that take provisioned IOPS.
VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard")
IOPS_VOLUME_TYPES = ("gp3", "io1", "io2")
#: Spot allocation strategies, in HostFactory's spelling.
SPOT_ALLOCATION_STRATEGIES = (
    "lowestPrice",
    "diversified",
    "capacityOptimized",
    "capacityOptimizedPrioritized",
    "priceCapacityOptimized",
)
#: On-demand allocation strategies, in HostFactory's spelling.
ON_DEMAND_ALLOCATION_STRATEGIES = ("lowestPrice", "prioritized")
#: Tag key prefixes kept for the system: AWS refuses ``aws:`` keys (EC2 tag restrictions)
#: and ORB refuses ``orb:`` keys (its Template model).
RESERVED_TAG_PREFIXES = ("aws:", "orb:")
#: The HostFactory attributes every template must define, and the kind of each known one.
#: Memory is ``nram`` (Symphony) or ``mem`` (LSF); any other resource (LSF: whatever
#: ``lsf.shared`` defines, such as ``awshost``) is a custom attribute of any kind.
REQUIRED_ATTRIBUTES = ("type", "ncpus")
MEMORY_ATTRIBUTES = ("nram", "mem")
ATTRIBUTE_KINDS = {
    "type": "String",
    "ncpus": "Numeric",
    "nram": "Numeric",
    "mem": "Numeric",
    "ncores": "Numeric",
    "nthreads": "Numeric",
    "rank": "Numeric",
    "priceInfo": "String",
}
#: The EC2 tenancies (``Placement.Tenancy``) and network interface types (``InterfaceType``).
TENANCIES = ("default", "dedicated", "host")
INTERFACE_TYPES = ("interface", "efa", "efa-only", "trunk")
#: Keys whose value may hold Jinja placeholders: ORB renders its native specs when it
#: provisions, so ``{{ ... }}`` there is expected; anywhere else it is a value never filled in.
NATIVE_SPEC_KEYS = ("provider_api_spec", "launch_template_spec", "provider_config", "metadata")

_HEX_ID = r"[0-9a-f]{8}(?:[0-9a-f]{9})?"
_AMI_ID = re.compile(rf"^ami-{_HEX_ID}$")
_SSM_PATH = re.compile(r"^/[A-Za-z0-9_.\-/]+$")
_SUBNET_ID = re.compile(rf"^subnet-{_HEX_ID}$")
_SECURITY_GROUP_ID = re.compile(rf"^sg-{_HEX_ID}$")
_LAUNCH_TEMPLATE_ID = re.compile(rf"^lt-{_HEX_ID}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_PROFILE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]+$")


def _fail(error_type: str, message: str, /, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(f"aws_{error_type}", message, context or None)


def _reject_bool(value: Any) -> Any:
    # pydantic reads true as 1 in lax mode; a boolean where a count belongs is a mistake.
    if isinstance(value, bool):
        raise _fail("int", "expected an integer, not a boolean")
    return value


def _placeholder(value: str) -> None:
    if "{{" in value or "{%" in value:
        raise _fail(
            "placeholder",
            "'{value}' is an unrendered template placeholder: fill in the value (only ORB's "
            "native specs are rendered)",
            value=value,
        )


def _matcher(pattern: re.Pattern[str], kind: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        _placeholder(value)
        if not pattern.match(value):
            raise _fail(kind, f"not {what}")
        return value

    return AfterValidator(check)


def _pattern(pattern: re.Pattern[str]) -> Any:
    """The pattern in the JSON Schema too, so that editors check it as you type."""
    return Field(json_schema_extra={"pattern": pattern.pattern})


def _comma_list(value: Any) -> Any:
    """``"a,b"`` and ``"a"`` become lists; so do list items ``["a,b"]`` (as ORB splits
    them); other lists are kept."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and any(isinstance(v, str) and "," in v for v in value):
        return [p.strip() for v in value for p in (v.split(",") if isinstance(v, str) else [v])]
    return value


def is_empty(value: Any) -> bool:
    """ORB's and IBM's "not set": an empty string, list or mapping."""
    return isinstance(value, (str, list, dict)) and len(value) == 0


def _spelling_key(value: str) -> str:
    return value.replace("-", "").replace("_", "").lower()


def _normalizer(choices: tuple[str, ...]) -> BeforeValidator:
    """Accept ``lowestPrice``, ``lowest-price``, ``lowest_price`` and ``LOWEST_PRICE`` alike."""
    table = {_spelling_key(choice): choice for choice in choices}

    def normalize(value: Any) -> Any:
        return table.get(_spelling_key(value), value) if isinstance(value, str) else value

    return BeforeValidator(normalize)


def _check_image_id(value: str) -> str:
    _placeholder(value)
    if _AMI_ID.match(value) or _SSM_PATH.match(value):
        return value
    raise _fail(
        "image_id",
        "not an AMI id (ami- and 8 or 17 hex digits) or an SSM parameter path such as "
        "/aws/service/ami-amazon-linux-latest/...",
    )


def _check_instance_types(value: str) -> str:
    _placeholder(value)
    types = [part.strip() for part in value.split(",")]
    for item in types:
        if not _INSTANCE_TYPE.match(item):
            raise _fail("instance_type", "'{value}' is not an EC2 instance type", value=item)
    return ",".join(types)


def _iam_checker(arn: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if arn.match(value) or (not value.startswith("arn:") and _IAM_NAME.match(value)):
            return value
        raise _fail("iam", f"not {what} ARN or name")

    return AfterValidator(check)


def _attribute_pair(value: Any) -> Any:
    """``["Numeric", 4]`` -> ``["Numeric", "4"]``: HostFactory writes every value as text."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(
            "attribute",
            'an attribute is a [kind, value] pair such as ["Numeric", "4"], not {value}',
            value=repr(value),
        )
    kind, raw = value
    if kind not in ("String", "Numeric", "Boolean"):
        raise _fail(
            "attribute",
            "attribute kind must be 'String', 'Numeric' or 'Boolean', not {kind}",
            kind=repr(kind),
        )
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _fail(
            "attribute", "attribute value must be text or a number, not {raw}", raw=repr(raw)
        )
    text = str(raw).strip()
    if kind == "Numeric":
        try:
            Decimal(text)
        except InvalidOperation:
            raise _fail("attribute", "'{text}' is not a number", text=text) from None
    elif kind == "Boolean" and text not in ("0", "1"):
        raise _fail("attribute", "a Boolean attribute is '0' or '1', not '{text}'", text=text)
    elif not text:
        raise _fail("attribute", "attribute value is empty")
    return [kind, text]


def _check_attributes(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in attributes]
    if not any(name in attributes for name in MEMORY_ATTRIBUTES):
        missing.append("nram (Symphony) or mem (LSF)")
    if missing:
        raise _fail(
            "attributes",
            "attributes must define {missing} (HostFactory matches demand on type, ncpus and "
            "memory; IBM Spectrum Symphony and LSF resource connector template reference)",
            missing=", ".join(missing),
        )
    for name, (kind, _) in attributes.items():
        expected = ATTRIBUTE_KINDS.get(name)
        if expected is not None and kind != expected:
            raise _fail(
                "attributes",
                "attribute '{name}' is {expected}, not {kind}",
                name=name,
                expected=expected,
                kind=kind,
            )
    return attributes


def _parse_tags(value: Any) -> Any:
    """``"k=v;k2=v2"`` (HostFactory), a mapping (ORB), or the JSON text of a mapping (what
    ``orb templates list`` prints) -> a mapping of text to text."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail("tags", "instanceTags starts with '{{' but is not a JSON object") from None
    if isinstance(value, str):
        tags: dict[str, str] = {}
        for part in value.split(";"):
            if not part.strip():
                continue
            key, sep, tag_value = part.partition("=")
            key = key.strip()
            if not sep:
                raise _fail(
                    "tags", "'{part}' is not key=value (write 'key1=value1;key2=value2')", part=part
                )
            if key in tags:
                raise _fail("tags", "tag '{key}' is given twice", key=key)
            tags[key] = tag_value.strip()
        return tags
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, tag_value in value.items():
            if isinstance(tag_value, bool):
                tag_value = "true" if tag_value else "false"
            elif isinstance(tag_value, (int, float)):
                tag_value = str(tag_value)
            out[str(key)] = tag_value
        return out
    return value


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not key:
            raise _fail("tags", "a tag key is empty")
        if len(key) > 128:
            raise _fail("tags", "tag key '{key}' is longer than 128 characters", key=key)
        if len(value) > 256:
            raise _fail("tags", "the value of tag '{key}' is longer than 256 characters", key=key)
        for prefix in RESERVED_TAG_PREFIXES:
            if key.lower().startswith(prefix):
                raise _fail(
                    "tags",
                    "tag key '{key}' uses the reserved prefix '{prefix}'",
                    key=key,
                    prefix=prefix,
                )
    return tags


def _launch_template_version(value: Any) -> int | str:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise _fail("launch_template_version", "a launch template version is 1 or more")
        return value
    if value in ("$Latest", "$Default"):
        return str(value)
    raise _fail("launch_template_version", "expected a version number, '$Latest' or '$Default'")


Count = Annotated[int, BeforeValidator(_reject_bool)]
InstanceType = Annotated[
    str, _matcher(_INSTANCE_TYPE, "instance_type", "an EC2 instance type"), _pattern(_INSTANCE_TYPE)
]
Weight = Annotated[Count, Field(ge=1)]
SubnetId = Annotated[
    str,
    _matcher(_SUBNET_ID, "subnet_id", "a subnet id (subnet- and 8 or 17 hex digits)"),
    _pattern(_SUBNET_ID),
]
SecurityGroupId = Annotated[
    str,
    _matcher(
        _SECURITY_GROUP_ID, "security_group_id", "a security group id (sg- and 8 or 17 hex digits)"
    ),
    _pattern(_SECURITY_GROUP_ID),
]
LaunchTemplateId = Annotated[
    str,
    _matcher(
        _LAUNCH_TEMPLATE_ID,
        "launch_template_id",
        "a launch template id (lt- and 8 or 17 hex digits)",
    ),
    _pattern(_LAUNCH_TEMPLATE_ID),
]
LaunchTemplateVersion = Annotated[
    int | str,
    PlainValidator(
        _launch_template_version,
        json_schema_input_type=Annotated[int, Field(ge=1)] | Literal["$Latest", "$Default"],
    ),
]
SubnetIds = Annotated[
    list[SubnetId],
    BeforeValidator(_comma_list, json_schema_input_type=str | list[SubnetId]),
    Field(min_length=1),
]
SecurityGroupIds = Annotated[
    list[SecurityGroupId],
    BeforeValidator(_comma_list, json_schema_input_type=str | list[SecurityGroupId]),
    Field(min_length=1),
]


AttributePair = Annotated[
    list[str],
    BeforeValidator(
        _attribute_pair,
        json_schema_input_type=tuple[Literal["String", "Numeric", "Boolean"], str | int | float],
    ),
]
HostFactoryAttributes = Annotated[dict[str, AttributePair], AfterValidator(_check_attributes)]
InstanceTags = Annotated[
    dict[str, str],
    BeforeValidator(_parse_tags, json_schema_input_type=str | dict[str, str | int | float | bool]),
    AfterValidator(_check_tags),
]


class IntegerRange(BaseModel):
    """A ``{min, max}`` range of attribute-based instance selection."""

    model_config = ConfigDict(extra="forbid")

    min: Count = Field(ge=0, validation_alias=AliasChoices("min", "Min"))
    max: Count | None = Field(default=None, ge=0, validation_alias=AliasChoices("max", "Max"))

    @model_validator(mode="after")
    def _ordered(self) -> IntegerRange:
        if self.max is not None and self.max < self.min:
            raise _fail("range", "max ({max}) is below min ({min})", max=self.max, min=self.min)
        return self


class InstanceRequirements(BaseModel):
    """ORB's ``abisInstanceRequirements``: EC2 attribute-based instance type selection.

    ``vcpu_count`` and ``memory_mib`` are required; every other key of the AWS
    ``InstanceRequirements`` structure is passed through as written.
    """

    model_config = ConfigDict(extra="allow")

    vcpu_count: IntegerRange = Field(
        validation_alias=AliasChoices("vcpu_count", "vcpuCount", "VCpuCount")
    )
    memory_mib: IntegerRange = Field(
        validation_alias=AliasChoices("memory_mib", "memoryMib", "MemoryMiB")
    )


class AwsConfiguration(BaseModel):
    """The provider configuration of an ``aws`` template (IBM HostFactory / ORB fields)."""

    model_config = ConfigDict(extra="forbid", title="AwsConfiguration")

    max_number: Count = Field(
        ge=-1, le=10000, description="Most hosts HostFactory may request from this template."
    )
    attributes: HostFactoryAttributes | None = Field(
        default=None,
        description="HostFactory attributes: type, ncpus and nram (Symphony) or mem (LSF) "
        "required; ncores, nthreads, rank, priceInfo and any custom resource optional; each a "
        '["String"|"Numeric"|"Boolean", value] pair. Derived from the instance type when absent.',
    )
    image_id: Annotated[str, AfterValidator(_check_image_id)] | None = Field(
        default=None, description="An AMI id (ami-...) or an SSM parameter path (/aws/service/...)."
    )
    subnet_ids: SubnetIds | None = Field(
        default=None,
        description="Subnets: one id, a comma-separated string or a list (subnetId or subnetIds).",
    )
    vm_type: Annotated[str, AfterValidator(_check_instance_types)] | None = Field(
        default=None, description="The instance type (or comma-separated types)."
    )
    vm_types: dict[InstanceType, Weight] | None = Field(
        default=None, description="Instance types and their weights (integers >= 1)."
    )
    vm_types_on_demand: dict[InstanceType, Weight] | None = Field(
        default=None, description="Instance types and weights for the on-demand part."
    )
    vm_types_priority: dict[InstanceType, Annotated[Count, Field(ge=0)]] | None = Field(
        default=None, description="Instance types and their priority (0 is the highest)."
    )
    price_type: (
        Annotated[
            Literal["ondemand", "spot", "heterogeneous", "reserved"],
            _normalizer(("ondemand", "spot", "heterogeneous", "reserved")),
        ]
        | None
    ) = Field(
        default=None,
        description="ondemand, spot, heterogeneous (a mix), or reserved (ORB's PriceType).",
    )
    max_spot_price: Annotated[float, BeforeValidator(_reject_bool), Field(gt=0)] | None = Field(
        default=None, description="Highest spot price per instance hour, in USD."
    )
    allocation_strategy: (
        Annotated[
            Literal[
                "lowestPrice",
                "diversified",
                "capacityOptimized",
                "capacityOptimizedPrioritized",
                "priceCapacityOptimized",
                "prioritized",
            ],
            _normalizer((*SPOT_ALLOCATION_STRATEGIES, "prioritized")),
        ]
        | None
    ) = Field(
        default=None,
        description="Allocation strategy (camelCase, hyphenated or snake_case); prioritized is "
        "an on-demand one (ORB's AWSAllocationStrategy).",
    )
    allocation_strategy_on_demand: (
        Annotated[
            Literal["lowestPrice", "prioritized"], _normalizer(ON_DEMAND_ALLOCATION_STRATEGIES)
        ]
        | None
    ) = Field(
        default=None, description="On-demand allocation strategy: lowestPrice or prioritized."
    )
    percent_on_demand: Annotated[Count, Field(ge=0, le=100)] | None = Field(
        default=None, description="Percentage of on-demand capacity in a heterogeneous template."
    )
    pools_count: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="Spot pools to spread over (lowestPrice strategy only)."
    )
    fleet_role: Annotated[str, _iam_checker(_ROLE_ARN, "an IAM role")] | None = Field(
        default=None, description="The IAM role of the Spot Fleet (ARN or name)."
    )
    fleet_type: (
        Annotated[
            Literal["instant", "request", "maintain"],
            _normalizer(("instant", "request", "maintain")),
        ]
        | None
    ) = Field(default=None, description="instant, request or maintain (SpotFleet: no instant).")
    spot_fleet_request_expiry: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="Minutes before an unfulfilled spot fleet request expires."
    )
    root_device_volume_size: Annotated[Count, Field(ge=1, le=16384)] | None = Field(
        default=None, description="Root volume size in GiB (1..16384)."
    )
    volume_type: (
        Annotated[
            Literal["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"],
            _normalizer(VOLUME_TYPES),
        ]
        | None
    ) = Field(default=None, description="Root volume type: gp2, gp3, io1, io2, st1, sc1, standard.")
    iops: Annotated[Count, Field(ge=100, le=256000)] | None = Field(
        default=None, description="Provisioned IOPS of the root volume (gp3, io1 and io2)."
    )
    instance_tags: InstanceTags | None = Field(
        default=None, description="Tags of the instances: 'k=v;k2=v2' or a mapping."
    )
    key_name: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="The EC2 key pair name."
    )
    security_group_ids: SecurityGroupIds | None = Field(
        default=None, description="Security group ids (sg-...)."
    )
    instance_profile: Annotated[str, _iam_checker(_PROFILE_ARN, "an instance profile")] | None = (
        Field(default=None, description="The IAM instance profile (ARN or name).")
    )
    user_data_script: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="User data script run at instance start (a path or the script; ORB's "
        "machine_bootstrap).",
    )
    launch_template_id: LaunchTemplateId | None = Field(
        default=None, description="An EC2 launch template id (lt-...)."
    )
    launch_template_version: LaunchTemplateVersion | None = Field(
        default=None, description="Launch template version: a number, $Latest or $Default."
    )
    abis_instance_requirements: InstanceRequirements | None = Field(
        default=None, description="Attribute-based instance selection (vcpu_count, memory_mib)."
    )
    provider_api_spec: dict[str, Any] | None = Field(
        default=None, description="ORB native spec: the AWS API request, inline (Jinja allowed)."
    )
    provider_api_spec_file: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB native spec: a file holding the AWS API request."
    )
    launch_template_spec: dict[str, Any] | None = Field(
        default=None, description="ORB native spec: launch template data, inline (Jinja allowed)."
    )
    launch_template_spec_file: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB native spec: a file holding the launch template data."
    )

    # --- IBM Spectrum Symphony / LSF resource connector (awsprov_templates.json) ---
    user_data: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="LSF: key=value pairs (key1=value1;key2=value2) handed to the instance's "
        "user data script; ORB's internal user_data is the script itself.",
    )
    spot_price: Annotated[float, BeforeValidator(_reject_bool), Field(gt=0)] | None = Field(
        default=None, description="LSF/Symphony: the bid price of a spot instance, USD per hour."
    )
    market_spot_price: Annotated[float, BeforeValidator(_reject_bool), Field(ge=0)] | None = Field(
        default=None, description="LSF: the market spot price the plugin last saw."
    )
    duration_in_hours: Annotated[Count, Field(ge=1, le=6)] | None = Field(
        default=None, description="LSF: duration of a Spot Block, 1..6 hours."
    )
    request_validity: Annotated[str, Field(pattern=r"^\d{1,3}:[0-5]\d$")] | None = Field(
        default=None, description="LSF: how long a spot request stays valid, HH:MM."
    )
    placement_group_name: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="LSF/Symphony: the EC2 placement group of the instances."
    )
    tenancy: Annotated[Literal["default", "dedicated", "host"], _normalizer(TENANCIES)] | None = (
        Field(default=None, description="EC2 tenancy: default, dedicated or host.")
    )
    ebs_optimized: bool | None = Field(
        default=None, description="LSF/Symphony: launch EBS-optimized instances."
    )
    interface_type: (
        Annotated[Literal["interface", "efa", "efa-only", "trunk"], _normalizer(INTERFACE_TYPES)]
        | None
    ) = Field(default=None, description="Network interface type: interface, efa, efa-only.")
    efa_count: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="LSF: how many EFA network interfaces to attach."
    )
    priority: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="LSF/Symphony: the template's priority among templates."
    )
    ttl: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="LSF: time to live of the instances, minutes."
    )
    machine_count: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="LSF: machines requested (written by the plugin in requests)."
    )
    ec2_fleet_config: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="LSF: a file holding the EC2 Fleet request (JSON)."
    )
    on_demand_target_capacity_ratio: (
        Annotated[float, BeforeValidator(_reject_bool), Field(ge=0, le=1)] | None
    ) = Field(default=None, description="LSF EC2 Fleet: the on-demand share, 0..1.")

    # --- Open Resource Broker (Template / AWSTemplate) ---
    network_zones: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, description="ORB: network zones (subnets, zones) in its generic model."
    )
    public_ip_assignment: bool | None = Field(
        default=None, description="ORB: give the instances a public IP address."
    )
    storage_encryption: bool | None = Field(
        default=None, description="ORB: encrypt the root volume."
    )
    encryption_key: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB: the KMS key of the encrypted volume."
    )
    throughput: Annotated[Count, Field(ge=125, le=2000)] | None = Field(
        default=None, description="ORB: gp3 volume throughput, MiB/s (125..2000)."
    )
    monitoring_enabled: bool | None = Field(
        default=None, description="ORB: detailed CloudWatch monitoring."
    )
    context: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB: the EC2 Fleet Context (reserved for AWS use)."
    )
    provider_config: dict[str, Any] | None = Field(
        default=None, description="ORB: provider settings carried by the template DTO."
    )
    # ORB's MicroVM API (providerApi: MicroVM); ORB keeps these under metadata.
    image_version: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB MicroVM: the image version."
    )
    execution_role_arn: Annotated[str, _iam_checker(_ROLE_ARN, "an IAM role")] | None = Field(
        default=None, description="ORB MicroVM: the execution role."
    )
    idle_policy: dict[str, Any] | str | None = Field(
        default=None, description="ORB MicroVM: what to do with an idle MicroVM."
    )
    maximum_duration_in_seconds: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="ORB MicroVM: the longest a MicroVM runs, seconds."
    )
    ingress_network_connectors: list[Any] | None = Field(
        default=None, description="ORB MicroVM: inbound network connectors."
    )
    egress_network_connectors: list[Any] | None = Field(
        default=None, description="ORB MicroVM: outbound network connectors."
    )
    run_hook_payload: dict[str, Any] | str | None = Field(
        default=None, description="ORB MicroVM: the payload of the run hook."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_means_not_set(cls, data: Any) -> Any:
        # ORB reads an empty string, list or mapping as "not set" (its own files write
        # subnetIds: [] and keyName: ""), and so does IBM's plugin for its optional fields
        # (StringUtils.isNullOrEmpty before each is sent to EC2).
        if isinstance(data, dict) and any(is_empty(v) for v in data.values()):
            return {k: v for k, v in data.items() if not is_empty(v)}
        return data
