"""Templar: layered provider templates with provenance, validation, caching and hot reload.

The public API is what this module exports.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from templar.engine import TemplateEngine
from templar.errors import (
    AmbiguousTemplateError,
    ConcurrencyError,
    ConfigurationError,
    PluginError,
    StorageError,
    TemplarCacheWarning,
    TemplarError,
    TemplarPluginWarning,
    TemplarStaleWarning,
    TemplarWatchWarning,
    TemplateNotFoundError,
    TemplateParseError,
)
from templar.hookspecs import hookimpl
from templar.models import (
    ChangeEvent,
    FieldProvenance,
    LayerKind,
    Severity,
    SourceLocation,
    TemplateCacheEntryDTO,
    TemplateDTO,
    TemplateExplanation,
    TemplateValidationResultDTO,
    ValidationIssueDTO,
    ValidationReport,
)
from templar.providers import CamelCaseKeyStyle, KeyStyle, ProviderSpec
from templar.settings import EngineSettings
from templar.state import ProviderInstance
from templar.storage import LayerSource, RawLayer, RawTemplate, StorageBackend, StorageSpec

try:
    __version__ = version("templar-engine")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AmbiguousTemplateError",
    "CamelCaseKeyStyle",
    "ChangeEvent",
    "ConcurrencyError",
    "ConfigurationError",
    "EngineSettings",
    "FieldProvenance",
    "KeyStyle",
    "LayerKind",
    "LayerSource",
    "PluginError",
    "ProviderInstance",
    "ProviderSpec",
    "RawLayer",
    "RawTemplate",
    "Severity",
    "SourceLocation",
    "StorageBackend",
    "StorageError",
    "StorageSpec",
    "TemplarCacheWarning",
    "TemplarError",
    "TemplarPluginWarning",
    "TemplarStaleWarning",
    "TemplarWatchWarning",
    "TemplateCacheEntryDTO",
    "TemplateDTO",
    "TemplateEngine",
    "TemplateExplanation",
    "TemplateNotFoundError",
    "TemplateParseError",
    "TemplateValidationResultDTO",
    "ValidationIssueDTO",
    "ValidationReport",
    "__version__",
    "hookimpl",
]
