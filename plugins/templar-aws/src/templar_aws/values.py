"""The values of ``aws`` fields: AWS ids, instance types, HostFactory attributes, tags.

Each annotated type checks one value and says what is wrong with it in the words of the
file's author; :mod:`templar_aws.configuration` puts them together into the model.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
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
#: An IAM role ARN, and an instance profile ARN.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
PROFILE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]+$")


def fail(error_type: str, message: str, /, **context: Any) -> PydanticCustomError:
    """A pydantic error of type ``aws_{error_type}`` whose message is shown as is."""
    return PydanticCustomError(f"aws_{error_type}", message, context or None)


def reject_bool(value: Any) -> Any:
    """Refuse a boolean where a count belongs (pydantic would read true as 1)."""
    # pydantic reads true as 1 in lax mode; a boolean where a count belongs is a mistake.
    if isinstance(value, bool):
        raise fail("int", "expected an integer, not a boolean")
    return value


def _placeholder(value: str) -> None:
    if "{{" in value or "{%" in value:
        raise fail(
            "placeholder",
            "'{value}' is an unrendered template placeholder: fill in the value (only ORB's "
            "native specs are rendered)",
            value=value,
        )


def _matcher(pattern: re.Pattern[str], kind: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        _placeholder(value)
        if not pattern.match(value):
            raise fail(kind, f"not {what}")
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


def normalizer(choices: tuple[str, ...]) -> BeforeValidator:
    """Accept ``lowestPrice``, ``lowest-price``, ``lowest_price`` and ``LOWEST_PRICE`` alike."""
    table = {_spelling_key(choice): choice for choice in choices}

    def normalize(value: Any) -> Any:
        return table.get(_spelling_key(value), value) if isinstance(value, str) else value

    return BeforeValidator(normalize)


def check_image_id(value: str) -> str:
    """An AMI id or an SSM parameter path, else an ``aws_image_id`` error."""
    _placeholder(value)
    if _AMI_ID.match(value) or _SSM_PATH.match(value):
        return value
    raise fail(
        "image_id",
        "not an AMI id (ami- and 8 or 17 hex digits) or an SSM parameter path such as "
        "/aws/service/ami-amazon-linux-latest/...",
    )


def check_instance_types(value: str) -> str:
    """One instance type or comma-separated ones, each checked."""
    _placeholder(value)
    types = [part.strip() for part in value.split(",")]
    for item in types:
        if not _INSTANCE_TYPE.match(item):
            raise fail("instance_type", "'{value}' is not an EC2 instance type", value=item)
    return ",".join(types)


def iam_checker(arn: re.Pattern[str], what: str) -> AfterValidator:
    """A validator accepting an IAM ARN matching ``arn`` or a plain IAM name."""

    def check(value: str) -> str:
        if arn.match(value) or (not value.startswith("arn:") and _IAM_NAME.match(value)):
            return value
        raise fail("iam", f"not {what} ARN or name")

    return AfterValidator(check)


def _attribute_pair(value: Any) -> Any:
    """``["Numeric", 4]`` -> ``["Numeric", "4"]``: HostFactory writes every value as text."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise fail(
            "attribute",
            'an attribute is a [kind, value] pair such as ["Numeric", "4"], not {value}',
            value=repr(value),
        )
    kind, raw = value
    if kind not in ("String", "Numeric", "Boolean"):
        raise fail(
            "attribute",
            "attribute kind must be 'String', 'Numeric' or 'Boolean', not {kind}",
            kind=repr(kind),
        )
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise fail(
            "attribute", "attribute value must be text or a number, not {raw}", raw=repr(raw)
        )
    text = str(raw).strip()
    if kind == "Numeric":
        try:
            Decimal(text)
        except InvalidOperation:
            raise fail("attribute", "'{text}' is not a number", text=text) from None
    elif kind == "Boolean" and text not in ("0", "1"):
        raise fail("attribute", "a Boolean attribute is '0' or '1', not '{text}'", text=text)
    elif not text:
        raise fail("attribute", "attribute value is empty")
    return [kind, text]


def _check_attributes(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in attributes]
    if not any(name in attributes for name in MEMORY_ATTRIBUTES):
        missing.append("nram (Symphony) or mem (LSF)")
    if missing:
        raise fail(
            "attributes",
            "attributes must define {missing} (HostFactory matches demand on type, ncpus and "
            "memory; IBM Spectrum Symphony and LSF resource connector template reference)",
            missing=", ".join(missing),
        )
    for name, (kind, _) in attributes.items():
        expected = ATTRIBUTE_KINDS.get(name)
        if expected is not None and kind != expected:
            raise fail(
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
            raise fail("tags", "instanceTags starts with '{{' but is not a JSON object") from None
    if isinstance(value, str):
        tags: dict[str, str] = {}
        for part in value.split(";"):
            if not part.strip():
                continue
            key, sep, tag_value = part.partition("=")
            key = key.strip()
            if not sep:
                raise fail(
                    "tags", "'{part}' is not key=value (write 'key1=value1;key2=value2')", part=part
                )
            if key in tags:
                raise fail("tags", "tag '{key}' is given twice", key=key)
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
            raise fail("tags", "a tag key is empty")
        if len(key) > 128:
            raise fail("tags", "tag key '{key}' is longer than 128 characters", key=key)
        if len(value) > 256:
            raise fail("tags", "the value of tag '{key}' is longer than 256 characters", key=key)
        for prefix in RESERVED_TAG_PREFIXES:
            if key.lower().startswith(prefix):
                raise fail(
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
            raise fail("launch_template_version", "a launch template version is 1 or more")
        return value
    if value in ("$Latest", "$Default"):
        return str(value)
    raise fail("launch_template_version", "expected a version number, '$Latest' or '$Default'")


Count = Annotated[int, BeforeValidator(reject_bool)]
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
