"""The codec of the cache: loads and parsed layers as JSON, and back.

:func:`encode_state` / :func:`decode_state` turn an :class:`~templar.state.EngineState`
(its templates, verdicts and file issues: no versions, no provenance) into JSON bytes
and back; :func:`encode_layer` / :func:`decode_layer` do the same for one parsed
:class:`~templar.storage.RawLayer`; :func:`encode_file_states` /
:func:`decode_file_states` for what the layer reader saw of the files. Encoding says
``None`` when JSON cannot hold a value exactly (a non-finite number, a non-text
mapping key), so that nothing inexact is ever cached; decoding raises
:class:`~templar.cache.disk.CorruptEntryError` for anything it did not write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from pydantic import BaseModel

from templar.cache.disk import CorruptEntryError
from templar.locate import AnchoredPositions
from templar.models import LayerKind, PositionAnchor, Severity, TemplateDTO, ValidationIssueDTO
from templar.state import EngineState, ProviderInstance
from templar.storage import LayerSource, RawLayer, RawTemplate

#: (size, mtime_ns, ctime_ns, inode, device), SHA-256 of the content, time read (ns)
FileStateRecord = tuple[tuple[int, int, int, int, int], str, int]


def loads(payload: bytes | memoryview) -> Any:
    """The JSON value of a payload; :class:`CorruptEntryError` if it is not JSON."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise CorruptEntryError(f"invalid JSON: {e}") from e


def encode_file_states(states: dict[str, FileStateRecord]) -> bytes | None:
    """JSON of what the layer reader saw of each file."""
    return dumps(states)


def decode_file_states(payload: bytes | memoryview) -> dict[str, FileStateRecord]:
    """The records of :func:`encode_file_states`; :class:`CorruptEntryError` otherwise."""
    try:
        return {
            str(loc): (tuple(int(n) for n in stat), str(digest), int(read_at))  # type: ignore[misc]
            for loc, (stat, digest, read_at) in loads(payload).items()
            if len(stat) == 5
        }
    except CorruptEntryError:
        raise
    except (TypeError, ValueError, AttributeError) as e:
        raise CorruptEntryError(str(e)) from e


# Models are rebuilt with ``model_construct``, without validation: the values were
# validated when the entry was written, and the store's checksum guarantees they are
# those values. The shape of every object is still checked, so a foreign entry is
# reported, not half-used.

_TEMPLATE_FIELDS = tuple(TemplateDTO.model_fields)
_ISSUE_FIELDS = frozenset(ValidationIssueDTO.model_fields)


#: the file -> SHA-256 of the content a load or a layer was made from
Digests = Mapping[str, str]
_NO_DIGESTS: Digests = {}


def _model_dict(value: Any, digests: Digests = _NO_DIGESTS) -> Any:
    if isinstance(value, ValidationIssueDTO):
        anchor = value.pending_anchor
        digest = None
        if anchor is not None:  # an issue read back from the cache knows its content
            digest = anchor.digest or digests.get(anchor.file)
        if anchor is not None and digest is not None:
            # Kept unresolved: its file is indexed when the issue is shown, if ever, and
            # only if the file still holds the content the issue was found in.
            return {**value.__dict__, _ANCHOR: [anchor.file, anchor.doc_path, anchor.value, digest]}
        value.resolve_position()  # no content to check it against later: resolve now
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any, digests: Digests = _NO_DIGESTS) -> bytes | None:
    """JSON of ``value``, or ``None`` if JSON cannot hold it (non-text keys, ...).

    An issue whose position is still to be found, in a file ``digests`` knows the content
    of, is written with its :class:`~templar.models.PositionAnchor` instead of a line."""
    default = _model_dict if not digests else (lambda v: _model_dict(v, digests))
    try:
        return orjson.dumps(value, default=default)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _has_non_finite(value: Any) -> bool:
    """Whether a float that JSON would turn into ``null`` hides in ``value``."""
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        return any(_has_non_finite(v) for v in value.values())
    if kind is list:
        return any(_has_non_finite(v) for v in value)
    return False


