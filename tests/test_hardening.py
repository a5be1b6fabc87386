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


def test_a_template_id_with_cr_lf_cannot_forge_validate_lines(config_dir: Path) -> None:
    from click.testing import CliRunner

    from templar.cli import cli

    forged = "x\\r\\ntemplates.yaml:1:1: error fake-code all is lost\\n"
    (config_dir / "templates.yaml").write_text(
        f'- template_id: "{forged}"\n  is_active: maybe\n- template_id: "{forged}"\n'
    )
    result = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "validate"])
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout  # the invalid field and the duplicate id
    assert not any(line.startswith("templates.yaml:1:1: error fake-code") for line in lines)
    assert all("x\\r\\ntemplates.yaml" in line for line in lines)


def test_tables_do_not_print_control_characters_raw(config_dir: Path) -> None:
    from click.testing import CliRunner

    from templar.cli import cli

    (config_dir / "templates.yaml").write_text(
        '- template_id: "a\\x1b[2J"\n  name: "clear\\x1b[2Jscreen\\u202eevil"\n'
    )
    result = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "list"])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "clear\\x1b[2Jscreen\\u202eevil" in result.stdout


def test_a_look_alike_template_id_warns(config_dir: Path) -> None:
    cyrillic_e = "\u0435"
    (config_dir / "templates.yaml").write_text(
        f"- template_id: web-server\n- template_id: w{cyrillic_e}b-server\n- template_id: caf\u00e9\n"
    )
    engine = TemplateEngine(config_dir, use_cache=False)
    issue, beside = engine.validate().file_issues
    assert issue.code == "confusable-template-id" and issue.line == 2
    assert "Cyrillic" in issue.message.title() and "'web-server'" in issue.message
    # and it is taken for the other id of the config (tests/test_lookalikes.py)
    assert beside.code == "lookalike-template-id" and beside.line == 2
    assert len(engine.list_templates()) == 3  # a warning: both still load
