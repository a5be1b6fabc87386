"""Every console example in the README, docs/ and the plugins' READMEs, run and compared.

A ```` ```console ```` block is a shell session: ``$ command`` lines, each followed by
what it prints (stdout and stderr, as a terminal shows them). Each block runs in one
bash process, so ``echo $?`` and ``cd`` work as they read. Blocks of one document run
in order in one working directory holding a copy of ``sample_configs/`` and share one
cache directory, as a reader following the page would.

Matching, so examples can be trimmed and need no churn:

- a line ``...`` stands for any number of lines, and ``...`` inside a line for any text;
- volatile values are compared by shape on both sides: load times (``0.8 ms``), clock
  times, ISO timestamps, cache sizes and ages;
- the working directory shows as ``/path/to/templar`` and the cache directory as
  ``/home/me/.cache/templar``.

A block whose first command is ``cat FILE`` for a file that does not exist runs in a
scratch directory of its own, where each such ``cat`` first writes FILE with the
output shown: a page can set up an example by showing the files.

``<!-- docs-test: skip REASON -->`` on the line before a block skips it (``watch``
runs until Ctrl-C).

After changing output, regenerate the examples and review the diff:
``TEMPLAR_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs.py`` (lines that
already match, wildcards included, are kept; a trimmed output stays trimmed).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "plugins").glob("*/README.md")]
)
SHOWN_WORKDIR = "/path/to/templar"
SHOWN_CACHE = "/home/me/.cache/templar"
UPDATE = os.environ.get("TEMPLAR_UPDATE_DOCS", "") not in ("", "0")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b[^>]*-->\s*$")

# Values that differ from run to run, compared by their shape only.
VOLATILE = [
    (re.compile(r"\b\d+(\.\d+)? ms\b"), "#ms"),
    (re.compile(r"\b\d+(\.\d+)? (B|KB|MB|GB)\b"), "#size"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "#timestamp"),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "#time"),
    (re.compile(r'("age_seconds": |\bage {8})\d+(\.\d+)?'), r"\1#"),
    (re.compile(r'"(size_bytes|validation_time|load_time_ms)": [0-9.e+-]+'), r'"\1": #'),
    (re.compile(r"\b[0-9a-f]{12,64}\b"), "#hash"),
    # cache counters depend on how long the previous examples took (the TTL)
    # (and answers on the clock: an input changed within two seconds is not trusted)
    (
        re.compile(
            r"^(entries|hits|misses)( +)\d+( \(\d+ loads?, \d+ parsed files?(, \d+ answers?)?\))?"
        ),
        r"\1 #",
    ),
    (re.compile(r'"(entries|loads|parsed_files|answers|hits|misses|hit_count)": \d+'), r'"\1": #'),
    (re.compile(r"served \d+ times?|removed \d+ entr(y|ies)"), "#count"),
    # column widths follow the widest (volatile) cell: alignment is not compared
    (re.compile(r"(?<=\S) {2,}"), "  "),
]


@dataclass
class Command:
    """One ``$ command`` of a block and the output shown under it."""

    line: str
    expected: list[str]


def parse_session(text: str) -> list[Command]:
    commands: list[Command] = []
    for raw in text.splitlines():
        if raw.startswith("$ "):
            commands.append(Command(raw[2:], []))
        elif commands:
            commands[-1].expected.append(raw)
    return commands


def _normalise(line: str) -> str:
    for pattern, shape in VOLATILE:
        line = pattern.sub(shape, line)
    return line.rstrip()


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` fits ``expected``, with ``...`` as a wildcard for lines or text."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = _normalise(line).split("...")
            parts.append(r"[^\n]*?".join(re.escape(p) for p in pieces) + r"\n")
    pattern = "".join(parts)
    text = "".join(_normalise(line) + "\n" for line in actual)
    return re.fullmatch(pattern, text) is not None


def updated(expected: list[str], actual: list[str]) -> list[str]:
    """What the update mode writes: the actual output, trimmed where the page trimmed it.

    A page that trims (``...`` lines) keeps its shape: each line it shows becomes the
    closest line of the actual output, in order, and the ``...`` lines stay.
    """
    if matches(expected, actual):
        return expected
    if any(line.strip() == "..." for line in expected):
        new: list[str] = []
        position = 0
        for line in expected:
            if line.strip() == "...":
                new.append(line)
                continue
            rest = actual[position:]
            close = difflib.get_close_matches(line, rest, n=1, cutoff=0.5)
            if not close:
                break
            position += rest.index(close[0]) + 1
            new.append(close[0])
        else:
            if matches(new, actual):
                return new
    return actual


@dataclass
class Workspace:
    """The working and cache directories of one document's examples."""

    workdir: Path
    cache: Path
    scratch: int = 0


class ConsoleParser(CodeBlockParser):
    """```` ```console ```` blocks: shell sessions whose output is compared."""

    language = "console"

    def evaluate(self, example: Example) -> str | None:
        workspace: Workspace = example.namespace["workspace"]
        return run_block(example, workspace)


SYBIL = Sybil(parsers=[ConsoleParser()])


