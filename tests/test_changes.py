"""templar.changes: the change event is a pure diff of two states."""

from __future__ import annotations

import copy

from templar.changes import change_event, something_happened
from templar.models import Severity, TemplateDTO, ValidationIssueDTO
from templar.state import EngineState, ProviderInstance

GENERIC = ProviderInstance("generic", "generic")


def state(
    *templates: tuple[str, str], issues: list[ValidationIssueDTO] | None = None
) -> EngineState:
    out = EngineState(instances=[GENERIC])
    out.templates["generic"] = {
        tid: TemplateDTO(
            template_id=tid, name=name, provider_type="generic", provider_name="generic"
        )
        for tid, name in templates
    }
    out.verdicts = [(tid, GENERIC, [], []) for tid, _ in templates]
    out.file_issues = issues or []
    return out


def test_added_changed_removed_and_new_issues() -> None:
    issue = ValidationIssueDTO(code="x", severity=Severity.ERROR, message="m", file="f")
    old = state(("a", "A"), ("b", "B"))
    new = state(("b", "B2"), ("c", "C"), issues=[issue])
    before_old, before_new = copy.deepcopy(old), copy.deepcopy(new)
    event = change_event(old, new, files=["z", "y"])
    assert (event.added, event.changed, event.removed) == (
        {"generic": ["c"]},
        {"generic": ["b"]},
        {"generic": ["a"]},
    )
    assert event.issues == [issue] and event.files == ["y", "z"]
    assert something_happened(event, old, new)
    # pure: neither state changed
    assert old == before_old and new == before_new


def test_the_same_state_twice_is_no_news() -> None:
    old, new = state(("a", "A")), state(("a", "A"))
    event = change_event(old, new)
    assert not (event.added or event.changed or event.removed or event.issues)
    assert not something_happened(event, old, new)


def test_a_recovered_template_is_changed_and_stale_ones_are_listed() -> None:
    old = state(("a", "A"))
    old.stale = {"generic": {"a"}}
    new = state(("a", "A"))
    assert change_event(old, new).changed == {"generic": ["a"]}
    new.stale = {"generic": {"a"}}
    event = change_event(old, new)
    assert event.stale == {"generic": ["a"]} and not event.changed
