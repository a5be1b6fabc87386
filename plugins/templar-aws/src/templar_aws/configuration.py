"""The ``configuration`` of an ``aws`` template: the IBM HostFactory / ORB fields, validated.

Field names are snake_case: the engine reads ``maxNumber``, ``max_number`` and ORB's
internal spellings through :data:`templar_aws.keystyle.HOSTFACTORY` before this model
sees them. Each field checks its own value with the types of :mod:`templar_aws.values`;
rules that relate several fields (an image or a launch template is required, ``iops``
only with gp3/io1/io2, ...) live in :mod:`templar_aws.rules` and are reported through
the validation hook.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from templar_aws.values import (
    INTERFACE_TYPES,
    ON_DEMAND_ALLOCATION_STRATEGIES,
    PROFILE_ARN,
    ROLE_ARN,
    SPOT_ALLOCATION_STRATEGIES,
    TENANCIES,
    VOLUME_TYPES,
    Count,
    HostFactoryAttributes,
    InstanceTags,
    InstanceType,
    LaunchTemplateId,
    LaunchTemplateVersion,
    SecurityGroupIds,
    SubnetIds,
    Weight,
    check_image_id,
    check_instance_types,
    fail,
    iam_checker,
    is_empty,
    normalizer,
    reject_bool,
)


class IntegerRange(BaseModel):
    """A ``{min, max}`` range of attribute-based instance selection."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    min: Count = Field(ge=0, validation_alias=AliasChoices("min", "Min"))
    max: Count | None = Field(default=None, ge=0, validation_alias=AliasChoices("max", "Max"))

    @model_validator(mode="after")
    def _ordered(self) -> IntegerRange:
        if self.max is not None and self.max < self.min:
            raise fail("range", "max ({max}) is below min ({min})", max=self.max, min=self.min)
        return self


class InstanceRequirements(BaseModel):
    """ORB's ``abisInstanceRequirements``: EC2 attribute-based instance type selection.

    ``vcpu_count`` and ``memory_mib`` are required; every other key of the AWS
    ``InstanceRequirements`` structure is passed through as written.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    vcpu_count: IntegerRange = Field(
        validation_alias=AliasChoices("vcpu_count", "vcpuCount", "VCpuCount")
    )
    memory_mib: IntegerRange = Field(
        validation_alias=AliasChoices("memory_mib", "memoryMib", "MemoryMiB")
    )


class AwsConfiguration(BaseModel):
    """The provider configuration of an ``aws`` template (IBM HostFactory / ORB fields)."""

    model_config = ConfigDict(extra="forbid", title="AwsConfiguration", defer_build=True)

    max_number: Count = Field(
        ge=-1, le=10000, description="Most hosts HostFactory may request from this template."
    )
    attributes: HostFactoryAttributes | None = Field(
        default=None,
        description="HostFactory attributes: type, ncpus and nram (Symphony) or mem (LSF) "
        "required; ncores, nthreads, rank, priceInfo and any custom resource optional; each a "
        '["String"|"Numeric"|"Boolean", value] pair. Derived from the instance type when absent.',
    )
    image_id: Annotated[str, AfterValidator(check_image_id)] | None = Field(
        default=None, description="An AMI id (ami-...) or an SSM parameter path (/aws/service/...)."
    )
    subnet_ids: SubnetIds | None = Field(
        default=None,
        description="Subnets: one id, a comma-separated string or a list (subnetId or subnetIds).",
    )
    vm_type: Annotated[str, AfterValidator(check_instance_types)] | None = Field(
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
            normalizer(("ondemand", "spot", "heterogeneous", "reserved")),
        ]
        | None
    ) = Field(
        default=None,
        description="ondemand, spot, heterogeneous (a mix), or reserved (ORB's PriceType).",
    )
    max_spot_price: Annotated[float, BeforeValidator(reject_bool), Field(gt=0)] | None = Field(
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
            normalizer((*SPOT_ALLOCATION_STRATEGIES, "prioritized")),
        ]
        | None
    ) = Field(
        default=None,
        description="Allocation strategy (camelCase, hyphenated or snake_case); prioritized is "
        "an on-demand one (ORB's AWSAllocationStrategy).",
    )
    allocation_strategy_on_demand: (
        Annotated[
            Literal["lowestPrice", "prioritized"], normalizer(ON_DEMAND_ALLOCATION_STRATEGIES)
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
    fleet_role: Annotated[str, iam_checker(ROLE_ARN, "an IAM role")] | None = Field(
        default=None, description="The IAM role of the Spot Fleet (ARN or name)."
    )
    fleet_type: (
        Annotated[
            Literal["instant", "request", "maintain"],
            normalizer(("instant", "request", "maintain")),
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
            normalizer(VOLUME_TYPES),
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
    instance_profile: Annotated[str, iam_checker(PROFILE_ARN, "an instance profile")] | None = (
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
    spot_price: Annotated[float, BeforeValidator(reject_bool), Field(gt=0)] | None = Field(
        default=None, description="LSF/Symphony: the bid price of a spot instance, USD per hour."
    )
    market_spot_price: Annotated[float, BeforeValidator(reject_bool), Field(ge=0)] | None = Field(
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
    tenancy: Annotated[Literal["default", "dedicated", "host"], normalizer(TENANCIES)] | None = (
        Field(default=None, description="EC2 tenancy: default, dedicated or host.")
    )
    ebs_optimized: bool | None = Field(
        default=None, description="LSF/Symphony: launch EBS-optimized instances."
    )
    interface_type: (
        Annotated[Literal["interface", "efa", "efa-only", "trunk"], normalizer(INTERFACE_TYPES)]
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
        Annotated[float, BeforeValidator(reject_bool), Field(ge=0, le=1)] | None
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
    execution_role_arn: Annotated[str, iam_checker(ROLE_ARN, "an IAM role")] | None = Field(
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
        if isinstance(data, dict):
            # containment tests run in C; only text, lists and mappings equal these
            values = data.values()
            if "" in values or [] in values or {} in values:
                return {k: v for k, v in data.items() if not is_empty(v)}
        return data
