"""templar.discover: provider instances from the layers, and what is wrong with the
layers as a whole."""

from __future__ import annotations

from pathlib import Path

from templar.discover import check_ambiguous, discover_instances
from templar.hierarchy import group_layers
from templar.locate import Locator
from templar.models import LayerKind, ValidationIssueDTO
from templar.settings import ProviderInstanceSettings
from templar.storage import FileStorage, LayerSource, RawLayer, RawTemplate


def layer(
    path: Path, kind: LayerKind, scope: str | None, *ids: str, type_: str | None = None
) -> RawLayer:
    source = LayerSource(kind, scope, str(path))
    return RawLayer(
        source, [RawTemplate(i, {"template_id": i}, (n,), type_) for n, i in enumerate(ids)]
    )


def test_with_none_declared_each_type_found_is_an_instance(tmp_path: Path) -> None:
    layers = [
        layer(tmp_path / "templates.yaml", LayerKind.SHARED, None, "a"),
        layer(tmp_path / "t.yaml", LayerKind.SHARED, None, "b", type_="aws"),
        layer(tmp_path / "k8sprov_templates.yaml", LayerKind.PROVIDER, "k8s", "c"),
        layer(tmp_path / "awsinst_templates.yaml", LayerKind.INSTANCE, "aws", "d"),
        layer(tmp_path / "nopeinst_templates.yaml", LayerKind.INSTANCE, "nope", "e"),
    ]
    issues: list[ValidationIssueDTO] = []
    instances = discover_instances(
        layers, [], {"generic", "aws", "k8s"}, Locator(FileStorage(tmp_path), None), issues
    )
    assert [(i.name, i.type) for i in instances] == [
        ("aws", "aws"),
        ("generic", "generic"),
        ("k8s", "k8s"),
    ]
    # an instance file named after no installed type is for an undeclared instance
    assert [(i.code, Path(i.file or "").name) for i in issues] == [
        ("unknown-instance", "nopeinst_templates.yaml")
    ]


def test_declared_instances_and_the_layers_nobody_reads(tmp_path: Path) -> None:
    declared = [ProviderInstanceSettings(name="prod", type="aws")]
    layers = [
        layer(tmp_path / "devinst_templates.yaml", LayerKind.INSTANCE, "dev", "a"),
        layer(tmp_path / "k8stype_templates.yaml", LayerKind.TYPE, "k8s", "b"),
        layer(tmp_path / "templates.yaml", LayerKind.SHARED, None, "c", type_="k8s"),
    ]
    issues: list[ValidationIssueDTO] = []
    instances = discover_instances(
        layers, declared, {"aws", "k8s"}, Locator(FileStorage(tmp_path), None), issues
    )
    assert [(i.name, i.type, i.declared_index) for i in instances] == [("prod", "aws", 0)]
    assert [i.code for i in issues] == ["unknown-instance", "unused-layer", "no-instance-for-type"]
    assert issues[2].template_id == "c"


def test_one_id_in_two_files_of_one_layer_keeps_the_first(tmp_path: Path) -> None:
    (tmp_path / "templates.json").write_text('[{"template_id": "a"}]')
    yaml_layer = layer(tmp_path / "templates.yaml", LayerKind.SHARED, None, "a", "b")
    json_layer = layer(tmp_path / "templates.json", LayerKind.SHARED, None, "a", "c")
    by_kind = group_layers([yaml_layer, json_layer])
    issues: list[ValidationIssueDTO] = []
    check_ambiguous(by_kind, Locator(FileStorage(tmp_path), None), issues)
    (issue,) = issues
    assert (issue.code, issue.template_id, issue.line) == ("ambiguous-template-id", "a", 1)
    assert "templates.yaml" in issue.message
    (group,) = by_kind.values()
    assert [t.template_id for t in group[1].templates] == ["c"]
    assert [t.template_id for t in json_layer.templates] == ["a", "c"]  # the layer read is kept
