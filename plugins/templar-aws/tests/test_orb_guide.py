"""The examples of the user guide's "ORB config dirs" section are true.

Each ``$ templates ...`` line of the section's console blocks is run from the repository
root on ``sample_configs/orb/`` and its output compared with the lines under it
(``...`` stands for any number of lines).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from templar.cli import cli

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "user-guide.md"
SECTION = "## ORB config dirs"


def _section() -> str:
    text = GUIDE.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else None]


def _examples() -> list[tuple[str, list[str]]]:
    examples: list[tuple[str, list[str]]] = []
    in_console = False
    for line in _section().splitlines():
        if line.startswith("```"):
            in_console = line == "```console"
            continue
        if not in_console:
            continue
        if line.startswith("$ "):
            examples.append((line[2:], []))
        elif examples:
            examples[-1][1].append(line)
    return examples


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` against ``actual``, ``...`` matching any run of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and _matches(expected[1:], actual[1:])


EXAMPLES = _examples()


def test_the_section_has_examples() -> None:
    assert len(EXAMPLES) >= 3
    assert all(command.startswith("templates ") for command, _ in EXAMPLES)


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_an_orb_guide_example_prints_what_the_guide_says(
    command: str, expected: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    env = {
        "TEMPLAR_PLUGINS": "aws",
        "TEMPLAR_CACHE_DIR": str(tmp_path / "cache"),
        "TEMPLAR_CONFIG_DIR": None,
        "ORB_CONFIG_DIR": None,
    }
    result = CliRunner().invoke(cli, shlex.split(command)[1:], env=env)
    actual = result.stdout.splitlines() + result.stderr.splitlines()
    assert _matches(expected, actual), "\n".join(actual)
