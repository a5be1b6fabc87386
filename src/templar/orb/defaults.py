"""ORB's template defaults as Templar's defaults layers, and ORB's rule that an empty
value in a template file is "not set"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from templar.models import CORE_FIELDS

if TYPE_CHECKING:
    from pydantic import BaseModel

    from templar.merge import TemplateVersion
    from templar.orb.config import OrbConfig
    from templar.providers import ProviderSpec


def without_empty(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without the empty strings, lists and mappings of its mappings, at every
    depth (a mapping emptied so goes too): ORB reads them as "not set". Lists are kept
    as written, inside and out, so the positions of everything left stay true."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if type(value) is dict:
            value = without_empty(value)
        if value == "" or value == [] or value == {}:
            continue
        out[key] = value
    return out


def defaults_versions(
    orb: OrbConfig, instance: str, provider_type: str, spec: ProviderSpec
) -> list[TemplateVersion]:
    """ORB's template defaults for one instance as Templar defaults layers, lowest
    first, each traced to its file (``source.location``) and its key there.

    ORB's packaged defaults and its ``template.*`` defaults are written for every
    provider type: of those, only the fields ``spec`` has are applied (ORB's own models
    ignore the others). What a user wrote for a type or an instance is applied whole,
    so that a misspelt field is reported at its line.
    """
    from templar.merge import LayerRef, normalize
    from templar.storage import LayerSource

    known = _known_fields(spec)
    out = []
    for defaults in orb.defaults_for(instance, provider_type):
        path = defaults.file.path
        source = LayerSource(defaults.kind, defaults.scope, str(path)) if path else None
        ref = LayerRef(defaults.kind, source, defaults.label)
        version = normalize(dict(defaults.values), spec, ref, defaults.doc_path)
        for canonical, written in list(version.origins.items()):
            # ``default_price_type`` is written for ``price_type``: point at what is written
            name = written[-1]
            if name in defaults.written:
                version.origins[canonical] = (*written[:-1], defaults.written[name])
        for name, as_written in defaults.written.items():
            if name in CORE_FIELDS and name != as_written:
                version.origins[(name,)] = (as_written,)
        if path is None or defaults.level == "global":
            _keep_known(version.body, known)
        if version.body:
            out.append(version)
    return out


def _known_fields(spec: ProviderSpec) -> set[str] | None:
    model: type[BaseModel] = spec.configuration_model
    if model.model_config.get("extra") != "forbid":
        return None  # the provider takes any field
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif alias is not None and hasattr(alias, "choices"):
                names.update(c for c in alias.choices if isinstance(c, str))
    return names


def _keep_known(body: dict[str, Any], known: set[str] | None) -> None:
    configuration = body.get("configuration")
    if known is None or not isinstance(configuration, dict):
        return
    for key in [k for k in configuration if k not in known]:
        del configuration[key]
    if not configuration:
        del body["configuration"]
