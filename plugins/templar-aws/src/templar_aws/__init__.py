"""Templar provider plugin for AWS: IBM HostFactory and Open Resource Broker templates.

The public API is what this module exports; the plugin itself is
:mod:`templar_aws.plugin`, loaded through the ``templar`` entry-point group.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from templar_aws.configuration import AwsConfiguration, InstanceRequirements
from templar_aws.keystyle import HOSTFACTORY, HostFactoryKeyStyle
from templar_aws.plugin import AWS_PROVIDER
from templar_aws.rules import check_template, supported_features
from templar_aws.values import PROVIDER_APIS, RESERVED_TAG_PREFIXES

try:
    __version__ = version("templar-aws")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AWS_PROVIDER",
    "HOSTFACTORY",
    "PROVIDER_APIS",
    "RESERVED_TAG_PREFIXES",
    "AwsConfiguration",
    "HostFactoryKeyStyle",
    "InstanceRequirements",
    "__version__",
    "check_template",
    "supported_features",
]
