"""``list --style``'s JSON document is written as it is exported (cli/commands/styled.py):
byte for byte what writing it whole would print."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from templar.cli.commands.styled import echo_json_document
from templar.cli.render import echo_data

ITEMS: list[Any] = [
    {"templateId": "a", "maxNumber": 1, "attributes": {"type": ["String", "X86_64"]}},
    {"templateId": 'b\n"quoted"', "nested": {"deep": [[], {}, [1, {"x": None}]]}, "e": {}},
    {},
    "a string item",
    [1, [2, [3]]],
]
TAILS: list[dict[str, Any]] = [
    {},
    {"message": "2 templates listed; left out for errors: 1 template", "left_out": 1},
    {"files_left_out": 2, "nested": {"a": [1, 2]}},
]


def _printed(write: Any) -> bytes:
    @click.command()
    def command() -> None:
        write()

    result = CliRunner().invoke(command, [])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("count", [0, 1, 2, len(ITEMS)])
def test_the_streamed_document_is_the_whole_one_byte_for_byte(
    count: int, tail: dict[str, Any]
) -> None:
    items = ITEMS[:count]
    whole = _printed(lambda: echo_data({"templates": items, **tail}, "json"))
    streamed = _printed(lambda: echo_json_document("templates", iter(items), tail))
    assert streamed == whole


def test_a_document_larger_than_one_write_is_written_whole() -> None:
    # several megabytes: written in more than one piece
    items = [{"templateId": f"t-{n}", "description": "x" * 500, "n": n} for n in range(8000)]
    whole = _printed(lambda: echo_data({"templates": items, "left_out": 3}, "json"))
    streamed = _printed(lambda: echo_json_document("templates", iter(items), {"left_out": 3}))
    assert len(whole) > 4_000_000 and streamed == whole
