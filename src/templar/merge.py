"""Merging the layers of one template, and explaining where each value came from.

Each layer's contribution to one (instance, template id) is a :class:`TemplateVersion`
in canonical form: core fields at the top, everything provider-specific under
``configuration`` in snake_case, whatever the file wrote. :func:`merge_versions`
folds them from the lowest priority to the highest; :func:`explain_versions` derives
the provenance of every field from the same versions, on demand only.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from templar.models import CORE_FIELD_ALIASES, CORE_FIELDS, LayerKind
from templar.providers import ProviderSpec
from templar.storage import LayerSource

MERGE_KEY = "_merge"
#: every spelling of a core field -> its canonical name
_CORE_NAMES = {**{name: name for name in CORE_FIELDS}, **CORE_FIELD_ALIASES}
FieldPath = tuple[Any, ...]


@dataclass(frozen=True)
class LayerRef:
    """A layer as merging sees it: its kind, and the source it was read from if any."""

    kind: LayerKind
    source: LayerSource | None = None
    label: str = ""

    @property
    def file(self) -> str | None:
        """The file (or URI) of the layer, ``None`` for plugin defaults."""
        return self.source.location if self.source else None


@dataclass(slots=True)
class TemplateVersion:
    """One layer's contribution to one template, in canonical form."""

    layer: LayerRef
    body: dict[str, Any]
    doc_path: tuple[Any, ...] = ()
    #: canonical first-level key -> the path of that key as written, below ``doc_path``
    origins: dict[FieldPath, tuple[Any, ...]] = field(default_factory=dict)
    #: the template's own ``_merge:`` ("deep" or "replace"), if it says one
    merge: str | None = None
    #: keys written flat whose spelling is close to a core field (likely typos)
    near_misses: list[tuple[str, str]] = field(default_factory=list)
    #: ``False`` when the layer's file is known to hold no null (nothing to drop)
    may_hold_nulls: bool = True
    #: ``True`` when this version's fields replace the ones below whole instead of
    #: merging into them (an ORB dir: ORB lays a template over its defaults field by
    #: field, so ``tags: {a: 1}`` over default tags is ``{a: 1}``)
    shallow: bool = False

    def doc_path_of(self, path: FieldPath) -> tuple[Any, ...]:
        """Where canonical ``path`` is written in this layer's document."""
        for size in (2, 1):
            prefix = path[:size]
            if prefix in self.origins:
                return self.doc_path + self.origins[prefix] + tuple(path[size:])
        return self.doc_path + tuple(path)


#: how :func:`normalize` reads a top-level key: skipped (``_``-prefixed), the
#: ``configuration`` block, a core field, or configuration written flat
_SKIPPED, _BLOCK, _CORE, _FLAT = range(4)
#: what :func:`normalize` works out once per key and provider: (how it is read, its
#: canonical name, its origin entry (path, path as written) or ``None``, near miss)
KeyPlan = tuple[int, str, tuple[FieldPath, tuple[Any, ...]] | None, str | None]


@dataclass
class KeyPlans:
    """What :func:`normalize` worked out for each key it met with one provider, kept by
    its caller between templates: the same few dozen keys come in every template, and
    working each out again (core field? canonical name? a typo of a core field?) cost
    more than the rest of the normalisation."""

    provider: ProviderSpec
    top: dict[str, KeyPlan] = field(default_factory=dict)
    #: keys under ``configuration:`` -> (canonical name, origin entry or ``None``)
    block: dict[str, tuple[str, tuple[FieldPath, tuple[Any, ...]] | None]] = field(
        default_factory=dict
    )


