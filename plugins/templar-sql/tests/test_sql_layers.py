"""templar_sql.layers: which layers SQL storage holds, and the location each is shown by."""

from __future__ import annotations

import pytest
from templar.errors import StorageError
from templar.models import LayerKind
from templar.storage import LayerSource

from templar_sql.layers import kind_scope, location_of


@pytest.mark.parametrize(
    ("kind", "scope", "expected", "location"),
    [
        (LayerKind.INSTANCE, "host-a", ("instance", "host-a"), "sql:templates/instance/host-a"),
        (LayerKind.TYPE, "aws", ("type", "aws"), "sql:templates/type/aws"),
        (LayerKind.PROVIDER, "aws", ("provider", "aws"), "sql:templates/provider/aws"),
        (LayerKind.SHARED, None, ("shared", ""), "sql:templates/shared"),
        (LayerKind.SHARED, "", ("shared", ""), "sql:templates/shared"),
    ],
)
def test_the_layers_sql_holds(
    kind: LayerKind, scope: str | None, expected: tuple[str, str], location: str
) -> None:
    assert kind_scope(LayerSource(kind, scope, "x")) == expected
    assert location_of(kind, scope) == location


@pytest.mark.parametrize(
    ("kind", "scope", "expected_error"),
    [
        (LayerKind.TYPE_DEFAULTS, "aws", r"lives in the engine config, not in SQL storage"),
        (LayerKind.SHARED, "aws", r"the shared layer has no scope \(got 'aws'\)"),
        (LayerKind.INSTANCE, None, r"a instance layer needs a scope"),
        (LayerKind.TYPE, "", r"a type layer needs a scope"),
        (LayerKind.PROVIDER, "a\0b", r"a provider layer needs a scope"),
    ],
)
def test_layers_sql_cannot_hold_are_refused(
    kind: LayerKind, scope: str | None, expected_error: str
) -> None:
    with pytest.raises(StorageError, match=expected_error):
        kind_scope(LayerSource(kind, scope, "x"))