def _fields_mask(dto: BaseModel) -> int:
    fields_set = dto.model_fields_set
    return sum(1 << i for i, name in enumerate(_TEMPLATE_FIELDS) if name in fields_set)


@lru_cache(maxsize=256)
def _fields_of_mask(mask: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(_TEMPLATE_FIELDS) if mask >> i & 1)


def encode_state(state: EngineState, digests: Digests = _NO_DIGESTS) -> bytes | None:
    """JSON of a load, or ``None`` if JSON cannot hold it exactly. ``digests`` are the
    contents the load was made from: issues in those files stay unresolved (see
    :func:`dumps`).

    Shaped for decoding, which is most of a warm load: each template is its field
    mapping (orjson builds it, the model adopts it as is), with its source file as an
    index into a list of files and the fields it had set as a bit mask alongside; a
    verdict without issues or features is just its id and instance.
    """
    instances = [[i.name, i.type, dict(i.defaults), i.declared_index] for i in state.instances]
    instance_index = {instance.name: n for n, instance in enumerate(state.instances)}
    files: dict[str | None, int | None] = {None: None}
    templates: dict[str, list[dict[str, Any]]] = {}
    masks: dict[str, list[int]] = {}
    known_nulls = 0
    for name, by_id in state.templates.items():
        rows, bits = templates[name], masks[name] = [], []
        for template in by_id.values():
            values = dict(template.__dict__)
            source = values["source_file"]
            if source not in files:
                files[source] = len(files) - 1
            values["source_file"] = files[source]
            known_nulls += sum(value is None for value in values.values())
            rows.append(values)
            bits.append(_fields_mask(template))
    templates_json = dumps(templates)
    instances_json = dumps(instances)
    if templates_json is None or instances_json is None:
        return None
    # JSON writes NaN and infinity as null. Every null of a faithful dump is a field
    # left at None; if there are more, look for the non-finite numbers they may be.
    if templates_json.count(b"null") != known_nulls and any(
        _has_non_finite(t.configuration) or _has_non_finite(t.metadata) or _has_non_finite(t.tags)
        for by_id in state.templates.values()
        for t in by_id.values()
    ):
        return None
    if b"null" in instances_json and any(_has_non_finite(i[2]) for i in instances):
        return None
    verdicts = []
    for template_id, instance, issues, features in state.verdicts:
        verdict: list[Any] = [template_id, instance_index[instance.name]]
        if issues or features:
            verdict += [issues, features]
        verdicts.append(verdict)
    parts = (
        instances_json,
        dumps([f for f in files if f is not None]),
        templates_json,
        dumps(masks),
        dumps(verdicts, digests),
        dumps(state.file_issues, digests),
        dumps(state.validated_at),
    )
    if any(part is None for part in parts):
        return None
    return b"[" + b",".join(parts) + b"]"  # type: ignore[arg-type]


def decode_state(payload: bytes | memoryview, positions: AnchoredPositions) -> EngineState:
    """The load encoded by :func:`encode_state`; raises CorruptEntryError on anything else.
    Its unresolved issues find their lines through ``positions`` when shown."""
    data = loads(payload)
    try:
        instances_json, files, templates_json, masks, verdicts, issues_json, validated_at = data
        state = EngineState(from_cache=True, validated_at=datetime.fromisoformat(validated_at))
        state.instances = instances = [
            ProviderInstance(str(name), str(kind), dict(defaults), index)
            for name, kind, defaults, index in instances_json
        ]
        fromiso = datetime.fromisoformat
        construct, fields_of = TemplateDTO.model_construct, _fields_of_mask
        sources: dict[int | None, str | None] = {None: None, **dict(enumerate(files))}
        for name, items in templates_json.items():
            templates: dict[str, TemplateDTO] = {}
            bits = masks[name]
            # the shape of one template and the count; the checksum vouches for the rest
            if len(bits) != len(items) or (items and items[0].keys() != _TEMPLATE_KEYS):
                raise CorruptEntryError("templates of another shape")
            for values, mask in zip(items, bits):  # noqa: B905 - lengths checked above
                if values["created_at"] is not None:
                    values["created_at"] = fromiso(values["created_at"])
                if values["updated_at"] is not None:
                    values["updated_at"] = fromiso(values["updated_at"])
                values["source_file"] = sources[values["source_file"]]
                template = construct(set(fields_of(mask)), **values)
                templates[values["template_id"]] = template
            state.templates[name] = templates
        state.verdicts = [
            (verdict[0], instances[verdict[1]], [], [])
            if len(verdict) == 2
            else (
                verdict[0],
                instances[verdict[1]],
                [_issue(i, positions) for i in verdict[2]],
                [str(f) for f in verdict[3]],
            )
            for verdict in verdicts
        ]
        state.file_issues = [_issue(values, positions) for values in issues_json]
    except CorruptEntryError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise CorruptEntryError(f"unexpected content ({type(e).__name__}: {e})") from e
    return state


