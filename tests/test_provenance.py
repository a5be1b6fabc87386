"""Provenance: the winning layer, file, line and column of every field, and what it shadowed."""

from __future__ import annotations

from pathlib import Path

from templar import TemplateEngine
from tests.conftest import WriteFile


def fields(explanation: object) -> dict[str, object]:
    return {f.field: f for f in explanation.fields}  # type: ignore[attr-defined]


def test_explain_names_layer_file_line_column_and_shadowed_values(
    write: WriteFile, config_dir: Path
) -> None:
    write(
        "templates.yaml",
        "templates:\n"
        "  - template_id: web\n"
        "    name: Web\n"
        "    configuration:\n"
        "      replicas: 2\n"
        "      image: nginx\n",
    )
    write(
        "genericinst_templates.json",
        '{\n  "templates": [\n    {\n      "template_id": "web",\n      "replicas": 5\n    }\n  ]\n}\n',
    )
    write("templar.yaml", "provider_defaults:\n  generic:\n    configuration:\n      region: eu\n")

    explanation = TemplateEngine(config_dir).explain("web")
    by_field = fields(explanation)

    replicas = by_field["configuration.replicas"]
    assert replicas.value == 5  # type: ignore[attr-defined]
    assert replicas.source.layer == "instance"  # type: ignore[attr-defined]
    assert replicas.source.file == str(config_dir / "genericinst_templates.json")  # type: ignore[attr-defined]
    assert (replicas.source.line, replicas.source.column) == (5, 7)  # type: ignore[attr-defined]
    [shadowed] = replicas.shadowed  # type: ignore[attr-defined]
    assert (shadowed.layer, shadowed.value, shadowed.line, shadowed.column) == ("shared", 2, 5, 7)

    image = by_field["configuration.image"]
    assert (image.source.layer, image.source.line, image.source.column, image.shadowed) == (
        "shared",
        6,
        7,
        [],
    )  # type: ignore[attr-defined]
    name = by_field["name"]
    assert (name.source.line, name.source.column) == (3, 5)  # type: ignore[attr-defined]

    region = by_field["configuration.region"]
    assert region.source.layer == "type-defaults"  # type: ignore[attr-defined]
    assert region.source.file == str(config_dir / "templar.yaml")  # type: ignore[attr-defined]
    assert (region.source.line, region.source.column) == (4, 7)  # type: ignore[attr-defined]

    assert [layer.priority for layer in explanation.layers] == [1, 4, 6]
    assert explanation.provider_instance == "generic"


def test_explain_id_mapping_and_nested_values(write: WriteFile, config_dir: Path) -> None:
    write("templates.yml", "t:\n  configuration:\n    limits:\n      cpu: 1\n      mem: 2\n")
    write("genericprov_templates.yaml", "t:\n  limits:\n    mem: 4\n")
    by_field = fields(TemplateEngine(config_dir).explain("t"))
    assert by_field["configuration.limits.cpu"].source.line == 4  # type: ignore[attr-defined]
    mem = by_field["configuration.limits.mem"]
    assert (mem.value, mem.source.layer, mem.source.line, mem.source.column) == (
        4,
        "provider",
        3,
        5,
    )  # type: ignore[attr-defined]
    assert mem.shadowed[0].line == 5  # type: ignore[attr-defined]
    template_id = by_field["template_id"]
    assert template_id.source.layer == "provider" and template_id.source.line == 1  # type: ignore[attr-defined]


def test_validation_issues_point_at_the_layer_that_set_the_bad_value(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.yaml", "- template_id: t\n  is_active: true\n")
    write("genericinst_templates.yaml", "- template_id: t\n  name: fine\n  is_active: perhaps\n")
    report = TemplateEngine(config_dir).validate()
    [error] = report.errors
    assert (error.code, error.field, error.template_id) == ("invalid-field", "is_active", "t")
    assert (error.file, error.line, error.column) == (
        str(config_dir / "genericinst_templates.yaml"),
        3,
        14,
    )


def test_a_field_removed_by_null_is_explained(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", "- template_id: t\n  configuration:\n    cpu: 2\n    mem: 4\n")
    write("genericinst_templates.yaml", "- template_id: t\n  cpu: null\n")
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").configuration == {"mem": 4}  # type: ignore[union-attr]
    cpu = fields(engine.explain("t"))["configuration.cpu"]
    assert cpu.unset and cpu.value is None  # type: ignore[attr-defined]
    assert (cpu.source.layer, cpu.source.line) == ("instance", 2)  # type: ignore[attr-defined]
    assert [(s.value, s.line) for s in cpu.shadowed] == [(2, 3)]  # type: ignore[attr-defined]
    assert not fields(engine.explain("t"))["configuration.mem"].unset  # type: ignore[attr-defined]


def test_explain_an_unknown_template(config_dir: Path, write: WriteFile) -> None:
    import pytest

    from templar import TemplateNotFoundError

    write("templates.yaml", [{"template_id": "t"}])
    with pytest.raises(TemplateNotFoundError, match="no template 'x'"):
        TemplateEngine(config_dir).explain("x")


def test_report_and_explanation_are_convenient_to_read(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", [{"template_id": "a", "configuration": {"x": 1}}, {"template_id": "b"}])
    engine = TemplateEngine(config_dir)
    report = engine.validate()
    assert [r.template_id for r in report] == ["a", "b"] and len(report) == 2 and report[1].is_valid
    explanation = engine.explain("a")
    assert explanation["configuration.x"].value == 1
    import pytest

    with pytest.raises(KeyError):
        explanation["nope"]


def test_explain_suggests_ids_and_names_a_replacing_merge(
    write: WriteFile, config_dir: Path
) -> None:
    import pytest

    from templar import TemplateNotFoundError

    write("templates.yaml", [{"template_id": "web", "name": "low"}])
    write("genericinst_templates.yaml", [{"template_id": "web", "_merge": "replace"}])
    engine = TemplateEngine(config_dir)
    with pytest.raises(TemplateNotFoundError, match=r"no template 'wbe' \(did you mean 'web'\?\)"):
        engine.explain("wbe")
    assert engine.explain("web").merge == "replace"
    assert "name" not in [f.field for f in engine.explain("web").fields]


def test_explain_load_of_a_load_served_stale_explains_the_cached_values(
    write: WriteFile, config_dir: Path
) -> None:
    from templar.provenance import explain_load

    write("templates.yaml", [{"template_id": "a", "name": "A", "configuration": {"x": 1}}])
    engine = TemplateEngine(config_dir, use_cache=False)
    state, locator = engine.state, engine.session.locator
    read = explain_load(state, "a", None, merge="deep", locator=locator)
    assert [layer.layer for layer in read.layers] == ["shared"]
    assert read["configuration.x"].source.line is not None  # read from the file
    state.served_stale = "the database is down"  # what a load of the last cached one says
    stale = explain_load(state, "a", None, merge="deep", locator=locator)
    assert [layer.layer for layer in stale.layers] == ["cached"]
    assert stale["configuration.x"].source.record == {"served": "the database is down"}
    assert stale["name"].value == "A"
