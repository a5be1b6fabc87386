"""Issue 9, the items outside the reader and the cache: no template dropped in silence
(item 11), output that cannot be forged (item 10)."""

from __future__ import annotations

from pathlib import Path

from templar import TemplateEngine


def _ids_listed_or_reported(engine: TemplateEngine) -> tuple[set[str], set[str]]:
    listed = {t.template_id for t in engine.list_templates()}
    reported = {i.template_id for i in engine.validate().file_issues if i.template_id}
    return listed, reported


def test_a_shared_template_pinned_to_no_instance_is_reported(config_dir: Path) -> None:
    (config_dir / "templates.yaml").write_text(
        "- template_id: nowhere\n  provider_name: aws-prd\n"
        "- template_id: plain\n"
        "- template_id: crossed\n  provider_name: generic\n  provider_type: aws\n"
    )
    engine = TemplateEngine(config_dir, use_cache=False)
    listed, reported = _ids_listed_or_reported(engine)
    assert listed == {"plain"} and reported == {"nowhere", "crossed"}
    issues = {i.template_id: i for i in engine.validate().file_issues}
    assert issues["nowhere"].code == "unknown-provider-name"
    assert (issues["nowhere"].line, issues["nowhere"].field) == (2, "provider_name")
    assert "'aws-prd'" in issues["nowhere"].message
    assert issues["crossed"].code == "unknown-provider-name"


def test_declared_instances_every_shared_template_appears_or_is_reported(
    config_dir: Path,
) -> None:
    (config_dir / "templar.yaml").write_text(
        "providers:\n  - {name: gen-a, type: generic}\n  - {name: gen-b, type: generic}\n"
    )
    (config_dir / "templates.yaml").write_text(
        "- template_id: a\n  provider_name: gen-a\n"
        "- template_id: both\n"
        "- template_id: typo\n  providerName: gen-c\n"
    )
    engine = TemplateEngine(config_dir, use_cache=False)
    listed, reported = _ids_listed_or_reported(engine)
    assert listed == {"a", "both"} and reported == {"typo"}
    [issue] = engine.validate().file_issues
    assert "did you mean" in issue.message and issue.field == "provider_name"


def test_an_edit_that_unpins_a_template_is_reported_after_reload(config_dir: Path) -> None:
    layer = config_dir / "templates.yaml"
    layer.write_text("- template_id: a\n  provider_name: generic\n- template_id: b\n")
    engine = TemplateEngine(config_dir, use_cache=False)
    assert {t.template_id for t in engine.list_templates()} == {"a", "b"}
    layer.write_text("- template_id: a\n  provider_name: gone\n- template_id: b\n")
    engine.reload()
    listed, reported = _ids_listed_or_reported(engine)
    assert listed == {"b"} and reported == {"a"}
