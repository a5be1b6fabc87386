"""The fast YAML reader's trigger for tags, anchors and aliases (templar.reader.fast):
a real one sends a file to the careful reader; a ``!``, ``&`` or ``*`` that is text (a
shebang in a quoted or block ``user_data`` script, a shell ``&&``, a comment) keeps the
fast path, and both paths give the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templar.reader import parse_yaml_carefully, parse_yaml_fast

SCRIPT = (
    '#!/bin/bash\nset -e\nif [ ! -f /etc/hf ]; then yum install -y hf && echo "ok!"; fi\nls *.log\n'
)

TEXT = {
    "quoted": b'user_data: "#!/bin/bash\\nif [ ! -f x ]; then a && b; fi\\n"\n',
    "single quoted": b"note: 'it''s ! & *'\n",
    "literal block": b"t:\n  user_data: |\n    #!/bin/bash\n    [ ! -d x ] && mkdir x\n"
    b"      * indented more\n\n    done &\n  next: 1\n",
    "folded block, sequence": b"- s: >-\n    ! text & *more\n  k: v\n",
    "plain": b"cmd: cd /x && make *\n",
    "comment": b"a: 1  # !tag &anchor *alias\n",
}
TAGGED = {
    "tag": b"a: !!str 1\n",
    "anchor and alias": b"a: &x 1\nb: *x\n",
    "tag in a flow sequence": b"a: [1, !!str 2]\n",
    "tag on a sequence entry": b"- !!str 1\n",
    "anchor on a key": b"&a k: v\n",
    "tag after a block scalar": b"a: |\n  text !\nb: !!int '3'\n",
    "tag after a quoted key": b'"k": !!str 1\n',
    "tag then anchor": b"a: !!str &x 1\n",
}


@pytest.mark.parametrize("name", TEXT)
def test_a_bang_that_is_text_keeps_the_fast_path(name: str) -> None:
    document = TEXT[name]
    fast = parse_yaml_fast(document)
    assert fast is not None, name
    assert fast[0] == parse_yaml_carefully(Path("t.yaml"), document)


@pytest.mark.parametrize("name", TAGGED)
def test_a_real_tag_anchor_or_alias_goes_the_careful_way(name: str) -> None:
    assert parse_yaml_fast(TAGGED[name]) is None, name


def test_lines_the_trigger_cannot_read_alone_go_the_careful_way() -> None:
    # a quoted scalar over two lines, an explicit indentation indicator
    assert parse_yaml_fast(b'a: "one\n  ! two"\n') is None
    assert parse_yaml_fast(b"a: |2\n   ! x\n") is None


script_text = st.text(alphabet="!&*#|>-: abc\"'[]{},\n/", max_size=40)


def _yaml(data: Any, style: str) -> bytes:
    from io import StringIO

    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    wrap = {"literal": LiteralScalarString, "double": DoubleQuotedScalarString}.get(style, str)
    yaml = YAML(typ="rt", pure=True)
    out = StringIO()
    yaml.dump(
        {"templates": [{"template_id": "t", "user_data": wrap(v), "k": 1} for v in data]}, out
    )
    return out.getvalue().encode()


@settings(max_examples=150, deadline=None)
@given(
    scripts=st.lists(script_text, min_size=1, max_size=3),
    style=st.sampled_from(["literal", "double", "plain"]),
)
def test_scripts_full_of_indicators_read_the_same_on_both_paths(
    scripts: list[str], style: str
) -> None:
    document = _yaml(scripts, style)
    careful = parse_yaml_carefully(Path("t.yaml"), document)
    fast = parse_yaml_fast(document)
    if fast is not None:
        assert orjson.dumps(fast[0]) == orjson.dumps(careful), document


TAGGED_LINES = ["  k2: !!str 1", "  k2: &x 1", "  k2: [1, !!str 2]", "  k2: {a: !!int '3'}"]


@settings(max_examples=100, deadline=None)
@given(
    scripts=st.lists(script_text, min_size=1, max_size=3),
    style=st.sampled_from(["literal", "double", "plain"]),
    tagged=st.sampled_from(TAGGED_LINES),
    where=st.integers(min_value=0),
)
def test_a_real_tag_among_scripts_is_never_read_as_text(
    scripts: list[str], style: str, tagged: str, where: int
) -> None:
    lines = _yaml(scripts, style).decode().splitlines()
    entries = [i for i, line in enumerate(lines) if line.startswith("  k: 1")]
    at = entries[where % len(entries)]
    document = "\n".join([*lines[: at + 1], tagged, *lines[at + 1 :]]).encode() + b"\n"
    assert parse_yaml_fast(document) is None, document


def test_a_user_data_script_keeps_the_fast_path() -> None:
    for style in ("literal", "double"):
        document = _yaml([SCRIPT.replace('"', "")] * 3, style).replace(b"\n    echo", b" echo")
        fast = parse_yaml_fast(document)
        assert fast is not None, document
        assert fast[0] == parse_yaml_carefully(Path("t.yaml"), document)