def _examples() -> list[pytest.ParameterSet]:
    out = []
    for document in DOCUMENTS:
        parsed = SYBIL.parse(document)
        for example in parsed:
            line = parsed.text.count("\n", 0, example.region.start) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            before = parsed.text[: example.region.start].rstrip("\n").rsplit("\n", 1)[-1]
            marks = [pytest.mark.skip(reason=before.strip())] if SKIP.search(before) else []
            out.append(pytest.param(example, id=name, marks=marks))
    return out


def _script(commands: list[Command], scratch: bool) -> str:
    """One bash script: each command's output, then a marker line with its status."""
    lines = ["__status=0"]
    for index, command in enumerate(commands):
        cat = re.fullmatch(r"cat (\S+)", command.line)
        if scratch and cat:
            content = "".join(line + "\n" for line in command.expected)
            lines.append(f"[ -e {cat.group(1)} ] || printf %s {_quote(content)} > {cat.group(1)}")
        lines.append(f"(exit $__status); {{ {command.line}\n}} 2>&1; __status=$?")
        lines.append(f"printf '\\n@@docs-test {index}@@\\n'")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def run_block(example: Example, workspace: Workspace) -> str | None:
    commands = parse_session(example.parsed)
    first = re.fullmatch(r"cat (\S+)", commands[0].line) if commands else None
    cwd = workspace.workdir
    scratch = bool(first) and not (cwd / first.group(1)).exists()  # type: ignore[union-attr]
    if scratch:
        workspace.scratch += 1
        cwd = workspace.workdir / f"scratch-{workspace.scratch}"
        cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPLAR_", "ORB_"))}
    for name in ("NO_COLOR", "COLUMNS", "FORCE_COLOR", "PYTHONPATH"):
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TEMPLAR_CACHE_DIR"] = str(workspace.cache)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", _script(commands, scratch)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = _split(done.stdout, len(commands))
    if outputs is None:
        return f"the block did not run to its end:\n{done.stdout}\n{done.stderr}"
    problems = []
    new_text = []
    for command, output in zip(commands, outputs, strict=True):
        actual = [_shown(line, cwd, workspace) for line in output]
        new_text += [f"$ {command.line}", *updated(command.expected, actual)]
        if not matches(command.expected, actual):
            problems.append(
                f"$ {command.line}\n--- the page shows\n"
                + "\n".join(command.expected)
                + "\n--- it prints\n"
                + "\n".join(actual)
            )
    if problems and UPDATE:
        _rewrite(example, "\n".join(new_text) + "\n")
        return None
    return "\n\n".join(problems) or None


def _split(stdout: str, count: int) -> list[list[str]] | None:
    outputs = []
    rest = stdout
    for index in range(count):
        marker = f"\n@@docs-test {index}@@\n"
        if marker not in rest:
            return None
        output, rest = rest.split(marker, 1)
        lines = output.split("\n")
        if lines and lines[-1] == "":  # the newline printed before the marker
            lines.pop()
        outputs.append(lines)
    return outputs


def _shown(line: str, cwd: Path, workspace: Workspace) -> str:
    line = line.replace(str(workspace.cache), SHOWN_CACHE)
    line = line.replace(str(cwd), SHOWN_WORKDIR).replace(str(workspace.workdir), SHOWN_WORKDIR)
    return line.rstrip()


def _rewrite(example: Example, new_body: str) -> None:
    path = Path(example.path)
    text = path.read_text(encoding="utf-8")
    old_body = example.parsed
    fence = "```console\n"
    start = text.find(fence + old_body)
    if start < 0:
        return  # the page changed under us: the next run reports it
    start += len(fence)
    path.write_text(text[:start] + new_body + text[start + len(old_body) :], encoding="utf-8")


_WORKSPACES: dict[str, Workspace] = {}


@pytest.fixture
def workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    example: Example = request.node.callspec.params["example"]
    key = str(example.path)
    if key not in _WORKSPACES:
        base = tmp_path_factory.mktemp("docs")
        workdir = base / "templar"
        shutil.copytree(ROOT / "sample_configs", workdir / "sample_configs")
        _WORKSPACES[key] = Workspace(workdir, base / "cache")
    return _WORKSPACES[key]


@pytest.mark.parametrize("example", _examples())
def test_console_example(example: Example, workspace: Workspace) -> None:
    example.namespace["workspace"] = workspace
    example.evaluate()


def test_the_matcher_is_strict_where_the_page_is_not_trimmed() -> None:
    assert matches(["a", "b"], ["a", "b"])
    assert not matches(["a", "b"], ["a", "c"])
    assert not matches(["a"], ["a", "b"])
    assert matches(["a", "..."], ["a", "b", "c"])
    assert matches(["x ... z"], ["x yy z"])
    assert not matches(["x ... z"], ["x yy", "z"])
    assert matches(["took 0.8 ms"], ["took 12.25 ms"])
    assert updated(["a", "..."], ["a", "b", "c"]) == ["a", "..."]
    trimmed = ["head", "...", "the line = 1 <- old.yaml:4:5", "..."]
    actual = ["head", "x", "the line = 1 <- dir/old.yaml:4:5", "y"]
    assert updated(trimmed, actual) == ["head", "...", "the line = 1 <- dir/old.yaml:4:5", "..."]
    assert updated(["a", "b"], ["x", "y", "z"]) == ["x", "y", "z"]
