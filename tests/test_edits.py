"""Comment-preserving edits of one template (templar.storage.edits, templar.storage.jsonedit).

Every test diffs the file before and after: only the lines of what changed may
differ, and the result must read back (through Templar's own reader) as exactly the
old data with that one change.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from templar.reader import parse_document
from templar.storage.edits import edit_document, edit_file

YAML_LIST = """\
# Templates of the web tier. Keep comments: they say why.
templates:
  # the small one, for staging
  - template_id: web-small   # id used by the scheduler
    name: "Web small"
    description: 'quoted, on purpose'
    configuration:
      max_number: 10   # why 10: the budget of team X
      subnets: [subnet-a, subnet-b]
      empty: ~
      flag: True
      script: |
        echo one
        echo two
    tags: {env: prod, team: web}

  # the big one
  - template_id: web-large
    name: Web large
    configuration:
      max_number: 50
      weights:
        m5.large: 1
scheduler_type: hostfactory  # kept as it is
"""

YAML_TOP_LIST = """\
# a bare list
- template_id: a
  configuration:
    max_number: 1   # one
- template_id: b
  configuration:
    max_number: 2
"""

YAML_ID_MAP = """\
# id -> body
a:
  configuration:
    max_number: 1   # one
    list:
    - x
    - y
b:
  configuration: {max_number: 2}
"""

YAML_TEMPLATES_MAP = """\
templates:
  a:
    configuration:
      max_number: 1   # one
  b:
    configuration:
      max_number: 2
"""

JSON_ENVELOPE = """\
{
  "scheduler_type": "hostfactory",
  "templates": [
    {
      "templateId": "a",
      "maxNumber": 1,
      "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "2"]},
      "vmType": "m5.large"
    },
    {
      "templateId": "b",
      "maxNumber": 2
    }
  ]
}
"""

JSON_ID_MAP = """\
{
    "a": {
        "template_id": "a",
        "configuration": {"max_number": 1}
    },
    "b": {
        "configuration": {
            "max_number": 2
        }
    }
}
"""

JSON_TOP_LIST = '[{"template_id": "a", "max_number": 1}, {"template_id": "b", "max_number": 2}]\n'

DOCUMENTS = {
    "yaml-templates-list": ("yaml", YAML_LIST),
    "yaml-list": ("yaml", YAML_TOP_LIST),
    "yaml-id-map": ("yaml", YAML_ID_MAP),
    "yaml-templates-map": ("yaml", YAML_TEMPLATES_MAP),
    "json-envelope": ("json", JSON_ENVELOPE),
    "json-id-map": ("json", JSON_ID_MAP),
    "json-list": ("json", JSON_TOP_LIST),
}


def read(fmt: str, text: str) -> Any:
    return parse_document(Path(f"layer.{fmt}"), text.encode())


def templates_of(data: Any) -> dict[str, Any]:
    """id -> body, for the three shapes."""
    if isinstance(data, dict) and "templates" in data:
        data = data["templates"]
    if isinstance(data, list):
        return {str(t.get("template_id", t.get("templateId"))): t for t in data}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and added between two texts."""
    removed, added = [], []
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += before.splitlines()[i1:i2]
            added += after.splitlines()[j1:j2]
    return removed, added


def edited(text: str, fmt: str, template_id: str, change: Any) -> tuple[str, dict[str, Any]]:
    """Apply ``change`` to a copy of the template's body and write it back."""
    body = copy.deepcopy(templates_of(read(fmt, text))[template_id])
    change(body)
    return edit_document(text, fmt, {template_id: body}), body


def set_max_number(body: dict[str, Any]) -> None:
    if "configuration" in body:
        body["configuration"]["max_number"] = 20
    else:
        body["maxNumber"] = 20


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_one_field_edit_changes_only_its_line(name: str) -> None:
    fmt, text = DOCUMENTS[name]
    new, body = edited(
        text, fmt, "a" if "a" in templates_of(read(fmt, text)) else "web-small", set_max_number
    )
    removed, added = changed_lines(text, new)
    if name == "json-list":  # one line holds everything
        assert len(removed) == len(added) == 1
    else:
        assert len(removed) == len(added) == 1, (removed, added)
        assert "20" in added[0] and "20" not in removed[0]
        # the comment on that line stays
        if "#" in removed[0]:
            assert removed[0].split("#", 1)[1] == added[0].split("#", 1)[1]
    before, after = templates_of(read(fmt, text)), templates_of(read(fmt, new))
    template_id = next(iter(set(before) & {"a", "web-small"}))
    assert after[template_id] == body
    assert {k: v for k, v in after.items() if k != template_id} == {
        k: v for k, v in before.items() if k != template_id
    }


