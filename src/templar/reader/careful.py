"""The careful YAML path: ruamel.yaml's safe loader held to one meaning per document
(see :mod:`templar.reader`), with precise, located errors; for every file the fast
path hands back, and for JSON that orjson would read inexactly."""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from templar.errors import TemplateParseError
from templar.reader.document import (
    MAX_EXPANDED_NODES,
    MAX_INTEGER,
    MIN_INTEGER,
    DocumentIssue,
    ParsedDocument,
    check_expansion,
    line_and_column,
    too_deep,
)


@lru_cache(maxsize=1)
def _careful_classes() -> tuple[type, type, type]:
    """The careful loader's constructor, resolver and refusal error (built once: they
    import ruamel.yaml, which a warm command never needs)."""
    from ruamel.yaml.constructor import ConstructorError, SafeConstructor
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from ruamel.yaml.resolver import VersionedResolver

    class Refused(ConstructorError):
        """A value the careful reader refuses, at its mark, with an issue code."""

        def __init__(self, code: str, problem: str, mark: Any) -> None:
            super().__init__(None, None, problem, mark)
            self.code = code

    class Yaml12Resolver(VersionedResolver):
        """YAML 1.2 rules whatever the document's ``%YAML`` directive says."""

        @property
        def processing_version(self) -> Any:
            return (1, 2)

    class Constructor(SafeConstructor):
        """Safe constructor held to one meaning per document (see the module docstring):
        keys are text as written, the first of two equal keys is kept and noted, merge
        keys merge by reference within a budget, and values JSON cannot print are
        refused where they are written. Timestamps stay the strings written, and
        ``1_000`` is a string."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            #: (key, mark of the first, mark of the second) per key written twice
            self.duplicates: list[tuple[str, Any, Any]] = []
            self.merge_budget = MAX_EXPANDED_NODES

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if not isinstance(node, MappingNode):
                raise ConstructorError(
                    None, None, f"expected a mapping node, but found {node.id}", node.start_mark
                )
            merged: list[dict[str, Any]] = []
            own: dict[str, Any] = {}
            marks: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    if "<<" in marks:
                        self.duplicates.append(("<<", marks["<<"], key_node.start_mark))
                        continue
                    marks["<<"] = key_node.start_mark
                    merged.extend(self._merge_sources(node, value_node))
                    continue
                key = self._mapping_key(key_node)
                if key in own:
                    self.duplicates.append((key, marks[key], key_node.start_mark))
                    continue
                marks.setdefault(key, key_node.start_mark)
                own[key] = self.construct_object(value_node, deep=deep)
            if not merged:
                return own
            # Merge by reference: each merged mapping is constructed once (aliases share
            # it) and only its keys are copied, against a budget; expanding the nodes
            # again at every level is what made the merge-key bomb exponential.
            result: dict[str, Any] = {}
            for source in merged:  # the first mapping merged wins (YAML merge spec)
                self.merge_budget -= len(source)
                if self.merge_budget < 0:
                    raise Refused(
                        "alias-bomb",
                        f"YAML merge keys expand to more than {MAX_EXPANDED_NODES:,} keys; "
                        "refused (merge-key bomb?)",
                        node.start_mark,
                    )
                for key, value in source.items():
                    result.setdefault(key, value)
            result.update(own)
            return result

        def _merge_sources(self, node: Any, value_node: Any) -> list[dict[str, Any]]:
            subnodes = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            sources = []
            for subnode in subnodes:
                if not isinstance(subnode, MappingNode):
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping for merging, but found {subnode.id}",
                        subnode.start_mark,
                    )
                source = self.construct_object(subnode, deep=True)
                if not isinstance(source, dict):  # a mapping that merges itself
                    raise Refused("alias-bomb", "recursive YAML alias refused", subnode.start_mark)
                sources.append(source)
            return sources

        def _mapping_key(self, key_node: Any) -> str:
            if not isinstance(key_node, ScalarNode):
                raise Refused(
                    "parse-error",
                    "a mapping key must be a plain value, not a list or a mapping",
                    key_node.start_mark,
                )
            return self._text(key_node.value, key_node)

        def _text(self, value: str, node: Any) -> str:
            if value.isascii():
                return value
            try:
                value.encode("utf-8")
                return value
            except UnicodeEncodeError:
                pass
            try:  # an escaped surrogate pair ("\ud83d\ude00") is one character
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise Refused(
                    "invalid-string",
                    "a lone surrogate escape (\\ud800 to \\udfff) is not a character; "
                    "write the character itself",
                    node.start_mark,
                ) from None

        def construct_yaml_str(self, node: Any) -> Any:
            return self._text(self.construct_scalar(node), node)

        def construct_yaml_int(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            # int() of a huge literal is slow (and refused anyway): don't
            huge = len(node.value.lstrip("+-0xXoObB")) > 40
            value = MAX_INTEGER + 1 if huge else super().construct_yaml_int(node)
            if not MIN_INTEGER <= value <= MAX_INTEGER:
                raise Refused(
                    "number-out-of-range",
                    f"integer {node.value[:40]} is outside the range JSON readers hold "
                    "exactly (-2**63 to 2**64-1); write it as a string",
                    node.start_mark,
                )
            return value

        def construct_yaml_float(self, node: Any) -> Any:
            if "_" in node.value:
                return self.construct_scalar(node)
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                raise Refused(
                    "non-finite-number",
                    f"'{node.value[:40]}' is not a finite number: JSON has no infinity or "
                    "NaN, and null would mean unset; write a number or a string",
                    node.start_mark,
                )
            return value

        def construct_yaml_binary(self, node: Any) -> Any:
            data = super().construct_yaml_binary(node)
            try:
                return self._text(data.decode("utf-8"), node)
            except UnicodeDecodeError:
                raise Refused(
                    "invalid-value",
                    "!!binary data that is not UTF-8 text; values are text "
                    "(keep the base64 as a plain string)",
                    node.start_mark,
                ) from None

    tags = "tag:yaml.org,2002:"
    Constructor.add_constructor(tags + "timestamp", SafeConstructor.construct_yaml_str)
    Constructor.add_constructor(tags + "str", Constructor.construct_yaml_str)
    Constructor.add_constructor(tags + "int", Constructor.construct_yaml_int)
    Constructor.add_constructor(tags + "float", Constructor.construct_yaml_float)
    Constructor.add_constructor(tags + "binary", Constructor.construct_yaml_binary)
    # a set is a mapping whose values are null, ordered maps and pairs are sequences of
    # one-key mappings: the plain data they are written as, which JSON can print
    Constructor.add_constructor(tags + "set", SafeConstructor.construct_yaml_map)
    Constructor.add_constructor(tags + "omap", SafeConstructor.construct_yaml_seq)
    Constructor.add_constructor(tags + "pairs", SafeConstructor.construct_yaml_seq)
    return Constructor, Yaml12Resolver, Refused


def _careful_loader() -> Any:
    from ruamel.yaml import YAML

    constructor, resolver, _ = _careful_classes()
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = constructor
    yaml.Resolver = resolver
    return yaml


def parse_yaml_carefully(path: Path, raw: bytes) -> Any:
    """The careful reader's data for ``raw`` (issues that do not stop it left out)."""
    return read_carefully(path, raw).data


