"""Every hookspec is documented like pytest's, and exercised by some test."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from templar import hookspecs

ROOT = Path(__file__).resolve().parents[1]
TEST_SOURCES = [
    *ROOT.joinpath("tests").rglob("*.py"),
    *ROOT.joinpath("plugins").glob("*/tests/**/*.py"),
    *ROOT.joinpath("plugins").glob("*/src/**/*.py"),
]


@pytest.mark.parametrize("name", hookspecs.hook_names())
def test_every_hookspec_has_a_full_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    first_line = doc.splitlines()[0] if doc else ""
    assert first_line.endswith("."), f"{name}: docstring must open with a sentence"
    for parameter in inspect.signature(getattr(hookspecs, name)).parameters:
        assert f":param {parameter}:" in doc, f"{name}: parameter {parameter} is not documented"
    assert "return" in doc.lower(), f"{name}: the docstring must say what the return value means"


def hookimpls_in(path: Path) -> set[str]:
    """Names of the functions ``path`` defines under a ``hookimpl`` decorator (bare,
    called, or as an attribute such as ``templar.hookimpl``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "hookimpl":
                found.add(node.name)
    return found


@pytest.mark.parametrize("name", hookspecs.hook_names())
def test_every_hookspec_is_implemented_in_a_test_or_a_bundled_plugin(name: str) -> None:
    this_file = Path(__file__).resolve()
    users = [p for p in TEST_SOURCES if p.resolve() != this_file and name in hookimpls_in(p)]
    assert users, f"no test or bundled plugin implements {name} with @hookimpl"


def test_the_implementation_finder_needs_the_decorator(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "def templar_on_change(event, engine): ...\n"
        "@hookimpl(wrapper=True)\ndef templar_validate_template(template): ...\n"
        "@templar.hookimpl\ndef templar_register_storage(register): ...\n"
    )
    assert hookimpls_in(source) == {"templar_validate_template", "templar_register_storage"}


def test_the_hook_list_is_complete() -> None:
    assert set(hookspecs.hook_names()) == {
        "templar_register_providers",
        "templar_register_storage",
        "templar_validate_template",
        "templar_validate_templates",
        "templar_on_change",
        "templar_register_commands",
    }