def test_yaml_keeps_comments_quotes_flow_and_odd_scalars_of_the_edited_template() -> None:
    new, _ = edited(YAML_LIST, "yaml", "web-small", set_max_number)
    assert changed_lines(YAML_LIST, new) == (
        ["      max_number: 10   # why 10: the budget of team X"],
        ["      max_number: 20   # why 10: the budget of team X"],
    )
    # the things ruamel.yaml would normalise are still written as they were
    for kept in (
        "empty: ~",
        "flag: True",
        '"Web small"',
        "[subnet-a, subnet-b]",
        "{env: prod, team: web}",
    ):
        assert kept in new


def test_yaml_added_and_removed_keys_touch_only_their_lines() -> None:
    def change(body: dict[str, Any]) -> None:
        del body["description"]
        body["configuration"]["instance_type"] = "m5.large"
        body["configuration"]["weights"] = {"m5.large": 1}

    new, body = edited(YAML_LIST, "yaml", "web-small", change)
    removed, added = changed_lines(YAML_LIST, new)
    assert removed == ["    description: 'quoted, on purpose'"]
    assert [line.strip() for line in added] == [
        "instance_type: m5.large",
        "weights:",
        "m5.large: 1",
    ]
    assert templates_of(read("yaml", new))["web-small"] == body


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_create_appends_in_the_style_of_its_siblings(name: str) -> None:
    fmt, text = DOCUMENTS[name]
    body = {"template_id": "c", "configuration": {"max_number": 3, "subnets": ["s-1"]}}
    new = edit_document(text, fmt, {"c": body})
    before, after = templates_of(read(fmt, text)), templates_of(read(fmt, new))
    assert after == {**before, "c": body}
    assert list(after)[-1] == "c"
    if name != "json-list":
        removed, _added = changed_lines(text, new)
        # JSON: the previous last element's line gains a comma; YAML: nothing removed
        assert len(removed) <= 1
    if name == "json-envelope":
        assert list(json.loads(new)) == ["scheduler_type", "templates"]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_delete_removes_the_template_and_keeps_the_rest(name: str) -> None:
    fmt, text = DOCUMENTS[name]
    before = templates_of(read(fmt, text))
    victim = next(iter(before))
    new = edit_document(text, fmt, remove=[victim])
    after = templates_of(read(fmt, new))
    assert after == {k: v for k, v in before.items() if k != victim}
    _removed, added = changed_lines(text, new)
    assert (
        all(line.strip() in {"", "{", "["} or line.strip().startswith(("{", "[")) for line in added)
        or not added
    )


def test_delete_takes_the_comment_written_above_it() -> None:
    new = edit_document(YAML_LIST, "yaml", remove=["web-large"])
    assert "# the big one" not in new
    assert "# the small one, for staging" in new
    assert "scheduler_type: hostfactory  # kept as it is" in new


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_deleting_every_template_leaves_a_document_that_reads_as_empty(name: str) -> None:
    fmt, text = DOCUMENTS[name]
    new = edit_document(text, fmt, remove=list(templates_of(read(fmt, text))))
    assert templates_of(read(fmt, new)) == {}
    again = edit_document(new, fmt, {"z": {"template_id": "z", "x": 1}})
    assert templates_of(read(fmt, again)) == {"z": {"template_id": "z", "x": 1}}


def test_json_keeps_envelope_key_order_and_inline_objects() -> None:
    def change(body: dict[str, Any]) -> None:
        body["attributes"]["ncpus"] = ["Numeric", "4"]

    new, _ = edited(JSON_ENVELOPE, "json", "a", change)
    assert changed_lines(JSON_ENVELOPE, new) == (
        ['      "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "2"]},'],
        ['      "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "4"]},'],
    )


def test_json_added_key_goes_after_the_last_one_at_its_indentation() -> None:
    new, body = edited(JSON_ENVELOPE, "json", "b", lambda b: b.update(vmType="c5.xlarge"))
    removed, added = changed_lines(JSON_ENVELOPE, new)
    assert removed == ['      "maxNumber": 2']
    assert added == ['      "maxNumber": 2,', '      "vmType": "c5.xlarge"']
    assert templates_of(json.loads(new))["b"] == body


def test_a_document_the_scan_cannot_vouch_for_is_edited_the_slow_way() -> None:
    # an anchor shared across templates: the entry alone does not parse
    text = (
        "_base: &base\n"
        "  configuration:\n"
        "    max_number: 1   # shared\n"
        "a:\n"
        "  <<: *base\n"
        "  name: A   # a\n"
        "b:\n"
        "  name: B\n"
    )
    new = edit_document(text, "yaml", {"b": {"name": "B2"}})
    assert changed_lines(text, new) == (["  name: B"], ["  name: B2"])


