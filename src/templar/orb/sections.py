"""The sections of ORB's merged config that decide templates: ``provider.providers[]``,
``template.filename_patterns`` and the template defaults at each level, each checked as
ORB checks it and kept with the file that wrote it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from templar.models import LayerKind
from templar.orb.files import OrbConfigProblem, OrbFile, kind_of, mapping_at, section
from templar.orb.packaged import FIELD_OF_PLACEHOLDER, GLOBAL_DEFAULT_KEYS, PATTERN_KEYS


@dataclass(frozen=True)
class OrbProvider:
    """One entry of ``provider.providers[]``, and where it is written."""

    name: str
    type: str
    enabled: bool
    file: OrbFile
    index: int

    @property
    def doc_path(self) -> tuple[Any, ...]:
        """The entry's path in :attr:`file`."""
        return ("provider", "providers", self.index)


@dataclass(frozen=True)
class OrbDefaults:
    """Template defaults one file sets at one level (``global``, ``type`` or ``instance``).

    ``values`` maps the field as the template spells it to its value; ``written`` maps
    it to the key as the file writes it (``default_price_type`` sets ``price_type``),
    below ``doc_path``.
    """

    level: str
    scope: str | None
    values: Mapping[str, Any]
    file: OrbFile
    doc_path: tuple[Any, ...]
    written: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> LayerKind:
        """The Templar defaults layer these values take part in."""
        return LayerKind.INSTANCE_DEFAULTS if self.level == "instance" else LayerKind.TYPE_DEFAULTS

    @property
    def label(self) -> str:
        """How ``--explain`` names this layer: its kind, file and section."""
        section = ".".join(str(p) for p in self.doc_path)
        return f"{self.kind.label} ({self.file.label}: {section})"


def read_providers(files: Sequence[OrbFile]) -> tuple[OrbProvider, ...]:
    """The provider instances: ``provider.providers`` of the highest file that has one
    (ORB replaces lists), each entry checked as ORB checks it."""
    owner = next(f for f in reversed(files) if section(f, "provider", "providers") is not None)
    entries = section(owner, "provider", "providers")
    if not isinstance(entries, list):
        raise OrbConfigProblem(
            owner, ("provider", "providers"), f"must be a list, not {kind_of(entries)}"
        )
    out: list[OrbProvider] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        at = ("provider", "providers", index)
        if not isinstance(entry, Mapping):
            raise OrbConfigProblem(owner, at, f"a provider must be a mapping, not {kind_of(entry)}")
        values = {}
        for key in ("name", "type"):
            value = entry.get(key)
            if key not in entry:
                raise OrbConfigProblem(owner, at, f"a provider needs a '{key}'")
            if not isinstance(value, str) or not value.strip():
                raise OrbConfigProblem(
                    owner, (*at, key), f"must be a non-empty string, not {kind_of(value)}"
                )
            values[key] = value.strip()
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise OrbConfigProblem(
                owner, (*at, "enabled"), f"must be true or false, not {enabled!r}"
            )
        if values["name"] in seen:
            raise OrbConfigProblem(
                owner,
                (*at, "name"),
                f"provider '{values['name']}' is declared twice (first as providers[{seen[values['name']]}])",
            )
        seen[values["name"]] = index
        out.append(OrbProvider(values["name"], values["type"], enabled, owner, index))
    return tuple(out)


def read_filename_patterns(files: Sequence[OrbFile]) -> dict[str, str]:
    """``template.filename_patterns`` merged key by key, lowest file first; a pattern
    with an unknown placeholder or a path in it is refused at its line."""
    patterns: dict[str, str] = {}
    for file in files:
        written: Mapping[str, Any] = mapping_at(file, "template", "filename_patterns") or {}
        for key in PATTERN_KEYS:
            if key not in written:
                continue
            value = written[key]
            at = ("template", "filename_patterns", key)
            if not isinstance(value, str) or not value:
                raise OrbConfigProblem(file, at, f"must be a file name, not {kind_of(value)}")
            allowed = {"generic": set()}.get(key, set(FIELD_OF_PLACEHOLDER))
            for placeholder in re.findall(r"{([^{}]*)}", value):
                if placeholder not in allowed:
                    names = ", ".join(f"{{{p}}}" for p in sorted(allowed)) or "none"
                    raise OrbConfigProblem(
                        file, at, f"unknown placeholder {{{placeholder}}} (allowed: {names})"
                    )
            if "/" in value or os.sep in value:
                raise OrbConfigProblem(
                    file, at, "must be a file name in the config dir, not a path"
                )
            patterns[key] = value
    return patterns


def read_template_defaults(
    files: Sequence[OrbFile], providers: Sequence[OrbProvider]
) -> tuple[OrbDefaults, ...]:
    """Every template default the files set: ``template.*`` (global), then each type's
    ``provider_defaults.{type}.template_defaults``, then each instance's, in file order."""
    out: list[OrbDefaults] = []
    for file in files:
        template = mapping_at(file, "template") or {}
        values = {
            GLOBAL_DEFAULT_KEYS[k]: v
            for k, v in template.items()
            if k in GLOBAL_DEFAULT_KEYS and v is not None
        }
        if values:
            written = {GLOBAL_DEFAULT_KEYS[k]: k for k in template if k in GLOBAL_DEFAULT_KEYS}
            out.append(OrbDefaults("global", None, values, file, ("template",), written))
    for file in files:
        by_type = mapping_at(file, "provider", "provider_defaults") or {}
        for provider_type in by_type:
            written_defaults = mapping_at(
                file, "provider", "provider_defaults", str(provider_type), "template_defaults"
            )
            if written_defaults:
                at = ("provider", "provider_defaults", provider_type, "template_defaults")
                out.append(
                    OrbDefaults("type", str(provider_type), dict(written_defaults), file, at)
                )
    for provider in providers:
        entry = section(provider.file, "provider", "providers")[provider.index]
        values = entry.get("template_defaults")
        at = (*provider.doc_path, "template_defaults")
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise OrbConfigProblem(provider.file, at, f"must be a mapping, not {kind_of(values)}")
        if values:
            out.append(OrbDefaults("instance", provider.name, dict(values), provider.file, at))
    return tuple(out)
