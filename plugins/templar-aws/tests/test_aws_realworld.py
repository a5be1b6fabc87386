"""The real-world development set: templates valid in Templar against templates ORB lists.

The figures come from ``measure_realworld.py`` (run it to see the table). Where Templar
and ORB differ, the difference is a deliberate, documented choice (README, "Real files").
"""

from __future__ import annotations

import measure_realworld
import pytest

#: Directories where Templar reports what ORB lists, and why: the files fill ids with
#: placeholders (subnet-xxxxx, sg-xxxxx, subnet-native123) that AWS would refuse.
PLACEHOLDER_IDS = {"017": 0, "018": 0, "077": 2}


Rows = dict[str, measure_realworld.FileFigures]


@pytest.fixture(scope="module", params=["provider-layer", "orb-dir"])
def rows(request: pytest.FixtureRequest) -> Rows:
    """Each sample read as the provider layer with ORB's packaged template defaults, and
    as the ORB config dir ORB itself was run on."""
    return {row.name: row for row in measure_realworld.measure(request.param)}


def test_every_orb_listed_template_is_valid_but_the_placeholder_ids(rows: Rows) -> None:
    assert len(rows) == 30
    for name, row in rows.items():
        if row.orb_lists is None:
            continue
        expected = PLACEHOLDER_IDS.get(name, row.orb_lists)
        assert row.valid == expected, (name, row.valid, row.orb_lists, row.codes)
    placeholders = sum(rows[name].codes["invalid-field"] for name in PLACEHOLDER_IDS)
    assert placeholders == 40 + 12 + 9
    valid = sum(row.valid for row in rows.values())
    listed = sum(row.orb_lists or 0 for row in rows.values())
    assert (valid, listed) == (299, 328)


def test_files_orb_lists_nothing_of_stay_invalid_for_a_reason(rows: Rows) -> None:
    """ORB lists none of these; Templar says why for each."""
    # IBM's LSF sample: placeholder AMI and subnet ids (ami-27a1, subnet-b573), sg "".
    assert rows["000"].valid == 0 and rows["000"].codes["invalid-field"] == 6
    # Not JSON (a trailing comma), and files whose template has no id.
    assert rows["073"].codes["parse-error"] == 1
    assert rows["078"].codes["missing-template-id"] == 1
    assert rows["079"].codes["missing-template-id"] == 1
    # An older ORB vocabulary (compute_attributes, key_pair_name, pricing_strategy, ...).
    for name in ("080", "081", "082"):
        assert rows[name].valid == 0 and rows[name].codes["unknown-key"] > 0
