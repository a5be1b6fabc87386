"""templar_sql.audit: which fields an audit row names as changed, and the row a write
inserts (its columns are the audit table's)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from templar_sql.audit import audit_row, changed_fields
from templar_sql.tables import AUDIT


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(None, {"a": 1, "b": {"c": 2}}, ["a", "b"], id="created: top-level keys"),
        pytest.param({"a": 1, "b": {"c": 2}}, None, ["a", "b"], id="deleted: top-level keys"),
        pytest.param(None, None, [], id="neither"),
        pytest.param({"a": 1, "b": [1]}, {"a": 1, "b": [1]}, [], id="equal"),
        pytest.param({"a": 1}, {"a": 2}, ["a"], id="value"),
        pytest.param({"a": 1}, {"a": True}, ["a"], id="1 is not true"),
        pytest.param({"a": 1}, {"a": 1.0}, ["a"], id="1 is not 1.0"),
        pytest.param({"a": 1}, {"a": 1, "b": None}, ["b"], id="added, even as null"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, ["b"], id="removed"),
        pytest.param(
            {"n": {"x": 1, "y": 2, "d": {"e": 1}}},
            {"n": {"x": 1, "y": 3, "z": 0, "d": {"e": 2}}},
            ["n.d.e", "n.y", "n.z"],
            id="nested paths, sorted",
        ),
        pytest.param({"n": {"x": 1}}, {"n": [1]}, ["n"], id="mapping replaced"),
        pytest.param({"l": [1, 2]}, {"l": [1, 3]}, ["l"], id="lists compared whole"),
    ],
)
def test_changed_fields(old: object, new: object, expected: list[str]) -> None:
    old_text = None if old is None else orjson.dumps(old).decode()
    new_text = None if new is None else orjson.dumps(new).decode()
    assert orjson.loads(changed_fields(old_text, new_text)) == expected


def test_an_audit_row_fills_every_column_of_the_audit_table() -> None:
    now = datetime.now(UTC)
    row = audit_row(
        at=now,
        actor="ann@host",
        action="update",
        layer_kind="provider",
        layer_scope="aws",
        template_id="web",
        old_version=1,
        new_version=2,
        old_body='{"max_number": 1, "image": "a"}',
        new_body='{"max_number": 2, "image": "a"}',
    )
    assert set(row) == {column.name for column in AUDIT.c} - {"id"}
    assert orjson.loads(row["changed_fields"]) == ["max_number"]
    assert (row["at"], row["old_body"], row["new_version"]) == (
        now,
        '{"max_number": 1, "image": "a"}',
        2,
    )