def test_flow_style_root_is_edited_too() -> None:
    text = "templates: [{template_id: a, x: 1}, {template_id: b, x: 2}]  # flow\n"
    new = edit_document(text, "yaml", {"b": {"template_id": "b", "x": 3}})
    assert templates_of(read("yaml", new)) == {
        "a": {"template_id": "a", "x": 1},
        "b": {"template_id": "b", "x": 3},
    }


def test_a_new_document_is_created_in_the_templates_envelope(tmp_path: Path) -> None:
    body = {"template_id": "a", "configuration": {"max_number": 1}}
    for fmt in ("yaml", "json"):
        text = edit_document(None, fmt, {"a": body})  # type: ignore[arg-type]
        assert read(fmt, text) == {"templates": [body]}


def test_id_that_only_appears_in_another_template_is_not_mistaken() -> None:
    text = YAML_TOP_LIST.replace("max_number: 2", "max_number: 2\n  note: see template a")
    new = edit_document(text, "yaml", {"c": {"template_id": "c"}})
    assert list(templates_of(read("yaml", new))) == ["a", "b", "c"]


def test_duplicate_id_edits_the_first_as_the_reader_keeps_the_first() -> None:
    text = "- template_id: a\n  x: 1\n- template_id: a\n  x: 2\n"
    new = edit_document(text, "yaml", {"a": {"template_id": "a", "x": 9}})
    assert read("yaml", new) == [{"template_id": "a", "x": 9}, {"template_id": "a", "x": 2}]


def test_big_file_rest_is_byte_identical(tmp_path: Path) -> None:
    templates = [
        {"template_id": f"t{i}", "configuration": {"max_number": i, "tags": [f"x{i}"]}}
        for i in range(400)
    ]
    text = "# big\ntemplates:\n" + "".join(
        f"  - template_id: t{i}  # number {i}\n    configuration:\n      max_number: {i}\n"
        f"      tags: [x{i}]\n"
        for i in range(400)
    )
    assert read("yaml", text)["templates"] == templates
    body = copy.deepcopy(templates[200])
    body["configuration"]["max_number"] = -1
    new = edit_document(text, "yaml", {"t200": body})
    assert changed_lines(text, new) == (["      max_number: 200"], ["      max_number: -1"])
    start = text.index("  - template_id: t200 ")
    assert new[:start] == text[:start]
    assert new[-len(text) + start + 80 :] == text[start + 80 :]


def test_edit_file_keeps_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "awsprov_templates.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + YAML_TOP_LIST.replace("\n", "\r\n").encode())
    from templar.storage.atomic import file_version

    edit_file(
        path, file_version(path), {"a": {"template_id": "a", "configuration": {"max_number": 5}}}
    )
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n")
    assert b"max_number: 5   # one\r\n" in raw


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_body_without_its_id_keeps_the_id(name: str) -> None:
    """A body from an id -> body layer has no template_id; in a list it must gain one."""
    fmt, text = DOCUMENTS[name]
    new = edit_document(text, fmt, {"z": {"configuration": {"max_number": 1}}})
    assert templates_of(read(fmt, new))["z"]["configuration"] == {"max_number": 1}
    created = edit_document(None, fmt, {"z": {"x": 1}})  # type: ignore[arg-type]
    assert templates_of(read(fmt, created)) == {"z": {"template_id": "z", "x": 1}}


def test_json_ids_written_with_escapes_or_as_numbers_are_found() -> None:
    """The scan looks only at entries whose text holds the id, unless the id could be
    spelled otherwise (a \\u escape, a number): then those are found too."""
    text = '{"templates": [{"templateId": "a\\u0062c", "x": 1}, {"templateId": 12, "x": 2}]}\n'
    new = edit_document(text, "json", {"abc": {"templateId": "abc", "x": 5}})
    assert read("json", new)["templates"][0] == {"templateId": "abc", "x": 5}
    new = edit_document(text, "json", {"12": {"templateId": 12, "x": 6}})
    assert read("json", new)["templates"] == [
        {"templateId": "abc", "x": 1},
        {"templateId": 12, "x": 6},
    ]
    # the id's text in another template's value is not that template
    text = '{"templates": [{"templateId": "a", "note": "b"}, {"templateId": "b"}]}\n'
    new = edit_document(text, "json", {"b": {"templateId": "b", "x": 1}})
    assert read("json", new)["templates"] == [
        {"templateId": "a", "note": "b"},
        {"templateId": "b", "x": 1},
    ]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("operation", ["put", "put-new", "remove"])