def normalize(
    body: dict[str, Any],
    provider: ProviderSpec,
    layer: LayerRef,
    doc_path: tuple[Any, ...] = (),
    plans: KeyPlans | None = None,
) -> TemplateVersion:
    """Bring one template body as written into canonical form.

    Core fields may be snake_case or HostFactory camelCase. Every other top-level key
    is provider configuration written flat, and joins the keys under
    ``configuration:``; the provider's key style gives each its canonical name.
    Top-level keys starting with ``_`` are comments or directives (``_merge``).
    ``plans`` (for ``provider``) remembers how each key reads, for the next template.
    """
    if plans is None or plans.provider is not provider:
        plans = KeyPlans(provider)
    top, block = plans.top, plans.block
    canonical: dict[str, Any] = {}
    configuration: dict[str, Any] = {}
    origins: dict[FieldPath, tuple[Any, ...]] = {}
    near_misses: list[tuple[str, str]] = []
    merge: Any = None
    keeps_spelling = provider.key_style is None
    for key, value in body.items():
        if type(key) is not str:
            key = str(key)
        plan = top.get(key)
        if plan is None:
            plan = top[key] = _plan_key(key, provider)
        how, name, origin, close = plan
        if how == _FLAT:
            configuration[name] = value
            origins[origin[0]] = origin[1]  # type: ignore[index]
            if close:
                near_misses.append((key, close))
        elif how == _BLOCK and type(value) is dict:
            if keeps_spelling:
                configuration.update(value)  # written where it belongs: no origin to record
                continue
            for sub_key, sub_value in value.items():
                written = str(sub_key)
                entry = block.get(written)
                if entry is None:
                    entry = block[written] = _plan_block_key(written, provider)
                configuration[entry[0]] = sub_value
                if entry[1] is not None and entry[0] != sub_key:
                    origins[entry[1][0]] = entry[1][1]
        elif how == _SKIPPED:
            if key == MERGE_KEY:
                merge = value
        else:  # a core field, or a configuration block that is not a mapping
            canonical[name] = value
            if origin is not None:
                origins[origin[0]] = origin[1]
    if configuration:
        canonical["configuration"] = configuration
    return TemplateVersion(layer, canonical, doc_path, origins, merge, near_misses)


def _plan_key(key: str, provider: ProviderSpec) -> KeyPlan:
    if key[:1] == "_":
        return (_SKIPPED, key, None, None)
    core_keys = provider.core_keys
    core = _CORE_NAMES.get(key) if key not in core_keys else core_keys[key]
    if core is not None:
        origin = ((core,), (key,)) if core != key else None
        return (_BLOCK if core == "configuration" else _CORE, core, origin, None)
    name = provider.canonical_key(key)
    return (_FLAT, name, (("configuration", name), (key,)), near_miss_of_core_field(key))


def _plan_block_key(
    key: str, provider: ProviderSpec
) -> tuple[str, tuple[FieldPath, tuple[Any, ...]] | None]:
    name = provider.canonical_key(key)
    return name, ((("configuration", name), ("configuration", key)) if name != key else None)


@functools.lru_cache(maxsize=4096)
def near_miss_of_core_field(key: str) -> str | None:
    """The core field ``key`` is probably a typo of, if any (``descripton``)."""
    close = difflib.get_close_matches(key, [*CORE_FIELDS, *CORE_FIELD_ALIASES], 1, 0.8)
    return close[0] if close else None


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``base``: mappings key by key, lists and scalars replaced,
    ``None`` unsets. Neither argument is modified; unchanged subtrees are shared."""
    out = base.copy()
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif type(value) is dict:
            below = out.get(key)
            out[key] = deep_merge(below, value) if type(below) is dict else without_nulls(value)
        else:
            out[key] = value
    return out


def without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``None`` values removed at every depth; ``data`` itself (not a
    copy) when it has none, which is the common case."""
    try:
        # Serialising in C and looking for ``null`` is ten times faster than walking.
        if b"null" not in orjson.dumps(data):
            return data
    except (TypeError, orjson.JSONEncodeError):
        pass
    for value in data.values():
        if value is None or (type(value) is dict and without_nulls(value) is not value):
            break
    else:
        return data
    return {k: without_nulls(v) if type(v) is dict else v for k, v in data.items() if v is not None}


def effective_versions(versions: Sequence[TemplateVersion], mode: str) -> list[TemplateVersion]:
    """The versions that take part in the merge, lowest priority first. ``versions``
    must already run from the lowest priority to the highest, as the engine builds them.

    With ``merge: replace`` (engine-wide) or ``_merge: replace`` (one template), the
    highest such file layer replaces every lower *file* layer; the defaults layers of
    the engine config and plugins still apply beneath it. ``_merge: deep`` on a
    template keeps that layer merging under an engine-wide ``merge: replace``.
    """
    if mode != "replace" and not any(v.merge == "replace" for v in versions):
        return list(versions)
    ordered = sorted(versions, key=lambda v: -v.layer.kind)
    files = [v for v in ordered if v.layer.kind <= LayerKind.SHARED]
    replacing = [
        v for v in files if v.merge == "replace" or (mode == "replace" and v.merge != "deep")
    ]
    if not replacing:
        return ordered
    top = replacing[-1]
    return [v for v in ordered if v.layer.kind > LayerKind.SHARED or v.layer.kind <= top.layer.kind]


