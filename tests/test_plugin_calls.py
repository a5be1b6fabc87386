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


# -- the batch hook: templar_validate_templates ---------------------------------------


class BatchRules:
    """Warns on every template it is given, and records each call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @hookimpl
    def templar_validate_templates(self, templates: Any, configurations: Any) -> Any:
        self.calls.append([t.template_id for t in templates])
        assert len(configurations) == len(templates)
        return [[warning(f"batch-{t.template_id}")] for t in templates]


class BatchExplodingOnB:
    @hookimpl
    def templar_validate_templates(self, templates: Any) -> Any:
        if any(t.template_id == "b" for t in templates):
            raise RuntimeError("not b")
        return None


class BatchWrongLength:
    @hookimpl
    def templar_validate_templates(self, templates: Any) -> Any:
        return [None]


class BatchWrapper:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl(wrapper=True)
    def templar_validate_templates(self, templates: Any) -> Generator[None, Any, Any]:
        results = yield
        self.seen.append(results)
        return [*results, [[warning("wrapped")] for _ in templates]]


@pytest.fixture
def three_templates(write: WriteFile) -> None:
    write("templates.yaml", [{"template_id": tid} for tid in ("a", "b", "c")])


def issue_codes(engine: TemplateEngine) -> dict[str, list[str]]:
    return {
        r.template_id: [i.code for i in [*r.errors, *r.warnings]] for r in engine.validate().results
    }


def test_the_batch_hook_is_called_once_per_load_with_every_template(
    config_dir: Path, three_templates: None
) -> None:
    rules = BatchRules()
    engine = TemplateEngine(config_dir, use_cache=False, plugins=[rules], load_entrypoints=False)
    assert issue_codes(engine) == {"a": ["batch-a"], "b": ["batch-b"], "c": ["batch-c"]}
    assert rules.calls == [["a", "b", "c"]]


def test_a_batch_plugin_that_raises_is_reported_on_the_templates_it_raised_for(
    config_dir: Path, three_templates: None
) -> None:
    rules, wrapper = BatchRules(), BatchWrapper()
    engine = TemplateEngine(
        config_dir,
        use_cache=False,
        plugins=[rules, BatchExplodingOnB(), wrapper, Last()],
        load_entrypoints=False,
    )
    found = issue_codes(engine)
    # the others ran for every template, the per-template hook too
    assert found["a"] == ["batch-a", "wrapped", "last"]
    assert found["c"] == ["batch-c", "wrapped", "last"]
    assert sorted(found["b"]) == ["batch-b", "last", "plugin-error", "wrapped"]
    (b,) = [r for r in engine.validate().results if r.template_id == "b"]
    (error,) = b.errors
    assert "BatchExplodingOnB" in error.message and "templar_validate_templates" in error.message
    assert "RuntimeError: not b" in error.message
    assert rules.calls == [["a", "b", "c"], ["a"], ["b"], ["c"]]  # then one at a time
    assert wrapper.seen[0] == [[[warning("batch-a")], [warning("batch-b")], [warning("batch-c")]]]


def test_a_batch_result_that_is_not_one_entry_per_template_is_a_plugin_failure(
    config_dir: Path, three_templates: None
) -> None:
    engine = TemplateEngine(
        config_dir, use_cache=False, plugins=[BatchWrongLength()], load_entrypoints=False
    )
    with pytest.warns(TemplarPluginWarning, match="returned 1 entries .* for 3 templates"):
        found = issue_codes(engine)
    assert found == {"a": [], "b": [], "c": []}


def test_the_batch_hook_takes_at_most_a_batch_at_a_time(config_dir: Path, write: WriteFile) -> None:
    from templar.validate import BATCH_SIZE

    write("templates.yaml", [{"template_id": f"t{n}"} for n in range(BATCH_SIZE + 1)])
    rules = BatchRules()
    engine = TemplateEngine(config_dir, use_cache=False, plugins=[rules], load_entrypoints=False)
    found = issue_codes(engine)
    assert [len(call) for call in rules.calls] == [BATCH_SIZE, 1]
    assert found["t0"] == ["batch-t0"] and found[f"t{BATCH_SIZE}"] == [f"batch-t{BATCH_SIZE}"]
