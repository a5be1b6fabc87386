"""The fast read path (rapidyaml) and the careful one (ruamel.yaml) agree on everything,
and both follow the YAML 1.2 core schema on the scalars users write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from templar import TemplateEngine
from templar.errors import TemplateParseError
from templar.reader import (
    ParsedDocument,
    parse_document,
    parse_layer_document,
    parse_yaml_carefully,
    parse_yaml_fast,
)

YAML_12_SCALARS = [
    ("yes", "yes"),
    ("on", "on"),
    ("no", "no"),
    ("true", True),
    ("True", True),
    ("FALSE", False),
    ("null", None),
    ("~", None),
    ("Null", None),
    ("", None),
    ("42", 42),
    ("-7", -7),
    ("+12", 12),
    ("012", 12),
    ("0o17", 15),
    ("0x1F", 31),
    ("1_000", "1_000"),
    ("3.5", 3.5),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("nan", "nan"),
    ("2024-01-01", "2024-01-01"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("'123'", "123"),
    ('"true"', "true"),
    ("'it''s'", "it's"),
    ('"caf\\u00e9"', "café"),
    ("ami-012345", "ami-012345"),
    ("sg-0528dfedb6d763b16", "sg-0528dfedb6d763b16"),
    ("a: b", None),  # placeholder replaced below: plain 'a: b' is a mapping, not a scalar
]


@pytest.mark.parametrize(("written", "expected"), YAML_12_SCALARS[:-1])
def test_scalars_follow_yaml_1_2_on_both_paths(written: str, expected: Any) -> None:
    document = f"value: {written}\n".encode()
    value = parse_document(Path("t.yaml"), document)["value"]
    careful = parse_yaml_carefully(Path("t.yaml"), document)["value"]
    assert value == expected and type(value) is type(expected)
    assert careful == expected and type(careful) is type(expected)


def test_the_fast_path_is_taken_for_ordinary_files() -> None:
    document = b"templates:\n  - template_id: a\n    size: 3\n    ports: [80, 443]\n    on: yes\n"
    assert parse_yaml_fast(document) == (
        {"templates": [{"template_id": "a", "size": 3, "ports": [80, 443], "on": "yes"}]},
        False,
    )
    assert parse_yaml_fast(b"a: 1\nb:\n") == ({"a": 1, "b": None}, True)


@pytest.mark.parametrize(
    "document",
    [
        b"a: !!str 1\n",
        b"a: &x 1\nb: *x\n",
        b"a: b\n---\nc: d\n",
        b"%YAML 1.2\n---\na: 1\n",
        b"nan: 1\n",
        b"a:\n\t- 1\n",
    ],
)
def test_features_the_fast_path_drops_go_the_careful_way(document: bytes) -> None:
    assert parse_yaml_fast(document) is None


#: what sends a file the careful way before rapidyaml sees it (templar.reader.fast)
CAREFUL_SOURCE = rb"[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbf[\xbe\xbf]|\\[uU]0*[dD][89a-fA-F]"


@pytest.mark.parametrize(
    "document", [b"m: {listen: ::1}\n", b"env: {PORT: :8080}\n", b"m: {:a: 1}\n"]
)
def test_a_flow_scalar_starting_with_a_colon_goes_the_careful_way(document: bytes) -> None:
    # rapidyaml reads these; ruamel.yaml refuses them, and the careful reader decides
    with pytest.raises(TemplateParseError):
        parse_yaml_carefully(Path("t.yaml"), document)
    assert parse_yaml_fast(document) is None


@pytest.mark.parametrize("document", [b"a: \xff\n", b"a: caf\xe9\n", b"\xff: 1\n"])
def test_bytes_that_are_not_utf8_are_handed_back(document: bytes) -> None:
    assert parse_yaml_fast(document) is None


@pytest.mark.parametrize(
    "text",
    [
        *(b"\x01", b"\x7f", b"\t", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9"),
        *(b"\xef\xbf\xbe", b"\\ud800", b"\\U0000DBFF"),
    ],
)
def test_a_character_the_fast_path_mangles_goes_the_careful_way(text: bytes) -> None:
    # as a value, in a comment, quoted or not: NEL, LS, PS, controls, escaped surrogates
    for document in (b"a: x" + text + b"y\n", b'a: "x' + text + b'"\n', b"a: 1 # " + text + b"\n"):
        assert parse_yaml_fast(document) is None, document


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *(b"a", b" ", b"\\", b"u", b"U", b"0", b"d", b"D", b"8", b"\xc2", b"\x85"),
                *(b"\xa0", b"\xe2", b"\x80", b"\xa8", b"\xef", b"\xbf", b"\xbe", b"\x01"),
                *(b"\x7f", b"\xc3"),
            ]
        ),
        max_size=12,
    ).map(b"".join)
)
def test_the_fast_path_refuses_every_file_its_careful_expression_matches(text: bytes) -> None:
    import re

    document = b'a: "' + text + b'"\n'
    if re.search(CAREFUL_SOURCE, document):
        assert parse_yaml_fast(document) is None


plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    plain_text,
    st.sampled_from(
        [
            "True",
            "~",
            "012",
            "0x1F",
            "nan",
            "1_000",
            "yes",
            "2024-01-01",
            "+5",
            ".inf",
            "-",
            "a: b",
            "#x",
        ]
    ),
)
keys = st.one_of(
    st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
    st.sampled_from(["nan", "True", "on", "null"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)


def _dump(data: Any, flow: bool) -> bytes:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    out = StringIO()
    yaml.dump({"doc": data}, out)
    return out.getvalue().encode()


@settings(max_examples=300, deadline=None)
@given(data=documents, flow=st.booleans())
def test_fast_and_careful_paths_agree(data: Any, flow: bool) -> None:
    document = _dump(data, flow)
    try:
        careful = parse_yaml_carefully(Path("t.yaml"), document)
    except TemplateParseError:
        careful = None
    # ruamel.yaml does not always read back what it wrote (it emits '?0' unquoted in
    # flow style, then reads a complex key): such documents say nothing about us.
    assume(careful == {"doc": data})
    fast = parse_yaml_fast(document)
    if fast is not None:
        data_fast, may_hold_nulls = fast
        assert data_fast == careful, document
        if not may_hold_nulls:
            assert b"null" not in orjson.dumps(careful), "a null the fast path missed"
    assert parse_document(Path("t.yaml"), document) == careful


@pytest.mark.parametrize("document", [b"# nothing yet\n", b"\n\n", b"---\n", b"# a\n# b\n"])
def test_a_document_with_only_comments_is_empty(document: bytes) -> None:
    assert parse_document(Path("t.yaml"), document) is None


# -- issue 9: one meaning per document, bounded work, only what can print ---------------

FAST_YAML = Path("t.yaml")
JSON_FILE = Path("t.json")


def _read(document: bytes, path: Path = FAST_YAML) -> ParsedDocument:
    return parse_layer_document(path, document)


def _bounded(code: str, *, cpu_seconds: int = 20, memory_mb: int = 1024) -> None:
    """Run ``code`` in a fresh interpreter held to ``cpu_seconds`` of CPU and
    ``memory_mb`` of address space by the kernel: work and memory bounded, whatever
    the machine's speed (a limit, not a timing)."""
    limits = (
        "import resource;"
        f"resource.setrlimit(resource.RLIMIT_CPU, ({cpu_seconds}, {cpu_seconds}));"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory_mb << 20}, {memory_mb << 20}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", limits + code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def merge_key_bomb(levels: int, indent: str = "") -> str:
    """Each level merges the one below twice: the expansion doubles per level."""
    lines = [f"{indent}m0: &m0 {{k0: v}}"]
    lines += [
        f"{indent}m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}" for i in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def test_a_merge_key_bomb_is_read_in_bounded_work_and_memory(tmp_path: Path) -> None:
    # 40 levels: 2**40 copies the way merge keys used to be flattened
    layer = tmp_path / "templates.yaml"
    layer.write_text("- template_id: a\n  configuration:\n" + merge_key_bomb(40, "    "))
    _bounded(
        "from pathlib import Path\n"
        "from templar.reader import read_document\n"
        f"data = read_document(Path({str(layer)!r}))\n"
        "merged = data[0]['configuration']['m39']\n"
        "assert sorted(merged) == sorted(f'k{i}' for i in range(40)), merged\n"
    )


def test_a_merge_key_bomb_in_templar_yaml_and_a_layer_stalls_no_command(tmp_path: Path) -> None:
    (tmp_path / "templar.yaml").write_text(
        "cache: {enabled: false}\n_x:\n" + merge_key_bomb(40, "  ")
    )
    (tmp_path / "templates.yaml").write_text(
        "- template_id: a\n  configuration:\n" + merge_key_bomb(40, "    ")
    )
    _bounded(
        "from templar import TemplateEngine, ConfigurationError\n"
        f"try:\n    TemplateEngine({str(tmp_path)!r}).validate()\n"
        "except ConfigurationError as e:\n    assert 'templar.yaml' in str(e), e\n"
    )


def test_merge_keys_past_the_budget_are_refused_as_a_bomb() -> None:
    # every level merges 200 references to the level below: ~ 200 * n**2 / 2 key copies
    _bounded(
        "from pathlib import Path\n"
        "from templar.errors import TemplateParseError\n"
        "from templar.reader import parse_layer_document\n"
        "lines = ['m0: &m0 {k0: v}']\n"
        "for i in range(1, 200):\n"
        "    refs = ', '.join([f'*m{i - 1}'] * 200)\n"
        "    lines.append(f'm{i}: &m{i} {{<<: [{refs}], k{i}: v}}')\n"
        "try:\n"
        "    parse_layer_document(Path('t.yaml'), '\\n'.join(lines).encode())\n"
        "except TemplateParseError as e:\n"
        "    assert e.code == 'alias-bomb' and 'merge' in e.reason, e\n"
        "else:\n"
        "    raise AssertionError('not refused')\n"
    )


def test_merge_keys_keep_their_meaning() -> None:
    document = b"base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nt: {<<: [*b, *o], x: 9}\n"
    assert _read(document).data["t"] == {"x": 9, "y": 2, "z": 4}
    # a mapping merging itself merges what it holds so far: nothing, and no hang
    assert _read(b"a: &a {<<: *a, x: 1}\n").data == {"a": {"x": 1}}


DUPLICATE_KEYS = [
    ("yaml fast path", FAST_YAML, b"a: 1\nb: 2\na: 3\n"),
    ("yaml careful path (an & in a comment)", FAST_YAML, b"a: 1  # R&D\nb: 2\na: 3\n"),
    ("json", JSON_FILE, b'{"a": 1,\n "b": 2,\n "a": 3}'),
    # what the quick count of keys (dumped_key_ends) must not be fooled by
    ("json, the key spaced from its colon", JSON_FILE, b'{"a": 1,\n "b": 2,\n "a" : 3}'),
    ("json, a string holding a quote and colon", JSON_FILE, b'{"a": 1,\n "b": 2,\n "a": "\\":"}'),
    ("json, a \\u escape", JSON_FILE, b'{"a": 1,\n "b": 2,\n "a": "\\u0022:"}'),
]


@pytest.mark.parametrize(
    ("path", "document"), [c[1:] for c in DUPLICATE_KEYS], ids=[c[0] for c in DUPLICATE_KEYS]
)
def test_a_key_written_twice_is_an_error_naming_both_lines_first_kept(
    path: Path, document: bytes
) -> None:
    parsed = _read(document, path)
    assert parsed.data == {"a": 1, "b": 2}
    [issue] = parsed.issues
    assert issue.code == "duplicate-key" and not issue.warning
    assert issue.line == 3 and "first at line 1" in issue.reason
    with pytest.raises(TemplateParseError, match="written twice"):
        parse_document(path, document)  # strict readers (templar.yaml) refuse it


def test_a_duplicate_key_in_a_layer_is_reported_and_the_file_still_loads(
    config_dir: Path,
) -> None:
    (config_dir / "templates.yaml").write_text(
        "- template_id: a\n  name: first\n  name: second\n- template_id: b\n"
    )
    (config_dir / "genericprov_templates.json").write_text(
        '[{"template_id": "c", "name": "first",\n  "name": "second"}]'
    )
    engine = TemplateEngine(config_dir, use_cache=False)
    report = engine.validate()
    found = {(Path(i.file or "").name, i.code, i.line) for i in report.file_issues}
    assert found == {
        ("templates.yaml", "duplicate-key", 3),
        ("genericprov_templates.json", "duplicate-key", 2),
    }
    assert [t.name for t in engine.list_templates()] == ["first", None, "first"]


@pytest.mark.parametrize("comment", [b"", b"# R&D *x* !y\n"])
def test_a_comment_does_not_change_what_keys_mean(comment: bytes) -> None:
    document = comment + b"true: a\n1e3: b\n012: c\nnull: d\n~: e\n"
    assert _read(document).data == {"true": "a", "1e3": "b", "012": "c", "null": "d", "~": "e"}


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (FAST_YAML, "a: {}\n"),
        (FAST_YAML, "# &\na: {}\n"),
        (JSON_FILE, '{{"a": {}}}'),
    ],
)
@pytest.mark.parametrize("number", [2**63 - 1, 2**63, 2**64 - 1, -(2**63)])
def test_integers_are_exact_on_every_path(path: Path, template: str, number: int) -> None:
    value = _read(template.format(number).encode(), path).data["a"]
    assert value == number and type(value) is int


