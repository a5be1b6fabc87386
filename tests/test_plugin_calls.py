"""Hooks go through pluggy's calling conventions: wrappers wrap, tryfirst/trylast order,
and one plugin that raises is reported and skipped while the others still run."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from templar import TemplarPluginWarning, TemplateEngine, ValidationIssueDTO, hookimpl
from templar.models import Severity
from tests.conftest import WriteFile


def warning(code: str) -> ValidationIssueDTO:
    return ValidationIssueDTO(code=code, severity=Severity.WARNING, message=code, field="name")


class Wrapper:
    """A new-style wrapper: sees every result of the hook call and adds one issue."""

    def __init__(self) -> None:
        self.seen: list[list[Any]] = []

    @hookimpl(wrapper=True)
    def templar_validate_template(
        self, template: Any, provider: Any, instance: str
    ) -> Generator[None, list[Any], list[Any]]:
        results = yield
        self.seen.append(list(results))
        return [*results, [warning("from-wrapper")]]


class Exploding:
    @hookimpl
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        raise RuntimeError("boom")


class First:
    @hookimpl(tryfirst=True)
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        return [warning("first")]


class Last:
    @hookimpl(trylast=True)
    def templar_validate_template(self, template: Any, provider: Any, instance: str) -> Any:
        return [warning("last")]


@pytest.fixture
def one_template(write: WriteFile) -> None:
    write("templates.yaml", [{"template_id": "t", "name": "T"}])


def codes(engine: TemplateEngine) -> list[str]:
    (result,) = engine.validate().results
    return [i.code for i in [*result.errors, *result.warnings]]


def test_a_wrapper_and_an_exploding_plugin_together(config_dir: Path, one_template: None) -> None:
    wrapper = Wrapper()
    engine = TemplateEngine(
        config_dir,
        use_cache=False,
        plugins=[Last(), wrapper, Exploding(), First()],
        load_entrypoints=False,
    )
    found = codes(engine)
    # the exploding plugin is reported, the others ran, the wrapper wrapped them all
    assert "plugin-error" in found
    assert {"first", "last", "from-wrapper"} <= set(found)
    assert wrapper.seen == [[[warning("first")], [warning("last")]]]
    (result,) = engine.validate().results
    (error,) = result.errors
    assert "Exploding" in error.message and "RuntimeError: boom" in error.message
    assert not any(i.error for i in engine.plugins.plugin_infos() if i.name == "Wrapper")


def test_tryfirst_and_trylast_order_the_implementations(
    config_dir: Path, one_template: None
) -> None:
    engine = TemplateEngine(
        config_dir, use_cache=False, plugins=[Last(), First()], load_entrypoints=False
    )
    assert codes(engine) == ["first", "last"]


class RaisingRegistrar:
    @hookimpl
    def templar_register_providers(self, register: Any) -> None:
        raise RuntimeError("cannot register")


class WrappingRegistrar:
    def __init__(self) -> None:
        self.wrapped = 0

    @hookimpl(wrapper=True)
    def templar_register_providers(self, register: Any) -> Generator[None, Any, Any]:
        self.wrapped += 1
        return (yield)


def test_a_registry_hook_skips_the_plugin_that_raised(config_dir: Path) -> None:
    wrapping = WrappingRegistrar()
    engine = TemplateEngine(
        config_dir, plugins=[RaisingRegistrar(), wrapping], load_entrypoints=False
    )
    with pytest.warns(TemplarPluginWarning, match="RaisingRegistrar' raised in"):
        providers = engine.providers
    assert "generic" in providers  # the built-in plugin still registered
    assert wrapping.wrapped == 1
    infos = {i.name: i for i in engine.plugins.plugin_infos()}
    assert infos["RaisingRegistrar"].error and not infos["WrappingRegistrar"].error
