"""templar.locate: the one factory of located issues and the one translation of
pydantic errors, on real files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from templar.locate import Locator, field_problems, located_issue
from templar.models import LayerKind, Severity
from templar.storage import FileStorage, LayerSource

LAYER = """\
templates:
  - template_id: web
    name: Web
    configuration:
      size: 3
"""


@pytest.fixture
def layer(tmp_path: Path) -> LayerSource:
    path = tmp_path / "templates.yaml"
    path.write_text(LAYER)
    return LayerSource(LayerKind.SHARED, None, str(path))


def test_a_position_given_as_a_callable_is_resolved_when_first_read() -> None:
    asked: list[bool] = []

    def where() -> tuple[int, int]:
        asked.append(True)
        return (4, 7)

    issue = located_issue("c", "m", file="f.yaml", position=where, template_id="t")
    assert asked == []  # nobody has looked at it yet
    assert (issue.file, issue.line, issue.column, issue.template_id) == ("f.yaml", 4, 7, "t")
    assert asked == [True]
    assert located_issue("c", "m", position=None).line is None


def test_the_locator_points_at_keys_and_at_values(tmp_path: Path, layer: LayerSource) -> None:
    locator = Locator(FileStorage(tmp_path), None)
    key = locator.issue("k", "m", source=layer, doc_path=("templates", 0, "name"))
    value = locator.issue("v", "m", source=layer, doc_path=("templates", 0, "name"), value=True)
    nested = locator.issue(
        "n", "m", source=layer, doc_path=("templates", 0, "configuration", "size"), value=True
    )
    assert (key.file, key.line, key.column) == (layer.location, 3, 5)
    assert (value.line, value.column) == (3, 11)
    assert (nested.line, nested.column) == (5, 13)
    assert key.severity is Severity.ERROR


def test_an_issue_about_a_whole_file_has_no_position(tmp_path: Path, layer: LayerSource) -> None:
    issue = Locator(FileStorage(tmp_path), None).issue(
        "w", "m", source=layer, severity=Severity.WARNING
    )
    assert (issue.file, issue.line, issue.column) == (layer.location, None, None)


def test_positions_follow_an_edit_of_the_file(tmp_path: Path, layer: LayerSource) -> None:
    locator = Locator(FileStorage(tmp_path), None)
    assert locator.position(layer, ("templates", 0, "name")) == (3, 5)
    Path(layer.location).write_text("# moved down\n\n" + LAYER)
    assert locator.position(layer, ("templates", 0, "name")) == (5, 5)


def test_defaults_layers_are_located_in_their_config_file(tmp_path: Path) -> None:
    settings = tmp_path / "templar.yaml"
    settings.write_text("provider_defaults:\n  generic:\n    name: N\n")
    source = LayerSource(LayerKind.TYPE_DEFAULTS, "generic", str(settings))
    locator = Locator(FileStorage(tmp_path), settings)
    assert locator.position(source, ("provider_defaults", "generic", "name")) == (3, 5)
    issue = locator.settings_issue("x", "m", ("provider_defaults", "generic"), value=True)
    assert (issue.file, issue.line) == (str(settings), 3)


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: list[Inner] = []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"nme": "x"},
            [
                ("missing-field", ("name",), "field required"),
                ("unknown-key", ("nme",), "unknown key 'nme' (did you mean 'name'?)"),
            ],
        ),
        ({}, [("missing-field", ("name",), "field required")]),
        (
            {"name": "x", "inner": [{"port": "eighty"}]},
            [
                (
                    "invalid-field",
                    ("inner", 0, "port"),
                    "Input should be a valid integer, unable to parse string as an integer "
                    "(got 'eighty')",
                )
            ],
        ),
        (
            {"name": "x", "inner": [{"port": 1, "prot": 2}]},
            [("unknown-key", ("inner", 0, "prot"), "unknown key 'prot' (did you mean 'port'?)")],
        ),
    ],
)
def test_pydantic_errors_become_field_problems(data: dict[str, Any], expected: list[Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    problems = field_problems(caught.value, Outer)
    assert [(p.code, p.path, p.message) for p in problems] == expected
    assert all(p.at_value == (p.code == "invalid-field") for p in problems)


def test_a_prefix_and_the_written_spelling_go_into_the_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        Inner.model_validate({"port": 1, "portt": 2})
    (problem,) = field_problems(
        caught.value, Inner, prefix=("configuration",), written=lambda path: "Portt"
    )
    assert problem.path == ("configuration", "portt")
    assert problem.dotted == "configuration.portt"
    assert problem.message.startswith("unknown key 'Portt'")
