"""What ORB ships and names: its config file names and the packaged defaults beneath them.

Kept apart from the reading so that the file storage can tell ORB's config files from
template files without reading any of them.
"""

from __future__ import annotations

from typing import Any

#: ORB's own config file; a config dir holding it (and no ``templar.yaml``) is an ORB dir.
CONFIG_FILE = "config.json"
#: The copy of ORB's packaged defaults that ``orb init`` writes beside ``config.json``.
DEFAULTS_FILE = "default_config.json"
#: The extensions a template file named by an ORB pattern may have (ORB itself reads JSON).
TEMPLATE_EXTENSIONS = ("json", "yaml", "yml")
#: Label of ORB's packaged defaults in provenance: they are in no file of the config dir.
PACKAGED = "ORB packaged defaults"

#: What ORB 1.8.5 ships beneath every config.json, reduced to what decides templates:
#: ``orb/config/default_config.json`` (Apache-2.0, finos/open-resource-broker).
PACKAGED_DEFAULT_CONFIG: dict[str, Any] = {
    "scheduler": {"type": "default"},
    "provider": {"providers": [], "provider_defaults": {}},
    "template": {
        "max_number": 10,
        "filename_patterns": {
            "provider_specific": "{provider_name}_templates.json",
            "provider_type": "{provider_type}_templates.json",
            "generic": "templates.json",
        },
        "default_price_type": "ondemand",
    },
}
#: ``orb/providers/aws/config/aws_defaults.json`` of ORB 1.8.5, reduced likewise: ORB
#: merges it over ``default_config.json``, so without ``provider.providers`` in
#: ``config.json`` ORB has one instance, ``aws-default``.
PACKAGED_PROVIDER_DEFAULTS: dict[str, Any] = {
    "provider": {
        "providers": [{"name": "aws-default", "type": "aws", "enabled": True}],
        "provider_defaults": {
            "aws": {
                "template_defaults": {
                    "machine_image": "/aws/service/ami-amazon-linux-latest/"
                    "al2023-ami-kernel-6.1-x86_64",
                    "machine_type": "t2.micro",
                    "machine_ssh_key": "",
                    "provider_api": "EC2Fleet",
                    "price_type": "ondemand",
                    "tags": {"Environment": "development", "Project": "hostfactory"},
                }
            }
        },
    }
}
#: ``template.*`` keys ORB applies to every template, and the template field each sets.
GLOBAL_DEFAULT_KEYS = {
    "max_number": "max_number",
    "default_price_type": "price_type",
    "default_provider_api": "provider_api",
}
#: The keys of ``template.filename_patterns``, most specific first.
PATTERN_KEYS = ("provider_specific", "provider_type", "generic")
#: The placeholders a filename pattern may hold, and the provider entry field each is.
FIELD_OF_PLACEHOLDER = {"provider_name": "name", "provider_type": "type"}
