"""The position index answers as ruamel.yaml's round-trip loader does, on every path of
real files (the repository's samples) and of tricky ones, for keys and for values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from templar.positions import PositionIndex

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(
    p
    for pattern in ("sample_configs/**/*", "plugins/*/tests/samples/**/*")
    for p in ROOT.glob(pattern)
    if p.suffix in (".yaml", ".yml", ".json")
    and p.is_file()
    # an alias bomb: ruamel's tree of it has billions of paths
    and b"[*a," not in p.read_bytes()
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``data``, and a few that are not there."""
    if isinstance(data, dict):
        yield (*prefix, "no-such-key")
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        yield (*prefix, len(data))
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from paths(value, (*prefix, i))


def check_file(path: Path) -> int:
    index = PositionIndex.build(path)
    if index is None:
        from ruamel.yaml import YAML

        with pytest.raises(Exception):  # noqa: B017 - any parse error
            YAML(typ="rt").load(path.read_text())
        pytest.skip("does not parse")
    careful = index._careful_root()  # the reference
    if careful is None:
        pytest.skip("ruamel.yaml cannot parse it: no reference")
    checked = 0
    for doc_path in paths(careful):
        for value in (False, True):
            expected = index._locate_careful(doc_path, value)
            assert index.locate(doc_path, value=value) == expected, (path, doc_path, value)
            checked += 1
    return checked


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_of_the_samples_is_where_ruamel_says(path: Path) -> None:
    check_file(path)  # a document that is one scalar has no path: nothing to compare


TRICKY = {
    "block.yaml": """\
# comment
templates:
- templateId: a   # trailing comment
  attributes:
    type: [String, "X86_64"]
  empty: []
  emptym: {}
  block:

    # a comment between
    k: v
  "quoted": 'sq'
  lst:
  - 1
  - x: 2
  - [a, b]
  - {c: d}
  lit: |
    hello
  fold: >-
    folded
  esc: "tab\\there \\u00e9 é"
  ünïcode: "é"
  after: é
- plain
-   spaced: 1
""",
    "mapping.yml": "a:\n  b: 1\nc:\n  - d: 2\n",
    "indented.yaml": "templates:\n  - templateId: x\n    maxNumber: 3\n  - templateId: y\n",
    "flow.json": '{"templates": [{"templateId": "a", "n": [1, {"x": "y"}], "e": {}}, {"b": "\\"q\\""}]}',
    "pretty.json": '{\n  "templates": [\n    {\n      "templateId": "a",\n      "maxNumber": 2\n    }\n  ]\n}\n',
    "aliases.yaml": "base: &b\n  k: 1\n  j: 2\nt:\n  <<: *b\n  j: 3\nu: *b\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(TRICKY[name], encoding="utf-8")
    assert check_file(path) > 0


def test_a_file_that_does_not_parse_has_no_index(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [1, 2\nb: {\n")
    assert PositionIndex.build(path) is None


def test_a_located_issue_finds_its_position_only_when_it_is_used() -> None:
    from templar.locate import located_issue
    from templar.models import TemplateValidationResultDTO

    asked: list[int] = []

    def position() -> tuple[int, int]:
        asked.append(1)
        return (12, 5)

    issue = located_issue("x-code", "a message", file="t.yaml", position=position)
    result = TemplateValidationResultDTO(
        template_id="t",
        provider_instance="aws",
        provider_type="aws",
        is_valid=False,
        errors=[issue],
    )
    assert asked == [] and result.errors[0].code == "x-code"
    assert result.model_dump()["errors"][0]["line"] == 12  # serialising resolves it
    assert asked == [1]
    assert (issue.line, issue.column) == (12, 5) and asked == [1]  # once
    assert issue.format_line().startswith("t.yaml:12:5: error x-code")
    again = located_issue("x-code", "a message", file="t.yaml", position=position)
    assert again == issue and hash(again) == hash(issue)
    unknown = located_issue("x-code", "m", file="t.yaml", position=lambda: None)
    assert (unknown.line, unknown.column) == (None, None)
    assert '"line":12' in located_issue("c", "m", position=position).model_dump_json()
