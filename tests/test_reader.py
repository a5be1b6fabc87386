"""The fast read path (rapidyaml) and the careful one (ruamel.yaml) agree on everything,
and both follow the YAML 1.2 core schema on the scalars users write."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from templar.errors import TemplateParseError
from templar.reader import _parse_yaml_carefully, _parse_yaml_fast, parse_document

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
    ("-.inf", -math.inf),
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
    careful = _parse_yaml_carefully(Path("t.yaml"), document)["value"]
    assert value == expected and type(value) is type(expected)
    assert careful == expected and type(careful) is type(expected)


def test_the_fast_path_is_taken_for_ordinary_files() -> None:
    document = b"templates:\n  - template_id: a\n    size: 3\n    ports: [80, 443]\n    on: yes\n"
    assert _parse_yaml_fast(document) == (
        {"templates": [{"template_id": "a", "size": 3, "ports": [80, 443], "on": "yes"}]},
        False,
    )
    assert _parse_yaml_fast(b"a: 1\nb:\n") == ({"a": 1, "b": None}, True)


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
    assert _parse_yaml_fast(document) is None


plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
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
        careful = _parse_yaml_carefully(Path("t.yaml"), document)
    except TemplateParseError:
        careful = None
    # ruamel.yaml does not always read back what it wrote (it emits '?0' unquoted in
    # flow style, then reads a complex key): such documents say nothing about us.
    assume(careful == {"doc": data})
    fast = _parse_yaml_fast(document)
    if fast is not None:
        data_fast, may_hold_nulls = fast
        assert data_fast == careful, document
        if not may_hold_nulls:
            assert b"null" not in orjson.dumps(careful), "a null the fast path missed"
    assert parse_document(Path("t.yaml"), document) == careful


@pytest.mark.parametrize("document", [b"# nothing yet\n", b"\n\n", b"---\n", b"# a\n# b\n"])
def test_a_document_with_only_comments_is_empty(document: bytes) -> None:
    assert parse_document(Path("t.yaml"), document) is None
