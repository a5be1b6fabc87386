"""templar.assemble: a whole load, and the incremental one after an edit, which must
give what a whole load gives."""

from __future__ import annotations

from pathlib import Path

from templar.assemble import Assembler
from templar.locate import Locator
from templar.plugins import PluginHost
from templar.settings import EngineSettings
from templar.storage import FileStorage, RawLayer
from templar.testing import write_layer


def assembler(config_dir: Path) -> tuple[Assembler, FileStorage]:
    storage = FileStorage(config_dir)
    locator = Locator(storage, None)
    host = PluginHost(load_entrypoints=False)
    return Assembler(EngineSettings(), None, host, locator, config_dir), storage


def read(storage: FileStorage) -> list[RawLayer]:
    return [storage.read(source) for source in storage.list_sources()]


def test_an_edit_of_values_is_assembled_incrementally_as_a_whole_load_would(
    tmp_path: Path,
) -> None:
    write_layer(tmp_path, "templates.yaml", [{"template_id": "a"}, {"template_id": "b"}])
    write_layer(tmp_path, "genericinst_templates.yaml", [{"template_id": "a", "name": "one"}])
    parts, storage = assembler(tmp_path)
    old = parts.assemble(read(storage))
    write_layer(tmp_path, "genericinst_templates.yaml", [{"template_id": "a", "name": "two"}])
    layers = read(storage)
    # the unchanged file is handed over as the very same layer object, as the reader does
    layers[1] = old.layers[layers[1].source.location]
    partial = parts.assemble_changed(old, layers)
    assert partial is not None
    whole = assembler(tmp_path)[0].assemble(layers)
    assert partial.templates == whole.templates
    assert partial.templates["generic"]["a"].name == "two"
    assert partial.templates["generic"]["b"] is old.templates["generic"]["b"]


def test_a_new_file_needs_a_whole_load(tmp_path: Path) -> None:
    write_layer(tmp_path, "templates.yaml", [{"template_id": "a"}])
    parts, storage = assembler(tmp_path)
    old = parts.assemble(read(storage))
    write_layer(tmp_path, "genericprov_templates.yaml", [{"template_id": "a", "name": "p"}])
    assert parts.assemble_changed(old, read(storage)) is None


def test_no_layer_at_all_is_a_warning_naming_the_directory(tmp_path: Path) -> None:
    state = assembler(tmp_path)[0].assemble([])
    (issue,) = state.file_issues
    assert (issue.code, issue.file) == ("no-templates", str(tmp_path))
    assert state.instances == [] and state.templates == {}
