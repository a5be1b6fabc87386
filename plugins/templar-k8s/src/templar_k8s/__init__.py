"""Templar provider plugin for Kubernetes workloads.

The plugin itself is :mod:`templar_k8s.plugin`, loaded through the ``templar``
entry-point group.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from templar_k8s.configuration import K8sConfiguration
from templar_k8s.plugin import K8S_KEY_STYLE, K8S_PROVIDER, check_template, supported_features
from templar_k8s.values import IMAGE_REFERENCE, PROVIDER_APIS, Resources, parse_quantity

try:
    __version__ = version("templar-k8s")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "IMAGE_REFERENCE",
    "K8S_KEY_STYLE",
    "K8S_PROVIDER",
    "PROVIDER_APIS",
    "K8sConfiguration",
    "Resources",
    "__version__",
    "check_template",
    "parse_quantity",
    "supported_features",
]
