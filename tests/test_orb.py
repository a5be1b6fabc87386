"""ORB config dirs: ``config.json`` (and ``default_config.json``) read as ORB reads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from templar import TemplateEngine
from templar.cli import cli
from templar.errors import ConfigurationError
from templar.orb import LayerNamer, load_orb_config, without_empty
from templar.testing import issue_codes

from .providers_for_tests import SizedPlugin

WriteFile = Callable[[str, Any], Path]


def orb_config(*providers: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """An ORB config.json with these provider instances (as ORB's own samples write it).

    ``template.max_number`` is 1: ORB's packaged 10 is more than the ``sized`` test
    provider allows for a small ``size``."""
    return {
        "scheduler": {"type": "hostfactory", "config_root": "."},
        "provider": {"providers": list(providers), **sections.pop("provider", {})},
        "template": sections.pop("template", {"max_number": 1}),
        **sections,
    }


def sized(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "sized", "enabled": True, "config": {"region": "x"}, **extra}


@pytest.fixture
def orb_engine(config_dir: Path) -> Callable[[], TemplateEngine]:
    def make() -> TemplateEngine:
        return TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)

    return make


def test_orb_file_names_give_instance_type_and_shared_layers(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write("config.json", orb_config(sized("sized-prod")))
    write("sized-prod_templates.json", {"templates": [{"templateId": "a", "size": 5}]})
    write(
        "sized_templates.json",
        {
            "templates": [
                {"templateId": "a", "size": 2, "color": "green"},
                {"templateId": "b", "size": 3},
            ]
        },
    )
    write("templates.json", [{"template_id": "c", "size": 4}])
    engine = orb_engine()
    assert [(i.name, i.type) for i in engine.instances] == [("sized-prod", "sized")]
    templates = {t.template_id: t for t in engine.list_templates()}
    assert sorted(templates) == ["a", "b", "c"]
    # ORB takes a template whole from the highest file defining it: no color from below
    assert templates["a"].configuration["size"] == 5
    assert templates["a"].configuration["color"] == "blue"  # the plugin's default
    assert Path(templates["a"].source_file).name == "sized-prod_templates.json"
    assert (templates["a"].file_priority, templates["b"].file_priority) == (1, 2)
    assert templates["c"].file_priority == 4
    assert engine.validate().issues == []


def test_disabled_instances_are_skipped_and_their_files_reported(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write("config.json", orb_config(sized("on"), sized("off", enabled=False)))
    write("on_templates.json", [{"templateId": "a", "size": 1}])
    write("off_templates.json", [{"templateId": "b", "size": 1}])
    write("elsewhere_templates.json", [{"templateId": "c", "size": 1}])
    engine = orb_engine()
    assert [i.name for i in engine.instances] == ["on"]
    assert [t.template_id for t in engine.list_templates()] == ["a"]
    messages = {Path(i.file or "").name: i.message for i in engine.validate().file_issues}
    assert "disabled in config.json" in messages["off_templates.json"]
    assert "no provider instance of type 'elsewhere'" in messages["elsewhere_templates.json"]


def test_template_defaults_fill_by_level_and_explain_names_the_config_line(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine], config_dir: Path
) -> None:
    config = orb_config(
        sized("sized-prod", template_defaults={"color": "purple"}),
        provider={
            "provider_defaults": {"sized": {"template_defaults": {"size": 7, "color": "red"}}}
        },
        template={"max_number": 3, "default_price_type": "spot"},
    )
    write("config.json", config)
    write(
        "sized_templates.json",
        [{"templateId": "a"}, {"templateId": "b", "size": 9, "maxNumber": 2}],
    )
    engine = orb_engine()
    assert engine.validate().issues == []  # default_price_type: sized has no price_type
    a, b = engine.list_templates()
    assert a.configuration == {
        "size": 7,
        "color": "purple",
        "max_number": 3,
        "descriptor": "",
        "labels": {},
    }
    assert (b.configuration["size"], b.configuration["max_number"]) == (9, 2)

    explained = {f.field: f for f in engine.explain("a").fields}
    lines = (config_dir / "config.json").read_text().splitlines()
    for field, key, level in (
        ("configuration.color", '"color": "purple"', "instance-defaults"),
        ("configuration.size", '"size": 7', "type-defaults"),
        ("configuration.max_number", '"max_number": 3', "type-defaults"),
    ):
        source = explained[field].source
        assert Path(source.file or "").name == "config.json"
        assert source.line is not None and key in lines[source.line - 1]
        assert source.layer.startswith(level)
    shadowed = explained["configuration.color"].shadowed
    assert [s.value for s in shadowed] == ["red", "blue"]  # type defaults, then the plugin's
    assert key_line(lines, '"color": "red"') == shadowed[0].line


def key_line(lines: list[str], text: str) -> int:
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_empty_string_list_and_mapping_mean_not_set(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write(
        "config.json",
        orb_config(
            sized("p"),
            provider={
                "provider_defaults": {
                    "sized": {"template_defaults": {"color": "red", "labels": {"team": "hpc"}}}
                }
            },
        ),
    )
    write(
        "p_templates.json",
        [
            {
                "templateId": "a",
                "size": 1,
                "color": "",
                "labels": {},
                "limits": {"memory": ""},
                "tags": [],
            }
        ],
    )
    engine = orb_engine()
    (a,) = engine.list_templates()
    assert a.configuration["color"] == "red"
    assert a.configuration["labels"] == {"team": "hpc"}
    assert "limits" not in a.configuration  # {"memory": ""} is an empty mapping: not set
    assert engine.validate().issues == []
    assert without_empty({"a": "", "b": [], "c": {"d": {}}, "e": [""], "f": 0}) == {
        "e": [""],
        "f": 0,
    }


def test_the_empty_rule_is_orbs_and_holds_in_orb_dirs_only(
    write: WriteFile, config_dir: Path
) -> None:
    write("sizedtype_templates.yaml", [{"template_id": "a", "size": 1, "color": ""}])
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)
    assert engine.list_templates()[0].configuration["color"] == ""


def test_default_config_beside_config_json_replaces_the_packaged_defaults(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write("default_config.json", {"template": {"max_number": 4}, "provider": {"providers": []}})
    write("config.json", orb_config(sized("p"), template={}))
    write("templates.json", [{"templateId": "a", "size": 5}])
    (a,) = orb_engine().list_templates()
    assert a.configuration["max_number"] == 4
    assert Path(orb_engine().explain("a").fields[0].source.file or "").name in (
        "templates.json",
        "default_config.json",
    )


def test_config_json_filename_patterns_name_the_files(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    patterns = {"provider_specific": "{provider_name}.hf.json", "generic": "all.json"}
    write(
        "config.json",
        orb_config(sized("p"), template={"filename_patterns": patterns, "max_number": 1}),
    )
    write("p.hf.yaml", "- templateId: a\n  size: 1\n")
    write("all.json", [{"templateId": "b", "size": 1}])
    write("templates.json", [{"templateId": "c", "size": 1}])  # Templar's own name
    engine = orb_engine()
    assert sorted(t.template_id for t in engine.list_templates()) == ["a", "b", "c"]
    kinds = {Path(s.location).name: s.kind.label for s in engine.storage.list_sources()}
    assert kinds == {"p.hf.yaml": "instance", "all.json": "shared", "templates.json": "shared"}


def test_without_providers_orb_has_its_packaged_aws_default(
    write: WriteFile, config_dir: Path
) -> None:
    write("config.json", {"scheduler": {"type": "hostfactory"}})
    orb = load_orb_config(config_dir)
    assert orb is not None
    assert [(p.name, p.type, p.enabled) for p in orb.providers] == [("aws-default", "aws", True)]
    namer = orb.layer_namer([("aws-default", "aws")])
    assert namer(config_dir / "aws-default_templates.json").scope == "aws-default"  # type: ignore[union-attr]
    assert namer(config_dir / "aws_templates.yml").kind.label == "type"  # type: ignore[union-attr]
    assert namer(config_dir / "awsprov_templates.json").kind.label == "provider"  # type: ignore[union-attr]
    assert namer(config_dir / "config.json") is None
    assert namer(config_dir / "default_config.json") is None


def test_templar_yaml_beside_config_json_wins(write: WriteFile, config_dir: Path) -> None:
    write("config.json", orb_config(sized("p")))
    write("templar.yaml", "providers: [{name: q, type: sized}]\n")
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()], use_cache=False)
    assert [i.name for i in engine.instances] == ["q"]
    assert engine.settings.orb is None


def test_orb_config_dir_is_the_fallback_config_dir(
    write: WriteFile, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("config.json", orb_config(sized("p")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORB_CONFIG_DIR", str(config_dir))
    assert TemplateEngine(use_cache=False).config_dir == config_dir.resolve()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("TEMPLAR_CONFIG_DIR", str(other))
    assert TemplateEngine(use_cache=False).config_dir == other.resolve()


@pytest.mark.parametrize(
    ("config", "where", "words"),
    [
        ('{"provider": {"providers": [\n  {"type": "sized"}\n]}}', ":2:3:", "needs a 'name'"),
        (
            '{"provider": {"providers": [\n {"name": "a", "type": "sized"},\n'
            ' {"name": "a", "type": "sized"}]}}',
            ":3:3:",
            "declared twice",
        ),
        (
            '{"provider": {"providers": [{"name": "a", "type": "s", "enabled": "no"}]}}',
            ":1:",
            "true or false",
        ),
        (
            '{"template": {"filename_patterns": {"generic": "{provider_name}.json"}}}',
            ":1:",
            "placeholder",
        ),
        ('{"provider": {\n  "providers": [,]}}', ":2:", ""),
    ],
)
def test_a_config_json_orb_would_refuse_is_a_located_error(
    write: WriteFile, config_dir: Path, config: str, where: str, words: str
) -> None:
    write("config.json", config.encode())
    with pytest.raises(ConfigurationError) as raised:
        TemplateEngine(config_dir, use_cache=False)
    assert f"config.json{where}" in raised.value.message
    assert words in raised.value.message


def test_an_unknown_provider_type_is_reported_at_its_config_line(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine], config_dir: Path
) -> None:
    write("config.json", orb_config({"name": "k", "type": "kubernetes"}))
    write("k_templates.json", [{"templateId": "a"}])
    (issue,) = [i for i in orb_engine().validate().file_issues if i.code == "unknown-provider-type"]
    lines = (config_dir / "config.json").read_text().splitlines()
    assert issue.file == str(config_dir / "config.json")
    assert issue.line is not None and '"kubernetes"' in lines[issue.line - 1]
    assert issue.field == "provider.providers.0.type"


def test_editing_config_json_reloads_the_defaults(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write("config.json", orb_config(sized("p", template_defaults={"size": 2})))
    write("templates.json", [{"templateId": "a"}])
    engine = orb_engine()
    assert engine.list_templates()[0].configuration["size"] == 2
    write("config.json", orb_config(sized("p", template_defaults={"size": 3, "color": "x"})))
    event = engine.reload()
    assert event.changed == ["a"] or "a" in str(event)
    assert engine.list_templates()[0].configuration["size"] == 3


def test_cli_explain_names_config_json(write: WriteFile, config_dir: Path) -> None:
    write(
        "config.json",
        orb_config({"name": "g", "type": "generic", "template_defaults": {"zone": "b"}}),
    )
    write("templates.json", [{"templateId": "a", "provider_type": "generic"}])
    result = CliRunner().invoke(
        cli, ["--config-dir", str(config_dir), "--no-cache", "show", "a", "--explain"]
    )
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "configuration.zone" in line)
    assert "config.json:" in line and "instance-defaults" in line
    assert issue_codes(TemplateEngine(config_dir, use_cache=False).validate()) == []
    assert (
        json.loads((config_dir / "config.json").read_text())["provider"]["providers"][0]["name"]
        == "g"
    )


def test_layer_namer_prefers_types_over_instances_of_the_same_name(tmp_path: Path) -> None:
    namer = LayerNamer(
        {
            "provider_specific": "{provider_name}_templates.json",
            "provider_type": "{provider_type}_templates.json",
            "generic": "templates.json",
        },
        [("aws", "aws"), ("aws-b", "aws")],
    )
    assert namer(tmp_path / "aws_templates.json").kind.label == "type"  # type: ignore[union-attr]
    assert namer(tmp_path / "aws-b_templates.json").kind.label == "instance"  # type: ignore[union-attr]
    assert namer(tmp_path / "notes.json") is None


def test_a_template_replaces_its_defaults_field_by_field(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    """ORB lays a template over its defaults one field at a time: a mapping the template
    writes (tags, labels) replaces the default one whole, as ORB's own listing shows."""
    defaults = {"labels": {"team": "hpc", "env": "dev"}, "color": "red"}
    write(
        "config.json",
        orb_config(
            sized("p"),
            provider={"provider_defaults": {"sized": {"template_defaults": defaults}}},
        ),
    )
    write("templates.json", [{"templateId": "a", "size": 1, "labels": {"team": "web"}}])
    engine = orb_engine()
    (a,) = engine.list_templates()
    assert a.configuration["labels"] == {"team": "web"}
    assert a.configuration["color"] == "red"
    explained = {f.field: f for f in engine.explain("a").fields}
    assert "configuration.labels.env" not in explained
    assert [s.value for s in explained["configuration.labels.team"].shadowed] == ["hpc"]


def test_watch_follows_config_json_and_orb_named_files(write: WriteFile, config_dir: Path) -> None:
    """Real watchfiles events: an edit of config.json re-reads the defaults, and a file
    of ORB's names (not one of Templar's) is watched."""
    import queue

    from templar import ChangeEvent

    def config(zone: str) -> dict[str, Any]:
        return orb_config({"name": "g", "type": "generic", "template_defaults": {"zone": zone}})

    write("config.json", config("a"))
    write("g_templates.json", [{"templateId": "t"}])
    engine = TemplateEngine(config_dir, use_cache=False)
    events: queue.Queue[ChangeEvent] = queue.Queue()
    watcher = engine.watch(events.put, debounce_ms=30)
    try:
        assert engine.get_template("t").configuration["zone"] == "a"  # type: ignore[union-attr]
        write("config.json", config("b"))
        events.get(timeout=10)
        assert engine.get_template("t").configuration["zone"] == "b"  # type: ignore[union-attr]
        write("g_templates.json", [{"templateId": "t"}, {"templateId": "u"}])
        event = events.get(timeout=10)
        assert event.added == {"g": ["u"]}
    finally:
        watcher.stop()


def test_an_orb_dir_without_template_files_names_orbs_file_names(
    write: WriteFile, orb_engine: Callable[[], TemplateEngine]
) -> None:
    write("config.json", orb_config(sized("sized-prod")))
    (issue,) = orb_engine().validate().issues
    assert issue.code == "no-templates"
    assert "sized-prod_templates.json, sized_templates.json, templates.json" in issue.message