_TEMPLATE_KEYS = frozenset(_TEMPLATE_FIELDS)


_ANCHOR = "anchor"
_PENDING_FIELDS = (_ISSUE_FIELDS - {"line", "column"}) | {_ANCHOR}


def _issue(values: dict[str, Any], positions: AnchoredPositions) -> ValidationIssueDTO:
    if _ANCHOR in values:
        if values.keys() != _PENDING_FIELDS:
            raise CorruptEntryError("an issue of another shape")
        file, doc_path, value, digest = values.pop(_ANCHOR)
        if not (type(file) is str and type(doc_path) is list and type(digest) is str):
            raise CorruptEntryError("an issue anchor of another shape")
        anchor = PositionAnchor(file, tuple(doc_path), value is True, digest)
        values["severity"] = Severity(values["severity"])
        return ValidationIssueDTO.construct_deferred(
            lambda: positions.locate(anchor), anchor, values
        )
    if values.keys() != _ISSUE_FIELDS:
        raise CorruptEntryError("an issue of another shape")
    values["severity"] = Severity(values["severity"])
    return ValidationIssueDTO.model_construct(set(_ISSUE_FIELDS), **values)


def encode_layer(layer: RawLayer, digest: str | None = None) -> bytes | None:
    """JSON of one parsed layer, or ``None`` if JSON cannot hold it exactly; ``digest``
    is the content it was parsed from (its issues then stay unresolved)."""
    source = layer.source
    templates = dumps(
        [[t.template_id, t.body, list(t.doc_path), t.provider_type] for t in layer.templates]
    )
    if templates is None:
        return None
    known_nulls = sum(t.provider_type is None for t in layer.templates)  # see encode_state
    if templates.count(b"null") != known_nulls and any(
        _has_non_finite(t.body) for t in layer.templates
    ):
        return None
    head = dumps([int(source.kind), source.scope, source.location])
    issues = dumps(layer.issues, {source.location: digest} if digest else _NO_DIGESTS)
    if head is None or issues is None:
        return None
    nulls = b"true" if layer.may_hold_nulls else b"false"
    return b"[%s,%s,%s,%s]" % (head, templates, issues, nulls)


def decode_layer(
    payload: bytes | memoryview, source: LayerSource, positions: AnchoredPositions
) -> RawLayer:
    """The layer encoded by :func:`encode_layer`, checked to be ``source``'s; its
    unresolved issues find their lines through ``positions`` when shown."""
    data = loads(payload)
    try:
        (kind, scope, location), templates, issues, may_hold_nulls = data
        if (LayerKind(kind), scope, location) != (source.kind, source.scope, source.location):
            raise CorruptEntryError("an entry of another file")
        return RawLayer(
            source,
            [
                RawTemplate(str(tid), body, tuple(doc_path), provider_type)
                for tid, body, doc_path, provider_type in templates
                if type(body) is dict
            ],
            [_issue(values, positions) for values in issues],
            may_hold_nulls is not False,
        )
    except CorruptEntryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CorruptEntryError(f"unexpected content ({type(e).__name__}: {e})") from e
