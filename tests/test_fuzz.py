"""Fuzzing the reader, the engine and the CLI's JSON output with hypothesis.

Each property runs a short budget in CI. For a release check, run the long budget:

    TEMPLAR_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

(docs/security.md gives the figures of the last long run.) The properties:

- the fast reader and the careful one give the same data and the same issues for
  every YAML document, or refuse it with the same code; a comment holding ``& ! *``
  never changes the result;
- JSON files read as the standard library reads them exactly (first of two equal keys
  kept), or are refused for a value JSON output cannot hold;
- through the engine, a config dir loads to the same templates and issues with the
  cache off, cold with the cache and warm from it;
- through the CLI, ``validate --format json`` and ``list --format json`` always print
  JSON, never a traceback, and what ``validate`` passes ``list`` can print.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templar import TemplateEngine
from templar.cli import cli
from templar.errors import TemplateParseError
from templar.reader import (
    MAX_DEPTH,
    MAX_INTEGER,
    MIN_INTEGER,
    parse_layer_document,
    parse_yaml_fast,
    read_carefully,
)

EXAMPLES = int(os.environ.get("TEMPLAR_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Keys that collide, that mean other things to YAML 1.1 or to the core schema, and
#: merge keys.
KEYS = ["a", "b", "name", "true", "True", "1e3", "012", "0x1F", "null", "~", "on", "<<", "'a'"]
#: Scalars as written: core-schema edge cases, values JSON cannot print, escapes.
SCALARS = [
    "1",
    "-7",
    "012",
    "0o17",
    "0x1F",
    "1_000",
    "3.5",
    "1e3",
    "1e400",
    ".inf",
    "-.Inf",
    ".nan",
    "yes",
    "~",
    "null",
    "",
    "True",
    "2024-01-01",
    str(2**63),
    str(2**64 - 1),
    str(2**64),
    str(-(2**63) - 1),
    '"\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\x00"',
    '"tab\\there"',
    "!!binary aGk=",
    "!!binary /w==",
    "!!str 12",
    "R&D",
    "a*b",
    '"#!/bin/bash"',
    "'it''s'",
    "caf\u00e9",
    "[1, 2]",
    "{x: 1}",
]
COMMENTS = ["# R&D", "# !tag *alias &anchor", "#\t tab", "# plain"]

scalar_text = st.sampled_from(SCALARS)
key_text = st.sampled_from(KEYS)


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """A block mapping of block mappings and sequences, a few levels deep, with
    anchors, aliases, merge keys, comments, stray control characters and tabs."""
    anchors: list[str] = []
    lines: list[str] = []

    def mapping(indent: int, depth: int) -> None:
        for _ in range(draw(st.integers(1, 4))):
            key = draw(key_text)
            pad = " " * indent
            choice = draw(st.integers(0, 9))
            if key == "<<":
                if anchors:
                    lines.append(f"{pad}<<: *{draw(st.sampled_from(anchors))}")
                else:
                    lines.append(f"{pad}<<: {{m: 1}}")
            elif choice < 5 or depth > 2:
                lines.append(f"{pad}{key}: {draw(scalar_text)}")
            elif choice < 7:
                anchor = f"n{len(anchors)}"
                lines.append(f"{pad}{key}: &{anchor}")
                mapping(indent + 2, depth + 1)
                anchors.append(anchor)
            elif choice < 8:
                lines.append(f"{pad}{key}:")
                for _ in range(draw(st.integers(1, 3))):
                    lines.append(f"{pad}  - {draw(scalar_text)}")
            elif anchors:
                lines.append(f"{pad}{key}: *{draw(st.sampled_from(anchors))}")
            else:
                lines.append(f"{pad}{key}: {{}}")
            if draw(st.integers(0, 5)) == 0:
                lines.append(pad + draw(st.sampled_from(COMMENTS)))

    mapping(0, 0)
    text = "\n".join(lines) + "\n"
    mutation = draw(st.integers(0, 11))
    if mutation == 0:  # a stray control character somewhere
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at] + draw(st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85"])) + text[at:]
        )
    elif mutation == 1:
        text = "%YAML 1.1\n---\n" + text
    elif mutation == 2:
        text = text.replace("  ", "\t", 1)
    return text


def _outcome(read: Any) -> tuple[str, Any]:
    try:
        document = read()
    except TemplateParseError as e:
        return ("refused", e.code)
    issues = [(i.code, i.line, i.warning) for i in document.issues]
    return ("read", (orjson.dumps(document.data), issues))


@FUZZ
@given(text=yaml_documents())
def test_fuzz_fast_and_careful_readers_agree(text: str) -> None:
    raw = text.encode()
    path = Path("t.yaml")
    chosen = _outcome(lambda: parse_layer_document(path, raw))
    careful = _outcome(lambda: read_carefully(path, raw))
    assert chosen == careful, text
    fast = parse_yaml_fast(raw)
    if fast is not None:  # the fast path took it: same data as the careful reader
        assert careful[0] == "read" and orjson.dumps(fast[0]) == careful[1][0], text
        assert careful[1][1] == [], text
    # a comment holding the characters that send a file the careful way changes nothing
    commented = _outcome(lambda: parse_layer_document(path, b"# R&D !x *y\n" + raw))
    if careful[0] == "read":
        data, issues = careful[1]
        shifted = [(code, line + 1 if line else line, w) for code, line, w in issues]
        assert commented == ("read", (data, shifted)), text
    else:
        assert commented == careful, text


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), children), max_size=4),
    ),
    max_leaves=25,
)


def _json_text(value: Any) -> str:
    """JSON text of ``value``, where a list of (key, value) pairs is an object that
    may write a key twice."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        members = ", ".join(f"{json.dumps(k)}: {_json_text(v)}" for k, v in value)
        return "{" + members + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


