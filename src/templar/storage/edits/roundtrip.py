"""The ruamel.yaml round trip of one entry: load its text, apply a change to the loaded
nodes in place, and dump it with the indentation that reproduces it best."""

from __future__ import annotations

import io
from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import Any

from templar.storage.edits.linemerge import three_way
from templar.storage.edits.scan import Container, indent_of

#: ruamel.yaml's line width; large so that no long value is folded onto a new line.
_WIDTH = 1_000_000
#: Indentations tried when re-dumping a YAML entry: (mapping, sequence, offset).
_YAML_INDENTS = ((2, 2, 0), (2, 4, 2), (4, 4, 0), (4, 6, 4), (2, 3, 1), (4, 4, 2), (3, 3, 0))
#: The indentation of a YAML document Templar creates: `- ` indented under its key.
NEW_YAML_INDENT = (2, 4, 2)


# --------------------------------------------------------------------------- YAML render


def round_trip_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    yaml.allow_duplicate_keys = True
    return yaml


def yaml_dump(data: Any, indent: tuple[int, int, int]) -> list[str]:
    """Dump ``data`` with ruamel.yaml, as lines shifted to start at column 0."""
    yaml = round_trip_yaml()
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    out = io.StringIO()
    yaml.dump(data, out)
    lines = out.getvalue().splitlines(keepends=True)
    shift = indent_of(lines[0]) if lines else 0
    return [line[shift:] if line[:shift].strip() == "" else line for line in lines]


def _dedent(lines: list[str], indent: int) -> list[str]:
    return [line[indent:] if line[:indent].strip() == "" else line for line in lines]


def reindent(lines: list[str], indent: int) -> list[str]:
    pad = " " * indent
    return [pad + line if line.strip() else line for line in lines]


def best_yaml_indent(
    original: list[str], data: Any, prefer: tuple[int, int, int] | None = None
) -> tuple[tuple[int, int, int], list[str]]:
    """The indentation whose dump of ``data`` keeps most of ``original``'s lines
    (``prefer`` wins ties: the style of the container the entry sits in)."""
    best: tuple[float, tuple[int, int, int], list[str]] | None = None
    order = ([prefer] if prefer else []) + [i for i in _YAML_INDENTS if i != prefer]
    for indent in order:
        dumped = yaml_dump(data, indent)
        score = SequenceMatcher(None, original, dumped, autojunk=False).ratio()
        if best is None or score > best[0]:
            best = (score, indent, dumped)
        if score == 1.0:
            break
    assert best is not None
    return best[1], best[2]


def _preferred_style(container: Container) -> tuple[int, int, int] | None:
    """Nested lists indented the way the container's own list is, when it is one."""
    if container.kind == "seq" and container.indent in (1, 2, 3, 4):
        return (2, container.indent + 2, container.indent)
    return None


def yaml_entry_text(chunk: str, container: Container, new_body: dict[str, Any]) -> str:
    """The entry ``chunk`` re-rendered with ``new_body``, every unedited line kept."""
    yaml = round_trip_yaml()
    original = chunk.splitlines(keepends=True)
    indent = container.indent
    dedented = _dedent(original, indent)
    base_data = yaml.load("".join(dedented))
    indent_style, base = best_yaml_indent(dedented, base_data, _preferred_style(container))
    changed = yaml.load("".join(dedented))
    if container.kind == "seq":
        changed[0] = update_node(changed[0], new_body)
    else:
        key = next(iter(changed))
        changed[key] = update_node(changed[key], new_body)
    theirs = reindent(yaml_dump(changed, indent_style), indent)
    merged = three_way(original, reindent(base, indent), theirs)
    text = "".join(merged)
    return text if text.endswith("\n") else text + "\n"


def yaml_new_entry(
    kind: str, indent: int, template_id: str, body: dict[str, Any], style: tuple[int, int, int]
) -> str:
    data: Any = [body] if kind == "seq" else {template_id: body}
    return "".join(reindent(yaml_dump(data, style), indent))


def sibling_style(text: str, container: Container) -> tuple[int, int, int]:
    """The indentation of the last entry of ``container``, to write a new one alike."""
    if not container.starts:
        return _preferred_style(container) or NEW_YAML_INDENT
    entry = container.entry(text, len(container.starts) - 1)
    lines = _dedent(text[entry.start : entry.end].splitlines(keepends=True), container.indent)
    try:
        return best_yaml_indent(
            lines, round_trip_yaml().load("".join(lines)), _preferred_style(container)
        )[0]
    except Exception:
        return NEW_YAML_INDENT


def update_node(node: Any, new: Any) -> Any:
    """``new`` as a value to store in place of ``node``: the same node, changed in
    place, wherever the two agree in shape, so that comments, quoting and flow style
    of the parts that did not change survive the dump."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(node, CommentedMap) and isinstance(new, Mapping):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = update_node(node[key], value) if key in node else value
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        if len(node) == len(new):
            for i, value in enumerate(new):
                node[i] = update_node(node[i], value)
            return node
        seq = CommentedSeq(new)
        if node.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    same_kind = type(node) is type(new) or (
        isinstance(node, (int, float)) and not isinstance(node, bool) and type(new) in (int, float)
    )
    if same_kind and node == new:
        return node
    if isinstance(node, ScalarString) and isinstance(new, str) and "\n" not in new:
        return type(node)(new)
    return new
