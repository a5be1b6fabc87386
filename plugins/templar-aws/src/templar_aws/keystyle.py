"""The ``hostfactory`` key style: HostFactory camelCase in, HostFactory documents out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from templar import CamelCaseKeyStyle, TemplateDTO
from templar.providers import snake_to_camel

from templar_aws.instance_types import derived_attributes
from templar_aws.rules import effective_provider_api, metadata_fleet_type

#: Core fields a HostFactory document carries besides the configuration.
_EXPORTED_CORE_FIELDS = (
    "name",
    "description",
    "provider_api",
    "provider_type",
    "provider_name",
    "created_at",
    "updated_at",
)

#: Those fields and their HostFactory spelling, worked out once.
_EXPORTED_CORE_KEYS = tuple((name, snake_to_camel(name)) for name in _EXPORTED_CORE_FIELDS)


def _present(value: Any) -> bool:
    return value is not None and value != {} and value != [] and value != ""


@dataclass(frozen=True)
class HostFactoryKeyStyle(CamelCaseKeyStyle):
    """Reads HostFactory camelCase, snake_case and ORB's internal names; exports the
    entries of HostFactory's ``getAvailableTemplates`` document.

    The export is in the dialect of IBM HostFactory's ``awsprov_templates.json``:
    ``templateId``, ``maxNumber`` and ``attributes`` first, subnets
    as a comma-separated ``subnetId``, ``instanceTags`` as ``key=value;key2=value2``
    (kept as a mapping when a key or value holds ``=`` or ``;``), empty values dropped.
    Written to ``awsprov_templates.json``, the export reads back to the same template, with
    what the export fills in (derived ``attributes``, ORB's fleet type) written out.
    """

    #: key as written -> canonical name; every key of every layer comes through here.
    _canonical: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    #: canonical name -> HostFactory spelling; every key of every exported template.
    _external: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def to_canonical(self, key: str) -> str:
        """See :meth:`templar.KeyStyle.to_canonical` (memoised: the answer never changes)."""
        known = self._canonical.get(key)
        if known is None:
            known = self._canonical[key] = super().to_canonical(key)
        return known

    def to_external(self, key: str) -> str:
        """See :meth:`templar.KeyStyle.to_external` (memoised: the answer never changes)."""
        known = self._external.get(key)
        if known is None:
            known = self._external[key] = super().to_external(key)
        return known

    def export_template(self, template: TemplateDTO) -> dict[str, Any]:
        """One template as a ``getAvailableTemplates`` entry.

        ``attributes`` is never empty: a template without them gets those ORB derives
        from its instance type (:func:`templar_aws.instance_types.derived_attributes`),
        and one with no instance type either is left without the key (its validation
        reports ``aws-attributes-missing``). ``providerApi`` and ``fleetType`` are the ones
        ORB uses: ``AutoScalingGroup`` is ``ASG``, a legacy handler name such as
        ``EC2FleetInstant`` gives its API and fleet type, and ``metadata.fleet_type`` /
        ``metadata.percent_on_demand`` / ``metadata.fleet_role`` fill a missing ``fleetType`` /
        ``percentOnDemand`` / ``fleetRole``, as ORB's ``AWSTemplate`` promotes them.
        """
        configuration = dict(template.configuration)
        attributes = configuration.pop("attributes", None) or derived_attributes(configuration)
        out: dict[str, Any] = {
            "templateId": template.template_id,
            "maxNumber": configuration.pop("max_number", None),
        }
        if attributes:
            out["attributes"] = attributes
        api, handler_fleet_type = effective_provider_api(template.provider_api)
        fleet_type = metadata_fleet_type(template) or handler_fleet_type
        if fleet_type and not configuration.get("fleet_type"):
            configuration["fleet_type"] = fleet_type
        metadata = template.metadata or {}
        percent = metadata.get("percent_on_demand")
        if configuration.get("percent_on_demand") is None and isinstance(percent, int):
            configuration["percent_on_demand"] = percent
        role = metadata.get("fleet_role")
        if not configuration.get("fleet_role") and isinstance(role, str) and role:
            configuration["fleet_role"] = role
        external = self._external
        for key, value in configuration.items():
            # _present, inline: this loop runs for every key of every exported template
            if value is None or (isinstance(value, (dict, list, str)) and not value):
                continue
            if key == "subnet_ids":
                value = ",".join(value)
            elif key == "instance_tags" and _joinable(value):
                value = ";".join(f"{k}={v}" for k, v in value.items())
            out[external.get(key) or self.to_external(key)] = value
        # the core fields as JSON has them: only the datetimes need pydantic's serialiser
        core = {name: getattr(template, name) for name in _EXPORTED_CORE_FIELDS}
        if core["created_at"] is not None or core["updated_at"] is not None:
            core.update(template.model_dump(mode="json", include={"created_at", "updated_at"}))
        core["provider_api"] = api
        for name, external_name in _EXPORTED_CORE_KEYS:
            if _present(core[name]):
                out[external_name] = core[name]
        return out


def _joinable(tags: dict[str, str]) -> bool:
    return not any("=" in k or ";" in k or ";" in v for k, v in tags.items())


#: The ``aws`` provider's key style, named ``hostfactory`` (``templates list --style``).
HOSTFACTORY = HostFactoryKeyStyle(
    name="hostfactory",
    overrides={
        # HostFactory's classic key is singular; subnetIds (ORB) reads the same.
        "subnet_ids": "subnetId",
        # ORB writes its native-spec keys in snake_case even in camelCase files.
        "provider_api_spec": "provider_api_spec",
        "provider_api_spec_file": "provider_api_spec_file",
        "launch_template_spec": "launch_template_spec",
        "launch_template_spec_file": "launch_template_spec_file",
    },
    aliases={
        "subnet_id": "subnet_ids",
        # ORB's tags are the instance tags (Template.tags; HostFactory's instanceTags).
        "tags": "instance_tags",
        # ORB's internal template format (its templates.json), older names.
        "max_instances": "max_number",
        "instance_type": "vm_type",
        "instance_types": "vm_types",
        "instance_types_ondemand": "vm_types_on_demand",
        "instance_types_priority": "vm_types_priority",
        "max_price": "max_spot_price",
        "allocation_strategy_ondemand": "allocation_strategy_on_demand",
        "root_volume_size": "root_device_volume_size",
        "root_volume_type": "volume_type",
        "root_volume_iops": "iops",
        # ORB's current names (orb.domain.template.Template, AWSTemplate): machine_*.
        "max_machines": "max_number",
        "machine_image": "image_id",
        "machine_type": "vm_type",
        "aws_instance_type": "vm_type",
        "machine_types": "vm_types",
        "machine_types_ondemand": "vm_types_on_demand",
        "machine_types_priority": "vm_types_priority",
        "machine_disk_size_gb": "root_device_volume_size",
        "machine_disk_type": "volume_type",
        "machine_ssh_key": "key_name",
        "machine_bootstrap": "user_data_script",
        "machine_role": "instance_profile",
    },
)
