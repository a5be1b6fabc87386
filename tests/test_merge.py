"""The merge of one template's layers (templar/merge.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from templar.merge import deep_merge, merge_onto

KEYS = st.sampled_from(["a", "b", "c", "configuration", "tags", "x"])
SCALARS = st.one_of(st.integers(), st.text(max_size=3), st.booleans())


def mappings(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        st.dictionaries(KEYS, values, max_size=4),
        lambda inner: st.dictionaries(KEYS, st.one_of(values, inner, st.lists(values)), max_size=4),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None)
@given(base=mappings(st.one_of(SCALARS, st.none())), over=mappings(SCALARS))
def test_merging_onto_without_nulls_is_the_deep_merge(
    base: dict[str, Any], over: dict[str, Any]
) -> None:
    expected = deep_merge(base, over)
    merged = merge_onto(base, over)
    assert merged == expected
    assert repr(merged) == repr(expected)  # the same key order, at every depth


def test_a_template_over_its_defaults() -> None:
    defaults = {"configuration": {"price_type": "ondemand", "tags": {"a": "1"}}}
    template = {"name": "n", "configuration": {"max_number": 2, "tags": {"b": "2"}}}
    assert merge_onto(defaults, template) == {
        "configuration": {"price_type": "ondemand", "tags": {"a": "1", "b": "2"}, "max_number": 2},
        "name": "n",
    }
    assert defaults == {"configuration": {"price_type": "ondemand", "tags": {"a": "1"}}}
