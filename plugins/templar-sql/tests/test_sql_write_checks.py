"""templar_sql.write: what a change is checked for before any connection is opened."""

from __future__ import annotations

from typing import Any

import pytest
from templar.errors import ConcurrencyError, StorageError
from templar.models import LayerKind
from templar.storage import LayerSource

from templar_sql.write import checked_id, encode_body, parse_version

SOURCE = LayerSource(LayerKind.PROVIDER, "aws", "sql:templates/provider/aws")


@pytest.mark.parametrize(
    ("template_id", "expected_error"),
    [
        ("web", None),
        ("web server's 'quoted'; --", None),
        ("", r"invalid template id ''"),
        ("a\0b", r"invalid template id 'a\\x00b'"),
        (7, r"invalid template id 7"),
    ],
)
def test_checked_id(template_id: object, expected_error: str | None) -> None:
    if expected_error is None:
        assert checked_id(template_id) == template_id
        return
    with pytest.raises(StorageError, match=expected_error):
        checked_id(template_id)


@pytest.mark.parametrize(
    ("body", "expected", "expected_error"),
    [
        ({"b": 1, "a": [1, None]}, '{"b":1,"a":[1,null]}', None),  # key order kept
        ({1: "x"}, '{"1":"x"}', None),
        (["not", "a", "mapping"], None, r"template 'web': a body must be a mapping"),
        ({"x": object()}, None, r"template 'web' cannot be stored as JSON"),
        ({"x": "nul\0"}, None, r"template 'web' holds a NUL character"),
    ],
)
def test_encode_body(body: Any, expected: str | None, expected_error: str | None) -> None:
    if expected_error is None:
        assert encode_body("web", body) == expected
        return
    with pytest.raises(StorageError, match=expected_error) as raised:
        encode_body("web", body)
    assert raised.value.context["template_id"] == "web"


@pytest.mark.parametrize(
    ("version", "expected", "expected_error"),
    [
        (None, 0, None),
        ("3", 3, None),
        ("sha256:ab12", None, r"version 'sha256:ab12' is not a SQL layer version"),
    ],
)
def test_parse_version(
    version: str | None, expected: int | None, expected_error: str | None
) -> None:
    if expected_error is None:
        assert parse_version(version, SOURCE) == expected
        return
    with pytest.raises(ConcurrencyError, match=expected_error):
        parse_version(version, SOURCE)