def test_an_edit_by_the_scan_of_the_read_gives_the_text_of_a_fresh_edit(
    name: str, operation: str
) -> None:
    """A write right after the read reuses the read's scan (one pass over a big file,
    not two); the text it makes is the one a fresh scan makes."""
    from templar.storage.edits import scan_document

    fmt, text = DOCUMENTS[name]
    template_id = "z" if operation == "put-new" else list(templates_of(read(fmt, text)))[-1]
    scan = scan_document(text, fmt, template_id)  # type: ignore[arg-type]
    if operation == "remove":
        fresh = edit_document(text, fmt, remove=[template_id])
        reused = edit_document(text, fmt, remove=[template_id], scan=scan)
    else:
        body = copy.deepcopy(templates_of(read(fmt, text)).get(template_id, {"x": 1}))
        body["added"] = [1, 2]
        fresh = edit_document(text, fmt, {template_id: body})
        reused = edit_document(text, fmt, {template_id: body}, scan=scan)
    assert reused == fresh != text


def test_a_scan_of_other_bytes_is_not_used(tmp_path: Path) -> None:
    """edit_file uses a scan only when it was made of the bytes the write finds: a
    scan of the file before someone else's edit would splice at wrong offsets."""
    from templar.storage.atomic import file_version
    from templar.storage.edits import scan_document

    path = tmp_path / "awsprov_templates.yaml"
    path.write_text(YAML_LIST)
    old_scan = scan_document(YAML_LIST, "yaml", "web-large")
    old_scan.version = file_version(path)
    moved = "# a comment someone added, shifting every offset\n" * 3 + YAML_LIST
    path.write_text(moved)
    body = copy.deepcopy(templates_of(read("yaml", moved))["web-large"])
    body["configuration"]["max_number"] = 51
    edit_file(path, file_version(path), {"web-large": body}, scan=old_scan)
    assert path.read_text() == moved.replace("max_number: 50", "max_number: 51")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_delete_removes_every_entry_of_the_id(fmt: str) -> None:
    """An id written twice: the reader keeps the first; deleting only that one would
    bring the second back as the template."""
    data = [{"template_id": "a", "x": 1}, {"template_id": "b"}, {"template_id": "a", "x": 2}]
    text = (
        json.dumps({"templates": data}, indent=2)
        if fmt == "json"
        else ("templates:\n- template_id: a\n  x: 1\n- template_id: b\n- template_id: a\n  x: 2\n")
    )
    new = edit_document(text, fmt, remove=["a"])  # type: ignore[arg-type]
    assert read(fmt, new) == {"templates": [{"template_id": "b"}]}


def test_a_scalar_change_keeps_its_quoting_and_its_comment_column() -> None:
    """The quick edit (no round trip): the value's own text is replaced, in its style."""
    text = (
        "templates:\n"
        "  - template_id: a\n"
        "    maxNumber: 200            # why 200\n"
        "    name: 'Web small'\n"
        '    image: "nginx:1.27"   # pinned\n'
        "    configuration:\n"
        "      deep:\n"
        "        level: low    # nested\n"
        "    flag: true\n"
    )
    body = templates_of(read("yaml", text))["a"]
    body = copy.deepcopy(body)
    body["maxNumber"] = 20
    body["name"] = "Web large"
    body["image"] = "nginx:1.28"
    body["configuration"]["deep"]["level"] = "high"
    body["flag"] = False
    new = edit_document(text, "yaml", {"a": body})
    assert new == (
        "templates:\n"
        "  - template_id: a\n"
        "    maxNumber: 20             # why 200\n"
        "    name: 'Web large'\n"
        '    image: "nginx:1.28"   # pinned\n'
        "    configuration:\n"
        "      deep:\n"
        "        level: high   # nested\n"
        "    flag: false\n"
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda b: b.update(name="20"), "a plain 20 would read as a number"),
        (lambda b: b.update(extra=1), "a new key"),
        (lambda b: b["tags"].append("z"), "a list changed"),
        (lambda b: b.update(script="two\nlines"), "a multi-line string"),
    ],
)
def test_what_the_quick_edit_cannot_do_goes_the_general_way(change: Any, why: str) -> None:
    text = "- template_id: a\n  name: plain   # c\n  tags: [x, y]\n  script: echo\n"
    body = copy.deepcopy(read("yaml", text)[0])
    change(body)
    new = edit_document(text, "yaml", {"a": body})
    assert read("yaml", new) == [body], why
    assert "# c" in new
