"""What a reload changed: the :class:`~templar.models.ChangeEvent` between two loads.

A pure function of two states: nothing here changes either of them. Keeping the last
good version of templates that broke (hot reload) is :mod:`templar.reload`'s business,
done before the diff; the diff then reads which templates the new state marks stale.
"""

from __future__ import annotations

from collections.abc import Iterable

from templar.models import ChangeEvent, ValidationIssueDTO
from templar.state import EngineState


def change_event(
    old: EngineState | None,
    new: EngineState,
    *,
    files: Iterable[str] = (),
    full_reload: bool = False,
) -> ChangeEvent:
    """The difference between ``old`` and ``new``: templates added, changed, removed and
    stale per provider instance, and the issues ``new`` has that ``old`` had not."""
    event = ChangeEvent(files=sorted(files), full_reload=full_reload)
    old_templates = old.templates if old is not None else {}
    old_stale = old.stale if old is not None else {}
    for name in dict.fromkeys([*new.templates, *old_templates]):
        before = old_templates.get(name, {})
        after = new.templates.get(name, {})
        stale = new.stale.get(name, set())
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
    event.issues = new_issues(old, new)
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


def new_issues(old: EngineState | None, new: EngineState) -> list[ValidationIssueDTO]:
    """The issues of ``new`` that ``old`` did not have."""
    before = set(old.all_issues()) if old is not None else set()
    return [issue for issue in new.all_issues() if issue not in before]
