"""What a reload changed: the :class:`~templar.models.ChangeEvent` between two loads.

With ``keep_last_good`` (hot reload), a template that was valid before and is invalid
now keeps its last good version in service and is listed as *stale*, and a layer
file that no longer parses keeps its last good templates; the new issues still say
what is wrong. A later fix lists the template as *changed* again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from templar.models import ChangeEvent, Severity, TemplateDTO, ValidationIssueDTO
from templar.storage import RawLayer

if TYPE_CHECKING:
    from templar.engine import EngineState


def keep_parsable_layers(
    layers: list[RawLayer], previous: dict[str, RawLayer]
) -> tuple[list[RawLayer], set[str]]:
    """Replace each layer that lost all its templates to an error (a syntax error in
    the middle of an edit) by its previous templates, with the new issues.

    Returns the layers to assemble and the locations of the layers so kept.
    """
    out: list[RawLayer] = []
    kept: set[str] = set()
    for layer in layers:
        before = previous.get(layer.source.location)
        broken = not layer.templates and any(i.severity is Severity.ERROR for i in layer.issues)
        if broken and before is not None and before.templates:
            out.append(RawLayer(layer.source, before.templates, layer.issues))
            kept.add(layer.source.location)
        else:
            out.append(layer)
    return out, kept


def change_event(
    old: EngineState | None,
    new: EngineState,
    *,
    keep_last_good: bool,
    stale_layers: Iterable[str] = (),
    files: Iterable[str] = (),
    full_reload: bool = False,
) -> ChangeEvent:
    """The difference between ``old`` and ``new``; with ``keep_last_good``, ``new`` is
    updated in place to serve the last good version of templates that broke."""
    event = ChangeEvent(files=sorted(files), full_reload=full_reload)
    old_templates = old.templates if old is not None else {}
    old_stale = old.stale if old is not None else {}
    stale_layers = set(stale_layers)
    invalid: dict[str, list[str]] = {}
    for template_id, instance, issues, _features in new.verdicts:
        if issues and any(issue.severity is Severity.ERROR for issue in issues):
            invalid.setdefault(instance.name, []).append(template_id)

    for name in dict.fromkeys([*new.templates, *old_templates]):
        before = old_templates.get(name, {})
        after = new.templates.get(name, {})
        stale: set[str] = set()
        if keep_last_good:
            kept = {tid: before[tid] for tid in invalid.get(name, ()) if tid in before}
            if kept:
                after = _in_result_order(new, name, after, kept)
                new.templates[name] = after
                stale.update(kept)
            if stale_layers:
                stale.update(tid for tid in after if _defined_in(new, name, tid, stale_layers))
        if stale:
            new.stale[name] = stale
        was_stale = old_stale.get(name, set())
        added = [tid for tid in after if tid not in before]
        removed = [tid for tid in before if tid not in after]
        changed = []
        for tid, template in after.items():  # the hot loop of a hot reload: kept lean
            previous = before.get(tid)
            if previous is None:
                continue
            if (template is not previous and template != previous) or (
                tid in was_stale and tid not in stale  # recovered
            ):
                changed.append(tid)
        if added:
            event.added[name] = added
        if removed:
            event.removed[name] = removed
        if changed:
            event.changed[name] = changed
        if stale:
            event.stale[name] = sorted(stale)
    event.issues = _new_issues(old, new)
    return event


def something_happened(event: ChangeEvent, old: EngineState | None, new: EngineState) -> bool:
    """Whether ``event`` is worth emitting: templates moved, issues appeared, the set
    of stale templates changed (a template that stays broken is not news), or the
    engine config was read again."""
    old_stale = old.stale if old is not None else {}
    return bool(
        event.full_reload  # the engine config was read again: always worth saying
        or event.added
        or event.changed
        or event.removed
        or event.issues
        or old_stale != new.stale
    )


def _in_result_order(
    state: EngineState, name: str, valid: dict[str, TemplateDTO], kept: dict[str, TemplateDTO]
) -> dict[str, TemplateDTO]:
    """Valid and kept templates of one instance, in the order the load validated them."""
    out: dict[str, TemplateDTO] = {}
    for tid, instance, _issues, _features in state.verdicts:
        if instance.name != name:
            continue
        if tid in valid:
            out[tid] = valid[tid]
        elif tid in kept:
            out[tid] = kept[tid]
    return out


def _defined_in(state: EngineState, name: str, tid: str, locations: set[str]) -> bool:
    return any(version.layer.file in locations for version in state.versions.get((name, tid), ()))


def _all_issues(state: EngineState) -> list[ValidationIssueDTO]:
    out = list(state.file_issues)
    out += [issue for _, _, issues, _ in state.verdicts if issues for issue in issues]
    return out


def _new_issues(old: EngineState | None, new: EngineState) -> list[ValidationIssueDTO]:
    before = set(_all_issues(old)) if old is not None else set()
    return [issue for issue in _all_issues(new) if issue not in before]