@FUZZ
@given(value=json_values, deep=st.sampled_from([0, 0, 0, 99, 101, 300]))
def test_fuzz_json_reads_exactly_or_is_refused(value: Any, deep: int) -> None:
    text = "[" * deep + _json_text(value) + "]" * deep
    duplicates = 0

    def first_kept(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        mapping: dict[str, Any] = {}
        for k, v in pairs:
            if k in mapping:
                duplicates += 1
            else:
                mapping[k] = v
        return mapping

    expected = json.loads(text, object_pairs_hook=first_kept)

    def refusals(node: Any, depth: int = 0) -> set[str]:
        if isinstance(node, (dict, list)):
            children = node.values() if isinstance(node, dict) else node
            found = {"too-deep"} if depth > MAX_DEPTH else set()
            return found.union(*(refusals(c, depth + 1) for c in children))
        if isinstance(node, int) and not isinstance(node, bool):
            return set() if MIN_INTEGER <= node <= MAX_INTEGER else {"number-out-of-range"}
        return set()

    refused = refusals(expected)
    outcome = _outcome(lambda: parse_layer_document(Path("t.json"), text.encode()))
    if refused:  # either of two problems may be the one reported
        assert outcome[0] == "refused" and outcome[1] in refused, text
    else:
        assert outcome[0] == "read", (outcome, text)
        data, issues = outcome[1]
        assert orjson.loads(data) == expected
        # (a key twice inside the value of a key written twice is not read at all)
        assert {code for code, _, _ in issues} == ({"duplicate-key"} if duplicates else set())
        assert len(issues) <= duplicates


TEMPLATE_IDS = ["web", "w\u0435b", "db", "db", "x\u202ey", "a\r\nb", "42", "\ud800"]


@st.composite
def config_dirs(draw: st.DrawFn) -> dict[str, str]:
    """Layer files of a few templates each, with the fuzzed documents as their
    configuration, in YAML or JSON."""
    files: dict[str, str] = {}
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "templates.yaml",
                    "templates.json",
                    "genericprov_templates.yaml",
                    "generictype_templates.json",
                ]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        count = draw(st.integers(1, 3))
        if name.endswith(".json"):
            items = []
            for _ in range(count):
                tid = draw(st.sampled_from(TEMPLATE_IDS))
                body = _json_text(draw(json_values))
                items.append(
                    f'{{"template_id": {json.dumps(tid)}, "configuration": {{"v": {body}}}}}'
                )
            files[name] = "[" + ", ".join(items) + "]"
        else:
            parts = []
            for _ in range(count):
                tid = json.dumps(draw(st.sampled_from(TEMPLATE_IDS)))
                body = draw(yaml_documents()).replace("\n", "\n    ")
                parts.append(f"- template_id: {tid}\n  configuration:\n    {body}")
            files[name] = "\n".join(parts) + "\n"
    return files


def _write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8", errors="surrogatepass")


def _engine_view(engine: TemplateEngine) -> tuple[bytes, bytes]:
    templates = [t.model_dump(mode="json") for t in engine.list_templates()]
    report = engine.validate().model_dump(mode="json")
    for result in report["results"]:
        result.pop("validation_time", None)
    return orjson.dumps(templates), orjson.dumps(report)


@FUZZ
@given(files=config_dirs())
def test_fuzz_engine_gives_one_answer_with_the_cache_off_cold_and_warm(
    files: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("fuzz")
    config = base / "config"
    _write(config, files)
    off = _engine_view(TemplateEngine(config, use_cache=False))
    cold = _engine_view(TemplateEngine(config))
    warm_engine = TemplateEngine(config)
    warm = _engine_view(warm_engine)
    assert off == cold == warm


@FUZZ
@given(files=config_dirs())
def test_fuzz_cli_json_output_always_prints(
    files: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = tmp_path_factory.mktemp("fuzzcli") / "config"
    _write(config, files)
    runner = CliRunner()
    validate = runner.invoke(cli, ["--config-dir", str(config), "validate", "--format", "json"])
    assert validate.exit_code in (0, 1), validate.output
    json.loads(validate.stdout)
    listed = runner.invoke(cli, ["--config-dir", str(config), "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output  # what loads, prints
    printed = json.loads(listed.stdout)
    assert isinstance(printed, list)