def merge_versions(versions: Sequence[TemplateVersion], mode: str = "deep") -> dict[str, Any]:
    """The merged canonical template (unvalidated)."""
    lowest, *higher = effective_versions(versions, mode)
    merged = without_nulls(lowest.body) if lowest.may_hold_nulls else lowest.body
    for version in higher:
        if version.shallow:
            merged = field_merge(merged, version.body)
        elif not version.may_hold_nulls:
            merged = merge_onto(merged, version.body)
        else:
            merged = deep_merge(merged, version.body)
    return merged


def merge_onto(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """:func:`deep_merge` for an ``over`` known to hold no ``None`` at any depth: the
    same result for a fraction of the work when ``base`` is small (a template over its
    defaults), since only the keys of ``base`` are looked at in Python."""
    out = base.copy()
    out.update(over)  # the order deep_merge gives: base's keys, then over's new ones
    for key, below in base.items():
        if type(below) is dict:
            value = over.get(key)
            if type(value) is dict:
                out[key] = merge_onto(below, value)
    return out


def field_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base`` field by field: each core field and each key of
    ``configuration`` that ``over`` writes replaces the one of ``base`` whole; ``None``
    unsets. Neither argument is modified."""
    out = _replace_fields(base, over)
    below, configuration = base.get("configuration"), over.get("configuration")
    if type(below) is dict and type(configuration) is dict:
        out["configuration"] = _replace_fields(below, configuration)
    return out


def _replace_fields(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = base.copy()
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = without_nulls(value) if type(value) is dict else value
    return out


def leaf_paths(data: dict[str, Any], prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every path to a non-mapping value (or an empty mapping) in ``data``."""
    for key, value in data.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


_MISSING = object()


def value_at(data: Any, path: FieldPath) -> Any:
    """The value at ``path`` in nested mappings, or a private sentinel if absent."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def defines(version: TemplateVersion, path: FieldPath) -> bool:
    """True when ``version`` writes a value (``None`` included) at ``path``."""
    return value_at(version.body, path) is not _MISSING


def winning_version(
    versions: Sequence[TemplateVersion], path: FieldPath, mode: str = "deep"
) -> TemplateVersion | None:
    """The highest-priority version writing ``path`` or its longest written prefix."""
    ordered = effective_versions(versions, mode)
    for size in range(len(path), 0, -1):
        for version in reversed(ordered):
            if defines(version, path[:size]):
                return version
    return None


def explain_versions(
    versions: Sequence[TemplateVersion], mode: str = "deep"
) -> list[tuple[FieldPath, Any, TemplateVersion, list[tuple[TemplateVersion, Any]]]]:
    """For each leaf of the merged template: its value, the winning version, and the
    versions it shadowed with their values (highest first).

    A field an explicit ``null`` removed is listed too, with the value ``None`` and
    the unsetting version as the winner, so "why is it missing?" has an answer.
    """
    merged = merge_versions(versions, mode)
    # highest priority first; of two versions of one kind (an ORB dir's defaults from
    # several files), the later one, which the merge applied last
    ordered = sorted(reversed(versions), key=lambda v: v.layer.kind)
    effective = effective_versions(versions, mode)
    used = {id(v) for v in effective}
    paths = list(leaf_paths(merged))
    for version in effective:
        for path in leaf_paths(version.body):
            removed = value_at(version.body, path) is None and value_at(merged, path) is _MISSING
            if removed and path not in paths:
                paths.append(path)
    out = []
    for path in paths:
        writers = [v for v in ordered if defines(v, path)]
        winner = next((v for v in writers if id(v) in used), writers[0] if writers else None)
        if winner is None:
            continue
        value = value_at(merged, path)
        shadowed = [(v, value_at(v.body, path)) for v in writers if v is not winner]
        out.append((path, None if value is _MISSING else value, winner, shadowed))
    return out