@pytest.mark.parametrize(
    ("path", "template"), [(FAST_YAML, "x: 1\na: {}\n"), (JSON_FILE, '{{"x": 1,\n"a": {}}}')]
)
@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30, 10**400])
def test_integers_json_cannot_hold_exactly_are_refused_where_written(
    path: Path, template: str, number: int
) -> None:
    with pytest.raises(TemplateParseError) as caught:
        _read(template.format(number).encode(), path)
    assert caught.value.line == 2
    assert caught.value.code in {"number-out-of-range", "parse-error"}


def test_a_yaml_1_1_directive_does_not_switch_on_yaml_1_1_rules() -> None:
    parsed = _read(b"%YAML 1.1\n---\na: yes\nb: 012\nc: on\n")
    assert parsed.data == {"a": "yes", "b": 12, "c": "on"}
    [issue] = parsed.issues
    assert issue.code == "yaml-version" and issue.warning and issue.line == 1


@pytest.mark.parametrize(
    ("document", "code", "line", "column"),
    [
        (b"a: 1\nb: .nan\n", "non-finite-number", 2, 4),
        (b"a: 1\nb: -.inf\n", "non-finite-number", 2, 4),
        (b"a: 1\nb: 1e400\n", "non-finite-number", 2, 4),
        (b"a: 1\nb: !!binary /w==\n", "invalid-value", 2, 4),
        (b'a: 1\nb: "\\ud800"\n', "invalid-string", 2, 4),
        (b'a: 1\n"\\udfff": x\n', "invalid-string", 2, 1),
        (b"a: 1\nb: x\x00y\n", "parse-error", 2, 5),
        (b"a: 1\nb:\n  - x\x1by\n", "parse-error", 3, 6),
        (b"a: 1\nb: x\x7fy\n", "parse-error", 2, 5),
    ],
)
def test_values_that_cannot_print_are_refused_where_they_are(
    document: bytes, code: str, line: int, column: int
) -> None:
    with pytest.raises(TemplateParseError) as caught:
        _read(document)
    assert (caught.value.code, caught.value.line, caught.value.column) == (code, line, column)


