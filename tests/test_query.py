"""templar.query: list, get and search over one load."""

from __future__ import annotations

from pathlib import Path

import pytest

from templar import TemplateEngine
from templar.errors import TemplarError
from templar.models import TemplateDTO
from templar.query import (
    check_scope,
    get_template,
    list_templates,
    search,
    search_templates,
    validation_report,
)
from templar.state import EngineState, ProviderInstance

PROD, DEV = ProviderInstance("prod", "aws"), ProviderInstance("dev", "aws")


def dto(tid: str, instance: ProviderInstance, **fields: object) -> TemplateDTO:
    return TemplateDTO.model_validate(
        {"template_id": tid, "provider_type": "aws", "provider_name": instance.name, **fields}
    )


@pytest.fixture
def loaded() -> EngineState:
    state = EngineState(instances=[PROD, DEV])
    state.templates = {
        "prod": {
            "a": dto("a", PROD, configuration={"size": 5}),
            "b": dto("b", PROD, is_active=False),
        },
        "dev": {"a": dto("a", DEV, tags={"team": "x"})},
    }
    return state


def test_list_by_instance_and_activity(loaded: EngineState) -> None:
    assert [t.provider_name for t in list_templates(loaded)] == ["prod", "dev"]
    assert [t.template_id for t in list_templates(loaded, "prod", active_only=False)] == ["a", "b"]


def test_an_id_in_two_instances_needs_a_provider(loaded: EngineState) -> None:
    with pytest.raises(TemplarError, match=r"several provider instances \(prod, dev\)"):
        get_template(loaded, "a")
    found = get_template(loaded, "a", "dev")
    assert found is not None and found.tags == {"team": "x"}
    assert get_template(loaded, "zz") is None


def test_a_misspelt_instance_or_type_is_an_error(loaded: EngineState) -> None:
    with pytest.raises(
        TemplarError, match=r"unknown provider instance 'prd' \(did you mean 'prod'\?\)"
    ):
        check_scope(loaded, {"aws"}, "prd", None)
    with pytest.raises(TemplarError, match="unknown provider type 'asw'"):
        check_scope(loaded, {"aws"}, None, "asw")
    check_scope(loaded, {"aws"}, "dev", "aws")


def test_search_matches_as_text_and_in_configuration(loaded: EngineState) -> None:
    everything = list_templates(loaded, active_only=False)
    assert [t.provider_name for t in search(everything, {"size": "5"})] == ["prod"]
    assert [t.provider_name for t in search(everything, {"tags.team": "x"})] == ["dev"]
    assert search(everything, {}) == everything


def test_search_templates_leaves_inactive_ones_out_unless_asked_about_them(
    loaded: EngineState,
) -> None:
    def found(criteria: dict[str, object], **scope: object) -> list[tuple[str, str]]:
        matches = search_templates(loaded, {"aws"}, criteria, **scope)  # type: ignore[arg-type]
        return [(t.provider_name, t.template_id) for t in matches]

    assert found({}) == [("prod", "a"), ("dev", "a")]
    assert found({}, active_only=False) == [("prod", "a"), ("prod", "b"), ("dev", "a")]
    assert found({"is_active": False}) == [("prod", "b")]  # a criterion on it is obeyed
    assert found({"is_active": False}, active_only=True) == []
    assert found({"template_id": "a"}, provider="dev") == [("dev", "a")]
    with pytest.raises(TemplarError, match="unknown provider instance 'stage'"):
        found({}, provider="stage")


def test_validation_report_holds_every_result_and_file_issue(config_dir: Path) -> None:
    (config_dir / "templates.yaml").write_text("- {template_id: a}\n- {template_id: b}\n")
    (config_dir / "genericprov_templates.yaml").write_text("- template_id: [\n")
    state = TemplateEngine(config_dir, use_cache=False).state
    report = validation_report(state)
    assert [r.template_id for r in report] == ["a", "b"]
    assert [i.file for i in report.file_issues] == [str(config_dir / "genericprov_templates.yaml")]
    assert report.results is not state.results  # the caller's to change