def read_carefully(path: Path, raw: bytes, *, json_text: bool = False) -> ParsedDocument:
    from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
    from ruamel.yaml.reader import ReaderError

    text = raw.decode("utf-8")
    if json_text:
        # Tabs between JSON tokens are spaces to JSON (orjson has accepted the file, so
        # none is inside a string); YAML refuses some. One character each: columns hold.
        text = text.replace("\t", " ")
    yaml = _careful_loader()
    try:
        with warnings.catch_warnings():
            # an anchor defined again is legal YAML (an alias takes the latest one)
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            data = yaml.load(text)
    except RecursionError as e:
        raise too_deep(path) from e
    except ReaderError as e:
        at = line_and_column(text, e.position)
        character = e.character if isinstance(e.character, int) else 0
        raise TemplateParseError(
            f"invalid YAML: control character U+{character:04X} is not allowed; "
            "write it as an escape in a double-quoted string",
            file=path,
            line=at[0],
            column=at[1],
        ) from e
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        started = e.context_mark
        if e.context and started is not None and mark is not None and started.line != mark.line:
            # an unclosed bracket is found where the file ends: say where it opened
            problem += f" (started at line {started.line + 1}, column {started.column + 1})"
        code = getattr(e, "code", None)
        if code is None:
            code = "unsafe-tag" if "could not determine a constructor" in problem else "parse-error"
        kind = "JSON" if json_text else "YAML"
        reason = problem.strip() or str(e)
        raise TemplateParseError(
            reason
            if code != "parse-error" and code != "unsafe-tag"
            else f"invalid {kind}: {reason}",
            file=path,
            line=line,
            column=column,
            code=code,
        ) from e
    except YAMLError as e:
        raise TemplateParseError(f"invalid YAML: {e}", file=path) from e
    check_expansion(path, data)
    issues = [
        DocumentIssue(
            "duplicate-key",
            f"key '{key}' is written twice in one mapping (first at line {first.line + 1}, "
            f"column {first.column + 1}); the first is kept",
            second.line + 1,
            second.column + 1,
        )
        for key, first, second in yaml.constructor.duplicates
    ]
    declared = getattr(yaml, "version", None)
    if declared is not None and tuple(declared) != (1, 2):
        offset = text.find("%YAML")
        where = line_and_column(text, offset) if offset >= 0 else (1, 1)
        issues.append(
            DocumentIssue(
                "yaml-version",
                f"%YAML {'.'.join(str(n) for n in declared)} directive ignored: files are "
                "read as YAML 1.2 (yes/no/on/off are strings, 012 is 12)",
                *where,
                warning=True,
            )
        )
    return ParsedDocument(data, True, issues)