def test_printable_escapes_and_utf8_binary_still_read() -> None:
    parsed = _read(b'a: "\\ud83d\\ude00"\nb: !!binary aGk=\nc: "tab\\there"\nd: !!set {x}\n')
    assert parsed.data == {"a": "\U0001f600", "b": "hi", "c": "tab\there", "d": {"x": None}}
    assert orjson.loads(orjson.dumps(parsed.data)) == parsed.data


def test_json_nested_past_the_limit_is_refused() -> None:
    for depth in (102, 254, 600, 1023):
        with pytest.raises(TemplateParseError) as caught:
            _read(b"[" * depth + b"]" * depth, JSON_FILE)
        assert caught.value.code == "too-deep"
    assert _read(b"[" * 100 + b"]" * 100, JSON_FILE).data is not None
    assert _read(b"[" * 101 + b"]" * 101, JSON_FILE).data is not None  # depth 100: the limit
    deep_object = b'{"k": ' * 101 + b"{}" + b"}" * 101
    with pytest.raises(TemplateParseError, match="deeper than 100"):
        _read(deep_object, JSON_FILE)


@pytest.mark.parametrize(
    "document",
    [b'{"a": "x\\" :y", "b": 1}', b'{"a": "\\u0022:", "b": 1}', b'{"a" : 1, "b": {"c" : []}}'],
)
def test_json_whose_keys_the_quick_count_cannot_prove_still_reads(document: bytes) -> None:
    parsed = _read(document, JSON_FILE)
    assert parsed.data == orjson.loads(document) and not parsed.issues


def test_a_key_written_twice_with_a_space_before_its_colon_is_still_seen(tmp_path: Path) -> None:
    path = tmp_path / "awsprov_templates.json"
    path.write_text('{"templates": [{"templateId": "a", "maxNumber": 1, "maxNumber" : 2}]}')
    report = TemplateEngine(tmp_path, use_cache=False).validate()
    assert any(i.code == "duplicate-key" and "maxNumber" in i.message for i in report.issues), [
        i.code for i in report.issues
    ]
