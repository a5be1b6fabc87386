"""templar.issues: a validation issue whose position is found when first read, and
templar.models as the public home of the issue types (imports, reprs and pickles)."""

from __future__ import annotations

import pickle

import pytest

import templar.issues
import templar.models
from templar.models import PositionAnchor, Severity, ValidationIssueDTO, printable


def deferred(calls: list[int]) -> ValidationIssueDTO:
    def position() -> tuple[int, int]:
        calls.append(1)
        return (3, 7)

    return ValidationIssueDTO.deferred(
        position,
        anchor=PositionAnchor("t.yaml", ("templates", 0, "name")),
        code="c",
        severity=Severity.WARNING,
        message="m",
        file="t.yaml",
    )


def test_a_deferred_position_is_found_once_when_first_read() -> None:
    calls: list[int] = []
    issue = deferred(calls)
    assert issue.pending_anchor == PositionAnchor("t.yaml", ("templates", 0, "name"))
    assert calls == []  # made, not located
    assert (issue.line, issue.column) == (3, 7)
    assert issue.column == 7 and calls == [1]
    assert issue.pending_anchor is None


@pytest.mark.parametrize(
    "show",
    [
        lambda i: i.model_dump(),
        lambda i: i.format_line(),
        lambda i: repr(i),
        lambda i: hash(i),
        lambda i: pickle.dumps(i),
    ],
)
def test_showing_or_pickling_an_issue_locates_it_first(show: object) -> None:
    calls: list[int] = []
    show(deferred(calls))  # type: ignore[operator]
    assert calls == [1]


def test_a_pickled_issue_comes_back_located_and_equal() -> None:
    issue = deferred([])
    back = pickle.loads(pickle.dumps(issue))
    assert back == issue and (back.line, back.column) == (3, 7)
    assert back.pending_anchor is None


def test_the_issue_types_import_from_templar_models_and_old_pickles_still_load() -> None:
    for name in ("PositionAnchor", "Severity", "ValidationIssueDTO", "printable"):
        assert getattr(templar.models, name) is getattr(templar.issues, name)
        assert name in templar.models.__all__
    # a pickle written before the split names templar.models: the re-export loads it
    old = pickle.dumps(Severity.ERROR).replace(b"templar.issues", b"templar.models")
    assert pickle.loads(old) is Severity.ERROR
    back = pickle.loads(pickle.dumps(deferred([])))
    assert isinstance(back, ValidationIssueDTO) and (back.line, back.column) == (3, 7)


def test_every_name_models_exports_imports_from_it() -> None:
    for name in templar.models.__all__:
        assert getattr(templar.models, name) is not None, name
    assert printable("a\nb\x1b") == "a\\nb\\x1b"
