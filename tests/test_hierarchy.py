"""Discovery, priority and merging through the public API, with real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from templar import TemplateEngine
from tests.conftest import WriteFile
from tests.providers_for_tests import SizedPlugin

LAYER_FILES = {
    1: "localinst_templates.yaml",
    2: "generictype_templates.yaml",
    3: "genericprov_templates.yaml",
    4: "templates.yaml",
}
SETTINGS = """
providers:
  - name: local
    type: generic
    defaults: {configuration: {who: instance-defaults}}
provider_defaults:
  generic: {configuration: {who: type-defaults}}
"""


@pytest.mark.parametrize(
    ("present", "expected_who", "expected_priority"),
    [
        ({1, 2, 3, 4}, "instance", 1),
        ({2, 3, 4}, "type", 2),
        ({3, 4}, "provider", 3),
        ({4}, "shared", 4),
        ({1, 4}, "instance", 1),
        ({2}, "type", 2),
    ],
)
def test_the_highest_priority_layer_wins(
    write: WriteFile, config_dir: Path, present: set[int], expected_who: str, expected_priority: int
) -> None:
    write("templar.yaml", SETTINGS)
    names = {1: "instance", 2: "type", 3: "provider", 4: "shared"}
    for priority in present:
        write(LAYER_FILES[priority], [{"template_id": "t", "who": names[priority]}])

    template = TemplateEngine(config_dir).get_template("t")

    assert template is not None
    assert template.configuration["who"] == expected_who
    assert template.file_priority == expected_priority
    assert template.source_file == str(config_dir / LAYER_FILES[expected_priority])


def test_defaults_layers_sit_below_every_file(write: WriteFile, config_dir: Path) -> None:
    write("templar.yaml", SETTINGS)
    write("templates.yaml", [{"template_id": "t", "name": "x"}])
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").configuration["who"] == "instance-defaults"  # type: ignore[union-attr]

    write(
        "templar.yaml", SETTINGS.replace("defaults: {configuration: {who: instance-defaults}}", "")
    )
    assert TemplateEngine(config_dir).get_template("t").configuration["who"] == "type-defaults"  # type: ignore[union-attr]


@pytest.mark.parametrize("suffix", ["yaml", "yml", "json"])
@pytest.mark.parametrize(
    "document",
    [
        [{"template_id": "a", "name": "A"}, {"template_id": "b", "name": "B"}],
        {
            "scheduler_type": "hostfactory",
            "templates": [{"templateId": "a", "name": "A"}, {"template_id": "b", "name": "B"}],
        },
        {"a": {"name": "A"}, "b": {"name": "B"}},
    ],
    ids=["list", "templates-key", "id-mapping"],
)
def test_three_file_shapes_in_every_format(
    write: WriteFile, config_dir: Path, suffix: str, document: object
) -> None:
    write(f"templates.{suffix}", document)
    templates = TemplateEngine(config_dir).list_templates()
    assert [(t.template_id, t.name) for t in templates] == [("a", "A"), ("b", "B")]
    assert TemplateEngine(config_dir).validate().is_valid


def test_instances_come_from_file_names_and_provider_type_fields(
    write: WriteFile, config_dir: Path
) -> None:
    write("sizedprov_templates.yaml", [{"template_id": "s1", "size": 3}])
    write(
        "templates.yaml",
        [
            {"template_id": "shared-sized", "provider_type": "sized", "size": 2},
            {"template_id": "plain"},
        ],
    )
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()])

    assert [(i.name, i.type) for i in engine.instances] == [
        ("generic", "generic"),
        ("sized", "sized"),
    ]
    assert {t.template_id for t in engine.list_templates(provider="sized")} == {
        "s1",
        "shared-sized",
    }
    assert [t.template_id for t in engine.list_templates(provider_type="generic")] == ["plain"]


def test_shared_templates_apply_to_every_declared_instance(
    write: WriteFile, config_dir: Path
) -> None:
    write(
        "templar.yaml",
        "providers:\n  - {name: small, type: sized}\n  - {name: big, type: sized}\n  - {name: misc, type: generic}\n",
    )
    write(
        "templates.yaml",
        [
            {"template_id": "base", "size": 2},
            {"template_id": "only-generic", "provider_type": "generic"},
        ],
    )
    write("biginst_templates.yaml", [{"template_id": "base", "size": 20, "maxNumber": 5}])
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()])

    assert engine.get_template("base", provider="small").configuration["size"] == 2  # type: ignore[union-attr]
    big = engine.get_template("base", provider="big")
    assert (
        big is not None and big.configuration["size"] == 20 and big.configuration["max_number"] == 5
    )
    assert [t.template_id for t in engine.list_templates(provider="misc")] == [
        "base",
        "only-generic",
    ]
    assert engine.get_template("only-generic", provider="small") is None


def test_deep_merge_rules(write: WriteFile, config_dir: Path) -> None:
    write(
        "templates.yaml",
        [
            {
                "template_id": "t",
                "configuration": {
                    "nested": {"a": 1, "b": 2},
                    "items": [1, 2, 3],
                    "gone": "x",
                    "keep": True,
                },
            }
        ],
    )
    write(
        "genericinst_templates.yaml",
        [
            {
                "template_id": "t",
                "configuration": {"nested": {"b": 20, "c": 30}, "items": [9], "gone": None},
            }
        ],
    )
    configuration = TemplateEngine(config_dir).get_template("t").configuration  # type: ignore[union-attr]
    assert configuration == {"nested": {"a": 1, "b": 20, "c": 30}, "items": [9], "keep": True}


def test_merge_replace_globally_and_per_template(write: WriteFile, config_dir: Path) -> None:
    write(
        "templates.yaml",
        [
            {"template_id": "t", "name": "low", "configuration": {"a": 1}},
            {"template_id": "u", "configuration": {"a": 1}},
        ],
    )
    write(
        "genericinst_templates.yaml",
        [
            {"template_id": "t", "configuration": {"b": 2}},
            {"template_id": "u", "_merge": "replace", "configuration": {"b": 2}},
        ],
    )

    deep = TemplateEngine(config_dir)
    assert deep.get_template("t").configuration == {"a": 1, "b": 2}  # type: ignore[union-attr]
    assert deep.get_template("t").name == "low"  # type: ignore[union-attr]
    assert deep.get_template("u").configuration == {"b": 2}  # type: ignore[union-attr]

    write("templar.yaml", "merge: replace\n")
    replaced = TemplateEngine(config_dir)
    assert replaced.get_template("t").configuration == {"b": 2}  # type: ignore[union-attr]
    assert replaced.get_template("t").name is None  # type: ignore[union-attr]


def test_a_partial_higher_layer_is_fine_only_the_result_is_validated(
    write: WriteFile, config_dir: Path
) -> None:
    write("sizedprov_templates.yaml", [{"template_id": "t", "size": 4}])
    write(
        "sizedinst_templates.yaml", [{"template_id": "t", "color": "green"}]
    )  # no 'size': partial
    engine = TemplateEngine(config_dir, plugins=[SizedPlugin()])
    template = engine.get_template("t")
    assert template is not None
    assert template.configuration == {
        "size": 4,
        "max_number": 1,
        "color": "green",
        "labels": {},
        "descriptor": "",
    }
    assert engine.validate().is_valid


def test_flat_and_nested_configuration_keys_meet_in_configuration(
    write: WriteFile, config_dir: Path
) -> None:
    write("sizedprov_templates.yaml", [{"templateId": "t", "size": 4, "maxNumber": 2}])
    write("sizedinst_templates.json", [{"template_id": "t", "configuration": {"max_number": 3}}])
    template = TemplateEngine(config_dir, plugins=[SizedPlugin()]).get_template("t")
    assert template is not None
    assert template.configuration["max_number"] == 3
    assert template.configuration["size"] == 4
    assert template.configuration["color"] == "blue"  # the plugin's defaults layer


def test_list_get_search_and_active_only(write: WriteFile, config_dir: Path) -> None:
    write(
        "templates.yaml",
        [
            {
                "template_id": "on",
                "provider_api": "EC2Fleet",
                "configuration": {"zone": "a", "ports": [80, 443]},
            },
            {
                "template_id": "off",
                "is_active": False,
                "configuration": {"zone": "b", "replicas": 5},
            },
        ],
    )
    engine = TemplateEngine(config_dir)
    assert [t.template_id for t in engine.list_templates()] == ["on"]
    assert [t.template_id for t in engine.list_templates(active_only=False)] == ["on", "off"]
    assert engine.get_template("nope") is None
    assert [t.template_id for t in engine.search_templates({"provider_api": "EC2Fleet"})] == ["on"]
    # inactive templates are left out, as by list_templates, unless asked for
    assert engine.search_templates({"zone": "b"}) == []
    assert [t.template_id for t in engine.search_templates({"zone": "b"}, active_only=False)] == [
        "off"
    ]
    assert [
        t.template_id
        for t in engine.search_templates({"configuration.replicas": "5"}, active_only=False)
    ] == ["off"]
    assert [t.template_id for t in engine.search_templates({"ports": 443})] == ["on"]
    assert [t.template_id for t in engine.search_templates({"is_active": "false"})] == ["off"]
    assert engine.search_templates({"zone": "a", "is_active": False}) == []


def test_get_template_with_an_id_in_two_instances_asks_for_the_provider(
    write: WriteFile, config_dir: Path
) -> None:
    from templar import TemplarError

    write(
        "templar.yaml",
        "providers:\n  - {name: one, type: generic}\n  - {name: two, type: generic}\n",
    )
    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine(config_dir)
    with pytest.raises(TemplarError, match="one, two"):
        engine.get_template("t")
    assert engine.get_template("t", provider="two").provider_name == "two"  # type: ignore[union-attr]


def test_reload_sees_edits(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", [{"template_id": "t", "name": "before"}])
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").name == "before"  # type: ignore[union-attr]
    write("templates.yaml", [{"template_id": "t", "name": "after"}, {"template_id": "new"}])
    assert engine.get_template("t").name == "before"  # type: ignore[union-attr]
    engine.reload()
    assert engine.get_template("t").name == "after"  # type: ignore[union-attr]
    assert engine.get_template("new") is not None


def test_from_settings_configures_the_engine_in_code(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine.from_settings(
        {"providers": [{"name": "mine", "type": "generic", "defaults": {"description": "d"}}]},
        config_dir=config_dir,
    )
    template = engine.get_template("t")
    assert template is not None and template.provider_name == "mine" and template.description == "d"


def test_config_dir_from_the_environment(
    write: WriteFile, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("templates.yaml", [{"template_id": "from-env"}])
    monkeypatch.setenv("TEMPLAR_CONFIG_DIR", str(config_dir))
    assert [t.template_id for t in TemplateEngine().list_templates()] == ["from-env"]
    monkeypatch.delenv("TEMPLAR_CONFIG_DIR")
    monkeypatch.chdir(config_dir)
    assert [t.template_id for t in TemplateEngine().list_templates()] == ["from-env"]


def test_reload_rereads_the_engine_config(write: WriteFile, config_dir: Path) -> None:
    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").provider_name == "generic"  # type: ignore[union-attr]
    write("templar.yaml", "providers:\n  - {name: renamed, type: generic}\n")
    engine.reload()
    assert engine.get_template("t").provider_name == "renamed"  # type: ignore[union-attr]


def test_undeclared_instance_files_are_a_warning_not_a_provider_type(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.yaml", [{"template_id": "t"}])
    write("localinst_templates.yaml", [{"template_id": "t", "name": "local"}])
    engine = TemplateEngine(config_dir)
    assert [(i.name, i.type) for i in engine.instances] == [("generic", "generic")]
    [issue] = engine.validate().issues
    assert issue.code == "unknown-instance" and "declare it under 'providers:'" in issue.message
    assert engine.get_template("t").name is None  # type: ignore[union-attr]

    write("genericinst_templates.yaml", [{"template_id": "t", "name": "default instance"}])
    assert TemplateEngine(config_dir).get_template("t").name == "default instance"  # type: ignore[union-attr]


def test_shared_templates_of_a_type_without_instance_are_reported(
    write: WriteFile, config_dir: Path
) -> None:
    write("templar.yaml", "providers:\n  - {name: only, type: generic}\n")
    write(
        "templates.yaml",
        "- template_id: a\n- template_id: s\n  provider_type: sized\n- template_id: x\n  provider_type: awz\n",
    )
    report = TemplateEngine(config_dir, plugins=[SizedPlugin()]).validate()
    assert [(i.code, i.template_id, i.line) for i in report.issues] == [
        ("no-instance-for-type", "s", 2),
        ("unknown-provider-type", "x", 4),
    ]


def test_merge_directive_deep_opts_out_of_global_replace_and_typos_warn(
    write: WriteFile, config_dir: Path
) -> None:
    write("templar.yaml", "merge: replace\n")
    write("templates.yaml", [{"template_id": "t", "name": "low", "configuration": {"a": 1}}])
    write(
        "genericinst_templates.yaml",
        "- template_id: t\n  _merge: deep\n  configuration: {b: 2}\n",
    )
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").configuration == {"a": 1, "b": 2}  # type: ignore[union-attr]

    write(
        "genericinst_templates.yaml",
        "- template_id: t\n  _merge: repalce\n  configuration: {b: 2}\n",
    )
    engine = TemplateEngine(config_dir)
    assert engine.get_template("t").configuration == {"b": 2}  # type: ignore[union-attr]
    [issue] = engine.validate().issues
    assert (issue.code, issue.line, issue.column) == ("invalid-merge", 2, 11)
    assert "did you mean 'replace'" in issue.message


def test_underscore_keys_of_an_id_mapping_share_anchors_and_are_no_templates(
    write: WriteFile, config_dir: Path
) -> None:
    write(
        "templates.yaml",
        "_base: &base\n  configuration: {image: nginx, replicas: 2}\n"
        "web:\n  <<: *base\n  name: Web\n"
        "api:\n  configuration: {image: api}\n",
    )
    engine = TemplateEngine(config_dir)
    assert [t.template_id for t in engine.list_templates()] == ["web", "api"]
    assert engine.get_template("web").configuration == {"image": "nginx", "replicas": 2}  # type: ignore[union-attr]


def test_provider_name_pins_a_shared_template_and_is_always_the_instance(
    write: WriteFile, config_dir: Path
) -> None:
    write(
        "templar.yaml",
        "providers:\n  - {name: one, type: generic}\n  - {name: two, type: generic}\n",
    )
    write("templates.yaml", "- template_id: pinned\n  providerName: two\n- template_id: both\n")
    write("oneinst_templates.yaml", "- template_id: both\n  provider_name: elsewhere\n")
    engine = TemplateEngine(config_dir)
    assert [(t.provider_name, t.template_id) for t in engine.list_templates()] == [
        ("one", "both"),
        ("two", "pinned"),
        ("two", "both"),
    ]
    [issue] = engine.validate().issues
    assert (issue.code, issue.line, issue.column) == ("provider-name-mismatch", 2, 18)


def test_an_unknown_provider_or_type_is_an_error_with_a_suggestion(
    write: WriteFile, config_dir: Path
) -> None:
    from templar import TemplarError

    write("templates.yaml", [{"template_id": "t"}])
    engine = TemplateEngine(config_dir)
    with pytest.raises(
        TemplarError, match=r"unknown provider instance 'generc' \(did you mean 'generic'\?\)"
    ):
        engine.list_templates(provider="generc")
    with pytest.raises(TemplarError, match="unknown provider type 'awz'"):
        engine.list_templates(provider_type="awz")
    with pytest.raises(TemplarError, match="unknown provider instance"):
        engine.get_template("t", provider="nope")


# -- the hierarchy module itself ------------------------------------------------------------


def test_layers_of_an_instance_run_from_shared_to_instance(tmp_path: Path) -> None:
    from templar.hierarchy import group_layers, layers_of
    from templar.models import LayerKind
    from templar.state import ProviderInstance
    from templar.storage import LayerSource, RawLayer

    def raw(kind: LayerKind, scope: str | None, name: str) -> RawLayer:
        return RawLayer(LayerSource(kind, scope, str(tmp_path / name)))

    layers = [
        raw(LayerKind.INSTANCE, "prod", "prodinst_templates.yaml"),
        raw(LayerKind.INSTANCE, "dev", "devinst_templates.yaml"),
        raw(LayerKind.TYPE, "aws", "awstype_templates.yaml"),
        raw(LayerKind.PROVIDER, "aws", "awsprov_templates.yaml"),
        raw(LayerKind.PROVIDER, "k8s", "k8sprov_templates.yaml"),
        raw(LayerKind.SHARED, None, "templates.yaml"),
    ]
    ordered = layers_of(ProviderInstance("prod", "aws"), group_layers(layers))
    assert [Path(layer.source.location).name for layer in ordered] == [
        "templates.yaml",
        "awsprov_templates.yaml",
        "awstype_templates.yaml",
        "prodinst_templates.yaml",
    ]


def test_the_shared_layer_rule() -> None:
    from templar.hierarchy import shared_applies
    from templar.state import ProviderInstance
    from templar.storage import RawTemplate

    prod = ProviderInstance("prod", "aws")
    generic = ProviderInstance("generic", "generic")
    untyped = RawTemplate("t", {"template_id": "t"}, (0,))
    typed = RawTemplate("t", {"template_id": "t"}, (0,), "aws")
    pinned = RawTemplate("t", {"template_id": "t", "providerName": "dev"}, (0,), "aws")
    assert shared_applies(untyped, prod, declared=True)
    assert not shared_applies(untyped, prod, declared=False)  # undeclared: generic's
    assert shared_applies(untyped, generic, declared=False)
    assert shared_applies(typed, prod, declared=False)
    assert not shared_applies(typed, generic, declared=True)
    assert not shared_applies(pinned, prod, declared=True)  # pinned to another instance


@pytest.mark.parametrize("name", ["templates.json", "templates.yaml"])
def test_a_file_holding_one_template_object_is_that_template(
    write: WriteFile, config_dir: Path, name: str
) -> None:
    """ORB's and HostFactory's tools write one template per file too: its mappings
    (tags, metadata, configuration) are fields, not templates named ``tags``."""
    write(
        name,
        {
            "templateId": "one",
            "name": "One",
            "tags": {"team": "hpc"},
            "metadata": {"fleet_type": "instant"},
            "configuration": {"size": 2},
        },
    )
    engine = TemplateEngine(config_dir)
    (template,) = engine.list_templates()
    assert template.template_id == "one"
    assert (template.tags, template.metadata) == ({"team": "hpc"}, {"fleet_type": "instant"})
    assert template.configuration == {"size": 2}
    assert engine.validate().issues == []


def test_one_template_object_without_an_id_is_a_missing_id_not_an_id_mapping(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.yaml", "name: Web\ntags:\n  team: hpc\nconfiguration:\n  size: 2\n")
    report = TemplateEngine(config_dir).validate()
    assert [(i.code, i.line) for i in report.issues] == [("missing-template-id", 1)]
    assert report.results == []


def test_a_templates_key_holding_one_template_object_is_that_template(
    write: WriteFile, config_dir: Path
) -> None:
    write("templates.json", {"templates": {"template_id": "one", "tags": {"a": "b"}}})
    assert [t.template_id for t in TemplateEngine(config_dir).list_templates()] == ["one"]
