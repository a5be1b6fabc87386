"""The ``hostfactory`` key style: HostFactory camelCase in, HostFactory documents out."""

from __future__ import annotations

from typing import Any

from templar import CamelCaseKeyStyle, TemplateDTO
from templar.providers import snake_to_camel

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


def _present(value: Any) -> bool:
    return value is not None and value != {} and value != [] and value != ""


class HostFactoryKeyStyle(CamelCaseKeyStyle):
    """Reads HostFactory camelCase, snake_case and ORB's internal names; exports the
    entries of HostFactory's ``getAvailableTemplates`` document.

    The export is in the dialect of IBM HostFactory's ``awsprov_templates.json``:
    ``templateId``, ``maxNumber`` and ``attributes`` first and always present, subnets
    as a comma-separated ``subnetId``, ``instanceTags`` as ``key=value;key2=value2``
    (kept as a mapping when a key or value holds ``=`` or ``;``), empty values dropped.
    Written to ``awsprov_templates.json``, the export reads back to the same template.
    """

    def export_template(self, template: TemplateDTO) -> dict[str, Any]:
        """One template as a ``getAvailableTemplates`` entry."""
        configuration = dict(template.configuration)
        out: dict[str, Any] = {
            "templateId": template.template_id,
            "maxNumber": configuration.pop("max_number", None),
            "attributes": configuration.pop("attributes", None) or {},
        }
        for key, value in configuration.items():
            if not _present(value):
                continue
            if key == "subnet_ids":
                value = ",".join(value)
            elif key == "instance_tags" and _joinable(value):
                value = ";".join(f"{k}={v}" for k, v in value.items())
            out[self.to_external(key)] = value
        core = template.model_dump(mode="json", include=set(_EXPORTED_CORE_FIELDS))
        for field in _EXPORTED_CORE_FIELDS:
            if _present(core.get(field)):
                out[snake_to_camel(field)] = core[field]
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
        # ORB's internal template format (its templates.json).
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
        "user_data": "user_data_script",
    },
)
